"""Read IDX files, the simple binary format MNIST is published in.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` = element type,
``NN`` = number of dimensions), then each dimension as a big-endian uint32,
then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

# IDX type code -> big-endian NumPy dtype
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes (gzip-compressed or not) into a native-endian array.

    Raises ValueError naming ``name`` on a bad magic number, a truncated file
    or a size that does not match the header.
    """
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{name}: corrupt or truncated gzip data ({exc})") from exc
    if len(data) < 4:
        raise ValueError(f"{name}: {len(data)} bytes is too short for an IDX header")
    code, ndim = data[2], data[3]
    if data[:2] != b"\0\0" or code not in _DTYPES or ndim == 0:
        raise ValueError(f"{name}: bad IDX magic number 0x{data[:4].hex()}")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ValueError(f"{name}: truncated IDX header ({len(data)} bytes, need {start})")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = np.dtype(_DTYPES[code])
    size = start + math.prod(shape) * dtype.itemsize
    if len(data) != size:
        problem = "truncated" if len(data) < size else "has trailing bytes"
        raise ValueError(
            f"{name}: IDX file {problem}: header says shape {shape} ({size} bytes), "
            f"file has {len(data)} bytes"
        )
    values = np.frombuffer(data, dtype=dtype, offset=start).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # native byte order, writable copy


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) from disk."""
    with open(path, "rb") as f:
        return parse_idx(f.read(), name=os.fspath(path))
