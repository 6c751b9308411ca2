/* build_info.c -- what this build of the kernels is: compiler flags (passed in by
 * build_kernels.py as NT_BUILD_FLAGS) and the SIMD width of the kernels. */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#ifndef NT_BUILD_FLAGS
#define NT_BUILD_FLAGS "unknown"
#endif

/* "flags=...;simd=avx512|avx2|vec128|scalar": a constant string (simd: the width of the
 * kernels other than the GEMM, whose instruction set is chosen at run time). */
const char *nt_build_info(void)
{
    return "flags=" NT_BUILD_FLAGS ";simd=" NT_SIMD_NAME;
}
