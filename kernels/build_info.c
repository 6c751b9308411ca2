/* build_info.c -- what this build of the kernels is: compiler flags (passed in by
 * build_kernels.py as NT_BUILD_FLAGS), OpenMP, and the SIMD width the GEMM uses. */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#ifndef NT_BUILD_FLAGS
#define NT_BUILD_FLAGS "unknown"
#endif
#ifdef _OPENMP
#define NT_OPENMP_ON "1"
#else
#define NT_OPENMP_ON "0"
#endif

/* "flags=...;openmp=0|1;simd=avx512|avx2|vec128|scalar": a constant string. */
const char *nt_build_info(void)
{
    return "flags=" NT_BUILD_FLAGS ";openmp=" NT_OPENMP_ON ";simd=" NT_SIMD_NAME;
}
