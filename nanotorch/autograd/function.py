"""``Function``: one differentiable operation, its forward and backward side by side.

A subclass writes two static methods on NumPy arrays (PyTorch's contract)::

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a      # one gradient (or None) per input

Trailing inputs that need no gradient (numbers, options) may be left out of the tuple.
``Mul.apply(x, y)`` unwraps the tensors, runs ``forward`` and, when grad mode is on and an
input requires grad, keeps the ``ctx`` as the output's ``grad_fn``: a node of the graph.
Its ``edges`` point at what each input's gradient flows to: the input's own ``grad_fn``,
or the input itself when it is a leaf that requires grad (its ``.grad`` accumulates).

A view op (``is_view``) whose output shares its input's memory gives the output the
input's version counter and ``_base``; its node remembers the graph version, so a
backward through a view taken before its base was changed in place raises.
"""

from __future__ import annotations

import numpy as np

from nanotorch import backend as _backend
from nanotorch.autograd.grad_mode import state as _grad
from nanotorch.tensor import Tensor


class Function:
    """Base class of every operation; an instance is the ``ctx`` and the graph node."""

    saved_tensors: tuple = ()
    _saved_versions: tuple = ()  # (version counter, slot, value) to check before backward
    is_view = False  # True where forward may return a view of its first input's memory
    retained_output = None  # weakref to the output tensor, after its retain_grad()
    # True for the ops that call a kernel (``ctx.backend.linear_forward(...)``): only they
    # keep the backend that ran forward in ``ctx.backend``, so backward uses the same one.
    uses_backend = False

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays for backward; the engine frees them after backward runs."""
        self.saved_tensors = arrays

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        """Run the op on tensors (or plain numbers) and record it in the graph."""
        ctx = cls.__new__(cls)
        if cls.uses_backend:
            ctx.backend = _backend.state.current
        # one pass: each argument's array, where its gradient goes, and whether it needs one
        arrays, edges, needs = [], [], []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                if a.requires_grad:
                    edges.append(a.grad_fn or a)
                    needs.append(True)
                    continue
            else:
                arrays.append(a)
            edges.append(None)
            needs.append(False)
        record = True in needs and _grad.enabled
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(args)
        out = cls.forward(ctx, *arrays, **kwargs)
        if type(out) is not np.ndarray:
            out = np.asarray(out)  # NumPy gives scalars for 0-d results; .data is an array
        result = Tensor._make(out, record)
        if cls.is_view and np.may_share_memory(out, args[0].data):
            result._version, result._base = args[0]._version, args[0]
            if record:
                ctx._saved_versions = ((result._version, 1, result._version[1]),)
        if record:
            ctx.edges = tuple(edges)
            result.grad_fn = ctx
            if ctx.saved_tensors:
                ctx._saved_versions += _versions_of_saved(ctx.saved_tensors, args, result)
        return result


def _versions_of_saved(saved: tuple, args: tuple, result: Tensor) -> tuple:
    """(counter, 0, value) for every input or output tensor whose memory backward will read.

    A saved array counts when it is the tensor's array or shares its memory (a reshape or
    ``x[..., None]`` of an input is a NumPy view of it). An in-place change bumps the
    counter, and the engine then refuses to run backward.
    """
    versions = []
    for t in (*args, result):
        if isinstance(t, Tensor):
            data = t.data
            for s in saved:
                if s is data or (type(s) is np.ndarray and (s.base is not None or data.base is not None)
                                 and np.may_share_memory(s, data)):
                    versions.append((t._version, 0, t._version[0]))
                    break
    return tuple(versions)
