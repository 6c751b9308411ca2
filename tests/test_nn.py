"""``nanotorch.nn``: Module registration and traversal, state dicts, modes, layers, init,
containers and reprs; layers against PyTorch with the same weights."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.nn import init

RNG = np.random.default_rng(2)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.bn = nn.BatchNorm1d(5)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(self.drop(self.act(self.bn(self.fc1(x)))))


MLP_REPR = """MLP(
  (fc1): Linear(in_features=6, out_features=5, bias=True)
  (bn): BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (act): ReLU()
  (drop): Dropout(p=0.25, inplace=False)
  (fc2): Linear(in_features=5, out_features=3, bias=True)
)"""


def test_the_seed_readme_block_runs(capsys):
    from nanotorch.loss import CrossEntropyLoss
    from nanotorch.nn import Linear, Module, ReLU

    class SimpleNet(Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Linear(784, 128); self.relu = ReLU(); self.fc2 = Linear(128, 10)  # noqa: E702

        def forward(self, x):
            return self.fc2(self.relu(self.fc1(x)))

    model = SimpleNet(); criterion = CrossEntropyLoss()  # noqa: E702
    x = nt.randn(32, 784); y = nt.randint(0, 10, (32,))  # noqa: E702
    loss = criterion(model(x), y); loss.backward(); print(f"Loss: {loss.data:.4f}")  # noqa: E702
    printed = capsys.readouterr().out
    assert printed.startswith("Loss: ") and abs(float(printed[6:]) - math.log(10)) < 0.5
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_seed_spellings_of_batch_norm():
    from nanotorch.nn import BatchNorm1D, BatchNorm2D
    assert BatchNorm1D is nn.BatchNorm1d and BatchNorm2D is nn.BatchNorm2d


# ------------------------------------------------------------------ registration
def test_registration_order_and_names():
    model = MLP()
    assert [n for n, _ in model.named_parameters()] == [
        "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in model.named_buffers()] == [
        "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [n for n, _ in model.named_children()] == ["fc1", "bn", "act", "drop", "fc2"]
    assert list(model.children())[0] is model.fc1
    assert [n for n, _ in model.named_modules()] == ["", "fc1", "bn", "act", "drop", "fc2"]
    assert len(list(model.modules())) == 6 and len(list(model.parameters())) == 6
    assert list(model.parameters(recurse=False)) == []
    assert list(model.state_dict()) == [
        "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
        "bn.num_batches_tracked", "fc2.weight", "fc2.bias"]


def test_shared_parameters_are_listed_once():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    model.append(model[0])
    assert len(list(model.parameters())) == 2


def test_setattr_rules():
    m = nn.Module()
    m.w = nn.Parameter(nt.ones(2))
    m.register_buffer("stat", nt.zeros(2))
    m.register_buffer("scratch", nt.zeros(1), persistent=False)
    m.plain = nt.ones(3)  # a plain Tensor attribute is not registered
    assert list(m.state_dict()) == ["w", "stat"]
    assert [n for n, _ in m.named_buffers()] == ["stat", "scratch"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = nt.ones(2)
    m.w = None
    assert list(m.parameters()) == [] and m.w is None
    m.stat = nt.full((2,), 5.0)
    np.testing.assert_array_equal(m.state_dict()["stat"].data, [5, 5])
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", nt.ones(1))
    with pytest.raises(KeyError, match=r"contain '\.'"):
        m.register_parameter("a.b", None)
    del m.stat
    assert "stat" not in m.state_dict()
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        _ = m.missing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(nt.ones(1))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\)"):
        Early()


def test_registered_values_are_instance_attributes_in_step_with_the_registries():
    # ``m.w`` is a plain attribute read (no __getattr__), and always the registered value
    m = nn.Module()
    m.w = nn.Parameter(nt.ones(2))
    m.register_buffer("b", nt.zeros(1))
    m.child = nn.Linear(2, 2)
    for name, registry in (("w", m._parameters), ("b", m._buffers), ("child", m._modules)):
        assert vars(m)[name] is registry[name] is getattr(m, name)
    m.w, m.b = None, nt.ones(1)  # re-assigning a registered name
    assert vars(m)["w"] is None and m.w is None and m._parameters["w"] is None
    assert m.b is m._buffers["b"] and m.b.item() == 1
    m.register_parameter("w", nn.Parameter(nt.zeros(3)))
    assert m.w is m._parameters["w"] and m.w.shape == (3,)
    m.b = nn.Parameter(nt.ones(1))  # a buffer's name taken by a parameter: it moves registry
    assert "b" not in m._buffers and m.b is m._parameters["b"]
    del m.w, m.child
    assert "w" not in vars(m) and "child" not in vars(m) and list(m._modules) == []
    with pytest.raises(AttributeError, match="has no attribute 'w'"):
        _ = m.w


def test_parameter():
    t = nt.ones(2, 2)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and isinstance(p, nt.Tensor)
    assert repr(p) == "Parameter containing:\ntensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    t.data[0, 0] = 7  # shares memory with the tensor it was made from
    assert p.data[0, 0] == 7
    assert not nn.Parameter(nt.ones(1), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(nt.tensor([1, 2]))


def test_train_eval_recursion_apply_and_zero_grad():
    model = nn.Sequential(MLP(), nn.Sequential(nn.Dropout()))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Sequential" and seen[0] == "Linear" and len(seen) == 9

    model[0](nt.randn(4, 6)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_double_keeps_integer_buffers_and_rejects_other_devices():
    model = MLP().double()
    assert all(p.dtype == nt.float64 for p in model.parameters())
    assert model.bn.running_mean.dtype == nt.float64
    assert model.bn.num_batches_tracked.dtype == nt.int64
    assert model(nt.randn(4, 6, dtype=nt.float64)).dtype == nt.float64
    assert model.to("cpu", nt.float32).fc1.weight.dtype == nt.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        model.to(nt.int64)


def test_deepcopy_gives_independent_parameters():
    model = MLP()
    clone = copy.deepcopy(model)
    clone.fc1.weight.data[...] = 0
    assert model.fc1.weight.data.any()
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]


# ------------------------------------------------------------------- state dict
def test_state_dict_round_trip_and_dtype_kept():
    a, b = MLP(), MLP()
    sd = {k: v.data.astype(np.float64) for k, v in a.state_dict().items()}  # NumPy float64 values
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(pa.data, pb.data, err_msg=name)
        assert pb.dtype == pa.dtype
    assert b.bn.num_batches_tracked.shape == () and b.bn.num_batches_tracked.dtype == nt.int64
    weight = b.fc1.weight
    b.load_state_dict(a.state_dict())
    assert b.fc1.weight is weight  # loaded in place


def test_state_dict_values_share_memory_and_are_detached():
    model = nn.Linear(2, 2)
    sd = model.state_dict()
    assert not sd["weight"].requires_grad
    assert np.shares_memory(sd["weight"].data, model.weight.data)


def test_load_state_dict_errors():
    model = MLP()
    before = model.fc1.weight.data.copy()
    sd = {k: v.data * 0 for k, v in model.state_dict().items()}
    del sd["fc2.bias"]
    sd["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "fc2.bias"') as err:
        model.load_state_dict(sd)
    assert 'Unexpected key(s) in state_dict: "extra"' in str(err.value)
    np.testing.assert_array_equal(model.fc1.weight.data, before)  # nothing copied
    result = model.load_state_dict(sd, strict=False)
    assert result == (["fc2.bias"], ["extra"])
    assert not model.fc1.weight.data.any()
    sd = model.state_dict()
    sd["fc1.weight"] = np.zeros((6, 5))
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight.*\(6, 5\).*\(5, 6\)"):
        model.load_state_dict(sd, strict=False)


# ------------------------------------------------------------------------ layers
def test_linear_default_init():
    nt.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and p.dtype == nt.float32
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    nt.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.data, layer.weight.data)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=nt.float64).weight.dtype == nt.float64


def test_init_functions():
    nt.manual_seed(0)
    w = nn.Parameter(nt.empty(200, 100))
    assert init.xavier_uniform_(w) is w
    assert np.abs(w.data).max() <= math.sqrt(6 / 300)
    init.kaiming_normal_(w, nonlinearity="relu")
    assert w.data.std() == pytest.approx(math.sqrt(2 / 100), rel=0.03)
    init.kaiming_uniform_(w, mode="fan_out")  # a=0: gain sqrt(2), bound sqrt(6 / fan_out)
    assert np.abs(w.data).max() == pytest.approx(math.sqrt(6 / 200), rel=1e-3)
    init.xavier_normal_(w, gain=2.0)
    assert w.data.std() == pytest.approx(2 * math.sqrt(2 / 300), rel=0.03)
    init.normal_(w, 3.0, 0.5)
    assert w.data.mean() == pytest.approx(3.0, abs=0.01)
    init.uniform_(w, -2, -1)
    assert w.data.min() >= -2 and w.data.max() <= -1
    init.constant_(w, 0.5)
    assert (w.data == 0.5).all() and w.dtype == nt.float32 and w.requires_grad
    assert not init.zeros_(w).data.any() and (init.ones_(w).data == 1).all()
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(nt.empty(5))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_dropout_module_follows_the_mode():
    drop = nn.Dropout(0.5)
    x = nt.ones(100, 100)
    y = drop(x)
    assert 0.45 < (y.data == 0).mean() < 0.55 and abs(y.data.mean() - 1) < 0.05
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)


def test_batch_norm_rules():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn(nt.randn(1, 3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        bn(nt.randn(2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(nt.randn(2, 3))
    bn.eval()
    assert bn(nt.randn(1, 3)).shape == (1, 3)  # one sample is fine with running stats
    plain = nn.BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    assert list(plain.state_dict()) == []
    y = plain(nt.randn(8, 3) * 5 + 2)  # no running stats: eval uses the batch's
    np.testing.assert_allclose(y.data.mean(0), 0, atol=1e-5)


def test_containers():
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and seq[1] is list(seq)[1]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    x = nt.randn(5, 4)
    np.testing.assert_allclose(seq(x).data, seq[2](seq[1](seq[0](x))).data)
    with pytest.raises(IndexError):
        seq[3]
    named = nn.Sequential(OrderedDict([("enc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["enc.weight", "enc.bias"]
    assert list(named[1:]._modules) == ["act"]
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Identity())
    layers += [nn.Sigmoid()]
    assert len(layers) == 5 and len(list(layers.parameters())) == 6
    layers[0] = nn.Tanh()
    assert isinstance(layers[0], nn.Tanh) and len(list(layers.parameters())) == 4
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3", "4"]


def test_reprs():
    assert repr(MLP()) == MLP_REPR
    assert repr(nn.Conv2d(1, 32, 3)) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, bias=False)) == \
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), bias=False)"
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    nested = nn.Sequential(nn.Sequential(nn.Identity()), nn.Tanh())
    assert repr(nested) == "Sequential(\n  (0): Sequential(\n    (0): Identity()\n  )\n  (1): Tanh()\n)"


def test_a_small_model_learns():
    nt.manual_seed(0)
    x = nt.randn(64, 2)
    y = nt.tensor((x.data[:, 0] * x.data[:, 1] > 0).astype(np.int64))
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 2))
    criterion = nn.CrossEntropyLoss()
    first = None
    for _ in range(150):
        loss = criterion(model(x), y)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with nt.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < 0.3 * first


# ------------------------------------------------------------- PyTorch parity
def _to_torch(torch, model: nn.Module, torch_model):
    """Load nanotorch's weights into the torch model (nanotorch -> torch)."""
    torch_model.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                                 for k, v in model.state_dict().items()})
    return torch_model


