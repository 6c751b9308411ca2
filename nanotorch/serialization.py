"""``save``/``load``: state dicts to and from one ``.npz`` file, read without pickle.

A file holds the arrays as members ``0.npy``, ``1.npy`` ... and a member
``__nanotorch__.npy``: a uint8 array of UTF-8 JSON describing the saved structure::

    {"format": "nanotorch", "version": 1, "root": NODE}

where a NODE is ``null``, ``true``/``false``, a number, a string, or an object with one
key: ``{"list": [NODE, ...]}``, ``{"tuple": [NODE, ...]}``, ``{"dict": [[KEY, NODE], ...]}``
(keys keep their type: a dict of int keys comes back with int keys), or
``{"array": REF}`` / ``{"tensor": REF}`` with ``REF = {"member": "0", "dtype": "<f4",
"shape": [3, 4], "sha256": "..."}``. Loading checks every member against its REF, so a
replaced, truncated or tampered file raises ValueError; nothing in the file is executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from nanotorch.creation import from_numpy
from nanotorch.tensor import Tensor

FORMAT = "nanotorch"
VERSION = 1
HEADER = "__nanotorch__"  # the member holding the JSON description
_ARRAY_KINDS = "biuf"  # bool, ints, floats: what a state dict holds
_CONTAINERS = ("list", "tuple", "dict")
_ZIP_MAGIC = b"PK\x03\x04"  # how an .npz file (a zip archive) starts


def save(obj: object, f: str | os.PathLike | BinaryIO) -> None:
    """Write a state dict (or any nesting of dicts, lists, tuples, Tensors, arrays, numbers,
    strings, bools and None) to ``f``, a path or a binary file object.

    A path is written through a temporary file and renamed, so an interrupted save never
    leaves a half-written checkpoint in its place. Tensors come back from :func:`load` as
    Tensors (without grad), arrays as arrays.
    """
    arrays: list[np.ndarray] = []
    root = _encode(obj, arrays)
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    members = {HEADER: np.frombuffer(header.encode("utf-8"), dtype=np.uint8)}
    members.update((str(i), a) for i, a in enumerate(arrays))
    if not isinstance(f, (str, os.PathLike)):
        np.savez(f, **members)
        return
    tmp = f"{os.fspath(f)}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as out:
            np.savez(out, **members)
        os.replace(tmp, f)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(f: str | os.PathLike | BinaryIO) -> object:
    """Read what :func:`save` wrote to ``f`` (a path or a binary file object).

    Raises ValueError if ``f`` is not a nanotorch checkpoint or has been damaged.
    """
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "the file")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:  # a missing file is FileNotFoundError, not ValueError
            return _load(fh, name)
    return _load(f, name)


def _load(fh: BinaryIO, name: str) -> object:
    try:
        start = fh.tell()
        magic = fh.read(len(_ZIP_MAGIC))
        fh.seek(start)
        if magic != _ZIP_MAGIC:  # checked first: np.load would take other bytes for a pickle
            raise ValueError("it is not an .npz (zip) archive")
        with np.load(fh, allow_pickle=False) as npz:
            root = _read_header(npz)
            members = set(npz.files) - {HEADER}
            used: set[str] = set()
            obj = _decode(root, npz, members, used)
            if members - used:
                raise ValueError(f"unexpected members {sorted(members - used)}")
            return obj
    except (ValueError, KeyError, TypeError, EOFError, OSError, RecursionError, NotImplementedError,
            zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{name} is not a valid nanotorch checkpoint: "
                         f"{type(exc).__name__}: {exc}") from exc


# ------------------------------------------------------------------- encode
def _encode(obj, arrays: list[np.ndarray]):
    """The JSON node for ``obj``; its arrays are appended to ``arrays``."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic) and obj.dtype.kind in _ARRAY_KINDS:
        return obj.item()
    if isinstance(obj, (Tensor, np.ndarray)):
        kind = "tensor" if isinstance(obj, Tensor) else "array"
        return {kind: _add_array(obj.data if isinstance(obj, Tensor) else obj, arrays)}
    if isinstance(obj, tuple):
        return {"tuple": [_encode(x, arrays) for x in obj]}
    if isinstance(obj, list):
        return {"list": [_encode(x, arrays) for x in obj]}
    if isinstance(obj, dict):
        return {"dict": [[_encode_key(k), _encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"save() stores state dicts (dicts, lists, tuples, Tensors, arrays, numbers, "
                    f"strings, None); it can't store a {type(obj).__name__}")


def _encode_key(key):
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    if isinstance(key, tuple):
        return {"tuple": [_encode_key(k) for k in key]}
    raise TypeError(f"save() can't store a dict key of type {type(key).__name__}: {key!r}")


def _add_array(a: np.ndarray, arrays: list[np.ndarray]) -> dict:
    if a.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(f"save() stores bool, integer and float arrays, not {a.dtype}")
    a = np.asarray(a, order="C")
    arrays.append(a)
    return {"member": str(len(arrays) - 1), "dtype": a.dtype.str, "shape": list(a.shape),
            "sha256": _digest(a)}


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(a.data if a.size else b"").hexdigest()


# ------------------------------------------------------------------- decode
def _read_header(npz) -> object:
    """The ``root`` node of the file's JSON description, after checking format and version."""
    if HEADER not in npz.files:
        raise ValueError(f"it has no {HEADER} member (not written by nanotorch.save)")
    raw = npz[HEADER]
    if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"its {HEADER} member is not a 1-d uint8 array")
    header = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT or "root" not in header:
        raise ValueError("its description is not in the nanotorch format")
    if header.get("version") != VERSION:
        raise ValueError(f"format version {header.get('version')!r} (this nanotorch reads {VERSION})")
    return header["root"]


def _decode(node, npz, members: set[str], used: set[str]):
    """The object a JSON node describes, reading arrays from ``npz``."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"malformed node {str(node)[:80]}")
    (kind, body), = node.items()
    if kind in _CONTAINERS and not isinstance(body, list):
        raise ValueError(f"malformed {kind} node")
    if kind == "list":
        return [_decode(x, npz, members, used) for x in body]
    if kind == "tuple":
        return tuple(_decode(x, npz, members, used) for x in body)
    if kind == "dict":
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
            raise ValueError("malformed dict node")
        return {_decode_key(k): _decode(v, npz, members, used) for k, v in body}
    if kind in ("array", "tensor"):
        a = _read_array(body, npz, members)
        used.add(body["member"])
        return from_numpy(a) if kind == "tensor" else a
    raise ValueError(f"unknown node kind {kind!r}")


def _decode_key(node):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and list(node) == ["tuple"] and isinstance(node["tuple"], list):
        return tuple(_decode_key(k) for k in node["tuple"])
    raise ValueError(f"malformed dict key {str(node)[:80]}")


def _read_array(ref, npz, members: set[str]) -> np.ndarray:
    """The member ``ref`` names, checked against its recorded dtype, shape and digest."""
    if not isinstance(ref, dict) or set(ref) != {"member", "dtype", "shape", "sha256"}:
        raise ValueError(f"malformed array reference {str(ref)[:80]}")
    member = ref["member"]
    if member not in members:
        raise ValueError(f"array member {member!r} is missing")
    a = npz[member]
    if not isinstance(a, np.ndarray) or a.dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"member {member!r} is not a bool, integer or float array")
    if a.dtype.str != ref["dtype"] or list(a.shape) != ref["shape"]:
        raise ValueError(f"member {member!r} is {a.dtype.str} {list(a.shape)}, the description "
                         f"says {ref['dtype']} {ref['shape']}")
    a = np.asarray(a, order="C")  # as it was saved
    if _digest(a) != ref["sha256"]:
        raise ValueError(f"member {member!r} does not match its SHA-256 digest")
    return a
