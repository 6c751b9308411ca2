/* gemm.h -- what gemm.c (the dispatcher and threads) shares with the per-ISA
 * micro-kernel files gemm_<isa>.c (each includes gemm_kernel.h under its own target).
 * Internal to the kernels: not part of the cffi interface. */
#ifndef NANOTORCH_GEMM_H
#define NANOTORCH_GEMM_H

#include <stdint.h>

/* One product c[m,n] (+)= op(a) @ op(b) (+ bias) (relu): its operands, strides, epilogue. */
typedef struct {
    int64_t k;
    int64_t n; /* columns of the whole c (a thread's stripe may be fewer): sets the k blocks */
    const float *a, *b, *bias;
    int64_t lda, ldb, ldc;
    int trans_a, trans_b, flags;
    float *c;
} nt_gemm_t;

/* Block sizes, derived from the cache sizes at run time (see choose_blocking in gemm.c). */
typedef struct {
    int64_t kc; /* k block: depth of the packed blocks; a B micro-panel (kc x NR) fits L1 */
    int64_t mc; /* m block: rows of the packed A block (mc x kc) kept in L2 */
    int64_t nc; /* n block: width of the packed B block (kc x nc) */
} nt_blocking_t;

/* k split into equal blocks of at most kc_max steps (a multiple of 8 but the last), so
 * k = 784 with kc = 384 runs as 264 + 264 + 256, not 384 + 384 + 16: a thin last block
 * would pay the tile's load and store of c for very few multiply-adds. */
static inline int64_t nt_balanced_kc(int64_t k, int64_t kc_max)
{
    int64_t blocks = (k + kc_max - 1) / kc_max, kc = (k + blocks - 1) / blocks;
    kc = (kc + 7) / 8 * 8;
    return kc < k && kc < kc_max ? kc : k < kc_max ? k : kc_max;
}

/* The serial blocked algorithm on the stripe c[m0:m1, n0:n1] of product g. */
typedef int (*nt_gemm_stripe_fn)(const nt_gemm_t *g, const nt_blocking_t *bl, int64_t m0,
                                 int64_t m1, int64_t n0, int64_t n1);

/* `rounds` rounds of MR*NV independent vector multiply-adds; returns a value that depends
 * on all of them (so the compiler keeps the loop). */
typedef float (*nt_fma_burst_fn)(int64_t rounds);

/* Share t of nt of packing the B block op(b)[pc:pc+kc, jc:jc+nc] into bp (panels of NR
 * columns, panel jr at bp + jr*kc): the threads' shares together pack all of it. */
typedef void (*nt_gemm_pack_b_fn)(const nt_gemm_t *g, int64_t pc, int64_t kc, int64_t jc,
                                  int64_t nc, float *bp, int t, int nt);

/* Rows m0..m1 of c (+)= op(a)[m0:m1, pc:pc+kc] @ that B block, packed in bp (read only). */
typedef int (*nt_gemm_rows_fn)(const nt_gemm_t *g, const nt_blocking_t *bl, int64_t m0,
                               int64_t m1, int64_t jc, int64_t nc, int64_t pc, int64_t kc,
                               const float *bp);

/* One instruction set's GEMM: its tile (MR rows x NR columns of c in registers). */
typedef struct {
    const char *name; /* "avx512", "avx2", "neon", "generic" */
    int mr, nr;
    nt_gemm_stripe_fn stripe;
    nt_fma_burst_fn fma_burst; /* the core's peak: the same multiply-adds, no memory */
    nt_gemm_pack_b_fn pack_b;  /* for threads sharing one packed B block */
    nt_gemm_rows_fn rows;
    nt_gemm_stripe_fn dot; /* c = a @ b^T by dot products along k, nothing packed */
    int dot_r, dot_c;      /* its block: rows of a by rows of b */
} nt_gemm_isa_t;

/* Defined by gemm_<isa>.c; an ISA the compiler or architecture lacks has stripe == NULL. */
extern const nt_gemm_isa_t nt_gemm_isa_avx512, nt_gemm_isa_avx2, nt_gemm_isa_neon,
    nt_gemm_isa_generic;

#endif /* NANOTORCH_GEMM_H */
