"""``multinomial``, ``bernoulli``, ``normal``, ``randint_like`` and the in-place random fills:
their laws (by counting many draws), shapes, dtypes, gradients, errors and ``generator=``."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt


def test_multinomial_with_replacement_draws_each_category_by_its_weight():
    w = nt.tensor([1.0, 0.0, 3.0, 6.0])
    draws = nt.multinomial(w, 40_000, replacement=True, generator=nt.Generator().manual_seed(0))
    assert draws.dtype == nt.int64 and draws.shape == (40_000,)
    freq = np.bincount(draws.numpy(), minlength=4) / 40_000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.3, 0.6], atol=0.01)  # 0.01 is ~4 sigma
    assert freq[1] == 0.0


def test_multinomial_rows_are_drawn_apart():
    w = nt.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    draws = nt.multinomial(w, 5, replacement=True)
    assert draws.shape == (2, 5) and draws[0].tolist() == [0] * 5 and draws[1].tolist() == [2] * 5


def test_multinomial_without_replacement_draws_distinct_categories_by_weight():
    g = nt.Generator().manual_seed(1)
    w = nt.tensor([[1.0, 2.0, 7.0]]).expand(20_000, 3).contiguous()
    draws = nt.multinomial(w, 3, generator=g).numpy()
    assert (np.sort(draws, axis=1) == [0, 1, 2]).all()  # a permutation in every row
    first = np.bincount(draws[:, 0], minlength=3) / 20_000
    np.testing.assert_allclose(first, [0.1, 0.2, 0.7], atol=0.015)
    # the second draw, given the first was 2: the rest by their weights, 1/3 and 2/3
    after_2 = draws[draws[:, 0] == 2, 1]
    np.testing.assert_allclose(np.mean(after_2 == 1), 2 / 3, atol=0.02)


def test_multinomial_without_replacement_takes_zero_weights_last_in_order():
    assert nt.multinomial(nt.tensor([0.0, 1.0, 0.0, 0.0]), 3).tolist() == [1, 0, 2]


@pytest.mark.parametrize(("weights", "k", "kwargs", "match"), [
    ([0.0, 0.0], 1, {}, "sum to 0"),
    ([-1.0, 2.0], 1, {}, "inf, nan or element < 0"),
    ([np.nan, 1.0], 1, {}, "inf, nan or element < 0"),
    ([np.inf, 1.0], 1, {"replacement": True}, "inf, nan or element < 0"),
    ([1.0, 2.0], 3, {}, "cannot draw 3 samples without replacement from 2"),
    ([1.0, 2.0], 0, {}, "positive integer"),
    ([1.0, 2.0], True, {}, "positive integer"),
])
def test_multinomial_refuses_bad_input_naming_the_problem(weights, k, kwargs, match):
    with pytest.raises(RuntimeError, match=match):
        nt.multinomial(nt.tensor(weights), k, **kwargs)


def test_multinomial_refuses_integer_and_3d_input():
    with pytest.raises(TypeError, match="input must be a floating point tensor, got dtype int64"):
        nt.multinomial(nt.tensor([1, 2]), 1)
    with pytest.raises(RuntimeError, match="1-D or 2-D"):
        nt.multinomial(nt.ones(2, 2, 2), 1)


def test_bernoulli_draws_ones_with_the_given_probabilities():
    g = nt.Generator().manual_seed(2)
    p = nt.tensor([0.0, 0.25, 1.0]).expand(20_000, 3).contiguous()
    b = nt.bernoulli(p, generator=g)
    assert b.dtype == nt.float32 and b.shape == (20_000, 3) and not b.requires_grad
    assert set(np.unique(b.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(b.numpy().mean(axis=0), [0.0, 0.25, 1.0], atol=0.015)
    assert nt.bernoulli(nt.zeros(1000), 1.0).numpy().all()  # p given: it wins over input
    for bad in (nt.tensor([1.5]), nt.tensor([np.nan])):
        with pytest.raises(RuntimeError, match="in \\[0, 1\\]"):
            nt.bernoulli(bad)


def test_normal_has_its_moments_shapes_and_dtypes():
    g = nt.Generator().manual_seed(3)
    x = nt.normal(2.0, 3.0, (200, 100), generator=g)
    assert x.dtype == nt.float32 and x.shape == (200, 100)
    assert abs(x.numpy().mean() - 2.0) < 0.1 and abs(x.numpy().std() - 3.0) < 0.1
    y = nt.normal(nt.zeros(4, 1, dtype=nt.float64), nt.ones(3))  # broadcast, float64 wins
    assert y.shape == (4, 3) and y.dtype == nt.float64
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        nt.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError, match="needs a size"):
        nt.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="size is for number arguments"):
        nt.normal(nt.zeros(2), 1.0, (2,))
    with pytest.raises(TypeError, match="mean must be a floating point tensor, got dtype int64"):
        nt.normal(nt.zeros(2, dtype=nt.int64), 1.0)


def test_normal_sends_gradients_to_mean_and_std():
    mean = nt.tensor([1.0, -2.0, 0.5], requires_grad=True)
    std = nt.tensor([2.0, 0.5, 1.0], requires_grad=True)
    y = nt.normal(mean, std, generator=nt.Generator().manual_seed(4))
    (y * nt.tensor([1.0, 2.0, 3.0])).sum().backward()
    z = (y.detach() - mean.detach()) / std.detach()  # the standard normal draw
    np.testing.assert_allclose(mean.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(std.grad.numpy(), (z * nt.tensor([1.0, 2.0, 3.0])).numpy(), rtol=1e-6)


def test_the_fills_change_the_tensor_in_place():
    g = nt.Generator().manual_seed(5)
    x = nt.zeros(10_000)
    version = x._version[0]
    assert x.uniform_(-2, 3, generator=g) is x and x._version[0] > version
    assert -2 <= x.min().item() and x.max().item() < 3 and abs(x.mean().item() - 0.5) < 0.05
    x.normal_(1.0, 0.5, generator=g)
    assert abs(x.mean().item() - 1.0) < 0.02 and abs(x.numpy().std() - 0.5) < 0.02
    x.bernoulli_(0.3, generator=g)
    assert set(np.unique(x.numpy())) == {0.0, 1.0} and abs(x.mean().item() - 0.3) < 0.02
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        x.normal_(0.0, -1.0)
    ints = nt.zeros(3, dtype=nt.int64)
    for fill in (ints.uniform_, ints.normal_):
        with pytest.raises(TypeError, match="must be a floating point tensor, got dtype int64"):
            fill()
    assert set(ints.bernoulli_(0.5).tolist()) <= {0, 1}  # as PyTorch: 0/1 in any dtype


def test_a_leaf_that_requires_grad_is_filled_only_under_no_grad():
    w = nt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.uniform_()
    with nt.no_grad():
        w.uniform_(1, 2)
    assert (w.detach().numpy() >= 1).all()


def test_randint_like_draws_in_the_tensors_shape_and_dtype():
    t = nt.zeros(50, 4)
    r = nt.randint_like(t, 5)
    assert r.shape == (50, 4) and r.dtype == nt.float32 and set(np.unique(r.numpy())) <= {0, 1, 2, 3, 4}
    r = nt.randint_like(t, 3, 5, dtype=nt.int64)
    assert r.dtype == nt.int64 and set(np.unique(r.numpy())) <= {3, 4}


def test_the_same_generator_seed_gives_the_same_draws_and_leaves_the_global_stream():
    def draws(seed):
        g = nt.Generator().manual_seed(seed)
        return [nt.multinomial(nt.tensor([1.0, 2.0, 3.0]), 4, True, generator=g).tolist(),
                nt.bernoulli(nt.full((5,), 0.5), generator=g).tolist(),
                nt.normal(0.0, 1.0, (3,), generator=g).tolist(), nt.zeros(3).uniform_(generator=g).tolist()]

    state = nt.get_rng_state()
    assert draws(9) == draws(9) and draws(9) != draws(10)
    assert nt.get_rng_state().tolist() == state.tolist()


def test_shapes_dtypes_and_refusals_match_pytorch(torch):
    w = [[0.2, 0.0, 0.8], [1.0, 1.0, 1.0]]
    for k, replacement in ((2, False), (5, True)):
        ours = nt.multinomial(nt.tensor(w), k, replacement)
        theirs = torch.multinomial(torch.tensor(w), k, replacement)
        assert ours.shape == tuple(theirs.shape)
        assert ours.dtype == nt.int64 and theirs.dtype == torch.int64
    assert nt.multinomial(nt.tensor([0.0, 1.0, 0.0]), 3).tolist() == torch.multinomial(
        torch.tensor([0.0, 1.0, 0.0]), 3).tolist()
    for bad, k in (([0.0, 0.0], 1), ([-1.0, 1.0], 1), ([1.0, 2.0], 3), ([1.0], 0)):
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(bad), k)
        with pytest.raises(RuntimeError):
            nt.multinomial(nt.tensor(bad), k)
    assert nt.normal(0.0, 1.0, (2, 3)).shape == tuple(torch.normal(0.0, 1.0, (2, 3)).shape)
    assert nt.bernoulli(nt.zeros(2, 2)).dtype == nt.float32
    assert torch.bernoulli(torch.zeros(2, 2)).dtype == torch.float32


@pytest.mark.filterwarnings("ignore:nanotorch.compile")
def test_a_compiled_step_that_draws_runs_eagerly_with_fresh_draws(rng_restored):
    """A step that draws (a tensor made inside it, or one filled in place) cannot be replayed
    with its numbers baked in: nt.compile runs it eagerly, and each call draws anew (seeded:
    two equal bernoulli masks, 1 in 4,096, cannot flake it)."""
    nt.manual_seed(0)
    model = nt.nn.Linear(4, 2)
    opt = nt.optim.SGD(model.parameters(), lr=0.1)
    buf = nt.zeros(3, 4)
    draws = {"bernoulli": lambda x: nt.bernoulli(nt.full(x.shape, 0.5)),
             "normal": lambda x: nt.normal(0.0, 1.0, x.shape),
             "uniform_": lambda x: buf.uniform_()}
    for name, draw in draws.items():
        def step(x, draw=draw):
            opt.zero_grad()
            noise = draw(x)
            model(x * noise).sum().backward()
            opt.step()
            return noise

        compiled = nt.compile(step)
        with pytest.warns(UserWarning, match="runs eagerly"):
            compiled(nt.ones(3, 4))
        seen = [compiled(nt.ones(3, 4)).numpy().copy() for _ in range(3)]
        assert not np.array_equal(seen[1], seen[2]), name
