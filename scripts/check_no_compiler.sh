#!/usr/bin/env bash
# Install NanoTorch with a C compiler that always fails (CC=/bin/false) into a throw-away
# venv and check that the install still succeeds, that `import nanotorch` works on the
# NumPy backend (and that NANOTORCH_BACKEND=c refuses clearly), and that core tests pass.
#
#   scripts/check_no_compiler.sh [test files, relative to the repo; default below]
#
# Exits non-zero on the first failure. Needs network or a local index for pip (numpy,
# cffi, setuptools, pytest, hypothesis). PYTHON picks the interpreter (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(tests/test_tensor.py tests/test_autograd.py tests/test_ops.py tests/test_nn.py tests/test_kernels.py
                                  tests/test_distributed.py)

TMP="$(mktemp -d /tmp/nanotorch-nocc.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
say() { echo "check_no_compiler: $*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

say "copying the sources (no compiled modules) to $TMP/src"
mkdir "$TMP/src"
# NOTE: the top-level folders by their ./ path: a bare "data" would also leave out the
# package nanotorch/utils/data
tar -C "$ROOT" --exclude=./.venv --exclude=./.git --exclude='*.so' --exclude=./build \
    --exclude='*.egg-info' --exclude=./data --exclude=./logs --exclude=./.benchmarks -cf - . \
    | tar -C "$TMP/src" -xf -

say "installing with CC=/bin/false"
"$PYTHON" -m venv "$TMP/venv"
PY="$TMP/venv/bin/python"
CC=/bin/false "$PY" -m pip install -q --disable-pip-version-check "$TMP/src" pytest hypothesis \
    > "$TMP/pip.log" 2>&1 || { cat "$TMP/pip.log"; fail "pip install failed without a compiler"; }

cd "$TMP"  # not the source tree: the installed package must be the one imported
"$PY" - <<'EOF' || fail "import nanotorch did not fall back to the NumPy backend"
import sys
import nanotorch
from nanotorch import backend
info = backend.info()
assert nanotorch.__file__.startswith(sys.prefix), nanotorch.__file__
assert info["backend"] == "numpy" and not info["c_available"], info
print(f"check_no_compiler: import ok, backend {info['backend']!r} ({info['reason']})")
EOF

"$PY" -m nanotorch > "$TMP/report.txt" || fail "python -m nanotorch failed"
grep -q "C kernels: *not available (not built: the C compiler .*/bin/false" "$TMP/report.txt" \
    || { cat "$TMP/report.txt"; fail "python -m nanotorch does not say the kernels are missing and why"; }
grep -q "To get them: install a C compiler" "$TMP/report.txt" \
    || { cat "$TMP/report.txt"; fail "python -m nanotorch does not say how to get the kernels"; }
say "python -m nanotorch says why the kernels are missing and how to get them"

if NANOTORCH_BACKEND=c "$PY" -c "import nanotorch" > "$TMP/forced.log" 2>&1; then
    fail "NANOTORCH_BACKEND=c imported without the C kernels"
fi
grep -q "C backend cannot be loaded" "$TMP/forced.log" \
    || { cat "$TMP/forced.log"; fail "NANOTORCH_BACKEND=c failed without a clear message"; }
say "NANOTORCH_BACKEND=c refuses with a clear error"

if (cd "$TMP/src" && CC=/bin/false "$PY" build_kernels.py) > "$TMP/build.log" 2>&1; then
    fail "python build_kernels.py succeeded with CC=/bin/false"
fi
tail -n 1 "$TMP/build.log" | grep -q "^build_kernels: the C kernels were NOT built: the C compiler" \
    && ! grep -q Traceback "$TMP/build.log" \
    || { cat "$TMP/build.log"; fail "python build_kernels.py did not end with one clear line"; }
say "python build_kernels.py without a compiler ends with: $(tail -n 1 "$TMP/build.log" | cut -c1-100)..."

ARGS=()
for t in "${TESTS[@]}"; do
    [ -e "$TMP/src/$t" ] || fail "no test file $t"
    ARGS+=("$TMP/src/$t")
done
say "running ${TESTS[*]}"
"$PY" -m pytest -q -p no:cacheprovider "${ARGS[@]}" || fail "tests failed on the NumPy backend"
say "OK"
