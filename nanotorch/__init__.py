"""NanoTorch: PyTorch's API on NumPy, with C kernels for the hot paths.

``import nanotorch as nt`` gives tensors (``nt.tensor``, ``nt.randn`` ...), autograd
(``nt.no_grad``), and the subpackages ``nt.nn``, ``nt.optim``, ``nt.utils.data`` and
``nt.datasets``. The imports below may come in any order: no module here imports another
in a cycle (``tensor.py`` imports no op; ``tensor_methods`` (with the families it lists),
``tensor_inplace`` and ``tensor_promotion`` add Tensor's methods when imported; ``_seed`` holds
the seed's old paths).
"""

import nanotorch.utils.data  # noqa: F401
from nanotorch import (  # noqa: F401
    _seed,
    accelerator,
    backend,
    backends,
    cuda,
    datasets,
    distributed,
    linalg,
    nn,
    optim,
    tensor_inplace,
    tensor_methods,
    tensor_promotion,
    utils,
)
from nanotorch._device import device  # noqa: F401
from nanotorch._dtype import (  # noqa: F401
    bool,
    double,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from nanotorch.autograd import (  # noqa: F401
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from nanotorch.autograd.function import Function  # noqa: F401
from nanotorch.compiler import compile  # noqa: F401
from nanotorch.creation import (  # noqa: F401
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from nanotorch.functions import *  # noqa: F401,F403
from nanotorch.functions import abs, all, any, max, min, round, sum  # noqa: F401
from nanotorch.random import (  # noqa: F401
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from nanotorch.sampling import bernoulli, multinomial, normal  # noqa: F401
from nanotorch.serialization import load, save  # noqa: F401
from nanotorch.tensor import Tensor  # noqa: F401
from nanotorch.threads import get_num_threads, set_num_threads  # noqa: F401

__version__ = "0.1.0"
