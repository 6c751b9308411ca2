"""``Optimizer``: the parameter groups, per-parameter state and checkpointing every optimizer shares.

A subclass writes ``step()``: for each group it reads the hyperparameters once, then hands
the parameters' arrays, gradients and state buffers to a backend kernel, which updates the
parameters in place: one call for all the parameters of a group
(``nanotorch.backend.current().sgd_multi_step``, ``adam_multi_step``) or one per parameter
(``rmsprop_step``).
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from nanotorch.autograd import enable_grad
from nanotorch.tensor import Tensor


class Optimizer:
    """Base class of all optimizers (PyTorch's ``torch.optim.Optimizer``).

    Parameters
    ----------
    params : iterable of Tensors, of (name, Tensor) pairs, or of dicts
        The tensors to optimize (``model.parameters()``), the same with their names
        (``model.named_parameters()``), or parameter groups: dicts with a ``"params"`` entry
        and options that override ``defaults`` for that group.
    defaults : dict
        The options of every group that does not set its own. ``lr`` may be a 1-element
        Tensor, as in PyTorch; it is stored as the Python number it holds (PyTorch keeps the
        Tensor itself, so there an in-place change of it changes the lr).

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``"params"`` (a list of Tensors), with named parameters their
        ``"param_names"`` (a list of str), and its options.
    state : dict
        Per-parameter state (a dict keyed by the parameter), e.g. momentum buffers.
    """

    def __init__(self, params: Iterable, defaults: dict) -> None:
        if isinstance(params, (Tensor, set, Mapping)):
            raise TypeError("params given to the optimizer must be an ordered iterable of Tensors "
                            f"or of dicts (e.g. a list), not {type(params).__name__}")
        self.defaults = _number_lr(dict(defaults))
        self._check(self.defaults)
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    @staticmethod
    def _check(options: dict) -> None:
        """Raise ValueError for invalid hyperparameters (each optimizer defines its rules)."""

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, with options that override the defaults. Its params
        may be (name, Tensor) pairs (``named_parameters()``): the names are kept in the
        group's ``"param_names"``; every group must then be named, or none."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, not {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError("a parameter group's params must be ordered (e.g. a list), not a set")
        params, names = _split_names([params] if isinstance(params, Tensor) else list(params))
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"an optimizer can only optimize Tensors, not {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor (it was computed by an operation)")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("a parameter group contains the same parameter twice")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        if names is not None:
            group["param_names"] = names
        if any(("param_names" in other) != ("param_names" in group) for other in self.param_groups):
            raise ValueError("all parameter groups must have names (named_parameters()) or none may: "
                             f"can't add a group {'with' if 'param_names' in group else 'without'} names")
        self._check(_number_lr(group))
        self.param_groups.append(group)

    # ------------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: ``grad = None``, or zero it in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                grad.grad_fn, grad.requires_grad = None, False
                if grad.data.flags.writeable:
                    grad.data.fill(0)
                else:  # e.g. a broadcast view: give the same Tensor fresh zeros
                    grad.data = np.zeros(grad.data.shape, dtype=grad.data.dtype)
                grad._version[0] += 1

    def step(self, closure: Callable | None = None):
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure: Callable | None):
        """``closure()`` with grad mode on (it usually re-runs forward and backward), or None."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    @staticmethod
    def _gradients(group: dict) -> tuple[list[Tensor], list[np.ndarray], list[np.ndarray]]:
        """``(params, arrays, grads)``: the params of ``group`` that have a gradient, their
        arrays, and their gradients ``[param.shape]``, each the C-contiguous array of the
        param's dtype the kernels expect (lists, one pass: the step's kernel takes them all).
        """
        params, arrays, grads = [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            g, data = grad.data, p.data
            if g.shape != data.shape:
                raise ValueError(f"a parameter of shape {data.shape} has a gradient of shape {g.shape}")
            if g.dtype != data.dtype or not g.flags.c_contiguous:
                g = np.ascontiguousarray(g, dtype=data.dtype)
            params.append(p)
            arrays.append(data)
            grads.append(g)
        return params, arrays, grads

    def _per_param(self, group: dict, buffers: tuple[str, ...]) -> Iterator[tuple]:
        """The NumPy optimizers' loop over ``group``, one parameter at a time: for each param
        with a gradient, ``(p, data, g, state)``, with ``state["step"]`` already advanced and
        ``buffers`` made (``_param_state``), ``g`` the gradient (negated when ``maximize``) and
        the weight decay applied: ``g += weight_decay * data``, or, with the group's
        ``decoupled_weight_decay``, ``data *= 1 - lr * weight_decay`` first. After the caller
        has updated ``data`` in place, the param's version is bumped."""
        params, arrays, grads = self._gradients(group)
        for p, data, grad in zip(params, arrays, grads):
            state = self._param_state(p, buffers)
            state["step"] += 1
            g = -grad if group["maximize"] else grad
            if group.get("weight_decay"):
                if group.get("decoupled_weight_decay"):
                    data *= 1 - group["lr"] * group["weight_decay"]
                else:
                    g = g + group["weight_decay"] * data
            yield p, data, g, state
            p._version[0] += 1

    def _param_state(self, p: Tensor, buffers: tuple[str, ...]) -> dict:
        """``p``'s state with a ``step`` count and every named buffer (zeros the first time)."""
        return self._param_states([p], buffers)[0]

    def _param_states(self, params: list[Tensor], buffers: tuple[str, ...]) -> list[dict]:
        """The state of each of ``params``, as ``_param_state``; the buffers missing are made
        by ``_zeros_for`` (consecutive views of one flat array per name)."""
        states = [self.state[p] for p in params]
        complete = 1 + len(buffers)  # entries of a state that has them all (every step but the first)
        for state in states:
            if len(state) != complete:
                break
        else:
            return states
        for state in states:
            state.setdefault("step", 0)
        for name in buffers:
            missing = [(p, s) for p, s in zip(params, states) if name not in s]
            for (_, s), zeros in zip(missing, _zeros_for([p for p, _ in missing])):
                s[name] = zeros
        return states

    # ------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout, with parameters replaced by indices.

        ``{"state": {index: {name: value}}, "param_groups": [{option: value, "params":
        [index, ...]}]}``; indices count the parameters across groups in order. Array
        state is copied, so the result is a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                param_state = self.state.get(p)
                if param_state:
                    state[index[id(p)]] = {k: v.copy() if isinstance(v, np.ndarray) else v
                                           for k, v in param_state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Restore options and state saved by :meth:`state_dict` (of an optimizer over
        parameters of the same shapes, in the same groups). Arrays are copied in; a group
        saved without ``param_names`` keeps this optimizer's."""
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError("an optimizer state_dict is a dict with 'state' and 'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"the state_dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        by_index: dict = {}
        groups = []
        for n, (ours, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, Mapping) or len(saved.get("params", ())) != len(ours["params"]):
                raise ValueError(f"parameter group {n} of the state_dict does not have the same "
                                 f"number of parameters as this optimizer's ({len(ours['params'])})")
            by_index.update(zip(saved["params"], ours["params"]))
            group = {**self.defaults, **saved, "params": ours["params"]}
            if "param_names" in ours and "param_names" not in saved:
                group["param_names"] = ours["param_names"]
            self._check(_number_lr(group))
            groups.append(group)
        state: defaultdict[Tensor, dict] = defaultdict(dict)
        for key, param_state in state_dict["state"].items():
            p = by_index.get(key)
            if p is None:
                raise ValueError(f"the state_dict has state for parameter {key!r}, which is in no group")
            state[p] = {name: _restore(p, name, value) for name, value in param_state.items()}
        self.param_groups, self.state = groups, state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for n, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {n}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def _split_names(params: list) -> tuple[list, list[str] | None]:
    """``(params, names)``: a group's params as given, or, if they are (name, Tensor) pairs
    (``named_parameters()``), the Tensors and their names; names is None when there are none."""
    named = [isinstance(p, tuple) for p in params]
    if not any(named):
        return params, None
    if not all(named):
        raise ValueError("all of an optimizer's params must have names, or none: some names are missing")
    for pair in params:
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise TypeError(f"a named parameter is a (str, Tensor) pair, not {pair!r}")
    return [p for _, p in params], [name for name, _ in params]


def _number_lr(options: dict) -> dict:
    """``options`` with a 1-element Tensor ``lr`` replaced by the number it holds (the
    steps, kernels and schedulers compute with numbers); returned for chaining."""
    lr = options.get("lr")
    if isinstance(lr, Tensor):
        if lr.numel() != 1:
            raise ValueError(f"Tensor lr must be 1-element, not of shape {tuple(lr.shape)}")
        options["lr"] = lr.item()
    return options


def _zeros_for(params: list[Tensor]) -> list[np.ndarray]:
    """Zeros shaped like each param: for the params of one dtype, consecutive views of one
    flat array, in order (so a compiled NumPy step can update the state of all of them in
    one pass: ``numpy_backend.FlatState``). A user sees arrays shaped like the params."""
    out: list = [None] * len(params)
    for dtype in {p.data.dtype for p in params}:
        same = [i for i, p in enumerate(params) if p.data.dtype == dtype]
        flat = np.zeros(sum(params[i].data.size for i in same), dtype=dtype)
        start = 0
        for i in same:
            data = params[i].data
            out[i] = flat[start:start + data.size].reshape(data.shape)
            start += data.size
    return out


def _restore(p: Tensor, name: str, value):
    """A loaded state value for ``p``: arrays copied into ``p``'s dtype and checked against
    its shape, ``step`` as an int (PyTorch keeps it as a 0-d tensor), anything else as is."""
    if isinstance(value, Tensor):
        value = value.data
    if name == "step":
        return int(np.asarray(value))
    if isinstance(value, np.ndarray):
        if value.shape != p.data.shape:
            raise ValueError(f"state {name!r} has shape {value.shape}, its parameter {p.data.shape}")
        return np.array(value, dtype=p.data.dtype, order="C")
    return value


def check_nonnegative(options: dict, *names: str) -> None:
    """Raise unless each named option is a real number >= 0 (NaN fails too)."""
    for name in names:
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, not {value!r}")
        if not value >= 0:
            raise ValueError(f"Invalid {name}: {value} (must be >= 0)")
