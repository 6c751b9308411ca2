"""The op table: every op, one line each, its forward against NumPy and its backward against
gradcheck, on every backend (``helpers.check_op``); ``test_torch_parity.py`` runs the same
table against PyTorch. The kernel-backed ops (linear, conv, pooling, batch norm, relu,
cross-entropy) have rows too: in float32 they run the C kernels on the C backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import check_op, op

# Input shapes: one tuple of shapes per case. Broadcasting cases cover equal shapes,
# prepended dims, size-1 dims on either side, and 0-d operands.
BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1, 3), (2, 1)),
          ((), (2, 3)), ((2, 3), ())]
UNARY = [((3, 4),), ((),), ((2, 1, 3),)]
MATRIX = [((3, 4),), ((2, 3, 4),)]  # for reductions and shape ops along dims 0 and 1
INDEXED = [((3, 4),), ((3, 2, 4),)]  # for indexing: size 3 along dim 0, at least 4 along dim -1
MATMUL = [((4,), (4,)), ((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 2)),
          ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3))]


def _softmax(a: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _scatter(a, index, src, add=False):
    out = a.copy()
    rows = np.indices(np.shape(index))[0]
    if add:
        np.add.at(out, (rows, index), src[:, :np.shape(index)[1]])
    else:
        out[rows, index] = src[:, :np.shape(index)[1]]
    return out


def _pool_rows(size: int, out: int) -> np.ndarray:
    """Averaging matrix of adaptive pooling, written from the window rule directly."""
    p = np.zeros((out, size))
    for i in range(out):
        lo, hi = (i * size) // out, -(-((i + 1) * size) // out)
        p[i, lo:hi] = 1 / (hi - lo)
    return p


def _layer_norm(x, w, b, k):
    axes = tuple(range(x.ndim - k, x.ndim))
    xhat = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    return xhat * w + b


def _conv1d(x, w, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    lo = (xp.shape[2] - w.shape[2]) // stride + 1
    cols = np.stack([xp[:, :, i * stride:i * stride + w.shape[2]] for i in range(lo)], 2)  # N C Lo k
    return np.einsum("nclk,ock->nol", cols, w) + b[:, None]


def _windows(a, k, s, p, fill):
    """``a[N, C, H, W]`` padded by ``p`` with ``fill`` as ``[N, C, Ho, Wo, kh, kw]`` windows
    (``k``: an int or ``(kh, kw)``; stride ``s``)."""
    ap = np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    k = (k, k) if isinstance(k, int) else k
    return np.lib.stride_tricks.sliding_window_view(ap, k, axis=(2, 3))[:, :, ::s, ::s]


def _conv2d(x, w, b, s, p):
    return np.einsum("nchwuv,ocuv->nohw", _windows(x, w.shape[2:], s, p, 0.0), w) + b[:, None, None]


def _batch_norm(x, w, b):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    xhat = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    return xhat * w.reshape(shape) + b.reshape(shape)


def _cross_entropy(a, t, smoothing=0.0, ignore=None):
    logp = np.log(_softmax(a, 1))
    rows = np.arange(len(t)) if ignore is None else np.flatnonzero(np.array(t) != ignore)
    t = np.array(t)[rows]
    loss = -(1 - smoothing) * logp[rows, t] - smoothing / a.shape[1] * logp[rows].sum(1)
    return loss.mean()


LABELS = [0, 3, 1]


_erf = np.vectorize(math.erf)
_Phi = lambda a: 0.5 * (1 + _erf(a / math.sqrt(2)))
_sig = lambda a: 1 / (1 + np.exp(-a))
_F = lambda m: m.nn.functional
IDX = [[0, 2], [1, 3], [3, 0]]  # for gather/scatter on [3, 4]: an index per row, along dim 1
IDX_DUP = [[0, 0], [1, 3], [2, 2]]
POS_WEIGHT = [0.5, 1.0, 2.0, 3.0]

# fmt: off
OPS = [
    # arithmetic, with broadcasting, numbers on either side, and reflected forms
    *op("add", lambda m, a, b: a + b, BINARY),
    *op("sub", lambda m, a, b: a - b, BINARY),
    *op("mul", lambda m, a, b: a * b, BINARY),
    *op("div", lambda m, a, b: a / b, BINARY, domain="pos"),
    *op("pow", lambda m, a, b: a ** b, BINARY, domain="pos"),
    *op("add_number", lambda m, a: a + 2, UNARY),
    *op("rsub_number", lambda m, a: 2 - a, UNARY),
    *op("mul_number", lambda m, a: 3 * a, UNARY),
    *op("div_number", lambda m, a: a / 4, UNARY),
    *op("rdiv_number", lambda m, a: 2 / a, UNARY, domain="pos"),
    *op("pow_2", lambda m, a: a ** 2, UNARY),
    *op("pow_half", lambda m, a: a ** 0.5, UNARY, domain="pos"),
    *op("pow_neg", lambda m, a: a ** -1.5, UNARY, domain="pos"),
    *op("rpow", lambda m, a: 2 ** a, UNARY),
    *op("neg", lambda m, a: -a, UNARY),
    *op("matmul", lambda m, a, b: a @ b, MATMUL),
    # pointwise
    *op("exp", lambda m, a: m.exp(a), UNARY),
    *op("log", lambda m, a: m.log(a), UNARY, domain="pos"),
    *op("sqrt", lambda m, a: m.sqrt(a), UNARY, domain="pos"),
    *op("abs", lambda m, a: m.abs(a), UNARY, domain="grid"),
    *op("relu", lambda m, a: a.relu(), UNARY, ref=lambda a: np.maximum(a, 0), domain="grid"),
    *op("sigmoid", lambda m, a: a.sigmoid(), UNARY, ref=lambda a: 1 / (1 + np.exp(-a))),
    *op("tanh", lambda m, a: m.tanh(a), UNARY),
    *op("clamp", lambda m, a: a.clamp(-0.5, 0.5), UNARY, ref=lambda a: np.clip(a, -0.5, 0.5), domain="grid"),
    *op("clamp_min", lambda m, a: a.clamp(min=0.2), UNARY, ref=lambda a: np.maximum(a, 0.2), domain="grid"),
    *op("maximum", lambda m, a, b: m.maximum(a, b), BINARY, domain="grid"),
    *op("minimum", lambda m, a, b: m.minimum(a, b), BINARY, domain="grid"),
    *op("where", lambda m, a, b: m.where(a > 0, a, b), BINARY, domain="grid"),
    *op("where_number", lambda m, a: m.where(a > 0, a, 0.5), UNARY, domain="grid"),
    # reductions
    *op("sum", lambda m, a: a.sum(), UNARY),
    *op("sum_dim", lambda m, a: a.sum(1), MATRIX),
    *op("sum_dims_keepdim", lambda m, a: a.sum((0, -1), keepdim=True), MATRIX,
        ref=lambda a: a.sum((0, -1), keepdims=True)),
    *op("mean", lambda m, a: a.mean(), UNARY),
    *op("mean_dim", lambda m, a: a.mean(-1, keepdim=True), MATRIX, ref=lambda a: a.mean(-1, keepdims=True)),
    *op("var", lambda m, a: a.var(), MATRIX, ref=lambda a: a.var(ddof=1)),
    *op("var_dim", lambda m, a: a.var(0), MATRIX, ref=lambda a: a.var(0, ddof=1)),
    *op("std_dim", lambda m, a: a.std(1, keepdim=True), MATRIX,
        ref=lambda a: a.std(1, ddof=1, keepdims=True)),
    *op("max", lambda m, a: a.max(), UNARY, domain="grid"),
    *op("min", lambda m, a: a.min(), UNARY, domain="grid"),
    *op("max_dim", lambda m, a: a.max(1), MATRIX, ref=lambda a: (a.max(1), a.argmax(1)), domain="grid"),
    *op("min_dim_keepdim", lambda m, a: a.min(-1, keepdim=True), MATRIX,
        ref=lambda a: (a.min(-1, keepdims=True), a.argmin(-1, keepdims=True)), domain="grid"),
    *op("logsumexp", lambda m, a: a.logsumexp(1), MATRIX, ref=lambda a: np.log(np.exp(a).sum(1))),
    *op("softmax", lambda m, a: a.softmax(-1), MATRIX, ref=lambda a: _softmax(a, -1)),
    *op("softmax_dim0", lambda m, a: a.softmax(0), MATRIX, ref=lambda a: _softmax(a, 0)),
    *op("log_softmax", lambda m, a: a.log_softmax(1), MATRIX, ref=lambda a: np.log(_softmax(a, 1))),
    # shape
    *op("reshape", lambda m, a: a.reshape(-1, 2), MATRIX),
    *op("view", lambda m, a: a.view(2, -1), MATRIX, ref=lambda a: a.reshape(2, -1)),
    *op("flatten", lambda m, a: a.flatten(), UNARY),
    *op("flatten_start", lambda m, a: a.flatten(1), MATRIX, ref=lambda a: a.reshape(a.shape[0], -1)),
    *op("transpose", lambda m, a: a.transpose(0, 1), MATRIX, ref=lambda a: np.swapaxes(a, 0, 1)),
    *op("permute", lambda m, a: a.permute(2, 0, 1), [((2, 3, 4),)], ref=lambda a: a.transpose(2, 0, 1)),
    *op("T", lambda m, a: a.T, [((3, 4),)]),
    *op("squeeze", lambda m, a: a.squeeze(), [((2, 1, 3, 1),)]),
    *op("squeeze_dim", lambda m, a: a.squeeze(1), [((2, 1, 3),)]),
    *op("unsqueeze", lambda m, a: a.unsqueeze(-1), MATRIX, ref=lambda a: a[..., None]),
    *op("expand", lambda m, a: a.expand(2, 3, 4), [((3, 1),), ((4,),)],
        ref=lambda a: np.broadcast_to(a, (2, 3, 4))),
    *op("cat", lambda m, a, b: m.cat([a, b], 1), [((2, 3), (2, 4))],
        ref=lambda a, b: np.concatenate([a, b], 1)),
    *op("stack", lambda m, a, b: m.stack([a, b], -1), [((2, 3), (2, 3))]),
    *op("split", lambda m, a: a.split(2, 1), [((3, 5),)], ref=lambda a: np.split(a, [2, 4], 1)),
    *op("split_sizes", lambda m, a: a.split([1, 3, 1], 1), [((3, 5),)], ref=lambda a: np.split(a, [1, 4], 1)),
    *op("chunk", lambda m, a: a.chunk(3, 0), [((5, 2),)], ref=lambda a: np.split(a, [2, 4], 0)),
    # indexing
    *op("index_int", lambda m, a: a[1], INDEXED),
    *op("index_slices", lambda m, a: a[:, 1:3], INDEXED),
    *op("index_none_ellipsis", lambda m, a: a[None, ..., 0], INDEXED),
    *op("index_scalar", lambda m, a: a[1, 2], [((3, 4),)]),
    *op("index_repeated", lambda m, a: a[[0, 2, 0, 0]], INDEXED),
    *op("index_tensor", lambda m, a: a[m.tensor([2, 0, 2])], INDEXED, ref=lambda a: a[[2, 0, 2]]),
    *op("index_pairs", lambda m, a: a[[0, 1, 1], [2, 0, 0]], [((3, 4),)]),
    *op("index_mixed", lambda m, a: a[1:, [3, 3, 0]], [((3, 4),)]),
    *op("index_mask", lambda m, a: a[a > 0], INDEXED, domain="grid"),
    # issue 9's fixes: ints apply before index lists (PyTorch's rule); dim 0 and -1 of a 0-d tensor
    *op("index_int_slice_list", lambda m, a: a[0, :, [0, 3, 3]], [((2, 3, 4),)],
        ref=lambda a: a[0][:, [0, 3, 3]]),
    *op("index_list_slice_int", lambda m, a: a[[1, 0], :, 2], [((2, 3, 4),)],
        ref=lambda a: a[:, :, 2][[1, 0]]),
    *op("logsumexp_0d", lambda m, a: a.logsumexp(0), [((),)], ref=lambda a: a),
    *op("sum_0d_dim", lambda m, a: a.sum(-1, keepdim=True), [((),)], ref=lambda a: a),
    *op("squeeze_0d", lambda m, a: a.squeeze(0) * 2, [((),)], ref=lambda a: a * 2),
    # more arithmetic and math
    *op("remainder", lambda m, a, b: a % b, BINARY, domain="pos"),
    *op("remainder_number", lambda m, a: a % 0.7, UNARY, ref=lambda a: np.remainder(a, 0.7)),
    *op("nt_add", lambda m, a, b: m.add(a, b), BINARY),
    *op("nt_mul", lambda m, a, b: m.mul(a, b), BINARY, ref=lambda a, b: a * b),
    *op("nt_matmul", lambda m, a, b: m.matmul(a, b), MATMUL),
    *op("einsum_matmul", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [((3, 4), (4, 2))]),
    *op("einsum_batch_ellipsis", lambda m, a, b: m.einsum("...ij,...kj", a, b), [((2, 1, 3, 4), (5, 2, 4))]),
    *op("einsum_trace_outer", lambda m, a, b: m.einsum("ii,j->j", a, b), [((3, 3), (2,))]),
    *op("einsum_diag_sum", lambda m, a: m.einsum("ii->i", a) + m.einsum("ij->", a), [((3, 3),)]),
    *op("sin", lambda m, a: m.sin(a), UNARY),
    *op("cos", lambda m, a: m.cos(a), UNARY),
    *op("log1p", lambda m, a: m.log1p(a), UNARY, domain="pos"),
    *op("expm1", lambda m, a: m.expm1(a), UNARY),
    *op("log2", lambda m, a: m.log2(a), UNARY, domain="pos"),
    *op("erf", lambda m, a: m.erf(a), UNARY, ref=lambda a: _erf(a)),
    *op("rsqrt", lambda m, a: m.rsqrt(a), UNARY, ref=lambda a: a ** -0.5, domain="pos"),
    *op("reciprocal", lambda m, a: m.reciprocal(a), UNARY, domain="pos"),
    *op("square", lambda m, a: m.square(a), UNARY),
    *op("floor", lambda m, a: m.floor(a), UNARY, domain="grid"),
    *op("ceil", lambda m, a: m.ceil(a), UNARY, domain="grid"),
    *op("round", lambda m, a: m.round(a), UNARY, domain="grid"),
    *op("trunc", lambda m, a: m.trunc(a), UNARY, domain="grid"),
    *op("sign", lambda m, a: m.sign(a), UNARY, domain="grid"),
    *op("lerp", lambda m, a, b: m.lerp(a, b, 0.3), BINARY, ref=lambda a, b: a + 0.3 * (b - a)),
    *op("lerp_tensor_weight", lambda m, a, b, w: m.lerp(a, b, w), [((3, 4), (3, 4), (4,))],
        ref=lambda a, b, w: a + w * (b - a)),
    # more reductions and scans
    *op("prod", lambda m, a: a.prod(), UNARY),
    *op("prod_dim", lambda m, a: a.prod(1, keepdim=True), MATRIX, ref=lambda a: a.prod(1, keepdims=True)),
    *op("cumsum", lambda m, a: a.cumsum(1), MATRIX),
    *op("cumsum_dim0", lambda m, a: a.cumsum(0), MATRIX),
    *op("amax", lambda m, a: a.amax(1), MATRIX, ref=lambda a: a.max(1), domain="grid"),
    *op("amin_dims_keepdim", lambda m, a: a.amin((0, -1), keepdim=True), MATRIX,
        ref=lambda a: a.min((0, -1), keepdims=True), domain="grid"),
    *op("amax_all", lambda m, a: a.amax(), UNARY, ref=lambda a: a.max(), domain="grid"),
    # more shape ops
    *op("flip", lambda m, a: a.flip(0, -1), MATRIX, ref=lambda a: np.flip(a, (0, -1))),
    *op("roll", lambda m, a: a.roll(1, 0), MATRIX, ref=lambda a: np.roll(a, 1, 0)),
    *op("roll_dims", lambda m, a: a.roll((1, -2), (0, 1)), MATRIX, ref=lambda a: np.roll(a, (1, -2), (0, 1))),
    *op("roll_flat", lambda m, a: a.roll(5), MATRIX, ref=lambda a: np.roll(a, 5)),
    *op("repeat", lambda m, a: a.repeat(2, 1, 3), [((3, 4),), ((2, 3, 4),)],
        ref=lambda a: np.tile(a, (2, 1, 3))),
    *op("tril", lambda m, a: a.tril(), MATRIX, ref=lambda a: np.tril(a)),
    *op("triu_1", lambda m, a: a.triu(1), MATRIX, ref=lambda a: np.triu(a, 1)),
    *op("tril_neg", lambda m, a: m.tril(a, -1), [((4, 3),)], ref=lambda a: np.tril(a, -1)),
    # indexing by tensors
    *op("masked_fill", lambda m, a: a.masked_fill(a > 0, 0.5), INDEXED, ref=lambda a: np.where(a > 0, 0.5, a),
        domain="grid"),
    *op("gather", lambda m, a: a.gather(1, m.tensor(IDX)), [((3, 4),)],
        ref=lambda a: np.take_along_axis(a, np.array(IDX), 1)),
    *op("gather_dim0_repeats", lambda m, a: m.gather(a, 0, m.tensor([[2, 0, 2], [2, 2, 1]])), [((3, 4),)],
        ref=lambda a: np.take_along_axis(a[:, :3], np.array([[2, 0, 2], [2, 2, 1]]), 0)),
    *op("scatter", lambda m, a, b: a.scatter(1, m.tensor(IDX), b), [((3, 4), (3, 2))],
        ref=lambda a, b: _scatter(a, np.array(IDX), b)),
    *op("scatter_number", lambda m, a: a.scatter(1, m.tensor(IDX), 0.25), [((3, 4),)],
        ref=lambda a: _scatter(a, np.array(IDX), np.full((3, 2), 0.25))),
    *op("scatter_add", lambda m, a, b: a.scatter_add(1, m.tensor(IDX_DUP), b), [((3, 4), (3, 2))],
        ref=lambda a, b: _scatter(a, np.array(IDX_DUP), b, add=True)),
    *op("index_select", lambda m, a: a.index_select(-1, m.tensor([3, 0, 3])), INDEXED,
        ref=lambda a: np.take(a, [3, 0, 3], -1)),
    *op("index_select_dim0", lambda m, a: m.index_select(a, 0, m.tensor([2, 2])), INDEXED,
        ref=lambda a: a[[2, 2]]),
    # nn.functional
    *op("gelu", lambda m, a: _F(m).gelu(a), UNARY, ref=lambda a: a * _Phi(a)),
    *op("gelu_tanh", lambda m, a: _F(m).gelu(a, approximate="tanh"), UNARY,
        ref=lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))),
    *op("silu", lambda m, a: _F(m).silu(a), UNARY, ref=lambda a: a * _sig(a)),
    *op("elu", lambda m, a: _F(m).elu(a, 0.7), UNARY, ref=lambda a: np.where(a > 0, a, 0.7 * np.expm1(a)),
        domain="grid"),
    *op("softplus", lambda m, a: _F(m).softplus(a), UNARY, ref=lambda a: np.log1p(np.exp(a))),
    *op("softplus_beta_threshold", lambda m, a: _F(m).softplus(a, beta=2.0, threshold=1.0), UNARY,
        ref=lambda a: np.where(2 * a > 1, a, np.log1p(np.exp(2 * a)) / 2), domain="grid"),
    *op("relu6", lambda m, a: _F(m).relu6(a * 4), UNARY, ref=lambda a: np.clip(a * 4, 0, 6), domain="grid"),
    *op("hardtanh", lambda m, a: _F(m).hardtanh(a, -0.3, 0.7), UNARY, ref=lambda a: np.clip(a, -0.3, 0.7),
        domain="grid"),
    *op("logsigmoid", lambda m, a: _F(m).logsigmoid(a * 30), UNARY, ref=lambda a: -np.logaddexp(0, -30 * a)),
    *op("normalize", lambda m, a: _F(m).normalize(a), MATRIX,
        ref=lambda a: a / np.sqrt((a * a).sum(1, keepdims=True))),
    *op("normalize_p1", lambda m, a: _F(m).normalize(a, p=1.0, dim=-1), MATRIX,
        ref=lambda a: a / np.abs(a).sum(-1, keepdims=True), domain="grid"),
    *op("pad", lambda m, a: _F(m).pad(a, (1, 2)), MATRIX,
        ref=lambda a: np.pad(a, [(0, 0)] * (a.ndim - 1) + [(1, 2)])),
    *op("pad_2d_value_crop", lambda m, a: _F(m).pad(a, (-1, 1, 2, 0), value=0.5), MATRIX,
        ref=lambda a: np.pad(a[..., 1:], [(0, 0)] * (a.ndim - 2) + [(2, 0), (0, 1)], constant_values=0.5)),
    *op("embedding", lambda m, a: _F(m).embedding(m.tensor([[0, 2], [2, 1]]), a), [((3, 4),)],
        ref=lambda a: a[np.array([[0, 2], [2, 1]])]),
    *op("conv1d", lambda m, x, w, b: _F(m).conv1d(x, w, b), [((2, 3, 7), (4, 3, 3), (4,))],
        ref=lambda x, w, b: _conv1d(x, w, b, 1, 0)),
    *op("conv1d_stride_pad", lambda m, x, w, b: _F(m).conv1d(x, w, b, stride=2, padding=1),
        [((2, 3, 8), (4, 3, 3), (4,))], ref=lambda x, w, b: _conv1d(x, w, b, 2, 1)),
    *op("adaptive_avg_pool2d", lambda m, a: _F(m).adaptive_avg_pool2d(a, (3, 2)),
        [((2, 3, 7, 5),), ((2, 4, 4),)],
        ref=lambda a: _pool_rows(a.shape[-2], 3) @ a @ _pool_rows(a.shape[-1], 2).T),
    *op("adaptive_avg_pool2d_1", lambda m, a: _F(m).adaptive_avg_pool2d(a, 1), [((2, 3, 4, 5),)],
        ref=lambda a: a.mean((2, 3), keepdims=True)),
    *op("max_pool2d_indices", lambda m, a: _F(m).max_pool2d(a, 2, return_indices=True), [((2, 3, 4, 6),)],
        ref=lambda a: (a.reshape(2, 3, 2, 2, 3, 2).max((3, 5)),
                       _argmax_2x2(a)), domain="grid"),
    *op("avg_pool2d_exclude_pad", lambda m, a: _F(m).avg_pool2d(a, 3, 2, 1, count_include_pad=False),
        [((2, 3, 5, 6),)], ref=lambda a: _avg_exclude_pad(a)),
    *op("layer_norm", lambda m, x, w, b: _F(m).layer_norm(x, (4,), w, b), [((3, 4), (4,), (4,)),
                                                                            ((2, 3, 4), (4,), (4,))],
        ref=lambda x, w, b: _layer_norm(x, w, b, 1)),
    *op("layer_norm_2d", lambda m, x, w, b: _F(m).layer_norm(x, (3, 4), w, b), [((2, 3, 4), (3, 4), (3, 4))],
        ref=lambda x, w, b: _layer_norm(x, w, b, 2)),
    *op("layer_norm_no_affine", lambda m, x: _F(m).layer_norm(x, [4]), [((2, 3, 4),)],
        ref=lambda x: _layer_norm(x, 1, 0, 1)),
    # kernel-backed ops (they call ctx.backend: C kernels in float32 on the C backend)
    *op("linear", lambda m, x, w, b: _F(m).linear(x, w, b),
        [((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,))], ref=lambda x, w, b: x @ w.T + b),
    *op("linear_no_bias", lambda m, x, w: _F(m).linear(x, w), [((3, 4), (5, 4)), ((4,), (2, 4))],
        ref=lambda x, w: x @ w.T),
    *op("relu_kernel", lambda m, a: _F(m).relu(a), [((2, 3, 4),)], ref=lambda a: np.maximum(a, 0),
        domain="grid"),
    *op("leaky_relu", lambda m, a: _F(m).leaky_relu(a, 0.1), UNARY, ref=lambda a: np.where(a > 0, a, 0.1 * a),
        domain="grid"),
    *op("conv2d", lambda m, x, w, b: _F(m).conv2d(x, w, b), [((2, 3, 5, 6), (4, 3, 3, 2), (4,))],
        ref=lambda x, w, b: _conv2d(x, w, b, 1, 0)),
    *op("conv2d_stride_pad", lambda m, x, w, b: _F(m).conv2d(x, w, b, stride=2, padding=1),
        [((2, 3, 6, 5), (4, 3, 3, 3), (4,))], ref=lambda x, w, b: _conv2d(x, w, b, 2, 1)),
    *op("max_pool2d", lambda m, a: _F(m).max_pool2d(a, 3, 2, 1), [((2, 3, 5, 6),)],
        ref=lambda a: _windows(a, 3, 2, 1, -np.inf).max((4, 5)), domain="grid"),
    *op("avg_pool2d", lambda m, a: _F(m).avg_pool2d(a, 3, 2, 1), [((2, 3, 5, 6),)],
        ref=lambda a: _windows(a, 3, 2, 1, 0.0).mean((4, 5))),
    *op("batch_norm", lambda m, x, w, b: _F(m).batch_norm(x, None, None, w, b, training=True),
        [((4, 3), (3,), (3,)), ((2, 3, 4), (3,), (3,)), ((2, 3, 2, 3), (3,), (3,))],
        ref=lambda x, w, b: _batch_norm(x, w, b)),
    *op("cross_entropy", lambda m, a: _F(m).cross_entropy(a, m.tensor(LABELS)), [((3, 5),)],
        ref=lambda a: _cross_entropy(a, LABELS)),
    *op("cross_entropy_smoothing_ignore", lambda m, a: _F(m).cross_entropy(
        a, m.tensor(LABELS), ignore_index=3, label_smoothing=0.2), [((3, 5),)],
        ref=lambda a: _cross_entropy(a, LABELS, 0.2, ignore=3)),
    *op("nll_loss", lambda m, a: _F(m).nll_loss(a.log_softmax(1), m.tensor(LABELS)), [((3, 5),)],
        ref=lambda a: _cross_entropy(a, LABELS)),
    # losses
    *op("smooth_l1_loss", lambda m, a, b: _F(m).smooth_l1_loss(a, b), [((3, 4), (3, 4))],
        ref=lambda a, b: np.where(np.abs(a - b) < 1, 0.5 * (a - b) ** 2, np.abs(a - b) - 0.5).mean()),
    *op("smooth_l1_loss_beta", lambda m, a, b: _F(m).smooth_l1_loss(a, b, reduction="sum", beta=0.5),
        [((3, 4), (3, 4))],
        ref=lambda a, b: np.where(np.abs(a - b) < 0.5, (a - b) ** 2, np.abs(a - b) - 0.25).sum()),
    *op("huber_loss", lambda m, a, b: _F(m).huber_loss(a, b, reduction="none", delta=0.8), [((3, 4), (3, 4))],
        ref=lambda a, b: np.where(np.abs(a - b) < 0.8, 0.5 * (a - b) ** 2, 0.8 * (np.abs(a - b) - 0.4))),
    *op("kl_div", lambda m, a, b: _F(m).kl_div(a.log_softmax(-1), b.softmax(-1), reduction="batchmean"),
        [((3, 4), (3, 4))],
        ref=lambda a, b: (_softmax(b, -1) * (np.log(_softmax(b, -1)) - np.log(_softmax(a, -1)))).sum() / 3),
    *op("kl_div_log_target", lambda m, a, b: _F(m).kl_div(a, b, reduction="sum", log_target=True),
        [((3, 4), (3, 4))], ref=lambda a, b: (np.exp(b) * (b - a)).sum()),
    *op("bce_with_logits_pos_weight", lambda m, a, b: _F(m).binary_cross_entropy_with_logits(
        a, b.sigmoid(), pos_weight=m.tensor(POS_WEIGHT, dtype=a.dtype)), [((3, 4), (3, 4))],
        ref=lambda a, b: -(np.array(POS_WEIGHT) * _sig(b) * np.log(_sig(a))
                           + (1 - _sig(b)) * np.log(1 - _sig(a))).mean()),
]
# fmt: on


def _argmax_2x2(a: np.ndarray) -> np.ndarray:
    """Where each 2x2 window's max is in its ``H*W`` plane (no ties in the grid domain)."""
    n, c, h, w = a.shape
    win = a.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    k = win.argmax(-1)
    rows, cols = np.arange(h // 2)[:, None] * 2 + k // 2, np.arange(w // 2) * 2 + k % 2
    return rows * w + cols


def _avg_exclude_pad(a: np.ndarray) -> np.ndarray:
    """3x3 windows, stride 2, padding 1, each divided by the inputs it covers."""
    n, c, h, w = a.shape
    ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = a[:, :, max(2 * i - 1, 0):2 * i + 2, max(2 * j - 1, 0):2 * j + 2]
            out[:, :, i, j] = win.mean((2, 3))
    return out


@pytest.mark.parametrize("spec, shapes", OPS)
def test_op(spec, shapes, backend):
    check_op(spec, shapes)
