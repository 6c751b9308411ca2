"""Run under ``mpiexec -n 2 python tests/mpi/worker.py <case>`` (tests/test_distributed.py does).

Each case checks itself on every rank and raises on a failure (the excepthook installed by
``init_process_group`` then aborts every rank, so the test sees a non-zero exit); rank 0
prints ``OK <case>`` plus any figures the test reads.
"""

from __future__ import annotations

import sys

import numpy as np

import nanotorch as nt
import nanotorch.distributed as dist
from nanotorch import nn
from nanotorch.nn.parallel import DistributedDataParallel as DDP
from nanotorch.utils.data import DataLoader, Dataset, DistributedSampler


def close(a, b, tol=1e-6) -> None:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=tol):
        raise AssertionError(f"rank {dist.get_rank()}: {a} != {b}")


def collectives(rank: int, world: int) -> None:
    t = nt.tensor([1.0, 2.0]) * (rank + 1)
    dist.all_reduce(t)
    close(t.numpy(), np.array([1.0, 2.0]) * sum(range(1, world + 1)))
    for op, want in ((dist.ReduceOp.AVG, np.mean), (dist.ReduceOp.MAX, np.max), (dist.ReduceOp.MIN, np.min)):
        t = nt.tensor([float(rank), -float(rank)])
        dist.all_reduce(t, op=op)
        close(t.numpy(), [want(range(world)), want([-r for r in range(world)])])
    ints = nt.tensor([rank + 1])
    dist.all_reduce(ints, op=dist.ReduceOp.PRODUCT)
    assert ints.dtype == np.int64 and ints.item() == np.prod(range(1, world + 1)), ints
    strided = nt.arange(12, dtype=nt.float32).reshape(3, 4).T  # not C-contiguous: copied and back
    work = dist.all_reduce(strided, async_op=True)
    work.wait()
    close(strided.numpy(), np.arange(12, dtype=np.float32).reshape(3, 4).T * world)
    b = nt.full((2, 3), float(rank))
    dist.broadcast(b, src=world - 1)
    close(b.numpy(), np.full((2, 3), world - 1.0))
    out = [nt.zeros(2) for _ in range(world)]
    dist.all_gather(out, nt.tensor([rank, 10.0 * rank]))
    close(np.stack([o.numpy() for o in out]), [[r, 10.0 * r] for r in range(world)])
    objects = [None] * world
    dist.all_gather_object(objects, {"rank": rank})
    assert objects == [{"rank": r} for r in range(world)], objects
    for call, error in ((lambda: dist.broadcast(b, src=world), ValueError),
                        (lambda: dist.all_gather([b], b), ValueError),
                        (lambda: dist.all_reduce(ints, op=dist.ReduceOp.AVG), TypeError),
                        (lambda: dist.all_reduce(b.numpy()), TypeError),
                        (lambda: dist.all_reduce(b, op="sum"), TypeError)):
        try:
            call()
        except error:
            pass
        else:
            raise AssertionError(f"no {error.__name__}")
    dist.barrier()
    # the group's life cycle: no second init, the sizes must agree with mpiexec's, re-init works
    try:
        dist.init_process_group("mpi")
    except RuntimeError as e:
        assert "twice" in str(e), e
    else:
        raise AssertionError("a second init_process_group was accepted")
    dist.destroy_process_group()
    assert not dist.is_initialized()
    for kwargs in ({"world_size": world + 1}, {"rank": world}):
        try:
            dist.init_process_group("mpi", **kwargs)
        except ValueError as e:
            assert "mpiexec started this process" in str(e), e
        else:
            raise AssertionError(f"init_process_group accepted {kwargs}")
    dist.init_process_group("mpi", world_size=world, rank=rank)
    assert dist.is_initialized() and dist.get_rank() == rank


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 5))


def _data(n: int = 320):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 20)).astype(np.float32), rng.integers(0, 5, n)


def _epoch_indices(n: int, world: int, rank: int, epoch: int) -> list[int]:
    s = DistributedSampler(range(n), world, rank, seed=3)
    s.set_epoch(epoch)
    return list(s)


