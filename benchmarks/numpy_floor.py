"""The least any NumPy seed-MLP step can cost, against PyTorch's fastest plain loop: what
bounds the NumPy backend's compiled epoch (issue 12's target: <= 0.7x PyTorch).

    PYTHONPATH=. python benchmarks/numpy_floor.py [--adam] [--pairs 3]

The floor step does only the unavoidable part of the first layer (784 -> 128, nine tenths
of the model's arithmetic), with NumPy and its BLAS as the NumPy backend does: the forward
product ``x @ W^T``, the weight gradient ``dy^T @ x``, and the optimizer's update of the
four parameters, by the backend's own ``sgd_multi_step`` / ``adam_multi_step`` on a flat
state (the code a compiled step replays). Nothing else: no bias, ReLU, second layer, loss
or input gradient, whose NumPy calls a real step adds on top. Its epoch is the same 985
pre-made batches as PyTorch's loop (``benchmarks/conftest.py``: ``index_select`` of a
shuffled order, the whole seed MLP, ``fused`` Adam). A ratio above 0.7 here means no
NumPy-only plan can meet the target on this machine.

Each pair runs the floor and PyTorch in a process each, alternately (so neither library's
spinning threads take the other's core, and the machine's drift falls on both); a process
prints the median of 5 epochs after one warm-up epoch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np


def _epochs(run, batches: list, rounds: int = 5) -> float:
    """The median of ``rounds`` timed epochs (seconds), after one untimed."""
    times = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        for batch in batches:
            run(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def floor_epoch(optimizer: str) -> float:
    """Seconds per epoch of the floor step (module docstring)."""
    from conftest import initial_state, mnist_train

    from nanotorch.backend.numpy_backend import FlatState, NumpyBackend

    X, _, _ = mnist_train()
    order = np.random.default_rng(0).permutation(len(X))
    batches = [X[i] for i in np.array_split(order, range(64, len(X), 64))]
    state = initial_state("seed-mlp")
    params = [state[k].copy() for k in ("0.weight", "0.bias", "2.weight", "2.bias")]
    grads = [np.full_like(p, 1e-3) for p in params]  # the small layer's: fixed, never subnormal
    dy = np.random.default_rng(1).standard_normal((64, 128), dtype=np.float32) * np.float32(1e-3)
    h, dw = np.empty((64, 128), np.float32), grads[0]
    backend = NumpyBackend()
    if optimizer == "adam":
        offsets = np.cumsum([p.size for p in params])[:-1]  # the moments laid out flat
        moments = [[v.reshape(p.shape) for v, p in zip(np.split(np.zeros(offsets[-1] + params[-1].size,
                   np.float32), offsets), params)] for _ in range(2)]
        flat = FlatState.make(params, moments)
        assert flat is not None and flat.holds(*moments), "the flat layout the compiled step uses"
        steps = [0] * len(params)

        def update() -> None:
            steps[:] = [steps[0] + 1] * len(params)
            backend.adam_multi_step(params, grads, *moments, None, steps=steps, lr=1e-3, beta1=0.9,
                                    beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False,
                                    maximize=False, flat=flat)
    else:
        flat = FlatState.make(params, [])
        assert flat is not None

        def update() -> None:
            backend.sgd_multi_step(params, grads, None, lr=0.1, momentum=0.0, dampening=0.0,
                                   nesterov=False, weight_decay=0.0, maximize=False,
                                   first=[False] * len(params), flat=flat)

    w = params[0]

    def step(x: np.ndarray) -> None:
        if len(x) != len(dy):  # the last short batch: its own products, as a plan's
            np.matmul(x, w.T)
            np.matmul(dy[:len(x)].T, x, out=dw)
        else:
            np.matmul(x, w.T, out=h)
            np.matmul(dy.T, x, out=dw)
        update()
    return _epochs(step, batches)


def torch_epoch(optimizer: str) -> float:
    """Seconds per epoch of PyTorch's pre-batched loop (the benchmarks' fastest)."""
    from conftest import Trainer, mnist_train

    X, y, _ = mnist_train()
    trainer = Trainer("torch", "seed-mlp", optimizer)
    order = np.random.default_rng(0).permutation(len(X))
    batches = [trainer.tensors(X[i], y[i]) for i in np.array_split(order, range(64, len(X), 64))]
    return _epochs(lambda b: trainer.step(*b), batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adam", action="store_true", help="Adam instead of SGD")
    parser.add_argument("--pairs", type=int, default=3, help="process pairs (default 3)")
    parser.add_argument("--child", choices=["floor", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    optimizer = "adam" if args.adam else "sgd"
    if args.child:
        seconds = (floor_epoch if args.child == "floor" else torch_epoch)(optimizer)
        print(seconds, flush=True)
        return
    for _ in range(args.pairs):
        times = {}
        for child in ("floor", "torch"):
            cmd = [sys.executable, __file__, "--child", child] + (["--adam"] if args.adam else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            times[child] = float(out.split()[-1])
        print(f"{optimizer}: NumPy floor {times['floor'] * 1e3:6.1f} ms/epoch, PyTorch pre-batched "
              f"{times['torch'] * 1e3:6.1f} ms: {times['floor'] / times['torch']:.2f}x", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])  # conftest, when run as a script
    main()
