"""Adamax, NAdam, RAdam, Adadelta, Rprop and ASGD; named parameters and a Tensor ``lr``:
PyTorch's updates by hand, checkpoints and compiled steps, and against torch when it is installed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import train_step

import nanotorch as nt
from nanotorch import nn

NEW = ["Adamax", "NAdam", "RAdam", "Adadelta", "Rprop", "ASGD"]
STATE_KEYS = {"Adamax": {"step", "exp_avg", "exp_inf"},
              "NAdam": {"step", "mu_product", "exp_avg", "exp_avg_sq"},
              "RAdam": {"step", "exp_avg", "exp_avg_sq"}, "Adadelta": {"step", "square_avg", "acc_delta"},
              "Rprop": {"step", "prev", "step_size"}, "ASGD": {"step", "eta", "mu", "ax"}}


def param(*values: float) -> nn.Parameter:
    return nn.Parameter(nt.tensor(list(values)))


def step_with(opt, p: nn.Parameter, *grad: float) -> list[float]:
    p.grad = nt.tensor(list(grad))
    opt.step()
    return p.tolist()


# ------------------------------------------------------------------ by hand
def test_adamax_two_steps_by_hand():
    p = param(1.0, -1.0)
    opt = nt.optim.Adamax([p], lr=0.1, betas=(0.5, 0.8), eps=0.0)
    # step 1: m = 0.5 g = [1, -2], u = |g| = [2, 4]; p -= 0.1 / (1 - 0.5) * m / u
    assert step_with(opt, p, 2.0, -4.0) == pytest.approx([0.9, -0.9])
    # step 2: m = [0.5 + 0.5, -1 + 0], u = max(0.8 u, |g|) = [1.6, 3.2]; lr_t = 0.1 / 0.75
    assert step_with(opt, p, 1.0, 0.0) == pytest.approx([0.9 - 0.1 / 0.75 / 1.6, -0.9 + 0.1 / 0.75 / 3.2])
    assert opt.state[p]["exp_inf"].tolist() == pytest.approx([1.6, 3.2])
    assert set(opt.state[p]) == STATE_KEYS["Adamax"]


def test_nadam_two_steps_by_hand():
    p = param(1.0)
    opt = nt.optim.NAdam([p], lr=0.1, betas=(0.5, 0.75), eps=0.0, momentum_decay=0.0)
    mu = 0.25  # b1 * (1 - 0.5 * 0.96**0): the same every step when momentum_decay is 0
    # step 1: m = 0.5 g = 1, v = 0.25 g^2 = 1, denom = sqrt(v / 0.25) = 2
    p1 = 1.0 - 0.1 * (1 - mu) / (1 - mu) * 2.0 / 2 - 0.1 * mu / (1 - mu * mu) * 1.0 / 2
    assert step_with(opt, p, 2.0) == pytest.approx([p1])
    # step 2 (g = 2 again): m = 1.5, v = 1.75, denom = sqrt(1.75 / (1 - 0.75**2)) = 2
    p2 = p1 - 0.1 * (1 - mu) / (1 - mu**2) * 2.0 / 2 - 0.1 * mu / (1 - mu**3) * 1.5 / 2
    assert step_with(opt, p, 2.0) == pytest.approx([p2])
    assert opt.state[p]["mu_product"] == pytest.approx(mu**2) and set(opt.state[p]) == STATE_KEYS["NAdam"]


def test_nadam_momentum_decay_by_hand():
    """The step uses this step's momentum mu_1 and the next one's, mu_2."""
    p = param(1.0)
    opt = nt.optim.NAdam([p], lr=0.1, betas=(0.5, 0.75), eps=0.0, momentum_decay=10.0)
    mu1, mu2 = (0.5 * (1 - 0.5 * 0.96 ** (10.0 * t)) for t in (1, 2))
    # m = 1, denom = 2 as above: the gradient's term is lr * g / denom = 0.1 whatever mu_1 is
    assert step_with(opt, p, 2.0) == pytest.approx([1.0 - 0.1 - 0.1 * mu2 / (1 - mu1 * mu2) * 1.0 / 2])
    assert opt.state[p]["mu_product"] == pytest.approx(mu1)


@pytest.mark.parametrize("name", ["NAdam", "RAdam"])
def test_decoupled_weight_decay_shrinks_the_param_first(name):
    """With a zero gradient and decoupled decay, m and v stay 0: only ``p *= 1 - lr * wd``
    moves p; coupled, the decay ``wd * p`` is the gradient the moments average."""
    p = param(2.0)
    opt = getattr(nt.optim, name)([p], lr=0.1, weight_decay=0.5, decoupled_weight_decay=True)
    assert step_with(opt, p, 0.0) == pytest.approx([2.0 * 0.95]) and opt.state[p]["exp_avg"].tolist() == [0.0]
    q = param(2.0)
    coupled = getattr(nt.optim, name)([q], lr=0.1, weight_decay=0.5)
    step_with(coupled, q, 0.0)
    assert coupled.state[q]["exp_avg"].tolist() == pytest.approx([(1 - 0.9) * 0.5 * 2.0])


def test_radam_plain_steps_then_rectified_ones():
    """With a constant gradient g and eps 0, m / (1 - b1^t) = g and sqrt(1 - b2^t) / sqrt(v)
    = 1 / |g|: a step is lr * g while rho_t <= 5, then lr * sign(g) * r_t."""
    p = param(0.0)
    opt = nt.optim.RAdam([p], lr=0.1, eps=0.0)
    b2 = 0.999
    rho_inf = 2 / (1 - b2) - 1
    expected, rectified = 0.0, 0
    for t in range(1, 9):
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            rectified += 1
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            expected -= 0.1 * r
        else:
            expected -= 0.1 * 2.0
        assert step_with(opt, p, 2.0) == pytest.approx([expected], rel=1e-5)
    assert 0 < rectified < 8


def test_adadelta_two_steps_by_hand():
    p = param(1.0)
    opt = nt.optim.Adadelta([p], lr=0.5, rho=0.5, eps=1.0)
    # step 1: v = 0.5 * 9 = 4.5; delta = sqrt(0 + 1) / sqrt(4.5 + 1) * 3; u = 0.5 delta^2
    d1 = 3 / math.sqrt(5.5)
    assert step_with(opt, p, 3.0) == pytest.approx([1.0 - 0.5 * d1])
    # step 2 (g = 1): v = 2.25 + 0.5 = 2.75; delta = sqrt(u + 1) / sqrt(3.75)
    d2 = math.sqrt(0.5 * d1 * d1 + 1) / math.sqrt(3.75)
    assert step_with(opt, p, 1.0) == pytest.approx([1.0 - 0.5 * d1 - 0.5 * d2], abs=1e-6)
    assert set(opt.state[p]) == STATE_KEYS["Adadelta"]


def test_rprop_grows_shrinks_and_skips_by_hand():
    p = param(0.0, 0.0)
    opt = nt.optim.Rprop([p], lr=0.1, etas=(0.5, 1.5), step_sizes=(0.04, 0.2))
    assert step_with(opt, p, 3.0, -1.0) == pytest.approx([-0.1, 0.1])  # no previous sign: size lr
    assert step_with(opt, p, 1.0, -2.0) == pytest.approx([-0.25, 0.25])  # same sign: size * 1.5
    # flipped sign: size * 0.5 and no move; same sign: size 0.15 * 1.5 = 0.225, clipped to 0.2
    assert step_with(opt, p, -1.0, -2.0) == pytest.approx([-0.25, 0.45])
    assert opt.state[p]["step_size"].tolist() == pytest.approx([0.075, 0.2])
    assert opt.state[p]["prev"].tolist() == [0.0, -2.0]  # a skipped coordinate forgets its sign
    assert step_with(opt, p, -1.0, 2.0) == pytest.approx([-0.175, 0.45])  # after a skip: size kept
    assert opt.state[p]["step_size"].tolist() == pytest.approx([0.075, 0.1])


def test_asgd_three_steps_by_hand():
    p = param(1.0)
    opt = nt.optim.ASGD([p], lr=0.1, lambd=0.5, alpha=1.0, t0=0)
    p1 = 1.0 * (1 - 0.05) - 0.1 * 2.0  # eta = lr at first
    assert step_with(opt, p, 2.0) == pytest.approx([p1])
    assert opt.state[p]["ax"].tolist() == pytest.approx([p1])
    eta = 0.1 / (1 + 0.5 * 0.1 * 1)  # mu = 1 / max(1, 1 - 0): ax is still p after step 2
    p2 = p1 * (1 - 0.5 * eta) - eta * 2.0
    assert step_with(opt, p, 2.0) == pytest.approx([p2])
    assert opt.state[p]["ax"].tolist() == pytest.approx([p2])
    assert opt.state[p]["mu"] == 0.5  # 1 / (2 - 0): step 3 averages
    eta = 0.1 / (1 + 0.5 * 0.1 * 2)
    p3 = p2 * (1 - 0.5 * eta) - eta * 2.0
    assert step_with(opt, p, 2.0) == pytest.approx([p3])
    assert opt.state[p]["ax"].tolist() == pytest.approx([p2 + 0.5 * (p3 - p2)])
    assert set(opt.state[p]) == STATE_KEYS["ASGD"]


@pytest.mark.parametrize("name", NEW)
def test_maximize_climbs_and_weight_decay_adds_p(name):
    """maximize: the step of ``-grad``; weight_decay (where there is one): the step of
    ``grad + wd * p``, here the same gradient as the plain run's."""
    def run(grad: float, **options) -> float:
        p = param(1.0)
        opt = getattr(nt.optim, name)([p], lr=0.01, **options)
        return step_with(opt, p, grad)[0]

    assert run(-2.0, maximize=True) == run(2.0) < 1.0
    if name != "Rprop":  # Rprop has no weight decay
        assert run(1.5, weight_decay=0.5) == pytest.approx(run(2.0))


