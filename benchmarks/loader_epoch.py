"""The seed MLP's training epoch over a shuffling DataLoader, the loader's time and the
step's time apart: what the C gather of the batches (``take_rows``, kernels/take.c) gives
a whole epoch, against NumPy's ``take`` in its place.

    PYTHONPATH=. python benchmarks/loader_epoch.py [--compiled] [--adam] [--pairs 3]

Each pair runs one process with the backend's gather and one with NumPy's, alternately, so
that the machine's drift from minute to minute falls on both; a process times its last of
4 epochs (the first ones absorb page faults and warm-up).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np


def one_epoch(system: str, optimizer: str, numpy_take: bool) -> str:
    """Train for 4 epochs in this process; the last one's times, as one line."""
    from conftest import Trainer, mnist_train

    import nanotorch.utils.data as data
    if numpy_take:
        data._gather = lambda a, index: a.take(index, axis=0)
    X, y, _ = mnist_train()
    trainer = Trainer(system, "seed-mlp", optimizer)
    loader = trainer.loader(X, y, 64)
    with trainer.active():
        for _ in range(4):
            loading = stepping = 0.0
            batches, start = iter(loader), time.perf_counter()
            while True:
                t0 = time.perf_counter()
                batch = next(batches, None)
                t1 = time.perf_counter()
                if batch is None:
                    break
                trainer.step(*batch)
                loading, stepping = loading + t1 - t0, stepping + time.perf_counter() - t1
            epoch, steps = time.perf_counter() - start, len(loader)
    gather = "NumPy take" if numpy_take else "take_rows"
    return (f"{system} {optimizer}, {gather:10}: epoch {epoch * 1e3:6.1f} ms, loader "
            f"{loading / steps * 1e6:5.1f} us/batch, step {stepping / steps * 1e6:6.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiled", action="store_true", help="the step through nanotorch.compile")
    parser.add_argument("--adam", action="store_true", help="Adam instead of SGD")
    parser.add_argument("--pairs", type=int, default=3, help="process pairs (default 3)")
    parser.add_argument("--child", choices=["backend", "numpy"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    system = "nanotorch-c-compiled" if args.compiled else "nanotorch-c"
    optimizer = "adam" if args.adam else "sgd"
    if args.child:
        print(one_epoch(system, optimizer, args.child == "numpy"), flush=True)
        return
    flags = [f for f, on in (("--compiled", args.compiled), ("--adam", args.adam)) if on]
    lines = {"backend": [], "numpy": []}
    for _ in range(args.pairs):
        for child in lines:
            out = subprocess.run([sys.executable, __file__, "--child", child, *flags],
                                 capture_output=True, text=True, check=True).stdout.strip()
            lines[child].append(out)
            print(out, flush=True)
    for child, outs in lines.items():
        epochs = [float(line.split("epoch")[1].split("ms")[0]) for line in outs]
        print(f"median epoch, {child} gather: {np.median(epochs):.1f} ms")


if __name__ == "__main__":
    main()
