"""``nanotorch.compile``: a compiled step gives eager's numbers, step after step; guards
re-trace; what can't be replayed runs eagerly with one warning.

Each parity test runs an eager and a compiled copy of the same model in lockstep (the
global generator's state is shared, so dropout draws the same masks) and compares, after
every call, the loss, the parameters, their gradients, the optimizer state and the buffers:
bitwise, since the same kernels run in the same order.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.random import default_generator


def mlp(bn: bool = False) -> nn.Module:
    layers = [nn.Linear(12, 16)] + ([nn.BatchNorm1d(16)] if bn else []) + [nn.ReLU()]
    layers += [nn.Dropout(0.2)] if bn else []
    return nn.Sequential(*layers, nn.Linear(16, 5))


def cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 3 * 3, 5))


MODELS = {"mlp": (mlp, (12,)), "bn-mlp": (lambda: mlp(bn=True), (12,)), "cnn": (cnn, (1, 6, 6))}
# NOTE: 1,000 steps for the MLPs; the CNN's eager steps are slower, so fewer keep the suite short.
STEPS = {"mlp": 1000, "bn-mlp": 1000, "cnn": 300}


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
    gen = default_generator().bit_generator
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
    lockstep(eager, compiled, batches(MODELS[model][1], STEPS[model]), f"{model}/{opt}/{backend.name}")
    plans = compiled.step.plans
    assert len(plans) == 2 and all(len(p) == 1 for p in plans.values())  # full and short batch


def test_replay_makes_no_tensors_or_graph_nodes(monkeypatch):
    run = Run("mlp", "sgd", True)
    data = list(batches((12,), 3))
    run.step(*data[0])
    made = []
    original = nt.Tensor._make.__func__
    monkeypatch.setattr(nt.Tensor, "_make", classmethod(lambda cls, *a: made.append(1) or original(cls, *a)))
    monkeypatch.setattr(nt.Function, "apply", classmethod(lambda cls, *a, **k: pytest.fail("apply ran")))
    run.step(*data[1])
    # only the parameters' new .grad tensors (the engine's own rule, replayed as is)
    assert len(made) == len(list(run.model.parameters()))


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
    lin.bias.data = np.zeros(2, dtype=np.float32)  # new memory, same shape: read live
    assert np.array_equal(f(x).data, lin(x).data)
    [plans] = f.plans.values()
    assert len(plans) == 2


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
