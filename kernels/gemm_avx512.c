/* gemm_avx512.c -- the GEMM for x86-64 with AVX-512F (Skylake-SP, Ice Lake, Zen 4 ...): a
 * 12 x 32 tile, 24 of the 32 zmm registers accumulating, 2 holding b, 1 the broadcast of a. */
#define NT_KERNEL_SOURCE
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#pragma GCC target("avx512f,avx2,fma")
#define NT_VL 16
#define NT_MR 12
#define NT_NV 2
#define NT_ISA nt_gemm_isa_avx512
#define NT_ISA_NAME "avx512"
#include "gemm_kernel.h"
#else
#include "gemm.h"
const nt_gemm_isa_t nt_gemm_isa_avx512 = {.name = "avx512"}; /* stripe == NULL: not compiled here */
#endif
