/* gemm_neon.c -- the GEMM for 64-bit ARM (Advanced SIMD, always present on aarch64: Apple
 * M-series, Graviton, Raspberry Pi 4/5): an 8 x 12 tile, 24 of the 32 q registers
 * accumulating, 3 holding b, 1 the broadcast of a (6 x 8 would leave 20 registers idle). */
#define NT_KERNEL_SOURCE
#if defined(__GNUC__) && defined(__aarch64__)
#define NT_VL 4
#define NT_MR 8
#define NT_NV 3
#define NT_ISA nt_gemm_isa_neon
#define NT_ISA_NAME "neon"
#include "gemm_kernel.h"
#else
#include "gemm.h"
#include <stddef.h>
const nt_gemm_isa_t nt_gemm_isa_neon = {"neon", 0, 0, NULL, NULL};
#endif
