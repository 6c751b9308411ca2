"""NanoTorch: PyTorch's API on NumPy, with C kernels for the hot paths.

``import nanotorch as nt`` gives tensors (``nt.tensor``, ``nt.randn`` ...), autograd
(``nt.no_grad``), and the subpackages ``nt.nn``, ``nt.optim``, ``nt.utils.data`` and
``nt.datasets``.
"""
# isort: skip_file

from nanotorch.tensor import Tensor  # noqa: F401
from nanotorch import tensor_inplace, tensor_methods, tensor_promotion  # noqa: F401  (Tensor's methods)
from nanotorch import backend  # noqa: F401
from nanotorch._dtype import (  # noqa: F401
    bool, double, float, float16, float32, float64, int, int32, int64, long, uint8)
from nanotorch.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from nanotorch.autograd.function import Function  # noqa: F401
from nanotorch.creation import (  # noqa: F401
    arange, as_tensor, empty, eye, from_numpy, full, full_like, linspace, ones, ones_like, rand,
    rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from nanotorch.functions import *  # noqa: F401,F403
from nanotorch.functions import abs, all, any, max, min, round, sum  # noqa: F401
from nanotorch.random import manual_seed, seed  # noqa: F401
from nanotorch.serialization import load, save  # noqa: F401
from nanotorch.threads import get_num_threads, set_num_threads  # noqa: F401
from nanotorch import datasets, distributed, nn, optim, utils  # noqa: F401
from nanotorch.compiler import compile  # noqa: F401,E402  (nt.compile, issue 12)
import nanotorch.utils.data  # noqa: F401
from nanotorch import _seed  # noqa: F401  (SHIMS: the seed README's import paths)

__version__ = "0.1.0"
