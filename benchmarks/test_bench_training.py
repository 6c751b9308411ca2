"""Whole training steps and epochs: nanotorch (each backend) against PyTorch.

Workloads: the seed's MLP (784-128-ReLU-10, batch 64, SGD lr 0.1 and Adam lr 1e-3), a wide
MLP (784-1024-1024-10, batch 512, SGD) where GEMM dominates, and the CNN example's step.
An epoch is one shuffled pass of ``DataLoader(TensorDataset(X, y))`` over the MNIST seed
split's 63,000 training samples, written the same way in both frameworks. Rows of one
workload are adjacent (nanotorch-numpy, nanotorch-c, torch), so each ratio is measured in
one run; ``extra_info["matched"]`` says whether one step from the same initial weights on
the same batch gave the NumPy backend's loss and weights.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import BACKENDS, ONLY, THREADS, Trainer, describe, mnist_train, step_matches, systems

ROUNDS = os.environ.get("NANOTORCH_BENCH_EPOCH_ROUNDS")  # overrides each workload's rounds


@dataclass(frozen=True)
class Workload:
    """A model, an optimizer and a batch size."""

    model: str
    optimizer: str
    batch_size: int
    rounds: int = 3  # timed epochs (epoch benchmarks), after one untimed warm-up epoch

    @property
    def id(self) -> str:
        return f"{self.model}-{self.optimizer}-b{self.batch_size}"


STEPS = [Workload("seed-mlp", "sgd", 64), Workload("seed-mlp", "adam", 64),
         Workload("wide-mlp", "sgd", 512), Workload("cnn", "adam", 64)]
EPOCHS = [Workload("seed-mlp", "sgd", 64, rounds=5), Workload("seed-mlp", "adam", 64, rounds=5),
          Workload("wide-mlp", "sgd", 512)]


def _params(workloads: list[Workload], prebatched_for: str = "") -> list:
    """(workload, system) pairs, a workload's systems adjacent."""
    return [pytest.param(w, s, id=f"{w.id}-{s}") for w in workloads
            for s in systems(prebatched=w.model == prebatched_for)]


def _info(benchmark, kind: str, w: Workload, system: str, matched: bool, source: str, **extra) -> None:
    benchmark.group = f"{kind} {w.id} threads={THREADS}"
    benchmark.extra_info.update(kind=kind, workload=w.id, model=w.model, optimizer=w.optimizer,
                                batch_size=w.batch_size, threads=THREADS, data=source,
                                matched=matched, reference="nanotorch numpy backend, one step",
                                **describe(system), **extra)


@pytest.mark.parametrize(("workload", "system"), _params(STEPS))
def test_step(benchmark, workload: Workload, system: str) -> None:
    """One training step (forward, loss, zero_grad, backward, optimizer step).

    Each call takes the next batch of the training set, in order, as training does.
    NOTE: not one fixed batch: thousands of steps on it overfit it, the gradients shrink
    into subnormal floats, and the timing then measures the CPU's subnormal penalty.
    """
    X, y, source = mnist_train()
    bs = workload.batch_size
    matched = step_matches(system, workload.model, workload.optimizer, X[:bs], y[:bs])
    trainer = Trainer(system, workload.model, workload.optimizer)
    batches = itertools.cycle([trainer.tensors(X[i:i + bs], y[i:i + bs])
                               for i in range(0, len(X) - bs + 1, bs)])
    _info(benchmark, "step", workload, system, matched, source)

    def step():
        return trainer.step(*next(batches))

    with trainer.active():
        benchmark(step)


