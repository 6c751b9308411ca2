"""Random numbers: ``Generator`` streams, and the global one that ``manual_seed(n)`` fixes.

Weight init, dropout masks, ``randn``/``rand``/``randint``/``randperm`` and DataLoader
shuffling draw from the global generator (``default_generator``) unless given their own
with ``generator=``, as in PyTorch::

    g = nt.Generator().manual_seed(42)
    train, val = random_split(dataset, [0.9, 0.1], generator=g)

A ``Generator`` wraps NumPy's PCG64 bit generator: seeded with ``n``, it draws what
``np.random.default_rng(n)`` draws. The seeds mean what PyTorch's mean (the same range,
a new ``Generator()`` starts at PyTorch's default seed), but the numbers differ from
PyTorch's, whose generator is a Mersenne Twister. ``generator=`` also takes a
``numpy.random.Generator`` (a NanoTorch extension).
"""

from __future__ import annotations

import numpy as np

from nanotorch import _device
from nanotorch.tensor import Tensor

DEFAULT_SEED = 67280421310721  # the seed of a new torch.Generator()
# get_state()'s bytes, little-endian: the seed, PCG64's state and increment, and its cached
# half draw (whether there is one, and the 32 bits)
_STATE_FIELDS = (8, 16, 16, 4, 4)
_STATE_BYTES = sum(_STATE_FIELDS)


def _seed_value(seed) -> int:
    """``seed`` as ``torch.Generator.manual_seed`` takes it: an integer (not a float or a
    bool) in [-2**63, 2**64), a negative one wrapped to 2**64 + seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise RuntimeError(f"manual_seed expected an integer, got {type(seed).__name__}")
    value = int(seed)
    if not -(2**63) <= value < 2**64:
        raise RuntimeError(f"manual_seed: {value} is outside [-2**63, 2**64)")
    return value % 2**64


class Generator:
    """A stream of random numbers of its own (PyTorch's ``torch.Generator`` on the CPU).

    ``manual_seed(n)`` restarts it (and returns it, so ``Generator().manual_seed(n)`` is one
    expression), ``seed()`` restarts it from fresh OS entropy, ``initial_seed()`` is the seed
    of its last start, ``get_state()``/``set_state()`` save and restore its position as a
    uint8 tensor. ``numpy`` is the NumPy Generator that makes the draws.
    """

    def __init__(self, device: str = "cpu") -> None:
        _device.check(device, "Generator(device)")
        self.numpy = np.random.Generator(np.random.PCG64(DEFAULT_SEED))
        self._seed = DEFAULT_SEED

    @property
    def device(self) -> str:
        return "cpu"

    def manual_seed(self, seed) -> Generator:
        """Restart the stream from ``seed`` (in place: code holding ``numpy`` sees it)."""
        value = _seed_value(seed)
        self.numpy.bit_generator.state = np.random.PCG64(value).state
        self._seed = value
        return self

    def seed(self) -> int:
        """Restart the stream from a fresh non-deterministic seed; return that seed."""
        value = int(np.random.SeedSequence().entropy % 2**64)
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self._seed

    def get_state(self) -> Tensor:
        """The stream's position (and its seed) as a uint8 tensor of 48 bytes."""
        state = self.numpy.bit_generator.state
        values = (self._seed, state["state"]["state"], state["state"]["inc"], state["has_uint32"],
                  state["uinteger"])
        raw = b"".join(v.to_bytes(size, "little") for v, size in zip(values, _STATE_FIELDS))
        return Tensor._make(np.frombuffer(raw, np.uint8).copy(), False)

    def set_state(self, new_state: Tensor) -> Generator:
        """Go back to a position ``get_state()`` returned."""
        data = getattr(new_state, "data", None)
        if not isinstance(new_state, Tensor) or data.dtype != np.uint8:
            raise TypeError("RNG state must be a uint8 tensor (from get_state() or get_rng_state())")
        if data.shape != (_STATE_BYTES,):
            raise RuntimeError(f"RNG state must hold {_STATE_BYTES} bytes, got shape {list(data.shape)}")
        raw, values = data.tobytes(), []
        for size in _STATE_FIELDS:
            values.append(int.from_bytes(raw[:size], "little"))
            raw = raw[size:]
        seed, position, inc, has_uint32, uinteger = values
        self.numpy.bit_generator.state = {"bit_generator": "PCG64", "has_uint32": has_uint32,
                                          "uinteger": uinteger, "state": {"state": position, "inc": inc}}
        self._seed = seed
        return self

    def __repr__(self) -> str:
        return f"<nanotorch.Generator seed={self._seed}>"


def numpy_generator(generator: Generator | np.random.Generator | None = None) -> np.random.Generator:
    """The NumPy Generator that draws for a ``generator=`` argument: the global stream's
    for ``None``; a ``Generator``'s own; a ``numpy.random.Generator`` as it is."""
    if generator is None:
        return default_generator.numpy
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a nanotorch.Generator (or a numpy.random.Generator), "
                    f"got {type(generator).__name__}")


default_generator = Generator()  # the global stream (PyTorch's torch.default_generator)
default_generator.seed()  # NOTE: fresh at every start, as PyTorch's; manual_seed(n) fixes it


def manual_seed(seed) -> Generator:
    """Restart the global generator from ``int(seed)`` and return it: every draw of the
    library that is given no generator of its own is then fixed."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    """Restart the global generator from fresh OS entropy; return the seed used."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the global generator last started from."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The global generator's state, as a uint8 tensor (``set_rng_state`` restores it)."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Restore the global generator to a state ``get_rng_state()`` returned."""
    default_generator.set_state(new_state)
