"""Build NanoTorch's C kernels with cffi; ``python build_kernels.py`` rebuilds them in place.

cffi's out-of-line API mode: the declarations between the ``cffi-cdef`` markers of
``kernels/nanotorch_kernels.h`` are the ``cdef``, ``kernels/*.c`` are compiled into the
extension module ``nanotorch._kernels`` (``nanotorch/_kernels.<abi>.so``). ``setup.py``
uses ``ffibuilder`` (``cffi_modules``) so that ``pip install`` builds the same module.

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
``nanotorch/``.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import os
import shlex
import shutil
import sysconfig
import tempfile
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
KERNELS = "kernels"  # the C sources and the header, under ROOT
HEADER = "nanotorch_kernels.h"
CDEF_BEGIN, CDEF_END = "/* cffi-cdef-begin */", "/* cffi-cdef-end */"
MODULE = "nanotorch._kernels"

BASE_FLAGS = ["-O3", "-ffp-contract=fast", "-fno-math-errno"]
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


def compiler() -> list[str]:
    """The C compiler command setuptools will use (``$CC`` wins, as in distutils)."""
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


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
    ffi.cdef(cdef_text())
    ffi.set_source(MODULE, f'#include "{HEADER}"', sources=sources,
                   include_dirs=[str(base / KERNELS)],
                   define_macros=[("NT_BUILD_FLAGS", '"' + " ".join(cflags) + '"')],
                   extra_compile_args=["-std=gnu11", *cflags], extra_link_args=ldflags,
                   libraries=["m"], py_limited_api=True)  # one file name for every build
    return ffi


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sanitize", action="store_true", help="build with ASan + UBSan")
    parser.add_argument("--dest", type=Path, default=ROOT / "nanotorch",
                        help="directory that receives the module (default: nanotorch/)")
    args = parser.parse_args(argv)
    builder = make_builder(*(build_flags(sanitize=True) if args.sanitize else FLAGS),
                           absolute=True)
    with tempfile.TemporaryDirectory(prefix="nanotorch-build-") as tmp:
        built = Path(builder.compile(tmpdir=tmp, verbose=False))
        dest = args.dest.resolve() / built.name
        staged = dest.with_name(dest.name + ".tmp")
        shutil.copy2(built, staged)
        os.replace(staged, dest)  # atomic: running processes keep the old file
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:  # a stale build would shadow it
        other = dest.with_name("_kernels" + suffix)
        if other != dest and other.exists():
            other.unlink()
    print(f"built {dest}")


FLAGS = build_flags()
ffibuilder = make_builder(*FLAGS)  # what setup.py's cffi_modules builds

if __name__ == "__main__":
    main()
