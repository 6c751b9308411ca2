"""Build NanoTorch's C kernels with cffi; ``python build_kernels.py`` rebuilds them in place.

cffi's out-of-line API mode: the declarations between the ``cffi-cdef`` markers of
``kernels/nanotorch_kernels.h`` are the ``cdef``, ``kernels/*.c`` are compiled into the
extension module ``nanotorch._kernels`` (``nanotorch/_kernels.<abi>.so``). ``setup.py``
uses ``ffibuilder`` (``cffi_modules``) so that ``pip install`` builds the same module. The
module's own generated source also gets the plan walker's thunks (``plan_thunks_source``:
one per kernel, written from the same declarations; see kernels/plan.c).

Flags: ``-O3 -ffp-contract=fast -fno-math-errno`` (FMA contraction; sqrtf/expf without
errno so loops vectorize; no -ffast-math, whose startup code would set FTZ for the whole
process) and ``-pthread`` (the kernels' thread pool, ``kernels/threads.c``). No
``-march=native``: the module must run on any CPU of its architecture (a wheel, a shared
home directory, a VM that moves), so it is built for the architecture's baseline and the
GEMM, the one kernel bound by arithmetic, is compiled once per instruction set in
``gemm_<isa>.c`` and picked at run time (``kernels/gemm.c``). The flags are
compiled into the module (``nt_build_info``), so ``python -m nanotorch`` can report them.

Options (in-place builds only): ``--sanitize`` builds with AddressSanitizer and
UndefinedBehaviorSanitizer, ``--dest DIR`` puts the module in ``DIR`` instead of
``nanotorch/``; ``--print-flags`` prints the compile flags, then the link flags, one line
each, and builds nothing (``scripts/check_kernels_aarch64.sh`` compiles the kernels with
them for another architecture).

When the build fails (here or in ``pip install``), the reason (the compiler's own error
when it can be had) and how to get the kernels are written to ``_kernels_not_built.txt``
beside where the module would go; ``nanotorch.backend.info()`` and ``python -m nanotorch``
quote it. A successful build deletes it.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from cffi import FFI, VerificationError

ROOT = Path(__file__).resolve().parent
KERNELS = "kernels"  # the C sources and the header, under ROOT
HEADER = "nanotorch_kernels.h"
CDEF_BEGIN, CDEF_END = "/* cffi-cdef-begin */", "/* cffi-cdef-end */"
MODULE = "nanotorch._kernels"
NOT_BUILT = "_kernels_not_built.txt"  # the same name as nanotorch.backend.NOT_BUILT
HOW_TO_BUILD = (
    "To get them: install a C compiler (Debian/Ubuntu: sudo apt install gcc; Fedora: sudo dnf "
    "install gcc; macOS: xcode-select --install), then run `python build_kernels.py` in the "
    "repository (or `pip install -e .` again). Until then NanoTorch runs on its NumPy backend."
)

STD_FLAG = "-std=gnu11"  # every kernel file: C11 with GCC's extensions (vector types)
BASE_FLAGS = ["-O3", "-ffp-contract=fast", "-fno-math-errno"]
LIBRARY = "m"  # the kernels link libm (expf, logf, sqrtf)
# NOTE: -fno-var-tracking: with it, GCC spent minutes on the debug info of the AVX-512 GEMM's
# unrolled micro-kernels under the sanitizers; line numbers in reports are kept.
SANITIZE_FLAGS = ["-O1", "-g", "-fno-var-tracking", "-fno-omit-frame-pointer",
                  "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]



def cdef_text() -> str:
    """The header's declarations between the markers: what cffi's ``cdef`` reads."""
    text = (ROOT / KERNELS / HEADER).read_text()
    start, end = text.index(CDEF_BEGIN) + len(CDEF_BEGIN), text.index(CDEF_END)
    region = text[start:end]
    if any(line.lstrip().startswith("#") for line in region.splitlines()):
        raise ValueError(f"{HEADER}: preprocessor lines between the cffi-cdef markers")
    return region


# A kernel argument's C type -> how its thunk reads it from an ``nt_plan_arg`` (kernels/plan.c)
_THUNK_READS = {"int64_t": "a[{k}].i", "int": "(int)a[{k}].i", "double": "a[{k}].d"}


def plan_thunks(cdef: str) -> list[tuple[str, list[str]]]:
    """``(kernel, [C type of each argument])`` for every ``int nt_..._f32(...)`` of ``cdef``
    whose arguments are pointers, ``int64_t``, ``int`` or ``double``: the kernels the plan
    walker can call (kernels/plan.c)."""
    text = re.sub(r"/\*.*?\*/", " ", cdef, flags=re.S)
    kernels = []
    for name, params in re.findall(r"\bint\s+(nt_\w+_f32)\s*\(([^;]*?)\)\s*;", text):
        types = [" ".join(re.sub(r"\w+\s*$", "", p).split()) for p in params.split(",")]
        if all("*" in c or c in _THUNK_READS for c in types):
            kernels.append((name, types))
    return kernels


def plan_thunks_source(cdef: str) -> str:
    """C source of the walker's thunks and their table ``nt_plan_thunks`` (compiled into the
    extension module's own source, so it is made at build time and never kept in git)."""
    kernels = plan_thunks(cdef)
    lines = []
    for i, (name, types) in enumerate(kernels):
        reads = [f"({c})a[{k}].p" if "*" in c else _THUNK_READS[c].format(k=k)
                 for k, c in enumerate(types)]
        lines.append(f"static int nt_thunk_{i}(const nt_plan_arg *a)\n"
                     f"{{\n    return {name}({', '.join(reads)});\n}}\n")
    table = "".join(f'    {{nt_thunk_{i}, {len(types)}, "{name}"}},\n'
                    for i, (name, types) in enumerate(kernels))
    return ("\n".join(lines)
            + f"\nstatic const nt_plan_thunk nt_plan_thunk_table[{len(kernels)}] = {{\n{table}}};\n\n"
            + "const nt_plan_thunk *nt_plan_thunks(int64_t *count)\n{\n"
            + f"    *count = {len(kernels)};\n    return nt_plan_thunk_table;\n}}\n")


