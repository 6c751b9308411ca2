#!/usr/bin/env bash
# Run the C kernel tests under valgrind's memcheck: reads of uninitialised memory, reads
# and writes outside a malloc'd block, bad frees. Only errors with a frame in the kernels'
# module (nanotorch/_kernels*.so) count: CPython and NumPy have their own known reports.
#
#   scripts/check_kernels_valgrind.sh            the CI subset (see SUBSET below)
#   scripts/check_kernels_valgrind.sh --all      every test in tests/test_kernels.py
#   scripts/check_kernels_valgrind.sh -k EXPR    any pytest selection of tests/test_kernels.py
#
# The kernels are built with -O3 as shipped, into a temporary copy of the package, and run
# on 2 threads so the thread pool's paths are exercised. Valgrind does not know AVX-512, so
# the GEMM runs its AVX2 path where the CPU has AVX2 (NANOTORCH_ISA), else its widest one. PYTHON picks the interpreter
# (default: the repo's .venv, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$ROOT/.venv/bin/python" ] && PYTHON="$ROOT/.venv/bin/python"
fi
say() { echo "check_kernels_valgrind: $*"; }
fail() { say "FAIL: $*" >&2; exit 1; }
command -v valgrind > /dev/null || fail "valgrind is not installed"

# The CI subset: every kernel family forward and backward, small shapes (memcheck runs
# the code 20-50x slower): every kernel family against NumPy (on 1 and 2 threads where the
# test varies them) and the C-level size checks. --all runs the whole file (importing
# PyTorch under memcheck alone takes minutes). The subset took 3:00 wall on a shared
# 2-core AMD EPYC (load 2-4 from other work), 145 s of it in pytest; 5:21 with a test
# suite running beside it; 2:34 on an idle 2-core Xeon, 118 s in pytest (6:36 in pytest
# before NumPy's BLAS was held to one thread, below).
# Left out everywhere: the two tests of flush-to-zero (memcheck does not emulate the FTZ/DAZ
# bits, so subnormals stay; a valgrind limitation, not a kernel bug).
SUBSET="matches_numpy or bit_for_bit or c_level"
NO_FTZ="not flushes"
EXAMPLES=5  # hypothesis examples per property in the CI subset (the normal suite runs 40)
if [ "${1:-}" = "--all" ]; then
    shift
    SELECT=(-k "$NO_FTZ")
    EXAMPLES=40
elif [ "$#" -gt 0 ]; then
    SELECT=(-k "$NO_FTZ")
else
    SELECT=(-k "($SUBSET) and $NO_FTZ")
fi

TMP="$(mktemp -d /tmp/nanotorch-valgrind.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/src"
tar -C "$ROOT" --exclude='*.so' -cf - nanotorch tests pyproject.toml | tar -C "$TMP/src" -xf -
say "building the kernels (-O3)"
"$PYTHON" "$ROOT/build_kernels.py" --dest "$TMP/src/nanotorch" \
    > "$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; fail "build failed"; }

cd "$TMP"
export PYTHONPATH="$TMP/src" NANOTORCH_BACKEND=c NANOTORCH_NUM_THREADS=2
# NumPy's BLAS only computes the reference values here, on one thread: memcheck runs a
# process's threads one at a time, and OpenBLAS's second thread, spinning while it waits,
# made each NumPy product ~10x slower when the machine had a core to spare (the NumPy side
# of the seed-MLP training test: 124 s under memcheck with 2 BLAS threads, 11 s with 1).
export OPENBLAS_NUM_THREADS=1
export NANOTORCH_TEST_EXAMPLES="$EXAMPLES"
if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then export NANOTORCH_ISA=avx2; fi
"$PYTHON" -c "
import nanotorch
assert nanotorch.backend.current().name == 'c'
assert nanotorch.backend.info()['library'].startswith('$TMP/src/'), nanotorch.backend.info()
" || fail "the freshly built module is not the one loaded"

# the interpreter itself, not a wrapper script (pyenv shims) that memcheck would stop at
EXE="$("$PYTHON" -c 'import sys; print(sys.executable)')"
say "running tests/test_kernels.py under memcheck ${SELECT[*]} $* ($EXAMPLES examples per property)"
status=0
PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=0 --leak-check=no --show-leak-kinds=none \
    --track-origins=no --num-callers=30 --xml=yes --xml-file="$TMP/memcheck.%p.xml" \
    "$EXE" -m pytest -q -p no:cacheprovider "$TMP/src/tests/test_kernels.py" \
    "${SELECT[@]}" "$@" 2>&1 | tee "$TMP/pytest.log" || status=$?

"$PYTHON" - "$TMP"/memcheck.*.xml <<'PY' || fail "memcheck errors in the kernels (see above)"
import sys
import xml.etree.ElementTree as ET

# one file per process (a fork before exec writes its own); read each up to where it ends
errors = []
for path in sys.argv[1:]:
    try:
        for _, elem in ET.iterparse(path):
            if elem.tag == "error":
                errors.append(elem)
    except ET.ParseError:
        pass
ours = [e for e in errors if not (e.findtext("kind") or "").startswith("Leak")  # CPython keeps memory
        and any("_kernels" in (f.findtext("obj") or "") for f in e.iter("frame"))]
for e in ours:
    print(e.findtext("kind"), e.findtext("what") or e.findtext("xwhat/text"))
    for f in e.iter("frame"):
        print("   ", f.findtext("fn"), f.findtext("file") or "", f.findtext("line") or "",
              f.findtext("obj") or "")
print(f"check_kernels_valgrind: {len(errors)} memcheck reports in all, {len(ours)} in the kernels")
sys.exit(1 if ours else 0)
PY
[ "$status" -eq 0 ] || fail "tests failed (status $status)"
grep -qE "[0-9]+ passed" "$TMP/pytest.log" || fail "no test ran"
say "OK: no memcheck errors in the kernels"
