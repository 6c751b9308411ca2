"""vec_math.h's lane-wise ``e^x`` and ``log`` (the cross-entropy, GELU and optimizer kernels'
math) against libm, compiled at this host's baseline vector width and as plain scalars
(``-DNT_VL=1``, the build of compilers without GCC's vector types): ``tests/c/check_vec_math.c``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CC = shutil.which("cc") or shutil.which("gcc")


def _build_flags() -> list[str]:
    out = subprocess.run([sys.executable, str(ROOT / "build_kernels.py"), "--print-flags"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return out[0].split()


@pytest.mark.skipif(CC is None, reason="no C compiler")
@pytest.mark.parametrize("width", [[], ["-DNT_VL=1"]], ids=["baseline", "scalar"])
def test_vec_math_matches_libm(width, tmp_path):
    exe = tmp_path / "check_vec_math"
    subprocess.run([CC, *_build_flags(), "-Wall", "-Wextra", "-Werror", *width,
                    "-I", str(ROOT / "kernels"), str(ROOT / "tests/c/check_vec_math.c"),
                    "-o", str(exe), "-lm"], check=True, capture_output=True, text=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.rstrip().endswith(" 0 failed"), result.stdout[-2000:]
