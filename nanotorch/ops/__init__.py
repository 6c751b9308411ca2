"""Operations: one ``Function`` subclass per op, forward and backward side by side.

- ``arithmetic``: + - * / ** @ % // and negation, with NumPy broadcasting;
- ``pointwise``: exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, maximum, minimum, where, casts;
- ``reduction``: sum, mean, var, max, min, prod, cumsum, amax/amin, logsumexp, softmax, log_softmax;
- ``shape``: reshape, permute, squeeze, unsqueeze, expand, indexing, cat, stack;
- ``nn``: the layer ops (linear, batch norm, dropout, leaky relu);
- ``conv``: conv2d, max/avg pooling;
- ``loss``: the fused softmax cross-entropy, nll, binary cross-entropy (with logits);
- ``unary``: sin, cos, log1p, expm1, erf, and floor/ceil/round/trunc/sign (zero gradient);
- ``reorder``: flip, roll, repeat, tril/triu, pad;
- ``indexing``: gather, scatter (and scatter_add), index_select (and embedding), masked_fill;
- ``einsum``: ``np.einsum`` with its gradient;
- ``activation``: gelu, silu, elu, softplus, hardtanh (relu6), logsigmoid;
- ``layer_norm``: layer normalization.
"""
