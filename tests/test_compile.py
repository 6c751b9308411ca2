"""``nanotorch.compile``: a compiled step gives eager's numbers, step after step; guards
re-trace; what can't be replayed runs eagerly with one warning.

Each parity test runs an eager and a compiled copy of the same model in lockstep (the
global generator's state is shared, so dropout draws the same masks) and compares, after
every call, the loss, the parameters, their gradients, the optimizer state and the buffers:
bitwise, since the same kernels run in the same order (a kernel-level entry calls the very
kernel eager runs, on the plan's buffers).
"""

from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import train_step

import nanotorch as nt
from nanotorch import nn
from nanotorch.backend.numpy_backend import FlatState
from nanotorch.compiler import walker
from nanotorch.random import default_generator


def mlp(bn: bool = False) -> nn.Module:
    layers = [nn.Linear(12, 16)] + ([nn.BatchNorm1d(16)] if bn else []) + [nn.ReLU()]
    layers += [nn.Dropout(0.2)] if bn else []
    return nn.Sequential(*layers, nn.Linear(16, 5))


def cnn() -> nn.Module:
    """Conv (im2col on C), BN, ReLU, pool, then a conv with 8 channels in and out (Winograd)."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 5))


MODELS = {"mlp": (mlp, (12,)), "bn-mlp": (lambda: mlp(bn=True), (12,)), "cnn": (cnn, (1, 12, 12))}
STEPS = 1000
# The ops a plan on the C backend replays op-level (every other one is kernel-level):
# dropout draws its mask in NumPy from the global generator, as eager does.
OP_LEVEL_ON_C = {"mlp": [], "bn-mlp": ["DropoutFn.forward", "DropoutFn.backward"], "cnn": []}


def optimizer(name: str, model: nn.Module):
    if name == "sgd":
        return nt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    return nt.optim.Adam(model.parameters(), lr=1e-2)


class Run:
    """A model, its optimizer, a scheduler stepped inside the step, and the step function."""

    def __init__(self, model: str, opt: str, compiled: bool) -> None:
        nt.manual_seed(0)
        self.model = MODELS[model][0]()
        self.opt = optimizer(opt, self.model)
        self.sched = nt.optim.lr_scheduler.StepLR(self.opt, step_size=7, gamma=0.9)
        criterion = nn.CrossEntropyLoss()

        def step(x, y):
            self.opt.zero_grad()
            loss = criterion(self.model(x), y)
            loss.backward()
            self.opt.step()
            self.sched.step()
            return loss

        self.step = nt.compile(step) if compiled else step

    def state(self) -> dict:
        out = {k: v.data for k, v in self.model.state_dict().items()}
        out.update({f"{k}.grad": p.grad.data for k, p in self.model.named_parameters()})
        for n, s in enumerate(self.opt.state.values()):
            out.update({f"opt{n}.{k}": v for k, v in s.items()})
        out["lr"] = self.opt.param_groups[0]["lr"]
        return out


def assert_same(a: dict, b: dict, where: str) -> None:
    assert a.keys() == b.keys(), where
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{where}: {k} differs"


def lockstep(eager: Run, compiled: Run, batches, where: str) -> None:
    """Run both on every batch with the same random draws; compare after every call."""
    gen = default_generator.numpy.bit_generator
    for i, (x, y) in enumerate(batches):
        saved = gen.state
        want = eager.step(x, y)
        gen.state = saved
        got = compiled.step(x, y)
        assert np.array_equal(want.data, got.data), f"{where}, step {i}: loss differs"
        assert_same(eager.state(), compiled.state(), f"{where}, step {i}")


def batches(shape: tuple, steps: int, batch: int = 8, short_every: int = 50):
    """``steps`` random batches; every ``short_every``-th is shorter (an epoch's last batch)."""
    rng = np.random.default_rng(1)
    for i in range(steps):
        n = 5 if i % short_every == short_every - 1 else batch
        yield (nt.tensor(rng.standard_normal((n, *shape)).astype(np.float32)),
               nt.tensor(rng.integers(0, 5, n)))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("model", list(MODELS))
def test_compiled_equals_eager_step_after_step(backend, model, opt):
    eager, compiled = Run(model, opt, False), Run(model, opt, True)
    lockstep(eager, compiled, batches(MODELS[model][1], STEPS), f"{model}/{opt}/{backend.name}")
    plans = compiled.step.plans
    assert len(plans) == 2 and all(len(p) == 1 for p in plans.values())  # full and short batch
    if backend.name == "c":
        for [plan] in plans.values():
            assert plan.op_level == OP_LEVEL_ON_C[model], plan
            assert "kernel-level" in plan.source.split(f"{type(compiled.opt).__name__}.step()")[1]
            # runs of C kernels replay in one C call (test_plan_walker.py: the loop form too)
            assert plan.walker is not None and plan.form == ("walker" if walker.enabled() else "loop")
    elif model == "mlp":  # the NumPy step's passes over state run once for all params (the
        # states above are bitwise eager's, whose loop goes param by param)
        for [plan] in plans.values():
            [fast] = [v for v in plan.replay.__globals__.values() if type(v).__name__ == "FastStep"]
            assert all(isinstance(fast.run.__globals__[f"FL{i}"], FlatState)
                       for i in range(len(fast.groups))), plan


def plan_of(step) -> object:
    [plan] = next(iter(step.plans.values()))
    return plan


def test_replay_makes_no_graph_nodes_and_calls_no_op(monkeypatch, backend):
    run = Run("mlp", "sgd", True)
    data = list(batches((12,), 3))
    run.step(*data[0])
    plan = plan_of(run.step)
    monkeypatch.setattr(nt.Function, "apply", classmethod(lambda cls, *a, **k: pytest.fail("apply ran")))
    loss = run.step(*data[1])
    assert loss.grad_fn is None and all(p.grad.grad_fn is None for p in run.model.parameters())
    # kernel-level entries: the kernels alone, on both backends
    assert plan.n_ops == 8 and plan.n_lowered == 8
    assert "Fn.forward" not in plan.source and "Fn.backward" not in plan.source


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("reduction", "smoothing", "ignore"),
                         [("mean", 0.0, -100), ("sum", 0.1, -100), ("none", 0.0, 2), ("mean", 0.2, 0)])
