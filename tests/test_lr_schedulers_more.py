"""Tests for the learning-rate schedulers beyond StepLR/MultiStepLR/CosineAnnealingLR/LambdaLR:
known answers from their closed forms (no torch), then step for step against PyTorch with
several parameter groups, including a resume from a state_dict half-way."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.optim import SGD, Adam
from nanotorch.optim import lr_scheduler as nls
from nanotorch.serialization import load, save

STEPS = 120
RESUME_AT = 47


def sgd(lr: float = 1.0, **options) -> SGD:
    return SGD([nt.tensor([0.0], requires_grad=True)], lr=lr, **options)


def run(sched, opt, steps: int, key: str = "lr") -> list[float]:
    """group 0's ``key`` now and after each of ``steps`` steps."""
    values = [opt.param_groups[0][key]]
    for _ in range(steps):
        sched.step()
        values.append(opt.param_groups[0][key])
    return values


# ------------------------------------------------------------ known answers (no torch)
def test_exponential_lr_closed_form():
    opt = sgd(0.5)
    lrs = run(nls.ExponentialLR(opt, gamma=0.9), opt, 30)
    np.testing.assert_allclose(lrs, [0.5 * 0.9 ** t for t in range(31)], rtol=1e-13)


def test_multiplicative_lr_multiplies_from_epoch_1():
    opt = SGD([{"params": [nt.tensor([0.0], requires_grad=True)], "lr": lr} for lr in (1.0, 2.0)])
    sched = nls.MultiplicativeLR(opt, [lambda e: 0.5, lambda e: 1.0 / (e + 1)])
    assert sched.get_last_lr() == [1.0, 2.0]
    sched.step()
    sched.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.125, 2.0 / 2 / 3 / 4], abs=1e-15)


def test_linear_lr_hand_values():
    opt = sgd(1.0)
    lrs = run(nls.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=3), opt, 5)
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0], abs=1e-15)
    opt = sgd(1.0)
    lrs = run(nls.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=4), opt, 5)
    assert lrs == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0, 0.0], abs=1e-15)


def test_constant_lr_hand_values():
    opt = sgd(1.0)
    assert run(nls.ConstantLR(opt, factor=0.5, total_iters=2), opt, 4) == [0.5, 0.5, 1.0, 1.0, 1.0]


def test_polynomial_lr_closed_form():
    opt = sgd(2.0)
    lrs = run(nls.PolynomialLR(opt, total_iters=4, power=2.0), opt, 6)
    assert lrs == pytest.approx([2.0, 2.0 * 0.5625, 2.0 * 0.25, 2.0 * 0.0625, 0.0, 0.0, 0.0], abs=1e-15)


def test_reduce_lr_on_plateau_hand_trace():
    opt = sgd(1.0)
    sched = nls.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    # after 5, 4: bad epochs 4 (1), 4 (2 > patience: halve, cool down), 4 (ignored), 4 (1);
    # 3 is better; then 3 (1), 3 (2: halve), 3 (ignored), 3 (1), 3 (2: halve, but not below 0.2)
    assert lrs == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2]
    assert sched.last_epoch == 13 and sched.best == 3


@pytest.mark.parametrize("mode, threshold_mode, metrics, reduced_at", [
    ("min", "rel", [1.0, 0.99995, 0.9999], 1),  # 0.99995 is within 1e-4 of 1: not better
    ("min", "abs", [1.0, 0.95, 0.85], 1),  # threshold 0.1
    ("max", "rel", [1.0, 1.00005, 1.0002], 1),
    ("max", "abs", [1.0, 1.05, 1.15], 1),
])
def test_reduce_lr_on_plateau_thresholds(mode, threshold_mode, metrics, reduced_at):
    opt = sgd(1.0)
    threshold = 0.1 if threshold_mode == "abs" else 1e-4
    sched = nls.ReduceLROnPlateau(opt, mode=mode, patience=0, threshold=threshold,
                                  threshold_mode=threshold_mode)
    lrs = []
    for m in metrics:
        sched.step(nt.tensor(m))  # a one-element Tensor works like a number
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([1.0 if i < reduced_at else 0.1 for i in range(len(metrics))])


