"""What the MNIST examples share: command-line flags, the training loop, evaluation.

Every example trains the way a PyTorch user would write it: a ``DataLoader`` over the
arrays, ``optimizer.zero_grad(); loss.backward(); optimizer.step()``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import nanotorch as nt
from nanotorch.utils.data import DataLoader, Dataset


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
    parser.add_argument("--compile", action="store_true",
                        help="trace the training step once and replay it (nanotorch.compile)")


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
          schedule: str = "cosine", log=print, label: str = "", compile: bool = False) -> list[dict]:
    """Train ``model`` on ``data = (X_train, y_train, X_test, y_test)`` with cross-entropy;
    print one line per epoch and return the per-epoch numbers.

    ``schedule="cosine"`` anneals the learning rate from its initial value to 0 over the whole
    run (``CosineAnnealingLR``, stepped after every batch); ``"constant"`` keeps it.
    ``compile=True`` runs the step through ``nanotorch.compile`` (same numbers, less Python).
    """
    X_train, y_train, X_test, y_test = data
    loader = DataLoader(Dataset(X_train, y_train), batch_size=batch_size, shuffle=True)
    scheduler = (nt.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
                 if schedule == "cosine" else None)
    criterion = nt.nn.CrossEntropyLoss()

    def train_step(x, y):
        logits = model(x)
        loss = criterion(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return loss, logits

    step_fn = nt.compile(train_step) if compile else train_step
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        total_loss, seen, correct = 0.0, 0, 0
        progress = Progress(len(loader), f"{label}epoch {epoch}")
        for step, (x, y) in enumerate(loader, 1):
            loss, logits = step_fn(x, y)
            n = len(y)
            total_loss += loss.item() * n
            seen += n
            correct += int((logits.data.argmax(axis=1) == y.data).sum())
            progress.update(step, total_loss / seen)
        progress.close()
        seconds = time.perf_counter() - start
        row = {"epoch": epoch, "loss": total_loss / seen, "train_acc": 100.0 * correct / seen,
               "test_acc": accuracy(model, X_test, y_test), "seconds": seconds}
        history.append(row)
        log(f"{label}epoch {epoch:2d}  loss {row['loss']:.4f}  train {row['train_acc']:.2f}%  "
            f"test {row['test_acc']:.2f}%  {seconds:.1f}s")
    return history