def test_cross_entropy_options_replay_kernel_level_with_eagers_bits(backend, dtype, reduction, smoothing,
                                                                    ignore):
    """The loss replays kernel-level whatever its options (on the C backend float64 runs the
    NumPy kernel): ignored rows, an ignore_index that is a class, label smoothing, each
    reduction; the losses and parameters stay eager's, bit for bit."""
    def make(compiled):
        nt.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4)).to(getattr(nt, dtype))
        opt = nt.optim.Adam(model.parameters(), lr=1e-2)
        criterion = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing, ignore_index=ignore)

        def step(x, y):
            opt.zero_grad()
            loss = criterion(model(x), y)
            (loss.sum() if reduction == "none" else loss).backward()
            opt.step()
            return loss
        return (nt.compile(step) if compiled else step), model

    (f, mf), (g, mg) = make(False), make(True)
    rng = np.random.default_rng(1)
    for i in range(12):
        x = nt.tensor(rng.standard_normal((7, 6)), dtype=getattr(nt, dtype))
        labels = rng.integers(0, 4, 7)
        labels[i % 7] = ignore
        y = nt.tensor(labels)
        assert np.array_equal(f(x, y).data, g(x, y).data), i
        assert all(np.array_equal(p.data, q.data) for p, q in zip(mf.parameters(), mg.parameters())), i
    assert not [k for k in plan_of(g).op_level if k.startswith("CrossEntropyFn")], plan_of(g).op_level


