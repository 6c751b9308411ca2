"""SHIMS: the seed README's import paths, kept working, all in this one file.

The project started from a README (in Chinese, kept as ``README.zh-CN.md`` of the seed) that
imports

- ``nanotorch.loss``       (the loss classes; they live in ``nanotorch.nn``),
- ``nanotorch.optimizer``  (the optimizers; they live in ``nanotorch.optim``),
- ``nanotorch.dataset``    (data loading; it lives in ``nanotorch.utils.data``),
- ``nanotorch.utils.arange`` (it is ``nanotorch.arange``),
- ``nn.BatchNorm1D``, ``nn.BatchNorm2D`` (they are ``nn.BatchNorm1d``, ``nn.BatchNorm2d``).

None of these paths has code of its own: each is a module object made here that holds the
same classes and functions as their real home (``nanotorch.loss.MSELoss is nn.MSELoss``), and
is registered in ``sys.modules`` so that ``import nanotorch.loss`` and
``from nanotorch.loss import CrossEntropyLoss`` find it. New code should use the real homes.
"""

from __future__ import annotations

import sys
import types

import nanotorch
from nanotorch import nn, optim, utils
from nanotorch.creation import arange
from nanotorch.utils import data


def _alias(name: str, home: str, names: dict) -> None:
    """Make ``nanotorch.<name>`` a module holding ``names`` (which live in ``home``)."""
    module = types.ModuleType(f"nanotorch.{name}", f"SHIM for the seed README: the names of ``{home}``, "
                                                   "under their old path (see ``nanotorch._seed``).")
    module.__dict__.update(names)
    module.__all__ = sorted(names)
    sys.modules[module.__name__] = module
    setattr(nanotorch, name, module)


_alias("loss", "nanotorch.nn", {n: getattr(nn, n) for n in (
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss")})
_alias("optimizer", "nanotorch.optim", {n: getattr(optim, n) for n in (
    "Adam", "AdamW", "Optimizer", "RMSprop", "SGD")})
_alias("dataset", "nanotorch.utils.data", {n: getattr(data, n) for n in (
    "DataLoader", "Dataset", "TensorDataset", "random_split")})
utils.arange = arange
nn.BatchNorm1D = nn.BatchNorm1d
nn.BatchNorm2D = nn.BatchNorm2d
