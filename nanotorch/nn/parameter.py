"""``Parameter``: a Tensor that a ``Module`` registers as learnable."""

from __future__ import annotations

import numpy as np

from nanotorch.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad by default and that ``Module.__setattr__`` registers.

    Made from a Tensor it shares that tensor's memory (as PyTorch); other data is copied
    with ``nanotorch.tensor``'s rules (floats become float32).
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        source = data if isinstance(data, Tensor) else Tensor(data)
        for slot in Tensor.__slots__:  # share the data and the version counter
            if slot != "__weakref__":
                setattr(self, slot, getattr(source, slot))
        self.grad = None
        self.grad_fn = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
