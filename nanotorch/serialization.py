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
Each member's npy header is checked against its REF before its data is decompressed, and
no member is read past the size its REF implies, so a small file can't make ``load``
allocate more than the description and the archive's real size allow (a zip bomb whose
header disagrees is refused with next to no memory).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import tokenize
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from nanotorch import _device
from nanotorch.creation import from_numpy
from nanotorch.tensor import Tensor

FORMAT = "nanotorch"
VERSION = 1
HEADER = "__nanotorch__"  # the member holding the JSON description
_ARRAY_KINDS = "biuf"  # bool, ints, floats: what a state dict holds
_CONTAINERS = ("list", "tuple", "dict")
_ZIP_MAGIC = b"PK\x03\x04"  # how an .npz file (a zip archive) starts
_MAX_HEADER_BYTES = 64 << 20  # the JSON description of a state dict is far smaller
_MAX_NPY_HEADER = 1 << 16  # numpy writes npy headers of at most 64 KiB for our dtypes
_DEFLATE_MAX_RATIO = 1032  # no deflate stream expands more than ~1032:1 (RFC 1951)
_CHUNK = 1 << 24  # decompress in 16 MiB steps
_TMP_SUFFIX = ".nanotorch-tmp"
_TORCH_NOTE = (", a pickle, which NanoTorch never runs. To bring PyTorch weights over, save them "
               "from PyTorch as arrays, np.savez(path, **{k: v.numpy() for k, v in "
               "model.state_dict().items()}), then model.load_state_dict({k: nt.tensor(v) for k, v "
               "in np.load(path).items()}) here")


