"""PyTorch's ``torch.backends`` flags that device-picking code reads
(``"mps" if torch.backends.mps.is_available() else "cpu"``): NanoTorch runs on the CPU only.

Not to be confused with ``nanotorch.backend``, which picks NanoTorch's kernels (C or NumPy).
"""

from __future__ import annotations

from types import SimpleNamespace


def _no() -> bool:
    return False


mps = SimpleNamespace(is_available=_no, is_built=_no)  # Apple's GPU: not here
cuda = SimpleNamespace(is_built=_no)
