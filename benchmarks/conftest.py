"""Shared setup of the benchmark suite: thread counts, BLAS control, data, models, checks.

    PYTHONPATH=. python -m pytest benchmarks --benchmark-only          # the whole suite
    PYTHONPATH=. python benchmarks/report.py                           # suite + markdown table

Every comparison is a pair (or triple) of adjacent rows of one test function, so both sides
are measured in the same run, seconds apart. ``NANOTORCH_BENCH_THREADS`` (default 2) is the
thread count given to nanotorch's C kernels, NumPy's BLAS and PyTorch alike.
``NANOTORCH_BENCH_ONLY=numpy|c|torch`` keeps only that system's rows: ``report.py`` runs the
suite once per system, each in its own process, because idle threads of one library spin
for a while after each call (OpenBLAS's ~100 ms, libgomp's in PyTorch) and take the core
from whichever library runs next in the same process.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.backend.numpy_backend import NumpyBackend

ROOT = Path(__file__).resolve().parent.parent
THREADS = int(os.environ.get("NANOTORCH_BENCH_THREADS", "2"))
ONLY = os.environ.get("NANOTORCH_BENCH_ONLY", "").strip()  # numpy | c | torch | "" (all)
BACKENDS = [name for name in ("numpy", "c")  # NumPy row first
            if name in nt.backend.available() and ONLY in ("", name)]
NUMPY = nt.backend.get("numpy")


# ---------------------------------------------------------------------- threads
def _nt_threads() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """nanotorch's (get_num_threads, set_num_threads): top level or ``nanotorch.threads``;
    None when it has none (then only BLAS and PyTorch are set)."""
    if hasattr(nt, "set_num_threads"):
        return nt.get_num_threads, nt.set_num_threads
    try:
        from nanotorch import threads
    except ImportError:
        return None
    return threads.get_num_threads, threads.set_num_threads


class Blas:
    """NumPy's BLAS thread count and configuration: threadpoolctl when installed, else the
    OpenBLAS that this process loaded, called through ctypes (what threadpoolctl does)."""

    PREFIXES = ("scipy_openblas", "openblas")
    SUFFIXES = ("64_", "_64_", "")

    def __init__(self) -> None:
        self.controller = None
        self.lib = None
        self.path = None
        try:
            import threadpoolctl
            self.controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
        except ImportError:
            self._load_openblas()

    def _load_openblas(self) -> None:
        try:
            maps = Path("/proc/self/maps").read_text()
        except OSError:
            return
        paths = {line.split()[-1] for line in maps.splitlines()
                 if "openblas" in line.lower() and line.split()[-1].startswith("/")}
        for path in sorted(paths):
            try:
                self.lib, self.path = ctypes.CDLL(path), path
                return
            except OSError:
                continue

    def _symbol(self, name: str):
        for prefix in self.PREFIXES:
            for suffix in self.SUFFIXES:
                fn = getattr(self.lib, f"{prefix}_{name}{suffix}", None)
                if fn is not None:
                    return fn
        return None

    def get(self) -> int | None:
        """The BLAS thread count, or None when it cannot be read."""
        if self.controller is not None:
            counts = [lib.num_threads for lib in self.controller.lib_controllers]
            return counts[0] if counts else None
        fn = self._symbol("get_num_threads") if self.lib is not None else None
        return int(fn()) if fn is not None else None

    def set(self, n: int) -> None:
        """Give BLAS ``n`` threads (a no-op when it cannot be controlled)."""
        if self.controller is not None:
            for lib in self.controller.lib_controllers:
                lib.set_num_threads(n)
            return
        fn = self._symbol("set_num_threads") if self.lib is not None else None
        if fn is not None:
            fn(ctypes.c_int(n))

    def info(self) -> dict:
        """What the report prints about BLAS: library, core type, threads, the env vars."""
        env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_", "GOTO"))}
        if self.controller is not None:
            return {"via": "threadpoolctl", "libraries": self.controller.info(), "env": env}
        out = {"via": "ctypes" if self.lib is not None else "numpy.show_config", "env": env}
        if self.lib is not None:
            out["library"] = self.path
            for key in ("get_corename", "get_config"):
                fn = self._symbol(key)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    out[key[4:]] = fn().decode()
            out["num_threads"] = self.get()
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            out["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
        except Exception:  # show_config's layout differs between NumPy versions
            pass
        return out


BLAS = Blas()


_threads_now = [THREADS]  # what set_threads last gave (threads() restores it)


def set_threads(n: int) -> None:
    """Give ``n`` threads to nanotorch's C kernels, NumPy's BLAS and PyTorch (if imported)."""
    _threads_now[0] = n
    funcs = _nt_threads()
    if funcs is not None:
        funcs[1](n)
    BLAS.set(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)


@contextmanager
def threads(n: int) -> Iterator[None]:
    """``set_threads(n)`` for the block, then back to the count before it (NOTE: not to
    ``THREADS``: a ``threads(1)`` inside a ``threads(1)`` row left that row on 2 threads)."""
    before = _threads_now[0]
    set_threads(n)
    try:
        yield
    finally:
        set_threads(before)


@pytest.fixture(scope="session", autouse=True)
def _bench_threads():
    """Every benchmark starts at ``THREADS`` threads for every library."""
    set_threads(THREADS)
    yield


# ------------------------------------------------------------------ others' load
def _cpu_busy_seconds() -> float | None:
    """Seconds of CPU time all processes have used (from /proc/stat), or None."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(autouse=True)
