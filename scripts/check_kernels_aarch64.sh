#!/usr/bin/env bash
# The C kernels on 64-bit ARM without an ARM machine: cross-compile every kernels/*.c for
# aarch64 with the flags build_kernels.py uses (`build_kernels.py --print-flags`), link them
# with the C test program tests/c/kernel_checks.c and run it under qemu-user, on the NEON
# GEMM and on the generic one (FPCR flush-to-zero included). Then the same program built
# and run natively: the host's GEMM paths (AVX-512, AVX2, generic on x86-64).
# Warnings fail the build (-Wall -Wextra -Werror, here only).
#
#   scripts/check_kernels_aarch64.sh
#
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (Debian/Ubuntu). When
# they are missing it installs them if it runs as root with apt-get; otherwise it says in
# one line what it skips and why, runs the native part, and exits 0.
# PYTHON picks the interpreter that reads build_kernels.py (default: the repo's .venv, else
# python3; it needs cffi); CC, CROSS_CC and QEMU the compilers and the emulator.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$ROOT/.venv/bin/python" ] && PYTHON="$ROOT/.venv/bin/python"
fi
CC="${CC:-cc}"
CROSS_CC="${CROSS_CC:-aarch64-linux-gnu-gcc}"
QEMU="${QEMU:-qemu-aarch64}"
SYSROOT=/usr/aarch64-linux-gnu # the cross libc: qemu's -L prefix for the loader and libs
PACKAGES="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
TMP="$(mktemp -d /tmp/nanotorch-aarch64.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
say() { echo "check_kernels_aarch64: $*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

{ read -r CFLAGS && read -r LDFLAGS; } < <("$PYTHON" "$ROOT/build_kernels.py" --print-flags) \
    || fail "could not read the flags from build_kernels.py --print-flags"
WARN="-Wall -Wextra -Werror"

# build COMPILER DIR: every kernel file and the test program, compiled one by one, linked
# as DIR/kernel_checks.
build() {
    local cc="$1" dir="$2" src
    mkdir -p "$dir"
    for src in "$ROOT"/kernels/*.c "$ROOT/tests/c/kernel_checks.c"; do
        # shellcheck disable=SC2086  # the flag lines are word lists
        "$cc" $CFLAGS $WARN "-DNT_BUILD_FLAGS=\"$CFLAGS\"" -I "$ROOT/kernels" -c "$src" \
            -o "$dir/$(basename "$src" .c).o" || return 1
    done
    # shellcheck disable=SC2086
    "$cc" "$dir"/*.o $LDFLAGS -o "$dir/kernel_checks"
}

# run NAME COMMAND...: the program's lines, then its closing "N passed, N failed".
run() {
    local name="$1"
    shift
    local status=0
    "$@" | tee "$TMP/$name.log" || status=$?
    local last
    last="$(tail -n 1 "$TMP/$name.log")"
    [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] && [ "$status" -eq 0 ] \
        || fail "$name: ${last:-no output} (exit status $status)"
    SUMMARY+=("$name: $last")
}

# missing: what of the cross toolchain and the emulator is not here (empty: all is).
missing() {
    local what=()
    command -v "$CROSS_CC" > /dev/null || what+=("$CROSS_CC")
    [ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || what+=("the aarch64 libc in $SYSROOT")
    command -v "$QEMU" > /dev/null || what+=("$QEMU")
    local out="" w
    for w in "${what[@]}"; do
        out+="${out:+, }$w"
    done
    echo "$out"
}

SUMMARY=()
start=$SECONDS
lacking="$(missing)"
if [ -n "$lacking" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        why="not root"
    elif ! command -v apt-get > /dev/null; then
        why="no apt-get"
    else
        say "$lacking not found: installing $PACKAGES"
        # shellcheck disable=SC2086  # a word list
        { DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PACKAGES \
            || { apt-get update -q \
                 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PACKAGES; }
        } > "$TMP/apt.log" 2>&1 || tail -n 5 "$TMP/apt.log"
        why="apt-get install did not provide them"
        lacking="$(missing)"
    fi
fi
if [ -n "$lacking" ]; then
    say "SKIPPED the aarch64 (NEON) check: $lacking not found and not installable here" \
        "($why); to run it: sudo apt-get install $PACKAGES"
    SUMMARY+=("aarch64: SKIPPED ($lacking not found; $why)")
else
    say "cross-compiling kernels/*.c and tests/c/kernel_checks.c for aarch64: $CROSS_CC $CFLAGS"
    build "$CROSS_CC" "$TMP/aarch64" || fail "the aarch64 build failed or warned"
    say "running them under $QEMU: the NEON and the generic GEMM"
    run "aarch64 (qemu, neon + generic)" "$QEMU" -L "$SYSROOT" "$TMP/aarch64/kernel_checks" neon generic
fi
say "compiling the same natively ($(uname -m)): $CC $CFLAGS"
build "$CC" "$TMP/native" || fail "the native build failed or warned"
run "native $(uname -m) (every GEMM path this CPU runs)" "$TMP/native/kernel_checks"
for line in "${SUMMARY[@]}"; do
    say "$line"
done
say "OK in $((SECONDS - start)) s"