@pytest.mark.parametrize("name, options, error, match", [
    ("Adamax", {"betas": (1.0, 0.9)}, ValueError, "beta parameter at index 0"),
    ("Adamax", {"lr": -1.0}, ValueError, "lr"),
    ("NAdam", {"momentum_decay": -0.1}, ValueError, "momentum_decay"),
    ("NAdam", {"betas": (0.9, -0.1)}, ValueError, "beta parameter at index 1"),
    ("RAdam", {"eps": -1.0}, ValueError, "eps"),
    ("RAdam", {"weight_decay": -1.0}, ValueError, "weight_decay"),
    ("Adadelta", {"rho": 1.5}, ValueError, "rho"),
    ("Adadelta", {"lr": -0.1}, ValueError, "lr"),
    ("Rprop", {"etas": (1.5, 2.0)}, ValueError, "eta values"),
    ("Rprop", {"etas": (0.5, 1.0)}, ValueError, "eta values"),
    ("Rprop", {"step_sizes": 0.1}, ValueError, "step_sizes must be a pair"),
    ("ASGD", {"weight_decay": -1.0}, ValueError, "weight_decay"),
    ("ASGD", {"lambd": "big"}, TypeError, "lambd must be a number"),
])
def test_refuses_invalid_options(name, options, error, match):
    with pytest.raises(error, match=match):
        getattr(nt.optim, name)([param(1.0)], **options)