def _others_load(request):
    """Record in ``extra_info["others_load"]`` how many cores other processes kept busy,
    on average, while the row ran: the noise a shared machine adds to it."""
    if "benchmark" not in request.fixturenames:
        yield
        return
    benchmark = request.getfixturevalue("benchmark")
    busy0, own0, wall0 = _cpu_busy_seconds(), sum(os.times()[:2]), time.perf_counter()
    yield
    busy1, own1, wall1 = _cpu_busy_seconds(), sum(os.times()[:2]), time.perf_counter()
    if busy0 is not None and busy1 is not None and wall1 > wall0:
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
        benchmark.extra_info["others_load"] = round(others, 2)


# ---------------------------------------------------------------- machine info
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    """The SIMD flags of interest the CPU reports (avx2, avx512f, fma ...)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return [f for f in flags if f in ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")]


def gemm_info() -> dict:
    """The C GEMM's instruction set, the caches it was blocked for, and one core's float32
    FMA peak measured now (GFLOP/s), or {} without the C backend."""
    if "c" not in nt.backend.available():
        return {}
    from nanotorch.backend import c_backend
    return {"isa": c_backend.isa(), "tuning": c_backend.gemm_tuning(),
            "peak_gflops": round(c_backend.fma_peak_gflops(), 1)}


def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    """Add what the report needs: CPU, cores, BLAS, backends, thread count, command."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    machine_info["nanotorch"] = {
        "cpu_model": cpu_model(), "cpu_flags": cpu_flags(), "cpu_count": os.cpu_count(),
        "cpus_usable": affinity, "bench_threads": THREADS, "backends": BACKENDS,
        "backend_info": nt.backend.info(), "numpy": np.__version__, "blas": BLAS.info(),
        "command": " ".join([Path(sys.executable).name, "-m", "pytest", *sys.argv[1:]]),
        "gemm": gemm_info(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        machine_info["nanotorch"]["torch"] = {"version": torch.__version__,
                                              "threads": torch.get_num_threads(),
                                              "config": torch.__config__.parallel_info()}


# ---------------------------------------------------------------- comparisons
def agree(out, ref, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """``out`` equals ``ref`` to float32 rounding: arrays (or nested tuples of them, ``None``
    matching ``None``), each within ``atol + rtol * max|ref|`` elementwise."""
    if ref is None or out is None:
        return out is None and ref is None
    if isinstance(ref, (tuple, list)):
        return len(out) == len(ref) and all(agree(o, r, rtol, atol) for o, r in zip(out, ref))
    out, ref = np.asarray(out, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if out.shape != ref.shape:
        return False
    if ref.size == 0:
        return True
    scale = float(np.max(np.abs(ref)))
    return bool(np.all(np.abs(out - ref) <= atol + rtol * scale))


def overrides(backend, methods) -> bool:
    """True when ``backend`` has its own code for any of ``methods`` (not NumPy's)."""
    return any(getattr(type(backend), m, None) is not getattr(NumpyBackend, m, None) for m in methods)


# ------------------------------------------------------------------------ data
_DATA: dict = {}


def mnist_train() -> tuple[np.ndarray, np.ndarray, str]:
    """``(X[63000, 784] float32, y[63000] int64, source)``: the seed split of MNIST when
    it loads, else random data of the same shape."""
    if "mnist" not in _DATA:
        try:
            from nanotorch.datasets import load_mnist
            X, y, _, _ = load_mnist(split="seed")
            source = f"MNIST seed split ({len(X):,} samples)"
        except Exception as exc:  # no cache and no network, ...
            rng = np.random.default_rng(0)
            X = rng.random((63_000, 784), dtype=np.float32)
            y = rng.integers(0, 10, 63_000).astype(np.int64)
            source = f"random data [63000, 784] (MNIST not loadable: {type(exc).__name__})"
        _DATA["mnist"] = (np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64), source)
    return _DATA["mnist"]


# ---------------------------------------------------------------------- models
def seed_mlp(lib):
    """The seed's MLP 784-128-ReLU-10, in ``lib`` (nanotorch or torch)."""
    return lib.nn.Sequential(lib.nn.Linear(784, 128), lib.nn.ReLU(), lib.nn.Linear(128, 10))


def wide_mlp(lib):
    """784-1024-ReLU-1024-ReLU-10: big enough that GEMM dominates at batch 512."""
    return lib.nn.Sequential(lib.nn.Linear(784, 1024), lib.nn.ReLU(), lib.nn.Linear(1024, 1024),
                             lib.nn.ReLU(), lib.nn.Linear(1024, 10))


def _torch_twin(layer, nn):
    """The PyTorch layer with the same hyperparameters as a nanotorch layer (so the same
    state-dict keys and shapes)."""
    kind = type(layer).__name__
    if kind == "Conv2d":
        return nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                         layer.padding, bias=layer.bias is not None)
    if kind == "BatchNorm2d":
        return nn.BatchNorm2d(layer.num_features, layer.eps, layer.momentum)
    if kind == "MaxPool2d":
        return nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding)
    if kind == "Linear":
        return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    if kind == "ReLU":
        return nn.ReLU()
    raise TypeError(f"no PyTorch twin for {kind}")


