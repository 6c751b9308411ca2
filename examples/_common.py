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
    parser.add_argument("--compile", action="store_true",
                        help="trace the training step once and replay it (nanotorch.compile)")
    add_run_flags(parser)


def setup_distributed(args: argparse.Namespace) -> tuple[bool, int]:
    """``(logs, world_size)``: whether this process writes the run's record, and how many
    processes train. With ``--distributed``: join the MPI process group, share this machine's
    CPUs among its ranks (unless ``NANOTORCH_NUM_THREADS`` says otherwise); only rank 0 logs."""
    if not args.distributed:
        return True, 1
    dist.init_process_group("mpi")
    hosts = [None] * dist.get_world_size()
    dist.all_gather_object(hosts, socket.gethostname())
    if "NANOTORCH_NUM_THREADS" not in os.environ:
        nt.set_num_threads(max(1, nt.get_num_threads() // hosts.count(socket.gethostname())))
    if args.batch_size % dist.get_world_size():
        raise SystemExit(f"--batch-size {args.batch_size} must divide among {dist.get_world_size()} ranks")
    return dist.get_rank() == 0, dist.get_world_size()


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Where the run's record goes, how often progress is printed, and a quick-trial subset."""
    parser.add_argument("--run-dir", default=None,
                        help="folder for log.txt, metrics.jsonl, curves.png (default runs/<example>-<time>)")
    parser.add_argument("--log-every", type=int, default=None, metavar="N",
                        help="when output is not a terminal, a progress line every N steps "
                             "(default: one every 10 s; 0: none)")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="train on the first N training images only (a quick trial run)")


def limit(data: tuple, n: int | None) -> tuple:
    """``data = (X_train, y_train, X_test, y_test)`` with only the first ``n`` training rows."""
    if n is None:
        return data
    if n < 1:
        raise SystemExit(f"--limit must be a positive number of images, got {n}")
    X_train, y_train, X_test, y_test = data
    return X_train[:n], y_train[:n], X_test, y_test


class Progress:
    """Progress within an epoch, on stderr: a bar redrawn in place on a terminal; otherwise
    (output to a file, a pipe, a notebook) a plain line every ``every`` steps, or by default
    one every 10 seconds (0: none, on a terminal too)."""

    SECONDS = 10.0

    def __init__(self, total: int, label: str, every: int | None = None) -> None:
        self.total, self.label, self.every = total, label, every
        self.tty = sys.stderr.isatty() and every != 0
        self.start = self.last = time.perf_counter()

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        if self.tty:
            if now - self.last > 0.2 or done == self.total:
                self.last = now
                bar = "#" * (30 * done // self.total)
                print(f"\r{self.label} [{bar:<30}] {done}/{self.total} loss {loss:.4f}",
                      end="", file=sys.stderr, flush=True)
            return
        if self.every is None:
            due = now - self.last >= self.SECONDS
        else:
            due = self.every > 0 and done % self.every == 0
        if due and done < self.total:
            self.last = now
            print(f"{self.label} step {done}/{self.total}  loss {loss:.4f}  {now - self.start:.1f}s",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
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
          schedule: str = "cosine", log=print, label: str = "", record=None,
          log_every: int | None = None, compile: bool = False) -> list[dict]:
    """Train ``model`` on ``data = (X_train, y_train, X_test, y_test)`` with cross-entropy;
    print one line per epoch and return the per-epoch numbers.

    With a ``record`` (``_record.RunRecord``) the lines go to its log and each epoch's numbers
    to its metrics file. ``log_every``: see ``Progress``.

    ``schedule="cosine"`` anneals the learning rate from its initial value to 0 over the whole
    run (``CosineAnnealingLR``, stepped after every batch); ``"constant"`` keeps it.
    With ``model`` a ``DistributedDataParallel``, each rank trains on its share of every
    global batch of ``batch_size`` (a ``DistributedSampler``) and the logged loss and
    training accuracy are over all ranks.
    ``compile=True`` runs the step through ``nanotorch.compile`` (same numbers, less Python).
    """
    X_train, y_train, X_test, y_test = data
    sampler = None
    if isinstance(model, DistributedDataParallel):
        seed = int(default_generator.numpy.integers(2**31))  # from nt.manual_seed's stream
        sampler = DistributedSampler(Dataset(X_train, y_train), seed=seed)
        batch_size //= dist.get_world_size()
    loader = DataLoader(Dataset(X_train, y_train), batch_size=batch_size, shuffle=sampler is None,
                        sampler=sampler)
    scheduler = (nt.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
                 if schedule == "cosine" else None)
    criterion = nt.nn.CrossEntropyLoss()
    if record is not None:
        log = record.log

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
        if sampler is not None:
            sampler.set_epoch(epoch)
        start = time.perf_counter()
        total_loss, seen, correct = 0.0, 0, 0
        progress = Progress(len(loader), f"{label}epoch {epoch}",
                            log_every if sampler is None or dist.get_rank() == 0 else 0)
        for step, (x, y) in enumerate(loader, 1):
            loss, logits = step_fn(x, y)
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
        row = {"epoch": epoch, "loss": round(total_loss / seen, 6),
               "train_acc": round(100.0 * correct / seen, 4),
               "test_acc": round(accuracy(model, X_test, y_test), 4),
               "lr": float(f"{optimizer.param_groups[0]['lr']:.6g}"), "seconds": round(seconds, 3)}
        history.append(row)
        if record is not None:
            record.add_metrics({"label": label.strip(), **row} if label else row)
        log(f"{label}epoch {epoch:2d}  loss {row['loss']:.4f}  train {row['train_acc']:.2f}%  "
            f"test {row['test_acc']:.2f}%  {seconds:.1f}s")
    return history