def test_relu_backward_replays_eagers_bits_on_special_values(backend):
    """The kernel-level ReLU backward passes ``dy`` where ``y > 0`` and +0.0 elsewhere, as
    eager's ``where``: NaN, infinities and -0.0 on either side included."""
    special = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1.5, -2.0, 3e-39], np.float32)
    x = nt.tensor(np.tile(special, (8, 1)), requires_grad=True)
    g = nt.tensor(np.tile(special, (8, 1)).T.copy())

    def f(g):
        x.grad = None
        (nn.functional.relu(x) * g).sum().backward()
        return x.grad

    compiled = nt.compile(f)
    with np.errstate(invalid="ignore"):  # inf * 0 in the product
        want = f(g).data.copy()
        for _ in range(3):
            got = compiled(g).data
            assert np.array_equal(got.view(np.int32), want.view(np.int32))
    assert backend.name == "c" or "greater(" in plan_of(compiled).source  # NumPy's ReLU entry


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_kernel_level_replay_reuses_its_buffers(backend, opt):
    """The static memory plan: a replay writes the arrays of the traced run again (the
    gradients stay the same arrays, step after step) and allocates no output arrays."""
    nt.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    o = nt.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if opt == "sgd" else \
        nt.optim.Adam(model.parameters())
    step = nt.compile(train_step(model, o))
    x, y = nt.randn(64, 256), nt.randint(0, 10, (64,))
    step(x, y)
    grads = [p.grad.data for p in model.parameters()]
    step(x, y)
    assert all(p.grad.data is g for p, g in zip(model.parameters(), grads))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(5):
            step(x, y)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # an eager step allocates > 100 KB here (activations 64x128, gradients 128x256 ...);
    # a replay only its few Tensor objects and the returned loss (and on NumPy, the buffer
    # of getbufsize() float32 a ufunc takes to broadcast the bias into [64,128])
    limit = 8_000 + (0 if backend.name == "c" else 4 * np.getbufsize())
    assert peak - before < limit, (peak - before)
    assert all(p.grad.data is g for p, g in zip(model.parameters(), grads))


def test_gradients_accumulated_over_steps_keep_their_values(backend):
    """Without zero_grad, ``.grad`` holds the plan's buffer when the next replay writes it:
    the replay gives the gradient its own copy first (eager: ``.grad += g``)."""
    def make(compiled):
        nt.manual_seed(1)
        model = mlp()
        opt = nt.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y, update):
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            if update:
                opt.step()
                opt.zero_grad()
            return loss
        return (nt.compile(step) if compiled else step), model

    (f, mf), (g, mg) = make(False), make(True)
    for i, (x, y) in enumerate(batches((12,), 40)):
        update = i % 4 == 3  # accumulate over 4 batches, then one update
        assert np.array_equal(f(x, y, update).data, g(x, y, update).data), i
        for p, q in zip(mf.parameters(), mg.parameters()):
            assert np.array_equal(p.data, q.data), i
            assert (p.grad is None) == (q.grad is None) and (p.grad is None
                                                             or np.array_equal(p.grad.data, q.grad.data)), i


def test_a_step_inputs_gradient_is_its_own(backend):
    """A step argument that requires grad (an input gradient, as for a saliency map) gets
    eager's ``.grad``, and each call's input keeps its own: neither the traced call's nor a
    replay's ``.grad`` is a plan buffer the next call overwrites."""
    def make():
        nt.manual_seed(2)
        model = mlp()
        return train_step(model, optimizer("sgd", model))

    eager, compiled = make(), nt.compile(make())
    inputs, seen = [], []
    for x, y in batches((12,), 6, short_every=1000):
        xe, xc = (nt.tensor(x.data, requires_grad=True) for _ in range(2))
        assert np.array_equal(eager(xe, y).data, compiled(xc, y).data)
        assert np.array_equal(xe.grad.data, xc.grad.data)
        inputs.append(xc)
        seen.append(xc.grad.data.copy())
    for x, want in zip(inputs, seen):  # later calls left every earlier input's .grad alone
        assert np.array_equal(x.grad.data, want)


class DoubledReLU(nt.Function):
    """Writes the kernel's output in place after the kernel: a write the tracer can't see."""

    uses_backend = True

    @staticmethod
    def forward(ctx, x):
        y = ctx.backend.relu_forward(x)
        y *= 2
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return ctx.backend.relu_backward(grad, y) * 2


def test_a_write_the_tracer_did_not_see_keeps_the_plan_op_level(backend):
    lin = nn.Linear(6, 4)
    f = nt.compile(lambda x: DoubledReLU.apply(lin(x)))
    for _ in range(3):
        x = nt.randn(5, 6)
        assert np.array_equal(f(x).data, DoubledReLU.apply(lin(x)).data)
    assert plan_of(f).n_lowered == 0


