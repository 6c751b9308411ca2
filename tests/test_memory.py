"""Training does not leak: live graph nodes and NumPy arrays stay flat from epoch to epoch."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.autograd.function import Function
from nanotorch.utils.data import DataLoader, TensorDataset


def live_counts() -> tuple[int, int]:
    """``(graph nodes, NumPy arrays)`` alive now, after a full collection.

    Graph nodes are the ``Function`` instances the collector tracks. NumPy arrays are not
    tracked, nor are the dicts and tuples that hold only untracked values (an optimizer's
    per-parameter state, a dataset's arrays): they are found by walking from the tracked
    objects through untracked containers, and from each array to its ``base``.
    """
    gc.collect()
    objects = gc.get_objects()
    with warnings.catch_warnings():  # isinstance on some of torch's module objects warns
        warnings.simplefilter("ignore")
        nodes = sum(1 for o in objects if isinstance(o, Function))
    stack = [r for o in objects for r in gc.get_referents(o) if not gc.is_tracked(r)]
    del objects
    seen: set[int] = set()
    arrays = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            arrays += 1
            if obj.base is not None:
                stack.append(obj.base)
        elif isinstance(obj, (dict, tuple)):
            stack.extend(r for r in gc.get_referents(obj) if not gc.is_tracked(r))
    return nodes, arrays


def make_training(optimizer: str, keep: list | None = None):
    """A tiny MLP (20-16-ReLU-3) on 256 random samples; returns ``epoch()``, which trains
    one shuffled epoch of batch 32 (appending each loss to ``keep`` when given)."""
    nt.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 20), dtype=np.float32)
    y = rng.integers(0, 3, 256)
    model = nt.nn.Sequential(nt.nn.Linear(20, 16), nt.nn.ReLU(), nt.nn.Linear(16, 3))
    opt = getattr(nt.optim, optimizer)(model.parameters(), lr=0.01)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    criterion = nt.nn.CrossEntropyLoss()

    def epoch() -> None:
        for xb, yb in loader:
            loss = criterion(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if keep is not None:
                keep.append(loss)

    return epoch


def counts_per_epoch(epoch, epochs: int = 4) -> list[tuple[int, int]]:
    """Live counts after each of ``epochs`` epochs, after one epoch that creates the
    optimizer state and the gradients."""
    epoch()
    counts = []
    for _ in range(epochs):
        epoch()
        counts.append(live_counts())
    return counts


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_training_keeps_graph_nodes_and_arrays_flat(backend, optimizer):
    counts = counts_per_epoch(make_training(optimizer))
    nodes, arrays = zip(*counts)
    assert max(nodes[1:]) <= nodes[0], f"graph nodes grow across epochs: {nodes}"
    assert max(arrays[1:]) <= arrays[0], f"NumPy arrays grow across epochs: {arrays}"


def test_counts_see_a_leak():
    """The probe itself works: losses kept across epochs keep their graphs and arrays alive."""
    kept: list = []
    counts = counts_per_epoch(make_training("SGD", keep=kept), epochs=2)
    (nodes0, arrays0), (nodes1, arrays1) = counts
    assert nodes1 > nodes0 and arrays1 > arrays0, counts
