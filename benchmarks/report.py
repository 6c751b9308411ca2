"""Run the benchmark suite (or read its JSON) and print a markdown report for the README.

    PYTHONPATH=. python benchmarks/report.py                  # run everything (~10 min), print
    PYTHONPATH=. python benchmarks/report.py --json run.json  # a `--benchmark-json` file instead
    PYTHONPATH=. python benchmarks/report.py --save-json run.json --out report.md -- -k epoch

Tables: the targets (each a ratio of medians measured in one run), C kernels against their
NumPy twins (GFLOP/s for GEMM, also as a percent of one core's float32 FMA peak measured at
the start of the run), nanotorch against PyTorch on whole training steps and epochs, and
peak memory of one epoch (``benchmarks/memory.py``, fresh subprocesses). The header names
the CPU, the GEMM's instruction set, the cache sizes it was blocked for and that peak.
The suite runs three times, once per system (NumPy, C, PyTorch: ``NANOTORCH_BENCH_ONLY``),
each in its own process, one after the other, so no library's idle spinning threads take a
core from another's timing; ``--one-process`` runs everything in one process instead.
``--rounds R`` repeats that R times file by file and keeps each row's best round (the
machine this was tuned on is a VM whose speed drifts by up to ~30% from minute to minute).
Arguments after ``--`` go to pytest.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSES = ("numpy", "c", "torch")  # NANOTORCH_BENCH_ONLY of each process
SEED_SHAPES = ("[64,128]", "logits[64,10]", "logits[512,10]", "[64,16,28,28]", "[64,32,14,14]")
SYSTEMS = ("nanotorch-numpy", "nanotorch-c", "torch", "torch-prebatched")


# ------------------------------------------------------------------ the targets
def kernel_target(info: dict, peak: float | None) -> tuple[str, str, float] | None:
    """``(description, measure, threshold)`` for a kernel row; measure is ``speedup`` (NumPy
    time / C time, at least threshold) or ``gflops`` (C's GFLOP/s, at least threshold)."""
    name, shape, t = info["kernel"], info["shape"], info["threads"]
    if name.startswith("gemm") and "1024^3" in shape:
        if t == 1:
            if not peak:
                return None
            return (f"GEMM 1024^3 C, 1 thread: >= 85% of the measured peak ({0.85 * peak:.0f} of "
                    f"{peak:.0f} GFLOP/s)", "gflops", 0.85 * peak)
        return f"GEMM 1024^3 C, {t} threads: >= 1.0x NumPy/OpenBLAS", "speedup", 1.0
    if name.startswith("api"):
        if not info["workload"]:
            return None
        return (f"{name[4:]} {shape} through the API, C, {t} thread(s): >= 1.0x plain NumPy",
                "speedup", 1.0)
    if name.startswith("gemm"):
        return (f"GEMM {name[5:]} {shape} C, {t} thread(s): >= 1.1x NumPy/OpenBLAS", "speedup",
                1.1)
    if name.startswith("linear") and "512,1024" in shape:
        return f"{name} {shape} C: >= 1.0x NumPy", "speedup", 1.0
    seed = (name.split()[0] in ("relu", "batchnorm1d", "batchnorm2d", "softmax-CE")
            and info["workload"] and shape.split(" ")[0] in SEED_SHAPES)
    limit = 3.0 if seed else 1.0  # issue 8: no C kernel slower than its NumPy twin
    return f"{name} {shape} C: >= {limit:g}x NumPy", "speedup", limit


def training_targets(info: dict) -> list[tuple[str, str, float]]:
    """``(description, system, max time ratio to PyTorch)`` for a training row (the seed
    MLP's C row against PyTorch's fastest plain loop, the pre-batched one)."""
    if info["kind"] != "epoch":
        return []
    w = info["workload"]
    if w.startswith("seed-mlp"):
        opt = info["optimizer"].upper() if info["optimizer"] == "sgd" else "Adam"
        return [(f"seed MLP epoch ({opt}), C backend: <= 0.5x PyTorch pre-batched", "nanotorch-c",
                 0.5),
                (f"seed MLP epoch ({opt}), NumPy backend: <= 1.0x PyTorch's time", "nanotorch-numpy", 1.0)]
    if w.startswith("wide-mlp"):
        return [("wide MLP (batch 512) epoch, C backend: <= 1.2x PyTorch's time", "nanotorch-c", 1.2)]
    return []


COMPILED_TARGETS = {  # issue 12: (kind, workload prefix) -> [(description, backend, max ratio to torch)]
    ("compiled-epoch", "seed-mlp"): [("seed MLP epoch ({opt}), compiled, C backend: <= 0.35x PyTorch's "
                                      "pre-batched loop", "c-compiled", 0.35),
                                     ("seed MLP epoch ({opt}), compiled, NumPy backend: <= 0.7x PyTorch's "
                                      "pre-batched loop", "numpy-compiled", 0.7)],
    ("compiled-step", "cnn"): [("CNN step ({opt}), compiled, C backend: <= 0.6x PyTorch's",
                                "c-compiled", 0.6)],
}


# -------------------------------------------------------------------- formatting
def fmt_time(seconds: float | None) -> str:
    """A duration with a readable unit."""
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}x"


