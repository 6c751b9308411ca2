"""What a training run leaves behind: a run folder with its log, metrics and curves.

    runs/<example>-<YYYYmmdd-HHMMSS>/
        log.txt         every line the run printed (command, backend, one line per epoch, result)
        metrics.jsonl   one JSON object per epoch: epoch, loss, train_acc, test_acc, lr, seconds
        curves.png      loss and accuracy per epoch (when matplotlib is installed: the [plot] extra)

The folder is named when the run starts and printed first; ``--run-dir DIR`` picks another.
``runs/`` is ignored by git, so a run never changes the committed reference results in ``logs/``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import nanotorch as nt

RUNS = Path(__file__).resolve().parent.parent / "runs"
PLOT_HINT = 'matplotlib is not installed: pip install -e ".[plot]"'


def matplotlib_pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend, or None when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class RunRecord:
    """The run folder of one example run; ``log`` prints a line and keeps it in ``log.txt``.

    Parameters
    ----------
    example : str
        The example's name, the start of the folder name.
    run_dir : str or Path, optional
        The folder to write to (default ``runs/<example>-<timestamp>``, made unique).
    """

    def __init__(self, example: str, run_dir: str | Path | None = None) -> None:
        if run_dir is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            run_dir = RUNS / f"{example}-{stamp}"
            n = 2
            while run_dir.exists():  # two runs started in the same second
                run_dir, n = RUNS / f"{example}-{stamp}-{n}", n + 1
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "log.txt"
        self.metrics_path = self.dir / "metrics.jsonl"
        self.curves_path = self.dir / "curves.png"
        self.log_path.write_text("")
        self.metrics_path.write_text("")
        self.rows: list[dict] = []
        print(f"run folder: {self.dir}  (log.txt, metrics.jsonl, curves.png)", flush=True)
        self.log("command: " + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
        self.log(f"NanoTorch {nt.__version__}, Python {platform.python_version()}, "
                 f"backend {nt.backend.current().name} ({nt.backend.info()['reason']})")

    def log(self, line: str) -> None:
        """Print ``line`` and append it to ``log.txt``."""
        print(line, flush=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def add_metrics(self, row: dict) -> None:
        """Append one epoch's numbers to ``metrics.jsonl``."""
        self.rows.append(row)
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def finish(self, line: str) -> None:
        """Log the run's result, draw the curves and say where everything is."""
        self.log(line)
        if self.rows and plot_curves(self.rows, self.curves_path, title=self.dir.name):
            self.log(f"curves: {self.curves_path}")
        elif self.rows:
            self.log(f"curves: not drawn ({PLOT_HINT})")
        self.log(f"log: {self.log_path}\nmetrics: {self.metrics_path}")


class SilentRecord:
    """The record of a distributed run's ranks other than 0: rank 0 writes the run's record."""

    def log(self, line: str) -> None:
        """Nothing: rank 0 logs."""

    def add_metrics(self, row: dict) -> None:
        """Nothing: rank 0 keeps the metrics."""

    def finish(self, line: str) -> None:
        """Nothing: rank 0 reports."""


def plot_curves(rows: list[dict], path: Path, title: str = "") -> bool:
    """Training loss, and train/test accuracy, per epoch, side by side; False without matplotlib."""
    plt = matplotlib_pyplot()
    if plt is None:
        return False
    epochs = [r["epoch"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [r["loss"] for r in rows], marker="o")
    left.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    right.plot(epochs, [r["train_acc"] for r in rows], marker="o", label="train")
    right.plot(epochs, [r["test_acc"] for r in rows], marker="s", label="test")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
