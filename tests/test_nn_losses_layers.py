"""The margin, embedding and likelihood losses, cross-entropy with class probabilities (and
weights with label smoothing), transposed convolution, fold/unfold, the padding modes and layers,
pixel shuffle, bilinear, RMS and local response norm, and the channel and alpha dropouts:
values worked out by hand, gradients by gradcheck in float64, errors; and the same against
PyTorch where it is installed (the ``torch`` fixture skips otherwise)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn
import nanotorch.nn.functional as F
from nanotorch.autograd import gradcheck

RNG = np.random.default_rng(7)


def f64(*shape, low: float = -2.0, high: float = 2.0) -> nt.Tensor:
    return nt.tensor(RNG.uniform(low, high, shape), dtype=nt.float64, requires_grad=True)


def t(values, dtype=nt.float32) -> nt.Tensor:
    return nt.tensor(values, dtype=dtype)


# ---------------------------------------------------------------------------- losses by hand
def test_margin_ranking_and_hinge_embedding_by_hand():
    x1, x2, y = t([1.0, 2.0, 0.0]), t([0.5, 3.0, 0.0]), t([1.0, 1.0, -1.0])
    # max(0, -y (x1 - x2) + 0.25): 0, 1.25, 0.25
    loss = F.margin_ranking_loss(x1, x2, y, 0.25, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 1.25, 0.25])
    assert nn.MarginRankingLoss(0.25)(x1, x2, y).item() == pytest.approx(0.5)
    # x where y = 1, max(0, 1 - x) where y = -1: 0.3, 0, 0.5
    d, y = t([0.3, 1.5, 0.5]), t([1.0, -1.0, -1.0])
    hinge = F.hinge_embedding_loss(d, y, reduction="none")
    np.testing.assert_allclose(hinge.numpy(), [0.3, 0.0, 0.5], atol=1e-7)
    assert nn.HingeEmbeddingLoss(margin=2.0, reduction="sum")(d, y).item() == pytest.approx(0.3 + 0.5 + 1.5)


def test_cosine_embedding_and_triplet_by_hand():
    a, b = t([[1.0, 0.0], [1.0, 1.0]]), t([[0.0, 2.0], [2.0, 2.0]])
    # cos = 0 and 1: y = 1 gives 1 - cos = 1; y = -1 gives max(0, cos - 0.5) = 0.5
    loss = F.cosine_embedding_loss(a, b, t([1.0, -1.0]), 0.5, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1.0, 0.5], rtol=1e-6)
    anchor, pos, neg = t([[0.0, 0.0]]), t([[3.0, 4.0]]), t([[0.0, 1.0]])
    # d(a, p) = 5, d(a, n) = 1, d(p, n) = sqrt(18): max(0, 1 + 5 - 1) = 5; with swap still min = 1
    assert F.triplet_margin_loss(anchor, pos, neg, eps=0.0).item() == pytest.approx(5.0, rel=1e-6)
    assert nn.TripletMarginLoss(p=1.0, eps=0.0)(anchor, pos, neg).item() == pytest.approx(1 + 7 - 1)
    far = t([[10.0, 10.0]])  # swap: min(d(a, n) = 14.14, d(p, n) = 9.22)
    swapped = F.triplet_margin_loss(anchor, pos, far, margin=6.0, eps=0.0, swap=True)
    assert swapped.item() == pytest.approx(6 + 5 - math.hypot(7, 6), rel=1e-6)


def test_poisson_and_gaussian_nll_by_hand():
    x, y = t([0.0, 1.0]), t([2.0, 3.0])
    # exp(x) - y x: 1, e - 3
    poisson = F.poisson_nll_loss(x, y, reduction="none")
    np.testing.assert_allclose(poisson.numpy(), [1.0, math.e - 3], rtol=1e-6)
    rate = t([2.0, 1.0])
    plain = F.poisson_nll_loss(rate, y, log_input=False, eps=0.0, reduction="none")
    np.testing.assert_allclose(plain.numpy(), [2 - 2 * math.log(2), 1.0], rtol=1e-6)
    stirling = [n * math.log(n) - n + 0.5 * math.log(2 * math.pi * n) for n in (2, 3)]
    full = nn.PoissonNLLLoss(full=True, reduction="none")(x, y)
    np.testing.assert_allclose(full.numpy(), [1 + stirling[0], math.e - 3 + stirling[1]], rtol=1e-6)
    no_term = F.poisson_nll_loss(x, t([1.0, 0.0]), full=True, reduction="sum")  # targets <= 1
    assert no_term.item() == pytest.approx(1 + math.e)
    mu, target, var = t([0.0, 1.0]), t([1.0, 1.0]), t([2.0, 0.5])
    expected = [0.5 * (math.log(2) + 0.5), 0.5 * math.log(0.5)]
    gaussian = F.gaussian_nll_loss(mu, target, var, reduction="none")
    np.testing.assert_allclose(gaussian.numpy(), expected, rtol=1e-6)
    full = nn.GaussianNLLLoss(full=True)(mu, target, var)
    assert full.item() == pytest.approx(np.mean(expected) + 0.5 * math.log(2 * math.pi), rel=1e-6)
    assert F.gaussian_nll_loss(mu, target, 2.0).item() == pytest.approx(0.5 * (math.log(2) + 0.25), rel=1e-6)


def test_gaussian_nll_clamps_var_but_passes_its_gradient():
    var = nt.tensor([0.0, 4.0], requires_grad=True)
    loss = F.gaussian_nll_loss(t([1.0, 1.0]), t([1.0, 3.0]), var, eps=0.5, reduction="sum")
    assert loss.item() == pytest.approx(0.5 * math.log(0.5) + 0.5 * (math.log(4) + 1), rel=1e-6)
    loss.backward()  # d/dv 0.5 (log v + d^2 / v) = 0.5 (1/v - d^2/v^2) at v = 0.5 and 4
    np.testing.assert_allclose(var.grad.numpy(), [1.0, 0.5 * (0.25 - 0.25)], atol=1e-7)


def test_soft_margin_multilabel_and_multi_margin_by_hand():
    x, y = t([0.0, 2.0]), t([1.0, -1.0])
    expected = [math.log(2), math.log1p(math.exp(2))]
    np.testing.assert_allclose(F.soft_margin_loss(x, y, reduction="none").numpy(), expected, rtol=1e-6)
    assert nn.SoftMarginLoss()(t([1000.0]), t([-1.0])).item() == pytest.approx(1000.0)  # no overflow
    logits, labels = t([[0.0, 0.0]]), t([[1.0, 0.0]])
    assert F.multilabel_soft_margin_loss(logits, labels).item() == pytest.approx(math.log(2), rel=1e-6)
    weighted = nn.MultiLabelSoftMarginLoss(weight=t([1.0, 3.0]))(logits, labels)
    assert weighted.item() == pytest.approx(2 * math.log(2), rel=1e-6)
    scores, target = t([[0.1, 0.2, 0.4, 0.8]]), nt.tensor([3])
    # sum over c != 3 of max(0, 1 - 0.8 + x_c) / 4 = (0.3 + 0.4 + 0.6) / 4
    assert F.multi_margin_loss(scores, target).item() == pytest.approx(1.3 / 4, rel=1e-6)
    squared = nn.MultiMarginLoss(p=2, margin=0.5, weight=t([1.0, 1.0, 1.0, 2.0]))(scores, target)
    assert squared.item() == pytest.approx(2 * (0.1 ** 2) / 4, rel=1e-5)  # only x_2 = 0.4 is within 0.5
    assert F.multi_margin_loss(t([0.1, 0.2]), nt.tensor(1), reduction="none").shape == ()


def test_cross_entropy_with_probabilities_by_hand():
    x = nt.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]], requires_grad=True)
    labels = nt.tensor([1, 2])
    one_hot = F.one_hot(labels, 3).float()
    assert F.cross_entropy(x, one_hot).item() == pytest.approx(F.cross_entropy(x, labels).item(), rel=1e-6)
    q = t([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    logp = x.data - np.log(np.exp(x.data).sum(1, keepdims=True))
    rows = -(q.numpy() * logp).sum(1)
    np.testing.assert_allclose(F.cross_entropy(x, q, reduction="none").detach().numpy(), rows, rtol=1e-6)
    loss = nn.CrossEntropyLoss(weight=t([1.0, 2.0, 3.0]), label_smoothing=0.3)(x, q)
    smoothed = 0.7 * q.numpy() + 0.1
    assert loss.item() == pytest.approx(-(smoothed * [1.0, 2.0, 3.0] * logp).sum() / 2, rel=1e-6)
    F.cross_entropy(x, q, reduction="sum").backward()  # d/dx = sum(q) softmax(x) - q
    np.testing.assert_allclose(x.grad.numpy(), np.exp(logp) - q.numpy(), atol=1e-6)


def test_cross_entropy_weight_with_label_smoothing_by_hand():
    x, target = t([[1.0, 2.0, 0.5], [0.0, 1.0, 0.0], [3.0, 0.0, 0.0]]), nt.tensor([1, -100, 0])
    w, e = t([1.0, 2.0, 4.0]), 0.2
    logp = x.numpy() - np.log(np.exp(x.numpy()).sum(1, keepdims=True))
    rows = [-(1 - e) * w.numpy()[i] * logp[r, i] - e / 3 * (w.numpy() * logp[r]).sum()
            for r, i in ((0, 1), (2, 0))]
    loss = F.cross_entropy(x, target, w, label_smoothing=e)
    assert loss.item() == pytest.approx(sum(rows) / (2.0 + 1.0), rel=1e-6)
    none = nn.CrossEntropyLoss(w, label_smoothing=e, reduction="none")(x, target)
    np.testing.assert_allclose(none.numpy(), [rows[0], 0.0, rows[1]], rtol=1e-6)


def test_new_losses_gradcheck():
    a, b, c = f64(3, 4), f64(3, 4), f64(3, 4)
    sign = nt.tensor(RNG.choice([-1.0, 1.0], (3, 4)), dtype=nt.float64)
    labels = nt.tensor([0, 3, 1])
    checks = [
        (lambda a, b: F.margin_ranking_loss(a, b, sign, 0.3), (a, b)),
        (lambda a: F.hinge_embedding_loss(a, sign, 0.7), (a,)),
        (lambda a, b: F.cosine_embedding_loss(a, b, sign[:, 0], 0.2), (a, b)),
        (lambda a, b, c: F.triplet_margin_loss(a, b, c, p=1.5, swap=True), (a, b, c)),
        (lambda a: F.poisson_nll_loss(a, sign.abs() * 3, full=True), (a,)),
        (lambda a, b: F.gaussian_nll_loss(a, b, c.abs() + 0.1, full=True), (a, b)),
        (lambda a: F.multilabel_soft_margin_loss(a, (sign + 1) / 2), (a,)),
        (lambda a: F.multi_margin_loss(a, labels, p=2, margin=0.7), (a,)),
        (lambda a: F.soft_margin_loss(a, sign), (a,)),
        (lambda a, b: F.cross_entropy(a, b.softmax(1), label_smoothing=0.1), (a, b)),
        (lambda a: F.cross_entropy(a, labels, nt.tensor([1.0, 2.0, 0.5, 1.5], dtype=nt.float64),
                                   label_smoothing=0.2), (a,)),
    ]
    for fn, inputs in checks:
        assert gradcheck(fn, inputs)


def test_new_losses_reject_bad_input():
    x = nt.randn(3, 4)
    with pytest.raises(ValueError, match="same number of dims"):
        F.margin_ranking_loss(x, x, nt.ones(3))
    with pytest.raises(ValueError, match="1D target tensor expects 2D input"):
        F.cosine_embedding_loss(x[0], x[0], nt.ones(3))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(ValueError, match="negative entry"):
        F.gaussian_nll_loss(x, x, -nt.ones(3, 4))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, nt.ones(2, 4))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(IndexError, match="target out of range"):
        F.multi_margin_loss(x, nt.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match="inconsistent target size"):
        F.multi_margin_loss(x, nt.tensor([0, 1]))
    with pytest.raises(TypeError, match="class indices"):
        F.multi_margin_loss(x, nt.zeros(3))
    with pytest.raises(TypeError, match="floating point type for target with class probabilities"):
        F.cross_entropy(x, nt.zeros(3, 4, dtype=nt.int64))
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(x, x.softmax(1), nt.ones(3))
    with pytest.raises(ValueError, match="reduction="):
        nn.SoftMarginLoss(reduction="avg")


# ------------------------------------------------------------ transposed convolution, fold/unfold
def test_conv_transpose_by_hand():
    # each input pixel stamps its value times the kernel at stride 2: no overlap
    x = t([[[[1.0, 2.0]]]])
    w = t([[[[1.0, 10.0]]]])
    y = F.conv_transpose2d(x, w, t([0.5]), stride=2)
    np.testing.assert_allclose(y.numpy(), [[[[1.5, 10.5, 2.5, 20.5]]]])
    # stride 1 overlaps add up; padding 1 cuts one from each end; output_padding adds one at the end
    y = F.conv_transpose1d(t([[[1.0, 2.0, 3.0]]]), t([[[1.0, 1.0, 1.0]]]), stride=1)
    np.testing.assert_allclose(y.numpy(), [[[1.0, 3.0, 6.0, 5.0, 3.0]]])
    y = F.conv_transpose1d(t([[[1.0, 2.0, 3.0]]]), t([[[1.0, 1.0, 1.0]]]), padding=1)
    np.testing.assert_allclose(y.numpy(), [[[3.0, 6.0, 5.0]]])
    y = F.conv_transpose1d(t([[[1.0, 2.0]]]), t([[[1.0, 1.0]]]), stride=3, output_padding=2)
    np.testing.assert_allclose(y.numpy(), [[[1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 0.0]]])


def test_conv_transpose_is_the_adjoint_of_conv2d(backend):
    # <conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for every x, y
    x, w = nt.randn(2, 3, 7, 7), nt.randn(4, 3, 3, 2)
    y = F.conv2d(x, w, stride=2, padding=1)
    v = nt.randn(*y.shape)
    back = F.conv_transpose2d(v, w, stride=2, padding=1, output_padding=(0, 1))
    assert back.shape == x.shape
    assert (y * v).sum().item() == pytest.approx((x * back).sum().item(), rel=1e-4)


def test_conv_transpose_gradcheck(backend):
    x, w, b = f64(2, 3, 3, 4), f64(3, 2, 3, 2), f64(2)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1), (x, w, b))
    x, w = f64(2, 8, 3, 3), f64(8, 8, 3, 3)  # 3x3 with 8 channels: the C backend's Winograd path
    assert gradcheck(lambda x, w: F.conv_transpose2d(x, w, padding=1), (x, w))
    x, w = f64(3, 5), f64(3, 2, 4)
    assert gradcheck(lambda x, w: F.conv_transpose1d(x, w, None, 2, 1), (x, w))


def test_conv_transpose_layers():
    m = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
    assert m.weight.shape == (6, 4, 3, 3) and m.bias.shape == (4,)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(4 * 9)  # fan_in = out_channels * k * k
    assert m(nt.randn(2, 6, 5, 5)).shape == (2, 4, 10, 10)
    assert repr(m) == ("ConvTranspose2d(6, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                       "output_padding=(1, 1))")
    m = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, bias=False)
    assert m.bias is None and m(nt.randn(6, 5, 5), output_size=(10, 10)).shape == (4, 10, 10)
    with pytest.raises(ValueError, match="valid sizes range from 9 to 10"):
        m(nt.randn(1, 6, 5, 5), output_size=[1, 4, 11, 11])
    assert nn.ConvTranspose1d(2, 3, 4, 2, 1)(nt.randn(1, 2, 6), [13]).shape == (1, 3, 13)
    with pytest.raises(ValueError, match="output padding must be smaller than stride"):
        F.conv_transpose2d(nt.randn(1, 1, 3, 3), nt.randn(1, 1, 2, 2), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="input has 2 channels"):
        F.conv_transpose2d(nt.randn(1, 2, 3, 3), nt.randn(3, 1, 2, 2))


def test_unfold_and_fold_by_hand():
    x = nt.arange(9.0).reshape(1, 1, 3, 3)
    cols = F.unfold(x, 2)  # four 2x2 blocks, one per column
    np.testing.assert_allclose(cols.numpy()[0], [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])
    counts = F.fold(F.unfold(nt.ones(1, 1, 3, 3), 2), (3, 3), 2)  # how many blocks cover each pixel
    np.testing.assert_allclose(counts.numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    dilated = F.unfold(nt.arange(16.0).reshape(1, 1, 4, 4), 2, dilation=2)  # taps 2 apart: 2x2 blocks
    np.testing.assert_allclose(dilated.numpy()[0],
                               [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]])
    padded = nn.Unfold(2, dilation=2, padding=1, stride=2)(x)  # on the zero-padded 5x5: only x[1, 1] is read
    np.testing.assert_allclose(padded.numpy()[0], np.rot90(np.diag([4.0] * 4)))
    assert nn.Fold((3, 3), 2)(cols[0]).shape == (1, 3, 3)


def test_unfold_fold_gradcheck_and_errors():
    assert gradcheck(lambda x: F.unfold(x, (2, 3), (1, 2), 1, (2, 1)), (f64(2, 2, 4, 5),))
    assert gradcheck(lambda c: F.fold(c, (4, 5), (2, 3), (1, 2), 1, (2, 1)), (f64(2, 12, 9),))
    with pytest.raises(ValueError, match="must be at least one"):
        F.unfold(nt.randn(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="divisible by the product of kernel_size"):
        F.fold(nt.randn(1, 5, 4), (3, 3), 2)
    with pytest.raises(ValueError, match="number of sliding blocks 2 \\* 2 = 4"):
        F.fold(nt.randn(1, 4, 5), (3, 3), 2)


# --------------------------------------------------------------------------- padding and layers
def test_pad_modes_by_hand():
    x = t([[[1.0, 2.0, 3.0]]])
    np.testing.assert_allclose(F.pad(x, (2, 2), "reflect").numpy()[0, 0], [3, 2, 1, 2, 3, 2, 1])
    np.testing.assert_allclose(F.pad(x, (2, 1), "replicate").numpy()[0, 0], [1, 1, 1, 2, 3, 3])
    np.testing.assert_allclose(F.pad(x, (1, 2), "circular").numpy()[0, 0], [3, 1, 2, 3, 1, 2])
    np.testing.assert_allclose(F.pad(x, (-1, 1), "replicate").numpy()[0, 0], [2, 3, 3])
    image = nt.arange(4.0).reshape(1, 2, 2)
    reflected = nn.ReflectionPad2d((1, 0, 0, 1))(image)
    np.testing.assert_allclose(reflected.numpy()[0], [[1, 0, 1], [3, 2, 3], [1, 0, 1]])
    replicated = nn.ReplicationPad2d((0, 1, 1, 0))(image)
    np.testing.assert_allclose(replicated.numpy()[0], [[0, 1, 1], [0, 1, 1], [2, 3, 3]])
    np.testing.assert_allclose(nn.ZeroPad2d((0, 1, 0, 0))(image).numpy()[0], [[0, 1, 0], [2, 3, 0]])
    np.testing.assert_allclose(nn.ConstantPad1d((1, 0), 9.0)(x).numpy()[0, 0], [9, 1, 2, 3])
    assert nn.ConstantPad2d(1, 0.5)(image).shape == (1, 4, 4)
    assert repr(nn.ReflectionPad1d(2)) == "ReflectionPad1d((2, 2))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"


def test_pad_modes_gradient_and_errors():
    x = nt.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True)
    F.pad(x, (2, 2), "reflect").sum().backward()  # copies: 3 2 [1 2 3] 2 1
    np.testing.assert_allclose(x.grad.numpy()[0, 0], [2, 3, 2])
    assert gradcheck(lambda x: F.pad(x, (1, 2, 2, 1), "reflect"), (f64(2, 3, 4),))
    assert gradcheck(lambda x: F.pad(x, (3, 0, 1, 2), "replicate"), (f64(1, 2, 3, 2),))
    with pytest.raises(ValueError, match="at most 2"):
        F.pad(x, (3, 0), "reflect")
    with pytest.raises(ValueError, match="doesn't take in value"):
        F.pad(x, (1, 1), "replicate", 1.0)
    with pytest.raises(NotImplementedError, match="last 1, 2 or 3 dims"):
        F.pad(nt.randn(3), (1, 1), "reflect")
    with pytest.raises(ValueError, match="mode 'wrap'"):
        F.pad(x, (1, 1), "wrap")


def test_pixel_shuffle_by_hand_and_round_trip():
    x = nt.arange(8.0).reshape(1, 4, 1, 2)  # 4 channels -> one 2x2 block per input pixel
    y = nn.PixelShuffle(2)(x)
    np.testing.assert_allclose(y.numpy()[0, 0], [[0, 2, 1, 3], [4, 6, 5, 7]])
    np.testing.assert_allclose(nn.PixelUnshuffle(2)(y).numpy(), x.numpy())
    assert F.pixel_shuffle(nt.randn(2, 3, 18, 2, 2), 3).shape == (2, 3, 2, 6, 6)
    with pytest.raises(ValueError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(nt.randn(1, 5, 2, 2), 2)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        F.pixel_unshuffle(nt.randn(4, 4), 2)


def test_bilinear_rms_norm_and_local_response_norm_by_hand():
    w = t([[[1.0, 2.0], [3.0, 4.0]]])  # y = x1 . W x2 + b
    y = F.bilinear(t([[1.0, 0.0]]), t([[0.0, 1.0]]), w, t([0.5]))
    np.testing.assert_allclose(y.numpy(), [[2.5]])
    layer = nn.Bilinear(2, 3, 4)
    assert layer.weight.shape == (4, 2, 3) and layer(nt.randn(5, 2), nt.randn(5, 3)).shape == (5, 4)
    assert np.abs(layer.weight.detach().numpy()).max() <= 1 / math.sqrt(2)
    assert gradcheck(lambda a, b, w: F.bilinear(a, b, w), (f64(3, 2), f64(3, 3), f64(4, 2, 3)))
    x = t([[3.0, 4.0]])  # rms = sqrt(12.5)
    rms = math.sqrt(12.5)
    np.testing.assert_allclose(F.rms_norm(x, 2, eps=0.0).numpy(), [[3 / rms, 4 / rms]], rtol=1e-6)
    norm = nn.RMSNorm([2], eps=0.0)
    np.testing.assert_allclose(norm(x).detach().numpy(), F.rms_norm(x, 2, eps=0.0).numpy())
    assert repr(norm) == "RMSNorm((2,), eps=0.0, elementwise_affine=True)"
    assert gradcheck(lambda x, w: F.rms_norm(x, (3, 2), w), (f64(2, 3, 2), f64(3, 2)))
    with pytest.raises(ValueError, match="expected input with shape"):
        F.rms_norm(x, 3)
    x = t([[[1.0], [2.0], [3.0]]])  # channels 1, 2, 3; size 2 sums channels c - 1 and c
    y = F.local_response_norm(x, 2, alpha=2.0, beta=1.0, k=1.0)
    np.testing.assert_allclose(y.numpy()[0, :, 0], [1 / (1 + 1), 2 / (1 + 5), 3 / (1 + 13)], rtol=1e-6)
    assert gradcheck(lambda x: F.local_response_norm(x, 3, 0.5, 0.75, 2.0), (f64(2, 4, 3),))
    with pytest.raises(ValueError, match="Expected 3D or higher"):
        nn.LocalResponseNorm(2)(nt.randn(2, 3))


def test_dropout1d_and_alpha_dropout(rng_restored):
    nt.manual_seed(0)
    x = nt.ones(4, 50, 6)
    y = nn.Dropout1d(0.5)(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and (y == y[..., :1]).all()  # whole channels
    assert 0.3 < (y[..., 0] == 0).mean() < 0.7
    assert F.dropout1d(nt.ones(5, 3), 0.5).shape == (5, 3)
    m = nn.Dropout1d(0.5).eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="Expected 2D or 3D input"):
        F.dropout1d(nt.ones(2, 3, 4, 5))
    z = nt.randn(200_000)
    dropped = F.alpha_dropout(z, 0.2, training=True).numpy()
    assert abs(dropped.mean()) < 0.02 and abs(dropped.std() - 1) < 0.02  # statistics kept
    # dropped elements all land on a * a' + b = -a a' (1 - p), a' = -1.7581
    a = (0.8 * (1 + 0.2 * 1.7580993408473766 ** 2)) ** -0.5
    assert np.isclose(dropped, a * 1.7580993408473766 * 0.8, atol=1e-5).mean() == pytest.approx(0.2, abs=0.01)
    assert F.alpha_dropout(z, 0.2) is z and nn.AlphaDropout(0.2).eval()(z) is z
    np.testing.assert_array_equal(F.alpha_dropout(z[:5], 1.0, True).numpy(), np.zeros(5))


# ------------------------------------------------------------------------------ against PyTorch
def _compare(torch, fn, tfn, arrays, grads, rtol=2e-5, atol=2e-5):
    """``fn`` on NanoTorch and ``tfn`` on PyTorch of the same float32 / int64 ``arrays``: outputs,
    and the gradients of ``sum(v * out)`` for the inputs at positions ``grads``."""
    ours = [None if a is None else nt.tensor(a, dtype=getattr(nt, str(a.dtype)), requires_grad=i in grads)
            for i, a in enumerate(arrays)]
    theirs = [None if a is None else torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    out, expected = fn(*ours), tfn(*theirs)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    v = RNG.standard_normal(tuple(expected.shape)).astype(np.float32)
    (out * nt.tensor(v)).sum().backward()
    (expected * torch.tensor(v)).sum().backward()
    for i in grads:
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), rtol=10 * rtol,
                                   atol=10 * atol)


def _r(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _signs(*shape) -> np.ndarray:
    return RNG.choice([-1.0, 1.0], shape).astype(np.float32)


def _elementwise_cases(shape: tuple) -> list:
    """``(function name, arrays, which need gradients, positional options)`` for one input shape."""
    counts = RNG.integers(0, 5, shape).astype(np.float32)
    cases = [
        ("margin_ranking_loss", [_r(*shape), _r(*shape), _signs(*shape)], [0, 1, 2], (0.5,)),
        ("hinge_embedding_loss", [_r(*shape), RNG.choice([-1.0, 1.0, 0.5], shape).astype(np.float32)], [0],
         (0.7,)),
        ("soft_margin_loss", [5 * _r(*shape), _signs(*shape)], [0], ()),
        ("multilabel_soft_margin_loss", [_r(*shape), RNG.integers(0, 2, shape).astype(np.float32),
                                         np.abs(_r(shape[-1]))], [0, 1, 2], ()),
        ("poisson_nll_loss", [_r(*shape), counts], [0], (True, True)),
        ("poisson_nll_loss", [np.abs(_r(*shape)) + 0.1, counts], [0], (False, False)),
        ("gaussian_nll_loss", [_r(*shape), _r(*shape), np.abs(_r(*shape))], [0, 1, 2], (True,)),
    ]
    if len(shape) > 1:  # one variance per row
        cases.append(("gaussian_nll_loss", [_r(*shape), _r(*shape), np.abs(_r(*shape[:-1])) + 0.1],
                      [0, 1, 2], ()))
    return cases


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4)])
def test_elementwise_losses_match_torch(torch, reduction, shape):
    for name, arrays, grads, options in _elementwise_cases(shape):
        ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
        _compare(torch, lambda *xs, f=ours, o=options: f(*xs, *o, reduction=reduction),
                 lambda *xs, f=theirs, o=options: f(*xs, *o, reduction=reduction), arrays, grads)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cosine_embedding_loss_matches_torch(torch, reduction):
    _compare(torch, lambda a, b, y: F.cosine_embedding_loss(a, b, y, 0.3, reduction=reduction),
             lambda a, b, y: torch.nn.functional.cosine_embedding_loss(a, b, y, 0.3, reduction=reduction),
             [_r(4, 3), _r(4, 3), _signs(4)], [0, 1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p", [1, 2, 1.5])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_loss_matches_torch(torch, reduction, p, swap):
    options = {"p": p, "swap": swap, "reduction": reduction}
    _compare(torch, lambda a, b, c: F.triplet_margin_loss(a, b, c, 0.8, **options),
             lambda a, b, c: torch.nn.functional.triplet_margin_loss(a, b, c, 0.8, **options),
             [_r(4, 3), _r(4, 3), _r(4, 3)], [0, 1, 2])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("scores, target", [((4, 5), (4,)), ((5,), ()), ((5,), (1,))])
def test_multi_margin_loss_matches_torch(torch, reduction, p, scores, target):
    labels = RNG.integers(0, scores[-1], target)
    _compare(torch, lambda x, w: F.multi_margin_loss(x, nt.tensor(labels), p, 0.6, w, reduction=reduction),
             lambda x, w: torch.nn.functional.multi_margin_loss(x, torch.tensor(labels), p, 0.6, w,
                                                                reduction=reduction),
             [_r(*scores), np.abs(_r(scores[-1]))], [0])


@pytest.mark.parametrize("shape", [(4, 5), (5,), (2, 5, 3)])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probabilities_and_weighted_smoothing_match_torch(torch, shape, smoothing, reduction):
    tf = torch.nn.functional
    classes = shape[1] if len(shape) > 1 else shape[0]
    probs = np.abs(_r(*shape))
    probs /= probs.sum(1 if len(shape) > 1 else 0, keepdims=True)
    weight = np.abs(_r(classes)) + 0.1
    options = {"label_smoothing": smoothing, "reduction": reduction}
    _compare(torch, lambda x, q, w: F.cross_entropy(x, q, w, **options),
             lambda x, q, w: tf.cross_entropy(x, q, w, **options), [_r(*shape), probs, weight], [0, 1])
    labels = RNG.integers(0, classes, (shape[0],) + shape[2:] if len(shape) > 1 else ())
    if labels.ndim:
        labels.flat[0] = -100
    _compare(torch, lambda x, w: F.cross_entropy(x, nt.tensor(labels), w, **options),
             lambda x, w: tf.cross_entropy(x, torch.tensor(labels), w, **options), [_r(*shape), weight], [0])


CONV_TRANSPOSE = [  # in, out, kernel, stride, padding, output_padding, input H x W
    (2, 3, 3, 1, 0, 0, (4, 5)), (3, 2, 3, 2, 1, 1, (4, 4)), (8, 16, 3, 2, 1, 1, (5, 7)),
    (8, 8, 3, 1, 1, 0, (6, 6)), (2, 3, (2, 3), (2, 1), (1, 0), (1, 0), (3, 4)), (4, 2, 4, 3, 2, 2, (3, 3)),
]


@pytest.mark.parametrize("case", CONV_TRANSPOSE)
def test_conv_transpose_matches_torch(torch, backend, case):
    cin, cout, k, s, p, op, hw = case
    kernel = k if isinstance(k, tuple) else (k, k)
    _compare(torch, lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op),
             lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, s, p, op),
             [_r(2, cin, *hw), _r(cin, cout, *kernel), _r(cout)], [0, 1, 2])
    _compare(torch, lambda x, w: F.conv_transpose1d(x, w, None, 2, 1, 1),
             lambda x, w: torch.nn.functional.conv_transpose1d(x, w, None, 2, 1, 1),
             [_r(cin, hw[1]), _r(cin, cout, kernel[1])], [0, 1])


@pytest.mark.parametrize("options", [(2, 1, 0, 1), (3, 2, 1, 2), ((2, 3), (1, 2), (0, 1), (2, 1))])
def test_unfold_and_fold_match_torch(torch, options):
    tf = torch.nn.functional
    _compare(torch, lambda x: F.unfold(x, *options), lambda x: tf.unfold(x, *options), [_r(2, 3, 7, 6)], [0])
    blocks = tf.unfold(torch.zeros(1, 3, 7, 6), *options).shape
    _compare(torch, lambda c: F.fold(c, (7, 6), *options), lambda c: tf.fold(c, (7, 6), *options),
             [_r(2, *blocks[1:])], [0])


PAD_CASES = [((2, 5), (2, 3)), ((2, 3, 5), (0, 4)), ((3, 4, 5), (1, 2, 3, 0)), ((2, 3, 4, 5), (-1, 2, 1, -2)),
             ((1, 2, 3, 4, 5), (1, 1, 2, 2, 1, 0))]


@pytest.mark.parametrize("mode, shape, amounts", [
    (mode, shape, amounts) for mode in ("reflect", "replicate", "circular") for shape, amounts in PAD_CASES
    if mode != "circular" or len(shape) > len(amounts) // 2 + 1])  # PyTorch's circular needs a batch dim
def test_pad_modes_match_torch(torch, mode, shape, amounts):
    _compare(torch, lambda x: F.pad(x, amounts, mode), lambda x: torch.nn.functional.pad(x, amounts, mode),
             [_r(*shape)], [0])


def test_layers_match_torch(torch):
    tnn = torch.nn
    pairs = [
        (nn.ZeroPad2d((1, 2, 0, 3)), tnn.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4)),
        (nn.ConstantPad2d((1, 0, 2, 1), -1.0), tnn.ConstantPad2d((1, 0, 2, 1), -1.0), (1, 2, 3, 3)),
        (nn.ReflectionPad1d(2), tnn.ReflectionPad1d(2), (2, 3, 4)),
        (nn.ReplicationPad2d(2), tnn.ReplicationPad2d(2), (2, 3, 3)),
        (nn.PixelShuffle(2), tnn.PixelShuffle(2), (2, 3, 8, 2, 3)),
        (nn.PixelUnshuffle(3), tnn.PixelUnshuffle(3), (1, 2, 6, 3)),
        (nn.LocalResponseNorm(3, 0.5, 0.6, 2.0), tnn.LocalResponseNorm(3, 0.5, 0.6, 2.0), (2, 5, 3, 2)),
        (nn.RMSNorm([2, 3], 1e-2), tnn.RMSNorm([2, 3], 1e-2), (4, 2, 3)),
        (nn.RMSNorm(3), tnn.RMSNorm(3), (4, 3)),
    ]
    for ours, theirs, shape in pairs:
        assert repr(ours) == repr(theirs)
        _compare(torch, ours, theirs, [_r(*shape)], [0])
    ours, theirs = nn.Bilinear(3, 4, 2), tnn.Bilinear(3, 4, 2)
    assert repr(ours) == repr(theirs)
    _compare(torch, lambda a, b, w, c: F.bilinear(a, b, w, c), tnn.functional.bilinear,
             [_r(2, 5, 3), _r(2, 5, 4), _r(2, 3, 4), _r(2)], [0, 1, 2, 3])
    ours, theirs = nn.ConvTranspose2d(3, 4, 3, 2, 1, 1), tnn.ConvTranspose2d(3, 4, 3, 2, 1, 1)
    assert repr(ours) == repr(theirs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
