"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``;
and ``Unflatten``.

A container registers what it holds, so ``parameters()`` and ``state_dict()`` of the model
around it find everything (a plain Python list or dict of layers would hide them).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from numbers import Integral

from nanotorch.nn.module import Module
from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor


def _position(owner: Module, idx: int) -> int:
    """``idx`` (negative counts from the end) as a position in ``owner``, or ``IndexError``."""
    n = len(owner)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {type(owner).__name__} of length {n}")
    return idx % n


class _ModuleSequence(Module):
    """Children named ``"0"``, ``"1"``, ...: indexing (ints, negative ints, slices), ``len``,
    iteration, ``append``/``extend``/``insert``, and ``del``/``pop``, which renumber the rest
    (as PyTorch: a deleted child's later siblings move down one name)."""

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return list(self._modules.values())[_position(self, idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(list(self._modules)[_position(self, idx)], module)

    def __delitem__(self, idx) -> None:
        modules = list(self._modules.values())
        del modules[idx if isinstance(idx, slice) else _position(self, idx)]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def _renumber(self, modules: list[Module]) -> None:
        """Make ``modules`` the children, named ``"0"``, ``"1"``, ... in order."""
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def append(self, module: Module) -> _ModuleSequence:
        """Add ``module`` at the end."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> _ModuleSequence:
        """Append each module of ``modules``."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, "
                            f"but got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index`` (``-len <= index <= len``); those after move up."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.insert: {type(module).__name__} is not a Module subclass")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for inserting into {type(self).__name__} "
                             f"of length {n}")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)

    def pop(self, idx: int | slice) -> Module | _ModuleSequence:
        """Remove the module (or slice) at ``idx`` and return it."""
        removed = self[idx]
        del self[idx]
        return removed


class Sequential(_ModuleSequence):
    """Run modules one after another: ``Sequential(Linear(784, 128), ReLU(), Linear(128, 10))``.

    Children are named ``"0"``, ``"1"``, ... or by the keys of one ``OrderedDict`` argument
    (``del`` and ``insert`` renumber them ``"0"``, ``"1"``, ...).
    """

    def __init__(self, *args: Module) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):  # a slice keeps the children's names, as PyTorch
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)

    def insert(self, index: int, module: Module) -> Sequential:
        """As ``ModuleList.insert``, and returns the Sequential (as PyTorch)."""
        super().insert(index, module)
        return self

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (a plain list's are not)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)


def _key_value_pairs(owner: Module, entries) -> Iterable[tuple]:
    """``entries`` (a mapping, a ModuleDict or ParameterDict, or an iterable of ``(key, value)``
    pairs) as pairs; PyTorch's errors."""
    name = type(owner).__name__
    if isinstance(entries, (Mapping, _RegistryDict)):
        return list(entries.items())
    if not isinstance(entries, Iterable) or isinstance(entries, Tensor):
        raise TypeError(f"{name}.update should be called with an iterable of key/value pairs, "
                        f"but got {type(entries).__name__}")
    pairs = []
    for i, pair in enumerate(entries):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{name} update sequence element #{i} should be Iterable; "
                            f"is {type(pair).__name__}")
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(f"{name} update sequence element #{i} has length {len(pair)}; 2 is required")
        pairs.append(pair)
    return pairs


class _RegistryDict(Module):
    """The dict API (``[]``, ``del``, ``len``, ``in``, iteration over keys in insertion order,
    ``keys``/``items``/``values``, ``pop``, ``clear``, ``update``) over one of the module's
    registries, ``_entries()``; a subclass defines it and ``__setitem__``."""

    def _entries(self) -> dict:
        raise NotImplementedError

    def __setitem__(self, key: str, value) -> None:
        raise NotImplementedError

    def __getitem__(self, key: str):
        return self._entries()[key]

    def __delitem__(self, key: str) -> None:
        if key not in self._entries():
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __contains__(self, key: str) -> bool:
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def items(self):
        return self._entries().items()

    def values(self):
        return self._entries().values()

    def pop(self, key: str):
        """Remove ``key`` and return its value (``KeyError`` when absent)."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every entry."""
        for key in list(self._entries()):
            del self[key]

    def update(self, entries) -> None:
        """Set each ``key: value`` of a mapping or of an iterable of pairs, in their order (a key
        already there keeps its place)."""
        for key, value in _key_value_pairs(self, entries):
            self[key] = value


