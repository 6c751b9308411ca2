"""Recurrent layers (``nanotorch.nn.rnn``): cells computed by hand, shapes and layouts, errors,
gradients by finite differences, a small LSTM that learns, and (where installed) PyTorch with the
same weights."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.autograd.gradcheck import gradcheck
from nanotorch.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell


def _set(module, **values) -> None:
    """Overwrite parameters by name with the given values."""
    with nt.no_grad():
        for name, value in values.items():
            getattr(module, name).copy_(nt.tensor(np.asarray(value, dtype=np.float32)))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# ------------------------------------------------------------------ known answers
def test_rnn_cell_one_step_by_hand():
    cell = RNNCell(2, 1)
    _set(cell, weight_ih=[[1.0, 2.0]], weight_hh=[[0.5]], bias_ih=[0.1], bias_hh=[-0.2])
    x = nt.tensor([[1.0, -1.0]], requires_grad=True)
    h = cell(x, nt.tensor([[2.0]]))
    pre = 1 - 2 + 0.1 + 0.5 * 2 - 0.2
    np.testing.assert_allclose(h.detach().numpy(), [[math.tanh(pre)]], rtol=1e-6)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 - math.tanh(pre) ** 2] * 2] * np.array([1, 2]), rtol=1e-6)
    relu = RNNCell(2, 1, nonlinearity="relu")
    _set(relu, weight_ih=[[1.0, 2.0]], weight_hh=[[0.5]], bias_ih=[0.1], bias_hh=[-0.2])
    assert relu(x, nt.tensor([[2.0]])).item() == 0.0  # relu(-0.1)


def test_lstm_and_gru_cells_with_zero_weights_are_their_biases():
    lstm = LSTMCell(3, 1)
    _set(lstm, weight_ih=np.zeros((4, 3)), weight_hh=np.zeros((4, 1)), bias_ih=[0.5, 1.0, -0.5, 2.0],
         bias_hh=[0.0, 0.0, 0.0, 0.0])
    h, c = lstm(nt.randn(3), (nt.tensor([7.0]), nt.tensor([0.3])))  # unbatched
    c_want = _sigmoid(1.0) * 0.3 + _sigmoid(0.5) * math.tanh(-0.5)  # gates i, f, g, o
    np.testing.assert_allclose(c.detach().numpy(), [c_want], rtol=1e-6)
    np.testing.assert_allclose(h.detach().numpy(), [_sigmoid(2.0) * math.tanh(c_want)], rtol=1e-6)

    gru = GRUCell(3, 1)
    _set(gru, weight_ih=np.zeros((3, 3)), weight_hh=np.zeros((3, 1)), bias_ih=[0.2, -0.4, 0.6],
         bias_hh=[0.1, 0.3, -1.0])
    h = gru(nt.randn(1, 3), nt.tensor([[0.5]]))
    r, z = _sigmoid(0.3), _sigmoid(-0.1)  # gates r, z, n; b_hn sits inside r * (...)
    n = math.tanh(0.6 + r * -1.0)
    np.testing.assert_allclose(h.detach().numpy(), [[(1 - z) * n + z * 0.5]], rtol=1e-6)


def test_rnn_runs_its_cell_step_by_step():
    rnn, cell = GRU(3, 4), GRUCell(3, 4)
    _set(cell, **{name: getattr(rnn, name + "_l0").detach().numpy() for name in
                  ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    x = nt.randn(5, 2, 3)
    out, h_n = rnn(x)
    h = None
    for t in range(5):
        h = cell(x[t], h)
        np.testing.assert_allclose(out[t].detach().numpy(), h.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_n[0].detach().numpy(), h.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_parameters_names_shapes_and_init():
    lstm = LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    shapes = {k: tuple(v.shape) for k, v in lstm.state_dict().items()}
    assert list(shapes)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    assert shapes["weight_ih_l0_reverse"] == (20, 3) and shapes["weight_hh_l0"] == (20, 2)
    assert shapes["weight_ih_l1"] == (20, 4) and shapes["weight_hr_l1_reverse"] == (2, 5)
    assert len(shapes) == 2 * 2 * 5 and len(lstm.all_weights) == 4
    assert list(RNN(2, 3, bias=False).state_dict()) == ["weight_hh_l0", "weight_ih_l0"][::-1]
    bound = 1 / math.sqrt(5)
    values = np.concatenate([p.detach().numpy().ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    assert "proj_size=2" in repr(lstm) and "bidirectional=True" in repr(lstm)


def test_shapes_batch_first_unbatched_and_bidirectional_layout():
    gru = GRU(3, 4, num_layers=2, bidirectional=True)
    x = nt.randn(6, 2, 3)
    out, h_n = gru(x)
    assert out.shape == (6, 2, 8) and h_n.shape == (4, 2, 4)
    # the last layer's forward direction ends at step L-1, its backward direction at step 0
    np.testing.assert_allclose(out[-1, :, :4].detach().numpy(), h_n[2].detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(out[0, :, 4:].detach().numpy(), h_n[3].detach().numpy(), rtol=1e-6)

    first = GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    first.load_state_dict(gru.state_dict())
    out_bf, h_bf = first(x.transpose(0, 1))
    np.testing.assert_allclose(out_bf.transpose(0, 1).detach().numpy(), out.detach().numpy(), rtol=1e-6)
    # h_n is never batch first
    np.testing.assert_allclose(h_bf.detach().numpy(), h_n.detach().numpy(), rtol=1e-6)

    lstm = LSTM(3, 4)
    out, (h, c) = lstm(x[:, 0], (nt.zeros(1, 4), nt.zeros(1, 4)))  # unbatched
    assert out.shape == (6, 4) and h.shape == (1, 4) and c.shape == (1, 4)
    out_b, _ = lstm(x[:, :1])
    np.testing.assert_allclose(out.detach().numpy(), out_b[:, 0].detach().numpy(), rtol=1e-6)


def test_initial_state_is_used():
    rnn = RNN(2, 3, num_layers=2)
    x = nt.randn(4, 1, 2)
    h0 = nt.randn(2, 1, 3)
    a, _ = rnn(x)
    b, _ = rnn(x, nt.zeros(2, 1, 3))
    c, _ = rnn(x, h0)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


def test_dropout_between_layers_only_in_training():
    rnn = RNN(2, 3, num_layers=2, dropout=1.0)  # p=1: the second layer sees zeros
    x1, x2 = nt.randn(4, 1, 2), nt.randn(4, 1, 2)
    np.testing.assert_array_equal(rnn(x1)[0].detach().numpy(), rnn(x2)[0].detach().numpy())
    rnn.eval()
    assert not np.allclose(rnn(x1)[0].detach().numpy(), rnn(x2)[0].detach().numpy())
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        LSTM(2, 3, dropout=0.5)


@pytest.mark.parametrize("make", [
    lambda: RNN(2, 3, num_layers=2, bidirectional=True),
    lambda: LSTM(2, 3, proj_size=2),
    lambda: GRU(2, 3, bias=False, batch_first=True),
], ids=["rnn", "lstm-proj", "gru"])
def test_backprop_through_time_matches_finite_differences(make):
    """Gradients w.r.t. the input (``gradcheck``) and every parameter (central differences of
    ``sum(v * output)`` at each element), in float64."""
    nt.manual_seed(0)
    module = make().double()
    x = nt.randn(2, 3, 2, dtype=nt.float64, requires_grad=True)
    gradcheck(lambda x: module(x)[0], [x])
    v = nt.randn(*module(x)[0].shape, dtype=nt.float64)

    def loss() -> nt.Tensor:
        return (module(x)[0] * v).sum()

    module.zero_grad()
    loss().backward()
    eps = 1e-6
    for name, p in module.named_parameters():
        numeric = np.zeros(p.shape)
        with nt.no_grad():
            for i in np.ndindex(*p.shape):
                keep = p.data[i]
                p.data[i] = keep + eps
                up = loss().item()
                p.data[i] = keep - eps
                numeric[i] = (up - loss().item()) / (2 * eps)
                p.data[i] = keep
        np.testing.assert_allclose(p.grad.numpy(), numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def test_errors():
    with pytest.raises(ValueError, match="2D or 3D"):
        LSTM(3, 4)(nt.randn(2, 3, 3, 1))
    with pytest.raises(RuntimeError, match="input_size. Expected 3, got 5"):
        GRU(3, 4)(nt.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 3, 4\), got \[1, 2, 4\]"):
        LSTM(3, 4)(nt.randn(2, 3, 3), (nt.randn(1, 3, 4), nt.randn(1, 2, 4)))
    with pytest.raises(RuntimeError, match="hx should also be 2-D"):
        GRU(3, 4)(nt.randn(2, 3), nt.randn(1, 1, 4))
    with pytest.raises(RuntimeError, match="sequence length"):
        RNN(3, 4)(nt.randn(0, 1, 3))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number"):
        GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        LSTM(3, 0)
    with pytest.raises(TypeError, match="hidden_size should be of type int"):
        LSTM(3, 4.0)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        LSTM(3, 4, proj_size=4)
    with pytest.raises(RuntimeError, match="doesn't match hidden0 batch size"):
        LSTMCell(3, 4)(nt.randn(2, 3), (nt.randn(3, 4), nt.randn(2, 4)))
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        GRUCell(3, 4)(nt.randn(2, 5))
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D"):
        RNNCell(3, 4)(nt.randn(2, 2, 3))


def test_small_lstm_learns_to_sum_a_sequence():
    """Regression of the sum of 5 numbers from the last hidden state: the loss must fall."""
    start = time.perf_counter()
    nt.manual_seed(0)
    lstm, head = LSTM(1, 8, batch_first=True), nt.nn.Linear(8, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = nt.optim.Adam(params, lr=0.05)
    x = nt.rand(32, 5, 1) * 2 - 1
    y = x.sum(1)
    losses = []
    for _ in range(30):
        out, _ = lstm(x)
        loss = ((head(out[:, -1]) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------------- PyTorch
def _compare_with_torch(torch, ours, theirs, inputs_t) -> None:
    """Copy ``theirs``' weights into ``ours``, then compare every output and the gradients of a
    random weighted sum w.r.t. the inputs and every parameter."""
    ours.load_state_dict({k: nt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})

    def leaves(args):
        return [t for a in args if a is not None for t in (a if isinstance(a, tuple) else (a,))]

    def convert(a):
        return nt.tensor(a.detach().numpy(), requires_grad=True)

    inputs_n = [None if a is None else tuple(map(convert, a)) if isinstance(a, tuple) else convert(a)
                for a in inputs_t]

    def flat(out):
        return [t for o in out for t in flat(o)] if isinstance(out, tuple) else [out]

    outs_t, outs_n = flat(theirs(*inputs_t)), flat(ours(*inputs_n))
    rng = np.random.default_rng(0)
    loss_t = loss_n = 0
    for a, b in zip(outs_t, outs_n, strict=True):
        assert tuple(a.shape) == b.shape
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=2e-5, atol=2e-5)
        w = rng.standard_normal(b.shape).astype(np.float32)
        loss_t, loss_n = loss_t + (a * torch.tensor(w)).sum(), loss_n + (b * nt.tensor(w)).sum()
    loss_t.backward()
    loss_n.backward()
    for a, b in zip(leaves(inputs_t), leaves(inputs_n), strict=True):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=2e-5, atol=2e-5)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(mine[name].grad.numpy(), p.grad.numpy(), rtol=2e-5, atol=2e-5,
                                   err_msg=name)


SEQ_CASES = list(itertools.product(["RNN", "RNN-relu", "LSTM", "LSTM-proj", "GRU"],
                                   [(1, False, True), (2, True, False)], [True, False]))


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("kind, config, batched", SEQ_CASES,
                         ids=[f"{k}-{c[0]}layers-bi{c[1]}-{'batched' if b else 'unbatched'}"
                              for k, c, b in SEQ_CASES])
def test_sequence_layers_match_torch(kind, config, batched):
    torch = pytest.importorskip("torch")
    layers, bidirectional, batch_first = config
    name, _, variant = kind.partition("-")
    options = {"relu": {"nonlinearity": "relu"}, "proj": {"proj_size": 2}}.get(variant, {})
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, **options)
    theirs = getattr(torch.nn, name)(3, 4, **kwargs)
    ours = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[name](3, 4, **kwargs)
    torch.manual_seed(0)
    rows = layers * (2 if bidirectional else 1)
    lead = ((2, 5) if batch_first else (5, 2)) if batched else (5,)
    x = torch.randn(*lead, 3, requires_grad=True)
    h0 = torch.randn(rows, *((2,) if batched else ()), options.get("proj_size", 4), requires_grad=True)
    hx = (h0, torch.randn(rows, *((2,) if batched else ()), 4, requires_grad=True)) if name == "LSTM" else h0
    _compare_with_torch(torch, ours, theirs, [x, hx])
    _compare_with_torch(torch, ours, theirs, [x.detach().requires_grad_()])  # zero initial state


@pytest.mark.torch
@pytest.mark.parametrize("name, options", [("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
                                           ("GRUCell", {"bias": False})])
def test_cells_match_torch(name, options):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(3, 4, **options)
    ours = {"RNNCell": RNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}[name](3, 4, **options)
    x = torch.randn(2, 3, requires_grad=True)
    h = torch.randn(2, 4, requires_grad=True)
    hx = (h, torch.randn(2, 4, requires_grad=True)) if name == "LSTMCell" else h
    _compare_with_torch(torch, ours, theirs, [x, hx])
    _compare_with_torch(torch, ours, theirs, [x[0].detach().requires_grad_()])  # unbatched, no state
