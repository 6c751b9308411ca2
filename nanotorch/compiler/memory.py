"""The static memory plan: which memory each kernel of a traced step reads and writes.

Every array the traced run handed to a kernel is found here by its address range. A
``Region`` says where that memory comes from, hence how a replay gets it:

- ``input``: an argument of the step (``x``, ``y``): new memory at every call, so a kernel
  reading it gets its pointer from the argument at replay;
- ``live``: a tensor that outlives the step (a parameter, a running mean): the same array
  at every replay (a guard checks ``T.data is`` that array), updated in place;
- ``static``: an output a kernel-level entry wrote: the plan keeps the array, and every
  replay writes the same memory again (no allocation);
- ``dynamic``: an output of an op-level entry (made anew by each replay); when a kernel
  reads it, the replay copies the new array into the traced one (``copy``);
- ``dead``: a static region whose writer went back to op-level: nothing may read it.

``snapshot``/``unchanged`` catch writes the tracer did not see (code that changes a static
buffer in place outside the recorded kernels): such a plan keeps no kernel-level entry.
"""

from __future__ import annotations

import numpy as np

_U8 = np.dtype(np.uint8)


def _bytes(a: np.ndarray) -> np.ndarray:
    """A C-contiguous array's memory as bytes (compared bitwise: NaN equals itself)."""
    return a.reshape(-1).view(_U8)


def bounds(a: np.ndarray) -> tuple[int, int]:
    """``[start, end)`` byte addresses of ``a``'s elements."""
    if a.flags.c_contiguous:
        start = a.__array_interface__["data"][0]
        return start, start + a.nbytes
    lo, hi = np.lib.array_utils.byte_bounds(a)
    return lo, hi


class Region:
    """An address range, where its memory comes from (``kind``) and what refers to it."""

    __slots__ = ("start", "end", "kind", "ref", "array", "copy", "readers", "writer", "updated", "saved")

    def __init__(self, start: int, end: int, kind: str, ref, array) -> None:
        self.start, self.end, self.kind, self.ref, self.array = start, end, kind, ref, array
        self.copy = False  # dynamic: a kernel reads it, so the replay copies it in
        self.readers: list = []  # kernel-level entries that read it
        self.writer = None  # the entry that wrote it (static)
        self.updated = False  # live: a kernel updates it in place (a running mean)
        self.saved: np.ndarray | None = None  # its bytes right after the write (static)


class Memory:
    """The regions of one trace (the arrays are kept alive, so addresses stay theirs)."""

    def __init__(self) -> None:
        self.regions: list[Region] = []

    def find(self, start: int, end: int) -> Region | None:
        """The region holding ``[start, end)`` (the newest, if regions nest), or None."""
        for r in reversed(self.regions):
            if r.start <= start and end <= r.end and r.kind != "dead":
                return r
        return None

    def add(self, array: np.ndarray, kind: str, ref=None) -> Region:
        start, end = bounds(array)
        region = Region(start, end, kind, ref, array)
        self.regions.append(region)
        return region

    def snapshot(self, region: Region) -> None:
        """Remember a static region's bytes as its writer left them."""
        region.saved = _bytes(region.array).copy() if region.array.flags.c_contiguous else None

    def unchanged(self) -> bool:
        """Whether every static region still holds what its kernel wrote."""
        for r in self.regions:
            if r.kind == "static" and r.saved is not None:
                if not np.array_equal(_bytes(r.array), r.saved):
                    return False
            elif r.kind == "static":
                return False
        return True
