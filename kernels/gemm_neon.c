/* gemm_neon.c -- the GEMM for 64-bit ARM (Advanced SIMD, always present on aarch64: Apple
 * M-series, Graviton, Raspberry Pi 4/5): an 8 x 12 tile, 24 of the 32 q registers
 * accumulating, 3 holding b, 1 the broadcast of a (6 x 8 would leave 20 registers idle). */
#define NT_KERNEL_SOURCE
#if defined(__GNUC__) && defined(__aarch64__)
#if !defined(__clang__)
/* NOTE: GCC's scheduling before register allocation hoists all 8 loads of a (one register
 * each) ahead of the multiply-adds: 24 + 3 + 8 = 35 live vectors, so 3 accumulators went
 * to the stack and back at every k step (GCC 12, seen in the cross build's disassembly:
 * 16 stack accesses per 96 fmla, a store-to-load trip added to those accumulators' chains).
 * Without that pass the loads stay next to their uses and the 8 x 12 loop has no spill. */
#pragma GCC optimize("no-schedule-insns")
#endif
#define NT_VL 4
#define NT_MR 8
#define NT_NV 3
#define NT_ISA nt_gemm_isa_neon
#define NT_ISA_NAME "neon"
#include "gemm_kernel.h"
#else
#include "gemm.h"
const nt_gemm_isa_t nt_gemm_isa_neon = {.name = "neon"}; /* stripe == NULL: not compiled here */
#endif
