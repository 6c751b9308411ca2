"""The C plan walker of ``nanotorch.compile`` (kernels/plan.c, nanotorch/compiler/walker.py):
runs of C kernels in one call give the Python loop's numbers and errors; the switch that
forces the loop; the walker's own checks of its arrays, in Python and in C."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from test_compile import MODELS, Run, batches, lockstep

import nanotorch as nt
from nanotorch import nn
from nanotorch.compiler import walker

ROOT = Path(__file__).resolve().parent.parent
needs_c = pytest.mark.skipif("c" not in nt.backend.available(), reason="the C kernels are not built")


def plans(run: Run) -> list:
    return [plan for plans in run.step.plans.values() for plan in plans]


@needs_c
@pytest.mark.parametrize("form", ["walker", "loop"])
@pytest.mark.parametrize("model", list(MODELS))
def test_both_forms_equal_eager_and_the_switch_picks_one(monkeypatch, model, form):
    """``NANOTORCH_COMPILE_WALKER=0`` forces the loop; both give eager's bits (the 1,000-step
    parity tests of test_compile.py run the default, the walker)."""
    monkeypatch.setenv(walker.ENV, "1" if form == "walker" else "0")
    with nt.backend.use("c"):
        eager, compiled = Run(model, "adam", False), Run(model, "adam", True)
        lockstep(eager, compiled, batches(MODELS[model][1], 60, short_every=20), f"{model}/{form}")
    for plan in plans(compiled):
        assert plan.form == form and set(plan.forms) == {"loop", "walker"}, plan
        assert ("WALK(" in plan.source) == (form == "walker")
        assert f"replays the {form}" in repr(plan)


@needs_c
def test_the_walker_runs_the_replay(monkeypatch):
    """Every replay of a walker plan calls ``nt_plan_run`` once per segment and no kernel
    of a segment on its own."""
    with nt.backend.use("c"):
        run = Run("cnn", "sgd", True)
        data = list(batches(MODELS["cnn"][1], 4, short_every=100))
        run.step(*data[0])
        [plan] = plans(run)
        calls = []
        run_plan = plan.replay.__globals__["WALK"]
        monkeypatch.setitem(plan.replay.__globals__, "WALK", lambda *a: calls.append(a[2]) or run_plan(*a))
        for x, y in data[1:]:
            run.step(x, y)
    segments = plan.walker.segments
    assert len(segments) >= 2 and all(len(names) >= 2 for _, names in segments)
    assert calls == [len(names) for _, names in segments] * 3
    walked = {name for _, names in segments for name in names}
    assert {"nt_conv2d_fwd_f32", "nt_max_pool2d_relu_bwd_f32"} <= walked
    assert "nt_conv2d_fwd_f32" in plan.forms["loop"].source and "nt_conv2d_fwd_f32" not in plan.source


@needs_c
@pytest.mark.parametrize("form", ["walker", "loop"])
def test_a_bad_label_raises_the_same_error_in_both_forms(monkeypatch, form):
    """The cross-entropy kernel's status, from inside a segment, becomes eager's IndexError,
    and no parameter or optimizer state changes."""
    monkeypatch.setenv(walker.ENV, "1" if form == "walker" else "0")
    with nt.backend.use("c"):
        run = Run("mlp", "adam", True)
        for x, y in batches((12,), 3):
            run.step(x, y)
        [plan] = plans(run)
        assert plan.form == form
        if form == "walker":
            assert any("nt_cross_entropy_fwd_f32" in names for _, names in plan.walker.segments)
        def state():  # parameters and Adam's state (zero_grad ran before the failure, as in eager)
            return [np.copy(v.data) for v in run.model.state_dict().values()] + [
                np.copy(v) for s in run.opt.state.values() for v in s.values()]

        before = state()
        with pytest.raises(IndexError, match="out of bounds.*nt_cross_entropy_fwd_f32"):
            run.step(x, nt.tensor(np.r_[y.data[:-1], -3]))
        assert all(np.array_equal(a, b) for a, b in zip(before, state(), strict=True))
        run.step(x, y)  # and the plan still works
        assert not all(np.array_equal(a, b) for a, b in zip(before, state(), strict=True))


@needs_c
def test_nt_plan_run_checks_every_index_and_range():
    from nanotorch.backend import c_backend

    ffi, lib = c_backend._ffi, c_backend._lib
    table = walker.thunks(c_backend)
    relu, types = table.index["nt_relu_fwd_f32"]
    assert types == ["int64_t", "*", "*", "int"]
    x = np.array([-1.0, 2.0, -3.0, 4.0], dtype=np.float32)
    y = np.full(4, 9.0, dtype=np.float32)
    keep = [ffi.from_buffer("float[]", a) for a in (x, y)]
    args = np.array([4, 0, int(ffi.cast("intptr_t", keep[1])), 1], dtype=np.int64)  # x: an input
    patches = np.array([1, 0], dtype=np.int64)
    inputs = ffi.new("void *[1]", [keep[0]])
    plan = ffi.new("nt_plan *")
    plan.thunks, plan.n_thunks, plan.n_args = table.table, table.n, 4
    plan.args = ffi.cast("nt_plan_arg *", ffi.from_buffer(args))
    plan.inputs, plan.n_inputs, plan.n_patches = inputs, 1, 1
    plan.patches = ffi.cast("int64_t *", ffi.from_buffer(patches))
    failed = ffi.new("int64_t *")

    def run(steps):
        s = np.array(steps, dtype=np.int64)
        return lib.nt_plan_run(plan, ffi.cast("int64_t *", ffi.from_buffer(s)), len(s) // 2, failed)

    for bad in ([table.n, 0], [-1, 0], [relu, 1], [relu, -1]):  # thunk or range outside
        assert run([relu, 0, *bad]) == lib.NT_EPLAN and failed[0] == 1
    y[:] = 9
    assert run([table.n, 0, relu, 0]) == lib.NT_EPLAN and failed[0] == 0
    assert np.all(y == 9)  # nothing ran after (or at) the refused step
    plan.n_args = 3
    assert run([relu, 0]) == lib.NT_EPLAN
    plan.n_args = 4
    for slot, index in ((4, 0), (-1, 0), (1, 1), (1, -1)):  # a patch outside args or inputs
        patches[:] = slot, index
        assert run([relu, 0]) == lib.NT_EPLAN and failed[0] == -1 and np.all(y == 9)
    patches[:] = 1, 0
    assert run([relu, 0, relu, 0]) == lib.NT_OK and failed[0] == 2
    assert np.array_equal(y, np.maximum(x, 0)) and args[1] == int(ffi.cast("intptr_t", keep[0]))
    args[0] = -1  # the kernel's own status stops the walk at its step
    assert run([relu, 0]) == lib.NT_EINVAL and failed[0] == 0


@needs_c
def test_a_malformed_segment_is_refused_when_the_plan_is_built():
    from nanotorch.backend import c_backend
    from nanotorch.compiler.entries import CKernel

    w = walker.Walker(c_backend)
    k = CKernel("nt_relu_fwd_f32")
    x = np.zeros(4, dtype=np.float32)
    k.args = [("const", 4), ("ptr", c_backend._arg(x)), ("ptr", c_backend._arg(x)), ("const", 1)]
    assert w.slots_of(k) is not None
    w.add([(k, w.slots_of(k))])
    w.segments[0][0][1] = 1  # its arguments would run past the array
    with pytest.raises(RuntimeError, match="malformed"):
        w.finish()
    bad = CKernel("nt_relu_fwd_f32")
    bad.args = [("const", 4.5), *k.args[1:]]  # a float for an int64_t: not walked
    assert w.slots_of(bad) is None
    bad.args = [*k.args[:3], ("const", 1 << 40)]  # does not fit an int
    assert w.slots_of(bad) is None
    assert w.slots_of(CKernel("nt_no_such_kernel_f32")) is None


def test_the_thunks_cover_every_replayable_kernel():
    """build_kernels.py writes a thunk for each ``int nt_..._f32`` of the header, with each
    argument read by its C type."""
    from nanotorch.compiler.entries import WRITES

    spec = importlib.util.spec_from_file_location("build_kernels", ROOT / "build_kernels.py")
    build_kernels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_kernels)
    cdef = build_kernels.cdef_text()
    names = dict(build_kernels.plan_thunks(cdef))
    assert set(WRITES) <= set(names)
    assert names["nt_batchnorm_fwd_f32"][8:11] == ["int", "double", "double"]
    source = build_kernels.plan_thunks_source(
        "int nt_x_f32(int64_t n, const float *a, double m, int t);\nint nt_skip_f32(float v);")
    assert "return nt_x_f32(a[0].i, (const float *)a[1].p, a[2].d, (int)a[3].i);" in source
    assert "nt_skip_f32" not in source and "*count = 1;" in source


@needs_c
def test_an_in_place_change_stays_before_the_kernel_that_updates_what_it_reads():
    """``acc += bn.running_mean`` between two C kernels reads the running mean before
    BatchNorm's kernel updates it: the walker must not move it past that kernel (the
    constant ``num_batches_tracked += 1`` may move)."""
    def make(compiled):
        nt.manual_seed(0)
        bn, acc = nn.BatchNorm1d(6), nt.zeros(6)

        def step(x):
            h = x.relu()
            with nt.no_grad():
                acc.add_(bn.running_mean)
            return bn(h).sum()
        return (nt.compile(step) if compiled else step), acc

    with nt.backend.use("c"):
        (f, a), (g, b) = make(False), make(True)
        for x, _ in batches((6,), 5, short_every=100):
            assert np.array_equal(f(x).data, g(x).data)
            assert np.array_equal(a.data, b.data)
        [plan] = plans(type("R", (), {"step": g})())
    segments = [] if plan.walker is None else plan.walker.segments
    assert not any({"nt_relu_fwd_f32", "nt_batchnorm_fwd_f32"} <= set(n) for _, n in segments), plan
