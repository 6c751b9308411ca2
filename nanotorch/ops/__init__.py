"""Operations: one ``Function`` subclass per op, forward and backward side by side, named as a
graph node with an ``Fn`` suffix (``LinearFn``; the layer is ``nn.Linear``). Files by family:

- ``arithmetic``: + - * / ** @ % // fmod and negation, with NumPy broadcasting;
- ``pointwise``: exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, maximum, minimum, where, casts, dropout;
- ``reduction``: sum, mean, var, max, min, median, prod, cumsum, logcumsumexp, amax/amin, norm,
  logsumexp, softmax, log_softmax;
- ``sorting``: the sort order (sort, argsort, topk, median, quantile), cummax/cummin's running
  extremes, and cumprod;
- ``shape``: reshape, permute, squeeze, unsqueeze, expand, indexing, cat, stack;
- ``linear``: ``x @ w.T + b`` on the backend's kernels;
- ``normalization``: batch norm (backend kernels), layer norm;
- ``conv``: conv2d, its transpose, unfold/fold (im2col and col2im), max/avg pooling;
- ``losses``: the fused softmax cross-entropy, nll, binary cross-entropy (with logits);
- ``unary``: sin, cos, tan, their inverses and the hyperbolic functions, atan2, log1p,
  expm1, exp2, erf, erfc, sinc, logit, nan_to_num, and floor/ceil/round/trunc/sign (zero gradient);
- ``binary``: logaddexp, hypot, xlogy, copysign, fmax/fmin (NaN-skipping), lerp;
- ``reorder``: flip, roll, repeat, tril/triu, diagonal, diag_embed, pad;
- ``indexing``: gather, scatter, scatter_reduce (and scatter_add), index_select (and embedding),
  index_add/index_copy, masked_fill (and the mask check masked_select shares);
- ``counting`` (no gradient): unique, unique_consecutive, bincount, searchsorted, histc/histogram;
- ``einsum``: ``np.einsum`` with its gradient;
- ``linalg``: ``cdist``, and the factorizations and solves of ``nanotorch.linalg`` on ``np.linalg``
  (det, slogdet, inv, solve, cholesky, qr, eigh, svd, pinv) with their gradients;
- ``resample``: interpolation and adaptive pooling as one matrix per axis (their gradient: its transpose);
- ``activation``: leaky relu, gelu, silu, elu, softplus, hardtanh (relu6), logsigmoid;
- ``checks``: the input checks ops share (float dtype, per-feature vectors, contiguity).
"""