def small_cnn(lib):
    """examples/train_cnn_mnist.py's SmallCNN: the example's own class for nanotorch; for
    torch, a twin built layer by layer from it (same state-dict keys)."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from train_cnn_mnist import SmallCNN
    finally:
        sys.path.remove(str(ROOT / "examples"))
    model = SmallCNN()
    if lib is nt:
        return model
    nn = lib.nn

    class TorchSmallCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*[_torch_twin(layer, nn) for layer in model.features])
            self.classifier = _torch_twin(model.classifier, nn)

        def forward(self, x):
            return SmallCNN.forward(self, x)  # the example's forward: reshape, features, flatten

    return TorchSmallCNN()


MODELS = {"seed-mlp": seed_mlp, "wide-mlp": wide_mlp, "cnn": small_cnn}
OPTIMIZERS = {"sgd": ("SGD", {"lr": 0.1}), "adam": ("Adam", {"lr": 1e-3})}
# PyTorch's fastest CPU setting of each optimizer, which its rows use: fused Adam (one kernel
# over all parameters) took ~0.8-0.9 s per seed-MLP epoch on the AMD EPYC against 1.2-1.9 s for
# its default (foreach) Adam, 2026-11-30.
TORCH_FASTEST = {"adam": {"fused": True}}


# --------------------------------------------------------------------- systems
# A system is how a row runs: nanotorch on one backend, or PyTorch.
def systems(with_torch: bool = True, prebatched: bool = False) -> list[str]:
    """Row order of a workload: nanotorch's backends (NumPy first), then PyTorch."""
    names = [f"nanotorch-{b}" for b in BACKENDS]
    if with_torch and ONLY in ("", "torch"):
        names.append("torch")
        if prebatched:
            names.append("torch-prebatched")
    return names


