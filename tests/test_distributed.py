"""nanotorch.distributed, DistributedDataParallel and DistributedSampler.

The single-process parts (the autograd hook, the sampler's arithmetic, DataLoader's
``sampler=``, the errors before ``init_process_group``) run here; the multi-process ones run
``mpiexec -n 2 python tests/mpi/worker.py <case>`` in a subprocess with a timeout and are
skipped, with the reason, when mpi4py or mpiexec is missing (``pip install -e ".[distributed]"``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.distributed as dist
from nanotorch.utils.data import DataLoader, Dataset, DistributedSampler

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "mpi" / "worker.py"


# ------------------------------------------------------------ the autograd hook
def test_post_accumulate_grad_hook_runs_once_with_the_final_grad():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    ((w * 2).sum() + (w * w).sum()).backward()  # two paths into w: one call, after both
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [4.0, 6.0])
    (w * 3).sum().backward()  # accumulates: the hook sees the sum
    np.testing.assert_allclose(seen[1], [7.0, 9.0])
    handle.remove()
    (w * 3).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_grad_hook_order_and_untouched_leaves():
    a, b = nt.ones(2, requires_grad=True), nt.ones(2, requires_grad=True)
    order = []
    a.register_post_accumulate_grad_hook(lambda t: order.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: order.append("b"))
    ((a * 2).exp() * b).sum().backward()
    assert sorted(order) == ["a", "b"] and len(order) == 2
    order.clear()
    (a * 2).sum().backward()  # b is not in this graph: its hook does not run
    assert order == ["a"]
    order.clear()
    a.sum().backward()  # a leaf as the root
    assert order == ["a"]


def test_post_accumulate_grad_hook_rejects_non_leaves_and_non_callables():
    w = nt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensors that require grad"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="leaf tensors that require grad"):
        nt.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        w.register_post_accumulate_grad_hook(3)


def test_post_accumulate_grad_hook_does_not_keep_its_tensor_alive():
    from nanotorch.autograd import hooks
    w = nt.ones(2, requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: None)
    key = id(w)
    assert key in hooks.post_accumulate_hooks
    del w
    assert key not in hooks.post_accumulate_hooks


# --------------------------------------------------------- DistributedSampler
@pytest.mark.parametrize("n, world, drop_last",
                         [(12, 3, False), (13, 3, False), (13, 3, True), (2, 4, False)])
def test_distributed_sampler_partitions_each_epoch(n, world, drop_last):
    ds = range(n)
    for epoch in range(3):
        shares = []
        for rank in range(world):
            s = DistributedSampler(ds, world, rank, shuffle=True, seed=5, drop_last=drop_last)
            s.set_epoch(epoch)
            shares.append(list(s))
            assert len(shares[-1]) == len(s)
        assert len({len(x) for x in shares}) == 1  # equal shares: the ranks step together
        counts = np.bincount(np.concatenate(shares), minlength=n)
        if drop_last:
            assert counts.max() == 1 and counts.sum() == n - n % world
        else:
            assert counts.min() >= 1 and counts.sum() == -(-n // world) * world


def test_distributed_sampler_shuffles_per_epoch_and_in_order_without_shuffle():
    s = DistributedSampler(range(100), 2, 1, shuffle=True, seed=0)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first and sorted(list(s)) != list(s)
    s.set_epoch(0)
    assert list(s) == first
    assert list(DistributedSampler(range(7), 2, 1, shuffle=False)) == [1, 3, 5, 0]


def test_distributed_sampler_bad_arguments():
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), 0, 0)
    if not dist.is_initialized():
        with pytest.raises(RuntimeError, match="init_process_group"):
            DistributedSampler(range(4))


def test_dataloader_sampler_argument():
    X = np.arange(10, dtype=np.float32)[:, None]
    ds = Dataset(X, np.arange(10))
    loader = DataLoader(ds, batch_size=3, sampler=DistributedSampler(ds, 2, 0, shuffle=False))
    assert len(loader) == 2
    assert [yb.tolist() for _, yb in loader] == [[0, 2, 4], [6, 8]]
    # any iterable of indices with a length; a non-array dataset goes one sample at a time
    loader = DataLoader(list(zip(X, range(10))), batch_size=2, sampler=[9, 1, 4])
    assert [b[1].tolist() for b in loader] == [[9, 1], [4]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_size=2, shuffle=True, sampler=[0, 1])
    with pytest.raises(TypeError, match="sampler must be"):
        DataLoader(ds, sampler=iter([0, 1]))
    with pytest.raises(IndexError, match="sampler gave index 10"):
        list(DataLoader(ds, batch_size=2, sampler=[0, 10]))


# ------------------------------------------------------- before the process group
def test_calls_before_init_process_group_say_what_to_do():
    if dist.is_initialized():
        pytest.skip("a process group is up in this process")
    for call in (dist.get_rank, dist.get_world_size, dist.barrier,
                 lambda: dist.all_reduce(nt.ones(2)),
                 lambda: nt.nn.parallel.DistributedDataParallel(nt.nn.Linear(2, 2))):
        with pytest.raises(RuntimeError, match="init_process_group"):
            call()
    with pytest.raises(ValueError, match="mpi"):
        dist.init_process_group("gloo")


def test_missing_mpi4py_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `from mpi4py import MPI` fail
    assert not dist.is_available()
    with pytest.raises(ImportError, match=r'pip install -e "\.\[distributed\]"'):
        dist.init_process_group("mpi")


# ------------------------------------------------------------- under mpiexec
def _mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _mpi_skip_reason() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return 'mpi4py is not installed (pip install -e ".[distributed]")'
    if _mpiexec() is None:
        return 'mpiexec is not on PATH (pip install -e ".[distributed]" brings MPICH\'s)'
    return None


def run_mpi(case: str, ranks: int = 2, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               NANOTORCH_NUM_THREADS="1")
    # mpiexec and its ranks in a session of their own: on a timeout the whole group is killed
    # (subprocess.run would kill mpiexec alone and leave a rank spinning in an all-reduce).
    with subprocess.Popen([_mpiexec(), "-n", str(ranks), sys.executable, str(WORKER), case],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


mpi = pytest.mark.skipif(_mpi_skip_reason() is not None, reason=_mpi_skip_reason() or "")


@mpi
@pytest.mark.parametrize("case", ["collectives", "ddp_equal", "no_sync", "sampler", "unused", "mismatch"])
def test_under_mpiexec(case):
    result = run_mpi(case)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK {case} world_size=2" in result.stdout
    print(result.stdout)


@mpi
@pytest.mark.parametrize("case", ["fault", "fault_in_finally"])
def test_a_failing_rank_stops_the_others(case):
    """Rank 1 raises while rank 0 waits in an all-reduce: the job ends, it does not hang."""
    result = run_mpi(case, timeout=60)
    assert result.returncode != 0
    assert "rank 1 raised an exception; aborting all 2 ranks" in result.stderr
    assert "ValueError: rank 1 fails on purpose" in result.stderr
