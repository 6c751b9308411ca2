"""Kernel fusion in ``nanotorch.compile`` plans (nanotorch/compiler/fusion.py): a ReLU and
the max pooling after it become one C kernel each way, with eager's bits; not when anything
else reads the ReLU's output or the pooling's gradient."""

from __future__ import annotations

import numpy as np
import pytest
from test_compile import Run, batches, lockstep
from test_plan_walker import plans

import nanotorch as nt
from nanotorch import nn
from nanotorch.compiler import fusion

needs_c = pytest.mark.skipif("c" not in nt.backend.available(), reason="the C kernels are not built")
FUSED = ["nt_max_pool2d_relu_fwd_f32", "nt_max_pool2d_relu_bwd_f32"]


@needs_c
@pytest.mark.parametrize("fuse", [True, False])
def test_relu_then_max_pool_fuses_with_eagers_bits(monkeypatch, fuse):
    """The test CNN (Conv-BN-ReLU-MaxPool, then Conv-ReLU without a pool): its first ReLU
    and pool fuse, forward and backward; ``NANOTORCH_COMPILE_FUSE=0`` keeps the four kernels.
    Both give eager's numbers, step after step (full and short batches)."""
    monkeypatch.setenv(fusion.ENV, "1" if fuse else "0")
    with nt.backend.use("c"):
        eager, compiled = Run("cnn", "adam", False), Run("cnn", "adam", True)
        lockstep(eager, compiled, batches((1, 12, 12), 60, short_every=20), f"fuse={fuse}")
    for plan in plans(compiled):
        assert plan.fused == (FUSED if fuse else []), plan
        loop = plan.forms["loop"].source.split("def kernels")[0]
        # the second ReLU (no pool after it) stays
        assert loop.count("'nt_relu_fwd_f32'") == loop.count("'nt_relu_bwd_f32'") == (1 if fuse else 2)
        assert all((f"'{name}'" in loop) == fuse for name in FUSED)
        assert ("'nt_max_pool2d_fwd_f32'" in loop) != fuse and ("'nt_max_pool2d_bwd_f32'" in loop) != fuse
        walked = {name for _, names in plan.walker.segments for name in names}
        assert all((name in walked) == fuse for name in FUSED)


class ReluSeen(nn.Module):
    """Conv -> ReLU -> MaxPool -> Linear, where the ReLU's output is also read elsewhere:
    ``use`` "sum" (its mean joins the loss: another op reads it, and its gradient adds to
    the pooling's), "detached" (the same without a gradient: the ReLU's backward still
    follows the pooling's) or "return" (the step returns it)."""

    def __init__(self, use: str) -> None:
        super().__init__()
        self.use = use
        self.conv, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.Linear(4 * 3 * 3, 3)

    def forward(self, x):
        r = self.conv(x).relu()
        out = self.fc(nn.functional.max_pool2d(r, 2).flatten(1))
        return out, r


@needs_c
@pytest.mark.parametrize("use", ["sum", "detached", "return"])
def test_no_fusion_when_the_relu_output_is_read_elsewhere(use):
    """The ReLU's output read by another op, or returned by the step: the plan keeps the
    ReLU's kernels (and gives eager's numbers)."""
    def make():
        nt.manual_seed(0)
        model = ReluSeen(use)
        opt = nt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            out, r = model(x)
            loss = nn.functional.cross_entropy(out, y)
            if use == "sum":
                loss = loss + r.mean()
            elif use == "detached":
                loss = loss + r.detach().mean()
            loss.backward()
            opt.step()
            return (loss, r) if use == "return" else loss
        return model, step

    with nt.backend.use("c"):
        (me, eager), (mc, compiled) = make(), make()
        compiled = nt.compile(compiled)
        rng = np.random.default_rng(0)
        for _ in range(5):
            x = nt.tensor(rng.standard_normal((4, 1, 6, 6)).astype(np.float32))
            y = nt.tensor(rng.integers(0, 3, 4))
            want, got = eager(x, y), compiled(x, y)
            pairs = zip(want, got) if use == "return" else [(want, got)]
            assert all(np.array_equal(a.data, b.data) for a, b in pairs)
            assert all(np.array_equal(p.data, q.data) for p, q in zip(me.parameters(), mc.parameters()))
    [[plan]] = compiled.plans.values()
    assert plan.fused == [] and "nt_relu_fwd_f32" in plan.forms["loop"].source
