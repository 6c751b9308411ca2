"""NanoTorch's one device, the CPU: the check behind ``.to(device)`` and ``.cuda()``."""

from __future__ import annotations


def check(device, call: str) -> None:
    """Return when ``device`` names the CPU (``"cpu"``, ``"cpu:0"``); else raise a RuntimeError
    that says why there is no other device and what to write instead of ``call``."""
    if str(device).split(":")[0] == "cpu":
        return
    raise RuntimeError(
        f"{call}: NanoTorch runs on the CPU only (NumPy arrays and C kernels), so there is no "
        f"{str(device)!r} device to move to. Everything already lives on the CPU: remove the call, "
        "or use device = \"cpu\" where PyTorch code picks a device.")