def test_options_pytorch_accepts_without_bounds():
    """Adadelta's rho may be 0 or 1; Rprop's step sizes and ASGD's lambd, alpha and t0 are unbounded."""
    nt.optim.Adadelta([param(1.0)], rho=1.0)
    nt.optim.Adadelta([param(1.0)], rho=0.0)
    p = param(1.0)
    opt = nt.optim.Rprop([p], step_sizes=(5.0, 1.0))  # min > max: every size becomes max
    assert step_with(opt, p, 1.0) == [0.0]
    nt.optim.ASGD([param(1.0)], lambd=-1.0, alpha=-2.0, t0=-5)


# --------------------------------------------------- checkpoints and compile
def random_grads(params: list, rng) -> None:
    for p in params:
        p.grad = nt.tensor(rng.standard_normal(p.shape).astype(np.float32))


@pytest.mark.parametrize("name", NEW)
def test_a_resumed_run_equals_an_uninterrupted_one(name):
    def params() -> list:
        return [nn.Parameter(nt.ones(3, 2)), nn.Parameter(nt.zeros(4))]

    straight, resumed = params(), params()
    opt_a, opt_b = (getattr(nt.optim, name)(ps, lr=0.05) for ps in (straight, resumed))
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    for step in range(8):
        if step == 4:
            saved = opt_b.state_dict()
            opt_b = getattr(nt.optim, name)(resumed, lr=0.05)
            opt_b.load_state_dict(saved)
        random_grads(straight, rng_a)
        random_grads(resumed, rng_b)
        opt_a.step()
        opt_b.step()
    assert all(np.array_equal(a.data, b.data) for a, b in zip(straight, resumed))
    assert set(saved["state"][0]) == STATE_KEYS[name] and saved["state"][0]["step"] == 4


