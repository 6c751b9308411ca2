"""Per-op framework overhead on tiny tensors, NanoTorch against PyTorch (if installed).

    PYTHONPATH=. python benchmarks/overhead.py

Prints the best-of-repeats time of: recording one elementwise op (``a + b`` on 2-element
tensors that require grad), and a forward plus ``backward()`` through a two-node graph
(``(a * b).sum().backward()``). Both measure Python overhead, not arithmetic.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import numpy as np

import nanotorch as nt


def best_us(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
    """The fastest of ``repeat`` runs of ``number`` calls, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def cases(lib) -> dict[str, tuple[Callable[[], object], int]]:
    """The measured statements for ``lib`` (``nanotorch`` or ``torch``), with call counts."""
    a = lib.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    b = lib.tensor(np.array([3.0, 4.0], dtype=np.float32), requires_grad=True)

    def backward():
        (a * b).sum().backward()

    return {"a + b (recorded)": (lambda: a + b, 20_000),
            "(a * b).sum().backward()": (backward, 5_000)}


def main() -> None:
    libs = {"nanotorch": nt}
    try:
        import torch
        libs["torch"] = torch
    except ImportError:
        pass
    results = {name: {case: best_us(fn, n) for case, (fn, n) in cases(lib).items()}
               for name, lib in libs.items()}
    print(f"{'us per call':<28}" + "".join(f"{name:>12}" for name in results)
          + ("       ratio" if "torch" in results else ""))
    for case in results["nanotorch"]:
        row = [results[name][case] for name in results]
        ratio = f"{row[0] / row[1]:>11.2f}x" if len(row) == 2 else ""
        print(f"{case:<28}" + "".join(f"{t:>12.2f}" for t in row) + ratio)


if __name__ == "__main__":
    main()