@pytest.mark.parametrize(("workload", "system"), _params(EPOCHS, prebatched_for="seed-mlp"))
def test_epoch(benchmark, workload: Workload, system: str) -> None:
    """One epoch over the training set, batches from a shuffling DataLoader (for
    ``torch-prebatched``: a list of batch tensors made beforehand, the fastest PyTorch loop)."""
    X, y, source = mnist_train()
    xb, yb = X[:workload.batch_size], y[:workload.batch_size]
    matched = step_matches(system, workload.model, workload.optimizer, xb, yb)
    trainer = Trainer(system, workload.model, workload.optimizer)
    if system == "torch-prebatched":
        order = np.random.default_rng(0).permutation(len(X))
        batches = [trainer.tensors(X[i], y[i])
                   for i in np.array_split(order, range(workload.batch_size, len(X), workload.batch_size))]
    else:
        batches = trainer.loader(X, y, workload.batch_size)
    steps = -(-len(X) // workload.batch_size)
    _info(benchmark, "epoch", workload, system, matched, source, samples=len(X), steps=steps)

    def epoch() -> None:
        for x, t in batches:
            trainer.step(x, t)

    with trainer.active():
        # NOTE: the warm-up epoch absorbs first-touch costs (page faults of a fresh heap, which
        # are slow in a VM, lazy library initialization), so the medians compare steady states.
        benchmark.pedantic(epoch, rounds=int(ROUNDS or workload.rounds), iterations=1, warmup_rounds=1)


# ---------------------------------------------------------------- nanotorch.compile
# Compiled steps (issue 12) against PyTorch's fastest plain loop: every system gets the same
# pre-made batches (index_select of a shuffled order, no DataLoader), rows adjacent.
# NOTE: 5 timed epochs, not 3: on this project's VMs one epoch's time moves by up to ~30%
# from minute to minute with nothing else running, so the median needs more rounds.
COMPILED_EPOCHS = [Workload("seed-mlp", "sgd", 64, rounds=5), Workload("seed-mlp", "adam", 64, rounds=5)]
COMPILED_STEPS = [Workload("cnn", "adam", 64)]


def _compiled_systems(with_eager_c: bool = True) -> list[str]:
    """nanotorch compiled (each backend), eager C, then PyTorch: PyTorch only in its own pass
    (``NANOTORCH_BENCH_ONLY=torch``) or when every system runs in one process, as
    ``systems()`` does, so its timing never shares a process with nanotorch's threads."""
    names = [f"nanotorch-{b}-compiled" for b in BACKENDS]
    names += ["nanotorch-c"] if with_eager_c and "c" in BACKENDS else []
    return names + (["torch"] if ONLY in ("", "torch") else [])


def _prebatched(trainer: Trainer, X: np.ndarray, y: np.ndarray, batch_size: int) -> list:
    order = np.random.default_rng(0).permutation(len(X))
    return [trainer.tensors(X[i], y[i]) for i in np.array_split(order, range(batch_size, len(X), batch_size))]


@pytest.mark.parametrize(("workload", "system"), [pytest.param(w, s, id=f"{w.id}-{s}")
                                                   for w in COMPILED_EPOCHS for s in _compiled_systems()])
def test_compiled_epoch(benchmark, workload: Workload, system: str) -> None:
    """One epoch of pre-made batches: nanotorch compiled (each backend), eager C, PyTorch."""
    X, y, source = mnist_train()
    bs = workload.batch_size
    matched = step_matches(system, workload.model, workload.optimizer, X[:bs], y[:bs])
    trainer = Trainer(system, workload.model, workload.optimizer)
    batches = _prebatched(trainer, X, y, bs)
    _info(benchmark, "compiled-epoch", workload, system, matched, source, samples=len(X),
          steps=len(batches), loop="pre-batched")

    def epoch() -> None:
        for x, t in batches:
            trainer.step(x, t)

    with trainer.active():
        benchmark.pedantic(epoch, rounds=int(ROUNDS or workload.rounds), iterations=1, warmup_rounds=1)


@pytest.mark.parametrize(("workload", "system"), [pytest.param(w, s, id=f"{w.id}-{s}")
                                                   for w in COMPILED_STEPS for s in _compiled_systems()])
def test_compiled_step(benchmark, workload: Workload, system: str) -> None:
    """One step of the CNN example, pre-made batches in order: compiled, eager C, PyTorch."""
    X, y, source = mnist_train()
    bs = workload.batch_size
    matched = step_matches(system, workload.model, workload.optimizer, X[:bs], y[:bs])
    trainer = Trainer(system, workload.model, workload.optimizer)
    batches = itertools.cycle([trainer.tensors(X[i:i + bs], y[i:i + bs])
                               for i in range(0, 64 * bs, bs)])
    _info(benchmark, "compiled-step", workload, system, matched, source)

    def step():
        return trainer.step(*next(batches))

    with trainer.active():
        benchmark(step)


def _loop_seconds(run, batches: list) -> tuple[float, float]:
    """``(wall, cpu)`` seconds per batch of ``run(batch)`` over ``batches``, one loop.
    NOTE: both clocks. Wall time is what a step costs, but on a shared machine the time
    other processes take the core swamps a difference of microseconds; this process's CPU
    time is immune to that, but counts the pool worker's spin after each parallel kernel
    (up to ~100 µs, kernels/threads.c) as well as the main thread's work."""
    wall, cpu = time.perf_counter(), time.process_time()
    for b in batches:
        run(b)
    return (time.perf_counter() - wall) / len(batches), (time.process_time() - cpu) / len(batches)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "c"])
