"""The NumPy backend: the readable specification of every hot kernel.

Each method takes and returns plain NumPy arrays; shapes are in the docstrings.
The C backend (``c_backend.py``) overrides the methods it accelerates and must agree
with these to float32 rounding; whatever it does not cover falls through to here.
"""

from __future__ import annotations

import functools
import math
import operator
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nanotorch.backend.guards import check_pool_indices, pool_output_size


def _channel_view(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Reshape a per-channel vector ``a[C]`` so it broadcasts against ``x[N, C, *]``."""
    return a.reshape((1, -1) + (1,) * (x.ndim - 2))


def _tap(a: np.ndarray, u: int, v: int, stride: tuple, out: tuple) -> np.ndarray:
    """Tap ``(u, v)`` of every pooling window at once: the view ``a[:, :, u + i*sh, v + j*sw]``
    over the outputs ``i < Ho, j < Wo`` (``a`` is the padded input, ``[N, C, *, *]``)."""
    (sh, sw), (ho, wo) = stride, out
    return a[:, :, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw]


def _pad(x: np.ndarray, padding: tuple, fill: float) -> np.ndarray:
    """``x[N, C, H, W]`` padded by ``(ph, pw)`` on both sides with ``fill`` (``x`` if no padding)."""
    ph, pw = padding
    if not (ph or pw):
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


# h(t) ~ erfc(a) e^(a^2) / t with t = 1 / (1 + a/2), 0 <= a <= 10, highest power first: a
# degree-10 polynomial fitted (Chebyshev least squares against math.erfc) to a relative error
# below 6e-9, a tenth of float32's eps. kernels/gelu.c has the same coefficients.
_ERFC_H = (0.032179299226823818, -0.17029594286986732, 0.32902322293122166, -0.2135727092246342,
           -0.091908784455623588, 0.077940543293725628, 0.037615008740853183, 0.19020038052251398,
           0.24440796151130711, 0.2823254746262, 0.28208554768603666)
_ERFC_EXACT = np.frompyfunc(math.erfc, 1, 1)  # per element: full float64 precision, slow
_GELU_C = math.sqrt(2 / math.pi)


def _horner(coefs: tuple, t: np.ndarray) -> np.ndarray:
    """``sum_i coefs[i] * t^(n-i)``, in place (``np.polyval`` makes two temporaries a step)."""
    h = np.full_like(t, coefs[0])
    for c in coefs[1:]:
        h *= t
        h += c
    return h


def _gelu_factors(x: np.ndarray, approximate: str, slope: bool):
    """``(xd, s)`` or, with ``slope``, ``(xd, s, gelu'(x))``, in float64: ``gelu(x) = xd * s``.

    ``"none"``: ``s = Phi(x) = erfc(-x / sqrt 2) / 2`` and ``gelu' = Phi + x phi``;
    ``"tanh"``: ``s = (1 + tanh u) / 2 = sigmoid(2u)`` and ``gelu' = s + x 2s(1-s) du/dx``.
    NOTE: no ``1 + erf``, no ``1 + tanh``: their cancellation loses the negative tail.
    NOTE: float32 ``x``: ``erfc(a) = t e^(-a^2) h(t)``, ``a = |x| / sqrt 2``, vectorized
    (relative error < 6e-9, so float32 results are exact to rounding); other dtypes keep
    ``math.erfc``'s float64 precision, one element at a time (slow).
    """
    xd = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # exp(-2u) = inf: s = 0; inf * 0: NaN
        if approximate == "tanh":
            x2 = xd * xd
            s = 1 / (1 + np.exp(-2 * _GELU_C * xd * (1 + 0.044715 * x2)))  # u = c x (1 + k x^2)
            if not slope:
                return xd, s
            # NOTE: x^2 capped where s (1 - s) is 0 anyway, so 0 * inf never makes a NaN
            du = _GELU_C * (1 + 3 * 0.044715 * np.minimum(x2, 1e30))
            return xd, s, s + xd * (2 * s * (1 - s) * du)
        a = np.abs(xd) * math.sqrt(0.5)
        e = np.exp(-a * a)  # e^(-x^2/2)
        if x.dtype == np.float32:
            t = 1 / (1 + 0.5 * np.minimum(a, 10.0))  # erfc(10) = 2e-45: beyond float32
            half_erfc = _horner(_ERFC_H, t)
            half_erfc *= 0.5 * t * e
        else:
            half_erfc = 0.5 * np.asarray(_ERFC_EXACT(a), dtype=np.float64)
        s = np.where(xd < 0, half_erfc, 1 - half_erfc)
        if not slope:
            return xd, s
        return xd, s, s + xd * e * (1 / math.sqrt(2 * math.pi))


_SCRATCH = threading.local()  # per thread: dtype -> [flat arrays] (see _scratch)


def _scratch(like: np.ndarray, which: int = 0) -> np.ndarray:
    """A C-contiguous array shaped like ``like`` to compute into: a view of flat buffer
    number ``which`` of this thread (one list per dtype, each grown to the largest size
    asked), so an optimizer step allocates nothing. Each call hands out the same memory:
    a caller is done with its view before its next step.

    NOTE: measured on the seed MLP's Adam step (101,770 floats, a busy 2-core EPYC): the
    expression with its temporaries took 990 us, the same passes into a scratch buffer
    180 us (a fresh 400 KB temporary page-faults on every step).
    """
    buffers = _SCRATCH.__dict__.setdefault(like.dtype, [])
    while len(buffers) <= which:
        buffers.append(np.empty(0, like.dtype))
    if buffers[which].size < like.size:
        buffers[which] = np.empty(like.size, like.dtype)
    return buffers[which][:like.size].reshape(like.shape)


def _effective_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float,
                    maximize: bool, out: np.ndarray | None = None) -> np.ndarray:
    """``±grad + weight_decay * param`` (``-`` if maximize): ``grad`` itself when that is
    all, else computed into ``out`` (default: scratch buffer 1)."""
    if not (weight_decay or maximize):
        return grad
    out = _scratch(param, 1) if out is None else out
    if weight_decay:
        np.multiply(param, weight_decay, out=out)
        return np.subtract(out, grad, out=out) if maximize else np.add(out, grad, out=out)
    return np.negative(grad, out=out)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _flat_column(arrays: list[np.ndarray], shapes: list[tuple]) -> np.ndarray | None:
    """The 1-D array that ``arrays`` tile, in order, each a C-contiguous view of it shaped
    like ``shapes[i]`` (what ``optimizer._zeros_for`` makes); None if they are laid out
    otherwise."""
    base = arrays[0].base
    if not (isinstance(base, np.ndarray) and base.ndim == 1 and base.flags.c_contiguous
            and base.flags.writeable):
        return None
    start = _address(base)
    first = (_address(arrays[0]) - start) // base.itemsize
    at = first
    for a, shape in zip(arrays, shapes, strict=True):
        if (a.base is not base or a.shape != shape or a.dtype != base.dtype
                or not (a.flags.c_contiguous and a.flags.writeable)
                or _address(a) != start + at * base.itemsize):
            return None
        at += a.size
    return base[first:at]


class FlatState:
    """The state of a list of params laid out flat: each state column (the ``exp_avg``s,
    the ``exp_avg_sq``s, ...) consecutive views of one 1-D array, in the params' order, as
    the optimizer makes them on a first step (``optimizer._zeros_for``); ``make`` returns
    None for state laid out otherwise. With it, ``adam_multi_step`` and ``sgd_multi_step``
    run a pass that reads and writes only state once over all the params, not once per
    param, on its own scratch (viewed like each param): the same operations on every
    element, so the same bits. Plain SGD has no state (no columns): the scratch alone spares
    it the per-param calls. A compiled step makes one per group (``FastStep``).

    NOTE: a NumPy call costs ~1 us before its first element; the seed MLP's Adam step over
    4 params makes 24 calls instead of 48 (21 when measured, before ``(1 - b2) g`` times ``g``
    took one more call per param): 242 -> 198 us of CPU (EPYC, busy, min of 7 x 300),
    most of it the passes over the 100,352 floats of the big weight, which stream from L3;
    chunks of 16,384 floats that fit the 512 KB L2 measured slower (253 against 235 us).
    """

    def __init__(self, params: list[np.ndarray], columns: list[np.ndarray],
                 views: list[list[np.ndarray]]) -> None:
        self.params, self.columns, self.views = list(params), columns, views
        self.scratch = np.empty(sum(p.size for p in params), params[0].dtype)
        self.scratch_views = _views(self.scratch, [p.shape for p in params])
        self.grad_views: list[np.ndarray] | None = None  # made when a step needs them

    @classmethod
    def make(cls, params: list[np.ndarray], columns: list[list[np.ndarray]]) -> FlatState | None:
        """``columns[k][i]``: state array ``k`` of ``params[i]`` (none for plain SGD)."""
        shapes = [p.shape for p in params]
        flats = [_flat_column(c, shapes) for c in columns]
        if not params or any(f is None or f.dtype != params[0].dtype for f in flats) \
                or any(p.dtype != params[0].dtype for p in params):
            return None
        return cls(params, flats, [list(c) for c in columns])

    def fits(self, params: list[np.ndarray]) -> bool:
        """Whether these are the params it was made for (same objects, in order)."""
        return len(params) == len(self.params) and all(map(operator.is_, params, self.params))

    def holds(self, *columns: list[np.ndarray]) -> bool:
        """Whether these are the state arrays it was made from (same objects, in order)."""
        return len(columns) == len(self.views) and all(
            len(c) == len(v) and all(map(operator.is_, c, v)) for c, v in zip(columns, self.views))

    def grad_scratch(self) -> list[np.ndarray]:
        """A second scratch, viewed like each param (for ``±grad + weight_decay * param``)."""
        if self.grad_views is None:
            self.grad_views = _views(np.empty_like(self.scratch), [v.shape for v in self.scratch_views])
        return self.grad_views


def _views(flat: np.ndarray, shapes: list[tuple]) -> list[np.ndarray]:
    """Consecutive views of ``flat`` with these shapes."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[start:start + size].reshape(shape))
        start += size
    return out


def _adam_scalars(step: int, lr: float, beta1: float, beta2: float,
                  eps: float) -> tuple[float, float]:
    """Adam's step size and epsilon with both bias corrections folded in, at step ``step``:
    ``(lr * sqrt(1 - b2^t) / (1 - b1^t), eps * sqrt(1 - b2^t))``."""
    bias2_sqrt = math.sqrt(1 - beta2 ** step)
    return lr * bias2_sqrt / (1 - beta1 ** step), eps * bias2_sqrt


def _labels(target: np.ndarray, c: int, ignore_index: int) -> tuple[np.ndarray, int]:
    """``(labels, count)`` for ``target[N]`` over ``c`` classes: the labels as int64, those of
    ignored rows set to 0 (so every label can index), and how many rows are not ignored.
    A label outside ``[0, c)`` that is not ``ignore_index`` raises IndexError."""
    labels = target.astype(np.int64, copy=False)
    n = labels.shape[0]
    # NOTE: one pass: seen as unsigned, a negative label is huge, so max < c means all in [0, c)
    in_range = not n or np.maximum.reduce(labels.view(np.uint64)) < c
    if in_range and not 0 <= ignore_index < c:
        return labels, n
    kept = labels != ignore_index
    if not in_range and np.any(kept & ((labels < 0) | (labels >= c))):
        raise IndexError(f"cross_entropy: a target is out of bounds for {c} classes "
                         f"(expected 0 <= target < {c}, or ignore_index={ignore_index})")
    count = int(np.count_nonzero(kept))
    return (labels if count == n else np.where(kept, labels, 0)), count


@functools.lru_cache(maxsize=64)
def _row_starts(n: int, c: int) -> np.ndarray:
    """``[0, c, 2c, ..., (n-1)c]``, made once per shape (read-only)."""
    a = np.arange(0, n * c, c)
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=64)
def _ones(c: int, dtype: np.dtype) -> np.ndarray:
    """``c`` ones of ``dtype``, made once (read-only)."""
    a = np.ones(c, dtype=dtype)
    a.flags.writeable = False
    return a


def _at_labels(a: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The flat indices of ``a[i, labels[i]]`` in C-contiguous ``a[N, C]`` (one gather or
    scatter on them is a few times faster than indexing with ``(arange(N), labels)``)."""
    return _row_starts(*a.shape) + labels


def cross_entropy_forward_into(logits: np.ndarray, target: np.ndarray, reduction: str,
                               label_smoothing: float, ignore_index: int, loss: np.ndarray,
                               probs: np.ndarray) -> None:
    """Softmax cross-entropy of ``logits[N,C]`` against ``target[N]`` (int64) into ``loss``
    (``[N]`` for ``"none"``, else 0-d) and C-contiguous ``probs[N,C]`` (saved for backward);
    a compiled step calls it on its own buffers (``compiler/entries.py``).

    ``loss_i = -(1-e) * log p[i, t_i] - e/C * sum_c log p[i, c]`` with ``log p = s - log
    sum_c exp(s)``, ``s = logits - rowmax`` (NOTE: the row max is subtracted first, so logits
    of any magnitude are safe); rows whose target is ``ignore_index`` give 0. The sum, or the
    sum over the rows not ignored divided by their count (``"mean"``; none left: nan, as
    PyTorch). A label outside ``[0, C)`` that is not ``ignore_index`` raises IndexError.
    NOTE: the row max and the row sum are taken as ``max`` over the rows of the transposed
    copy and ``exp @ ones``: for [64,10] (EPYC, min of 9 x 3,000, load ~5) 3.6 and 0.9 us,
    against 8-12 and 6 us for NumPy's reductions along a short row. Every NumPy call costs
    ~1 us here: the ufuncs' ``reduce`` is called directly (``ndarray.max`` wraps it in
    Python), the row starts and the ones are made once (``_row_starts``, ``_ones``).
    """
    n, c = logits.shape
    labels, count = _labels(target, c, ignore_index)
    rowmax = np.maximum.reduce(logits.T.copy(), axis=0) if n and c else logits.max(axis=1)
    shifted = np.subtract(logits, rowmax.reshape(n, 1), out=probs)
    picked = shifted.reshape(-1).take(_at_labels(probs, labels))  # log p[i, t_i] + log sum exp
    shifted_copy = shifted.copy() if label_smoothing else None
    exp = np.exp(shifted, out=probs)
    sumexp = np.dot(exp, _ones(c, exp.dtype))
    np.divide(exp, sumexp.reshape(n, 1), out=probs)
    logsum = np.log(sumexp, out=sumexp)
    losses = np.subtract(logsum, picked, out=picked)
    if label_smoothing:
        logp_sum = (shifted_copy - logsum.reshape(n, 1)).sum(axis=1)
        losses = (1 - label_smoothing) * losses - label_smoothing / c * logp_sum
    if count < n:
        losses = np.where(target != ignore_index, losses, 0).astype(logits.dtype, copy=False)
    if reduction == "none":
        np.copyto(loss, losses)
    elif reduction == "sum" or count:
        np.add.reduce(losses, out=loss)
        if reduction == "mean":
            np.divide(loss, count, out=loss)
    else:  # NOTE: the mean of no rows: 0/0, nan, as PyTorch
        loss[...] = np.nan


def cross_entropy_backward_into(dloss: np.ndarray, probs: np.ndarray, target: np.ndarray,
                                reduction: str, label_smoothing: float, ignore_index: int,
                                dlogits: np.ndarray) -> None:
    """The gradient of ``cross_entropy_forward_into``'s loss: ``dloss`` (0-d, or ``[N]`` for
    ``"none"``), ``probs[N,C]``, ``target[N]`` into C-contiguous ``dlogits[N,C]``.

    ``dlogits_i = (p_i - (1-e) * onehot(t_i) - e/C) * dloss_i`` for rows not ignored, 0 for
    ignored rows; ``"mean"`` also divides by the number of rows not ignored.
    """
    n, c = probs.shape
    labels, count = _labels(target, c, ignore_index)
    if label_smoothing:
        np.subtract(probs, label_smoothing / c, out=dlogits)
    else:
        np.copyto(dlogits, probs)
    dlogits.reshape(-1)[_at_labels(dlogits, labels)] -= 1 - label_smoothing
    kind = probs.dtype.type
    scale = kind(dloss) if dloss.ndim == 0 else dloss.astype(probs.dtype)
    if count < n:
        scale = scale * (target != ignore_index)
    if reduction == "mean":
        scale = scale / kind(max(count, 1))  # all rows ignored: zero gradient
    np.multiply(dlogits, scale.reshape(-1, 1) if scale.ndim else scale, out=dlogits)


class NumpyBackend:
    """Kernels written with NumPy. Stateless (the optimizer steps keep scratch buffers per
    thread, ``_scratch``): one instance serves everyone."""

    name = "numpy"

    # ----------------------------------------------------------------- linear
    def linear_forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """``x[N,K], w[M,K], b[M] | None -> y[N,M]``:  ``y = x @ w.T + b``."""
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def linear_backward(self, dy: np.ndarray, x: np.ndarray, w: np.ndarray,
                        need_dx: bool, need_dw: bool, need_db: bool):
        """``dy[N,M], x[N,K], w[M,K] -> (dx[N,K], dw[M,K], db[M])``, ``None`` where not needed.

        ``dx = dy @ w``,  ``dw = dy.T @ x``,  ``db = dy.sum(0)``.
        """
        dx = dy @ w if need_dx else None
        dw = dy.T @ x if need_dw else None
        db = dy.sum(axis=0) if need_db else None
        return dx, dw, db

    # ------------------------------------------------------------------- relu
    def relu_forward(self, x: np.ndarray) -> np.ndarray:
        """``y = max(x, 0)``, any shape."""
        return np.maximum(x, 0)

    def relu_backward(self, dy: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``dx = dy * (y > 0)`` from the saved output ``y``.

        NOTE: the gradient at exactly 0 is taken as 0, as PyTorch does.
        """
        return np.where(y > 0, dy, np.zeros((), dtype=dy.dtype))

    # ------------------------------------------------------------------- gelu
    def gelu_forward(self, x: np.ndarray, approximate: str) -> np.ndarray:
        """``y = x * Phi(x)`` (``"none"``: ``Phi`` the normal CDF) or ``x * (1 + tanh u) / 2``,
        ``u = sqrt(2/pi) (x + 0.044715 x^3)`` (``"tanh"``); any shape, computed in float64."""
        xd, s = _gelu_factors(x, approximate, slope=False)
        with np.errstate(invalid="ignore"):  # -inf * 0: NaN, as PyTorch, without a warning
            return (xd * s).astype(x.dtype)

    def gelu_backward(self, dy: np.ndarray, x: np.ndarray, approximate: str) -> np.ndarray:
        """``dx = dy * gelu'(x)`` from the saved input: ``Phi(x) + x phi(x)``, ``phi(x) =
        e^(-x^2/2) / sqrt(2 pi)``; tanh: ``(1 + t)/2 + x (1 - t^2)/2 du/dx``, ``t = tanh u``."""
        return (dy * _gelu_factors(x, approximate, slope=True)[2]).astype(dy.dtype)

    # -------------------------------------------------------------- batchnorm
    def batch_norm_forward(self, x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                           running_mean: np.ndarray | None, running_var: np.ndarray | None,
                           training: bool, momentum: float, eps: float):
        """``x[N,C] or x[N,C,H,W] -> (y like x, mean[C], invstd[C])``.

        Training: ``mean``/``var`` are the batch statistics over every axis but C (biased
        variance for normalizing); the running stats, when given, are updated in place:
        ``r = (1 - momentum) * r + momentum * stat``, with the unbiased variance.
        Eval: the running stats are used. ``y = (x - mean) * invstd * gamma + beta``,
        ``invstd = 1 / sqrt(var + eps)``.
        """
        axes = (0,) + tuple(range(2, x.ndim))
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            if running_mean is not None:
                m = x.size // x.shape[1]
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * (m / max(m - 1, 1))
        else:
            mean, var = running_mean.copy(), running_var  # a copy: backward must not see later updates
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        mean = mean.astype(x.dtype, copy=False)
        scale = invstd if gamma is None else invstd * gamma
        y = (x - _channel_view(mean, x)) * _channel_view(scale, x)
        if beta is not None:
            y += _channel_view(beta, x)
        return y, mean, invstd

    def batch_norm_backward(self, dy: np.ndarray, x: np.ndarray, gamma: np.ndarray | None,
                            mean: np.ndarray, invstd: np.ndarray, training: bool,
                            need_dx: bool, need_dgamma: bool, need_dbeta: bool):
        """``dy, x [N,C,*] -> (dx, dgamma[C], dbeta[C])``, ``None`` where not needed.

        With ``xhat = (x - mean) * invstd`` and ``M = N*H*W``: ``dbeta = sum(dy)``,
        ``dgamma = sum(dy * xhat)``; training: ``dx = gamma*invstd/M * (M*dy - dbeta
        - xhat*dgamma)`` (the batch statistics depend on x); eval: ``dx = dy*gamma*invstd``.
        """
        axes = (0,) + tuple(range(2, x.ndim))
        xhat = (x - _channel_view(mean, x)) * _channel_view(invstd, x)
        dbeta = dy.sum(axis=axes)
        dgamma = (dy * xhat).sum(axis=axes)
        dx = None
        if need_dx:
            scale = invstd if gamma is None else invstd * gamma
            if training:
                m = x.size // x.shape[1]
                dx = (dy - _channel_view(dbeta / m, x) - xhat * _channel_view(dgamma / m, x))
                dx *= _channel_view(scale, x)
            else:
                dx = dy * _channel_view(scale, x)
        return dx, (dgamma if need_dgamma else None), (dbeta if need_dbeta else None)

    # ------------------------------------------------------ softmax + cross-entropy
    def cross_entropy_forward(self, logits: np.ndarray, target: np.ndarray, reduction: str,
                              label_smoothing: float, ignore_index: int):
        """``logits[N,C], target[N] (int64, each in [0, C) or ignore_index: checked by the op,
        ``ops/losses.py``) -> (loss, probs[N,C])``: ``cross_entropy_forward_into`` on new
        arrays. ``loss`` is ``[N]`` for ``"none"``, else 0-d; ``probs`` is saved for backward."""
        loss = np.empty(logits.shape[0] if reduction == "none" else (), dtype=logits.dtype)
        probs = np.empty(logits.shape, dtype=logits.dtype)
        cross_entropy_forward_into(logits, target, reduction, label_smoothing, ignore_index, loss, probs)
        return loss, probs

    def cross_entropy_backward(self, dloss: np.ndarray, probs: np.ndarray, target: np.ndarray,
                               reduction: str, label_smoothing: float, ignore_index: int):
        """``dloss (0-d or [N]), probs[N,C], target[N] -> dlogits[N,C]``:
        ``cross_entropy_backward_into`` on a new array."""
        dlogits = np.empty(probs.shape, dtype=probs.dtype)
        cross_entropy_backward_into(np.asarray(dloss), probs, target, reduction, label_smoothing,
                                    ignore_index, dlogits)
        return dlogits

    # ------------------------------------------------------------------ conv2d
    def conv2d_forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                       stride: tuple[int, int], padding: tuple[int, int]):
        """``x[N,C,H,W], w[O,C,kh,kw], b[O] | None -> (y[N,O,Ho,Wo], cols)``.

        im2col: every ``C*kh*kw`` input patch becomes a row of ``cols[N*Ho*Wo, C*kh*kw]``,
        so the convolution is one GEMM ``y = cols @ w.reshape(O, -1).T + b``.
        ``cols`` is saved for backward. ``Ho = (H + 2*ph - kh) // sh + 1``.
        """
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        (sh, sw), (ph, pw) = stride, padding
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        ho, wo = win.shape[2], win.shape[3]
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
        y = self.linear_forward(cols, w.reshape(o, -1), b)
        return np.ascontiguousarray(y.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)), cols

    def conv2d_backward(self, dy: np.ndarray, cols: np.ndarray, x_shape: tuple, w: np.ndarray,
                        stride: tuple[int, int], padding: tuple[int, int],
                        need_dx: bool, need_dw: bool, need_db: bool):
        """``dy[N,O,Ho,Wo], cols, w[O,C,kh,kw] -> (dx[N,C,H,W], dw like w, db[O])``.

        ``dW = dy2.T @ cols``, ``db = dy2.sum(0)``, ``dcols = dy2 @ W`` with
        ``dy2 = dy`` as ``[N*Ho*Wo, O]``; col2im then adds each patch's gradient back
        to the input positions it was read from (overlapping windows accumulate). Only
        ``dW`` reads ``cols``: it may be None when ``need_dw`` is False.
        """
        if cols is None and need_dw:
            raise ValueError("conv2d_backward: the weight's gradient needs the forward's cols")
        n, c, h, wd = x_shape
        o, _, kh, kw = w.shape
        (sh, sw), (ph, pw) = stride, padding
        ho, wo = dy.shape[2], dy.shape[3]
        dy2 = np.ascontiguousarray(dy.transpose(0, 2, 3, 1)).reshape(-1, o)
        dcols, dw, db = self.linear_backward(dy2, cols, w.reshape(o, -1), need_dx, need_dw, need_db)
        dx = None
        if need_dx:
            dcols = dcols.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
            dxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=dy.dtype)
            for i in range(kh):
                for j in range(kw):
                    dxp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += dcols[:, :, i, j]
            dx = dxp[:, :, ph:ph + h, pw:pw + wd] if ph or pw else dxp
            dx = np.ascontiguousarray(dx)
        return dx, (dw.reshape(w.shape) if dw is not None else None), db

    # ----------------------------------------------------------------- pooling
    # A window's tap (u, v) is one strided view over all outputs (``_tap``): the loops below
    # run over the kh*kw taps, never over the N*C*Ho*Wo windows.
    def max_pool2d_forward(self, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                           padding: tuple[int, int]):
        """``x[N,C,H,W] -> (y[N,C,Ho,Wo], indices[N,C,Ho,Wo] int64)``.

        ``y[n,c,i,j] = max_{u<kh, v<kw} xpad[n, c, i*sh + u, j*sw + v]``, ``x`` padded with -inf;
        ``indices`` is where that max is in x's ``H*W`` plane, ``r*W + s``, for backward.
        NOTE: ties go to the first max in window (row-major) order, as PyTorch; a NaN is the
        max (the first NaN); a window whose inputs are all -inf picks its first input, so an
        index never points into the padding.
        """
        h, w = x.shape[2:]
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        ho, wo = pool_output_size(x.shape, kernel, stride, padding)
        xp = _pad(x, padding, -np.inf)
        rows, cols = np.arange(ho)[:, None] * sh - ph, np.arange(wo) * sw - pw  # window corners
        y = np.full(x.shape[:2] + (ho, wo), -np.inf, dtype=x.dtype)
        index = np.clip(rows, 0, h - 1) * w + np.clip(cols, 0, w - 1)  # first input of each window
        for u in range(kh):
            for v in range(kw):
                t = _tap(xp, u, v, stride, (ho, wo))
                better = (t > y) | (np.isnan(t) & ~np.isnan(y))  # strictly: the first max wins
                y = np.where(better, t, y)
                index = np.where(better, (rows + u) * w + cols + v, index)
        return y, index.astype(np.int64, copy=False)

    def max_pool2d_backward(self, dy: np.ndarray, indices: np.ndarray, x_shape: tuple) -> np.ndarray:
        """``dy[N,C,Ho,Wo], indices[N,C,Ho,Wo] -> dx[N,C,H,W]``.

        ``dx[n, c].flat[indices[n,c,i,j]] += dy[n,c,i,j]``: each window's gradient goes to its
        max; overlapping windows that chose the same input add up (in output order).
        """
        n, c, h, w = x_shape
        check_pool_indices(indices, dy.shape, x_shape)
        dx = np.zeros(n * c * h * w, dtype=dy.dtype)
        plane_start = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
        np.add.at(dx, (indices.astype(np.int64, copy=False) + plane_start).ravel(), dy.ravel())
        return dx.reshape(x_shape)

    def avg_pool2d_forward(self, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                           padding: tuple[int, int]) -> np.ndarray:
        """``x[N,C,H,W] -> y[N,C,Ho,Wo]``: ``y[n,c,i,j] = sum_{u<kh, v<kw} xpad[n, c, i*sh + u,
        j*sw + v] / (kh*kw)``, ``x`` padded with 0 that counts in the mean (PyTorch's
        ``count_include_pad=True``). The taps are summed in window (row-major) order."""
        kh, kw = kernel
        ho, wo = pool_output_size(x.shape, kernel, stride, padding)
        xp = _pad(x, padding, 0.0)
        y = np.zeros(x.shape[:2] + (ho, wo), dtype=x.dtype)
        for u in range(kh):
            for v in range(kw):
                y += _tap(xp, u, v, stride, (ho, wo))
        y /= kh * kw
        return y

    def avg_pool2d_backward(self, dy: np.ndarray, x_shape: tuple, kernel: tuple[int, int],
                            stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
        """``dy[N,C,Ho,Wo] -> dx[N,C,H,W]``: every input of window ``(i, j)`` gets
        ``dy[n,c,i,j] / (kh*kw)``; overlapping windows add up (tap by tap, in window order)
        and the padding's share is dropped."""
        n, c, h, w = x_shape
        (kh, kw), (ph, pw) = kernel, padding
        ho, wo = pool_output_size(x_shape, kernel, stride, padding)
        share = dy / (kh * kw)
        dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dy.dtype)
        for u in range(kh):
            for v in range(kw):
                _tap(dxp, u, v, stride, (ho, wo))[...] += share
        return np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + w])

    # ------------------------------------------------------------- batch gather
    def take_rows(self, a: np.ndarray, index: np.ndarray) -> np.ndarray:
        """``a[index]`` along the first axis: ``out[i] = a[index[i]]`` (a DataLoader batch of
        an array dataset). ``take`` copies whole rows (~30% faster than ``a[index]``'s general
        fancy indexing on MNIST batches); a negative index counts from the end, one outside
        raises IndexError."""
        return a.take(index, axis=0)

    # --------------------------------------------------------- optimizer updates
    def sgd_step(self, param: np.ndarray, grad: np.ndarray, buf: np.ndarray | None, *,
                 lr: float, momentum: float, dampening: float, nesterov: bool,
                 weight_decay: float, maximize: bool, first: bool) -> None:
        """In place, PyTorch's rule. ``g = ±grad + wd*p``; with momentum
        ``buf = g`` on the first step, else ``buf = momentum*buf + (1-dampening)*g``, and
        ``g = g + momentum*buf`` (nesterov) or ``g = buf``; then ``p -= lr * g``.

        One ufunc pass at a time into a scratch buffer (no temporaries): 4 passes with
        momentum, 2 without (plus 1-2 for weight decay or maximize).
        """
        s = _scratch(param)
        g = _effective_grad(param, grad, weight_decay, maximize)
        if momentum:
            if first:
                np.copyto(buf, g)
            else:
                buf *= momentum
                if dampening:
                    buf += np.multiply(g, 1 - dampening, out=s)
                else:
                    buf += g
            if nesterov:
                g = np.add(g, np.multiply(buf, momentum, out=s), out=s)
            else:
                g = buf
        param -= np.multiply(g, lr, out=s)

    def adam_step(self, param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray,
                  exp_avg_sq: np.ndarray, max_exp_avg_sq: np.ndarray | None, *, step: int,
                  lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                  decoupled: bool, maximize: bool) -> None:
        """In place, PyTorch's Adam (``decoupled=False``) and AdamW (``decoupled=True``).

        ``g = ±grad (+ wd*p for Adam)``; AdamW first does ``p *= 1 - lr*wd``;
        ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g^2`` (``vmax = max(vmax, v)`` with
        amsgrad); ``p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``, computed as
        ``p -= a / (sqrt(v) + e) * m`` with the scalars ``a = lr*sqrt(1-b2^t)/(1-b1^t)`` and
        ``e = eps*sqrt(1-b2^t)`` (the same, multiplied through by ``sqrt(1-b2^t)``; Kingma
        and Ba's "more efficient" order): 12 ufunc passes into one scratch buffer.
        NOTE: ``a / d * m``, not ``m / d * a``: ``m`` decays to subnormal floats where a
        gradient stays 0, and a division by them is slow (a microcode assist per vector;
        the seed MLP after an epoch, ~4% of ``m`` subnormal: that pass took 31.6 µs, not
        14.5, on the EPYC), while the multiply by them costs nothing extra.
        """
        s = _scratch(param)
        g = _effective_grad(param, grad, 0 if decoupled else weight_decay, maximize)
        if weight_decay and decoupled:
            param *= 1 - lr * weight_decay
        exp_avg *= beta1
        exp_avg += np.multiply(g, 1 - beta1, out=s)
        exp_avg_sq *= beta2
        s = np.multiply(g, 1 - beta2, out=s)  # NOTE: ((1 - b2) g) g, as PyTorch's addcmul:
        s *= g                                # g * g overflows from |g| ~ 1.8e19 on
        exp_avg_sq += s
        v = exp_avg_sq
        if max_exp_avg_sq is not None:
            v = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        a, e = _adam_scalars(step, lr, beta1, beta2, eps)
        s = np.sqrt(v, out=s)
        s += e
        s = np.divide(a, s, out=s)
        s *= exp_avg
        param -= s

    def sgd_multi_step(self, params: list[np.ndarray], grads: list[np.ndarray],
                       bufs: list[np.ndarray] | None, *, lr: float, momentum: float,
                       dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
                       first: list[bool], flat: FlatState | None = None) -> None:
        """``sgd_step`` on every ``(params[i], grads[i], bufs[i])`` (``bufs`` is ``None``
        without momentum), all with the same options but ``first[i]`` (``params[i]``'s first
        step: its buffer starts as ``g``): one kernel call per optimizer step.
        ``flat``: a ``FlatState`` of these params and their momentum buffers (none without
        momentum; a compiled step makes it once); when it holds them and every flag is the
        same, the passes over the buffers run once for all, on its scratch."""
        if len(first) != len(params):
            raise ValueError(f"sgd_multi_step: {len(first)} first-step flags for {len(params)} params")
        if (flat is not None and len(grads) == len(params) and len(set(first)) == 1
                and flat.fits(params) and (flat.holds(bufs) if momentum and bufs is not None
                                           else not momentum and flat.holds())):
            self._sgd_flat(flat, params, grads, lr=lr, momentum=momentum, dampening=dampening,
                           nesterov=nesterov, weight_decay=weight_decay, maximize=maximize,
                           first=first[0])
            return
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            self.sgd_step(param, grad, None if bufs is None else bufs[i], lr=lr,
                          momentum=momentum, dampening=dampening, nesterov=nesterov,
                          weight_decay=weight_decay, maximize=maximize, first=first[i])

    @staticmethod
    def _sgd_flat(flat: FlatState, params: list[np.ndarray], grads: list[np.ndarray], *,
                  lr: float, momentum: float, dampening: float, nesterov: bool,
                  weight_decay: float, maximize: bool, first: bool) -> None:
        """``sgd_step``, its passes in the same order for each element, those that read only
        the momentum buffers and scratch once over ``flat``, the others per param."""
        s, views = flat.scratch, flat.scratch_views
        if weight_decay or maximize:
            grads = [_effective_grad(p, g, weight_decay, maximize, out=o)
                     for p, g, o in zip(params, grads, flat.grad_scratch())]
        if not momentum:
            for param, g, o in zip(params, grads, views):
                param -= np.multiply(g, lr, out=o)
            return
        buf, bufs = flat.columns[0], flat.views[0]
        if first:
            for b, g in zip(bufs, grads):
                np.copyto(b, g)
        else:
            buf *= momentum
            if dampening:
                for g, o in zip(grads, views):
                    np.multiply(g, 1 - dampening, out=o)
                buf += s
            else:
                for b, g in zip(bufs, grads):
                    b += g
        if nesterov:
            np.multiply(buf, momentum, out=s)
            for g, o in zip(grads, views):
                np.add(g, o, out=o)
            s *= lr
        else:
            np.multiply(buf, lr, out=s)
        for param, o in zip(params, views):
            param -= o

    def adam_multi_step(self, params: list[np.ndarray], grads: list[np.ndarray],
                        exp_avgs: list[np.ndarray], exp_avg_sqs: list[np.ndarray],
                        max_exp_avg_sqs: list[np.ndarray] | None, *, steps: list[int],
                        lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                        decoupled: bool, maximize: bool, flat: FlatState | None = None) -> None:
        """``adam_step`` on every parameter ``params[i]`` with its gradient and moments
        (``max_exp_avg_sqs`` is ``None`` without amsgrad), all with the same options but
        ``steps[i] >= 1`` (``params[i]``'s step count ``t``, which sets its bias corrections
        ``1 - b1^t`` and ``sqrt(1 - b2^t)``): one kernel call per optimizer step.
        ``flat``: a ``FlatState`` of these moments (a compiled step makes it once); when it
        holds them and every count is the same, the passes over state run once for all."""
        if len(steps) != len(params) or not all(t >= 1 for t in steps):
            raise ValueError(f"adam_multi_step needs one step count >= 1 per parameter "
                             f"({len(params)}), got {steps!r}")
        columns = (exp_avgs, exp_avg_sqs) + (() if max_exp_avg_sqs is None else (max_exp_avg_sqs,))
        if flat is not None and len(grads) == len(params) and min(steps) == max(steps) \
                and flat.fits(params) and flat.holds(*columns):
            self._adam_flat(flat, params, grads, step=steps[0], lr=lr, beta1=beta1, beta2=beta2,
                            eps=eps, weight_decay=weight_decay, decoupled=decoupled, maximize=maximize)
            return
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            self.adam_step(param, grad, exp_avgs[i], exp_avg_sqs[i],
                           None if max_exp_avg_sqs is None else max_exp_avg_sqs[i], step=steps[i],
                           lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                           decoupled=decoupled, maximize=maximize)

    @staticmethod
    def _adam_flat(flat: FlatState, params: list[np.ndarray], grads: list[np.ndarray], *,
                   step: int, lr: float, beta1: float, beta2: float, eps: float,
                   weight_decay: float, decoupled: bool, maximize: bool) -> None:
        """``adam_step``'s passes in the same order for each element, those that read only
        state and scratch once over ``flat``'s columns, those that read a param or its
        gradient once per param."""
        s, views = flat.scratch, flat.scratch_views
        if weight_decay and decoupled:
            for param in params:
                param *= 1 - lr * weight_decay
        if weight_decay and not decoupled or maximize:
            grads = [_effective_grad(p, g, 0 if decoupled else weight_decay, maximize, out=o)
                     for p, g, o in zip(params, grads, flat.grad_scratch())]
        exp_avg, exp_avg_sq = flat.columns[:2]
        for g, o in zip(grads, views):
            np.multiply(g, 1 - beta1, out=o)
        exp_avg *= beta1
        exp_avg += s
        for g, o in zip(grads, views):  # ((1 - b2) g) g, as adam_step
            np.multiply(g, 1 - beta2, out=o)
            o *= g
        exp_avg_sq *= beta2
        exp_avg_sq += s
        v = exp_avg_sq if len(flat.columns) == 2 else np.maximum(flat.columns[2], exp_avg_sq,
                                                                   out=flat.columns[2])
        a, e = _adam_scalars(step, lr, beta1, beta2, eps)
        np.sqrt(v, out=s)
        s += e
        np.divide(a, s, out=s)
        s *= exp_avg
        for param, o in zip(params, views):
            param -= o

    def rmsprop_step(self, param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
                     buf: np.ndarray | None, grad_avg: np.ndarray | None, *, lr: float,
                     alpha: float, eps: float, weight_decay: float, momentum: float,
                     maximize: bool) -> None:
        """In place, PyTorch's RMSprop. ``v = alpha*v + (1-alpha)*g^2``; centered:
        ``avg = sqrt(v - gbar^2) + eps`` with ``gbar = alpha*gbar + (1-alpha)*g``, else
        ``avg = sqrt(v) + eps``; momentum: ``buf = momentum*buf + g/avg, p -= lr*buf``,
        else ``p -= lr * g/avg``. One ufunc pass at a time into a scratch buffer.
        """
        s = _scratch(param)
        g = _effective_grad(param, grad, weight_decay, maximize)
        square_avg *= alpha
        s = np.multiply(g, 1 - alpha, out=s)  # ((1 - alpha) g) g, as adam_step
        s *= g
        square_avg += s
        if grad_avg is not None:
            grad_avg *= alpha
            grad_avg += np.multiply(g, 1 - alpha, out=s)
            avg = np.multiply(grad_avg, grad_avg, out=s)
            avg = np.sqrt(np.subtract(square_avg, avg, out=avg), out=avg)
        else:
            avg = np.sqrt(square_avg, out=s)
        avg += eps
        step = np.divide(g, avg, out=s)
        if momentum > 0:
            buf *= momentum
            buf += step
            step = np.multiply(buf, lr, out=s)
        else:
            step *= lr
        param -= step
