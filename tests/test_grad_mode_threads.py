"""Grad mode is per thread (issue 10 item 2) and wraps generator functions (item 3)."""

from __future__ import annotations

import threading

import pytest

import nanotorch as nt


def _in_thread(fn):
    """Run ``fn`` in a new thread; return its result (or raise its exception)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_new_thread_starts_with_grad_mode_on():
    with nt.no_grad():
        assert _in_thread(nt.is_grad_enabled) is True
        x = nt.ones(2, requires_grad=True)
        assert _in_thread(lambda: (x * 2).grad_fn is not None)
        assert not nt.is_grad_enabled()
    assert nt.is_grad_enabled()


def test_no_grad_in_one_thread_does_not_stop_another_from_recording():
    entered, recorded = threading.Event(), threading.Event()

    def holder():
        with nt.no_grad():
            entered.set()
            assert recorded.wait(10)
            return nt.is_grad_enabled()

    def recorder():
        assert entered.wait(10)
        x = nt.ones(3, requires_grad=True)
        y = (x * x).sum()
        recorded.set()
        y.backward()
        return x.grad.numpy().tolist()

    results = {}
    threads = [threading.Thread(target=lambda: results.__setitem__("h", holder())),
               threading.Thread(target=lambda: results.__setitem__("r", recorder()))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {"h": False, "r": [2.0, 2.0, 2.0]}


def test_interleaved_no_grad_blocks_in_two_threads_leave_grad_mode_on():
    """A enters, B enters, A leaves, B leaves: with one process-wide flag, B's exit restored
    A's 'off' and grad mode stayed off for everyone."""
    steps = [threading.Event() for _ in range(4)]

    def a():
        with nt.no_grad():
            steps[0].set()
            assert steps[1].wait(10)
        steps[2].set()
        assert steps[3].wait(10)
        return nt.is_grad_enabled()

    def b():
        assert steps[0].wait(10)
        with nt.no_grad():
            steps[1].set()
            assert steps[2].wait(10)
        steps[3].set()
        return nt.is_grad_enabled()

    results = {}
    threads = [threading.Thread(target=lambda: results.__setitem__("a", a())),
               threading.Thread(target=lambda: results.__setitem__("b", b()))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {"a": True, "b": True}
    assert nt.is_grad_enabled()
    x = nt.ones(2, requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.numpy().tolist() == [3.0, 3.0]


def test_many_threads_switching_modes_each_see_their_own():
    errors = []

    def worker(i):
        for k in range(200):
            mode = (i + k) % 2 == 0
            with nt.set_grad_enabled(mode):
                x = nt.ones(2, requires_grad=True)
                if ((x + 1).grad_fn is not None) != mode or nt.is_grad_enabled() != mode:
                    errors.append((i, k))
        if not nt.is_grad_enabled():
            errors.append((i, "left off"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []


# ------------------------------------------------------------------ generators
def _modes_seen(lib, decorate):
    @decorate
    def gen(n):
        for _ in range(n):
            got = yield lib.is_grad_enabled()
            assert got is None or got == "sent"
        return "done"

    seen = []

    def outer():
        result = yield from gen(2)
        seen.append(result)

    g = outer()
    seen.append(next(g))
    seen.append(lib.is_grad_enabled())  # the caller's mode between steps
    seen.append(g.send("sent"))
    with pytest.raises(StopIteration):
        next(g)
    return seen


@pytest.mark.parametrize("decorator", [lambda lib: lib.no_grad(), lambda lib: lib.no_grad,
                                       lambda lib: lib.set_grad_enabled(False)],
                         ids=["no_grad()", "no_grad", "set_grad_enabled(False)"])
def test_no_grad_on_a_generator_function(decorator, torch):
    for lib in (torch, nt):
        seen = _modes_seen(lib, decorator(lib))
        assert seen == [False, True, False, "done"], lib.__name__
        assert lib.is_grad_enabled()


def test_enable_grad_on_a_generator_inside_no_grad():
    @nt.enable_grad()
    def gen():
        x = nt.ones(2, requires_grad=True)
        yield (x * 2).grad_fn is not None
        yield nt.is_grad_enabled()

    with nt.no_grad():
        g = gen()
        assert next(g) is True
        assert not nt.is_grad_enabled()
        assert next(g) is True


def test_a_generator_under_no_grad_records_nothing_and_closes_cleanly():
    x = nt.ones(3, requires_grad=True)
    closed = []

    @nt.no_grad()
    def gen():
        try:
            while True:
                yield x * 2
        finally:
            closed.append(nt.is_grad_enabled())

    g = gen()
    assert next(g).grad_fn is None
    assert (x * 2).grad_fn is not None  # the caller still records
    g.close()
    assert closed == [False] and nt.is_grad_enabled()


def test_an_exception_thrown_into_a_no_grad_generator_reaches_it():
    @nt.no_grad()
    def gen():
        try:
            yield 1
        except KeyError:
            yield nt.is_grad_enabled()

    g = gen()
    next(g)
    assert g.throw(KeyError("k")) is False
    assert nt.is_grad_enabled()
    with pytest.raises(ValueError):
        g.throw(ValueError("v"))
    assert nt.is_grad_enabled()
