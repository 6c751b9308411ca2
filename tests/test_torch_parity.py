"""Every op in ``test_ops.OPS`` against PyTorch: the same line of code, the same inputs, the
same output and the same gradients (float64 to 1e-10; float32 to float32 rounding)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_matches, make_inputs, outputs
from test_ops import OPS

import nanotorch as nt

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("spec, shapes", OPS)
def test_matches_torch(spec, shapes, dtype, tol):
    arrays = make_inputs(shapes, spec.domain)
    ours = [nt.tensor(a, dtype=getattr(nt, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    out_nt, out_torch = outputs(spec.fn(nt, *ours)), outputs(spec.fn(torch, *theirs))
    assert_matches(out_nt, out_torch, rtol=tol, atol=tol)

    rng = np.random.default_rng(1)
    loss_nt = loss_torch = 0
    for o, t in zip(out_nt, out_torch):
        if o.dtype.kind == "f":
            w = rng.standard_normal(o.shape)
            loss_nt = loss_nt + (o * nt.tensor(w, dtype=o.dtype)).sum()
            loss_torch = loss_torch + (t * torch.tensor(w, dtype=t.dtype)).sum()
    loss_nt.backward()
    loss_torch.backward()
    for x, t in zip(ours, theirs):
        assert x.grad.dtype == x.dtype
        assert_matches(x.grad, t.grad, rtol=tol, atol=tol)
