"""Adagrad: PyTorch's update, by hand and against torch when it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nanotorch as nt


def test_two_steps_by_hand():
    p = nt.nn.Parameter(nt.tensor([1.0, -2.0]))
    opt = nt.optim.Adagrad([p], lr=0.1, lr_decay=0.5, initial_accumulator_value=1.0, eps=0.0)
    assert opt.state[p]["sum"].tolist() == [1.0, 1.0] and opt.state[p]["step"] == 0
    p.grad = nt.tensor([3.0, 4.0])
    opt.step()  # sum = 1 + g^2 = [10, 17]; p -= 0.1 * g / sqrt(sum)
    expected = [1.0 - 0.1 * 3 / math.sqrt(10), -2.0 - 0.1 * 4 / math.sqrt(17)]
    assert p.tolist() == pytest.approx(expected, rel=1e-6)
    p.grad = nt.tensor([1.0, 0.0])
    opt.step()  # step 2: lr / (1 + lr_decay) = 0.1 / 1.5; sum = [11, 17]
    expected[0] -= 0.1 / 1.5 * 1 / math.sqrt(11)
    assert p.tolist() == pytest.approx(expected, rel=1e-6) and opt.state[p]["step"] == 2


def test_maximize_weight_decay_and_skipped_params():
    p, q = nt.nn.Parameter(nt.tensor([1.0])), nt.nn.Parameter(nt.tensor([5.0]))
    opt = nt.optim.Adagrad([p, q], lr=1.0, weight_decay=0.5, maximize=True, eps=0.0)
    p.grad = nt.tensor([1.0])
    opt.step()  # g = -1 + 0.5 * 1 = -0.5; sum = 0.25; p -= 1 * (-0.5 / 0.5)
    assert p.tolist() == [2.0] and q.tolist() == [5.0] and opt.state[q]["step"] == 0


def test_refuses_negative_options():
    with pytest.raises(ValueError, match="lr_decay"):
        nt.optim.Adagrad([nt.nn.Parameter(nt.ones(1))], lr_decay=-1)


def test_matches_torch_over_30_steps_with_groups_and_a_checkpoint():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0, b0 = rng.standard_normal((3, 4), dtype=np.float32), rng.standard_normal(4, dtype=np.float32)
    ours = [nt.nn.Parameter(nt.tensor(w0)), nt.nn.Parameter(nt.tensor(b0))]
    theirs = [torch.nn.Parameter(torch.tensor(w0)), torch.nn.Parameter(torch.tensor(b0))]
    options = {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5}
    opt = nt.optim.Adagrad([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.05}], **options)
    ref = torch.optim.Adagrad([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.05}], **options)
    for step in range(30):
        if step == 15:  # resume from a checkpoint
            saved = opt.state_dict()
            opt = nt.optim.Adagrad([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.05}], **options)
            opt.load_state_dict(saved)
        for a, b in zip(ours, theirs):
            g = rng.standard_normal(a.shape, dtype=np.float32)
            a.grad, b.grad = nt.tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