def torch_or_skip():
    """The torch module (threads set to ``THREADS``), or skip the test."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(THREADS)
    return torch


def describe(system: str) -> dict:
    """``extra_info`` fields naming a system (``nanotorch-c-compiled``: backend ``c-compiled``)."""
    if system.startswith("nanotorch-"):
        return {"system": "nanotorch", "backend": system.split("-", 1)[1]}
    return {"system": "torch", "backend": system}


class Trainer:
    """A model, its optimizer and its loss in one system, all from the same initial weights.

    ``step(x, y)`` is the user's loop body: forward, loss, ``zero_grad``, ``backward``,
    ``step``, on the system's tensors (see ``tensors``); for ``nanotorch-<backend>-compiled``
    it runs through ``nanotorch.compile``.
    """

    def __init__(self, system: str, model: str, optimizer: str) -> None:
        self.system = system
        self.lib = nt if system.startswith("nanotorch") else torch_or_skip()
        self.backend = system.split("-")[1] if self.lib is nt else None
        with self.active():
            self.model = MODELS[model](self.lib)
            state = initial_state(model)
            if self.lib is nt:
                self.model.load_state_dict(state)
            else:
                state = {k: self.lib.from_numpy(v.copy()) for k, v in state.items()}
                result = self.model.load_state_dict(state, strict=False)
                assert not result.unexpected_keys, result
                assert all(k.endswith("num_batches_tracked") for k in result.missing_keys), result
            name, options = OPTIMIZERS[optimizer]
            if self.lib is not nt:
                options = {**options, **TORCH_FASTEST.get(optimizer, {})}
            self.optimizer = getattr(self.lib.optim, name)(self.model.parameters(), **options)
        self.criterion = self.lib.nn.CrossEntropyLoss()
        if system.endswith("-compiled"):
            self.step = nt.compile(self.step)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Run the block on this trainer's nanotorch backend (a no-op for PyTorch)."""
        if self.backend is None:
            yield
        else:
            with nt.backend.use(self.backend):
                yield

    def tensors(self, *arrays: np.ndarray) -> tuple:
        """The arrays as this system's tensors (sharing memory)."""
        return tuple(self.lib.from_numpy(a) for a in arrays)

    def step(self, x, y):
        """One training step; returns the loss tensor."""
        loss = self.criterion(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss

    def loader(self, X: np.ndarray, y: np.ndarray, batch_size: int):
        """A shuffling ``DataLoader(TensorDataset(X, y))``, as users write it."""
        data = self.lib.utils.data
        return data.DataLoader(data.TensorDataset(*self.tensors(X, y)), batch_size=batch_size,
                               shuffle=True)

    def state(self) -> dict:
        """Parameters and buffers as NumPy arrays (torch's num_batches_tracked left out)."""
        return {k: np.array(v.detach().numpy()) for k, v in self.model.state_dict().items()
                if not k.endswith("num_batches_tracked")}


def initial_state(model: str) -> dict:
    """The shared initial weights of ``model`` as NumPy arrays, made once by nanotorch."""
    key = ("init", model)
    if key not in _DATA:
        nt.manual_seed(0)
        _DATA[key] = {k: np.array(v.numpy()) for k, v in MODELS[model](nt).state_dict().items()}
    return _DATA[key]


def one_step(system: str, model: str, optimizer: str, x: np.ndarray, y: np.ndarray):
    """``(loss, gradients, state after)`` of one step of a fresh trainer on the batch ``x, y``."""
    trainer = Trainer(system, model, optimizer)
    with trainer.active():
        loss = trainer.step(*trainer.tensors(x, y))
    grads = {k: np.array(p.grad.numpy()) for k, p in trainer.model.named_parameters()}
    return float(loss.item()), grads, trainer.state()


def step_matches(system: str, model: str, optimizer: str, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether one step of ``system`` gives nanotorch-numpy's loss, gradients and weights after
    the update (to float32 rounding), from the same initial weights on the same batch.

    NOTE: gradients are compared to 1e-4 of the largest gradient of the model, as a
    gradient that cancels to ~0 (a conv bias before BatchNorm: exactly 0 in exact math) is
    left with rounding noise of the sums it came from. Such a parameter (gradient under
    1e-3 of the largest) is left out of the weights-after comparison: Adam divides g by
    ``|g| + eps``, which turns that noise into an update of +-lr in any framework.
    """
    key = ("ref", model, optimizer, x.shape)
    if key not in _DATA:
        _DATA[key] = one_step("nanotorch-numpy", model, optimizer, x, y)
    ref_loss, ref_grads, ref_state = _DATA[key]
    loss, grads, state = one_step(system, model, optimizer, x, y)
    largest = {k: float(np.max(np.abs(g), initial=0)) for k, g in ref_grads.items()}
    scale = max(largest.values(), default=0.0)
    noise = {k for k, g in largest.items() if g < 1e-3 * scale}
    return (abs(loss - ref_loss) <= 1e-4 * max(1.0, abs(ref_loss))
            and grads.keys() == ref_grads.keys() and state.keys() == ref_state.keys()
            and all(agree(grads[k], ref_grads[k], rtol=1e-4, atol=1e-4 * scale) for k in ref_grads)
            and all(agree(state[k], ref_state[k], rtol=1e-4, atol=1e-6) for k in ref_state
                    if k not in noise))
