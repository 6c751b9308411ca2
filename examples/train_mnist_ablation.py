"""Ablation on MNIST: model architecture (Linear, +ReLU, +BN, +ReLU+BN) x optimizer (SGD, Adam).

    python examples/train_mnist_ablation.py --ablation                  # all 8 cells x 3 seeds
    python examples/train_mnist_ablation.py --model linear_relu --optimizer adam

Setup as in the seed README: 5 epochs, batch 64, the seed's 63,000/7,000 split, the seed's
MLP width (784-256-10); SGD lr 0.1, Adam lr 1e-3, both annealed over the epochs (cosine).
Pixels are standardized with MNIST's mean and std (0.1307, 0.3081), as torchvision's
``Normalize`` does. Each cell is trained once per seed. Every run writes its run folder
(``runs/mnist_ablation-<time>/``, see ``_record.py``: ``log.txt``, ``metrics.jsonl``);
``--ablation`` adds ``mnist_ablation_results.log`` (mean ± std per cell beside the seed's
number, and the ranking), ``mnist_ablation_results.json`` and, with matplotlib, a bar chart
PNG. The reference results in ``logs/`` were made this way; a run never overwrites them.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from _common import add_run_flags, limit, train
from _record import PLOT_HINT, RunRecord, matplotlib_pyplot

import nanotorch as nt
from nanotorch.datasets import load_mnist
from nanotorch.nn import BatchNorm1d, Linear, ReLU, Sequential
from nanotorch.optim import SGD, Adam

MODELS = {"linear": "Linear", "linear_relu": "Linear+ReLU", "linear_bn": "Linear+BN",
          "linear_relu_bn": "Linear+ReLU+BN"}
OPTIMIZERS = {"sgd": ("SGD", SGD, 0.1), "adam": ("Adam", Adam, 1e-3)}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
# The seed README's single-run test accuracies (%), to compare against.
SEED_RESULTS = {("linear", "sgd"): 91.69, ("linear", "adam"): 92.00,
                ("linear_relu", "sgd"): 96.50, ("linear_relu", "adam"): 97.50,
                ("linear_bn", "sgd"): 91.13, ("linear_bn", "adam"): 91.66,
                ("linear_relu_bn", "sgd"): 97.07, ("linear_relu_bn", "adam"): 97.20}


def build_model(name: str, hidden: int = 256) -> Sequential:
    """784 -> hidden -> 10; the ablation adds BatchNorm after fc1 and/or ReLU before fc2."""
    layers = [Linear(784, hidden)]
    if name in ("linear_bn", "linear_relu_bn"):
        layers.append(BatchNorm1d(hidden))
    if name in ("linear_relu", "linear_relu_bn"):
        layers.append(ReLU())
    layers.append(Linear(hidden, 10))
    return Sequential(*layers)


def run_cell(model_name: str, opt_name: str, seeds: list[int], epochs: int, data, record: RunRecord,
             log_every: int | None = None) -> list[float]:
    """Train one cell once per seed; return the final test accuracies."""
    label, opt_class, lr = OPTIMIZERS[opt_name]
    accs = []
    for seed in seeds:
        nt.manual_seed(seed)
        model = build_model(model_name)
        history = train(model, opt_class(model.parameters(), lr=lr), data, epochs=epochs,
                        batch_size=64, record=record, log_every=log_every,
                        label=f"{MODELS[model_name]}+{label} seed {seed} ")
        accs.append(history[-1]["test_acc"])
    return accs


def summarize(results: dict, seeds: list[int], epochs: int, split: str = "63000/7000") -> str:
    """The seed README's tables: accuracy per cell (mean ± std over seeds, seed's value
    beside it) and the ranking."""
    def cell(m, o):
        accs = results[(m, o)]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        return f"{statistics.mean(accs):.2f} ± {std:.2f}% (seed {SEED_RESULTS[(m, o)]:.2f}%)"

    lines = [f"MNIST ablation: {epochs} epochs, batch 64, seed split {split}, seeds {seeds}",
             f"backend: {nt.backend.current().name}", "",
             "| Model | SGD (lr 0.1) | Adam (lr 1e-3) |", "|---|---|---|"]
    lines += [f"| {MODELS[m]} | {cell(m, 'sgd')} | {cell(m, 'adam')} |" for m in MODELS]
    ranking = sorted(results, key=lambda k: -statistics.mean(results[k]))
    lines += ["", "Ranking (mean test accuracy):"]
    for i, (m, o) in enumerate(ranking, 1):
        delta = statistics.mean(results[(m, o)]) - SEED_RESULTS[(m, o)]
        lines.append(f"{i}. {MODELS[m]}+{OPTIMIZERS[o][0]}: {statistics.mean(results[(m, o)]):.2f}% "
                     f"({delta:+.2f} vs seed)")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> bool:
    """Horizontal bars of mean accuracy per cell (± std over seeds), the seed README's number
    as a red mark, one cell per row so the labels never overlap; False without matplotlib."""
    plt = matplotlib_pyplot()
    if plt is None:
        return False
    cells = list(results)[::-1]  # barh draws bottom-up: keep the table's order top-down
    rows = range(len(cells))
    means = [statistics.mean(results[k]) for k in cells]
    errs = [statistics.stdev(results[k]) if len(results[k]) > 1 else 0 for k in cells]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(cells) + 1.5))
    ax.barh(rows, means, xerr=errs, capsize=3, color="tab:blue", label="NanoTorch (mean ± std)")
    ax.scatter([SEED_RESULTS[k] for k in cells], rows, color="red", marker="|", s=300, zorder=3,
               label="seed README")
    for row, mean, err in zip(rows, means, errs):
        ax.text(mean + err + 0.15, row, f"{mean:.2f}", va="center", fontsize=8)
    ax.set_yticks(list(rows), [f"{MODELS[m]} + {OPTIMIZERS[o][0]}" for m, o in cells])
    ax.set_xlim(min(90.0, min(means) - 1), 100)
    ax.set_xlabel("test accuracy (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", action="store_true", help="run all 8 cells and write the log")
    parser.add_argument("--model", choices=list(MODELS), default="linear_relu")
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44],
                        help="training seeds, one run per seed (default 42 43 44)")
    parser.add_argument("--backend", choices=["auto", "c", "numpy"], default="auto")
    add_run_flags(parser)
    args = parser.parse_args(argv)
    nt.backend.use(args.backend)
    record = RunRecord("mnist_ablation", args.run_dir)

    X_train, y_train, X_test, y_test = limit(load_mnist(split="seed"), args.limit)
    data = ((X_train - MNIST_MEAN) / MNIST_STD, y_train, (X_test - MNIST_MEAN) / MNIST_STD, y_test)
    cells = [(m, o) for m in MODELS for o in OPTIMIZERS] if args.ablation else [(args.model, args.optimizer)]
    results = {cell: run_cell(*cell, args.seeds, args.epochs, data, record, args.log_every)
               for cell in cells}
    if not args.ablation:
        accs = results[cells[0]]
        record.log(f"{MODELS[args.model]}+{OPTIMIZERS[args.optimizer][0]}: "
                   f"{statistics.mean(accs):.2f}% mean over seeds {args.seeds}: {accs}")
        record.log(f"log: {record.log_path}\nmetrics: {record.metrics_path}")
        return results
    log_lines = record.log_path.read_text(encoding="utf-8").splitlines()[2:]  # the training lines
    summary = summarize(results, args.seeds, args.epochs, f"{len(data[0])}/{len(data[2])}")
    record.log("\n" + summary)
    out = record.dir / "mnist_ablation_results"
    out.with_suffix(".log").write_text("\n".join(log_lines) + "\n\n" + summary + "\n")
    out.with_suffix(".json").write_text(json.dumps(
        {"epochs": args.epochs, "seeds": args.seeds, "backend": nt.backend.current().name,
         "cells": [{"model": m, "optimizer": o, "accuracies": results[(m, o)],
                    "seed_readme": SEED_RESULTS[(m, o)]} for m, o in cells]}, indent=1) + "\n")
    chart = out.with_suffix(".png")
    record.log(f"chart: {chart}" if plot(results, chart) else f"chart: not drawn ({PLOT_HINT})")
    record.log(f"results: {out.with_suffix('.log')} (+ .json)\nlog: {record.log_path}\n"
               f"metrics: {record.metrics_path}")
    return results


if __name__ == "__main__":
    main()
