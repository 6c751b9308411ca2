"""Collectives on Tensors: ``all_reduce``, ``broadcast``, ``all_gather``, ``all_gather_object``.

Each works in place on the tensors' arrays, as in PyTorch, through MPI's non-blocking
collectives: ``async_op=True`` returns a :class:`Work` to ``wait()`` on, otherwise the call
returns when the result is there. Every rank must make the same calls, in the same order,
with tensors of the same shape and dtype (MPI does not check that; a mismatch is an error
or a hang inside MPI).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import numpy as np

from nanotorch.distributed.process_group import _current, mpi
from nanotorch.tensor import Tensor

_DTYPES = (np.float32, np.float64, np.int32, np.int64, np.uint8)


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' tensors, element by element."""

    SUM = "sum"
    AVG = "avg"  # SUM, then divided by the world size (floating tensors only)
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


class Work:
    """A collective in flight: ``wait()`` blocks until this rank's result is in place."""

    def __init__(self, request, finish: Callable[[], None] | None = None) -> None:
        self._request, self._finish = request, finish

    def is_completed(self) -> bool:
        """Test (and so progress) the operation without blocking; True once it is finished."""
        if self._request is not None and self._request.Test():
            self._complete()
        return self._request is None

    def wait(self) -> bool:
        if self._request is not None:
            self._request.Wait()
            self._complete()
        return True

    def _complete(self) -> None:
        self._request = None
        if self._finish is not None:
            self._finish()
            self._finish = None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
               async_op: bool = False) -> Work | None:
    """Replace ``tensor`` on every rank by ``op`` over all ranks' ``tensor`` (in place)."""
    comm = _group_comm(group)
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a nanotorch.distributed.ReduceOp, got {op!r}")
    _check_tensor(tensor, "all_reduce")
    if op is ReduceOp.AVG and tensor.data.dtype.kind != "f":
        raise TypeError(f"ReduceOp.AVG needs a floating tensor, got {tensor.dtype}")
    MPI = mpi()
    mpi_op = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
              ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}[op]
    buffer, write_back = _contiguous(tensor)

    def finish() -> None:
        if op is ReduceOp.AVG:
            buffer[...] /= comm.Get_size()
        write_back()

    return _run(comm.Iallreduce(MPI.IN_PLACE, buffer, mpi_op), finish, async_op)


def broadcast(tensor: Tensor, src: int, group=None, async_op: bool = False) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    comm = _group_comm(group)
    _check_tensor(tensor, "broadcast")
    _check_rank(src, comm, "src")
    buffer, write_back = _contiguous(tensor)
    return _run(comm.Ibcast(buffer, root=src), write_back, async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group=None, async_op: bool = False) -> Work | None:
    """Fill ``tensor_list[r]`` (one tensor per rank, each shaped and typed like ``tensor``)
    with rank ``r``'s ``tensor``."""
    comm = _group_comm(group)
    _check_tensor(tensor, "all_gather")
    size = comm.Get_size()
    if not isinstance(tensor_list, list) or len(tensor_list) != size:
        raise ValueError(f"all_gather: tensor_list must be a list of {size} tensors (one per rank), "
                         f"got {type(tensor_list).__name__} of length {_len(tensor_list)}")
    for i, t in enumerate(tensor_list):
        _check_tensor(t, f"all_gather: tensor_list[{i}]")
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] is {t.dtype} {t.shape}, the input "
                             f"tensor is {tensor.dtype} {tensor.shape}")
    gathered = np.empty((size,) + tensor.shape, dtype=tensor.dtype)

    def finish() -> None:
        for t, row in zip(tensor_list, gathered):
            np.copyto(t.data, row)
            t._version[0] += 1

    return _run(comm.Iallgather(np.ascontiguousarray(tensor.data), gathered), finish, async_op)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list[r]`` with rank ``r``'s ``obj`` (any picklable object)."""
    comm = _group_comm(group)
    size = comm.Get_size()
    if not isinstance(object_list, list) or len(object_list) != size:
        raise ValueError(f"all_gather_object: object_list must be a list of {size} items (one per "
                         f"rank), got {type(object_list).__name__} of length {_len(object_list)}")
    object_list[:] = comm.allgather(obj)


# ---------------------------------------------------------------- helpers
def _group_comm(group):
    if group is not None:
        raise ValueError("only the default process group exists: pass group=None")
    return _current().comm


def _check_tensor(tensor, what: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} needs a nanotorch Tensor, got {type(tensor).__name__}")
    if tensor.data.dtype.type not in _DTYPES:
        names = ", ".join(np.dtype(d).name for d in _DTYPES)
        raise TypeError(f"{what}: dtype {tensor.dtype} is not supported (use one of {names})")
    if not tensor.data.flags.writeable:
        raise ValueError(f"{what}: the tensor's memory is read-only")


def _check_rank(rank, comm, name: str) -> None:
    size = comm.Get_size()
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < size:
        raise ValueError(f"{name} must be a rank in 0..{size - 1}, got {rank!r}")


def _contiguous(tensor: Tensor) -> tuple[np.ndarray, Callable[[], None]]:
    """A C-contiguous array MPI may write (the tensor's own, or a copy), and the function
    that makes the tensor hold the result and records the in-place change."""
    data = tensor.data
    buffer = data if data.flags.c_contiguous else np.ascontiguousarray(data)

    def write_back() -> None:
        if buffer is not data:
            np.copyto(data, buffer)
        tensor._version[0] += 1

    return buffer, write_back


def _run(request, finish: Callable[[], None], async_op: bool) -> Work | None:
    work = Work(request, finish)
    if async_op:
        return work
    work.wait()
    return None


def _len(x) -> str:
    return str(len(x)) if hasattr(x, "__len__") else "?"