def save(obj: object, f: str | os.PathLike | BinaryIO) -> None:
    """Write a state dict (or any nesting of dicts, lists, tuples, Tensors, arrays, numbers,
    strings, bools and None) to ``f``, a path or a binary file object.

    A path is written through a temporary file ``<path>.<pid>.<random>.nanotorch-tmp`` and
    renamed, so an interrupted save never leaves a half-written checkpoint in its place, and
    saves to one path from several threads or processes each leave a whole file (the last
    rename wins). Temporary files of this naming left by a process that no longer runs (a
    save killed mid-way) are removed by the next save to the same path. Tensors come back
    from :func:`load` as Tensors (without grad), arrays as arrays.
    """
    arrays: list[np.ndarray] = []
    root = _encode(obj, arrays)
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    members = {HEADER: np.frombuffer(header.encode("utf-8"), dtype=np.uint8)}
    members.update((str(i), a) for i, a in enumerate(arrays))
    if not isinstance(f, (str, os.PathLike)):
        np.savez(f, **members)
        return
    path = os.fspath(f)
    _remove_stale_temps(path)
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(8)}{_TMP_SUFFIX}"
    try:
        with open(tmp, "xb") as out:  # "x": never write into another save's file
            np.savez(out, **members)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _remove_stale_temps(path: str) -> None:
    """Delete ``<path>.<pid>.<hex>.nanotorch-tmp`` files whose process has exited."""
    folder, base = os.path.split(os.path.abspath(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for entry in names:
        parts = entry[len(base) + 1:-len(_TMP_SUFFIX)].split(".")
        if (not entry.startswith(base + ".") or not entry.endswith(_TMP_SUFFIX) or len(parts) != 2
                or not parts[0].isdigit() or _process_alive(int(parts[0]))):
            continue
        try:
            os.remove(os.path.join(folder, entry))
        except OSError:
            pass  # another save removed it first, or it is not ours to remove


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or we can't tell: leave its file alone
    return True


def load(f: str | os.PathLike | BinaryIO, map_location=None, *, weights_only: bool | None = None) -> object:
    """Read what :func:`save` wrote to ``f`` (a path or a binary file object).

    Raises ValueError if ``f`` is not a nanotorch checkpoint or has been damaged (a file of
    PyTorch's ``torch.save`` is refused with a note on how to bring its weights over).
    ``map_location`` and ``weights_only`` are accepted for PyTorch code: everything loads on
    the CPU (a device other than the CPU raises), and nothing in a file is ever run, so every
    load is "weights only".
    """
    if isinstance(map_location, (str, _device.device)):
        _device.check(map_location, f"load(map_location={str(map_location)!r})")
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "the file")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:  # a missing file is FileNotFoundError, not ValueError
            return _load(fh, name)
    return _load(f, name)


def _load(fh: BinaryIO, name: str) -> object:
    try:
        start = fh.tell()
        magic = fh.read(len(_ZIP_MAGIC))
        size = fh.seek(0, os.SEEK_END) - start
        fh.seek(start)
        if magic != _ZIP_MAGIC:  # checked first: np.load would take other bytes for a pickle
            raise ValueError("it is not an .npz (zip) archive" + (
                " but a pickle, as PyTorch's older torch.save writes" + _TORCH_NOTE
                if magic[:1] == b"\x80" else ""))
        with zipfile.ZipFile(fh) as zf:
            members = _members(zf, size)
            root = _read_header(zf, members)
            used: set[str] = set()
            obj = _decode(root, zf, members, used)
            if set(members) - used - {HEADER}:
                raise ValueError(f"unexpected members {sorted(set(members) - used - {HEADER})}")
            return obj
    except (ValueError, KeyError, TypeError, EOFError, OSError, RecursionError, NotImplementedError,
            RuntimeError, SyntaxError, OverflowError, tokenize.TokenError, zipfile.BadZipFile,
            zlib.error) as exc:
        raise ValueError(f"{name} is not a valid nanotorch checkpoint: "
                         f"{type(exc).__name__}: {exc}") from exc


def _members(zf: zipfile.ZipFile, size: int) -> dict[str, zipfile.ZipInfo]:
    """``{"0": ZipInfo of "0.npy", ...}``, after checking that no member claims more than the
    archive can hold: stored members no larger than the file, deflated ones no larger than
    deflate can expand them, no other compression."""
    members = {}
    for info in zf.infolist():
        if info.filename.endswith("data.pkl"):
            raise ValueError(f"it holds {info.filename!r}: PyTorch's torch.save format" + _TORCH_NOTE)
        if not info.filename.endswith(".npy") or info.filename[:-4] in members:
            raise ValueError(f"unexpected or repeated member {info.filename!r}")
        if info.compress_size > size:
            raise ValueError(f"member {info.filename!r} claims {info.compress_size} bytes in a "
                             f"file of {size}")
        if info.compress_type == zipfile.ZIP_STORED:
            plausible = info.file_size == info.compress_size
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            plausible = info.file_size <= _DEFLATE_MAX_RATIO * info.compress_size + 1024
        else:
            raise ValueError(f"member {info.filename!r} uses compression {info.compress_type} "
                             "(only stored or deflated members are read)")
        if not plausible:
            raise ValueError(f"member {info.filename!r} declares {info.file_size} bytes from "
                             f"{info.compress_size} compressed")
        members[info.filename[:-4]] = info
    return members


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
    kind = type(obj)
    raise TypeError(f"save() stores state dicts (dicts, lists, tuples, nanotorch Tensors, NumPy arrays, "
                    f"numbers, strings, None); it can't store a {kind.__module__}.{kind.__qualname__}")


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
def _read_header(zf: zipfile.ZipFile, members: dict) -> object:
    """The ``root`` node of the file's JSON description, after checking format and version."""
    if HEADER not in members:
        raise ValueError(f"it has no {HEADER} member (not written by nanotorch.save)")
    size = members[HEADER].file_size
    if size > _MAX_HEADER_BYTES:
        raise ValueError(f"its {HEADER} member is {size} bytes (at most {_MAX_HEADER_BYTES} are read)")
    raw = _read_npy(zf, members[HEADER], np.dtype(np.uint8), None)
    header = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT or "root" not in header:
        raise ValueError("its description is not in the nanotorch format")
    if header.get("version") != VERSION:
        raise ValueError(f"format version {header.get('version')!r} (this nanotorch reads {VERSION})")
    return header["root"]


def _decode(node, zf: zipfile.ZipFile, members: dict, used: set[str]):
    """The object a JSON node describes, reading arrays from the archive ``zf``."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"malformed node {str(node)[:80]}")
    (kind, body), = node.items()
    if kind in _CONTAINERS and not isinstance(body, list):
        raise ValueError(f"malformed {kind} node")
    if kind == "list":
        return [_decode(x, zf, members, used) for x in body]
    if kind == "tuple":
        return tuple(_decode(x, zf, members, used) for x in body)
    if kind == "dict":
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
            raise ValueError("malformed dict node")
        return {_decode_key(k): _decode(v, zf, members, used) for k, v in body}
    if kind in ("array", "tensor"):
        a = _read_array(body, zf, members)
        used.add(body["member"])
        return from_numpy(a) if kind == "tensor" else a
    raise ValueError(f"unknown node kind {kind!r}")


def _decode_key(node):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and list(node) == ["tuple"] and isinstance(node["tuple"], list):
        return tuple(_decode_key(k) for k in node["tuple"])
    raise ValueError(f"malformed dict key {str(node)[:80]}")


def _read_array(ref, zf: zipfile.ZipFile, members: dict) -> np.ndarray:
    """The member ``ref`` names, checked against its recorded dtype, shape and digest."""
    if not isinstance(ref, dict) or set(ref) != {"member", "dtype", "shape", "sha256"}:
        raise ValueError(f"malformed array reference {str(ref)[:80]}")
    member, shape = ref["member"], ref["shape"]
    if not isinstance(member, str) or member == HEADER or member not in members:
        raise ValueError(f"array member {member!r} is missing")
    if not isinstance(ref["dtype"], str) or not isinstance(shape, list) or not all(
            type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"malformed array reference {str(ref)[:80]}")
    dtype = np.dtype(ref["dtype"])
    if dtype.kind not in _ARRAY_KINDS or dtype.str != ref["dtype"]:
        raise ValueError(f"member {member!r} is described as {ref['dtype']!r}, not a bool, "
                         "integer or float array")
    a = _read_npy(zf, members[member], dtype, tuple(shape))
    if _digest(a) != ref["sha256"]:
        raise ValueError(f"member {member!r} does not match its SHA-256 digest")
    return a


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: np.dtype,
              shape: tuple | None) -> np.ndarray:
    """The array in npy member ``info``, which must be a C-order ``dtype`` array of ``shape``
    (``None``: any 1-d shape). The npy header is compared before any data is decompressed;
    then exactly the described bytes are read, never more than the member declares."""
    what = f"member {info.filename[:-4]!r}"
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"{what}: npy format version {version} is not read")
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        got_shape, fortran, got_dtype = read_header(f, max_header_size=_MAX_NPY_HEADER)
        if got_dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"{what} is not a bool, integer or float array ({got_dtype})")
        if shape is None:
            if got_dtype != dtype or len(got_shape) != 1:
                raise ValueError(f"{what} is not a 1-d {dtype} array")
            shape = got_shape
        if fortran or got_dtype != dtype or got_dtype.str != dtype.str or got_shape != shape:
            raise ValueError(f"{what} is {got_dtype.str} {list(got_shape)}"
                             f"{' (Fortran order)' if fortran else ''}, the description says "
                             f"{dtype.str} {list(shape)}")
        nbytes = dtype.itemsize * math.prod(shape)
        if info.file_size != f.tell() + nbytes:
            raise ValueError(f"{what} holds {info.file_size - f.tell()} data bytes, "
                             f"{list(shape)} {dtype.str} needs {nbytes}")
        a = np.empty(shape, dtype=dtype)
        buf = a.reshape(-1).view(np.uint8)
        for pos in range(0, nbytes, _CHUNK):
            step = f.readinto(buf[pos:pos + _CHUNK])
            if step != min(_CHUNK, nbytes - pos):
                raise ValueError(f"{what} is truncated")
        if f.read(1):
            raise ValueError(f"{what} has data after its array")
    return a