def _check_same(torch, model, torch_model, x: np.ndarray, rtol=1e-4, atol=1e-5):
    """Forward and backward agree: outputs, input gradient, every parameter gradient."""
    xn = nt.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yn, yt = model(xn), torch_model(xt)
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    r = RNG.standard_normal(yn.shape).astype(np.float32)
    (yn * nt.tensor(r)).sum().backward()
    (yt * torch.from_numpy(r)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=rtol, atol=atol)
    torch_params = dict(torch_model.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.data, torch_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def torch_mlp(torch):
    """``MLP`` written with torch.nn (same names, so state dicts match)."""
    tnn = torch.nn
    return tnn.Sequential(OrderedDict([("fc1", tnn.Linear(6, 5)), ("bn", tnn.BatchNorm1d(5)),
                                       ("act", tnn.ReLU()), ("drop", tnn.Dropout(0.25)),
                                       ("fc2", tnn.Linear(5, 3))]))


@pytest.mark.torch
def test_state_dict_round_trip_through_torch(torch):
    model = MLP()
    model(nt.randn(8, 6))  # move the running stats
    torch_model = _to_torch(torch, model, torch_mlp(torch))
    back = MLP()
    back.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})
    for (k, a), b in zip(model.state_dict().items(), back.state_dict().values()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=k)
        assert a.dtype == b.dtype
    back.load_state_dict(torch_model.state_dict())  # torch tensors load directly too
    model.eval(), torch_model.eval()
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_allclose(model(nt.tensor(x)).data, torch_model(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("make,shape", [
    (lambda m: m.Linear(7, 4), (5, 7)),
    (lambda m: m.Linear(7, 4, bias=False), (2, 3, 7)),
    (lambda m: m.Conv2d(3, 4, 3), (2, 3, 6, 6)),
    (lambda m: m.Conv2d(3, 4, (3, 2), stride=2, padding=1, bias=False), (2, 3, 7, 6)),
    (lambda m: m.MaxPool2d(2), (2, 3, 6, 6)),
    (lambda m: m.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    (lambda m: m.AvgPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    (lambda m: m.LeakyReLU(0.2), (4, 5)),
    (lambda m: m.Softmax(dim=1), (4, 5)),
    (lambda m: m.LogSoftmax(dim=-1), (4, 5)),
    (lambda m: m.Flatten(), (2, 3, 2, 2)),
    (lambda m: m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(), m.MaxPool2d(2),
                            m.Flatten(), m.Linear(36, 3)), (3, 1, 6, 6)),
])
def test_layers_match_torch(torch, backend, make, shape):
    model = make(nn)
    torch_model = _to_torch(torch, model, make(torch.nn))
    _check_same(torch, model, torch_model, RNG.standard_normal(shape).astype(np.float32))


@pytest.mark.torch
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 4)), ("BatchNorm1d", (6, 4, 3)),
                                       ("BatchNorm2d", (4, 4, 3, 3))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_training_steps_and_eval_match_torch(torch, backend, cls, shape, momentum):
    bn = getattr(nn, cls)(4, momentum=momentum)
    tbn = getattr(torch.nn, cls)(4, momentum=momentum)
    with nt.no_grad():
        init.uniform_(bn.weight, 0.5, 1.5)
        init.uniform_(bn.bias, -1, 1)
    _to_torch(torch, bn, tbn)
    for _ in range(3):
        x = (RNG.standard_normal(shape) * 3 + 1).astype(np.float32)
        bn.zero_grad(), tbn.zero_grad()
        _check_same(torch, bn, tbn, x)
    tsd = tbn.state_dict()
    for k, v in bn.state_dict().items():
        np.testing.assert_allclose(v.data, tsd[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    bn.eval(), tbn.eval()
    bn.zero_grad(), tbn.zero_grad()
    _check_same(torch, bn, tbn, RNG.standard_normal(shape).astype(np.float32))
