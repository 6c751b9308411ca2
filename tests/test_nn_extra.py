"""Group and instance norm, interpolate/Upsample, padding='same'/'valid', the 1-D and adaptive max
pools, cosine similarity, pairwise distance and Dropout2d (session 14): known answers computed by
hand and ``gradcheck`` in float64 run everywhere; the ``torch`` tests compare values and gradients
with PyTorch where it is installed (the ``torch`` fixture skips otherwise)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn
import nanotorch.nn.functional as F
from nanotorch.autograd import gradcheck


def _close(t, expected, atol=1e-6):
    np.testing.assert_allclose(t.detach().numpy(), expected, atol=atol)


def _gradcheck(fn, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    xs = [nt.tensor(rng.uniform(-2, 2, s), dtype=nt.float64, requires_grad=True) for s in shapes]
    assert gradcheck(fn, xs)


# ------------------------------------------------------------------ group and instance norm
def test_group_norm_known_values():
    x = nt.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    y = F.group_norm(x, 2, nt.tensor([1.0, 2.0, 3.0, 4.0]), nt.tensor([0.0, 0.0, 0.0, 1.0]), eps=0.0)
    _close(y, [[-1.0, 2.0, -3.0, 5.0]])  # groups [1, 2] and [3, 4]: mean +-0.5, std 0.5
    _close(nn.GroupNorm(1, 4, eps=0.0)(x), [[-1.341641, -0.447214, 0.447214, 1.341641]])
    _close(F.group_norm(x, 2, eps=1.0), [[-0.447214, 0.447214, -0.447214, 0.447214]])  # 0.5 / sqrt(1.25)


def test_group_norm_gradcheck_and_layer():
    _gradcheck(lambda x, w, b: F.group_norm(x, 3, w, b), (2, 6, 4), (6,), (6,))
    _gradcheck(lambda x: F.group_norm(x, 2), (3, 4, 2, 3))
    m = nn.GroupNorm(2, 4)
    assert repr(m) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert list(nn.GroupNorm(2, 4, affine=False).parameters()) == []
    assert nn.GroupNorm(2, 4, bias=False).bias is None


def test_group_norm_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(nt.randn(2, 4, 3), 3)
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.group_norm(nt.randn(4), 2)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.group_norm(nt.randn(2, 4, 3), 2, nt.ones(3))
    with pytest.raises(ValueError, match="more than 1 value"):
        F.group_norm(nt.randn(1, 2), 2)


def test_instance_norm_known_values_and_running_stats():
    x = nt.tensor([[[0.0, 2.0, 4.0, 6.0]]])
    _close(F.instance_norm(x, eps=0.0), [[[-3 / math.sqrt(5), -1 / math.sqrt(5), 1 / math.sqrt(5),
                                           3 / math.sqrt(5)]]])
    mean, var = nt.zeros(1), nt.ones(1)
    F.instance_norm(x, mean, var, momentum=0.5)
    _close(mean, [1.5])  # 0.5 * 0 + 0.5 * 3
    _close(var, [0.5 + 0.5 * 20 / 3], atol=1e-5)  # the unbiased variance, 20/3
    expected = (x.numpy() - 1.5) / math.sqrt(23 / 6)
    _close(F.instance_norm(x, mean, var, use_input_stats=False, eps=0.0), expected, atol=1e-5)


def test_instance_norm_layers():
    m = nn.InstanceNorm1d(2)
    assert repr(m) == "InstanceNorm1d(2, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)"
    assert list(m.parameters()) == [] and dict(m.named_buffers()) == {}
    x = nt.tensor([[0.0, 2.0, 4.0, 6.0], [1.0, 1.0, 3.0, 3.0]])  # unbatched [C, L]
    _close(m(x), F.instance_norm(x.unsqueeze(0)).squeeze(0).numpy())
    t = nn.InstanceNorm2d(1, affine=True, track_running_stats=True, momentum=0.5)
    assert sorted(t.state_dict()) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    img = nt.tensor([[[[0.0, 2.0], [4.0, 6.0]]]])
    t(img)
    _close(t.running_mean, [1.5])
    assert int(t.num_batches_tracked) == 0  # as PyTorch, instance norm does not count batches
    t.eval()
    _close(t(img), (img.numpy() - 1.5) / math.sqrt(t.running_var.numpy()[0] + 1e-5), atol=1e-5)
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.InstanceNorm2d(1)(nt.randn(2, 3))
    with pytest.raises(ValueError, match="match num_features"):
        nn.InstanceNorm1d(3, affine=True)(nt.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(nt.randn(2, 4, 5))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(nt.randn(2, 3, 1))


def test_instance_norm_gradcheck():
    _gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 3, 5), (3,), (3,))
    mean, var = nt.zeros(3, dtype=nt.float64), nt.ones(3, dtype=nt.float64)
    _gradcheck(lambda x, w: F.instance_norm(x, mean, var, w, use_input_stats=False), (2, 3, 2, 2), (3,))


# -------------------------------------------------------------------------- interpolate
LINE = [0.0, 1.0, 2.0]


@pytest.mark.parametrize("kwargs, expected", [
    (dict(size=6), [0, 0, 1, 1, 2, 2]),
    (dict(scale_factor=2), [0, 0, 1, 1, 2, 2]),
    (dict(size=2), [0, 1]),  # floor(i * 3/2)
    (dict(size=2, mode="nearest-exact"), [0, 2]),  # floor((i + 0.5) * 3/2)
    (dict(size=6, mode="linear"), [0, 0.25, 0.75, 1.25, 1.75, 2]),
    (dict(size=5, mode="linear", align_corners=True), [0, 0.5, 1, 1.5, 2]),
    (dict(size=2, mode="linear", align_corners=True), [0, 2]),
    (dict(size=1, mode="area"), [1]),
], ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_interpolate_1d_known_values(kwargs, expected):
    _close(F.interpolate(nt.tensor([[LINE]]), **kwargs), [[expected]])


def test_interpolate_nearest_scale_factor_and_2d_shortcut():
    x = nt.arange(5.0).reshape(1, 1, 5)
    _close(F.interpolate(x, scale_factor=2.1), [[[0, 0, 0, 1, 1, 2, 2, 3, 3, 4]]])  # floor(i / 2.1)
    # PyTorch's 2-D kernel copies i // 2 when the output is twice as long, whatever the factor
    _close(F.interpolate(x.reshape(1, 1, 1, 5), scale_factor=(1, 2.1)), [[[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4]]]])
    _close(F.interpolate(nt.arange(10.0).reshape(1, 1, 10), scale_factor=0.3), [[[0, 3, 6]]])  # 1 / 0.3


def test_interpolate_bilinear_known_values_and_gradient():
    x = nt.tensor([[[[0.0, 1.0], [2.0, 3.0]]]], requires_grad=True)
    y = F.interpolate(x, size=3, mode="bilinear", align_corners=True)
    _close(y, [[[[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]]]])
    y.sum().backward()
    _close(x.grad, [[[[2.25, 2.25], [2.25, 2.25]]]])  # each input's weights over the 9 outputs
    up = nn.Upsample(scale_factor=2)
    assert repr(up) == "Upsample(scale_factor=2.0, mode='nearest')"
    z = nt.tensor([[LINE]], requires_grad=True)
    up(z).sum().backward()
    _close(z.grad, [[[2, 2, 2]]])  # each input copied twice
    assert repr(nn.Upsample(size=(3, 4), mode="bilinear")) == "Upsample(size=(3, 4), mode='bilinear')"


@pytest.mark.parametrize("kwargs", [
    dict(size=7, mode="linear"), dict(size=2, mode="linear", align_corners=True),
    dict(scale_factor=1.7, mode="linear"), dict(size=8), dict(size=3, mode="nearest-exact"),
])
def test_interpolate_1d_gradcheck(kwargs):
    _gradcheck(lambda x: F.interpolate(x, **kwargs), (2, 3, 5))


@pytest.mark.parametrize("kwargs", [
    dict(size=(5, 3), mode="bilinear"), dict(scale_factor=2, mode="bilinear", align_corners=True),
    dict(size=(3, 7)), dict(size=(2, 2), mode="area"),
])
def test_interpolate_2d_gradcheck(kwargs):
    _gradcheck(lambda x: F.interpolate(x, **kwargs), (1, 2, 4, 5))


@pytest.mark.parametrize("call, error, match", [
    (lambda x: F.interpolate(x, size=4, scale_factor=2), ValueError, "only one of size or scale_factor"),
    (lambda x: F.interpolate(x), ValueError, "either size or scale_factor"),
    (lambda x: F.interpolate(x, size=4, align_corners=True), ValueError, "align_corners option"),
    (lambda x: F.interpolate(x, size=4, mode="bilinear"), NotImplementedError, "bilinear mode needs 4D"),
    (lambda x: F.interpolate(x, size=4, mode="bicubic"), NotImplementedError, "bicubic"),
    (lambda x: F.interpolate(x, size=(4, 4)), ValueError, "same number of spatial dimensions"),
    (lambda x: F.interpolate(x, size=0), ValueError, "greater than 0"),
    (lambda x: F.interpolate(x.reshape(6), size=4), NotImplementedError, "3-D"),
    (lambda x: F.interpolate(x.long(), size=4), TypeError, "floating point"),
    (lambda x: F.interpolate(x, size=4, recompute_scale_factor=True), ValueError, "not meaningful"),
])
def test_interpolate_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(nt.randn(1, 2, 3))


# --------------------------------------------------------------- padding "same" and "valid"
def test_conv1d_same_and_valid_known_values():
    x = nt.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    _close(F.conv1d(x, nt.ones(1, 1, 2), padding="same"), [[[3, 5, 7, 4]]])  # the extra zero goes after
    _close(F.conv1d(x, nt.ones(1, 1, 3), padding="same"), [[[3, 6, 9, 7]]])
    _close(F.conv1d(x, nt.ones(1, 1, 2), padding="valid"), [[[3, 5, 7]]])
    m = nn.Conv1d(1, 2, 4, padding="same")
    assert m(x).shape == (1, 2, 4) and "padding=same" in repr(m)


def test_conv2d_same_shapes_gradcheck_and_errors():
    x = nt.randn(2, 3, 5, 6)
    for k in [(3, 3), (4, 2), (2, 5)]:
        assert nn.Conv2d(3, 4, k, padding="same")(x).shape == (2, 4, 5, 6)
        assert nn.Conv2d(3, 4, k, padding="valid")(x).shape == (2, 4, 6 - k[0], 7 - k[1])
    assert F.conv2d(nt.randn(3, 5, 6), nt.randn(2, 3, 2, 2), padding="same").shape == (2, 5, 6)
    _gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding="same"), (1, 2, 4, 5), (3, 2, 2, 3), (3,))
    _gradcheck(lambda x, w: F.conv1d(x, w, padding="same"), (2, 2, 5), (3, 2, 4))
    with pytest.raises(ValueError, match="strided convolutions"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="strided convolutions"):
        F.conv1d(nt.randn(1, 1, 5), nt.randn(1, 1, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv1d(1, 1, 3, padding="full")


# ------------------------------------------------------------------------------ 1-D pools
def test_pool1d_known_values():
    x = nt.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]], requires_grad=True)
    _close(F.max_pool1d(x, 2), [[[3, 5]]])
    values, indices = nn.MaxPool1d(2, return_indices=True)(x)
    assert indices.dtype == nt.int64 and indices.tolist() == [[[1, 3]]]
    _close(nn.AvgPool1d(2)(x), [[[2, 3.5]]])
    _close(F.avg_pool1d(x, 2, padding=1), [[[0.5, 2.5, 4.5]]])
    _close(F.avg_pool1d(x, 2, padding=1, count_include_pad=False), [[[1, 2.5, 4.5]]])
    _close(nn.AdaptiveAvgPool1d(2)(x), [[[2, 11 / 3]]])  # windows [0, 3) and [2, 5)
    F.max_pool1d(x, 3, 1).sum().backward()  # windows [1 3 2] [3 2 5] [2 5 4]
    _close(x.grad, [[[0, 1, 0, 2, 0]]])
    _close(F.max_pool1d(x[0], 2), [[3, 5]])  # unbatched [C, L]


def test_adaptive_max_pools_known_values():
    x = nt.tensor([[[1.0, 2.0, 9.0, 4.0, 5.0]]], requires_grad=True)
    values, indices = F.adaptive_max_pool1d(x, 2, return_indices=True)
    _close(values, [[[9, 9]]])  # both windows ([0, 3) and [2, 5)) hold the 9
    assert indices.tolist() == [[[2, 2]]]
    values.sum().backward()
    _close(x.grad, [[[0, 0, 2, 0, 0]]])
    img = nt.tensor([[[[1.0, 5.0, 0.0], [3.0, 2.0, 7.0]]]])
    values, indices = nn.AdaptiveMaxPool2d((1, 2), return_indices=True)(img)
    _close(values, [[[[5, 7]]]])
    assert indices.tolist() == [[[[1, 5]]]]  # positions in the 2*3 plane
    _close(F.adaptive_max_pool2d(img, (2, None)), [[[[1, 5, 0], [3, 2, 7]]]])
    assert repr(nn.AdaptiveMaxPool1d(3)) == "AdaptiveMaxPool1d(output_size=3)"


def test_pool1d_gradcheck_and_errors():
    rng = np.random.default_rng(1)
    distinct = nt.tensor(rng.permutation(24).reshape(2, 2, 6) * 0.1, dtype=nt.float64, requires_grad=True)
    assert gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1), [distinct])
    assert gradcheck(lambda x: F.adaptive_max_pool1d(x, 4), [distinct])
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x.reshape(2, 2, 2, 3), (2, 2)), [distinct])
    _gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False), (2, 2, 7))
    _gradcheck(lambda x: F.adaptive_avg_pool1d(x, 3), (2, 2, 7))
    with pytest.raises(ValueError, match=r"max_pool1d: expected input \[N, C, L\]"):
        F.max_pool1d(nt.randn(1, 1, 2, 2), 2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.avg_pool1d(nt.randn(1, 1, 2), 3)
    with pytest.raises(ValueError, match="output_size must be a positive int"):
        F.adaptive_max_pool1d(nt.randn(1, 1, 4), 0)
    with pytest.raises(TypeError, match="floating point"):
        F.adaptive_max_pool2d(nt.zeros(1, 1, 2, 2, dtype=nt.int64), 1)


# ---------------------------------------------------------- distances and channel dropout
def test_cosine_similarity_and_pairwise_distance_known_values():
    a, b = nt.tensor([[1.0, 0.0], [0.0, 2.0]]), nt.tensor([[1.0, 1.0], [0.0, -3.0]])
    _close(F.cosine_similarity(a, b), [1 / math.sqrt(2), -1])
    _close(nn.CosineSimilarity(dim=0)(a, b), [1, -3 / math.sqrt(10)])  # the columns
    _close(F.cosine_similarity(nt.zeros(2), nt.ones(2), dim=0), 0.0)  # the eps keeps 0 / 0 away
    _close(F.pairwise_distance(nt.tensor([[0.0, 0.0]]), nt.tensor([[3.0, 4.0]]), eps=0.0), [5.0])
    _close(nn.PairwiseDistance(p=1, eps=0.0, keepdim=True)(a, b), [[1.0], [5.0]])


def test_cosine_similarity_gradient_through_a_tiny_norm():
    # the clamp to eps changes the value only: the norm's own gradient still flows (PyTorch's rule)
    x = nt.tensor([1e-9, 0.0], requires_grad=True)
    F.cosine_similarity(x, nt.tensor([1.0, 2.0]), dim=0).backward()
    u = np.array([1.0, 2.0]) / math.sqrt(5)
    _close(x.grad, u / 1e-8 - 1e-9 * u[0] / 1e-16 * np.array([1.0, 0.0]), atol=10)


def test_distances_gradcheck():
    _gradcheck(lambda a, b: F.cosine_similarity(a, b, dim=1), (3, 4), (1, 4))
    _gradcheck(lambda a, b: F.pairwise_distance(a, b), (3, 4), (3, 4))
    _gradcheck(lambda a, b: F.pairwise_distance(a, b, p=3, keepdim=True), (2, 3, 4), (3, 4))


def test_dropout2d_zeroes_whole_channels():
    nt.manual_seed(0)
    x = nt.ones(100, 40, 2, 3, requires_grad=True)
    y = F.dropout2d(x, 0.25)
    planes = y.detach().numpy().reshape(100, 40, 6)
    dropped = (planes == 0).all(-1)
    assert (dropped | np.isclose(planes, 1 / 0.75).all(-1)).all()
    assert abs(dropped.mean() - 0.25) < 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy().reshape(100, 40, 6), planes)  # the same mask
    m = nn.Dropout2d(0.5)
    assert repr(m) == "Dropout2d(p=0.5, inplace=False)"
    m.eval()
    assert m(x) is x
    assert (F.dropout2d(x, 1.0).detach().numpy() == 0).all()
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        F.dropout2d(nt.ones(2, 3, 4))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


# ------------------------------------------------------------------------- against torch
def _compare(torch, fn_nt, fn_torch, *shapes, seed=0, atol=1e-5):
    """Float32 values and the gradient of ``sum(y * g)`` for random inputs and ``g``."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    xs = [nt.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, t = fn_nt(*xs), fn_torch(*ts)
    y, t = (y if isinstance(y, tuple) else (y,)), (t if isinstance(t, tuple) else (t,))
    for a, b in zip(y, t):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=1e-5)
    g = rng.standard_normal(tuple(t[0].shape)).astype(np.float32)
    (y[0] * nt.tensor(g)).sum().backward()
    (t[0] * torch.tensor(g)).sum().backward()
    for x, tx in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=10 * atol, rtol=1e-4)