def test_reduce_lr_on_plateau_eps_and_min_lrs_per_group():
    opt = SGD([{"params": [nt.tensor([0.0], requires_grad=True)], "lr": lr} for lr in (1.0, 1e-8)])
    sched = nls.ReduceLROnPlateau(opt, patience=0, min_lr=[0.5, 0.0])
    sched.step(1.0)
    sched.step(2.0)
    assert sched.get_last_lr() == [0.5, 1e-8]  # group 1 would change by less than eps


def test_reduce_lr_on_plateau_after_a_group_is_added():
    opt = sgd(1.0)
    sched = nls.ReduceLROnPlateau(opt, patience=0, min_lr=0.5)
    opt.add_param_group({"params": [nt.tensor([0.0], requires_grad=True)], "lr": 2.0})
    sched.step(1.0)
    sched.step(2.0)
    assert sched.get_last_lr() == [0.5, 0.5] and sched.min_lrs == [0.5, 0.5]
    opt = sgd(1.0)
    sched = nls.ReduceLROnPlateau(opt, patience=0, min_lr=[0.5])
    opt.add_param_group({"params": [nt.tensor([0.0], requires_grad=True)], "lr": 2.0})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match="min_lrs"):
        sched.step(2.0)


def test_one_cycle_lr_linear_hand_values():
    opt = sgd(momentum=0.9)
    sched = nls.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear",
                           div_factor=10.0, final_div_factor=100.0)
    lrs, momentums = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(9):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        momentums.append(opt.param_groups[0]["momentum"])
    # rise over steps 0..2 (pct_start * 10 - 1 = 2) from 0.1 to 1, then down to 0.001 at step 9
    expected = [0.1, 0.55, 1.0] + [1.0 + (0.001 - 1.0) * (t - 2) / 7 for t in range(3, 10)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-13)
    np.testing.assert_allclose(momentums[:3], [0.95, 0.9, 0.85], rtol=1e-13)
    assert momentums[-1] == pytest.approx(0.95)
    group = opt.param_groups[0]
    assert (group["initial_lr"], group["max_lr"], group["min_lr"]) == pytest.approx((0.1, 1.0, 0.001))
    sched.step()  # step 10 = total_steps is still allowed; 11 is not
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        sched.step()


def test_one_cycle_lr_cos_three_phase_and_adam_beta1():
    opt = Adam([nt.tensor([0.0], requires_grad=True)], betas=(0.9, 0.99))
    sched = nls.OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=5, pct_start=0.4,
                           three_phase=True)
    lrs = run(sched, opt, 9)
    # phases end at steps 3, 6, 9: 0.04 -> 1 -> 0.04 -> 4e-6, cosine
    cos = [(1 + math.cos(math.pi * k / 3)) / 2 for k in range(4)]
    expected = ([1 + (0.04 - 1) * c for c in cos] + [0.04 + (1 - 0.04) * c for c in cos[1:]]
                + [4e-6 + (0.04 - 4e-6) * c for c in cos[1:]])
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert opt.param_groups[0]["betas"][1] == 0.99
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)


def test_cosine_warm_restarts_periods_and_fractional_epochs():
    opt = sgd(1.0)
    sched = nls.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.0)
    lrs = run(sched, opt, 7)
    # periods of 2 then 4 then 8 epochs: T_cur / T_i = 0, 1/2, 0, 1/4, 2/4, 3/4, 0, 1/8
    positions = [0, 0.5, 0, 0.25, 0.5, 0.75, 0, 0.125]
    np.testing.assert_allclose(lrs, [(1 + math.cos(math.pi * p)) / 2 for p in positions], atol=1e-15)
    sched.step(2.5)  # half an epoch into the second period
    assert (sched.T_i, sched.T_cur, sched.last_epoch) == (4, 0.5, 2)
    assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 0.5 / 4)) / 2)
    sched.step(1.0)
    assert (sched.T_i, sched.T_cur) == (2, 1.0)
    sched = nls.CosineAnnealingWarmRestarts(sgd(1.0), T_0=2)
    sched.step(5.5)
    assert (sched.T_i, sched.T_cur, sched.last_epoch) == (2, 1.5, 5)


