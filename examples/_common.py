"""What the MNIST examples share: command-line flags, the training loop, evaluation.

Every example trains the way a PyTorch user would write it: a ``DataLoader`` over the
arrays, ``optimizer.zero_grad(); loss.backward(); optimizer.step()``.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Callable

import numpy as np

import nanotorch as nt
import nanotorch.distributed as dist
from nanotorch.nn.parallel import DistributedDataParallel
from nanotorch.random import default_generator
from nanotorch.utils.data import DataLoader, Dataset, DistributedSampler


def add_common_flags(parser: argparse.ArgumentParser, *, epochs: int, lr: float,
                     batch_size: int = 64) -> None:
    parser.add_argument("--epochs", type=int, default=epochs, help=f"passes over the data (default {epochs})")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"default {batch_size}")
    parser.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr})")
    parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                        help="learning rate over the epochs (default: cosine annealing)")
    parser.add_argument("--seed", type=int, default=42, help="nanotorch.manual_seed (default 42)")
    parser.add_argument("--backend", choices=["auto", "c", "numpy"], default="auto",
                        help="kernel backend (default: C if built, else NumPy)")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over the ranks of `mpiexec -n N`: the same global batch, "
                             "each rank trains on batch-size/N of it")


def setup_distributed(args: argparse.Namespace) -> tuple[Callable, int]:
    """``(log, world_size)``. With ``--distributed``: join the MPI process group, share this
    machine's CPUs among its ranks (unless ``NANOTORCH_NUM_THREADS`` says otherwise), and log
    from rank 0 only."""
    if not args.distributed:
        return print, 1
    dist.init_process_group("mpi")
    hosts = [None] * dist.get_world_size()
    dist.all_gather_object(hosts, socket.gethostname())
    if "NANOTORCH_NUM_THREADS" not in os.environ:
        nt.set_num_threads(max(1, nt.get_num_threads() // hosts.count(socket.gethostname())))
    if args.batch_size % dist.get_world_size():
        raise SystemExit(f"--batch-size {args.batch_size} must divide among {dist.get_world_size()} ranks")
    return (print if dist.get_rank() == 0 else lambda *a, **k: None), dist.get_world_size()


class Progress:
    """A one-line progress display on a terminal (nothing when output goes to a file)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label = total, label
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        if self.enabled and (now - self.last > 0.2 or done == self.total):
            self.last = now
            bar = "#" * (30 * done // self.total)
            print(f"\r{self.label} [{bar:<30}] {done}/{self.total} loss {loss:.4f}",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled:
            print("\r" + " " * 80 + "\r", end="", file=sys.stderr, flush=True)


@nt.no_grad()
def accuracy(model: nt.nn.Module, X: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Percentage of ``X``'s rows whose arg-max logit is the label (model in eval mode)."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(X), batch_size):
        logits = model(nt.from_numpy(X[start:start + batch_size]))
        correct += int((logits.data.argmax(axis=1) == y[start:start + batch_size]).sum())
    model.train(was_training)
    return 100.0 * correct / len(X)


def train(model: nt.nn.Module, optimizer, data: tuple, *, epochs: int, batch_size: int,
          schedule: str = "cosine", log=print, label: str = "") -> list[dict]:
    """Train ``model`` on ``data = (X_train, y_train, X_test, y_test)`` with cross-entropy;
    print one line per epoch and return the per-epoch numbers.

    ``schedule="cosine"`` anneals the learning rate from its initial value to 0 over the whole
    run (``CosineAnnealingLR``, stepped after every batch); ``"constant"`` keeps it.
    With ``model`` a ``DistributedDataParallel``, each rank trains on its share of every
    global batch of ``batch_size`` (a ``DistributedSampler``) and the logged loss and
    training accuracy are over all ranks.
    """
    X_train, y_train, X_test, y_test = data
    sampler = None
    if isinstance(model, DistributedDataParallel):
        sampler = DistributedSampler(Dataset(X_train, y_train), seed=int(default_generator().integers(2**31)))
        batch_size //= dist.get_world_size()
    loader = DataLoader(Dataset(X_train, y_train), batch_size=batch_size, shuffle=sampler is None,
                        sampler=sampler)
    scheduler = (nt.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
                 if schedule == "cosine" else None)
    criterion = nt.nn.CrossEntropyLoss()
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        if sampler is not None:
            sampler.set_epoch(epoch)
        start = time.perf_counter()
        total_loss, seen, correct = 0.0, 0, 0
        progress = Progress(len(loader), f"{label}epoch {epoch}")
        for step, (x, y) in enumerate(loader, 1):
            logits = model(x)
            loss = criterion(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            n = len(y)
            total_loss += loss.item() * n
            seen += n
            correct += int((logits.data.argmax(axis=1) == y.data).sum())
            progress.update(step, total_loss / seen)
        progress.close()
        if sampler is not None:  # the epoch's figures over every rank's share
            totals = nt.tensor([total_loss, seen, correct], dtype=nt.float64)
            dist.all_reduce(totals)
            total_loss, seen, correct = totals.tolist()
        seconds = time.perf_counter() - start
        row = {"epoch": epoch, "loss": total_loss / seen, "train_acc": 100.0 * correct / seen,
               "test_acc": accuracy(model, X_test, y_test), "seconds": seconds}
        history.append(row)
        log(f"{label}epoch {epoch:2d}  loss {row['loss']:.4f}  train {row['train_acc']:.2f}%  "
            f"test {row['test_acc']:.2f}%  {seconds:.1f}s")
    return history