def compiler() -> list[str]:
    """The C compiler command setuptools will use (``$CC`` wins, as in distutils)."""
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def diagnose() -> str:
    """Why the compiler cannot compile a kernel file: what it printed (last lines), or that it
    is missing; "" when it compiles (the failure was elsewhere: flags, linking)."""
    cmd = compiler()
    source = ROOT / KERNELS / "build_info.c"
    with tempfile.TemporaryDirectory(prefix="nanotorch-probe-") as tmp:
        try:
            result = subprocess.run([*cmd, STD_FLAG, "-I", str(ROOT / KERNELS), "-c", str(source),
                                     "-o", str(Path(tmp) / "probe.o")],
                                    capture_output=True, text=True, timeout=120, check=False)
        except FileNotFoundError:
            return f"no C compiler: {cmd[0]!r} was not found (set CC, or install gcc or clang)"
        except (OSError, subprocess.SubprocessError) as exc:
            return f"the C compiler {cmd[0]!r} could not run ({exc})"
    if result.returncode == 0:
        return ""
    said = (result.stderr or result.stdout).strip().splitlines()[-3:]
    return (f"the C compiler `{shlex.join(cmd)}` failed (exit status {result.returncode})"
            + (": " + " | ".join(said) if said else " and printed nothing"))


def record_failure(folder: Path, exc: BaseException) -> str:
    """Write why the build failed, and how to get the kernels, to ``folder/NOT_BUILT``;
    return the reason (one line)."""
    reason = diagnose() or " ".join(str(exc).split())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / NOT_BUILT).write_text(f"The C kernels were not built: {reason}\n\n{HOW_TO_BUILD}\n\n"
                                        f"The build's error: {type(exc).__name__}: {exc}\n")
    except OSError:
        pass  # a read-only tree: the reason is still printed
    return reason


def build_flags(sanitize: bool = False) -> tuple[list[str], list[str]]:
    """(compile flags, link flags) for this machine."""
    cflags = list(SANITIZE_FLAGS if sanitize else BASE_FLAGS)
    if sanitize:
        cflags += ["-ffp-contract=fast", "-fno-math-errno"]
    ldflags = ["-fsanitize=address,undefined"] if sanitize else []
    cflags.append("-pthread")
    ldflags.append("-pthread")
    return cflags, ldflags


def make_builder(cflags: list[str], ldflags: list[str], absolute: bool = False) -> FFI:
    """The cffi builder of ``nanotorch._kernels``. Its paths are relative to the project
    root, as setuptools requires, unless ``absolute`` (cffi's ``compile`` changes directory)."""
    base = ROOT if absolute else Path()
    sources = sorted(str(base / KERNELS / p.name) for p in (ROOT / KERNELS).glob("*.c"))
    ffi = FFI()
    cdef = cdef_text()
    ffi.cdef(cdef)
    ffi.set_source(MODULE, f'#include "{HEADER}"\n\n' + plan_thunks_source(cdef), sources=sources,
                   include_dirs=[str(base / KERNELS)],
                   define_macros=[("NT_BUILD_FLAGS", '"' + " ".join(cflags) + '"')],
                   extra_compile_args=[STD_FLAG, *cflags], extra_link_args=ldflags,
                   libraries=[LIBRARY], py_limited_api=True)  # one file name for every build
    return ffi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sanitize", action="store_true", help="build with ASan + UBSan")
    parser.add_argument("--dest", type=Path, default=ROOT / "nanotorch",
                        help="directory that receives the module (default: nanotorch/)")
    parser.add_argument("--print-flags", action="store_true",
                        help="print the compile flags, then the link flags (one line each), "
                             "and build nothing")
    args = parser.parse_args(argv)
    if args.print_flags:
        cflags, ldflags = build_flags(sanitize=args.sanitize)
        print(shlex.join([STD_FLAG, *cflags]))
        print(shlex.join([*ldflags, f"-l{LIBRARY}"]))
        return 0
    builder = make_builder(*(build_flags(sanitize=True) if args.sanitize else FLAGS),
                           absolute=True)
    folder = args.dest.resolve()
    with tempfile.TemporaryDirectory(prefix="nanotorch-build-") as tmp:
        try:
            built = Path(builder.compile(tmpdir=tmp, verbose=False))
        except (VerificationError, OSError) as exc:  # cffi wraps the compiler's and linker's errors
            reason = record_failure(folder, exc)
            print(f"build_kernels: the C kernels were NOT built: {reason.rstrip('.')}. NanoTorch will "
                  f"use its NumPy backend. How to fix it: {folder / NOT_BUILT}", file=sys.stderr)
            return 1
        dest = folder / built.name
        staged = dest.with_name(dest.name + ".tmp")
        shutil.copy2(built, staged)
        os.replace(staged, dest)  # atomic: running processes keep the old file
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:  # a stale build would shadow it
        other = dest.with_name("_kernels" + suffix)
        if other != dest and other.exists():
            other.unlink()
    (folder / NOT_BUILT).unlink(missing_ok=True)
    print(f"built {dest}")
    return 0


FLAGS = build_flags()
ffibuilder = make_builder(*FLAGS)  # what setup.py's cffi_modules builds

if __name__ == "__main__":
    sys.exit(main())