def test_cyclic_lr_first_lr_is_initial_lr_of_an_earlier_scheduler():
    opt = sgd(1.0, momentum=0.9)
    nls.ExponentialLR(opt, gamma=0.5)  # sets initial_lr = 1
    assert run(nls.CyclicLR(opt, base_lr=0.1, max_lr=0.3, step_size_up=2), opt, 2) == pytest.approx(
        [1.0, 0.2, 0.3])  # as PyTorch's: epoch 0 from initial_lr, then from base_lr


def test_sequential_lr_warmup_then_decay():
    opt = sgd(1.0)
    warmup = nls.ConstantLR(opt, factor=0.5, total_iters=2)
    decay = nls.ExponentialLR(opt, gamma=0.5)
    sched = nls.SequentialLR(opt, [warmup, decay], milestones=[2])
    assert run(sched, opt, 5) == [0.5, 0.5, 1.0, 0.5, 0.25, 0.125]
    assert sched.last_epoch == 5 and decay.last_epoch == 3


def test_chained_scheduler_multiplies_factors():
    opt = sgd(1.0)
    sched = nls.ChainedScheduler([nls.ConstantLR(opt, factor=0.5, total_iters=2),
                                  nls.ExponentialLR(opt, gamma=0.9)])
    lrs = run(sched, opt, 5)
    np.testing.assert_allclose(lrs, [(0.5 if t < 2 else 1.0) * 0.9 ** t for t in range(6)], rtol=1e-13)


@pytest.mark.parametrize("mode, options, expected", [
    ("triangular", {}, [1, 2, 3, 2, 1, 2, 3, 2, 1]),
    ("triangular2", {}, [1, 2, 3, 2, 1, 1.5, 2, 1.5, 1]),
    ("exp_range", {"gamma": 0.5}, [1, 1 + 0.5, 1 + 2 * 0.25, 1 + 0.125, 1, 1 + 0.5 ** 5, 1 + 2 * 0.5 ** 6,
                                   1 + 0.5 ** 7, 1]),
])
def test_cyclic_lr_modes_hand_values(mode, options, expected):
    opt = sgd(momentum=0.9)
    sched = nls.CyclicLR(opt, base_lr=1.0, max_lr=3.0, step_size_up=2, mode=mode, **options)
    assert run(sched, opt, 8) == pytest.approx(expected, abs=1e-15)


def test_cyclic_lr_momentum_and_asymmetric_cycle():
    opt = sgd(momentum=0.5)
    sched = nls.CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=1, step_size_down=3)
    assert run(sched, opt, 5) == pytest.approx([0, 1, 2 / 3, 1 / 3, 0, 1])
    assert run(sched, opt, 1, key="momentum") == pytest.approx([0.8, 0.9 - 0.1 * 2 / 3])


def test_cyclic_lr_custom_scale_fn_state_dict():
    class Halve:
        def __init__(self):
            self.base = 0.5

        def __call__(self, x):
            return self.base ** x

    fn = Halve()
    sched = nls.CyclicLR(sgd(momentum=0.9), 0.0, 1.0, step_size_up=1, scale_fn=fn, scale_mode="iterations")
    assert run(sched, sched.optimizer, 2) == pytest.approx([0.0, 0.5, 0.0])
    fn.base = 0.25
    state = sched.state_dict()
    assert state["_scale_fn_custom"] == {"base": 0.25}
    other = Halve()
    nls.CyclicLR(sgd(momentum=0.9), 0.0, 1.0, scale_fn=other).load_state_dict(state)
    assert other.base == 0.25


def test_float_and_numpy_arguments_are_accepted():
    opt = sgd(1.0)
    assert run(nls.StepLR(opt, step_size=2.0, gamma=0.5), opt, 4) == [1.0, 1.0, 0.5, 0.5, 0.25]
    opt = sgd(1.0)
    lrs = run(nls.CosineAnnealingLR(opt, T_max=4.0), opt, 4)
    root = math.cos(math.pi / 4)
    assert lrs == pytest.approx([1.0, (1 + root) / 2, 0.5, (1 - root) / 2, 0])
    opt = sgd(1.0)
    sched = nls.MultiStepLR(opt, milestones=np.array([1, 3]), gamma=0.5)
    assert run(sched, opt, 3) == [1.0, 0.5, 0.5, 0.25]
    assert all(type(m) is int for m in sched.milestones)  # so that state_dict can be saved