def test_the_optimizer_step_falls_back_to_eager_when_its_state_moved(backend):
    """A kernel-level ``optimizer.step()`` checks its parameters, gradients and options
    before each call, and runs the optimizer's own ``step()`` when one changed."""
    def make(compiled):
        nt.manual_seed(2)
        model, spare = mlp(), nn.Linear(2, 2)
        opt = nt.optim.Adam([*model.parameters(), *spare.parameters()], lr=0.01)

        def step(x, y):
            opt.zero_grad(set_to_none=False)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return (nt.compile(step) if compiled else step), model, spare, opt

    (f, mf, sf, of), (g, mg, sg, og) = make(False), make(True)
    for i, (x, y) in enumerate(batches((12,), 30)):
        if i == 10:  # a parameter the step doesn't reach gets a gradient: updated too
            for s in (sf, sg):
                s.weight.grad = nt.ones(2, 2)
        if i == 20:  # a NumPy float lr: eager's C check refuses it, NumPy updates
            for o in (of, og):
                o.param_groups[0]["lr"] = np.float64(0.02)
        assert np.array_equal(f(x, y).data, g(x, y).data), i
        for p, q in zip([*mf.parameters(), *sf.parameters()], [*mg.parameters(), *sg.parameters()]):
            assert np.array_equal(p.data, q.data), i


def _set(key, value):
    return lambda opt, model: opt.param_groups[0].__setitem__(key, value)


def _replace_state(opt, model):
    s = opt.state[next(model.parameters())]
    for k, v in s.items():
        if isinstance(v, np.ndarray):
            s[k] = v * 0.5


def _set_step(value):
    return lambda opt, model: opt.state[next(model.parameters())].__setitem__("step", value)


def _reload(opt, model):
    opt.load_state_dict(opt.state_dict())


def _new_group(opt, model):
    extra = nn.Linear(2, 2)
    extra.weight.grad = nt.ones(2, 2)
    opt.add_param_group({"params": [extra.weight]})


def _new_param_in_group(opt, model):
    extra = nn.Linear(2, 2)
    extra.weight.grad = nt.ones(2, 2)
    opt.param_groups[0]["params"].append(extra.weight)


def fast_step(step):
    """The kernel-level optimizer step of ``step``'s plan."""
    [fast] = [v for v in plan_of(step).replay.__globals__.values() if type(v).__name__ == "FastStep"]
    return fast


# change -> (the optimizers it applies to, whether the kernel-level step still runs after it)
CHANGES = {
    "lr": (_set("lr", 0.003), "sgd adam", True),
    "int lr": (_set("lr", 1), "sgd adam", True),
    "numpy lr": (_set("lr", np.float32(0.02)), "sgd adam", False),
    "weight_decay": (_set("weight_decay", 0.1), "sgd adam", True),
    "maximize": (_set("maximize", True), "sgd adam", True),
    "betas": (_set("betas", (0.8, 0.99)), "adam", True),
    "betas as list": (_set("betas", [0.8, 0.99]), "adam", True),
    "eps": (_set("eps", 1e-3), "adam", True),
    "amsgrad": (_set("amsgrad", True), "adam", False),
    "decoupled": (_set("decoupled_weight_decay", True), "adam", True),
    "momentum": (_set("momentum", 0.5), "sgd", True),
    "momentum off": (_set("momentum", 0.0), "sgd", False),
    "dampening": (_set("dampening", 0.3), "sgd", True),
    "nesterov": (_set("nesterov", True), "sgd", True),
    "state array replaced": (_replace_state, "sgd adam", False),
    "step count set": (_set_step(100), "adam", True),
    "step count set to a float": (_set_step(100.0), "adam", False),
    "step count set below zero": (_set_step(-3), "adam", False),
    "load_state_dict": (_reload, "sgd adam", False),
    "new param group": (_new_group, "sgd adam", False),
    "param appended to a group": (_new_param_in_group, "sgd adam", False),
}


@pytest.mark.parametrize(("opt", "change"), [(opt, change) for change, (_, applies, _) in CHANGES.items()
                                             for opt in applies.split()])
