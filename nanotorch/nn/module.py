"""``Module``: the base class of every layer and model (PyTorch's ``torch.nn.Module``).

Assigning a ``Parameter``, a ``Module`` or (after ``register_buffer``) a buffer Tensor to
an attribute registers it in an ordered dict, so ``named_parameters()`` and
``state_dict()`` find everything, by dotted names such as ``fc1.weight``, in the order
it was assigned. Each registered value is also kept in the instance's ``__dict__``, so
``self.fc1`` and ``self.weight`` are plain attribute reads (NOTE: on Python 3.11 a read that
reaches ``__getattr__`` first builds an AttributeError, ~1 µs); the registries stay the
record that ``named_parameters()`` and ``state_dict()`` read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from nanotorch import _device, _dtype
from nanotorch.autograd.grad_mode import no_grad
from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor


class _HookHandle:
    """Returned by ``register_forward_hook`` and ``register_forward_pre_hook``:
    ``remove()`` unregisters the hook (again: nothing)."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        _HookHandle._next_id += 1
        self.id, self._hooks = _HookHandle._next_id, hooks

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` did not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _check_name(module: Module, name: str, kind: str, registry: dict) -> None:
    """Raise unless ``name`` can be registered in ``registry`` (it may replace an entry there)."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{kind} name can't be empty or contain '.', got {name!r}")
    if hasattr(module, name) and name not in registry:
        raise KeyError(f"attribute {name!r} already exists")


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first."""
    return text.replace("\n", "\n" + " " * spaces)


class Module:
    """Base class for layers and models: subclass it, assign layers and parameters in
    ``__init__`` (after ``super().__init__()``) and write ``forward``; call the module
    itself to run it.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" '
                                  "function")

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_forward_hooks")
        if not hooks:  # the common case: no hooks, one dict lookup
            return self.forward(*args, **kwargs)
        for hook, with_kwargs, pre in list(hooks.values()):
            if not pre:
                continue
            result = hook(self, args, kwargs) if with_kwargs else hook(self, args)
            if result is None:
                continue
            if with_kwargs:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("a forward pre-hook with kwargs must return None or (args, kwargs)")
                args, kwargs = result
            else:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs, pre in list(hooks.values()):
            if pre:
                continue
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output

    # -------------------------------------------------------------------- forward hooks
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> _HookHandle:
        """Call ``hook(module, args)`` before each ``forward`` (``with_kwargs``:
        ``hook(module, args, kwargs)``); a value it returns replaces the input (a non-tuple is
        wrapped in one; with kwargs, ``(args, kwargs)``). Hooks run in the order registered
        (``prepend``: this one first). ``handle.remove()`` unregisters it."""
        return self._add_hook(hook, with_kwargs, True, prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False) -> _HookHandle:
        """Call ``hook(module, args, output)`` after each ``forward`` (``with_kwargs``:
        ``hook(module, args, kwargs, output)``); a value it returns replaces the output, as in
        PyTorch (e.g. to keep a layer's activations: ``lambda m, args, out: store.append(out)``)."""
        return self._add_hook(hook, with_kwargs, False, prepend)

    def _add_hook(self, hook: Callable, with_kwargs: bool, pre: bool, prepend: bool) -> _HookHandle:
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault("_forward_hooks", OrderedDict())
        handle = _HookHandle(hooks)
        hooks[handle.id] = (hook, with_kwargs, pre)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        initialized = "_parameters" in self.__dict__
        if isinstance(value, (Parameter, Module)):
            if not initialized:
                raise AttributeError(f"cannot assign {type(value).__name__} {name!r} before "
                                     "Module.__init__() call")
            self._register(self._parameters if isinstance(value, Parameter) else self._modules, name, value)
            return
        if initialized:  # a registered name takes only its kind, or None
            for registry, kind, cls in ((self._parameters, "parameter", Parameter),
                                        (self._modules, "child module", Module),
                                        (self._buffers, "buffer", Tensor)):
                if name in registry:
                    if value is not None and not isinstance(value, cls):
                        raise TypeError(f"cannot assign '{type(value).__name__}' as {kind} {name!r} "
                                        f"({cls.__name__} or None expected)")
                    registry[name] = value
                    self.__dict__[name] = value
                    return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails (a registered name is in ``__dict__`` too).
        for registry in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(registry)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self.__dict__.pop(name, None)
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def _register(self, registry: dict, name: str, value) -> None:
        """``registry[name] = value`` (keeping its place when already there) and in the
        instance dict, after removing ``name`` from the other registries."""
        self._non_persistent_buffers.discard(name)
        for other in (self._parameters, self._buffers, self._modules):
            if other is not registry:
                other.pop(name, None)
        registry[name] = value
        self.__dict__[name] = value

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, e.g. a disabled bias)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(self, name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter {name!r} "
                            "(nanotorch.nn.Parameter or None required)")
        self._register(self._parameters, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a Tensor that is state but not learned (e.g. BatchNorm's running mean).

        Buffers move with ``to()``; persistent ones are in ``state_dict()``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer {name!r} "
                            "(nanotorch.Tensor or None required)")
        self._register(self._buffers, name, tensor)
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module (``self.name = module`` does the same for valid identifiers)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(self, name, "module", self._modules)
        self._register(self._modules, name, module)

    register_module = add_module

    # -------------------------------------------------------------------- traversal
    def named_modules(self, memo: set | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``prefix``) and all below it, once each."""
        memo = set() if memo is None else memo
        if self in memo:
            return
        memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)``, e.g. ``("fc1.weight", ...)``; a shared parameter once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=False``: eval) on this module and every submodule."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """``train(False)``: Dropout becomes the identity, BatchNorm uses its running stats."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradient recording on or off for every parameter (e.g. to freeze a layer)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's ``.grad`` (or fill it with zeros when ``set_to_none=False``)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.fill_(0)

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------------ dtype
    def to(self, *args, dtype=None, device=None, non_blocking: bool = False) -> Module:
        """``to(dtype)``, ``to("cpu")`` or ``to("cpu", dtype)``: cast the floating parameters and
        buffers (and gradients) in place; the CPU is the only device."""
        for arg in args:
            if _device.is_device(arg):
                device = arg
            else:
                dtype = arg
        if device is not None:
            _device.check(device, f".to({str(device)!r})")
        if dtype is None:
            return self
        dtype = _dtype.to_dtype(dtype)
        if not _dtype.is_floating(dtype):
            raise TypeError(f"Module.to only accepts floating point dtypes, but got {dtype}")
        for tensor in (*self.parameters(), *self.buffers()):
            if _dtype.is_floating(tensor.dtype):
                tensor.data = tensor.data.astype(dtype, copy=False)
                if tensor.grad is not None:
                    tensor.grad.data = tensor.grad.data.astype(dtype, copy=False)
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, *args, **kwargs) -> Module:
        """Raises: there is no GPU (see ``to``)."""
        _device.check("cuda", ".cuda()")

    def float(self) -> Module:
        return self.to(_dtype.float32)

    def double(self) -> Module:
        return self.to(_dtype.float64)

    # ------------------------------------------------------------------- state dict
    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name, each module's own first,
        then its children's. Values share memory with the module (detached unless ``keep_vars``).
        """
        out = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                out[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = buf if keep_vars else buf.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=out, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters and buffers, in place and keeping their dtypes.

        Values may be Tensors or anything ``numpy.asarray`` takes (NumPy arrays, so a
        PyTorch state dict converted with ``{k: v.numpy()}`` loads as it is). A shape
        mismatch or a value that is not numbers (strings, objects) always raises; missing or
        unexpected keys raise when ``strict``. Every entry is checked before the first copy,
        so nothing is copied when anything raises.
        """
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors, updates = [], []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                value = value.data if isinstance(value, Tensor) else np.asarray(value)
                if value.shape != target.shape:
                    errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} "
                                  f"from checkpoint, the shape in current model is {target.shape}.")
                elif value.dtype.kind not in "biuf":
                    errors.append(f"dtype mismatch for {key}: a {value.dtype} value can't be copied "
                                  f"into a {target.dtype} tensor (numbers only).")
                updates.append((target, value))
        if strict:
            for label, keys in (("Unexpected", unexpected), ("Missing", missing)):
                if keys:
                    errors.insert(0, f"{label} key(s) in state_dict: " + ", ".join(f'"{k}"' for k in keys))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for target, value in updates:
                target.copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (layers override it)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): {_indent(repr(module), 2)}" for name, module in self._modules.items()]
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(lines + children)
        return f"{type(self).__name__}(\n  {body}\n)"
