"""``nanotorch.Generator`` and the global generator: seeds, states, and ``generator=``."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn
from nanotorch.utils.data import DataLoader, TensorDataset, random_split


def test_a_new_generator_starts_at_pytorchs_default_seed_and_draws_as_numpy():
    a, b = nt.Generator(), nt.Generator()
    assert a.initial_seed() == nt.random.DEFAULT_SEED == 67280421310721
    assert nt.randn(5, generator=a).tolist() == nt.randn(5, generator=b).tolist()
    g = nt.Generator()
    assert g.manual_seed(42) is g and g.initial_seed() == 42 and g.device == "cpu"
    want = np.random.default_rng(42).standard_normal(4).astype(np.float32)
    np.testing.assert_array_equal(nt.randn(4, generator=g).numpy(), want)


def test_every_generator_argument_takes_a_generator_and_leaves_the_global_stream(rng_restored):
    def draws(g):
        w = nt.zeros(3, 4)
        ds = TensorDataset(nt.arange(10))
        return [nt.rand(3, generator=g).tolist(), nt.randn(2, generator=g).tolist(),
                nt.randint(0, 100, (4,), generator=g).tolist(), nt.randperm(6, generator=g).tolist(),
                nn.init.uniform_(w, generator=g).tolist(), nn.init.normal_(w, generator=g).tolist(),
                nn.init.kaiming_uniform_(w, generator=g).tolist(),
                [s.indices.tolist() for s in random_split(ds, [3, 7], generator=g)],
                [b[0].tolist() for b in DataLoader(ds, batch_size=4, shuffle=True, generator=g)]]

    nt.manual_seed(0)
    first = draws(nt.Generator().manual_seed(7))
    after = nt.rand(3).tolist()
    nt.manual_seed(0)
    assert draws(nt.Generator().manual_seed(7)) == first  # the same seed, the same draws
    assert nt.rand(3).tolist() == after  # the global stream drew nothing for them
    assert draws(nt.Generator().manual_seed(8)) != first


def test_a_numpy_generator_is_still_taken():
    want = np.random.default_rng(3).permutation(5).tolist()
    assert nt.randperm(5, generator=np.random.default_rng(3)).tolist() == want


@pytest.mark.parametrize("bad", [42, "seed", object()])
def test_anything_else_as_generator_raises_naming_it(bad):
    for call in (lambda: nt.randn(2, generator=bad),
                 lambda: DataLoader(TensorDataset(nt.arange(4)), shuffle=True, generator=bad)):
        with pytest.raises(TypeError, match=f"nanotorch.Generator.*got {type(bad).__name__}"):
            call()


def test_get_state_and_set_state_go_back_to_a_position_and_its_seed():
    g = nt.Generator().manual_seed(5)
    nt.rand(3, generator=g)
    g.numpy.integers(0, 10, dtype=np.int32)  # leaves half of a 64-bit draw cached
    state = g.get_state()
    assert state.dtype == nt.uint8 and state.shape == (48,)

    def draws():
        halves = [int(g.numpy.integers(0, 1000, dtype=np.int32)) for _ in range(3)]
        return halves + nt.rand(2, generator=g).tolist()

    ahead = draws()
    g.manual_seed(99)
    assert g.set_state(state) is g and g.initial_seed() == 5
    assert draws() == ahead
    other = nt.Generator().set_state(state)  # a state moves between generators
    assert other.initial_seed() == 5


def test_a_bad_state_raises_and_leaves_the_generator_as_it_was():
    g = nt.Generator().manual_seed(1)
    before = g.get_state().tolist()
    with pytest.raises(TypeError, match="uint8 tensor"):
        g.set_state(nt.zeros(48))
    with pytest.raises(TypeError, match="uint8 tensor"):
        g.set_state(np.zeros(48, np.uint8))
    with pytest.raises(RuntimeError, match="48 bytes, got shape \\[3\\]"):
        g.set_state(nt.zeros(3, dtype=nt.uint8))
    assert g.get_state().tolist() == before


def test_seeds_are_taken_as_pytorch_takes_them():
    g = nt.Generator()
    assert g.manual_seed(-1).initial_seed() == 2**64 - 1
    assert g.manual_seed(2**64 - 1).initial_seed() == 2**64 - 1  # the same stream as -1
    assert g.manual_seed(np.int64(3)).initial_seed() == 3
    for bad, match in (("seed", "integer, got str"), (1.0, "integer, got float"),
                       (True, "integer, got bool"), (2**64, "outside"),
                       (-(2**63) - 1, "outside"), (None, "integer, got NoneType")):
        with pytest.raises(RuntimeError, match=match):
            g.manual_seed(bad)
    assert g.initial_seed() == 3  # unchanged by the refusals


def test_seed_starts_from_fresh_entropy():
    g = nt.Generator()
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2**64 and g.initial_seed() == s
    assert g.seed() != s  # 64 random bits twice: equal once in 2**64


def test_the_global_generator_functions(rng_restored):
    assert nt.manual_seed(11) is nt.default_generator and nt.initial_seed() == 11
    assert nt.manual_seed(2.9).initial_seed() == 2  # int(seed) first, as torch.manual_seed
    state = nt.get_rng_state()
    x = nt.randn(4).tolist()
    nt.set_rng_state(state)
    assert nt.randn(4).tolist() == x
    s = nt.seed()
    assert nt.initial_seed() == s


def test_dropout_draws_from_the_global_generator(rng_restored):
    x = nt.ones(1000)
    nt.manual_seed(3)
    a = nn.functional.dropout(x, 0.5, training=True).tolist()
    nt.manual_seed(3)
    assert nn.functional.dropout(x, 0.5, training=True).tolist() == a


def test_only_the_cpu_has_a_generator():
    assert nt.Generator("cpu").device == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        nt.Generator(device="cuda")


def test_seeds_and_states_are_pytorchs_shape(torch, rng_restored):
    """The same defaults and seed arithmetic as PyTorch's (the numbers drawn differ: PCG64
    here, a Mersenne Twister there)."""
    torch_state = torch.get_rng_state()
    assert nt.Generator().initial_seed() == torch.Generator().initial_seed()
    for seed in (-1, -(2**63), 0, 7, 2**63):
        want = torch.Generator().manual_seed(seed).initial_seed()
        assert nt.Generator().manual_seed(seed).initial_seed() == want
    for bad in (1.5, "7", None, True):
        with pytest.raises(RuntimeError):
            torch.Generator().manual_seed(bad)
        with pytest.raises(RuntimeError):
            nt.Generator().manual_seed(bad)
    assert nt.manual_seed(2.9).initial_seed() == torch.manual_seed(2.9).initial_seed() == 2
    assert nt.manual_seed(True).initial_seed() == torch.manual_seed(True).initial_seed() == 1
    assert isinstance(nt.manual_seed(0), nt.Generator) and isinstance(torch.manual_seed(0), torch.Generator)
    assert nt.get_rng_state().dtype == nt.uint8 and torch.get_rng_state().dtype == torch.uint8
    torch.set_rng_state(torch_state)
