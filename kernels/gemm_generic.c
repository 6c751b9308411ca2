/* gemm_generic.c -- the GEMM for any CPU: the architecture's baseline vector width (SSE2's
 * 4 floats on x86-64, 128 bits elsewhere; plain scalars without GCC vector extensions),
 * a 6 x 2-vector tile (4 x 4 scalars), 12 of 16 registers accumulating. */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h" /* NT_VL: the baseline width this file is compiled for */
#if NT_VL > 1
#define NT_MR 6
#define NT_NV 2
#else
#define NT_MR 4
#define NT_NV 4
#endif
#define NT_ISA nt_gemm_isa_generic
#define NT_ISA_NAME "generic"
#include "gemm_kernel.h"