def test_the_optimizer_step_reads_its_options_live_and_checks_its_state(backend, opt, change):
    """Between replays the user changes an option, a state array, a step count or the groups:
    a kernel-level ``optimizer.step()`` reads the options it passes at every call, and runs
    the optimizer's own ``step()`` when anything it bound moved; eager's numbers either way."""
    mutate, _, fast_after = CHANGES[change]

    def make(compiled):
        nt.manual_seed(4)
        model = mlp()
        o = (nt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9) if opt == "sgd"
             else nt.optim.Adam(model.parameters(), lr=0.01))
        step = train_step(model, o)
        return (nt.compile(step) if compiled else step), model, o

    (f, mf, of), (g, mg, og) = make(False), make(True)
    for i, (x, y) in enumerate(batches((12,), 12, short_every=100)):
        if i == 5:
            for o, m in ((of, mf), (og, mg)):
                nt.manual_seed(5)
                mutate(o, m)
        if change == "step count set below zero" and i == 5:  # eager refuses it: so does the replay
            assert not fast_step(g).ready()
            for run in (f, g):
                with pytest.raises(ValueError, match="step count >= 1"):
                    run(x, y)
            return
        assert np.array_equal(f(x, y).data, g(x, y).data), i
        for p, q in zip(mf.parameters(), mg.parameters()):
            assert np.array_equal(p.data, q.data), (i, change)
        for sp, sq in zip(of.state.values(), og.state.values()):
            assert sp.keys() == sq.keys() and all(np.array_equal(sp[k], sq[k]) for k in sp), (i, change)
        if i in (4, 5):
            assert fast_step(g).ready() is (i == 4 or fast_after), (i, change)
    assert [p.data.tolist() for g_ in of.param_groups for p in g_["params"]] == \
        [p.data.tolist() for g_ in og.param_groups for p in g_["params"]]


