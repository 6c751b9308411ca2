"""Data-parallel benchmark: training throughput at 1 and 2 ranks, all-reduce time vs bytes.

    python benchmarks/distributed.py                 # runs mpiexec -n 1 and -n 2 itself, prints tables
    python benchmarks/distributed.py --ranks 1 2 4   # other world sizes (oversubscribed beyond the cores)

Each world size runs this file under ``mpiexec -n k ... --worker``; rank 0 prints one JSON
line that the driver turns into the Markdown tables of README's "Distributed training".
Training uses synthetic MNIST-shaped data (the speed does not depend on the values), the
global batch of 64 split over the ranks, and each machine's cores shared among its ranks.
Each step is timed with DDP's all-reduce and under ``no_sync()`` (no communication at all),
in alternating blocks; "in DDP's hooks" is the time backward spends in DDP's gradient hooks
(copies, all-reduce, waiting for the other ranks). The
all-reduce table gives the best and the median of many calls (on a shared machine the
median includes waiting for a descheduled rank) and the bus bandwidth of the best,
``2 (k-1)/k * bytes / time``: the bytes each rank sends in a ring all-reduce, per second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

import nanotorch as nt  # noqa: E402
import nanotorch.distributed as dist  # noqa: E402
from nanotorch.nn.parallel import DistributedDataParallel  # noqa: E402

GLOBAL_BATCH = 64


def _models() -> dict:
    from train_cnn_mnist import SmallCNN
    from train_mnist import SimpleNet
    return {"seed MLP": (SimpleNet, 700), "CNN": (SmallCNN, 42)}


def _step_ms(model, opt, x, y, steps: int, blocks: int = 7) -> tuple[float, float, float]:
    """Median milliseconds per training step with DDP's all-reduce and under ``no_sync()``
    (timed in alternating blocks, so that a burst of load elsewhere hits both alike), and the
    mean milliseconds per step spent inside DDP's gradient hooks (copy into the buckets,
    all-reduce, wait for the other ranks, average back into ``.grad``)."""
    loss_fn = nt.nn.CrossEntropyLoss()
    in_hooks = [0.0]
    hook = model._grad_ready

    def timed_hook(param) -> None:
        start = time.perf_counter()
        hook(param)
        in_hooks[0] += time.perf_counter() - start

    model._grad_ready = timed_hook

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def block(n: int, sync: bool) -> float:
        dist.barrier()
        start = time.perf_counter()
        for _ in range(n):
            if sync:
                step()
            else:
                with model.no_sync():
                    step()
        dist.barrier()
        return 1e3 * (time.perf_counter() - start) / n

    block(max(3, steps // 10), True)  # warm-up
    in_hooks[0] = 0.0
    per = max(1, steps // blocks)
    times = [(block(per, True), block(per, False)) for _ in range(blocks)]
    return (float(np.median([t[0] for t in times])), float(np.median([t[1] for t in times])),
            1e3 * in_hooks[0] / (per * blocks))


def _allreduce_seconds(nbytes: int) -> tuple[float, float]:
    """(best, median) seconds of one all-reduce of ``nbytes``, each the slowest rank's."""
    t = nt.ones(nbytes // 4)
    reps = int(np.clip(2e7 / max(nbytes, 1), 5, 200))
    for _ in range(3):
        dist.all_reduce(t)
    times = []
    for _ in range(reps):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(t)
        times.append(time.perf_counter() - start)
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, (min(times), float(np.median(times))))
    return max(t[0] for t in everyone), max(t[1] for t in everyone)


def worker() -> None:
    dist.init_process_group("mpi")
    world, rank = dist.get_world_size(), dist.get_rank()
    if "NANOTORCH_NUM_THREADS" not in os.environ:
        nt.set_num_threads(max(1, nt.get_num_threads() // world))
    rng = np.random.default_rng(rank)
    result = {"world_size": world, "threads_per_rank": nt.get_num_threads(), "training": [], "allreduce": []}
    for name, (cls, steps) in _models().items():
        nt.manual_seed(0)
        model = DistributedDataParallel(cls())
        opt = nt.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = nt.from_numpy(rng.standard_normal((GLOBAL_BATCH // world, 784)).astype(np.float32))
        y = nt.from_numpy(rng.integers(0, 10, GLOBAL_BATCH // world))
        synced, local, hooks = _step_ms(model, opt, x, y, steps)
        nbytes = sum(p.data.nbytes for p in model.parameters())
        result["training"].append({"model": name, "samples_per_s": 1e3 * GLOBAL_BATCH / synced,
                                   "step_ms": synced, "no_sync_ms": local, "hooks_ms": hooks,
                                   "grad_bytes": nbytes, "buckets": len(model._buckets)})
    for nbytes in [2**k for k in range(12, 25, 2)]:
        best, median = _allreduce_seconds(nbytes)
        result["allreduce"].append({"bytes": nbytes, "best_ms": 1e3 * best, "median_ms": 1e3 * median})
    result["load_average"] = os.getloadavg()[0]
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


def driver(ranks: list[int]) -> None:
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit('mpiexec not found: pip install -e ".[distributed]"')
    runs = []
    for k in ranks:
        out = subprocess.run([mpiexec, "-n", str(k), sys.executable, __file__, "--worker"],
                             capture_output=True, text=True, timeout=1800)
        if out.returncode:
            raise SystemExit(f"mpiexec -n {k} failed:\n{out.stdout}\n{out.stderr}")
        line = next(s for s in out.stdout.splitlines() if s.startswith("RESULT "))
        runs.append(json.loads(line[len("RESULT "):]))
    print("| model | ranks | threads/rank | samples/s | step (ms) | step under no_sync (ms) "
          "| in DDP's hooks (ms/step) | grad bytes all-reduced/step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for i in range(len(runs[0]["training"])):
        for run in runs:
            row = run["training"][i]
            print(f"| {row['model']} | {run['world_size']} | {run['threads_per_rank']} | "
                  f"{row['samples_per_s']:,.0f} | {row['step_ms']:.2f} | {row['no_sync_ms']:.2f} | "
                  f"{row['hooks_ms']:.2f} | "
                  f"{row['grad_bytes']:,} ({row['buckets']} bucket{'s' * (row['buckets'] > 1)}) |")
    loads = ", ".join(f"{r['load_average']:.1f}" for r in runs)
    print(f"\n(1-minute load average at the end of each run: {loads})\n")
    multi = [r for r in runs if r["world_size"] > 1]
    print("| bytes | " + " | ".join(f"{r['world_size']} ranks: best, median (ms) | bus GB/s (best)"
                                   for r in multi) + " |")
    print("|---:|" + "---:|---:|" * len(multi))
    for j, row in enumerate(runs[0]["allreduce"]):
        cells = []
        for r in multi:
            k, cell = r["world_size"], r["allreduce"][j]
            bus = 2 * (k - 1) / k * cell["bytes"] / (cell["best_ms"] * 1e-3) / 1e9  # ring all-reduce traffic
            cells.append(f"{cell['best_ms']:.3f}, {cell['median_ms']:.3f} | {bus:.2f}")
        print(f"| {row['bytes']:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    worker() if args.worker else driver(args.ranks)
