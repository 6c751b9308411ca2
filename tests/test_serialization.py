"""Tests for nanotorch.serialization: save/load round trips, and every kind of bad file."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.optim import Adam
from nanotorch.serialization import HEADER, load, save


def model_state() -> dict:
    rng = np.random.default_rng(0)
    return {
        "fc1.weight": nt.tensor(rng.standard_normal((4, 3))),
        "fc1.bias": nt.zeros(4),
        "bn.running_var": nt.tensor(rng.random(4), dtype=nt.float64),
        "bn.num_batches_tracked": nt.tensor(7),
        "mask": nt.tensor([True, False]),
        "empty": nt.zeros(0, 3),
    }


def optimizer_state() -> dict:
    p = nt.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    q = nt.tensor(np.ones(4, np.float32), requires_grad=True)
    opt = Adam([{"params": [p]}, {"params": [q], "lr": 0.5, "amsgrad": True}], betas=(0.8, 0.9))
    p.grad, q.grad = nt.ones(2, 3), nt.ones(4)
    opt.step()
    return opt.state_dict()


def assert_same(a, b) -> None:
    """Equal structure, types, dtypes and values."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (nt.Tensor, np.ndarray)):
        x, y = np.asarray(a), np.asarray(b)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


# ------------------------------------------------------------------ round trips
def test_model_state_dict_round_trip(tmp_path):
    state = model_state()
    save(state, tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert_same(state, loaded)
    assert all(isinstance(v, nt.Tensor) and not v.requires_grad for v in loaded.values())


def test_optimizer_state_dict_round_trip(tmp_path):
    state = optimizer_state()
    assert set(state["state"]) == {0, 1} and state["param_groups"][0]["betas"] == (0.8, 0.9)
    save(state, tmp_path / "opt.npz")
    loaded = load(tmp_path / "opt.npz")
    assert_same(state, loaded)  # int keys, tuples, bools, floats, arrays (not Tensors)
    assert isinstance(loaded["state"][1]["max_exp_avg_sq"], np.ndarray)


def test_every_supported_value_round_trips():
    obj = {
        "none": None, "bools": [True, False], "ints": [0, -3, 2**70], "floats": [0.1, -1e300, 1.5],
        "special": [float("inf"), float("-inf"), float("nan")], "text": "ünïcode \"quoted\"",
        "nested": ((1, [2, {"x": ()}]), []), (1, "a"): "tuple key", 2.5: "float key", None: 0,
        "numpy scalars": [np.float32(0.5), np.int64(4), np.bool_(True)],
        "arrays": [np.arange(6, dtype=np.int16).reshape(2, 3), np.array(3.5), np.zeros((0,), np.uint8)],
    }
    f = io.BytesIO()
    save(obj, f)
    f.seek(0)
    loaded = load(f)
    expected = dict(obj, **{"numpy scalars": [0.5, 4, True]})
    assert_same(expected, loaded)


def test_noncontiguous_arrays_come_back_c_contiguous(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    save({"t": a.T, "s": nt.tensor(a)[:, ::2]}, tmp_path / "x")
    loaded = load(tmp_path / "x")
    np.testing.assert_array_equal(loaded["t"], a.T)
    assert loaded["t"].flags.c_contiguous and loaded["s"].data.flags.c_contiguous


def test_path_is_used_as_given_and_no_temp_file_is_left(tmp_path):
    save({"a": 1}, tmp_path / "checkpoint.pt")
    save({"a": 2}, str(tmp_path / "checkpoint.pt"))  # replaces it
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
    assert load(str(tmp_path / "checkpoint.pt")) == {"a": 2}


@pytest.mark.parametrize("obj", [
    object(), {"a": {1, 2}}, {"a": np.array(["x"])}, {"a": np.array([None], dtype=object)},
    {"a": 1 + 2j}, {frozenset(): 1}, [lambda: 0],
])
def test_unsupported_objects_raise_type_error(tmp_path, obj):
    with pytest.raises(TypeError, match="save()"):
        save(obj, tmp_path / "bad.npz")
    assert not list(tmp_path.iterdir())


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


# ------------------------------------------------------------------ bad files
@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.npz"
    save({"w": nt.tensor([[1.0, 2.0], [3.0, 4.0]]), "opt": optimizer_state(), "n": 3}, path)
    return path


def npy_bytes(a: np.ndarray) -> bytes:
    f = io.BytesIO()
    np.save(f, a, allow_pickle=True)
    return f.getvalue()


def rewrite(src: Path, dst: Path, replace: dict | None = None, drop=(), add: dict | None = None) -> Path:
    """Copy the zip ``src`` to ``dst``, replacing, dropping or adding members (raw bytes)."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def header_of(path: Path) -> dict:
    with np.load(path) as npz:
        return json.loads(npz[HEADER].tobytes())


def with_header(good: Path, dst: Path, text: bytes) -> Path:
    data = npy_bytes(np.frombuffer(text, np.uint8))
    return rewrite(good, dst, replace={f"{HEADER}.npy": data})


def assert_rejected(path, match: str = "") -> None:
    with pytest.raises(ValueError, match="not a valid nanotorch checkpoint") as info:
        load(path)
    assert match in str(info.value)


def test_the_good_file_loads(good):
    assert load(good)["n"] == 3


@pytest.mark.parametrize("content", [
    b"", b"hello, this is text\n", bytes(range(256)) * 4, b"PK\x03\x04garbage",
])
def test_files_that_are_not_ours(tmp_path, content):
    (tmp_path / "f").write_bytes(content)
    assert_rejected(tmp_path / "f")


def test_plain_npy_and_foreign_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3))
    assert_rejected(tmp_path / "a.npy", "not an .npz")
    np.savez(tmp_path / "b.npz", weights=np.arange(3))
    assert_rejected(tmp_path / "b.npz", HEADER)


class Exploit:
    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_a_pickle_never_runs(tmp_path):
    evil = Exploit()
    evil.target = str(tmp_path / "pwned")
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"w": evil}))
    assert_rejected(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()
    obj = np.array([evil], dtype=object)  # an object array hidden as a member
    bad = rewrite(one_tensor_file(tmp_path), tmp_path / "bad.npz", replace={"0.npy": npy_bytes(obj)})
    assert_rejected(bad, "not a bool, integer or float array")
    assert not (tmp_path / "pwned").exists()


def one_tensor_file(tmp_path: Path) -> Path:
    path = tmp_path / "one.npz"
    save({"w": nt.ones(2)}, path)
    return path


def test_truncated_files(good, tmp_path):
    data = good.read_bytes()
    for cut in (1, 30, len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 1):
        (tmp_path / "cut").write_bytes(data[:cut])
        assert_rejected(tmp_path / "cut")


def test_flipped_byte_in_a_member_is_caught(good, tmp_path):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("0.npy")
    at = info.header_offset  # local header: 30 bytes, the name, an extra field, then the data
    start = at + 30 + len(info.filename) + int.from_bytes(data[at + 28:at + 30], "little")
    data[start + info.compress_size - 1] ^= 0xFF  # the array's last byte
    (tmp_path / "flip").write_bytes(bytes(data))
    assert_rejected(tmp_path / "flip")


@pytest.mark.parametrize("array, match", [
    (np.array([[1.0, 2.0], [3.0, 5.0]], np.float32), "SHA-256"),  # same dtype and shape
    (np.array([1.0, 2.0, 3.0, 4.0], np.float32), "says"),
    (np.array([[1, 2], [3, 4]], np.int32), "says"),
    (np.array([["a", "b"], ["c", "d"]]), "not a bool, integer or float array"),
])
def test_replaced_member(good, tmp_path, array, match):
    member = header_of(good)["root"]["dict"][0][1]["tensor"]["member"]
    bad = rewrite(good, tmp_path / "bad.npz", replace={f"{member}.npy": npy_bytes(array)})
    assert_rejected(bad, match)


def test_missing_and_extra_members(good, tmp_path):
    assert_rejected(rewrite(good, tmp_path / "a.npz", drop={"1.npy"}), "missing")
    assert_rejected(rewrite(good, tmp_path / "b.npz", add={"99.npy": npy_bytes(np.zeros(1))}), "unexpected")
    assert_rejected(rewrite(good, tmp_path / "c.npz", add={"notes.txt": b"hi"}), "unexpected")
    assert_rejected(rewrite(good, tmp_path / "d.npz", replace={"0.npy": b"not npy"}))
    assert_rejected(rewrite(good, tmp_path / "e.npz", drop={f"{HEADER}.npy"}), HEADER)


DESCRIPTIONS = {  # name -> the JSON text, from the good file's description
    "broken json": lambda h: '{"format": "nanotorch", "version": 1, "root": ',
    "deeply nested": lambda h: "[" * 100_000 + "]" * 100_000,
    "not a dict": lambda h: ["nanotorch"],
    "wrong format": lambda h: dict(h, format="other"),
    "wrong version": lambda h: dict(h, version=99),
    "no root": lambda h: {"format": "nanotorch", "version": 1},
    "unknown node": lambda h: dict(h, root={"pickle": "cos\nsystem"}),
    "two keys": lambda h: dict(h, root={"list": [], "tuple": []}),
    "bad dict": lambda h: dict(h, root={"dict": [[1, 2, 3]]}),
    "unhashable key": lambda h: dict(h, root={"dict": [[{"list": []}, 1]]}),
    "bad ref": lambda h: dict(h, root={"array": {"member": "0"}}),
    "ghost member": lambda h: dict(h, root={"array": {"member": "42", "dtype": "<f4", "shape": [1],
                                                      "sha256": ""}}),
    "list body": lambda h: dict(h, root={"list": 5}),
}


@pytest.mark.parametrize("case", list(DESCRIPTIONS))
def test_broken_or_tampered_description(good, tmp_path, case):
    header = DESCRIPTIONS[case](header_of(good))
    text = header if isinstance(header, str) else json.dumps(header)
    assert_rejected(with_header(good, tmp_path / "x.npz", text.encode()))


def test_header_not_utf8(good, tmp_path):
    assert_rejected(with_header(good, tmp_path / "x.npz", b"\xff\xfe{}"), "decode")


def test_header_of_the_wrong_dtype(good, tmp_path):
    text = np.frombuffer(json.dumps(header_of(good)).encode(), np.uint8).astype(np.float32)
    bad = rewrite(good, tmp_path / "x.npz", replace={f"{HEADER}.npy": npy_bytes(text)})
    assert_rejected(bad, "uint8")


def test_pytorch_files_are_refused_with_a_way_over(tmp_path):
    """A torch.save file (zip with data.pkl, or the older bare pickle) is a pickle: refused,
    with the recipe for bringing its weights over as arrays."""
    zipped, legacy = tmp_path / "new.pt", tmp_path / "old.pt"
    with zipfile.ZipFile(zipped, "w") as zf:  # the layout torch.save writes
        zf.writestr("new/data.pkl", pickle.dumps({"w": [1.0]}))
        zf.writestr("new/version", "3")
    legacy.write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    with pytest.raises(ValueError, match=r"new/data\.pkl.*torch\.save format.*np\.savez"):
        nt.load(zipped)
    with pytest.raises(ValueError, match=r"pickle, as PyTorch's older torch\.save.*np\.savez"):
        nt.load(legacy)


def test_load_takes_pytorchs_keywords(tmp_path):
    path = tmp_path / "x.npz"
    nt.save({"w": nt.ones(2)}, path)
    for location in (None, "cpu", nt.device("cpu"), {"cuda:0": "cpu"}):
        assert nt.load(path, map_location=location, weights_only=True)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="CPU only"):
        nt.load(path, map_location="cuda:0")


def test_save_names_the_foreign_type():
    class Foreign:
        pass
    with pytest.raises(TypeError, match=r"can't store a .*Foreign"):
        nt.save({"w": Foreign()}, "unused.npz")