@pytest.mark.parametrize("name", NEW)
def test_compiled_step_equals_eager(backend, name):
    """The step is replayed as a whole call (``Optimizer.step()``): bitwise eager's values."""
    def run(compiled: bool):
        nt.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = getattr(nt.optim, name)(model.parameters(), lr=0.01)
        step = train_step(model, opt)
        f = nt.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a step that can't be replayed warns
            for _ in range(4):
                f(nt.tensor(rng.standard_normal((5, 6)).astype(np.float32)), nt.tensor(rng.integers(0, 3, 5)))
        return [p.data.copy() for p in model.parameters()], opt.state, f

    eager, eager_state, _ = run(False)
    compiled, compiled_state, f = run(True)
    assert all(np.array_equal(a, b) for a, b in zip(eager, compiled))
    steps = [s["step"] for s in compiled_state.values()]
    assert steps == [s["step"] for s in eager_state.values()] == [4] * 4
    [[plan]] = f.plans.values()
    assert f"{name}.step()" in plan.source


# ---------------------------------------------- named parameters, Tensor lr
def test_named_parameters_are_kept_as_param_names():
    model = nn.Linear(2, 3)
    opt = nt.optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9)
    [group] = opt.param_groups
    assert group["param_names"] == ["weight", "bias"] and group["params"] == [model.weight, model.bias]
    model(nt.ones(1, 2)).sum().backward()
    opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["param_names"] == ["weight", "bias"] and set(saved["state"]) == {0, 1}
    assert "param_names: ['weight', 'bias']" in repr(opt)
    del saved["param_groups"][0]["param_names"]  # a group saved without names keeps ours
    fresh = nt.optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["param_names"] == ["weight", "bias"]


def test_named_parameters_in_groups_must_all_have_names():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    named = list(model.named_parameters())
    opt = nt.optim.Adam([{"params": named[:2]}, {"params": named[2:], "lr": 0.1}])
    assert opt.param_groups[1]["param_names"] == ["1.weight", "1.bias"]
    with pytest.raises(ValueError, match="some names are missing"):
        nt.optim.SGD([named[0], model[1].weight], lr=0.1)
    with pytest.raises(ValueError, match="can't add a group without names"):
        nt.optim.SGD([{"params": named[:2]}, {"params": [model[1].weight]}], lr=0.1)
    with pytest.raises(TypeError, match=r"a \(str, Tensor\) pair"):
        nt.optim.SGD([("w", "b", model[1].weight)], lr=0.1)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", *NEW])
def test_a_one_element_tensor_lr_is_its_number(name):
    p, q = param(1.0, 2.0), param(1.0, 2.0)
    opt = getattr(nt.optim, name)([p], lr=nt.tensor(0.25))
    ref = getattr(nt.optim, name)([q], lr=0.25)
    assert type(opt.param_groups[0]["lr"]) is float and opt.defaults["lr"] == 0.25
    for _ in range(2):
        assert step_with(opt, p, 1.0, -3.0) == step_with(ref, q, 1.0, -3.0)
    opt.add_param_group({"params": [param(0.0)], "lr": nt.tensor([0.5])})
    assert opt.param_groups[1]["lr"] == 0.5


def test_a_tensor_lr_must_have_one_element_and_be_nonnegative():
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        nt.optim.SGD([param(1.0)], lr=nt.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="Invalid lr"):
        nt.optim.Adamax([param(1.0)], lr=nt.tensor(-0.1))


