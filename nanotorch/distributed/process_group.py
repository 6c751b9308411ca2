"""The default process group: one MPI communicator shared by every rank.

``init_process_group("mpi")`` duplicates ``MPI.COMM_WORLD`` (so the library's messages never
mix with the user's own mpi4py traffic) and, when there is more than one rank, installs the
fault rule: an exception that reaches the top of any rank prints its traceback and aborts
``MPI.COMM_WORLD``, which makes ``mpiexec`` stop every rank instead of leaving them waiting
forever in a collective that the failed rank will never join (a rank that merely exits does
not stop the others). The rule stays until the process ends, also after
``destroy_process_group`` (which a ``finally:`` clause may call on the way out).
"""

from __future__ import annotations

import sys
import time
import traceback

_INSTALL_HINT = ('nanotorch.distributed needs mpi4py and an MPI library: pip install -e ".[distributed]" '
                 '(or pip install mpi4py mpich), then start the script with mpiexec -n <ranks>')


class _Group:
    """What ``init_process_group`` sets up: the communicator, this rank, the world size."""

    def __init__(self, comm) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()


_group: _Group | None = None


def mpi():
    """The ``mpi4py.MPI`` module, or an ImportError that says how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"{_INSTALL_HINT} ({e})") from None
    return MPI


def is_available() -> bool:
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        mpi()
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _group is not None


def init_process_group(backend: str = "mpi", init_method: str | None = None, *, world_size: int = -1,
                       rank: int = -1) -> None:
    """Join the default process group. Only the ``"mpi"`` backend exists: the ranks and the
    world size come from ``mpiexec``; ``world_size``/``rank``, if given, must agree with them.
    ``init_method`` is accepted for PyTorch compatibility and must be None (MPI needs none).
    """
    global _group
    if backend != "mpi":
        raise ValueError(f"backend {backend!r} is not supported; nanotorch.distributed runs on MPI: "
                         "init_process_group('mpi')")
    if init_method is not None:
        raise ValueError("init_method is not used by the MPI backend (mpiexec starts and connects "
                         "the processes); leave it None")
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    MPI = mpi()
    comm = MPI.COMM_WORLD.Dup()
    for given, actual, name in ((world_size, comm.Get_size(), "world_size"), (rank, comm.Get_rank(), "rank")):
        if given != -1 and given != actual:
            comm.Free()
            raise ValueError(f"init_process_group: {name}={given}, but mpiexec started this process "
                             f"with {name} {actual}")
    _group = _Group(comm)
    if _group.size > 1 and sys.excepthook is not _abort_on_exception:
        sys.excepthook = _abort_on_exception


def destroy_process_group() -> None:
    """Leave the default process group (the MPI library itself stays up until exit)."""
    global _group
    _current().comm.Free()
    _group = None


def get_rank() -> int:
    """This process's rank, ``0 .. world_size - 1``."""
    return _current().rank


def get_world_size() -> int:
    """The number of processes in the group."""
    return _current().size


def barrier() -> None:
    """Wait until every rank has called ``barrier()``."""
    _current().comm.Barrier()


def _current() -> _Group:
    if _group is None:
        raise RuntimeError("Default process group has not been initialized, please make sure to "
                           "call init_process_group.")
    return _group


def _abort_on_exception(kind, value, tb) -> None:
    """``sys.excepthook`` of a multi-rank job: report, then abort every rank."""
    world = mpi().COMM_WORLD
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(f"nanotorch.distributed: rank {world.Get_rank()} raised an exception; aborting "
                     f"all {world.Get_size()} ranks (MPI_Abort)\n{text}")
    sys.stderr.flush()
    # NOTE: mpiexec forwards a rank's output through a proxy process that MPI_Abort tears
    # down; without a moment to drain the pipe, the traceback above is sometimes lost.
    time.sleep(0.5)
    world.Abort(1)
