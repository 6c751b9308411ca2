"""Operations: one ``Function`` subclass per op, forward and backward side by side.

- ``arithmetic``: + - * / ** @ and negation, with NumPy broadcasting;
- ``pointwise``: exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, maximum, minimum, where, casts;
- ``reduction``: sum, mean, var, max, min, logsumexp, softmax, log_softmax;
- ``shape``: reshape, permute, squeeze, unsqueeze, expand, indexing, cat, stack;
- ``nn``: the layer ops (linear, batch norm, dropout, leaky relu);
- ``conv``: conv2d, max/avg pooling;
- ``loss``: the fused softmax cross-entropy, nll, binary cross-entropy (with logits).
"""
