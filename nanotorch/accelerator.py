"""PyTorch's ``torch.accelerator`` as its tutorials ask it (``device =
torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else
"cpu"``): NanoTorch has none, so they pick the CPU."""

from __future__ import annotations


def is_available() -> bool:
    """False: no GPU or other accelerator, only the CPU."""
    return False


def current_accelerator() -> None:
    """None: no accelerator."""
    return None


def device_count() -> int:
    """0: no accelerator."""
    return 0
