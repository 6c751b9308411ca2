"""Kernel fusion in a plan: a ReLU and the max pooling right after it become one kernel.

In ``Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d`` (the CNN example), the ReLU writes
``r = relu(y)`` only for the pooling to read it, and its backward reads ``r`` only for its
mask. With the four kernels' calls adjacent in pairs::

    relu_fwd(y -> r); max_pool2d_fwd(r -> p, idx)
    ...
    max_pool2d_bwd(dp, idx -> dr); relu_bwd(dr, r -> dx)

a plan calls instead ``max_pool2d_relu_fwd(y -> p, idx)``, which pools ``relu(y)`` as it
reads ``y``, and ``max_pool2d_relu_bwd(dp, idx, p -> dx)``, which adds ``dp`` where
``p > 0`` (``p`` is ``r`` at ``idx``, so it is the ReLU's mask there): the same selections
and sums, so the same bits (kernels/pool.c), without ``r`` and ``dr``: two of the
activation's passes forward and backward fewer.

Only when nothing else reads ``r`` or ``dr``: no other kernel (the memory plan's readers),
no Python line of the plan and not the step's result (their variables appear nowhere else).
``plan.fused`` lists the fused kernels; ``NANOTORCH_COMPILE_FUSE=0`` turns fusion off for
new plans.
"""

from __future__ import annotations

import os
import re

from nanotorch.compiler.entries import CKernel
from nanotorch.compiler.memory import Region

_FLOAT = 4  # bytes: the fused kernels are float32's
ENV = "NANOTORCH_COMPILE_FUSE"


def enabled() -> bool:
    """Whether new plans fuse (the environment variable ``NANOTORCH_COMPILE_FUSE`` is not
    ``0``); read when a plan is built."""
    return os.environ.get(ENV, "1").strip() != "0"


def fuse(tr, items: list[tuple], result: str) -> tuple[list[tuple], list[str]]:
    """``items`` (``plan._items``) with each fusable ReLU -> max pooling pair fused, and the
    names of the fused kernels (forward, backward) in plan order."""
    if tr.c is None:
        return items, []
    kernels = [(i, item[1]) for i, item in enumerate(items) if item[0] == "c"]
    follows = {id(items[i][1]): items[i + 1][1] for i in range(len(items) - 1)
               if items[i][0] == "c" and items[i + 1][0] == "c"}
    drop: set[int] = set()
    replace: dict[int, CKernel] = {}
    fused: set[int] = set()
    for _, relu in kernels:
        pool = follows.get(id(relu))
        if relu.name != "nt_relu_fwd_f32" or pool is None or pool.name != "nt_max_pool2d_fwd_f32":
            continue
        pair = _backward_pair(tr, kernels, follows, relu, pool)
        if pair is None or not _unread(tr, items, result, relu, pool, *pair):
            continue
        pool_bwd, relu_bwd = pair
        fwd, bwd = CKernel("nt_max_pool2d_relu_fwd_f32"), CKernel("nt_max_pool2d_relu_bwd_f32")
        fwd.args = pool.args[:10] + [relu.args[1]] + pool.args[11:]
        bwd.args = pool_bwd.args[:8] + [pool.args[11], relu_bwd.args[3], pool_bwd.args[9]]
        drop |= {id(relu), id(relu_bwd)}
        replace[id(pool)], replace[id(pool_bwd)] = fwd, bwd
        fused |= {id(fwd), id(bwd)}
    out = [("c", replace.get(id(item[1]), item[1])) if item[0] == "c" else item
           for item in items if not (item[0] == "c" and id(item[1]) in drop)]
    return out, [item[1].name for item in out if item[0] == "c" and id(item[1]) in fused]


def _address(tr, arg: tuple) -> int | None:
    """The address a ``("ptr", cdata)`` argument points at (None for other arguments)."""
    if arg[0] != "ptr":
        return None
    return int(tr.c._ffi.cast("uintptr_t", arg[1])) or None


def _backward_pair(tr, kernels: list, follows: dict, relu: CKernel, pool: CKernel):
    """``(max_pool2d_bwd, relu_bwd)``, adjacent, of this forward pair (the pooling's indices,
    the ReLU's output), or None."""
    r, idx = _address(tr, relu.args[2]), _address(tr, pool.args[12])
    if r is None or idx is None or _address(tr, pool.args[10]) != r:
        return None
    for _, k in kernels:
        nxt = follows.get(id(k))
        if (k.name == "nt_max_pool2d_bwd_f32" and nxt is not None and nxt.name == "nt_relu_bwd_f32"
                and _address(tr, k.args[7]) == idx and _address(tr, nxt.args[2]) == r
                and _address(tr, nxt.args[1]) == _address(tr, k.args[8]) is not None
                and nxt.args[0] == relu.args[0] and k.args[:4] == pool.args[:4]):
            return k, nxt
    return None


def _region(tr, arg: tuple, size: int) -> Region | None:
    """The static region ``arg`` points at, when it is exactly ``size`` floats."""
    start = _address(tr, arg)
    region = None if start is None else tr.mem.find(start, start + size * _FLOAT)
    if region is None or region.kind != "static" or region.start != start:
        return None
    return region if region.end - region.start == size * _FLOAT else None


def _unread(tr, items: list, result: str, relu, pool, pool_bwd, relu_bwd) -> bool:
    """Whether the ReLU's output and the pooling backward's ``dr`` are read by nothing but
    the kernels fused away, and are the plan's own memory (static, one writer)."""
    size = relu.args[0][1] if relu.args[0][0] == "const" else None
    if not isinstance(size, int) or size < 1:
        return False
    owners = {id(k): call for call in tr.entries if hasattr(call, "kernels") for k in call.kernels}
    r, dr = _region(tr, relu.args[2], size), _region(tr, pool_bwd.args[8], size)
    if r is None or dr is None or r.writer is not owners.get(id(relu)) \
            or dr.writer is not owners.get(id(pool_bwd)):
        return False
    if any(c is not owners.get(id(pool)) and c is not owners.get(id(relu_bwd)) for c in r.readers) \
            or any(c is not owners.get(id(relu_bwd)) for c in dr.readers):
        return False
    names = [n for n in (tr.var_of.get(id(r.array)), tr.var_of.get(id(dr.array)),
                         tr._name_of.get(id(r.array)), tr._name_of.get(id(dr.array))) if n]
    if not names:
        return True
    pattern = re.compile(r"\b(" + "|".join(names) + r")\b")
    text = [result] + [line for item in items if item[0] != "c"
                       for line in ([item[1]] if isinstance(item[1], str) else item[1])]
    return not any(pattern.search(t) for t in text)
