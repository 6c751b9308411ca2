"""The C kernels' thread pool: thread counts checked once, a forked child that trains
instead of hanging, and concurrent callers. Each case runs in a fresh interpreter with a
timeout, so a hang fails the test instead of stopping the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from nanotorch import backend, threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_c = pytest.mark.skipif("c" not in backend.available(), reason="C kernels not built")


def python(code: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter from the project root (``env`` added)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("bad", ["2147483648", "0", "-2", "two", "1.5", "257"])
@pytest.mark.parametrize("name", ["c", "numpy"])
def test_bad_num_threads_env_is_named_not_blamed_on_the_build(bad, name):
    done = python("import nanotorch", {"NANOTORCH_NUM_THREADS": bad, "NANOTORCH_BACKEND": name})
    assert done.returncode != 0
    assert "NANOTORCH_NUM_THREADS must be a positive integer from 1 to 256" in done.stderr
    assert repr(bad) in done.stderr or bad in done.stderr
    assert "build_kernels" not in done.stderr and "cannot be loaded" not in done.stderr


def test_num_threads_env_is_used():
    done = python("import nanotorch; print(nanotorch.get_num_threads())",
                  {"NANOTORCH_NUM_THREADS": " 3 "})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


FORK_TRAINING = """
import multiprocessing, os, sys
import numpy as np
import nanotorch as nt
from nanotorch import nn

nt.set_num_threads(2)
nt.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
opt = nt.optim.SGD(model.parameters(), lr=0.1)
x = nt.randn(256, 784)
y = nt.tensor(np.arange(256) % 10)

def step(_=None):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return float(loss.item())

step()  # the parent runs its kernels on two threads first
{child}
print("ok")
"""

POOL_CHILD = """
with multiprocessing.get_context("fork").Pool(2) as pool:
    losses = pool.map(step, range(2), chunksize=1)
assert all(np.isfinite(losses)), losses
step()  # and the parent's pool still works
"""

OS_FORK_CHILD = """
pid = os.fork()
if pid == 0:
    step()
    os._exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
step()
"""


@needs_c
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
@pytest.mark.parametrize("child", [POOL_CHILD, OS_FORK_CHILD], ids=["fork-pool", "os.fork"])
def test_forked_child_trains_after_the_parent_used_two_threads(child):
    code = FORK_TRAINING.format(child=child)
    try:
        done = python(code, {"NANOTORCH_BACKEND": "c"}, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("the forked child hung in its first training step")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


@needs_c
def test_concurrent_callers_share_the_pool_safely():
    """Two Python threads in the kernels at once (cffi releases the GIL): one gets the pool,
    the other runs its shares itself; both get the one-thread answer."""
    c = backend.get("c")
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((200, 300)).astype(np.float32) for _ in range(4)]
    w = rng.standard_normal((400, 300)).astype(np.float32)
    before = threads.get_num_threads()
    threads.set_num_threads(1)
    try:
        want = [c.linear_forward(x, w, None) for x in xs]
        threads.set_num_threads(2)
        got = [None] * len(xs)

        def work(i: int) -> None:
            for _ in range(20):
                got[i] = c.linear_forward(xs[i], w, None)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in workers), "a kernel call hung"
    finally:
        threads.set_num_threads(before)
    for g, wnt in zip(got, want):
        np.testing.assert_array_equal(g, wnt)


IDLE_POOL = """
import os, time
import numpy as np
import nanotorch as nt
from nanotorch import backend

def cpu_ticks():
    ticks = {}
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks[tid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks

nt.set_num_threads(2)
main = str(os.getpid())
x = np.ones(1 << 22, dtype=np.float32)
backend.get("c").relu_forward(x)  # a parallel kernel: the pool starts its worker
time.sleep(0.05)  # longer than any spin
before = cpu_ticks()
time.sleep(0.5)
after = cpu_ticks()
workers = [t for t in after if t != main and t in before]
assert workers, "no pool thread started"
print(max(after[t] - before[t] for t in workers))
"""


@needs_c
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux's /proc")
def test_idle_pool_sleeps_instead_of_spinning():
    """After its bounded spin (2 ms) a pool thread sleeps: over half a second of idleness it
    uses no CPU time (a thread that kept spinning would use ~50 ticks of 10 ms)."""
    done = python(IDLE_POOL, {"NANOTORCH_BACKEND": "c"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip().splitlines()[-1]) <= 2