def status(ok: bool | None, short: str) -> str:
    """A table cell: ``met (short)``, or ``target short MISSED`` in bold."""
    if ok is None:
        return f"target {short}: not measured"
    return f"met ({short})" if ok else f"**target {short} MISSED**"


def note(ok: bool | None, ok_best: bool | None) -> str:
    """A warning when the best run and the median disagree on a target (noise)."""
    if ok is False and ok_best:
        return " (the best run meets it: noise?)"
    if ok and ok_best is False:
        return " (the best run misses it)"
    return ""


def others(rows: list[dict]) -> str:
    """The most cores other processes kept busy during any of ``rows``."""
    loads = [r["extra_info"]["others_load"] for r in rows if "others_load" in r["extra_info"]]
    return f"{max(loads):.2f}" if loads else "n/a"


def matched_cell(rows: list[dict]) -> str:
    """``yes`` when every row matched the NumPy backend, else which did not."""
    bad = [r["extra_info"]["backend"] for r in rows if not r["extra_info"].get("matched")]
    return "yes" if not bad else "**NO: " + ", ".join(bad) + "**"


# ------------------------------------------------------------------- the tables
def _grouped(benchmarks: list[dict], kind: str, key) -> dict:
    """Rows of ``kind`` grouped by ``key(extra_info)``, in the order they ran."""
    groups: dict = {}
    for b in benchmarks:
        info = b.get("extra_info", {})
        if info.get("kind") == kind:
            groups.setdefault(key(info), []).append(b)
    return groups


def _stat(rows: list[dict], backend: str, stat: str = "median") -> float | None:
    """The ``stat`` (median, min ...) of the row of ``backend``, or None when it did not run."""
    for r in rows:
        if r["extra_info"]["backend"] == backend:
            return r["stats"][stat]
    return None


def torch_prebatched(benchmarks: list[dict]) -> dict:
    """``{workload: {stat: seconds}}``: PyTorch's fastest plain loop, the pre-made-batches
    epoch, as the faster of the two rows that time it in one run (the epoch table's
    pre-batched row and the compiled table's PyTorch row run the same loop; PyTorch's own
    2-thread timings vary by up to ~30% between them)."""
    peers: dict = {}
    for b in benchmarks:
        info = b.get("extra_info", {})
        if (info.get("kind"), info.get("backend")) in (("epoch", "torch-prebatched"),
                                                      ("compiled-epoch", "torch")):
            peer = peers.setdefault(info["workload"], {})
            for stat in ("median", "min"):
                peer[stat] = min(peer.get(stat, float("inf")), b["stats"][stat])
    return peers


