"""Draws from distributions given by tensors: ``multinomial``, ``bernoulli``, ``normal``, and
the in-place fills ``Tensor.uniform_``, ``normal_``, ``bernoulli_`` (PyTorch's names).

Each takes ``generator=`` (a ``nanotorch.Generator``), else draws from the global generator,
as ``rand``/``randn`` do. ``normal`` with tensor arguments is ``mean + std * z`` for a standard
normal ``z``, so gradients flow to ``mean`` (1) and ``std`` (``z``), as in PyTorch; the
other draws carry no gradient.
"""

from __future__ import annotations

import numpy as np

from nanotorch import _dtype
from nanotorch.ops.checks import check_float
from nanotorch.random import numpy_generator
from nanotorch.tensor import Tensor, add_methods


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn from the categories of each row of ``input`` (``[C]`` or ``[N, C]``
    non-negative weights, not necessarily summing to 1), with probability proportional to
    the weight: ``[num_samples]`` or ``[N, num_samples]`` int64.

    Without replacement a row's draws are distinct, taken in the order of exponential races
    (category ``j`` finishes at ``E_j / w_j``, ``E_j ~ Exp(1)``): the same law as drawing one
    at a time and removing it. Zero-weight categories come last, in index order, as PyTorch's
    CPU kernel does when a row has fewer positive weights than ``num_samples``."""
    w = input.data if isinstance(input, Tensor) else np.asarray(input)
    check_float("multinomial", "input", w)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: input must be 1-D or 2-D, got shape {list(w.shape)}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be a positive integer, got {num_samples!r}")
    rows = np.atleast_2d(w).astype(np.float64)
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0")
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("multinomial: invalid distribution (a row's weights sum to 0)")
    n_cat = rows.shape[1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError(f"multinomial: cannot draw {num_samples} samples without replacement "
                           f"from {n_cat} categories")
    rng = numpy_generator(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        u = rng.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        last = n_cat - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)  # a row's last positive weight
        out = np.stack([np.minimum(np.searchsorted(c, x, side="right"), k)  # NOTE: u rounded up
                        for c, x, k in zip(cdf, u, last)])          # to the total stays in range
    else:
        with np.errstate(divide="ignore"):
            finish = rng.exponential(size=rows.shape) / rows  # weight 0: inf, last
        out = np.argsort(finish, axis=1, kind="stable")[:, :num_samples]
    out = out.astype(np.int64)
    return Tensor._make(out if w.ndim == 2 else out[0], False)


def _probabilities(p, name: str) -> np.ndarray:
    """``p`` as an array of probabilities, each checked to lie in [0, 1]."""
    a = p.data if isinstance(p, Tensor) else np.asarray(p, dtype=np.float64)
    if not ((a >= 0) & (a <= 1)).all():
        raise RuntimeError(f"{name}: probabilities must lie in [0, 1]")
    return a


def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (each element in [0, 1]), else 0, in ``input``'s shape and
    dtype; with ``p`` given, every element has that probability instead. No gradient (PyTorch
    records one, always zero)."""
    probs = _probabilities(input if p is None else p, "bernoulli")
    draw = numpy_generator(generator).random(input.shape) < probs
    return Tensor._make(draw.astype(input.dtype), False)


def normal(mean, std=1.0, size=None, *, generator=None) -> Tensor:
    """Normal draws with the given ``mean`` and ``std`` (tensors broadcast together, or numbers
    with ``size``): ``mean + std * z``, ``z`` standard normal; float32 unless a tensor
    argument is float64. Differentiable in tensor ``mean`` and ``std``."""
    tensors = [a for a in (mean, std) if isinstance(a, Tensor)]
    std_values = std.data if isinstance(std, Tensor) else np.asarray(std)
    if (std_values < 0).any():
        raise RuntimeError(f"normal expects std >= 0.0, got {std_values.min()}")
    if tensors:
        if size is not None:
            raise TypeError("normal: size is for number arguments; tensors give the shape")
        shape = np.broadcast_shapes(*(np.shape(a.data if isinstance(a, Tensor) else a) for a in (mean, std)))
        for t in tensors:
            check_float("normal", "mean" if t is mean else "std", t.data)
        dtype = np.result_type(*(t.dtype for t in tensors))
    else:
        if size is None:
            raise TypeError("normal(mean, std) with numbers needs a size, e.g. normal(0.0, 1.0, (3, 4))")
        shape, dtype = tuple(size), _dtype.DEFAULT_FLOAT
    z = Tensor._make(numpy_generator(generator).standard_normal(shape).astype(dtype), False)
    return mean + std * z


class _RandomFills:
    """Added to ``Tensor``: in-place random fills (``copy_``'s rules: a leaf that requires grad
    may be filled only under ``no_grad``)."""

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator=None) -> Tensor:
        """Fill with draws uniform on ``[from_, to)`` (a floating-point tensor)."""
        check_float("uniform_", "the tensor", self.data)
        return self.copy_(numpy_generator(generator).uniform(from_, to, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
        """Fill with normal draws of mean ``mean`` and standard deviation ``std``."""
        check_float("normal_", "the tensor", self.data)
        if std < 0:
            raise RuntimeError(f"normal_ expects std >= 0.0, got {std}")
        return self.copy_(numpy_generator(generator).normal(mean, std, self.shape))

    def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
        """Fill with 1 with probability ``p`` (a number or a tensor broadcast to ``self``), else 0."""
        probs = _probabilities(p, "bernoulli_")
        return self.copy_(numpy_generator(generator).random(self.shape) < probs)


add_methods(_RandomFills)
