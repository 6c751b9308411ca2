"""NanoTorch's one device, the CPU: ``nanotorch.device``, ``Tensor.device``, and the check
behind ``.to(device)``, ``.cuda()`` and every ``device=`` argument.

``device("cuda")`` can be made, as in PyTorch (code that picks a device names it before it
asks whether it exists), but moving anything to it raises and says why.
"""

from __future__ import annotations

_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:  # noqa: N801 - PyTorch's name
    """A device name: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device() takes a string such as 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of "
                               f"device string: {type}")
        if number:
            if index is not None:
                raise RuntimeError(f"device index given twice: {type!r} and {index}")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: {type!r}")
            index = int(number)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = name, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __eq__(self, other) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check(where, call: str) -> None:
    """Return when ``where`` (a string or a ``device``) names the CPU (``"cpu"``,
    ``"cpu:0"``); else raise a RuntimeError that says why there is no other device and what
    to write instead of ``call``."""
    if str(where).split(":")[0] == "cpu":
        return
    raise RuntimeError(
        f"{call}: NanoTorch runs on the CPU only (NumPy arrays and C kernels), so there is no "
        f"{str(where)!r} device to move to. Everything already lives on the CPU: remove the call, "
        "or use device = \"cpu\" where PyTorch code picks a device.")


def is_device(arg) -> bool:
    """Whether a positional argument of ``.to(...)`` names a device (else it is a dtype)."""
    return isinstance(arg, (str, device))