# -------------------------------------------------------------- against torch
CASES = {
    "Adamax": [{}, {"lr": 0.01, "weight_decay": 0.1}, {"maximize": True, "betas": (0.5, 0.9), "eps": 1e-3},
               {"lr": 0.05, "betas": (0.0, 0.0)}],
    "NAdam": [{}, {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
              {"maximize": True, "momentum_decay": 0.1, "betas": (0.8, 0.99)}, {"momentum_decay": 0.0}],
    "RAdam": [{}, {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
              {"maximize": True, "betas": (0.5, 0.9)}, {"betas": (0.9, 0.5), "eps": 1e-2}],
    "Adadelta": [{}, {"lr": 0.5, "weight_decay": 0.1}, {"maximize": True, "rho": 0.5, "eps": 1e-3},
                 {"rho": 1.0}, {"rho": 0.0}],
    "Rprop": [{}, {"lr": 0.1, "etas": (0.3, 1.5)}, {"maximize": True, "step_sizes": (1e-3, 0.2)},
              {"step_sizes": (5.0, 1.0)}],
    "ASGD": [{}, {"lr": 0.05, "weight_decay": 0.1, "t0": 10},
             {"maximize": True, "lambd": 0.1, "alpha": 0.5, "t0": 0}, {"lr": 0.1, "lambd": 1e-2, "t0": 50}],
}
SHAPES = [(3, 4), (5,), (), (2, 3, 2)]


@pytest.mark.parametrize("name, options", [pytest.param(n, o, id=f"{n}-{i}")
                                           for n, cases in CASES.items() for i, o in enumerate(cases)])
def test_matches_torch_over_150_steps(name, options):
    """Two groups, four shapes (one 0-d), a parameter now and then without a gradient, and a
    checkpoint reloaded into a new optimizer at step 70: PyTorch's values at every step."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    inits = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    ours = [nn.Parameter(nt.tensor(a)) for a in inits]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in inits]

    def groups(ps: list) -> list:
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}]

    opt = getattr(nt.optim, name)(groups(ours), **options)
    ref = getattr(torch.optim, name)(groups(theirs), **options)
    for step in range(150):
        if step == 70:
            saved = opt.state_dict()
            opt = getattr(nt.optim, name)(groups(ours), **options)
            opt.load_state_dict(saved)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if step % 7 == 3 and i == 1:
                a.grad = b.grad = None
                continue
            # a pull towards 0 plus noise: gradients keep their sign for a while (Rprop)
            g = (0.5 * a.data + 0.3 * rng.standard_normal(a.shape)).astype(np.float32)
            a.grad, b.grad = nt.tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"step {step}")
    for key, theirs_state in ref.state_dict()["state"].items():
        ours_state = opt.state_dict()["state"][key]
        assert set(ours_state) == set(theirs_state)
        for k, v in theirs_state.items():
            np.testing.assert_allclose(np.asarray(ours_state[k], dtype=np.float32), v.numpy(),
                                       rtol=1e-4, atol=1e-6)
    torch_only = {"foreach", "differentiable", "capturable"}
    assert set(opt.param_groups[0]) == set(ref.param_groups[0]) - torch_only


def test_named_parameters_and_a_tensor_lr_as_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    with torch.no_grad():
        for a, b in zip(ours.parameters(), theirs.parameters()):
            b.copy_(torch.tensor(a.data))
    opt = nt.optim.NAdam(ours.named_parameters(), lr=nt.tensor(0.1))
    ref = torch.optim.NAdam(theirs.named_parameters(), lr=torch.tensor(0.1))
    assert opt.param_groups[0]["param_names"] == ref.param_groups[0]["param_names"]
    assert opt.param_groups[0]["lr"] == ref.param_groups[0]["lr"].item()
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    for _ in range(5):
        for o, model, lib in ((opt, ours, nt), (ref, theirs, torch)):
            o.zero_grad()
            model(lib.tensor(x)).pow(2).sum().backward()
            o.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)
    [saved], [saved_by_torch] = opt.state_dict()["param_groups"], ref.state_dict()["param_groups"]
    names = ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert saved["param_names"] == saved_by_torch["param_names"] == names