def test_lr_scheduler_alias():
    assert issubclass(nls._LRScheduler, nls.LRScheduler)

    class Halving(nls._LRScheduler):
        def get_lr(self):
            return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

    opt = sgd(1.0)
    assert run(Halving(opt), opt, 2) == [1.0, 0.5, 0.25]


def build_all(opt):
    """One of each new scheduler (the composite ones over chainable ones)."""
    return [
        nls.ExponentialLR(opt, 0.9),
        nls.LinearLR(opt, 0.5, 1.0, 4),
        nls.ConstantLR(opt, 0.5, 3),
        nls.PolynomialLR(opt, 6, 2.0),
        nls.CosineAnnealingWarmRestarts(opt, 3, 2, 0.01),
        nls.OneCycleLR(opt, 1.0, total_steps=20),
        nls.CyclicLR(opt, 0.1, 1.0, step_size_up=3),
        nls.SequentialLR(opt, [nls.LinearLR(opt, 0.5), nls.ExponentialLR(opt, 0.8)], [3]),
        nls.ChainedScheduler([nls.ConstantLR(opt, 0.5, 3), nls.ExponentialLR(opt, 0.9)]),
    ]


@pytest.mark.parametrize("index", range(9), ids=[type(s).__name__ for s in build_all(sgd(momentum=0.9))])
def test_state_dict_round_trip_through_save(tmp_path, index):
    def make():
        opt = SGD([{"params": [nt.tensor([0.0], requires_grad=True)], "lr": lr} for lr in (0.1, 0.3)],
                  momentum=0.9)
        return opt, build_all(opt)[index]

    opt, sched = make()
    for _ in range(7):
        sched.step()
    save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck")
    expected = [run(sched, opt, 1)[1] for _ in range(10)]
    opt2, sched2 = make()
    saved = load(tmp_path / "ck")
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert [run(sched2, opt2, 1)[1] for _ in range(10)] == expected


def test_reduce_lr_on_plateau_state_dict_round_trip(tmp_path):
    opt = sgd(1.0)
    sched = nls.ReduceLROnPlateau(opt, mode="max", patience=1)
    save(sched.state_dict(), tmp_path / "ck")  # best is -inf
    sched2 = nls.ReduceLROnPlateau(sgd(1.0))
    sched2.load_state_dict(load(tmp_path / "ck"))
    assert (sched2.mode, sched2.best, sched2.patience) == ("max", -math.inf, 1)
    with pytest.raises(ValueError, match="mode 'middle' is unknown"):
        sched2.load_state_dict({"mode": "middle"})


