"""The examples' run record: a run folder with log.txt, metrics.jsonl and (with matplotlib)
curves.png; progress lines off a terminal; the committed logs/ left alone.

The examples are run on a small random stand-in for MNIST (``load_mnist`` is replaced), so
these tests need no download and take a second.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import nanotorch as nt

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples(monkeypatch):
    """Import an example module by name, with ``load_mnist`` giving 256/100 random images.
    The examples switch the backend (``--backend``, given as the one under test); it is put back."""
    monkeypatch.setattr(nt.backend.state, "current", nt.backend.state.current)
    monkeypatch.setattr(nt.backend.state, "reason", nt.backend.state.reason)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    rng = np.random.default_rng(0)
    fake = (rng.random((256, 784), dtype=np.float32), rng.integers(0, 10, 256),
            rng.random((100, 784), dtype=np.float32), rng.integers(0, 10, 100))

    def load(name: str):
        module = importlib.import_module(name)
        if hasattr(module, "load_mnist"):
            monkeypatch.setattr(module, "load_mnist", lambda split="seed": fake)
        return module

    return load


def has_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def test_train_mnist_writes_log_metrics_and_curves(examples, tmp_path, capsys):
    run_dir = tmp_path / "run"
    examples("train_mnist").main(["--epochs", "2", "--limit", "128", "--run-dir", str(run_dir),
                                  "--backend", nt.backend.current().name])
    out = capsys.readouterr().out
    assert out.startswith(f"run folder: {run_dir}")
    log = (run_dir / "log.txt").read_text()
    assert "MNIST (seed split): 128 train, 100 test" in log  # --limit cut the training set
    assert f"backend: {nt.backend.current().name}" in log
    assert "epoch  2  loss" in log and "final test accuracy" in log
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    for r in rows:
        assert set(r) == {"epoch", "loss", "train_acc", "test_acc", "lr", "seconds"}
        assert r["loss"] > 0 and 0 <= r["test_acc"] <= 100 and r["seconds"] >= 0
    assert rows[1]["lr"] < rows[0]["lr"]  # cosine schedule
    if has_matplotlib():
        assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"curves: {run_dir / 'curves.png'}" in log
    else:
        assert not (run_dir / "curves.png").exists()
        assert 'pip install -e ".[plot]"' in log


def test_default_run_folder_is_new_and_outside_logs(examples, tmp_path, monkeypatch):
    record = examples("_record")
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs")
    first, second = record.RunRecord("demo"), record.RunRecord("demo")
    assert first.dir.parent == tmp_path / "runs" and first.dir.name.startswith("demo-")
    assert second.dir != first.dir and second.log_path.exists()
    assert record.RUNS.name == "runs"
    assert "runs/" in (ROOT / ".gitignore").read_text().split()


def test_progress_prints_plain_lines_when_not_a_terminal(examples, capsys):
    common = examples("_common")
    assert not sys.stderr.isatty()  # pytest captures it
    progress = common.Progress(10, "epoch 1", every=4)
    for step in range(1, 11):
        progress.update(step, 0.5)
    progress.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1 step 4/10", "epoch 1 step 8/10"]
    assert "\r" not in "".join(lines)


def test_ablation_writes_its_run_folder_not_logs(examples, tmp_path, capsys):
    logs = {p.name: p.stat().st_mtime_ns for p in (ROOT / "logs").iterdir()}
    run_dir = tmp_path / "ablation"
    examples("train_mnist_ablation").main(["--ablation", "--epochs", "1", "--seeds", "1",
                                           "--run-dir", str(run_dir), "--backend", nt.backend.current().name])
    assert {p.name: p.stat().st_mtime_ns for p in (ROOT / "logs").iterdir()} == logs
    table = (run_dir / "mnist_ablation_results.log").read_text()
    assert "seed split 256/100" in table and table.count("| Linear") == 4
    cells = json.loads((run_dir / "mnist_ablation_results.json").read_text())["cells"]
    assert len(cells) == 8 and all(len(c["accuracies"]) == 1 for c in cells)
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 8
    assert (run_dir / "mnist_ablation_results.png").exists() == has_matplotlib()


def test_without_matplotlib_the_run_says_how_to_get_the_curves(examples, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    run_dir = tmp_path / "run"
    examples("train_mnist").main(["--epochs", "1", "--limit", "64", "--run-dir", str(run_dir),
                                  "--backend", nt.backend.current().name])
    assert not (run_dir / "curves.png").exists()
    log = (run_dir / "log.txt").read_text()
    assert 'curves: not drawn (matplotlib is not installed: pip install -e ".[plot]")' in log
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 1