def test_gradients_meeting_at_a_node_and_accumulation(backend):
    """A tensor used twice (the engine sums its gradients) and ``zero_grad(set_to_none=False)``."""
    def make(compiled):
        nt.manual_seed(3)
        a, b, c = nn.Linear(6, 6), nn.Linear(6, 3), nn.Linear(6, 3)
        opt = nt.optim.SGD([*a.parameters(), *b.parameters(), *c.parameters()], lr=0.1)

        def step(x, y):
            opt.zero_grad(set_to_none=False)
            h = a(x).relu()
            loss = ((b(h) + c(h) * 2 - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return (nt.compile(step) if compiled else step), [*a.parameters(), *b.parameters(), *c.parameters()]

    (f, pf), (g, pg) = make(False), make(True)
    rng = np.random.default_rng(0)
    for i in range(20):
        x, y = (nt.tensor(rng.standard_normal((4, n)).astype(np.float32)) for n in (6, 3))
        assert np.array_equal(f(x, y).data, g(x, y).data), i
        for p, q in zip(pf, pg):
            assert np.array_equal(p.data, q.data) and np.array_equal(p.grad.data, q.grad.data)


def test_inference_under_no_grad(backend):
    model = mlp(bn=True).eval()
    predict = nt.compile(lambda x: model(x))
    x = nt.randn(4, 12)
    with nt.no_grad():
        want = model(x)
        predict(x)
        got = predict(x)
    assert np.array_equal(want.data, got.data) and not got.requires_grad


# --------------------------------------------------------------------------- guards
def test_train_eval_and_module_attributes_retrace():
    eager, compiled = Run("bn-mlp", "sgd", False), Run("bn-mlp", "sgd", True)
    data = list(batches((12,), 12, short_every=100))
    lockstep(eager, compiled, data[:3], "train")
    for run in (eager, compiled):
        run.model.eval()
    lockstep(eager, compiled, data[3:6], "eval")
    for run in (eager, compiled):
        run.model.train()
        run.model[1].momentum = 0.5  # BatchNorm's momentum is a Python float: guarded
    lockstep(eager, compiled, data[6:9], "momentum changed")
    for run in (eager, compiled):
        run.opt.param_groups[0]["lr"] = 0.3  # read at replay: no new plan
    lockstep(eager, compiled, data[9:], "lr changed")
    [plans] = compiled.step.plans.values()
    assert len(plans) == 3


def test_a_new_shape_or_backend_traces_a_new_plan():
    run = Run("mlp", "sgd", True)
    for n in (8, 8, 4, 4, 8):
        run.step(nt.randn(n, 12), nt.randint(0, 5, (n,)))
    assert len(run.step.plans) == 2
    if "c" in nt.backend.available():
        for name in ("c", "numpy"):
            with nt.backend.use(name):
                run.step(nt.randn(8, 12), nt.randint(0, 5, (8,)))
        assert len(run.step.plans) == 3


UNTRACEABLE = {
    ".item()": lambda loss, x: loss.item() and loss,
    "branch": lambda loss, x: loss * 2 if loss > 1 else loss,
    "created inside the step": lambda loss, x: loss + nt.tensor(1.0),
    "print": lambda loss, x: print(loss) or loss,
    "returns a float": lambda loss, x: float(loss.data),
}


def untraceable_run(after, compiled: bool) -> tuple[list, list, list]:
    """Losses, final parameters and the warnings of 4 steps that end with ``after(loss)``."""
    nt.manual_seed(0)
    model = mlp()
    opt = nt.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return after(loss, x)

    f = nt.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):
            x = nt.tensor(rng.standard_normal((8, 12)).astype(np.float32))
            r = f(x, nt.tensor(rng.integers(0, 5, 8)))
            out.append(float(getattr(r, "data", r)))
    mine = [str(w.message) for w in caught if "nanotorch.compile" in str(w.message)]
    return out, [p.data.copy() for p in model.parameters()], mine


@pytest.mark.parametrize("cause", list(UNTRACEABLE))
def test_untraceable_steps_run_eagerly_with_one_warning(cause, capsys):
    want, pw, none = untraceable_run(UNTRACEABLE[cause], False)
    got, pg, warned = untraceable_run(UNTRACEABLE[cause], True)
    assert not none and len(warned) == 1, warned
    assert "runs eagerly" in warned[0] and cause.split()[0] in warned[0]
    assert want == got
    assert all(np.array_equal(a, b) for a, b in zip(pw, pg))


def test_parameter_data_is_read_live_and_a_new_parameter_retraces():
    lin = nn.Linear(3, 2)
    f = nt.compile(lambda x: lin(x))
    x = nt.randn(4, 3)
    f(x)
    with nt.no_grad():
        lin.weight.fill_(0.5)  # changed in place: the plan reads .data at replay
    assert np.array_equal(f(x).data, lin(x).data)
    lin.weight = nn.Parameter(nt.ones(2, 3))  # another tensor: the guard sees it, a new plan
    assert np.array_equal(f(x).data, lin(x).data)
    lin.bias.data = np.zeros(2, dtype=np.float32)  # new memory: a kernel-level plan binds
    assert np.array_equal(f(x).data, lin(x).data)  # arrays, so its guard traces anew
    [plans] = f.plans.values()
    assert len(plans) == 3


def test_compile_is_a_decorator_and_checks_its_argument():
    @nt.compile
    def double(x):
        return x * 2

    x = nt.randn(3)
    assert np.array_equal(double(x).data, (x * 2).data)
    assert np.array_equal(double(x).data, (x * 2).data)
    assert double.__name__ == "double"
    with pytest.raises(TypeError, match="expects a function"):
        nt.compile(3)


def test_returned_tensors_keep_their_values(backend):
    """A kernel-level plan writes the same buffers at every call: what a call returned
    (the traced call's loss too) must not change with later calls."""
    run = Run("mlp", "adam", True)
    losses = [run.step(x, y) for x, y in batches((12,), 6)]
    values = [loss.data.copy() for loss in losses]
    for x, y in batches((12,), 3):
        run.step(x, y)
    assert all(np.array_equal(loss.data, v) for loss, v in zip(losses, values))
    assert len({float(v) for v in values}) == 6


def test_a_bad_label_at_replay_raises_and_changes_no_parameter(backend):
    """Labels change every step, so the guards cannot cover them: on a kernel-level plan the
    C kernel's own check finds an out-of-range target; the error names it, as eager's does,
    and the parameters are left as they were."""
    run = Run("mlp", "sgd", True)
    for x, y in batches((12,), 3):
        run.step(x, y)
    before = {k: v.data.copy() for k, v in run.model.state_dict().items()}
    bad = nt.tensor(np.r_[y.data[:-1], 5])  # 5 classes: 5 is one past the last
    with pytest.raises(IndexError, match="out of bounds"):
        run.step(x, bad)
    after = run.model.state_dict()
    assert all(np.array_equal(before[k], after[k].data) for k in before)


def test_replays_leave_the_traced_calls_graph_alone():
    """The traced (eager) call's loss keeps its own graph: replays don't refill its nodes."""
    run = Run("mlp", "sgd", True)
    data = list(batches((12,), 3))
    first = run.step(*data[0])
    run.step(*data[1])
    with pytest.raises(RuntimeError, match="second time"):
        first.backward()


def test_non_finite_constants_are_bound_not_written_out():
    @nt.compile
    def clamp(x):
        return x.clamp(-float("inf"), 1.0) * float("inf")

    x = nt.randn(5)
    for _ in range(2):
        assert np.array_equal(clamp(x).data, (x.clamp(-float("inf"), 1.0) * float("inf")).data)


def test_guards_that_fail_every_call_end_in_eager_mode():
    lin = nn.Linear(3, 2)
    f = nt.compile(lambda x: lin(x))
    x = nt.randn(4, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(12):
            lin.calls = i  # a plain attribute of a module the step calls: guarded
            assert np.array_equal(f(x).data, lin(x).data)
    [plans] = f.plans.values()
    assert plans.startswith("its guards failed")
    assert [str(w.message) for w in caught if "guards failed" in str(w.message)] != []


def test_a_post_accumulate_grad_hook_keeps_the_step_eager():
    """DDP averages gradients in such a hook: a plan that skipped it would be silently wrong."""
    lin = nn.Linear(3, 2)
    calls = []
    lin.weight.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.data.copy()))

    def step(x):
        lin.zero_grad()
        loss = lin(x).sum()
        loss.backward()
        return loss

    f = nt.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            f(nt.randn(4, 3))
    mine = [str(w.message) for w in caught if "nanotorch.compile" in str(w.message)]
    assert len(mine) == 1 and "hook" in mine[0], mine
    assert len(calls) == 3


