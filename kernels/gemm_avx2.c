/* gemm_avx2.c -- the GEMM for x86-64 with AVX2 and FMA (Haswell, Zen and later): a 6 x 16
 * tile, 12 of the 16 ymm registers accumulating, 2 holding b, 1 the broadcast of a. */
#define NT_KERNEL_SOURCE
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#pragma GCC target("avx2,fma")
#define NT_VL 8
#define NT_MR 6
#define NT_NV 2
#define NT_ISA nt_gemm_isa_avx2
#define NT_ISA_NAME "avx2"
#include "gemm_kernel.h"
#else
#include "gemm.h"
const nt_gemm_isa_t nt_gemm_isa_avx2 = {.name = "avx2"}; /* stripe == NULL: not compiled here */
#endif
