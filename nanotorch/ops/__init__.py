"""Operations: one ``Function`` subclass per op, forward and backward side by side.

- ``arithmetic``: + - * / ** @ and negation, with NumPy broadcasting;
- ``pointwise``: exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, maximum, minimum, where, casts;
- ``reduction``: sum, mean, var, max, min, logsumexp, softmax, log_softmax;
- ``shape``: reshape, permute, squeeze, unsqueeze, expand, indexing, cat, stack;
- ``nn``: the fused layer ops (linear, batch norm, cross-entropy, conv, pooling, dropout).
"""
