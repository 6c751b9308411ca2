"""save/load under concurrency and hostile content (issue 10 item 4), and
``load_state_dict`` copying nothing when any entry is bad."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.nn as nn
from nanotorch.serialization import load, save


def _state(i: int) -> dict:
    return {"w": nt.full((64, 64), float(i)), "step": i}


# ------------------------------------------------------------------ concurrency
def test_eight_threads_saving_one_path_each_leave_a_loadable_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    errors = []

    def worker(t):
        for k in range(50):
            i = t * 1000 + k
            try:
                save(_state(i), path)
                got = load(path)  # whichever save won the last rename: a whole checkpoint
                assert float(got["w"].numpy()[0, 0]) == got["step"]
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    got = load(path)
    assert float(got["w"].numpy()[0, 0]) == got["step"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]  # no temp left behind


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_a_stale_temp_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ckpt.npz"
    stale = tmp_path / f"ckpt.npz.{_dead_pid()}.0123456789abcdef.nanotorch-tmp"
    stale.write_bytes(b"PK\x03\x04 half a checkpoint")
    live = tmp_path / f"ckpt.npz.{os.getpid()}.fedcba9876543210.nanotorch-tmp"  # a save in flight
    live.write_bytes(b"in progress")
    other = tmp_path / "ckpt.npz.backup"
    other.write_bytes(b"not ours")
    save(_state(1), path)
    assert not stale.exists()
    assert live.exists() and other.exists()
    assert load(path)["step"] == 1


def test_a_save_killed_mid_write_keeps_the_old_checkpoint_and_its_temp_is_cleaned(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(_state(1), path)
    code = ("import os, numpy as np, nanotorch as nt\n"
            "def die(*a, **k):\n    os._exit(9)\n"
            "np.savez = die\n"
            f"nt.save({{'w': nt.ones(3)}}, {str(path)!r})\n")
    # the child dies inside the write, after creating its temp
    subprocess.run([sys.executable, "-c", code], cwd=Path(nt.__file__).parent.parent, check=False)
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".nanotorch-tmp")]
    assert len(temps) == 1
    assert load(path)["step"] == 1
    save(_state(2), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


# ------------------------------------------------------------------ hostile content
def _npy_header(dtype: str, shape: tuple) -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": shape})
    return f.getvalue()


def _with_member(tmp_path: Path, name: str, write) -> Path:
    """A checkpoint of ``{"w": ones(2)}`` whose member ``name`` is written by ``write(zout, name)``."""
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    save({"w": nt.ones(2)}, good)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            if info.filename == name:
                write(zout, name)
            else:
                zout.writestr(info.filename, zin.read(info.filename))
    return bad


def _write_bomb(zout: zipfile.ZipFile, name: str) -> None:
    """A deflated npy member: 64 MiB of float32 zeros, about 64 KiB compressed."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    n = 1 << 24
    with zout.open(info, "w", force_zip64=True) as out:
        out.write(_npy_header("<f4", (n,)))
        chunk = bytes(1 << 22)
        for _ in range(n * 4 // len(chunk)):
            out.write(chunk)


def test_a_zip_bomb_member_is_refused_before_it_is_decompressed(tmp_path):
    bomb = _with_member(tmp_path, "0.npy", _write_bomb)
    assert bomb.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="the description says"):
            load(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"load allocated {peak} bytes before refusing the member"


def test_a_member_declaring_more_than_deflate_can_expand_is_refused(tmp_path):
    bad = _with_member(tmp_path, "0.npy", lambda z, name: z.writestr(
        name, _npy_header("<f4", (2,)) + bytes(8), compress_type=zipfile.ZIP_DEFLATED))
    data = bytearray(bad.read_bytes())
    # raise the uncompressed size in the central directory entry of 0.npy to 1 GiB
    at = data.rfind(b"PK\x01\x02" + bytes(0), 0)
    while data[at + 46:at + 46 + 5] != b"0.npy":
        at = data.rfind(b"PK\x01\x02", 0, at)
    data[at + 24:at + 28] = (1 << 30).to_bytes(4, "little")
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="declares"):
        load(bad)


@pytest.mark.parametrize("header", [
    b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'shape': (2,\n            ",  # tokenize error
    b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'shape': (2**62,)}    \n",  # not a literal
    b"\x93NUMPY\x09\x00",  # unknown npy version
])
def test_a_broken_npy_header_is_a_value_error(tmp_path, header):
    bad = _with_member(tmp_path, "0.npy", lambda z, name: z.writestr(name, header + bytes(8)))
    with pytest.raises(ValueError, match="not a valid nanotorch checkpoint"):
        load(bad)


def test_an_encrypted_member_is_a_value_error(tmp_path):
    path = tmp_path / "x.npz"
    save({"w": nt.ones(2)}, path)
    data = bytearray(path.read_bytes())
    at = 0
    while (at := data.find(b"PK", at)) >= 0:  # set the "encrypted" flag everywhere
        if data[at + 2:at + 4] == b"\x03\x04":
            data[at + 6] |= 1
        elif data[at + 2:at + 4] == b"\x01\x02":
            data[at + 8] |= 1
        at += 4
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a valid nanotorch checkpoint"):
        load(path)


def test_an_npy_header_claiming_a_huge_array_is_a_value_error(tmp_path):
    bad = _with_member(tmp_path, "0.npy", lambda z, name: z.writestr(
        name, _npy_header("<f4", (1 << 40, 1 << 20)) + bytes(8)))
    with pytest.raises(ValueError, match="the description says"):
        load(bad)


# ------------------------------------------------------------------ load_state_dict
@pytest.mark.parametrize("bad_value", [np.array(["a", "b", "c"]), np.array([object()] * 3),
                                       np.array([b"a", b"b", b"c"])],
                         ids=["strings", "objects", "bytes"])
def test_load_state_dict_copies_nothing_when_a_later_entry_is_bad(bad_value):
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 3))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = {k: np.full(v.shape, 7.0, np.float32) for k, v in before.items()}
    state["1.bias"] = bad_value
    with pytest.raises(RuntimeError, match="1.bias"):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
