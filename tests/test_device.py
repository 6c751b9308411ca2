"""Device-picking code as PyTorch's tutorials write it runs, and picks the CPU."""

from __future__ import annotations

import pytest

import nanotorch as nt
from nanotorch import nn


def test_tutorial_device_lines_pick_the_cpu():
    assert not nt.cuda.is_available() and nt.cuda.device_count() == 0
    assert not nt.backends.mps.is_available() and not nt.accelerator.is_available()
    device = nt.accelerator.current_accelerator().type if nt.accelerator.is_available() else "cpu"
    assert device == "cpu"
    device = nt.device("cuda" if nt.cuda.is_available() else "cpu")
    model = nn.Linear(3, 2).to(device)
    x = nt.randn(4, 3, device=device).to(device, non_blocking=True)
    assert model(x).device == device and x.device == nt.device("cpu") and not x.is_cuda


def test_device_objects():
    assert str(nt.device("cuda:1")) == "cuda:1"
    assert repr(nt.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert nt.device("cpu").type == "cpu" and nt.device("cpu").index is None
    assert nt.device(nt.device("cpu")) == nt.device("cpu") != nt.device("cuda")
    assert len({nt.device("cpu"), nt.device("cpu")}) == 1
    for bad in ("cuda:x", "cuda:-1"):
        with pytest.raises(RuntimeError):
            nt.device(bad)
    with pytest.raises(TypeError):
        nt.device(0)


@pytest.mark.parametrize("make", [
    lambda d: nt.tensor([1.0], device=d), lambda d: nt.as_tensor([1.0], device=d),
    lambda d: nt.zeros(2, device=d), lambda d: nt.ones(2, device=d), lambda d: nt.empty(2, device=d),
    lambda d: nt.full((2,), 1.0, device=d), lambda d: nt.eye(2, device=d), lambda d: nt.arange(3, device=d),
    lambda d: nt.linspace(0, 1, 3, device=d), lambda d: nt.rand(2, device=d), lambda d: nt.randn(2, device=d),
    lambda d: nt.randint(0, 3, (2,), device=d), lambda d: nt.randperm(3, device=d),
    lambda d: nt.zeros_like(nt.ones(2), device=d), lambda d: nt.randn_like(nt.ones(2), device=d),
])
def test_creation_functions_take_device(make):
    assert make("cpu").device == nt.device("cpu") and make(nt.device("cpu")).device.type == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        make("cuda")


def test_to_copy_returns_a_new_tensor():
    x = nt.ones(2)
    assert x.to("cpu") is x and x.to("cpu", copy=True) is not x