def ddp_equal(rank: int, world: int) -> None:
    """N steps of DDP (each rank a shard of every global batch) == one process on the global batches."""
    X, y = _data()
    global_batch, epochs = 32, 2
    nt.manual_seed(rank)  # different initial weights on purpose: DDP must broadcast rank 0's
    model = DDP(_model(), bucket_cap_mb=0.002)  # ~2 KB buckets: several all-reduces per step
    assert len(model._buckets) > 2, len(model._buckets)
    launched = []  # after each parameter's DDP hook: how many buckets are on the wire
    for p in model.parameters():
        p.register_post_accumulate_grad_hook(lambda p: launched.append(model._next))
    nt.manual_seed(0)
    reference = _model()
    reference.load_state_dict(model.state_dict())  # state dict keys without "module."
    opt = nt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = nt.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    sampler = DistributedSampler(Dataset(X, y), shuffle=True, seed=3)
    loader = DataLoader(Dataset(X, y), batch_size=global_batch // world, sampler=sampler)
    loss_fn = nn.CrossEntropyLoss()
    steps = 0
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        shards = [_epoch_indices(len(X), world, r, epoch) for r in range(world)]
        per = global_batch // world
        for step, (xb, yb) in enumerate(loader):
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
            index = np.concatenate([shards[r][step * per:(step + 1) * per] for r in range(world)])
            ref_opt.zero_grad()
            loss_fn(reference(nt.from_numpy(X[index])), nt.from_numpy(y[index])).backward()
            ref_opt.step()
            steps += 1
            # overlap: some bucket was all-reducing while backward still had buckets to fill
            assert any(0 < k < len(model._buckets) for k in launched), launched
            launched.clear()
    diff = max(float(np.abs(a.data - b.data).max())
               for a, b in zip(model.module.parameters(), reference.parameters()))
    if diff > 1e-5:
        raise AssertionError(f"rank {rank}: DDP weights differ from one process by {diff:.3g}")
    everyone = [None] * world
    dist.all_gather_object(everyone, [p.data for p in model.parameters()])
    for theirs in everyone[1:]:
        for a, b in zip(everyone[0], theirs):
            assert np.array_equal(a, b), "the ranks' weights drifted apart"
    if rank == 0:
        print(f"max |w_ddp - w_single| after {steps} steps: {diff:.3g}")


def no_sync(rank: int, world: int) -> None:
    """Two micro-batches under no_sync, a third synchronized: the grads are the average over
    ranks of each rank's sum of three micro-batch grads."""
    X, y = _data(6 * world)
    nt.manual_seed(0)
    model = DDP(_model())
    loss_fn = nn.CrossEntropyLoss()
    mine = [slice(6 * rank + 2 * k, 6 * rank + 2 * k + 2) for k in range(3)]

    def local_grad(s: slice) -> np.ndarray:
        twin = _model()
        twin.load_state_dict(model.state_dict())
        loss_fn(twin(nt.from_numpy(X[s])), nt.from_numpy(y[s])).backward()
        return twin[0].bias.grad.data
    with model.no_sync():
        for s in mine[:2]:
            loss_fn(model(nt.from_numpy(X[s])), nt.from_numpy(y[s])).backward()
    local = [p.grad.data.copy() for p in model.parameters()]
    nt.manual_seed(0)
    reference = _model()
    reference.load_state_dict(model.state_dict())
    for k in range(3):
        for r in range(world):
            s = slice(6 * r + 2 * k, 6 * r + 2 * k + 2)
            loss_fn(reference(nt.from_numpy(X[s])), nt.from_numpy(y[s])).backward()
    loss_fn(model(nt.from_numpy(X[mine[2]])), nt.from_numpy(y[mine[2]])).backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        close(p.grad.data, q.grad.data / world, 1e-5)
    # under no_sync nothing was averaged: each rank's grads were its own
    everyone = [None] * world
    dist.all_gather_object(everyone, float(local[0].sum()))
    assert len(set(everyone)) == world, everyone
    # the wrapped module trained on its own (or wrapped again) communicates nothing
    model.module.zero_grad()
    loss_fn(model.module(nt.from_numpy(X[mine[0]])), nt.from_numpy(y[mine[0]])).backward()
    close(model.module[0].bias.grad.data, local_grad(mine[0]), 1e-6)
    if rank == 0:
        print("no_sync accumulated 2 local micro-batches, then averaged")


def sampler(rank: int, world: int) -> None:
    for n, drop_last in ((40, False), (43, False), (43, True)):
        ds = Dataset(np.zeros((n, 1), np.float32))
        s = DistributedSampler(ds, shuffle=True, seed=7, drop_last=drop_last)
        for epoch in range(2):
            s.set_epoch(epoch)
            everyone = [None] * world
            dist.all_gather_object(everyone, list(s))
            counts = np.bincount(np.concatenate(everyone), minlength=n)
            assert all(len(e) == len(s) for e in everyone)
            if n % world == 0:
                assert (counts == 1).all(), counts  # every sample exactly once
            elif drop_last:
                assert counts.max() == 1 and counts.sum() == n - n % world, counts
            else:
                assert counts.min() == 1 and counts.sum() == n + (-n) % world, counts
        assert list(s) != (s.set_epoch(0) or list(s)), "set_epoch did not change the order"
    if rank == 0:
        print("every sample once per epoch across the ranks")


def unused(rank: int, world: int) -> None:
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            return self.a(x)

    model = DDP(TwoHeads())
    model(nt.ones(4, 3)).sum().backward()
    try:
        model(nt.ones(4, 3))
    except RuntimeError as e:
        assert "b.weight" in str(e), e
    else:
        raise AssertionError("an unused parameter went unnoticed")
    model(nt.ones(4, 3))  # reported once: the wrapper is usable again
    if rank == 0:
        print("unused parameter reported")


def mismatch(rank: int, world: int) -> None:
    model = nn.Linear(4, 3 if rank == 0 else 2)
    try:
        DDP(model)
    except RuntimeError as e:
        assert "differs from rank 0" in str(e), e
    else:
        raise AssertionError("mismatched models were not detected")
    if rank == 0:
        print("mismatch detected on every rank")


def fault(rank: int, world: int) -> None:
    """Rank 1 raises; the others wait in an all-reduce it never joins. Must not hang."""
    if rank == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(nt.ones(3))
    raise AssertionError("the all-reduce finished without rank 1")


def fault_in_finally(rank: int, world: int) -> None:
    """As ``fault``, but the failing rank leaves the process group in a ``finally:`` first."""
    if rank == 1:
        try:
            raise ValueError("rank 1 fails on purpose")
        finally:
            dist.destroy_process_group()
    dist.all_reduce(nt.ones(3))
    raise AssertionError("the all-reduce finished without rank 1")


if __name__ == "__main__":
    dist.init_process_group("mpi")
    case = globals()[sys.argv[1]]
    case(dist.get_rank(), dist.get_world_size())
    if dist.get_rank() == 0:
        print(f"OK {sys.argv[1]} world_size={dist.get_world_size()}")
    dist.destroy_process_group()
