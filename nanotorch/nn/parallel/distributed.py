"""``DistributedDataParallel``: one model replica per process, gradients averaged over MPI.

Every rank runs forward and backward on its own shard of the global batch. During backward,
each parameter's gradient is final as soon as the autograd engine has accumulated its last
contribution (a post-accumulate-grad hook); the parameters are grouped into *buckets* of
about ``bucket_cap_mb`` (in reverse registration order, roughly the order backward finishes
them), and a full bucket is copied into one flat array and all-reduced with MPI's
non-blocking ``Iallreduce`` while backward goes on with the layers before it. The hook that
completes the last bucket waits for every bucket and writes the averages back into the
``.grad`` arrays, so when ``loss.backward()`` returns the optimizer sees the global-batch
gradient. MPI libraries progress a non-blocking collective mostly inside MPI calls; every
hook tests the buckets in flight to give them that chance.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from nanotorch.autograd import grad_mode
from nanotorch.autograd.grad_mode import no_grad
from nanotorch.distributed import all_gather_object, broadcast
from nanotorch.distributed.collectives import Work
from nanotorch.distributed.process_group import _current, mpi
from nanotorch.nn.module import Module
from nanotorch.tensor import Tensor


class _Bucket:
    """Parameters whose gradients travel in one flat array and one all-reduce."""

    def __init__(self, params: list) -> None:
        self.params = params
        sizes = [p.data.size for p in params]
        self.flat = np.empty(sum(sizes), dtype=params[0].data.dtype)
        offsets = np.cumsum([0] + sizes)
        self.views = [self.flat[a:b].reshape(p.shape) for p, a, b in zip(params, offsets[:-1], offsets[1:])]
        self.waiting = len(params)  # parameters whose gradient is not final yet
        self.work: Work | None = None


def _grad_ready(ddp_ref: weakref.ref, param: Tensor) -> None:
    ddp = ddp_ref()
    if ddp is not None:
        ddp._grad_ready(param)


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training on the default process group.

    At construction, the ranks check that they hold the same model (parameter and buffer
    names, shapes and dtypes; a mismatch raises on every rank) and copy rank 0's parameters
    and buffers to the others. Then ``loss.backward()`` leaves the average over the ranks of
    each ``.grad``. With ``broadcast_buffers`` (the default) rank 0's buffers (BatchNorm's
    running statistics, which each rank otherwise updates from its own shard) are copied to
    every rank before each forward in grad mode.

    ``module`` is the wrapped model. ``state_dict()`` and ``load_state_dict()`` are the
    wrapped model's (no ``module.`` prefix, unlike PyTorch), so a checkpoint moves between a
    DDP run and a single-process one unchanged. Every parameter that requires grad must
    receive a gradient in every synchronized backward (PyTorch's default,
    ``find_unused_parameters=False``); otherwise the next forward raises.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0, broadcast_buffers: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a nanotorch.nn.Module, "
                            f"got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self._group = _current()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self._require_backward_grad_sync = True
        self._armed = False  # a synchronized forward ran; its backward has not reduced yet
        self._check_same_model()
        with no_grad():
            for t in self._state_tensors():
                broadcast(t, src=0)
        self._buckets = self._make_buckets(int(bucket_cap_mb * 2**20))
        self._next = 0  # the bucket to launch next: every rank launches them in this order
        self._counted: set[int] = set()  # ids of the parameters whose gradient is final
        self._bucket_of = {}
        hook = functools.partial(_grad_ready, weakref.ref(self))  # the hooks don't keep DDP alive
        for bucket in self._buckets:
            for p in bucket.params:
                self._bucket_of[id(p)] = bucket
                p.register_post_accumulate_grad_hook(hook)

    # ------------------------------------------------------------------ public API
    def forward(self, *args, **kwargs):
        if self._armed and self._counted:
            names = [n for n, p in self.module.named_parameters()
                     if p.requires_grad and id(p) not in self._counted]
            self._reset()
            self._armed = False
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not reduce every gradient; "
                f"these parameters got none: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}. "
                "Every parameter that requires grad must take part in the loss on every rank.")
        sync = self._require_backward_grad_sync and grad_mode.is_grad_enabled()
        if sync and self.broadcast_buffers and self._group.size > 1:
            with no_grad():
                for t in self.module.buffers():
                    broadcast(t, src=0)
        self._reset()
        self._armed = sync
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, forward and backward accumulate gradients locally with no communication;
        the first synchronized backward after it averages the accumulated sums."""
        previous = self._require_backward_grad_sync
        self._require_backward_grad_sync = False
        try:
            yield
        finally:
            self._require_backward_grad_sync = previous

    def state_dict(self, *, destination: dict | None = None, prefix: str = "", keep_vars: bool = False):
        """The wrapped module's state dict (its own keys: no ``module.`` prefix)."""
        return self.module.state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)

    # --------------------------------------------------------------- construction
    def _state_tensors(self) -> list[Tensor]:
        return [p for p in self.module.parameters()] + [b for b in self.module.buffers()]

    def _check_same_model(self) -> None:
        """Raise on every rank if any rank's parameters or buffers differ in name, shape or dtype."""
        mine = [(kind, name, tuple(t.shape), str(t.dtype))
                for kind, items in (("parameter", self.module.named_parameters()),
                                    ("buffer", self.module.named_buffers()))
                for name, t in items]
        everyone = [None] * self._group.size
        all_gather_object(everyone, mine)
        for rank, theirs in enumerate(everyone):
            if theirs != everyone[0]:
                diff = next((f"{a} vs {b}" for a, b in zip(everyone[0], theirs) if a != b),
                            f"{len(everyone[0])} vs {len(theirs)} tensors")
                raise RuntimeError(f"DistributedDataParallel: rank {rank}'s model differs from rank 0's "
                                   f"(rank 0 vs rank {rank}: {diff}); every rank must build the same model")

    def _make_buckets(self, cap_bytes: int) -> list[_Bucket]:
        """Parameters in reverse registration order, cut into buckets of at most ``cap_bytes``
        (a bigger parameter gets a bucket of its own); one dtype per bucket."""
        buckets, current, size = [], [], 0
        for p in reversed([p for p in self.module.parameters() if p.requires_grad]):
            if current and (size + p.data.nbytes > cap_bytes or p.dtype != current[0].dtype):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
        if current:
            buckets.append(_Bucket(current))
        return buckets

    # ------------------------------------------------------------- during backward
    def _grad_ready(self, param: Tensor) -> None:
        """The post-accumulate-grad hook: count the parameter in, launch the buckets that are
        full (in order), test the ones in flight, and finish when the last is launched."""
        if not self._armed:  # no_sync(), or a backward that did not follow this wrapper's forward
            return
        if id(param) in self._counted:
            raise RuntimeError("DistributedDataParallel: a gradient became ready twice after one forward "
                               "(a second backward before the first reduced every gradient); run "
                               "forward again first")
        self._counted.add(id(param))
        self._bucket_of[id(param)].waiting -= 1
        while self._next < len(self._buckets) and self._buckets[self._next].waiting == 0:
            self._launch(self._buckets[self._next])
            self._next += 1
        if self._next == len(self._buckets):
            for b in self._buckets:
                b.work.wait()
            self._armed = False
            self._counted.clear()
        else:
            for b in self._buckets[:self._next]:
                b.work.is_completed()

    def _launch(self, bucket: _Bucket) -> None:
        for p, view in zip(bucket.params, bucket.views):
            np.copyto(view, p.grad.data)
        MPI = mpi()
        request = self._group.comm.Iallreduce(MPI.IN_PLACE, bucket.flat, MPI.SUM)

        def finish() -> None:  # the sum over the ranks, divided by their number, into each .grad
            scale = bucket.flat.dtype.type(1.0 / self._group.size)
            for p, view in zip(bucket.params, bucket.views):
                np.multiply(view, scale, out=p.grad.data)

        bucket.work = Work(request, finish)

    def _reset(self) -> None:
        for b in self._buckets:
            b.waiting, b.work = len(b.params), None
        self._next = 0
        self._counted.clear()