@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((3, 4, 3, 2), 2), ((2, 4, 3, 3), 1),
                                           ((1, 6, 7), 6)])
def test_group_norm_matches_torch(torch, shape, groups):
    c = shape[1]
    _compare(torch, lambda x, w, b: F.group_norm(x, groups, w, b),
             lambda x, w, b: torch.nn.functional.group_norm(x, groups, w, b), shape, (c,), (c,))


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (2, 3, 6)), ("InstanceNorm2d", (2, 3, 4, 4)),
                                        ("InstanceNorm1d", (3, 6)), ("InstanceNorm2d", (3, 4, 4))])
@pytest.mark.parametrize("affine, track, momentum", [(False, False, 0.1), (True, True, 0.1),
                                                     (False, True, None), (True, False, 0.1)])
def test_instance_norm_layers_match_torch(torch, cls, shape, affine, track, momentum):
    ours = getattr(nn, cls)(3, affine=affine, track_running_stats=track, momentum=momentum)
    theirs = getattr(torch.nn, cls)(3, affine=affine, track_running_stats=track, momentum=momentum)
    for step in range(2):
        _compare(torch, ours, theirs, shape, seed=step)
    ours.eval()
    theirs.eval()
    _compare(torch, ours, theirs, shape, seed=5)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), atol=1e-6)


