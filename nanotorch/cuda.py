"""PyTorch's ``torch.cuda`` as code that picks a device asks it: there is no GPU here.

``device = "cuda" if nt.cuda.is_available() else "cpu"`` picks the CPU."""

from __future__ import annotations


def is_available() -> bool:
    """False: NanoTorch runs on the CPU only."""
    return False


def device_count() -> int:
    """0: no GPU."""
    return 0


def manual_seed(seed: int) -> None:
    """Does nothing (no GPU to seed), as PyTorch's does without CUDA; seed the CPU with
    ``nanotorch.manual_seed``."""


manual_seed_all = manual_seed