def test_errors():
    opt, adagrad_like = sgd(1.0), sgd(1.0)
    del adagrad_like.defaults["momentum"]
    cases = [
        (ValueError, "step_size", lambda: nls.StepLR(opt, step_size=0)),
        (ValueError, "step_size", lambda: nls.StepLR(opt, step_size="2")),
        (ValueError, "T_max", lambda: nls.CosineAnnealingLR(opt, T_max=-1.0)),
        (ValueError, "milestones", lambda: nls.MultiStepLR(opt, milestones=[1.5])),
        (ValueError, "between 0 and 1", lambda: nls.ConstantLR(opt, factor=1.5)),
        (ValueError, "Starting multiplicative factor", lambda: nls.LinearLR(opt, start_factor=0)),
        (ValueError, "Ending multiplicative factor", lambda: nls.LinearLR(opt, end_factor=2)),
        (ValueError, "total_iters", lambda: nls.PolynomialLR(opt, total_iters=-1)),
        (TypeError, "function", lambda: nls.MultiplicativeLR(opt, 0.9)),
        (ValueError, "Factor should be < 1.0", lambda: nls.ReduceLROnPlateau(opt, factor=1.0)),
        (ValueError, "mode 'best' is unknown", lambda: nls.ReduceLROnPlateau(opt, mode="best")),
        (ValueError, "threshold mode", lambda: nls.ReduceLROnPlateau(opt, threshold_mode="pct")),
        (ValueError, "min_lr must have the same length", lambda: nls.ReduceLROnPlateau(opt, min_lr=[0, 0])),
        (TypeError, "not an Optimizer", lambda: nls.ReduceLROnPlateau(None)),
        (ValueError, "total_steps OR", lambda: nls.OneCycleLR(opt, 1.0, epochs=3)),
        (ValueError, "total_steps", lambda: nls.OneCycleLR(opt, 1.0, total_steps=0)),
        (ValueError, "steps_per_epoch", lambda: nls.OneCycleLR(opt, 1.0, epochs=2, steps_per_epoch=0.5)),
        (ValueError, "pct_start", lambda: nls.OneCycleLR(opt, 1.0, 10, pct_start=1.5)),
        (ValueError, "anneal_strategy", lambda: nls.OneCycleLR(opt, 1.0, 10, anneal_strategy="cosine")),
        (ValueError, "momentum or beta1", lambda: nls.OneCycleLR(adagrad_like, 1.0, 10)),
        (ValueError, "max_lr must have the same length", lambda: nls.OneCycleLR(opt, [1.0, 2.0], 10)),
        (ZeroDivisionError, "phase 1 has no steps", lambda: nls.OneCycleLR(opt, 1.0, 10, pct_start=0.1)),
        (ValueError, "T_0", lambda: nls.CosineAnnealingWarmRestarts(opt, T_0=0)),
        (ValueError, "T_mult", lambda: nls.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5)),
        (ValueError, "eta_min", lambda: nls.CosineAnnealingWarmRestarts(opt, T_0=2, eta_min="0")),
        (ValueError, "mode 'sine' is invalid", lambda: nls.CyclicLR(opt, 0.1, 1.0, mode="sine")),
        (ValueError, "scale_mode", lambda: nls.CyclicLR(opt, 0.1, 1.0, scale_fn=abs, scale_mode="epochs")),
        (ValueError, "step_size_up", lambda: nls.CyclicLR(opt, 0.1, 1.0, step_size_up=0)),
        (ValueError, "momentum or beta1", lambda: nls.CyclicLR(adagrad_like, 0.1, 1.0)),
        (ValueError, "at least one", lambda: nls.ChainedScheduler([])),
        (ValueError, "at least one", lambda: nls.SequentialLR(opt, [], [])),
        (ValueError, "one milestone fewer", lambda: nls.SequentialLR(opt, [nls.StepLR(opt, 2)], [2])),
        (ValueError, "increasing order", lambda: nls.SequentialLR(
            opt, [nls.StepLR(opt, 2), nls.StepLR(opt, 2), nls.StepLR(opt, 2)], [5, 2])),
        (ValueError, "same optimizer", lambda: nls.SequentialLR(
            opt, [nls.StepLR(opt, 2), nls.StepLR(sgd(), 2)], [2])),
        (ValueError, "ReduceLROnPlateau", lambda: nls.ChainedScheduler([nls.ReduceLROnPlateau(opt)])),
        (TypeError, "not a scheduler", lambda: nls.ChainedScheduler([nls.StepLR(opt, 2), "StepLR"])),
    ]
    for error, message, make in cases:
        with pytest.raises(error, match=message):
            make()
    with pytest.raises(ValueError, match="Expected non-negative epoch"):
        nls.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1)
    with pytest.raises(ValueError, match="one state_dict for each"):
        nls.ChainedScheduler([nls.StepLR(opt, 2)]).load_state_dict({"_last_lr": [1.0]})


# ------------------------------------------------------------ against PyTorch
def torch_optimizers(torch, kind: str):
    """A nanotorch and a torch optimizer (``sgd`` with momentum, or ``adam``) with three
    parameter groups of lrs 0.1, 0.05, 0.02."""
    lrs = (0.1, 0.05, 0.02)
    ours = [{"params": [nt.tensor([0.0], requires_grad=True)], "lr": lr} for lr in lrs]
    theirs = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "adam":
        return Adam(ours, betas=(0.9, 0.99)), torch.optim.Adam(theirs, betas=(0.9, 0.99))
    return SGD(ours, momentum=0.9), torch.optim.SGD(theirs, momentum=0.9)


