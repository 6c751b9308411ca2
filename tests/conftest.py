"""Shared test setup: a ``backend`` fixture, and grad mode checked around every test."""

from __future__ import annotations

import pytest

import nanotorch as nt


@pytest.fixture(params=nt.backend.available())
def backend(request):
    """Run the test once per backend that can run here ("c" when compiled, "numpy")."""
    with nt.backend.use(request.param) as b:
        yield b


@pytest.fixture
def torch():
    """PyTorch, the oracle; the test skips where it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """Every test starts with grad mode on; one that leaves it off fails, instead of
    silently changing the tests that run after it."""
    nt.set_grad_enabled(True)
    yield
    leaked = not nt.is_grad_enabled()
    nt.set_grad_enabled(True)
    assert not leaked, "the test left grad mode disabled"


@pytest.fixture
def rng_restored():
    """The global generator put back as it was after the test (which may reseed it)."""
    state = nt.get_rng_state()
    yield
    nt.set_rng_state(state)