INTERPOLATE_1D = [(4, dict(size=8)), (5, dict(size=3)), (3, dict(size=7)), (1, dict(size=4)),
                  (7, dict(size=2)), (5, dict(scale_factor=0.5)), (7, dict(scale_factor=1.7)),
                  (3, dict(scale_factor=3.3)),
                  (5, dict(scale_factor=2.1, recompute_scale_factor=True))]
INTERPOLATE_2D = [((4, 5), dict(size=(8, 3))), ((3, 3), dict(size=5)), ((5, 4), dict(scale_factor=2)),
                  ((5, 7), dict(scale_factor=(2.1, 0.6))), ((2, 6), dict(size=(1, 4))),
                  ((3, 5), dict(scale_factor=(3, 1.3)))]
MODES_1D = [("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True),
            ("area", None)]
MODES_2D = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True),
            ("area", None)]


@pytest.mark.parametrize("mode, align_corners", MODES_1D)
@pytest.mark.parametrize("length, kwargs", INTERPOLATE_1D)
def test_interpolate_1d_matches_torch(torch, length, kwargs, mode, align_corners):
    _compare(torch, lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **kwargs),
             lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align_corners, **kwargs),
             (2, 3, length))


@pytest.mark.parametrize("mode, align_corners", MODES_2D)
@pytest.mark.parametrize("hw, kwargs", INTERPOLATE_2D)
def test_interpolate_2d_matches_torch(torch, hw, kwargs, mode, align_corners):
    _compare(torch, lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **kwargs),
             lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align_corners, **kwargs),
             (2, 2, *hw))


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv_padding_strings_match_torch(torch, kernel, padding):
    _compare(torch, lambda x, w, b: F.conv1d(x, w, b, 1, padding),
             lambda x, w, b: torch.nn.functional.conv1d(x, w, b, 1, padding), (2, 3, 7), (4, 3, kernel), (4,))
    _compare(torch, lambda x, w, b: F.conv2d(x, w, b, 1, padding),
             lambda x, w, b: torch.nn.functional.conv2d(x, w, b, 1, padding),
             (2, 3, 6, 5), (2, 3, kernel, 6 - kernel), (2,))


