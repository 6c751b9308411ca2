"""Ablation on MNIST: model architecture (Linear, +ReLU, +BN, +ReLU+BN) x optimizer (SGD, Adam).

    python examples/train_mnist_ablation.py --ablation                  # all 8 cells x 3 seeds
    python examples/train_mnist_ablation.py --model linear_relu --optimizer adam

Setup as in the seed README: 5 epochs, batch 64, the seed's 63,000/7,000 split, the seed's
MLP width (784-256-10); SGD lr 0.1, Adam lr 1e-3, both annealed over the epochs (cosine).
Pixels are standardized with MNIST's mean and std (0.1307, 0.3081), as torchvision's
``Normalize`` does. Each cell is trained once per seed; ``--ablation`` writes
``logs/mnist_ablation_results.log`` (mean ± std per cell beside the seed's number, and the
ranking), ``logs/mnist_ablation_results.json`` and, with matplotlib, a bar chart PNG.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from _common import train

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
LOG_DIR = Path(__file__).resolve().parent.parent / "logs"


def build_model(name: str, hidden: int = 256) -> Sequential:
    """784 -> hidden -> 10; the ablation adds BatchNorm after fc1 and/or ReLU before fc2."""
    layers = [Linear(784, hidden)]
    if name in ("linear_bn", "linear_relu_bn"):
        layers.append(BatchNorm1d(hidden))
    if name in ("linear_relu", "linear_relu_bn"):
        layers.append(ReLU())
    layers.append(Linear(hidden, 10))
    return Sequential(*layers)


def run_cell(model_name: str, opt_name: str, seeds: list[int], epochs: int, data, log) -> list[float]:
    """Train one cell once per seed; return the final test accuracies."""
    label, opt_class, lr = OPTIMIZERS[opt_name]
    accs = []
    for seed in seeds:
        nt.manual_seed(seed)
        model = build_model(model_name)
        history = train(model, opt_class(model.parameters(), lr=lr), data, epochs=epochs,
                        batch_size=64, log=log, label=f"{MODELS[model_name]}+{label} seed {seed} ")
        accs.append(history[-1]["test_acc"])
    return accs


def summarize(results: dict, seeds: list[int], epochs: int) -> str:
    """The seed README's tables: accuracy per cell (mean ± std over seeds, seed's value
    beside it) and the ranking."""
    def cell(m, o):
        accs = results[(m, o)]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        return f"{statistics.mean(accs):.2f} ± {std:.2f}% (seed {SEED_RESULTS[(m, o)]:.2f}%)"

    lines = [f"MNIST ablation: {epochs} epochs, batch 64, seed split 63000/7000, seeds {seeds}",
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
    """Bar chart of mean accuracy per cell; False when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = [f"{MODELS[m]}\n{OPTIMIZERS[o][0]}" for m, o in results]
    means = [statistics.mean(v) for v in results.values()]
    errs = [statistics.stdev(v) if len(v) > 1 else 0 for v in results.values()]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(names, means, yerr=errs, capsize=3)
    ax.scatter(names, [SEED_RESULTS[k] for k in results], color="red", zorder=3, label="seed README")
    ax.set_ylim(90, 99)
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
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
    args = parser.parse_args(argv)
    nt.backend.use(args.backend)

    X_train, y_train, X_test, y_test = load_mnist(split="seed")
    data = ((X_train - MNIST_MEAN) / MNIST_STD, y_train, (X_test - MNIST_MEAN) / MNIST_STD, y_test)
    cells = [(m, o) for m in MODELS for o in OPTIMIZERS] if args.ablation else [(args.model, args.optimizer)]
    log_lines: list[str] = []

    def log(line: str) -> None:
        print(line, flush=True)
        log_lines.append(line)

    results = {cell: run_cell(*cell, args.seeds, args.epochs, data, log) for cell in cells}
    if not args.ablation:
        accs = results[cells[0]]
        print(f"{MODELS[args.model]}+{OPTIMIZERS[args.optimizer][0]}: "
              f"{statistics.mean(accs):.2f}% mean over seeds {args.seeds}: {accs}")
        return results
    summary = summarize(results, args.seeds, args.epochs)
    print("\n" + summary)
    LOG_DIR.mkdir(exist_ok=True)
    (LOG_DIR / "mnist_ablation_results.log").write_text("\n".join(log_lines) + "\n\n" + summary + "\n")
    (LOG_DIR / "mnist_ablation_results.json").write_text(json.dumps(
        {"epochs": args.epochs, "seeds": args.seeds, "backend": nt.backend.current().name,
         "cells": [{"model": m, "optimizer": o, "accuracies": results[(m, o)],
                    "seed_readme": SEED_RESULTS[(m, o)]} for m, o in cells]}, indent=1) + "\n")
    if plot(results, LOG_DIR / "mnist_ablation_results.png"):
        print(f"chart: {LOG_DIR / 'mnist_ablation_results.png'}")
    print(f"log: {LOG_DIR / 'mnist_ablation_results.log'}")
    return results


if __name__ == "__main__":
    main()
