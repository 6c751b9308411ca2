"""What a newcomer reads while setting up: ``python -m nanotorch`` (--help, --version, Python
and CPU lines), why the C kernels are missing and how to get them, ``build_kernels.py``
without a compiler, and a clone's folder hiding the package.

(``scripts/check_no_compiler.sh`` checks the same messages after a real ``pip install``.)
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nanotorch import backend

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env}, check=False)


def test_report_has_python_cpu_and_backend_lines():
    result = run("-m", "nanotorch")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("NanoTorch 0.1.0 (Python ")
    heads = [line.split(":")[0] for line in lines]
    assert {"Python", "CPU", "backend", "C kernels", "NumPy"} <= set(heads)
    cpu = lines[heads.index("CPU")]
    assert f"{os.cpu_count()} logical cores" in cpu


@pytest.mark.parametrize("name", ["numpy", "c"])
def test_report_says_where_ops_run(name):
    if name == "c" and not backend.info()["c_available"]:
        pytest.skip("C kernels not built")
    result = run("-m", "nanotorch", NANOTORCH_BACKEND=name)
    lines = result.stdout.splitlines()
    dispatch = next(line for line in lines if line.startswith("dispatch:"))
    assert "LinearFn" in dispatch and "Conv2dFn" in dispatch and "MulFn" not in dispatch
    in_c = lines[lines.index(dispatch) + 1]
    assert ("linear_forward" in in_c) == (name == "c") and ("none" in in_c) == (name == "numpy")
    rule = [line for line in lines if line.strip().startswith("speed rule:")]
    assert len(rule) == (name == "c")
    if name == "c":  # the constant, as the report writes it
        from nanotorch.backend import c_backend
        assert f"{c_backend.SMALL_LINEAR_MACS:,} multiply-adds" in rule[0]


def test_version_and_help():
    version = run("-m", "nanotorch", "--version")
    assert version.returncode == 0 and version.stdout.startswith("NanoTorch 0.1.0 (Python 3.")
    assert len(version.stdout.splitlines()) == 1
    help_ = run("-m", "nanotorch", "--help")
    assert help_.returncode == 0 and "usage: python -m nanotorch" in help_.stdout
    assert "--version" in help_.stdout


def test_missing_kernels_reason_quotes_the_failed_build(tmp_path, monkeypatch):
    note = tmp_path / "_kernels_not_built.txt"
    monkeypatch.setattr(backend, "NOT_BUILT", note)
    assert backend.not_built_reason() == "not built: there is no nanotorch/_kernels*.so"
    note.write_text("The C kernels were not built: no C compiler: 'cc' was not found.\n\nTo get them: ...\n")
    assert backend.not_built_reason() == f"not built: no C compiler: 'cc' was not found; details in {note}"


def test_build_kernels_without_a_compiler_ends_with_one_clear_line(tmp_path):
    result = run("build_kernels.py", "--dest", str(tmp_path), CC="/bin/false")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("build_kernels: the C kernels were NOT built: the C compiler `/bin/false` "
                           "failed (exit status 1) and printed nothing. NanoTorch will use its NumPy")
    note = (tmp_path / "_kernels_not_built.txt").read_text()
    assert note.startswith("The C kernels were not built: the C compiler `/bin/false` failed")
    assert "To get them: install a C compiler" in note and "python build_kernels.py" in note
    assert not list(tmp_path.glob("_kernels*.so"))


def test_build_kernels_names_a_missing_compiler(tmp_path):
    result = run("build_kernels.py", "--dest", str(tmp_path), CC=str(tmp_path / "no-such-cc"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"no C compiler: '{tmp_path / 'no-such-cc'}' was not found" in result.stderr.splitlines()[-1]


def test_build_kernels_prints_its_flags_and_builds_nothing(tmp_path):
    """``--print-flags``: what scripts/check_kernels_aarch64.sh compiles with, the build's own."""
    spec = importlib.util.spec_from_file_location("build_kernels", ROOT / "build_kernels.py")
    build_kernels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_kernels)  # by path: pytest may run from another folder

    result = run("build_kernels.py", "--print-flags", "--dest", str(tmp_path))
    assert result.returncode == 0, result.stderr
    cflags, ldflags = build_kernels.build_flags()
    assert result.stdout.splitlines() == [" ".join([build_kernels.STD_FLAG, *cflags]),
                                          " ".join([*ldflags, "-lm"])]
    assert not list(tmp_path.iterdir())
    sanitized = run("build_kernels.py", "--print-flags", "--sanitize").stdout.splitlines()
    assert "-fsanitize=address,undefined" in sanitized[0].split()
    assert "-fsanitize=address,undefined" in sanitized[1].split()


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs symlinks")
def test_a_clone_folder_hiding_the_package_is_named(tmp_path):
    (tmp_path / "nanotorch").symlink_to(ROOT, target_is_directory=True)
    result = run("-m", "nanotorch", cwd=tmp_path, PYTHONPATH="")
    assert result.returncode == 1
    assert "hides the nanotorch package inside it, because you are in its parent folder" in result.stderr
    assert "Traceback" not in result.stderr
