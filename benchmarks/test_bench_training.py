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
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import THREADS, Trainer, describe, mnist_train, step_matches, systems

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
EPOCHS = [Workload("seed-mlp", "sgd", 64), Workload("seed-mlp", "adam", 64),
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
