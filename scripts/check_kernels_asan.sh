#!/usr/bin/env bash
# Build the C kernels with AddressSanitizer + UndefinedBehaviorSanitizer into a temporary
# copy of the package and run tests/test_kernels.py against them. Any sanitizer report
# aborts the run (-fno-sanitize-recover=all, halt_on_error) and fails this script.
#
#   scripts/check_kernels_asan.sh [extra pytest arguments]
#
# PYTHON picks the interpreter (default: the repo's .venv, else python3); it needs cffi,
# numpy, pytest and hypothesis. Leak detection is off: CPython keeps memory until exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$ROOT/.venv/bin/python" ] && PYTHON="$ROOT/.venv/bin/python"
fi
TMP="$(mktemp -d /tmp/nanotorch-asan.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
say() { echo "check_kernels_asan: $*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

mkdir "$TMP/src"
tar -C "$ROOT" --exclude='*.so' -cf - nanotorch tests pyproject.toml | tar -C "$TMP/src" -xf -
say "building the kernels with -fsanitize=address,undefined"
"$PYTHON" "$ROOT/build_kernels.py" --sanitize --dest "$TMP/src/nanotorch" > "$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log"; fail "sanitized build failed"; }

CC_CMD="$(PYTHONPATH="$ROOT" "$PYTHON" -c 'import build_kernels as b; print(b.compiler()[0])')"
LIBASAN="$("$CC_CMD" -print-file-name=libasan.so)"
[ -f "$LIBASAN" ] || fail "libasan.so not found (got '$LIBASAN')"

export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
cd "$TMP"
run() { LD_PRELOAD="$LIBASAN" PYTHONPATH="$TMP/src" "$PYTHON" "$@"; }

run -c "
from nanotorch import backend
info = backend.info()
assert info['backend'] == 'c' and '-fsanitize=address,undefined' in info['cflags'], info
" || fail "the sanitized module is not the one loaded"

say "running tests/test_kernels.py under ASan + UBSan"
status=0
run -m pytest -q -p no:cacheprovider --capture=sys "$TMP/src/tests/test_kernels.py" "$@" 2>&1 \
    | tee "$TMP/pytest.log" || status=$?
if grep -qE "ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer" \
        "$TMP/pytest.log"; then
    fail "sanitizer report (see above)"
fi
[ "$status" -eq 0 ] || fail "tests failed (status $status)"
grep -qE "[0-9]+ passed" "$TMP/pytest.log" || fail "no test ran"
say "OK: no sanitizer reports"