def test_the_examples_train_the_same_with_compile(backend, monkeypatch):
    """``examples/train_mnist.py --compile`` and ``train_cnn_mnist.py --compile`` run
    ``_common.train(..., compile=True)``: same losses and accuracies as eager, epoch by epoch
    (random 8x8 images stand in for MNIST; the last batch of each epoch is short)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "examples"))
    from _common import train

    rng = np.random.default_rng(0)
    data = (rng.random((200, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, 200),
            rng.random((50, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, 50))

    def run(compiled: bool, conv: bool) -> list[dict]:
        nt.manual_seed(0)
        head = [nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)] if conv else []
        model = nn.Sequential(*head, nn.Flatten(), nn.Linear(4 * 16 if conv else 64, 32), nn.ReLU(),
                              nn.Linear(32, 10))
        opt = nt.optim.Adam(model.parameters(), lr=1e-2) if conv else \
            nt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        history = train(model, opt, data, epochs=2, batch_size=32, log=lambda line: None, compile=compiled)
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    for conv in (False, True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compiled = run(True, conv)
        assert not [w for w in caught if "nanotorch.compile" in str(w.message)]  # replayed
        assert compiled == run(False, conv)


def test_a_scheduler_stepped_with_an_argument_runs_eagerly():
    """``CosineAnnealingWarmRestarts.step(epoch)`` with an epoch the step computes: a replay
    would repeat the first epoch, so the step runs eagerly, with one warning, and the lrs
    are eager's."""
    def run(compiled: bool) -> tuple[list, list]:
        nt.manual_seed(0)
        model = mlp()
        opt = nt.optim.SGD(model.parameters(), lr=0.1)
        sched = nt.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
        calls = [0]

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            calls[0] += 1
            sched.step(calls[0] / 3)  # a fractional epoch, from state outside the arguments
            return loss

        f = nt.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        lrs = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(4):
                x = nt.tensor(rng.standard_normal((8, 12)).astype(np.float32))
                f(x, nt.tensor(rng.integers(0, 5, 8)))
                lrs.append(opt.param_groups[0]["lr"])
        return lrs, [str(w.message) for w in caught if "nanotorch.compile" in str(w.message)]

    want, _ = run(False)
    got, warned = run(True)
    assert got == want and len(set(want)) == 4
    assert len(warned) == 1 and "CosineAnnealingWarmRestarts.step() is called with an argument" in warned[0]
