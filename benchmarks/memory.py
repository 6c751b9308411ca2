"""Peak resident memory of one MNIST epoch of the seed's MLP, nanotorch against PyTorch.

    PYTHONPATH=. python benchmarks/memory.py [--json out.json] [--systems nanotorch-c torch]

Each system runs in a fresh subprocess: load the MNIST seed split (random data of the same
shape when it cannot be loaded), build the 784-128-ReLU-10 MLP, SGD lr 0.1, then train one
epoch through a shuffling ``DataLoader(TensorDataset(X, y))``, batch 64.

NOTE: the peak is read from ``VmHWM`` in ``/proc/self/status``, the high-water mark of the
process's own address space, which is what ``ru_maxrss`` reports for it; ``ru_maxrss`` of a
subprocess itself is not used because Linux folds the *parent's* peak into it at ``exec``
(a child of a 500 MB parent reports >= 500 MB). Before the epoch the mark is reset
(``/proc/self/clear_refs``), so the epoch's own peak above the memory already held is known.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("nanotorch-numpy", "nanotorch-c", "torch")
THREADS = int(os.environ.get("NANOTORCH_BENCH_THREADS", "2"))


def _status_kb(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_kb() -> int:
    """This process's peak RSS in kB (VmHWM; ru_maxrss where /proc is missing)."""
    hwm = _status_kb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _load_data():
    """(X[63000, 784] float32, y int64, description): MNIST's seed split, else random."""
    import numpy as np
    try:
        from nanotorch.datasets import load_mnist
        X, y, _, _ = load_mnist(split="seed")
        return X, y, "MNIST seed split"
    except Exception as exc:
        rng = np.random.default_rng(0)
        return (rng.random((63_000, 784), dtype=np.float32), rng.integers(0, 10, 63_000),
                f"random data ({type(exc).__name__} loading MNIST)")


def child(system: str) -> dict:
    """Train one epoch in this process and return the memory numbers (in MB)."""
    X, y, source = _load_data()
    if system == "torch":
        import torch as lib
        lib.set_num_threads(THREADS)
    else:
        import nanotorch as lib
        from nanotorch import threads
        lib.backend.use(system.split("-", 1)[1])
        threads.set_num_threads(THREADS)
    model = lib.nn.Sequential(lib.nn.Linear(784, 128), lib.nn.ReLU(), lib.nn.Linear(128, 10))
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    criterion = lib.nn.CrossEntropyLoss()
    data = lib.utils.data
    loader = data.DataLoader(data.TensorDataset(lib.from_numpy(X), lib.from_numpy(y)), batch_size=64,
                             shuffle=True)
    before_kb, peak_before_kb = _status_kb("VmRSS"), _peak_kb()
    reset = _reset_peak()
    start = time.perf_counter()
    for xb, yb in loader:
        loss = criterion(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    peak_kb = _peak_kb()
    mb = 1 / 1024
    return {"system": system, "data": source, "seconds": seconds, "loss": float(loss.item()),
            "peak_mb": max(peak_kb, peak_before_kb) * mb,
            "before_epoch_mb": before_kb * mb if before_kb is not None else None,
            "epoch_peak_above_mb": (peak_kb - before_kb) * mb if reset and before_kb is not None else None,
            "data_mb": (X.nbytes + y.nbytes) / 2**20}


def measure(systems=SYSTEMS) -> list[dict]:
    """Run ``child`` for each system in its own fresh Python process."""
    path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)))
    results = []
    for system in systems:
        if system == "torch" and importlib.util.find_spec("torch") is None:
            continue  # PyTorch not installed: no row
        proc = subprocess.run([sys.executable, __file__, "--child", system], capture_output=True,
                              text=True, env=env, timeout=600)
        if proc.returncode != 0:
            results.append({"system": system, "error": proc.stderr.strip().splitlines()[-1:]})
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def table(results: list[dict]) -> str:
    """The results as a markdown table (peaks in MB, ratio to PyTorch's peak)."""
    torch_peak = next((r["peak_mb"] for r in results if r.get("system") == "torch" and "peak_mb" in r), None)
    lines = ["| system | peak RSS (MB) | vs PyTorch | RSS before the epoch (MB) | epoch's peak above it (MB) "
             "| epoch time (s) |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['system']} | failed: {' '.join(r['error'])} | | | | |")
            continue
        ratio = f"{r['peak_mb'] / torch_peak:.2f}x" if torch_peak else "n/a"
        above = "n/a" if r["epoch_peak_above_mb"] is None else f"{r['epoch_peak_above_mb']:.1f}"
        before = "n/a" if r["before_epoch_mb"] is None else f"{r['before_epoch_mb']:.0f}"
        lines.append(f"| {r['system']} | {r['peak_mb']:.0f} | {ratio} | {before} | {above} "
                     f"| {r['seconds']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return
    results = measure(args.systems)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