def test_compiled_overhead(benchmark, backend: str, optimizer: str) -> None:
    """The seed MLP's compiled step, and its replay overhead: the step's time minus the time
    of its kernels alone. ``Plan.kernels`` calls a plan's kernels back to back (every
    kernel-level entry's kernels and the optimizer's, on the same buffers and batches);
    ``extra_info`` has, for each form of the plan (``walker``: runs of C kernels in one C
    call, the default; ``loop``: the Python loop, one call per kernel), the best and the
    median of 7 alternating loops of each over 200 batches, in CPU time
    (``<form>_kernel_seconds``, ``<form>_step_seconds``; ``..._median``) and in wall time
    (``<form>_kernel_wall_seconds`` ...; see ``_loop_seconds``): overhead = their
    difference; and the replay's Python alone, measured directly (``<form>_glue_seconds``:
    its guards and ``Plan.glue``, the replay without its kernels). The unprefixed keys are
    the default form's best."""
    X, y, source = mnist_train()
    workload = Workload("seed-mlp", optimizer, 64)
    trainer = Trainer(f"nanotorch-{backend}-compiled", workload.model, workload.optimizer)
    batches = _prebatched(trainer, X, y, workload.batch_size)[:200]
    with trainer.active():
        trainer.step(*batches[0])  # traced
        [[plan]] = trainer.step.plans.values()
        assert not plan.op_level, plan  # every entry kernel-level
        default = plan.form
        times: dict[str, list[float]] = {}
        for _ in range(7):
            for form in plan.forms:
                plan.use(form)
                for what, run in (("kernel", plan.kernels), ("step", lambda b: trainer.step(*b)),
                                  ("glue", lambda b: plan.check() and plan.glue(b))):
                    wall, cpu = _loop_seconds(run, batches)
                    times.setdefault(f"{form}_{what}_seconds", []).append(cpu)
                    times.setdefault(f"{form}_{what}_wall_seconds", []).append(wall)
        plan.use(default)
        info = {k: min(v) for k, v in times.items()}
        info.update({f"{k}_median": float(np.median(v)) for k, v in times.items()})
        info.update({k: info[f"{default}_{k}"] for k in ("kernel_seconds", "step_seconds", "glue_seconds",
                                                          "kernel_wall_seconds", "step_wall_seconds")})
        cycle = itertools.cycle(batches)
        _info(benchmark, "compiled-overhead", workload, f"nanotorch-{backend}-compiled", True, source,
              form=default, **info)
        benchmark(lambda: trainer.step(*next(cycle)))