@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 8)])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0), (4, 3, 2)])
@pytest.mark.parametrize("include", [True, False])
def test_pool1d_matches_torch(torch, shape, kernel, stride, padding, include):
    tf = torch.nn.functional
    _compare(torch, lambda x: F.max_pool1d(x, kernel, stride, padding, return_indices=True),
             lambda x: tf.max_pool1d(x, kernel, stride, padding, return_indices=True), shape)
    _compare(torch, lambda x: F.avg_pool1d(x, kernel, stride, padding, count_include_pad=include),
             lambda x: tf.avg_pool1d(x, kernel, stride, padding, count_include_pad=include), shape)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_adaptive_pools_match_torch(torch, size):
    tf = torch.nn.functional
    _compare(torch, lambda x: F.adaptive_avg_pool1d(x, size), lambda x: tf.adaptive_avg_pool1d(x, size),
             (2, 3, 8))
    _compare(torch, lambda x: F.adaptive_max_pool1d(x, size, True),
             lambda x: tf.adaptive_max_pool1d(x, size, True), (3, 8))
    _compare(torch, lambda x: F.adaptive_max_pool2d(x, (size, None), True),
             lambda x: tf.adaptive_max_pool2d(x, (size, None), True), (2, 3, 7, 5))
    _compare(torch, nn.AdaptiveMaxPool2d((2, size)), torch.nn.AdaptiveMaxPool2d((2, size)), (2, 3, 8, 8))


@pytest.mark.parametrize("s1, s2, dim", [((4, 5), (4, 5), 1), ((3,), (3,), 0), ((2, 3, 1), (1, 3, 4), 1),
                                         ((5, 3), (3,), -1)])
@pytest.mark.parametrize("eps", [1e-8, 0.5])
def test_cosine_similarity_matches_torch(torch, s1, s2, dim, eps):
    _compare(torch, lambda a, b: F.cosine_similarity(a, b, dim, eps),
             lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim, eps), s1, s2)


@pytest.mark.parametrize("s1, s2", [((4, 5), (4, 5)), ((3,), (3,)), ((5, 3), (3,)), ((2, 1, 4), (3, 4))])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(torch, s1, s2, p, keepdim):
    _compare(torch, lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim),
             lambda a, b: torch.nn.functional.pairwise_distance(a, b, p, keepdim=keepdim), s1, s2)