def metric(t: int) -> float:
    """A loss that improves in steps, with plateaus and noise, for ReduceLROnPlateau."""
    return 1.0 / (1 + t // 11) + 0.003 * ((t * 7) % 5)


# (id, optimizer kind, factory(scheduler module, optimizer)); the module is ours or torch's
TORCH_CASES = [
    ("ExponentialLR", "sgd", lambda L, o: L.ExponentialLR(o, gamma=0.97)),
    ("MultiplicativeLR", "sgd", lambda L, o: L.MultiplicativeLR(o, lambda e: 0.99 if e % 3 else 0.9)),
    ("MultiplicativeLR-list", "sgd", lambda L, o: L.MultiplicativeLR(
        o, [lambda e: 0.98, lambda e: 1.01 if e < 50 else 0.95, lambda e: 0.999])),
    ("LinearLR", "sgd", lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=0.8, total_iters=60)),
    ("LinearLR-down", "sgd", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=90)),
    ("ConstantLR", "sgd", lambda L, o: L.ConstantLR(o, factor=0.3, total_iters=55)),
    ("PolynomialLR", "sgd", lambda L, o: L.PolynomialLR(o, total_iters=100, power=1.7)),
    ("StepLR-float", "sgd", lambda L, o: L.StepLR(o, step_size=7.0, gamma=0.8)),
    ("CosineAnnealingLR-float", "sgd", lambda L, o: L.CosineAnnealingLR(o, T_max=30.0, eta_min=0.001)),
    ("MultiStepLR-numpy", "sgd", lambda L, o: L.MultiStepLR(o, np.array([10, 40, 40, 70]), gamma=0.5)),
    ("ReduceLROnPlateau", "sgd", lambda L, o: L.ReduceLROnPlateau(o, patience=3, cooldown=2, factor=0.5,
                                                                   min_lr=[0.0, 0.01, 0.0])),
    ("ReduceLROnPlateau-max-abs", "sgd", lambda L, o: L.ReduceLROnPlateau(
        o, mode="max", threshold=0.01, threshold_mode="abs", patience=2, min_lr=1e-3)),
    ("OneCycleLR", "sgd", lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.5, 0.2], total_steps=STEPS)),
    ("OneCycleLR-linear-3phase-adam", "adam", lambda L, o: L.OneCycleLR(
        o, max_lr=0.3, epochs=12, steps_per_epoch=10, pct_start=0.25, anneal_strategy="linear",
        three_phase=True, div_factor=10.0, final_div_factor=1e3, base_momentum=0.8, max_momentum=0.9)),
    ("OneCycleLR-no-momentum", "sgd", lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=200,
                                                                cycle_momentum=False)),
    ("CosineAnnealingWarmRestarts", "sgd", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=10)),
    ("CosineAnnealingWarmRestarts-mult", "sgd", lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001)),
    ("SequentialLR", "sgd", lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=10), L.CosineAnnealingLR(o, T_max=50),
            L.ExponentialLR(o, gamma=0.95)], milestones=[10, 60])),
    ("SequentialLR-multiplicative", "sgd", lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.5, total_iters=5), L.MultiplicativeLR(o, lambda e: 0.97),
            L.StepLR(o, step_size=9, gamma=0.5)], milestones=[20, 50])),
    ("ChainedScheduler", "sgd", lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.2, total_iters=12), L.ExponentialLR(o, gamma=0.98),
         L.MultiStepLR(o, [30, 80], gamma=0.5)])),
    ("ChainedScheduler-sequential", "sgd", lambda L, o: L.ChainedScheduler(
        [L.SequentialLR(o, [L.LinearLR(o, 0.2, total_iters=5), L.PolynomialLR(o, 100)], [5]),
         L.CosineAnnealingWarmRestarts(o, T_0=25)], o)),
    ("CyclicLR", "sgd", lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2, 0.3], step_size_up=7)),
    ("CyclicLR-triangular2", "sgd", lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=5, step_size_down=9,
                                                            mode="triangular2", base_momentum=0.7)),
    ("CyclicLR-exp_range-adam", "adam", lambda L, o: L.CyclicLR(o, 0.001, 0.01, step_size_up=6,
                                                                mode="exp_range", gamma=0.99)),
    ("CyclicLR-scale_fn", "sgd", lambda L, o: L.CyclicLR(
        o, 0.01, 0.1, step_size_up=4, cycle_momentum=False, scale_fn=lambda x: 1 / (1 + x),
        scale_mode="iterations")),
]


