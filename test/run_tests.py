"""The seed README's test commands, kept working: ``python test/run_tests.py`` runs the whole
suite in ``tests/`` (pytest), ``python test/test_tensor.py`` and ``python test/test_nn.py``
run one file of it. Extra arguments go to pytest."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent / "tests"


def main(files: list[str] | None = None) -> int:
    targets = [str(TESTS / f) for f in files] if files else [str(TESTS)]
    return pytest.main([*targets, "-q", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
