/* cross_entropy_avx2.c -- cross_entropy_rows.h compiled 8 lanes wide with AVX2 and FMA, for
 * the x86 builds whose baseline is narrower (NT_WIDE in vec_math.h); cross_entropy.c runs it
 * when nt_wide(). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__AVX2__)
#pragma GCC target("avx2,fma")
#define NT_VL 8
#define NT_KERNEL_SOURCE
#define NT_CE_NAME(name) name##_avx2
#include "cross_entropy_rows.h"
#else
typedef int nt_cross_entropy_avx2_unused; /* NT_WIDE is 0: the baseline is the only copy */
#endif