def momentums(opt) -> list[float]:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def trace(sched, opt, name: str, start: int, stop: int) -> list[tuple]:
    """For steps start..stop-1: step the optimizer and the scheduler (ReduceLROnPlateau with
    the metric), then record ``get_last_lr()``, the groups' lrs and momentums, and ``last_epoch``."""
    rows = []
    for t in range(start, stop):
        opt.step()  # no gradients: nothing moves, but PyTorch wants it before the scheduler's step
        sched.step(metric(t)) if name.startswith("ReduceLROnPlateau") else sched.step()
        rows.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momentums(opt),
                     getattr(sched, "last_epoch", None)))
    return rows


def resumed(lib_module, kind_factory, factory, name, state_of) -> list[tuple]:
    """Run RESUME_AT steps, save optimizer and scheduler state (through ``state_of``), make both
    anew, load the state and run to STEPS: the rows after the resume."""
    opt = kind_factory()
    sched = factory(lib_module, opt)
    trace(sched, opt, name, 0, RESUME_AT)
    opt_state, sched_state = state_of(opt.state_dict()), state_of(sched.state_dict())
    opt = kind_factory()
    sched = factory(lib_module, opt)
    opt.load_state_dict(opt_state)
    sched.load_state_dict(sched_state)
    return trace(sched, opt, name, RESUME_AT, STEPS)


def assert_rows_close(ours, theirs):
    assert len(ours) == len(theirs)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a[:3], b[:3]):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")
        assert a[3] == b[3], f"last_epoch at step {t}"


@pytest.mark.torch
@pytest.mark.parametrize("name, kind, factory", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch_over_120_steps_and_resume(tmp_path, name, kind, factory):
    torch = pytest.importorskip("torch")

    def ours_opt():
        return torch_optimizers(torch, kind)[0]

    def theirs_opt():
        return torch_optimizers(torch, kind)[1]

    opt, topt = ours_opt(), theirs_opt()
    ours, theirs = factory(nls, opt), factory(torch.optim.lr_scheduler, topt)
    first = [(list(ours.get_last_lr()), [g["lr"] for g in opt.param_groups], momentums(opt),
              getattr(ours, "last_epoch", None))]
    first_t = [(list(theirs.get_last_lr()), [g["lr"] for g in topt.param_groups], momentums(topt),
                getattr(theirs, "last_epoch", None))]
    assert_rows_close(first + trace(ours, opt, name, 0, STEPS), first_t + trace(theirs, topt, name, 0, STEPS))

    def through_file(state):
        save(state, tmp_path / "state")
        return load(tmp_path / "state")

    ours_resumed = resumed(nls, ours_opt, factory, name, through_file)
    theirs_resumed = resumed(torch.optim.lr_scheduler, theirs_opt, factory, name, lambda s: s)
    assert_rows_close(ours_resumed, theirs_resumed)
    opt, topt = ours_opt(), theirs_opt()
    assert_rows_close(ours_resumed, trace(factory(nls, opt), opt, name, 0, STEPS)[RESUME_AT:])


@pytest.mark.torch
def test_matches_torch_with_epoch_argument_and_after_another_scheduler():
    torch = pytest.importorskip("torch")
    for name, stepper, pre, factory in [
        ("fractional epochs", lambda s, t: s.step(t * 0.37), None,
         lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
        ("mixed epochs", lambda s, t: s.step(t * 0.61) if t % 3 else s.step(), None,
         lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=4)),
        ("after ExponentialLR", lambda s, t: s.step(), lambda L, o: L.ExponentialLR(o, 0.5),
         lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=5)),
        ("after StepLR", lambda s, t: s.step(), lambda L, o: L.StepLR(o, 3),
         lambda L, o: L.LinearLR(o, 0.2, 0.9, total_iters=40)),
    ]:
        rows = []
        for lib, opt in zip((nls, torch.optim.lr_scheduler), torch_optimizers(torch, "sgd")):
            if pre is not None:
                pre(lib, opt)
            sched = factory(lib, opt)
            row = []
            for t in range(STEPS):
                opt.step()
                stepper(sched, t)
                row.append(([g["lr"] for g in opt.param_groups], momentums(opt), sched.last_epoch))
            rows.append(row)
        for t, (a, b) in enumerate(zip(*rows)):
            np.testing.assert_allclose(a[0] + a[1], b[0] + b[1], rtol=1e-12, err_msg=f"{name}, step {t}")
            assert a[2] == b[2], name
