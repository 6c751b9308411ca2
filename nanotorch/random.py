"""One global random generator, so ``manual_seed(n)`` fixes every draw in the library.

Weight init, dropout masks, ``randn``/``rand``/``randint`` and DataLoader shuffling all
draw from :func:`default_generator`, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (in place: code holding it sees the new seed) and return
    it. Its draws then equal those of ``np.random.default_rng(seed)``."""
    _generator.bit_generator.state = np.random.PCG64(int(seed)).state
    return _generator


def default_generator() -> np.random.Generator:
    """The generator every random function uses unless given its own."""
    return _generator


def seed() -> int:
    """Seed the global generator from fresh OS entropy and return the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s
