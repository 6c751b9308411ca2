"""``gradcheck``: compare autograd's gradients with central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nanotorch.autograd import grad_mode
from nanotorch.tensor import Tensor


class GradcheckError(AssertionError, RuntimeError):
    """A gradient that does not match finite differences: a ``RuntimeError``, as PyTorch's,
    and an ``AssertionError`` (a failed check)."""


def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check the gradient of ``fn`` at ``inputs`` against central differences, in float64.

    Every floating tensor in ``inputs`` that requires grad is checked, on a float64 copy.
    With ``v`` a fixed random tensor shaped like the output (each output, if ``fn`` returns
    several), autograd's ``d(sum(v * fn(x)))/dx`` must match, element by element,
    ``(s(x + eps e_i) - s(x - eps e_i)) / (2 eps)`` where ``s(x) = sum(v * fn(x))``, within
    ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Returns True; on a mismatch, raises ``GradcheckError`` naming the input and its worst
    element, or returns False when ``raise_exception=False``.
    """
    inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    xs = tuple(Tensor._make(np.array(x.data, dtype=np.float64), x.requires_grad)
               if isinstance(x, Tensor) and x.data.dtype.kind == "f" else x for x in inputs)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a floating tensor that requires grad")

    rng = np.random.default_rng(0)  # its own generator: the global one is left alone
    outputs = _float_outputs(fn(*xs))
    weights = [np.asarray(rng.standard_normal(out.shape)) for out in outputs]
    total = None
    for out, v in zip(outputs, weights):
        if out.requires_grad:
            term = (out * Tensor._make(v, False)).sum()
            total = term if total is None else total + term
    if total is not None:
        total.backward()

    def objective() -> float:
        with grad_mode.no_grad():
            return sum(float(np.sum(v * out.data))
                       for out, v in zip(_float_outputs(fn(*xs)), weights))

    for i in checked:
        x = xs[i]
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.data
        numeric = np.empty(x.shape)
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = objective()
            flat[j] = orig - eps
            minus = objective()
            flat[j] = orig
            numeric.flat[j] = (plus - minus) / (2 * eps)
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and (np.isnan(excess).any() or excess.max() > 0):
            worst = np.unravel_index(np.argmax(np.where(np.isnan(excess), np.inf, excess)), x.shape)
            if not raise_exception:
                return False
            raise GradcheckError(
                f"gradcheck failed for input {i} (shape {x.shape}) at element {tuple(map(int, worst))}: "
                f"autograd gives {analytic[worst]:.6g}, finite differences {numeric[worst]:.6g} "
                f"(atol={atol}, rtol={rtol})")
    return True


def _float_outputs(out) -> list:
    """The floating tensors among ``fn``'s results (a tensor, or a list/tuple of them)."""
    outs = out if isinstance(out, Sequence) else (out,)
    return [o for o in outs if o.data.dtype.kind == "f"]
