"""The activation layers, losses and containers PyTorch tutorials use (session 13): outputs and
gradients against values checked in PyTorch 2.13, reprs, state_dict keys and errors; and the same
against PyTorch itself where it is installed (the ``torch`` fixture skips otherwise)."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn
import nanotorch.nn.functional as F

X = [-4.0, -3.0, -1.0, 0.0, 0.5, 3.0, 4.0]

# (module, output at X, gradient of sum(output) at X): PyTorch 2.13's values, to 6 decimals
KNOWN = [
    ("ELU(0.5)", [-0.490842, -0.475106, -0.31606, 0.0, 0.5, 3.0, 4.0],
     [0.009158, 0.024894, 0.18394, 0.5, 1.0, 1.0, 1.0]),
    ("SELU()", [-1.725899, -1.670569, -1.111331, 0.0, 0.525351, 3.152103, 4.202804],
     [0.032201, 0.087531, 0.646769, 1.758099, 1.050701, 1.050701, 1.050701]),
    ("CELU(2.0)", [-1.729329, -1.55374, -0.786939, 0.0, 0.5, 3.0, 4.0],
     [0.135335, 0.22313, 0.606531, 1.0, 1.0, 1.0, 1.0]),
    ("Mish()", [-0.072592, -0.145647, -0.303401, 0.0, 0.375245, 2.986535, 3.997413],
     [-0.053773, -0.093393, 0.059217, 0.6, 0.886424, 1.021107, 1.004433]),
    ("Softplus(2.0, 5.0)", [0.000168, 0.001238, 0.063464, 0.346574, 0.656631, 3.0, 4.0],
     [0.000335, 0.002473, 0.119203, 0.5, 0.731059, 1.0, 1.0]),
    ("Softsign()", [-0.8, -0.75, -0.5, 0.0, 0.333333, 0.75, 0.8],
     [0.04, 0.0625, 0.25, 1.0, 0.444444, 0.0625, 0.04]),
    ("Hardtanh(-2.0, 3.0)", [-2.0, -2.0, -1.0, 0.0, 0.5, 3.0, 3.0], [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]),
    ("ReLU6()", [0.0, 0.0, 0.0, 0.0, 0.5, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
    ("Hardsigmoid()", [0.0, 0.0, 0.333333, 0.5, 0.583333, 1.0, 1.0],
     [0.0, 0.0, 0.166667, 0.166667, 0.166667, 0.0, 0.0]),
    ("Hardswish()", [-0.0, -0.0, -0.333333, 0.0, 0.291667, 3.0, 4.0],
     [0.0, 0.0, 0.166667, 0.5, 0.666667, 1.0, 1.0]),
    ("LogSigmoid()", [-4.01815, -3.048587, -1.313262, -0.693147, -0.474077, -0.048587, -0.01815],
     [0.982014, 0.952574, 0.731059, 0.5, 0.377541, 0.047426, 0.017986]),
    ("PReLU()", [-1.0, -0.75, -0.25, 0.0, 0.5, 3.0, 4.0], [0.25, 0.25, 0.25, 0.25, 1.0, 1.0, 1.0]),
    ("Threshold(0.5, -1.0)", [-1.0, -1.0, -1.0, -1.0, -1.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("expr, out, grad", KNOWN, ids=[k[0] for k in KNOWN])
def test_activation_known_values_and_gradients(expr, out, grad):
    x = nt.tensor(X, requires_grad=True)
    y = eval("nn." + expr)(x)
    assert y.dtype == nt.float32 and y.shape == (7,)
    np.testing.assert_allclose(y.detach().numpy(), out, atol=2e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), grad, atol=2e-6)


def test_softmin_known_values_and_implicit_dim_warning():
    x = nt.tensor(X, requires_grad=True)
    y = nn.Softmin(0)(x)
    np.testing.assert_allclose(y.detach().numpy(), [0.690446, 0.254001, 0.034375, 0.012646, 0.00767,
                                                    0.00063, 0.000232], atol=2e-6)
    (y * nt.arange(1.0, 8.0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.273353, -0.15344, -0.055141, -0.032931, -0.027644,
                                                -0.002899, -0.001298], atol=2e-6)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        rows = nn.Softmin()(nt.randn(2, 3))  # PyTorch's legacy choice for 2-D: dim 1
    np.testing.assert_allclose(rows.sum(1).numpy(), [1, 1], rtol=1e-6)


def test_glu_halves_the_dim():
    x = nt.tensor([[1.0, -2.0, 0.0, 3.0]], requires_grad=True)
    y = nn.GLU()(x)  # a = [1, -2], b = [0, 3]
    s3 = 1 / (1 + math.exp(-3))
    np.testing.assert_allclose(y.detach().numpy(), [[0.5, -2 * s3]], rtol=1e-6)
    y.sum().backward()  # da = sigmoid(b), db = a * s (1 - s)
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, s3, 0.25, -2 * s3 * (1 - s3)]], rtol=1e-6)
    assert nn.GLU(0)(nt.ones(4, 3)).shape == (2, 3)
    with pytest.raises(ValueError, match="halving dimension must be even, but dimension -1 is size 3"):
        F.glu(nt.ones(2, 3))
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        F.glu(nt.ones(2, 4), 2)


def test_prelu_per_channel_weight_gradient():
    m = nn.PReLU(2, init=0.5)
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (2,)
    np.testing.assert_array_equal(m.weight.detach().numpy(), [0.5, 0.5])
    x = nt.tensor([[[-1.0, 2.0], [-3.0, 4.0]], [[-5.0, 0.0], [6.0, -8.0]]], requires_grad=True)  # [2, C=2, 2]
    y = m(x)
    np.testing.assert_array_equal(y.detach().numpy(), [[[-0.5, 2], [-1.5, 4]], [[-2.5, 0], [6, -4]]])
    y.sum().backward()
    # dw[c] = sum of x over the non-positive entries of channel c; dx = 1 or w there
    np.testing.assert_array_equal(m.weight.grad.numpy(), [-6.0, -11.0])
    np.testing.assert_array_equal(x.grad.numpy(), [[[0.5, 1], [0.5, 1]], [[0.5, 0.5], [1, 0.5]]])


def test_prelu_weight_gradient_is_finite_at_infinity():
    w = nt.tensor([0.25], requires_grad=True)
    F.prelu(nt.tensor([np.inf, -1.0, 2.0]), w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [-1.0])  # where(x > 0, x, w x) would give NaN


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on -inf * 0 (NaN, as PyTorch)
def test_hardswish_gradient_at_infinity():
    x = nt.tensor([np.inf, -np.inf], requires_grad=True)
    F.hardswish(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0])


def test_prelu_errors():
    with pytest.raises(ValueError, match="weight has 3 slopes but the input of shape \\(2, 4\\) has 4"):
        nn.PReLU(3)(nt.ones(2, 4))
    with pytest.raises(ValueError, match="has 1 channel"):
        nn.PReLU(3)(nt.ones(3))
    with pytest.raises(ValueError, match="scalar or 1-D"):
        F.prelu(nt.ones(2, 3), nt.ones(1, 3))
    with pytest.raises(TypeError, match="prelu: weight has dtype float64 but the input has dtype float32"):
        F.prelu(nt.ones(2, 3), nt.ones(3, dtype=nt.float64))
    assert F.prelu(nt.tensor(-2.0), nt.tensor(0.5)).shape == ()


@pytest.mark.parametrize("fn", [F.selu, F.celu, F.mish, F.hardsigmoid, F.hardswish, F.glu, F.prelu,
                                lambda x: F.softmin(x, 0)])
def test_integer_input_is_refused(fn):
    with pytest.raises(TypeError, match="floating point"):
        fn(nt.tensor([1, 2])) if fn is not F.prelu else fn(nt.tensor([1, 2]), nt.tensor([1]))


def test_activation_argument_errors():
    with pytest.raises(ValueError, match="max_val \\(1\\) must be greater than min_val \\(1\\)"):
        nn.Hardtanh(1, 1)
    with pytest.raises(ValueError, match="alpha cannot be 0"):
        nn.CELU(0.0)(nt.ones(2))


def test_threshold_keeps_nan_and_integers():
    y = F.threshold(nt.tensor([np.nan, 0.1, 2.0]), 0.5, 7.0)
    np.testing.assert_array_equal(y.numpy(), [np.nan, 7.0, 2.0])
    ints = F.threshold(nt.tensor([1, 2, 3]), 1.5, 0)
    assert ints.dtype == nt.int64 and ints.tolist() == [0, 2, 3]


ACTIVATION_REPRS = [
    ("ELU()", "ELU(alpha=1.0)"), ("ELU(0.5, inplace=True)", "ELU(alpha=0.5, inplace=True)"),
    ("SELU(True)", "SELU(inplace=True)"), ("CELU(2.0)", "CELU(alpha=2.0)"), ("Mish()", "Mish()"),
    ("Softplus(2, 10)", "Softplus(beta=2, threshold=10)"), ("Softsign()", "Softsign()"),
    ("Hardtanh()", "Hardtanh(min_val=-1.0, max_val=1.0)"),
    ("Hardtanh(-2, 3, True)", "Hardtanh(min_val=-2, max_val=3, inplace=True)"),
    ("ReLU6(True)", "ReLU6(inplace=True)"), ("Hardsigmoid(True)", "Hardsigmoid()"),
    ("Hardswish()", "Hardswish()"), ("LogSigmoid()", "LogSigmoid()"), ("Softmin()", "Softmin(dim=None)"),
    ("PReLU(3)", "PReLU(num_parameters=3)"),
    ("Threshold(0.1, 20)", "Threshold(threshold=0.1, value=20)"), ("GLU()", "GLU(dim=-1)"),
    ("ReLU(inplace=True)", "ReLU(inplace=True)"), ("LeakyReLU(0.2)", "LeakyReLU(negative_slope=0.2)"),
    ("SmoothL1Loss()", "SmoothL1Loss()"), ("HuberLoss()", "HuberLoss()"), ("KLDivLoss()", "KLDivLoss()"),
    ("Unflatten(1, (2, 5))", "Unflatten(dim=1, unflattened_size=(2, 5))"),
    ("Unflatten(-1, [2, 5])", "Unflatten(dim=-1, unflattened_size=[2, 5])"),
]


@pytest.mark.parametrize("expr, text", ACTIVATION_REPRS, ids=[r[0] for r in ACTIVATION_REPRS])
def test_repr_as_pytorch(expr, text):
    assert repr(eval("nn." + expr)) == text


# --------------------------------------------------------------------------- losses
def test_smooth_l1_and_huber_known_values():
    x, y = nt.tensor([0.2, 1.0, -3.0], requires_grad=True), nt.tensor([0.0, 0.0, 0.0])
    loss = nn.SmoothL1Loss(reduction="none", beta=0.5)(x, y)  # 0.5 d^2 / beta, else |d| - beta / 2
    np.testing.assert_allclose(loss.detach().numpy(), [0.04, 0.75, 2.75], rtol=1e-6)
    nn.SmoothL1Loss(beta=0.5)(x, y).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.array([0.4, 1.0, -1.0]) / 3, rtol=1e-6)
    huber = nn.HuberLoss("sum", 2.0)  # reduction is PyTorch's first parameter here: positional
    assert huber.reduction == "sum" and huber.delta == 2.0
    np.testing.assert_allclose(huber(x, y).item(), 0.02 + 0.5 + 2 * (3 - 1), rtol=1e-6)


def test_kl_div_loss_known_values():
    log_p = nt.tensor([[math.log(0.5), math.log(0.5)]], requires_grad=True)
    q = nt.tensor([[0.25, 0.75]])
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    np.testing.assert_allclose(nn.KLDivLoss(reduction="batchmean")(log_p, q).item(), expected, rtol=1e-6)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):  # as PyTorch
        np.testing.assert_allclose(nn.KLDivLoss()(log_p, q).item(), expected / 2, rtol=1e-6)
    np.testing.assert_allclose(nn.KLDivLoss(reduction="sum", log_target=True)(log_p, q.log()).item(),
                               expected, rtol=1e-6)
    nn.KLDivLoss(reduction="batchmean")(log_p, q).backward()
    np.testing.assert_allclose(log_p.grad.numpy(), [[-0.25, -0.75]], rtol=1e-6)


def test_loss_reduction_keyword_only_and_checked():
    for cls in (nn.SmoothL1Loss, nn.KLDivLoss):
        with pytest.raises(TypeError):
            cls("sum")  # PyTorch's slot there is size_average
    with pytest.raises(ValueError, match="reduction='batchmean' is not valid"):
        nn.SmoothL1Loss(reduction="batchmean")
    with pytest.raises(ValueError, match="reduction='x' is not valid"):
        nn.HuberLoss("x")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


# ----------------------------------------------------------------------- containers
def test_module_dict_api_and_registration():
    d = nn.ModuleDict({"b": nn.Linear(2, 3), "a": nn.ReLU()})
    d["c"] = nn.Linear(3, 1)
    assert list(d) == list(d.keys()) == ["b", "a", "c"] and len(d) == 3 and "a" in d and "z" not in d
    assert [type(m).__name__ for m in d.values()] == ["Linear", "ReLU", "Linear"]
    assert list(d.state_dict()) == ["b.weight", "b.bias", "c.weight", "c.bias"]
    assert len(list(d.parameters())) == 4
    d.update([("z", nn.Tanh()), ("b", nn.Linear(2, 2))])  # b is replaced in its place
    assert list(d) == ["b", "a", "c", "z"] and d["b"].out_features == 2
    assert isinstance(d.pop("a"), nn.ReLU) and list(d) == ["b", "c", "z"]
    del d["z"]
    assert [k for k, _ in d.items()] == ["b", "c"] and not hasattr(d, "z")
    model = nn.Module()
    model.heads = d
    assert list(model.state_dict()) == ["heads.b.weight", "heads.b.bias", "heads.c.weight", "heads.c.bias"]
    d.clear()
    assert len(d) == 0 and list(model.state_dict()) == []


def test_module_dict_errors():
    d = nn.ModuleDict()
    with pytest.raises(KeyError):
        d["x"]
    with pytest.raises(KeyError):
        del d["x"]
    with pytest.raises(KeyError):
        d.pop("x")
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.ModuleDict({"a": 3})
    with pytest.raises(TypeError, match="should be called with an iterable of key/value pairs, but got int"):
        nn.ModuleDict(3)
    with pytest.raises(ValueError, match="element #0 has length 1; 2 is required"):
        nn.ModuleDict([("a",)])
    with pytest.raises(TypeError, match="element #0 should be Iterable; is int"):
        nn.ModuleDict([3])


def test_parameter_list_registers_and_wraps_tensors():
    pl = nn.ParameterList([nn.Parameter(nt.ones(2, 3)), nt.zeros(4)])
    assert isinstance(pl[1], nn.Parameter) and pl[1].requires_grad and pl[-1] is pl[1]
    pl.append(nt.ones(1)).extend([nt.ones(2, 2, dtype=nt.float64)])
    pl += [nt.ones(5)]
    assert len(pl) == 5 and list(pl.state_dict()) == ["0", "1", "2", "3", "4"]
    assert [p.shape for p in pl.parameters()] == [(2, 3), (4,), (1,), (2, 2), (5,)]
    assert [p.shape for p in pl[1:3]] == [(4,), (1,)]
    pl[0] = nt.ones(7)
    assert pl[0].shape == (7,) and list(pl.state_dict())[0] == "0"
    assert repr(nn.ParameterList([nt.ones(2, 3), nt.ones(2, dtype=nt.float64)])) == (
        "ParameterList(\n    (0): Parameter containing: [nanotorch.float32 of size 2x3]\n"
        "    (1): Parameter containing: [nanotorch.float64 of size 2]\n)")
    with pytest.raises(IndexError):
        pl[5]
    with pytest.raises(TypeError, match="should be called with an iterable"):
        pl.extend(nt.ones(3))
    with pytest.raises(TypeError, match="holds tensors"):
        pl.append(3.0)
    with pytest.raises(RuntimeError, match="should not be called"):
        pl()


def test_parameter_dict_registers_and_trains():
    pd = nn.ParameterDict({"w": nt.ones(2, 3), "b": nn.Parameter(nt.zeros(3))})  # a dict: sorted
    assert list(pd) == ["b", "w"] and isinstance(pd["w"], nn.Parameter)
    pd.update(OrderedDict([("z", nt.ones(1)), ("a", nt.ones(1))]))  # an OrderedDict: its order
    assert list(pd.keys()) == ["b", "w", "z", "a"] and list(pd.state_dict()) == ["b", "w", "z", "a"]
    assert pd.pop("z").shape == (1,) and "z" not in pd and pd.get("z") is None
    del pd["a"]
    assert len(pd) == 2 and len(list(pd.parameters())) == 2
    (nt.ones(2, 3) @ pd["b"]).sum().backward()  # registered parameters get gradients
    np.testing.assert_array_equal(pd["b"].grad.numpy(), [2, 2, 2])
    assert repr(pd) == ("ParameterDict(\n    (b): Parameter containing: [nanotorch.FloatTensor of size 3]\n"
                        "    (w): Parameter containing: [nanotorch.FloatTensor of size 2x3]\n)")
    with pytest.raises(TypeError, match="should be a string"):
        pd[1] = nt.ones(1)


def test_sequential_append_insert_extend_delete_renumber():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4))
    assert seq.append(nn.Tanh()) is seq and seq.insert(1, nn.ELU()) is seq
    assert [type(m).__name__ for m in seq] == ["Linear", "ELU", "ReLU", "Linear", "Tanh"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    del seq[0]
    assert list(seq.state_dict()) == ["2.weight", "2.bias"] and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[-2:]
    seq.extend([nn.Linear(3, 3), nn.Sigmoid()])
    assert [type(m).__name__ for m in seq] == ["ELU", "ReLU", "Linear", "Sigmoid"]
    assert isinstance(seq.pop(2), nn.Linear) and len(seq) == 3 and not hasattr(seq, "3")
    seq.insert(-1, nn.Linear(1, 1))
    assert [type(m).__name__ for m in seq] == ["ELU", "ReLU", "Linear", "Sigmoid"]
    with pytest.raises(IndexError):
        seq.insert(5, nn.ReLU())
    with pytest.raises(IndexError):
        del seq[4]
    with pytest.raises(TypeError, match="not a Module subclass"):
        seq.insert(0, 3)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    del named[1]  # as PyTorch, deleting renumbers the rest
    assert list(named.state_dict()) == ["0.weight", "0.bias"]


def test_module_list_insert_and_delete():
    ml = nn.ModuleList([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4)])
    assert ml.insert(0, nn.Tanh()) is None
    assert list(ml.state_dict()) == ["1.weight", "1.bias", "3.weight", "3.bias"]
    del ml[1:3]
    assert [type(m).__name__ for m in ml] == ["Tanh", "Linear"]
    assert list(ml.state_dict()) == ["1.weight", "1.bias"] and ml[1] is ml._modules["1"]
    with pytest.raises(TypeError, match="should be called with an iterable"):
        ml.extend(3)


def test_unflatten_shapes_gradient_and_errors():
    x = nt.arange(24.0).reshape(2, 12).requires_grad_()
    y = nn.Unflatten(1, (3, -1))(x)
    assert y.shape == (2, 3, 4) and y[1, 2, 3].item() == 23
    y.sum().backward()
    assert x.grad.shape == (2, 12)
    assert nn.Unflatten(-1, [2, 2, 3])(x).shape == (2, 2, 2, 3)
    with pytest.raises(ValueError, match="Provided sizes \\[5, 2\\] don't multiply up to the size of dim 1"):
        nn.Unflatten(1, (5, 2))(x)
    with pytest.raises(TypeError, match="must be a tuple of ints, but found type int"):
        nn.Unflatten(1, 6)
    with pytest.raises(TypeError, match="found element of type float at pos 0"):
        nn.Unflatten(1, (2.0, 3))
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        nn.Unflatten(2, (2, 6))(x)


# ---------------------------------------------------------------- against PyTorch
ACTIVATIONS = ["ELU()", "ELU(0.5)", "SELU()", "CELU()", "CELU(0.3)", "Mish()", "Softplus()",
               "Softplus(2.0, 5.0)", "Softsign()", "Hardtanh()", "Hardtanh(-2.0, 3.0)", "ReLU6()",
               "Hardsigmoid()", "Hardswish()", "LogSigmoid()", "Softmin(1)", "PReLU()", "PReLU(4, 0.1)",
               "Threshold(0.1, 20.0)", "GLU()", "GLU(1)"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on the infinities
@pytest.mark.parametrize("expr", ACTIVATIONS)
@pytest.mark.parametrize("special", [False, True], ids=["random", "special"])
def test_activations_match_torch(torch, expr, special):
    ours, theirs = eval("nn." + expr), eval("torch.nn." + expr)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    if special:  # kinks, the +-3 of the hard ones, far tails and infinities
        data = np.array([-np.inf, -100, -30, -4, -3, -1, -1e-8, 0, 1e-8, 0.5, 3, 4, 5.5, 30, 100, np.inf] * 2)
        data = data.reshape(2, 4, 4)
    else:
        data = rng.standard_normal((3, 4, 6)) * 3
    data = data.astype(np.float32)
    for p, q in zip(ours.parameters(), theirs.parameters()):  # the same random slopes
        q.data.uniform_(-1, 1)
        p.data[...] = q.detach().numpy()
    x, t = nt.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, yt = ours(x), theirs(t)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=2e-6, atol=1e-7)
    w = rng.standard_normal(y.shape).astype(np.float32)
    (y * nt.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=2e-6, atol=1e-7)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


LOSSES = [f"SmoothL1Loss(reduction={r!r}, beta={b})" for r in ("mean", "sum", "none")
          for b in (1.0, 0.5, 0.0)] + \
         [f"HuberLoss({r!r}, {d})" for r in ("mean", "sum", "none") for d in (1.0, 0.3, 2.5)] + \
         [f"KLDivLoss(reduction={r!r}, log_target={lt})" for r in ("mean", "sum", "none", "batchmean")
          for lt in (False, True)]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's, on KLDivLoss's "mean"
@pytest.mark.parametrize("expr", LOSSES)
def test_losses_match_torch(torch, expr):
    ours, theirs = eval("nn." + expr), eval("torch.nn." + expr)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(1)
    if expr.startswith("KLDiv"):
        a = np.log(rng.dirichlet(np.ones(5), 4))
        b = rng.dirichlet(np.ones(5), 4)
        b[:, 0] = 0  # 0 * log 0 counts as 0
        b = np.log(b + 0.1) if "log_target=True" in expr else b
    else:
        a = rng.standard_normal((4, 5)) * 2
        b = a + rng.standard_normal((4, 5)) * np.where(rng.integers(0, 2, (4, 5)), 0.1, 3.0)
    a, b = a.astype(np.float32), b.astype(np.float32)
    x, t = nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = ours(x, nt.tensor(b)), theirs(t, torch.tensor(b))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=2e-6, atol=1e-7)
    w = rng.standard_normal(y.shape).astype(np.float32)
    (y * nt.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=2e-6, atol=1e-7)


def _containers(lib):
    """The same model in NanoTorch (``lib = nt``) or PyTorch, built and edited the same way."""
    m = lib.nn
    net = m.Module()
    net.blocks = m.ModuleDict({"enc": m.Sequential(m.Linear(2, 3), m.PReLU(3)), "dec": m.Linear(3, 2)})
    net.blocks.update([("z", m.ModuleList([m.Linear(1, 1), m.ReLU()])), ("act", m.Tanh())])
    net.blocks["enc"].insert(1, m.Linear(3, 3)).append(m.Softplus()).extend([m.Linear(3, 1)])
    del net.blocks["enc"][0]
    net.blocks["z"].insert(1, m.Linear(2, 2))
    del net.blocks["z"][0]
    net.ps = m.ParameterList([lib.ones(2), lib.ones(3, 1, dtype=lib.float64)])
    net.pd = m.ParameterDict({"scale": lib.ones(1), "bias": lib.zeros(2, 2)})
    net.un = m.Unflatten(1, (2, 3))
    return net


def test_containers_match_torch(torch):
    ours, theirs = _containers(nt), _containers(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert repr(ours).replace("nanotorch.", "torch.") == repr(theirs)
