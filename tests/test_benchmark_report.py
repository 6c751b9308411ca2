"""benchmarks/report.py's merge of several rounds (each row keeps its round with the lowest median), and
benchmarks/conftest.py's thread-count context."""

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "bench_report", Path(__file__).resolve().parent.parent / "benchmarks" / "report.py")
report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(report)


def _row(name: str, median: float, tag: str) -> dict:
    return {"fullname": name, "stats": {"median": median, "min": median / 2}, "extra_info": {"tag": tag}}


def test_keep_best_keeps_each_rows_lowest_median_and_every_rounds_median():
    best: dict = {}
    report._keep_best(best, {"benchmarks": [_row("a", 3.0, "a0"), _row("b", 1.0, "b0")]})
    report._keep_best(best, {"benchmarks": [_row("a", 2.0, "a1"), _row("b", 4.0, "b1")]})
    report._keep_best(best, {"benchmarks": [_row("c", 5.0, "c1")]})
    assert list(best) == ["a", "b", "c"]  # the order rows first ran in
    assert best["a"]["extra_info"] == {"tag": "a1", "round_medians": [3.0, 2.0]}
    assert best["b"]["extra_info"] == {"tag": "b0", "round_medians": [1.0, 4.0]}
    assert best["b"]["stats"]["min"] == 0.5  # the kept round's own statistics
    assert best["c"]["extra_info"]["round_medians"] == [5.0]


def test_bench_threads_context_restores_the_count_before_it(monkeypatch):
    """A ``threads(1)`` nested in a row's ``threads(n)`` gives the row back its ``n`` (it gave
    back ``THREADS``, 2, so the 1-thread API rows ran on 2 threads)."""
    from nanotorch import threads as nt_threads
    spec = importlib.util.spec_from_file_location(
        "bench_conftest", Path(__file__).resolve().parent.parent / "benchmarks" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    monkeypatch.setattr(conftest.BLAS, "set", lambda n: None)  # leave NumPy's BLAS alone
    before = nt_threads.get_num_threads()
    try:
        with conftest.threads(1):
            with conftest.threads(2):
                assert nt_threads.get_num_threads() == 2
            assert nt_threads.get_num_threads() == 1
    finally:
        nt_threads.set_num_threads(before)
