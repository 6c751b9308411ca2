"""The layers added for issue 9: parameters, state_dict keys, and outputs and gradients
against hand-computed values (and against PyTorch with the same weights where installed)."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn
import nanotorch.nn.functional as F


def test_embedding_rows_and_padding_idx():
    emb = nn.Embedding(5, 3, padding_idx=1)
    assert list(dict(emb.named_parameters())) == ["weight"]
    np.testing.assert_array_equal(emb.weight.detach().numpy()[1], 0)
    idx = nt.tensor([[0, 1, 4], [4, 4, 1]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.detach().numpy()[0, 2], emb.weight.detach().numpy()[4])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1, 0, 0, 0, 3])  # row 1: padding


def test_layer_norm_module_normalizes_each_sample():
    ln = nn.LayerNorm((2, 3))
    assert [k for k, _ in ln.named_parameters()] == ["weight", "bias"]
    x = nt.randn(4, 2, 3) * 5 + 3
    y = ln(x).detach().numpy()
    np.testing.assert_allclose(y.mean((1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var((1, 2)), 1, atol=1e-3)
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None
    assert nn.LayerNorm(3, bias=False).bias is None


def test_conv1d_module_shape():
    conv = nn.Conv1d(3, 4, 3, stride=2, padding=1)
    assert conv.weight.shape == (4, 3, 3) and conv.bias.shape == (4,)
    assert conv(nt.randn(2, 3, 9)).shape == (2, 4, 5)


def test_adaptive_avg_pool_matches_plain_average_when_it_divides():
    x = nt.randn(2, 3, 6, 4)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d((3, 2))(x).numpy(), F.avg_pool2d(x, 2).numpy(),
                               rtol=1e-5, atol=1e-6)
    assert nn.AdaptiveAvgPool2d((None, 1))(x).shape == (2, 3, 6, 1)


def test_max_pool_return_indices_and_avg_pool_count_include_pad():
    x = nt.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    values, indices = nn.MaxPool2d(2, return_indices=True)(x)
    np.testing.assert_array_equal(indices.numpy(), [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(values.detach().numpy(), [[[[5, 7], [13, 15]]]])
    values.sum().backward()
    assert x.grad.sum().item() == 4 and x.grad.numpy()[0, 0, 1, 1] == 1
    ones = nt.ones(1, 1, 4, 4)
    np.testing.assert_array_equal(nn.AvgPool2d(3, 1, 1, count_include_pad=False)(ones).numpy(), 1)
    assert nn.AvgPool2d(3, 1, 1)(ones).numpy()[0, 0, 0, 0] == pytest.approx(4 / 9)


def test_bce_with_logits_pos_weight_by_hand():
    x, y = nt.tensor([[0.3, -1.2]]), nt.tensor([[1.0, 0.0]])
    loss = nn.BCEWithLogitsLoss(pos_weight=nt.tensor([2.0, 5.0]), reduction="none")(x, y)
    sig = 1 / (1 + np.exp(-np.array([0.3, -1.2])))
    np.testing.assert_allclose(loss.numpy()[0], [-2 * np.log(sig[0]), -np.log(1 - sig[1])], rtol=1e-6)


def _copy_into(torch, ours, theirs):
    with torch.no_grad():
        for (name, p), (name_t, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == name_t
            q.copy_(torch.tensor(p.detach().numpy()))


@pytest.mark.parametrize("make", [
    lambda m: m.nn.LayerNorm(6),
    lambda m: m.nn.Conv1d(3, 4, 3, stride=2, padding=1),
    lambda m: m.nn.Embedding(7, 6, padding_idx=0),
    lambda m: m.nn.GELU(),
    lambda m: m.nn.GELU(approximate="tanh"),
    lambda m: m.nn.SiLU(),
    lambda m: m.nn.AdaptiveAvgPool2d((2, 4)),
])
def test_layers_match_torch(torch, make):
    ours, theirs = make(nt), make(torch)
    _copy_into(torch, ours, theirs)
    name = type(ours).__name__
    rng = np.random.default_rng(0)
    if name == "Embedding":
        data = rng.integers(0, 7, (3, 5))
        x, t = nt.tensor(data), torch.tensor(data)
    else:
        shape = {"Conv1d": (2, 3, 9), "AdaptiveAvgPool2d": (2, 3, 5, 7)}.get(name, (2, 5, 6))
        data = rng.standard_normal(shape).astype(np.float32)
        x, t = nt.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, out_t = ours(x), theirs(t)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    w = rng.standard_normal(out.shape).astype(np.float32)
    (out * nt.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    if x.requires_grad:
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_bce_with_logits_pos_weight_matches_torch(torch):
    rng = np.random.default_rng(0)
    x, y, pw = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3)), np.array([0.5, 2.0, 4.0])
    ours = nt.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    loss = nn.BCEWithLogitsLoss(pos_weight=nt.tensor(pw))(ours, nt.tensor(y))
    loss_t = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))(theirs, torch.tensor(y))
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-6)
    loss.backward()
    loss_t.backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-7)