def kernel_section(benchmarks: list[dict], results: list, peak: float | None) -> list[str]:
    """C kernels against their NumPy twins: one line per kernel, shape and thread count;
    GFLOP/s also as a percent of ``peak`` (one core's, times the row's threads)."""
    groups = _grouped(benchmarks, "kernel", lambda i: (i["kernel"], i["shape"], i["threads"]))
    if not groups:
        return []
    lines = ["### Kernels: C backend against its NumPy twin (median per call)", "",
             "| kernel | shape | threads | NumPy | C | C speedup | GFLOP/s NumPy / C (% of peak) "
             "| matched | others "
             "| target |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for (kernel, shape, nthreads), rows in groups.items():
        info = rows[0]["extra_info"]
        t_np, t_c = _stat(rows, "numpy"), _stat(rows, "c")
        speedup = t_np / t_c if t_np and t_c else None
        gflops = ""
        if info.get("flops"):
            top = peak * nthreads if peak else None
            gf = [(f"{info['flops'] / t / 1e9:.1f}" + (f" ({info['flops'] / t / 1e9 / top:.0%})"
                                                       if top else "")) if t else "n/a"
                  for t in (t_np, t_c)]
            gflops = " / ".join(gf)
        target = kernel_target(info, peak)
        if target and target[1] == "speedup" and not t_np:
            target = None  # no NumPy twin ran (conv): nothing to compare with
        cell = ""
        if target:
            description, measure, threshold = target
            shown, oks = [], []
            for stat in ("median", "min"):
                a, b = _stat(rows, "numpy", stat), _stat(rows, "c", stat)
                value = (a / b if a and b else None) if measure == "speedup" else (
                    info["flops"] / b / 1e9 if b else None)
                shown.append("n/a" if value is None else fmt_ratio(value) if measure == "speedup"
                             else f"{value:.1f} GFLOP/s")
                oks.append(None if value is None else value >= threshold)
            short = f">= {threshold:g}x" if measure == "speedup" else f">= {threshold:.0f} GFLOP/s"
            cell = status(oks[0], short)
            results.append((description, *shown, *oks, others(rows)))
        c_rows = [r for r in rows if r["extra_info"]["backend"] == "c"]
        overhead = c_rows[0]["extra_info"].get("overhead_us") if c_rows else None
        c_time = fmt_time(t_c) + (f" (Python {overhead:.0f} µs)" if overhead is not None else "")
        lines.append(f"| {kernel} | {shape} | {nthreads} | {fmt_time(t_np)} | {c_time} | "
                     f"{fmt_ratio(speedup)} | {gflops} | {matched_cell(rows)} | {others(rows)} | {cell} |")
    return lines + [""]


def training_section(benchmarks: list[dict], results: list) -> list[str]:
    """Whole steps and epochs: each nanotorch backend and PyTorch, ratios to PyTorch (the
    pre-batched targets against ``torch_prebatched``)."""
    lines, peers = [], torch_prebatched(benchmarks)
    for kind, title in (("step", "one training step"), ("epoch", "one epoch (63,000 samples, shuffled)")):
        groups = _grouped(benchmarks, kind, lambda i: i["workload"])
        if not groups:
            continue
        lines += [f"### Training, {title}: nanotorch against PyTorch (median)", "",
                  "| workload | NumPy backend | C backend | PyTorch | PyTorch pre-batched | NumPy / PyTorch "
                  "| C / PyTorch | matched | others | target |",
                  "|---|---:|---:|---:|---:|---:|---:|---|---:|---|"]
        for workload, rows in groups.items():
            t, ratio = {}, {}
            for stat in ("median", "min"):
                t[stat] = {s: _stat(rows, s.split("-", 1)[1] if s.startswith("nanotorch") else s, stat)
                           for s in SYSTEMS}
                ratio[stat] = {s: t[stat][s] / t[stat]["torch"] if t[stat][s] and t[stat]["torch"] else None
                               for s in ("nanotorch-numpy", "nanotorch-c")}
                pre = peers.get(workload, {}).get(stat)
                ratio[stat]["prebatched"] = (t[stat]["nanotorch-c"] / pre
                                             if pre and t[stat]["nanotorch-c"] else None)
            t, cells = t["median"], []
            for description, system, limit in training_targets(rows[0]["extra_info"]):
                key = "prebatched" if "pre-batched" in description else system
                value, best = ratio["median"][key], ratio["min"][key]
                ok = None if value is None else value <= limit
                ok_best = None if best is None else best <= limit
                cells.append(status(ok, f"{system.split('-')[1]} <= {limit:g}x"))
                results.append((description, fmt_ratio(value), fmt_ratio(best), ok, ok_best, others(rows)))
            ratio = ratio["median"]
            lines.append(f"| {workload} | {fmt_time(t['nanotorch-numpy'])} | {fmt_time(t['nanotorch-c'])} | "
                         f"{fmt_time(t['torch'])} | {fmt_time(t['torch-prebatched'])} | "
                         f"{fmt_ratio(ratio['nanotorch-numpy'])} | {fmt_ratio(ratio['nanotorch-c'])} | "
                         f"{matched_cell(rows)} | {others(rows)} | {'<br>'.join(cells)} |")
        lines.append("")
    return lines


def compiled_section(benchmarks: list[dict], results: list) -> list[str]:
    """nanotorch.compile: compiled rows against eager C and PyTorch on the same pre-made
    batches (epoch ratios against ``torch_prebatched``), and the seed MLP's replay overhead
    (step time minus its kernels' time)."""
    lines, peers = [], torch_prebatched(benchmarks)
    for kind, title in (("compiled-epoch", "one epoch, pre-made batches"), ("compiled-step", "one step")):
        groups = _grouped(benchmarks, kind, lambda i: i["workload"])
        if not groups:
            continue
        peer_text = ("Ratios are to PyTorch's fastest pre-batched epoch of the run (this row or the "
                     "epoch table's pre-batched row, whichever was faster)." if kind == "compiled-epoch"
                     else "")
        lines += [f"### nanotorch.compile, {title} (median)", "", *([peer_text, ""] if peer_text else []),
                  "| workload | NumPy compiled | C compiled | C eager | PyTorch | NumPy compiled / PyTorch "
                  "| C compiled / PyTorch | matched | others | target |",
                  "|---|---:|---:|---:|---:|---:|---:|---|---:|---|"]
        for workload, rows in groups.items():
            info = rows[0]["extra_info"]
            t = {b: _stat(rows, b) for b in ("numpy-compiled", "c-compiled", "c", "torch")}
            peer = peers.get(workload, {}) if kind == "compiled-epoch" else {
                stat: _stat(rows, "torch", stat) for stat in ("median", "min")}
            ratio = {b: t[b] / peer["median"] if t[b] and peer.get("median") else None for b in t}
            cells = []
            for (k, prefix), targets in COMPILED_TARGETS.items():
                if k != kind or not workload.startswith(prefix):
                    continue
                for description, backend, limit in targets:
                    best = [_stat(rows, backend, "min"), peer.get("min")]
                    best_ratio = best[0] / best[1] if all(best) else None
                    value = ratio[backend]
                    ok = None if value is None else value <= limit
                    cells.append(status(ok, f"{backend} <= {limit:g}x"))
                    results.append((description.format(opt=info["optimizer"]), fmt_ratio(value),
                                    fmt_ratio(best_ratio), ok,
                                    None if best_ratio is None else best_ratio <= limit, others(rows)))
            times = " | ".join(fmt_time(t[b]) for b in ("numpy-compiled", "c-compiled", "c", "torch"))
            lines.append(f"| {workload} | {times} | {fmt_ratio(ratio['numpy-compiled'])} | "
                         f"{fmt_ratio(ratio['c-compiled'])} | {matched_cell(rows)} | {others(rows)} | "
                         f"{'<br>'.join(cells)} |")
        lines.append("")
    for rows in _grouped(benchmarks, "compiled-overhead", lambda i: i["workload"]).values():
        info = rows[0]["extra_info"]
        opt = info["optimizer"].upper() if info["optimizer"] == "sgd" else "Adam"
        lines += [f"### nanotorch.compile, replay overhead (seed MLP, {opt}, C backend)", "",
                  "Best of 7 loops over 200 batches each; overhead = step minus its kernels alone. "
                  "Wall time is what a step costs (the targets use it: the run waits for a quiet "
                  "machine); CPU time also counts the pool worker's spin after parallel kernels. "
                  f"Default form: {info.get('form', 'loop')}.", "",
                  "| form | clock | step | kernels alone | overhead | step / kernels "
                  "| replay's Python alone |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for form in ("walker", "loop"):
            for clock, key in (("wall", "_wall_seconds"), ("CPU", "_seconds")):
                step, kernels = info.get(f"{form}_step{key}"), info.get(f"{form}_kernel{key}")
                if step is None or kernels is None:
                    continue
                glue = fmt_time(info.get(f"{form}_glue_seconds")) if clock == "CPU" else ""
                lines.append(f"| {form} | {clock} | {fmt_time(step)} | {fmt_time(kernels)} | "
                             f"{fmt_time(step - kernels)} | {step / kernels:.2f}x | {glue} |")
        lines.append("")
        step = info.get("step_wall_seconds", info["step_seconds"])
        kernels = info.get("kernel_wall_seconds", info["kernel_seconds"])
        overhead, ratio = step - kernels, step / kernels
        results.append((f"replay overhead per step (seed MLP, {opt}, wall time): <= 20 us",
                        fmt_time(overhead), "", overhead <= 20e-6, None, others(rows)))
        results.append((f"compiled step ({opt}) <= 1.3x the sum of its kernels' times", f"{ratio:.2f}x",
                        "", ratio <= 1.3, None, others(rows)))
    return lines


def header(data: dict, command: str) -> list[str]:
    """Date, machine, library versions and configuration, command."""
    m = data.get("machine_info", {})
    nt_info = m.get("nanotorch", {})
    when = data.get("datetime") or ""
    try:
        when = datetime.datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        pass
    blas = nt_info.get("blas", {})
    blas_text = blas.get("numpy_blas") or blas.get("via", "unknown")
    if blas.get("corename"):
        blas_text += f", core type {blas['corename']}, {blas.get('num_threads')} threads"
    if blas.get("libraries"):
        blas_text += ", " + "; ".join(f"{x.get('internal_api')} {x.get('version')} "
                                      f"{x.get('architecture')} {x.get('num_threads')} threads"
                                      for x in blas["libraries"])
    env = blas.get("env") or {}
    env_text = ", ".join(f"{k}={v}" for k, v in env.items()) if env else "no OPENBLAS_*/OMP_*/MKL_* set"
    blas_text += f"; env: {env_text}"
    backend = nt_info.get("backend_info", {})
    gemm = nt_info.get("gemm") or {}
    tuning = gemm.get("tuning") or {}

    def kib(key: str) -> str:
        b = tuning.get(key) or 0
        return "?" if not b else f"{b // 1024} KiB" if b < 2**20 else f"{b // 2**20} MiB"
    c_text = (f"`{backend.get('cflags')}`; GEMM instruction set **{gemm.get('isa')}** "
              f"(tile {tuning.get('mr')}x{tuning.get('nr')}, KC {tuning.get('kc')}, MC "
              f"{tuning.get('mc')}, NC {tuning.get('nc')}, from caches L1d {kib('l1d_bytes')}, "
              f"L2 {kib('l2_bytes')}, L3 {kib('l3_bytes')} read at run time); other kernels "
              f"{backend.get('simd')}; the library's pthread pool"
              if backend.get("c_available") else f"not available ({backend.get('c_error')})")
    peak = gemm.get("peak_gflops")
    peak_text = (f"{peak:.1f} GFLOP/s per core, float32, measured at the start of the run "
                 f"(independent {gemm.get('isa')} multiply-adds)" if peak else "not measured")
    torch = nt_info.get("torch")
    loads = [b["extra_info"]["others_load"] for b in data.get("benchmarks", [])
             if "others_load" in b.get("extra_info", {})]
    torch_text = f"{torch['version']}, {torch['threads']} threads" if torch else "not installed"
    data_source = next((b["extra_info"]["data"] for b in data.get("benchmarks", [])
                        if "data" in b.get("extra_info", {})), "n/a")
    lines = [
        f"## NanoTorch benchmarks ({when})", "",
        f"- Machine: {nt_info.get('cpu_model', 'unknown')}, {nt_info.get('cpu_count')} cores "
        f"({nt_info.get('cpus_usable')} usable), {' '.join(nt_info.get('cpu_flags', []))}; "
        f"{m.get('system', '')} {m.get('release', '')}",
        f"- Python {m.get('python_version')}, NumPy {nt_info.get('numpy')} (BLAS: {blas_text})",
        f"- PyTorch: {torch_text}",
        f"- nanotorch C backend: {c_text}",
        f"- FMA peak: {peak_text}",
        f"- Processes: {data.get('separation', 'all systems in one process')}",
        f"- Threads: {nt_info.get('bench_threads')} for nanotorch, NumPy's BLAS and PyTorch alike "
        "(GEMM rows also at 1)",
        f"- Data: {data_source}",
        f"- Command: `{command}`",
    ]
    if loads:
        lines.append(f"- Other processes kept {min(loads):.2f} to {max(loads):.2f} cores busy during the "
                     f"rows (column \"others\" below: a shared machine makes 2-thread timings noisy)")
    return lines + [""]


def memory_section(results: list[dict] | None) -> list[str]:
    if not results:
        return []
    return ["### Memory: peak RSS of one epoch of the seed MLP (SGD), fresh process each", "",
            _memory().table(results), ""]


def _memory():
    """``benchmarks/memory.py`` as a module."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import memory
    return memory


def render(data: dict, command: str, memory_results: list[dict] | None) -> str:
    """The whole markdown report."""
    benchmarks = data.get("benchmarks", [])
    results: list = []
    peak = (data.get("machine_info", {}).get("nanotorch", {}).get("gemm") or {}).get("peak_gflops")
    body = (kernel_section(benchmarks, results, peak) + training_section(benchmarks, results)
            + compiled_section(benchmarks, results))
    summary = ["### Targets (status from the medians; all ratios measured in one run)", "",
               "| target | median | best (min) | status | others |", "|---|---:|---:|---|---:|"]
    verdict = {True: "met", False: "**MISSED**", None: "not measured"}
    summary += [f"| {d} | {median} | {best} | {verdict[ok]}{note(ok, ok_best)} | {load} |"
                for d, median, best, ok, ok_best, load in results]
    return "\n".join(header(data, command) + summary + [""] + body + memory_section(memory_results))


# ----------------------------------------------------------------------------- main
def _busy_cores(seconds: float) -> float | None:
    """Cores the whole machine kept busy over the next ``seconds`` (from /proc/stat)."""
    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(fields), fields[3] + fields[4]
    try:
        (t0, idle0), _ = sample(), time.sleep(seconds)
        t1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (1 - (idle1 - idle0) / max(t1 - t0, 1)) * (os.cpu_count() or 1)


def wait_until_quiet(minutes: float, below: float = 0.25, samples: int = 5) -> None:
    """Wait (at most ``minutes``) until other processes use under ``below`` cores for
    ``samples`` 2-second samples in a row: 2-thread timings collapse when a core is taken."""
    deadline = time.monotonic() + 60 * minutes
    quiet = 0
    while time.monotonic() < deadline and quiet < samples:
        busy = _busy_cores(2.0)
        if busy is None:
            return
        quiet = quiet + 1 if busy < below else 0
    print("machine quiet" if quiet >= samples else "still busy: running anyway", file=sys.stderr)


def run_suite(json_path: Path, pytest_args: list[str], only: str = "",
              target: str = "benchmarks") -> str:
    """Run ``pytest <target> --benchmark-only`` writing ``json_path`` (only ``only``'s rows
    when given); return the command."""
    cmd = [sys.executable, "-m", "pytest", target, "--benchmark-only",
           f"--benchmark-json={json_path}", "-q", *pytest_args]
    path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)),
               NANOTORCH_BENCH_ONLY=only)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=sys.stderr)
    if proc.returncode != 0 and not json_path.exists():
        sys.exit(f"the benchmark run failed (exit status {proc.returncode})")
    prefix = f"NANOTORCH_BENCH_ONLY={only} " if only else ""
    return prefix + " ".join(["python", *cmd[1:]]).replace(str(json_path), json_path.name)


def _keep_best(best: dict, data: dict) -> None:
    """Merge one process's rows into ``best`` (test name -> row): a row seen in an earlier
    round is replaced when this round's median is lower; every round's median is kept in
    ``extra_info["round_medians"]``."""
    for row in data["benchmarks"]:
        seen = best.get(row["fullname"])
        medians = (seen["extra_info"]["round_medians"] if seen else []) + [row["stats"]["median"]]
        if seen is None or row["stats"]["median"] < seen["stats"]["median"]:
            best[row["fullname"]] = row
        best[row["fullname"]]["extra_info"]["round_medians"] = medians


def run_passes(json_path: Path, pytest_args: list[str], rounds: int = 1) -> tuple[dict, str]:
    """The suite once per system of ``PASSES``, each in its own process; their rows merged
    into one result (machine info from a C pass, which measured the peak).

    With ``rounds`` > 1 the whole sequence runs ``rounds`` times, file by file (for each
    benchmark file: NumPy, C, PyTorch), and each row keeps its round with the lowest median:
    every system gets the same number of tries, close together in time, so a VM whose speed
    drifts from minute to minute moves all of a row's systems alike. The peak kept is the
    highest measured (the stricter GEMM target)."""
    files = sorted(ROOT.glob("benchmarks/test_bench_*.py")) if rounds > 1 else [ROOT / "benchmarks"]
    best: dict = {}
    machine, torch, commands, when = None, None, [], None
    for r in range(rounds):
        for target in files:
            for only in PASSES:
                part = json_path.with_name(f"{json_path.stem}-{r}-{target.stem}-{only}.json")
                command = run_suite(part, pytest_args, only, str(target.relative_to(ROOT)))
                if r == 0:
                    commands.append(command)
                if not part.exists() or not part.read_text().strip():
                    continue  # -k selected none of this system's rows: nothing written
                data = json.loads(part.read_text())
                when = when or data.get("datetime")
                _keep_best(best, data)
                info = data["machine_info"]
                torch = torch or info["nanotorch"].get("torch")  # imported by its own pass only
                if machine is None or only == "c" and _peak(info) >= _peak(machine):
                    machine = info
    merged = {"machine_info": machine or {}, "benchmarks": list(best.values()), "datetime": when}
    if torch:
        merged["machine_info"].setdefault("nanotorch", {})["torch"] = torch
    order = ", then ".join(PASSES)
    merged["separation"] = (f"one process per system ({order}), one after the other" if rounds == 1
                            else f"{rounds} rounds, each running every benchmark file once per "
                            f"system ({order}), one process each; each row's round with the lowest "
                            f"median is kept (all rounds' medians in the JSON)")
    json_path.write_text(json.dumps(merged))
    suffix = f" (each row: best of {rounds} rounds of these)" if rounds > 1 else ""
    return merged, "; ".join(commands) + suffix


def _peak(machine_info: dict) -> float:
    """The FMA peak a pass measured (0 when it did not)."""
    return (machine_info.get("nanotorch", {}).get("gemm") or {}).get("peak_gflops") or 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="read this --benchmark-json file, run nothing")
    parser.add_argument("--save-json", type=Path, help="keep the suite's JSON here")
    parser.add_argument("--memory-json", type=Path, help="read memory results (memory.py --json) from here")
    parser.add_argument("--no-memory", action="store_true", help="leave out the memory measurement")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="MINUTES",
                        help="first wait up to MINUTES for other processes to leave the CPUs idle")
    parser.add_argument("--one-process", action="store_true",
                        help="every system in one process (faster; unfair to 2-thread rows)")
    parser.add_argument("--rounds", type=int, default=1, metavar="R",
                        help="run every file's passes R times and keep each row's best round "
                             "(a VM whose speed drifts)")
    parser.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    args = parser.parse_args(argv)

    if args.json:
        data = json.loads(args.json.read_text())
        command = data.get("machine_info", {}).get("nanotorch", {}).get("command", "unknown")
    else:
        if args.wait_quiet:
            wait_until_quiet(args.wait_quiet)
        with tempfile.TemporaryDirectory() as tmp:
            path = args.save_json or Path(tmp) / "benchmarks.json"
            if args.one_process:
                command = run_suite(path.resolve(), args.pytest_args)
                data = json.loads(path.read_text())
            else:
                data, command = run_passes(path.resolve(), args.pytest_args, args.rounds)

    memory_results = None
    if args.memory_json:
        memory_results = json.loads(args.memory_json.read_text())
    elif not args.no_memory:
        memory_results = _memory().measure()

    text = render(data, command, memory_results)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
