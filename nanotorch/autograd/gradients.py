"""``grad``: the gradients of outputs w.r.t. chosen inputs, returned instead of accumulated;
and the argument checks it shares with ``Tensor.backward`` (seeds, ``inputs``,
``create_graph``).

NanoTorch's backward functions compute on NumPy arrays, outside the graph: a gradient is a
plain tensor with no ``grad_fn``, so it can't be differentiated again. PyTorch's
``create_graph=True`` (higher derivatives: a Hessian-vector product, a gradient penalty)
therefore raises ``NotImplementedError`` here; first derivatives are complete.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nanotorch.autograd.engine import _owned, run_to_inputs
from nanotorch.tensor import Tensor


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` w.r.t. each of ``inputs``, as a tuple; no ``.grad`` changes.

    With ``v_j`` the ``grad_outputs`` (ones for a one-element output when omitted; required
    for any other), the result for input ``x`` is ``sum_j v_j . d(outputs_j)/dx``: the
    vector-Jacobian product. Hooks registered with ``register_hook`` on tensors on the way
    run, as in ``backward()``. An input no gradient reaches raises, unless ``allow_unused``
    (then ``None``, or zeros with ``materialize_grads``). The graph is freed unless
    ``retain_graph`` (which defaults to ``create_graph``).
    """
    check_create_graph(create_graph, "autograd.grad")
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True (a batch of vector-Jacobian products in one "
                                  "call) is not supported: call autograd.grad once per grad_outputs")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    outputs, inputs = as_tensors(outputs, "outputs"), as_tensors(inputs, "inputs")
    check_inputs(inputs, "grad")
    seeds = _seeds(outputs, grad_outputs)
    retain = create_graph if retain_graph is None else retain_graph
    found = run_to_inputs(list(zip(outputs, seeds)), inputs, retain, accumulate=False)
    handed_out = {id(s) for s in seeds}
    result = []
    for i, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not (materialize_grads or allow_unused):
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used "
                                   "in the graph. Set allow_unused=True if this is the desired behavior.")
            result.append(Tensor._make(np.zeros_like(x.data), False) if materialize_grads else None)
        else:
            result.append(Tensor._make(_owned_result(x, g, handed_out), False))
    return tuple(result)


def _owned_result(x: Tensor, g: np.ndarray, handed_out: set) -> np.ndarray:
    """``g`` as the gradient tensor of ``x``: its shape, its dtype, memory of its own."""
    if g.shape != x.data.shape:
        raise RuntimeError(f"gradient of shape {g.shape} for a tensor of shape {x.data.shape}")
    return _owned(g, x.data.dtype, handed_out)


def _seeds(outputs: tuple[Tensor, ...], grad_outputs) -> list[np.ndarray]:
    """One seed array per output: ``grad_outputs`` (a tensor, or a sequence with one tensor
    or ``None`` per output) checked against the outputs."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, Sequence):
        grad_outputs = (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    return [seed_gradient(out, g, i, implicit_any_shape=False)
            for i, (out, g) in enumerate(zip(outputs, grad_outputs))]


def seed_gradient(output: Tensor, gradient, index: int = 0, implicit_any_shape: bool = False) -> np.ndarray:
    """The gradient a backward starts from at ``output``: ``gradient`` (a tensor or array of
    its shape, cast to its dtype), or ones when ``gradient`` is None, which PyTorch allows only
    for a one-element output (``implicit_any_shape``: any shape, as ``Tensor.backward`` here)."""
    if not output.requires_grad:
        raise RuntimeError(f"element {index} of tensors does not require grad and does not have a grad_fn")
    data = output.data
    if gradient is None:
        if data.size != 1 and not implicit_any_shape:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        # NOTE: a 0-d loss's seed by np.array: np.ones costs 3x more
        return np.array(1, data.dtype) if data.ndim == 0 else np.ones(data.shape, data.dtype)
    seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=data.dtype)
    if seed.shape != data.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of {seed.shape} and "
                           f"output[{index}] has a shape of {data.shape}.")
    return seed


def as_tensors(tensors, what: str) -> tuple[Tensor, ...]:
    """A tensor or a sequence of tensors as a tuple; anything else raises ``TypeError``."""
    if isinstance(tensors, Tensor):
        return (tensors,)
    if isinstance(tensors, Sequence) and all(isinstance(t, Tensor) for t in tensors):
        return tuple(tensors)
    raise TypeError(f"{what} must be a tensor or a sequence of tensors, got {type(tensors).__name__}")


def check_inputs(inputs: tuple[Tensor, ...], caller: str) -> None:
    """The tensors to differentiate w.r.t.: at least one, each requiring grad."""
    if not inputs:
        raise RuntimeError(f"`inputs` argument to `{caller}()` cannot be empty.")
    if not all(t.requires_grad for t in inputs):
        raise RuntimeError("One of the differentiated Tensors does not require grad")


def check_create_graph(create_graph: bool, caller: str) -> None:
    """Raise for ``create_graph=True``: see the module docstring."""
    if create_graph:
        raise NotImplementedError(
            f"{caller}(create_graph=True) is not supported: it needs every op's backward recorded "
            "as ops in the graph, and NanoTorch's backward functions compute on NumPy arrays, so "
            "gradients can't be differentiated again (no second derivatives). First derivatives "
            "work: use create_graph=False (the default) with backward() or autograd.grad; for a "
            "second derivative, take finite differences of first derivatives.")