class ModuleDict(_RegistryDict):
    """A dict of modules (string keys, insertion order) whose parameters are registered:
    ``ModuleDict({"conv": Conv2d(1, 8, 3), "act": ReLU()})``; ``state_dict`` keys ``conv.weight``...
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _entries(self) -> dict:
        return self._modules

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)


def _as_parameter(owner: Module, value) -> Parameter:
    """A Parameter stays itself; a Tensor becomes a Parameter sharing its memory."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{type(owner).__name__} holds tensors (kept as Parameters), "
                        f"got {type(value).__name__}")
    return value if isinstance(value, Parameter) else Parameter(value)


# PyTorch's legacy tensor type names, which ParameterDict's repr shows (ParameterList shows the dtype)
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _describe(key, param: Parameter, kind: str) -> str:
    """One line of the repr, as PyTorch's: ``kind`` is the dtype (ParameterList) or the legacy
    type name such as ``FloatTensor`` (ParameterDict)."""
    size = "x".join(str(s) for s in param.shape)
    return f"  ({key}): Parameter containing: [nanotorch.{kind} of size {size}]"


class ParameterList(Module):
    """A list of Parameters (a Tensor is made a Parameter), registered as ``"0"``, ``"1"``, ...:
    indexing (slices give a new ParameterList), ``len``, iteration, ``append``, ``extend``, ``+=``."""

    def __init__(self, values: Iterable[Tensor] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        params = list(self._parameters.values())
        if isinstance(idx, slice):
            return ParameterList(params[idx])
        return params[_position(self, idx)]

    def __setitem__(self, idx: int, value: Tensor) -> None:
        self.register_parameter(str(_position(self, idx)), _as_parameter(self, value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def append(self, value: Tensor) -> ParameterList:
        """Add ``value`` (as a Parameter) at the end."""
        self.register_parameter(str(len(self)), _as_parameter(self, value))
        return self

    def extend(self, values: Iterable[Tensor]) -> ParameterList:
        """Append each of ``values`` (not a single Tensor: it is not unpacked)."""
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, "
                            f"but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def __iadd__(self, values: Iterable[Tensor]) -> ParameterList:
        return self.extend(values)

    def forward(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")

    def extra_repr(self) -> str:
        return "\n".join(_describe(i, p, str(p.dtype)) for i, p in enumerate(self))


class ParameterDict(_RegistryDict):
    """A dict of Parameters (a Tensor is made a Parameter) with string keys, registered under
    those keys. NOTE: as PyTorch, a plain ``dict`` (not an ``OrderedDict`` or ``ParameterDict``)
    given to the constructor or ``update`` is added in sorted key order."""

    def __init__(self, parameters: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _entries(self) -> dict:
        return self._parameters

    def __setitem__(self, key: str, value: Tensor) -> None:
        self.register_parameter(key, _as_parameter(self, value))

    def get(self, key: str, default=None):
        """The parameter at ``key``, or ``default``."""
        return self._parameters.get(key, default)

    def update(self, parameters) -> None:
        if isinstance(parameters, Mapping) and not isinstance(parameters, (OrderedDict, ParameterDict)):
            parameters = sorted(parameters.items())
        super().update(parameters)

    def forward(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")

    def extra_repr(self) -> str:
        return "\n".join(_describe(k, p, _TYPE_NAMES.get(str(p.dtype), str(p.dtype)) + "Tensor")
                         for k, p in self.items())


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: ``Unflatten(1, (2, 5))`` makes ``[N, 10]``
    into ``[N, 2, 5]``; one size may be -1 (inferred). The inverse of ``Flatten``."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, size in enumerate(unflattened_size):
            if not isinstance(size, Integral) or isinstance(size, bool):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {i}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        shape, sizes = input.shape, [int(s) for s in self.unflattened_size]
        if not -len(shape) <= self.dim < len(shape):
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for a {len(shape)}-D input")
        dim = self.dim % len(shape)
        known = math.prod(s for s in sizes if s != -1)
        fits = shape[dim] == known if -1 not in sizes else known > 0 and shape[dim] % known == 0
        if sizes.count(-1) > 1 or not fits:
            raise ValueError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} "
                             f"({shape[dim]}) in the input tensor")
        return input.reshape(*shape[:dim], *sizes, *shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
