"""Data-parallel training across processes and machines, on MPI (PyTorch's ``torch.distributed``).

Start the processes with ``mpiexec -n 4 python train.py``; in the script::

    import nanotorch.distributed as dist
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()

The transport is MPI through ``mpi4py`` (``pip install -e ".[distributed]"`` brings it and
the ``mpich`` wheel with ``mpiexec``). Importing this package never needs them; the first
call that does says how to install them. ``nanotorch.nn.parallel.DistributedDataParallel``
and ``nanotorch.utils.data.DistributedSampler`` build on it.
"""

from nanotorch.distributed.collectives import (  # noqa: F401
    ReduceOp,
    Work,
    all_gather,
    all_gather_object,
    all_reduce,
    broadcast,
)
from nanotorch.distributed.process_group import (  # noqa: F401
    barrier,
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
)
