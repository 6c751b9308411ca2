"""``einsum``: NumPy's ``np.einsum`` with its gradient."""

from __future__ import annotations

import string

import numpy as np

from nanotorch.autograd.function import Function


def parse(equation: str, shapes: list) -> tuple[list[str], str]:
    """``("ij,jk->ik", shapes)`` -> ``(["ij", "jk"], "ik")``, with ``...`` replaced by letters
    (right-aligned over the operands, as broadcasting) and the implicit output made explicit
    (the letters used once, in alphabetical order, after the ``...`` dims)."""
    equation = equation.replace(" ", "")
    lhs, arrow, out = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(inputs)} operands, got {len(shapes)}")
    spare = [c for c in string.ascii_letters if c not in equation]
    n_ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(inputs, shapes) if "..." in t), default=0)
    ell = "".join(spare[:n_ell])
    subs = []
    for term, shape in zip(inputs, shapes):
        if "..." in term:
            k = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ell[n_ell - k:] if k else "")
        if len(term) != len(shape) or not term.isalpha():
            raise ValueError(f"einsum: subscripts {term!r} do not match an operand of shape {shape}")
        subs.append(term)
    if not arrow:
        letters = "".join(subs)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return subs, out


class EinsumFn(Function):
    """``out = einsum(equation, *operands)``: a sum of products over the letters not in the output.

    The gradient of operand ``k`` is the same sum with ``g`` in place of ``k``:
    ``dk = einsum(out, others -> k)``, broadcast over the letters only ``k`` has, written onto
    the diagonal for a letter ``k`` repeats (``"ii->"``), and summed where ``k`` had size 1.
    """

    @staticmethod
    def forward(ctx, *arrays, equation):
        subs, out = parse(equation, [a.shape for a in arrays])
        ctx.save_for_backward(*arrays)
        ctx.subs, ctx.out = subs, out
        return np.einsum(",".join(subs) + "->" + out, *arrays)

    @staticmethod
    def backward(ctx, grad):
        arrays, subs = ctx.saved_tensors, ctx.subs
        sizes = {c: n for s, a in zip(subs, arrays) for c, n in zip(s, a.shape) if n != 1}
        grads = []
        for k, (sub, a) in enumerate(zip(subs, arrays)):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(subs) if j != k]
            seen = set(ctx.out).union(*others)
            unique = "".join(dict.fromkeys(sub))
            present = "".join(c for c in unique if c in seen)
            g = np.einsum(",".join([ctx.out, *others]) + "->" + present, grad,
                          *[b for j, b in enumerate(arrays) if j != k])
            g = np.expand_dims(g, [i for i, c in enumerate(unique) if c not in present])
            g = np.broadcast_to(g, tuple(n if c in present else sizes.get(c, 1)
                                         for c, n in zip(unique, g.shape)))
            d = np.zeros(a.shape, dtype=grad.dtype)
            shrink = tuple(i for i, c in enumerate(unique) if a.shape[sub.index(c)] == 1 and g.shape[i] != 1)
            g = g.sum(axis=shrink, keepdims=True) if shrink else g
            np.einsum(sub + "->" + unique, d)[...] += g
            grads.append(d)
        return tuple(grads)
