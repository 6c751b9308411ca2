/* gemm_kernel.h -- the blocked GEMM of one instruction set; included by each gemm_<isa>.c
 * after it has chosen its target (#pragma GCC target) and defined
 *   NT_VL   floats per vector register,     NT_MR, NT_NV   the tile: MR rows x NV vectors,
 *   NT_ISA  the nt_gemm_isa_t it defines,   NT_ISA_NAME    its name.
 * Everything here is static, so the copies compiled for different targets never meet; the
 * only symbol each file exports is its nt_gemm_isa_t, which gemm.c picks at run time.
 *
 * Structure (the BLIS loops, with the rows of c vectorized; block sizes: gemm.c):
 *   for each block of NC columns of c, for each block of KC steps of k:
 *       pack op(b)[KC, NC] as micro-panels of NR columns, k-major         (L3)
 *       for each block of MC rows of c:
 *           pack op(a)[MC, KC] as micro-panels of MR rows, k-major       (L2)
 *           for each micro-panel of B (KC x NR, stays in L1):
 *               for each micro-panel of A (streams from L2): the micro-kernel updates
 *               an MR x NR tile of c held in MR*NR/VL vector registers; per k step:
 *               NV loads of b, MR broadcasts of a, MR*NV fused multiply-adds.
 * Packing reads a and b in whichever layout they come (transposed or not), so the three
 * products of a Linear layer need no transposed copies, and it zero-pads the last panel
 * of b, so the micro-kernel never reads past the caller's arrays.  When an operand is
 * already in the micro-kernel's order and its row stride is not a multiple of 4 KB (which
 * would make its rows fight for the same cache sets), the micro-kernel reads it in place
 * where packing would cost more than it saves: a row-major b when the stripe has at most
 * 16 row panels (the copy would serve few of them), a row-major a when c's stripe is at
 * most 8 tiles wide (each packed a panel would serve few tiles; the two inner loops then
 * swap, so the 6 rows of a read in place stay in L1 while the packed B block streams
 * from L2).  FTZ/DAZ is on inside (see nanotorch_kernels.h).
 */
#include "nanotorch_kernels.h"
#include "gemm.h"

#include <stdlib.h>

#define NT_NR (NT_NV * NT_VL)
#define NT_DIRECT_A_COLS (8 * NT_NR) /* a read in place for stripes of c up to 8 tiles wide */
#define NT_PREFETCH_K 8 /* prefetch b this many k steps ahead */
/* The tile's lines of c are prefetched (for writing) before its k loop only when that loop
 * has at least this many steps: a long loop hides the prefetch's trip to L2 or memory, a
 * short one does not, and the 12 prefetches then only take load slots from the tile
 * (dx = dy @ w of x[64,128] W[10,128], k = 10: 2.8 -> 2.45 us on Zen 3; at k >= 64 no
 * change). */
#define NT_PREFETCH_C_MIN_K 32
#define NT_LINE_FLOATS 16 /* floats per 64-byte cache line */
#define NT_ALIGN 64

#if NT_VL > 1 && defined(__GNUC__) && !defined(__clang__)
#define NT_FAST_TRANSPOSE 1
#if NT_VL == 16
#define NT_ZIP_LO {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23}
#define NT_ZIP_HI {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31}
#elif NT_VL == 8
#define NT_ZIP_LO {0, 8, 1, 9, 2, 10, 3, 11}
#define NT_ZIP_HI {4, 12, 5, 13, 6, 14, 7, 15}
#else
#define NT_ZIP_LO {0, 4, 1, 5}
#define NT_ZIP_HI {2, 6, 3, 7}
#endif

/* In registers: r[VL][VL] becomes its transpose.  Each round interleaves row i with row
 * i + VL/2; log2(VL) rounds of this perfect shuffle transpose the block. */
static NT_ALWAYS_INLINE void transpose_block(nt_vf r[NT_VL])
{
    const nt_vi lo = NT_ZIP_LO, hi = NT_ZIP_HI;
    for (int round = NT_VL; round > 1; round /= 2) {
        nt_vf t[NT_VL];
#pragma GCC unroll 16
        for (int i = 0; i < NT_VL / 2; ++i) {
            t[2 * i] = __builtin_shuffle(r[i], r[i + NT_VL / 2], lo);
            t[2 * i + 1] = __builtin_shuffle(r[i], r[i + NT_VL / 2], hi);
        }
#pragma GCC unroll 16
        for (int i = 0; i < NT_VL; ++i)
            r[i] = t[i];
    }
}

#if NT_VL == 8 && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define NT_HALF_TRANSPOSE 1
#endif
#endif

/* dst[q*ld_dst + i] = src[i*ld_src + q] for i < width, q < VL, where the src rows from
 * `rows` (<= width <= VL) on count as zeros: a narrow panel gets its zero padding here. */
static NT_ALWAYS_INLINE void
transpose_rows(const int rows, const int width, const float *restrict src, int64_t ld_src,
               float *restrict dst, int64_t ld_dst)
#ifdef NT_HALF_TRANSPOSE
/* 8 x 8 from 4-float halves: in half h (k = 4h .. 4h+3), vector i holds rows i and i + 4
 * (one 16-byte load into each 128-bit lane), so what is left is a 4 x 4 transpose inside
 * each lane: 16 in-lane shuffles per block instead of 24 of which 8 cross lanes (AVX2
 * moves data across lanes in separate, slower instructions).  Packing w^T for 64x784x128
 * (the forward's B): 31 -> 22-25 cycles per 8 x 8 block on Zen 3. */
{
    typedef float nt_v4 __attribute__((vector_size(4 * sizeof(float))));
    const nt_vi lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
    const nt_vi lo2 = {0, 1, 8, 9, 4, 5, 12, 13}, hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
        nt_vf r[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
            nt_v4 a = {0}, b = {0};
            if (i < rows)
                memcpy(&a, src + i * ld_src + 4 * h, sizeof a);
            if (i + 4 < rows)
                memcpy(&b, src + (i + 4) * ld_src + 4 * h, sizeof b);
            r[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
        }
        nt_vf t0 = __builtin_shuffle(r[0], r[1], lo), t1 = __builtin_shuffle(r[0], r[1], hi);
        nt_vf t2 = __builtin_shuffle(r[2], r[3], lo), t3 = __builtin_shuffle(r[2], r[3], hi);
        nt_vf o[4] = {__builtin_shuffle(t0, t2, lo2), __builtin_shuffle(t0, t2, hi2),
                      __builtin_shuffle(t1, t3, lo2), __builtin_shuffle(t1, t3, hi2)};
        if (width == 6 && ld_dst == 6) {
            /* A dense A panel (MR = 6 < 8 floats per k step): the 8 k steps fill 8 * width
             * floats in a row, so each is one full vector store whose lanes past width
             * the next store overwrites, and the last 8 floats (the end of step 6 and all
             * of step 7) one store of both blended.  memcpy of width floats per step was
             * compiled to a spill of every vector and 16- and 8-byte reloads: packing
             * A for 1024^3 took 710-780 us, now 500-550 (Zen 3, a loaded machine). */
            const nt_vi tail = {4, 5, 8, 9, 10, 11, 12, 13};
#pragma GCC unroll 4
            for (int q = 0; q < 4; ++q)
                if (h == 0 || q < 3)
                    nt_vstore(dst + (4 * h + q) * 6, o[q]);
            if (h == 1)
                nt_vstore(dst + 40, __builtin_shuffle(o[2], o[3], tail));
            continue;
        }
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q)
            memcpy(dst + (4 * h + q) * ld_dst, &o[q], (size_t)width * sizeof(float));
    }
}
#else
{
    nt_vf r[NT_VL];
#pragma GCC unroll 16
    for (int i = 0; i < NT_VL; ++i)
        r[i] = i < rows ? nt_vload(src + i * ld_src) : NT_SPLAT(0.0f);
    transpose_block(r);
#pragma GCC unroll 16
    for (int q = 0; q < NT_VL; ++q)
        memcpy(dst + q * ld_dst, &r[q], (size_t)width * sizeof(float));
}
#endif
#else
#define NT_FAST_TRANSPOSE 0
#endif

/* Pack op(b)[p0:p0+kc, j0:j0+nc] as panels of NR columns: panel jr holds
 * bp[jr*kc + p*NR + j] = op(b)[p0+p, j0+jr+j], zero where j0+jr+j >= j0+nc. */
static void pack_b_block(const nt_gemm_t *g, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                         float *restrict bp)
{
    if (!g->trans_b) { /* 8 rows of b at a time, panel after panel: each panel gets its 8
                        * rows (512 bytes) in one run, and the 8 rows of b are read along
                        * their length.  Panel by panel over all kc rows, a row stride of 4 KB
                        * put every row's line in one cache set, and the part of a line a
                        * panel left to the next one was gone by then; row by row over all
                        * panels, the writes would land kc*NR floats apart (4 KB when kc =
                        * 64: one cache set again).  dx of a layer with x[512,1024] and
                        * w[1024,1024], 1 thread on Zen 3: its packing took 494-509 us, now
                        * 381-398. */
        for (int64_t p = 0; p < kc; p += 8) {
            int64_t rows = nt_min64(8, kc - p);
            for (int64_t jr = 0; jr < nc; jr += NT_NR) {
                const float *src = g->b + (p0 + p) * g->ldb + j0 + jr;
                float *dst = bp + jr * kc + p * NT_NR;
                int64_t nr = nt_min64(NT_NR, nc - jr);
                for (int64_t q = 0; q < rows; ++q, src += g->ldb, dst += NT_NR)
                    if (nr == NT_NR) {
                        memcpy(dst, src, NT_NR * sizeof(float));
                    } else { /* element by element: a memcpy and a memset of run-time sizes
                              * are two library calls per row (64x10x128 NN: 4.7 -> 3.7 us) */
#pragma GCC unroll 16
                        for (int j = 0; j < NT_NR; ++j)
                            dst[j] = j < nr ? src[j] : 0.0f;
                    }
            }
        }
        return;
    }
    for (int64_t jr = 0; jr < nc; jr += NT_NR) { /* b is [n, k]: transpose panel by panel */
        int64_t nr = nt_min64(NT_NR, nc - jr), p = 0;
        const float *src = g->b + (j0 + jr) * g->ldb + p0;
        float *dst = bp + jr * kc;
#if NT_FAST_TRANSPOSE /* VL x VL blocks in registers, VL k steps at a time; in a narrow
                      * panel the columns past nr are zeros (no row of b is read there) */
        if (nr == NT_NR)
            for (; p + NT_VL <= kc; p += NT_VL)
#pragma GCC unroll 4
                for (int v = 0; v < NT_NR; v += NT_VL)
                    transpose_rows(NT_VL, NT_VL, src + v * g->ldb + p, g->ldb,
                                   dst + p * NT_NR + v, NT_NR);
        else
            for (; p + NT_VL <= kc; p += NT_VL)
                for (int v = 0; v < NT_NR; v += NT_VL) {
                    int rows = (int)nt_min64(NT_VL, nr - v > 0 ? nr - v : 0);
                    transpose_rows(rows, NT_VL, src + v * g->ldb + p, g->ldb,
                                   dst + p * NT_NR + v, NT_NR);
                }
#endif
        for (; p < kc; ++p) { /* the k steps left, and a narrow panel with its zero padding */
            float *row = dst + p * NT_NR;
            int64_t j = 0;
            for (; j < nr; ++j)
                row[j] = src[j * g->ldb + p];
            for (; j < NT_NR; ++j)
                row[j] = 0.0f;
        }
    }
}

/* ap[p*MR_ + i] = op(a)[i0+i, p0+p] for p < kc, i < MR_, a row-major (not trans_a). */
static NT_ALWAYS_INLINE void
pack_a_rows(const int MR_, const nt_gemm_t *g, int64_t i0, int64_t p0, int64_t kc,
            float *restrict ap)
{
    const float *a = g->a + i0 * g->lda + p0;
    int64_t p = 0;
#if NT_FAST_TRANSPOSE
    for (; p + NT_VL <= kc; p += NT_VL) {
        /* Each row is a stream of only kc floats (a few dozen lines), too short for the
         * hardware prefetcher to run ahead of, so the lines of the next panel's rows are
         * requested a whole panel ahead (past the end of a they are harmless: a prefetch
         * never faults).  Packing A for 1024^3 on Zen 3: 474-590 -> 401-430 us. */
        if (p % NT_LINE_FLOATS == 0)
#pragma GCC unroll 16
            for (int i = 0; i < MR_; ++i)
                NT_PREFETCH(a + (MR_ + i) * g->lda + p, 0);
#pragma GCC unroll 4
        for (int i = 0; i < MR_; i += NT_VL)
            transpose_rows(MR_ - i < NT_VL ? MR_ - i : NT_VL, MR_ - i < NT_VL ? MR_ - i : NT_VL,
                           a + i * g->lda + p, g->lda, ap + p * MR_ + i, MR_);
    }
#endif
    for (; p < kc; ++p)
        for (int i = 0; i < MR_; ++i)
            ap[p * MR_ + i] = a[i * g->lda + p];
}

/* Full row panels get the packer unrolled for MR rows; the last, shorter one (m = 64 on
 * AVX2: 10 panels of 6 and one of 4) the same code with its row count known at run time
 * only, so it too is transposed in registers, not element by element. */
static void pack_a_panel(const nt_gemm_t *g, int64_t i0, int mr, int64_t p0, int64_t kc,
                         float *restrict ap)
{
    if (mr == NT_MR)
        pack_a_rows(NT_MR, g, i0, p0, kc, ap);
    else
        pack_a_rows(mr, g, i0, p0, kc, ap);
}

/* The micro-kernel: c[MR_, NV_*VL] (+)= A[MR_, kc] @ B[kc, NV_*VL], then + bias_col or
 * + bias_row[MR_] (either may be NULL), then relu.
 * A is a packed panel (a[p*MR_ + i]) or, with direct_a, the caller's rows (a[i*lda + p]);
 * row p of B starts at b[p*ldb].  MR_, NV_ (NV, or 1 for a narrow last panel), direct_a
 * and prefetch_c (prefetch the tile of c first: NT_PREFETCH_C_MIN_K) are compile-time
 * constants at every call site, so the accumulators live in registers.  The k loop is unrolled 4 times (the loop's own instructions would otherwise
 * share the cycle with the FMAs), and each step prefetches, without a branch, the cache
 * line(s) of B it will read PREFETCH_K steps later: a prefetch past the end of B is
 * harmless, it never faults. */
static NT_ALWAYS_INLINE void
micro(const int MR_, const int NV_, const int direct_a, const int prefetch_c, int64_t kc,
      const float *restrict a,
      int64_t lda, const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc,
      int accumulate, const float *restrict bias_col, const float *restrict bias_row, int relu)
{
    nt_vf acc[NT_MR][NT_NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR_; ++i) {
        if (prefetch_c) {
            NT_PREFETCH(c + i * ldc, 1);
            NT_PREFETCH(c + i * ldc + NV_ * NT_VL - 1, 1);
        }
#pragma GCC unroll 4
        for (int v = 0; v < NV_; ++v)
            acc[i][v] = NT_SPLAT(0.0f);
    }
    /* With direct_a, row i of a is read at ak[i * lda]: one offset per row is 12 registers
     * on AVX-512, which spilled to the stack and were reloaded every step.  Rows 0-5 are
     * read from ak and rows 6-11 from ak_hi = ak + 6 lda, each at (i % 6) * lda: two bases
     * and a few strides (x86 scales an index by 1, 2, 4 or 8 for free).  Xeon, 1 thread:
     * x[64,784] @ W[128,784]^T 70.3 -> 65.9 us, 2 threads 40.1 -> 36.5 us. */
    _Static_assert(NT_MR <= 12, "direct_a reads rows 0-11 from two bases");
    const float *bk = b, *ak = a, *ak_hi = direct_a && MR_ > 6 ? a + 6 * lda : a;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
        nt_vf bv[NT_NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV_; ++v)
            bv[v] = nt_vload(bk + v * NT_VL);
#pragma GCC unroll 4
        for (int l = 0; l < NV_ * NT_VL; l += NT_LINE_FLOATS)
            NT_PREFETCH(bk + NT_PREFETCH_K * ldb + l, 0);
#pragma GCC unroll 16
        for (int i = 0; i < MR_; ++i) {
            nt_vf av = NT_SPLAT(direct_a ? (i < 6 ? ak : ak_hi)[(i % 6) * lda] : ak[i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV_; ++v)
                acc[i][v] += av * bv[v];
        }
        bk += ldb;
        ak += direct_a ? 1 : MR_;
        ak_hi += direct_a;
    }
    if (!bias_col && !bias_row && !relu) { /* the common tiles: straight-line stores */
#pragma GCC unroll 16
        for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 4
            for (int v = 0; v < NV_; ++v)
                nt_vstore(c + i * ldc + v * NT_VL,
                          accumulate ? acc[i][v] + nt_vload(c + i * ldc + v * NT_VL)
                                     : acc[i][v]);
        return;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV_; ++v) {
            float *dst = c + i * ldc + v * NT_VL;
            nt_vf r = acc[i][v];
            if (accumulate)
                r += nt_vload(dst);
            if (bias_col)
                r += nt_vload(bias_col + v * NT_VL);
            if (bias_row)
                r += NT_SPLAT(bias_row[i]);
            if (relu)
                r = NT_VRELU(r);
            nt_vstore(dst, r);
        }
}

/* One specialized micro-kernel per row count (the last row panel may be short), per
 * width (NV vectors, or 1 for a last panel at most VL wide) and per way of reading a: one
 * small function per row count (one huge switch over all of them made the compiler take
 * minutes under the sanitizers). */
#define NT_MICRO_ARGS                                                                         \
    int nv, int direct_a, int64_t kc, const float *a, int64_t lda, const float *b,            \
        int64_t ldb, float *c, int64_t ldc, int accumulate, const float *bias_col,             \
        const float *bias_row, int relu
#define NT_CALL(R, V, D) micro(R, V, D, 1, kc, a, lda, b, ldb, c, ldc, accumulate, bias_col, \
                               bias_row, relu)
#define NT_ROWS(R)                                                                    \
    static void micro_rows_##R(NT_MICRO_ARGS)                                         \
    {                                                                                 \
        if (nv == NT_NV)                                                              \
            direct_a ? NT_CALL(R, NT_NV, 1) : NT_CALL(R, NT_NV, 0);                   \
        else                                                                          \
            direct_a ? NT_CALL(R, 1, 1) : NT_CALL(R, 1, 0);                           \
    }
NT_ROWS(1) NT_ROWS(2) NT_ROWS(3) NT_ROWS(4)
#if NT_MR >= 6
NT_ROWS(5) NT_ROWS(6)
#endif
#if NT_MR >= 8
NT_ROWS(7) NT_ROWS(8)
#endif
#if NT_MR >= 12
NT_ROWS(9) NT_ROWS(10) NT_ROWS(11) NT_ROWS(12)
#endif
#undef NT_ROWS
#undef NT_CALL

static void (*const micro_rows[NT_MR + 1])(NT_MICRO_ARGS) = {
    NULL, micro_rows_1, micro_rows_2, micro_rows_3, micro_rows_4,
#if NT_MR >= 6
    micro_rows_5, micro_rows_6,
#endif
#if NT_MR >= 8
    micro_rows_7, micro_rows_8,
#endif
#if NT_MR >= 12
    micro_rows_9, micro_rows_10, micro_rows_11, micro_rows_12,
#endif
};

static void micro_any(int mr, NT_MICRO_ARGS)
{
    micro_rows[mr](nv, direct_a, kc, a, lda, b, ldb, c, ldc, accumulate, bias_col, bias_row,
                   relu);
}
#undef NT_MICRO_ARGS

/* One row panel of op(a) (one k block), as the tiles along it read it. */
typedef struct {
    const nt_gemm_t *g;
    int64_t kc;
    const float *a; /* the A panel: packed, or the caller's rows when direct_a */
    int direct_a;
    int accumulate;        /* add to c: not the first k block, or NT_GEMM_ACCUMULATE */
    int relu;              /* the last k block of a product with NT_GEMM_RELU */
    const float *bias_row; /* the last k block with NT_GEMM_ROW_BIAS: bias of these rows */
} panel_t;

/* One tile; a tile narrower than NR runs on a padded copy so no store leaves c (b must
 * then be a zero-padded packed panel), with one vector of columns when that is enough. */
static void tile(const panel_t *pa, int mr, int64_t nr, const float *b, int64_t ldb,
                 float *c, const float *bias_col)
{
    const nt_gemm_t *g = pa->g;
    if (nr == NT_NR && mr == NT_MR) { /* the common tile, inlined (3% at 64x784x128) */
        if (pa->direct_a && pa->kc >= NT_PREFETCH_C_MIN_K)
            micro(NT_MR, NT_NV, 1, 1, pa->kc, pa->a, g->lda, b, ldb, c, g->ldc, pa->accumulate,
                  bias_col, pa->bias_row, pa->relu);
        else if (pa->direct_a)
            micro(NT_MR, NT_NV, 1, 0, pa->kc, pa->a, g->lda, b, ldb, c, g->ldc, pa->accumulate,
                  bias_col, pa->bias_row, pa->relu);
        else if (pa->kc >= NT_PREFETCH_C_MIN_K)
            micro(NT_MR, NT_NV, 0, 1, pa->kc, pa->a, g->lda, b, ldb, c, g->ldc, pa->accumulate,
                  bias_col, pa->bias_row, pa->relu);
        else
            micro(NT_MR, NT_NV, 0, 0, pa->kc, pa->a, g->lda, b, ldb, c, g->ldc, pa->accumulate,
                  bias_col, pa->bias_row, pa->relu);
        return;
    }
    if (nr == NT_NR) {
        micro_any(mr, NT_NV, pa->direct_a, pa->kc, pa->a, g->lda, b, ldb, c, g->ldc,
                  pa->accumulate, bias_col, pa->bias_row, pa->relu);
        return;
    }
    /* The copies in and out go element by element over a constant NR: memcpy of nr floats,
     * a size known at run time only, is a library call per row (x[64,128] @ W[10,128]^T, 11
     * such tiles: 3.58 -> 3.31 us on Zen 3).  tmp is read only when accumulating. */
    float tmp[NT_MR * NT_NR], btmp[NT_NR];
    if (pa->accumulate)
        for (int i = 0; i < mr; ++i)
#pragma GCC unroll 32
            for (int j = 0; j < NT_NR; ++j)
                tmp[i * NT_NR + j] = j < nr ? c[i * g->ldc + j] : 0.0f;
    if (bias_col)
#pragma GCC unroll 32
        for (int j = 0; j < NT_NR; ++j)
            btmp[j] = j < nr ? bias_col[j] : 0.0f;
    micro_any(mr, nr <= NT_VL ? 1 : NT_NV, pa->direct_a, pa->kc, pa->a, g->lda, b, ldb, tmp,
              NT_NR, pa->accumulate, bias_col ? btmp : NULL, pa->bias_row, pa->relu);
    for (int i = 0; i < mr; ++i)
#pragma GCC unroll 32
        for (int j = 0; j < NT_NR; ++j)
            if (j < nr)
                c[i * g->ldc + j] = tmp[i * NT_NR + j];
}

static float *alloc_floats(int64_t count)
{
    size_t bytes = (size_t)count * sizeof(float);
    bytes = (bytes + NT_ALIGN - 1) / NT_ALIGN * NT_ALIGN;
    return aligned_alloc(NT_ALIGN, bytes ? bytes : NT_ALIGN);
}

/* A row stride that is a multiple of 4 KB maps every row to the same cache sets. */
static int aliasing_stride(int64_t ld)
{
    return ld % (4096 / (int64_t)sizeof(float)) == 0;
}

/* A row-major b is read in place by stripes of at most this many rows: its micro-panel
 * (kc rows of NR floats, one or two cache lines each) is loaded by the first row panel and
 * stays in L1 for the others, while a packed copy would cost a pass over b that few row
 * panels share (64x784x128's dx = dy @ w: 6% faster in place on Zen 3).  NOTE: 128 rows
 * (its dW = dy^T @ x) ran 1-2% faster in place with b 64-byte aligned, ~2% slower with b as
 * NumPy allocates it (16-byte aligned: a vector load in two crosses a cache line). */
#define NT_DIRECT_B_ROWS (16 * NT_MR)

/* Rows of the row panel that starts ir rows into a block of mc: MR, but for the last
 * two when together they are MR + 1 .. MR + MR/2 - 1 rows, which split evenly (m = 128 on
 * AVX2: 20 panels of 6, then 4 and 4, not 6 and 2: a tile of r rows keeps r * NV multiply-
 * add chains in flight, and 4 chains cannot keep two FMA units busy through their 4-cycle
 * latency: the last 8 rows x 16 columns with kc = 64 took 690 cycles as 6 + 2 rows and
 * 590 as 4 + 4 on Zen 3). */
static NT_ALWAYS_INLINE int panel_rows(int64_t mc, int64_t ir)
{
    int64_t rest = mc - ir;
    return (int)(rest <= NT_MR || rest >= NT_MR + NT_MR / 2 ? nt_min64(NT_MR, rest)
                                                             : (rest + 1) / 2);
}

/* Pack the A block op(a)[i0:i0+mc, p0:p0+kc] as row panels (of MR rows, see panel_rows),
 * k-major: panel ir at ap + ir*kc.  A transposed a ([k, m]) holds each k step of the whole
 * block in one row, so it is copied row by row into every panel: panel by panel, each
 * panel would read MR floats from each of kc rows, and with a row stride of 4 KB (dy^T in
 * the dW of a 1024-wide layer) all kc lines fall in one cache set, so every panel would
 * load them again from L2 (the dW of a layer with x[512,1024], w[1024,1024], 1 thread on
 * Zen 3: all its packing took 565-609 us panel by panel, 483-506 row by row). */
static void pack_a_block(const nt_gemm_t *g, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                         float *restrict ap)
{
    if (!g->trans_a) {
        for (int64_t ir = 0; ir < mc; ir += panel_rows(mc, ir))
            pack_a_panel(g, i0 + ir, panel_rows(mc, ir), p0, kc, ap + ir * kc);
        return;
    }
    for (int64_t p = 0; p < kc; ++p) {
        const float *src = g->a + (p0 + p) * g->lda + i0;
        for (int64_t ir = 0, mr; ir < mc; ir += mr) {
            mr = panel_rows(mc, ir);
            if (mr == NT_MR)
                memcpy(ap + ir * kc + p * NT_MR, src + ir, NT_MR * sizeof(float));
            else
                memcpy(ap + ir * kc + p * mr, src + ir, (size_t)mr * sizeof(float));
        }
    }
}

/* c[m0:m1, jc:jc+nc] (+)= op(a)[m0:m1, pc:pc+kc] @ op(b)[pc:pc+kc, jc:jc+nc], the B block
 * packed in bp (panel jr at bp + jr*kc) or, with direct_b, read in place but for its narrow
 * last panel (packed at bp).  ap has room for an A block (mc_step x kc) unless direct_a. */
static void gemm_block(const nt_gemm_t *g, int64_t m0, int64_t m1, int64_t jc, int64_t nc,
                       int64_t pc, int64_t kc, const float *bp, int direct_b, int direct_a,
                       float *ap, int64_t mc_step)
{
    int64_t n_full = nc / NT_NR * NT_NR;
    int last = pc + kc == g->k, row_bias = g->flags & NT_GEMM_ROW_BIAS;
    const float *bias = last && g->bias && !row_bias ? g->bias + jc : NULL;
    panel_t pa = {g, kc, ap, direct_a, pc > 0 || (g->flags & NT_GEMM_ACCUMULATE),
                  last && (g->flags & NT_GEMM_RELU), NULL};
    /* Full tiles with no bias and no relu run the micro-kernel inlined here, not through
     * tile(): a call with its stack frame and register saves costs tens of cycles, and
     * 64x784x128's dW runs 1078 tiles of only 64 k steps (6 cycles each).  On Zen 3, 1
     * thread: dW 146-148 -> 140-142 us, dx 136-143 -> 136-137, the forward 143 -> 140-141;
     * x[64,128] W[10,128]'s dx (88 tiles of k = 10) 2.46 -> 2.27 us. */
    int plain = !(last && g->bias) && !pa.relu, short_k = kc < NT_PREFETCH_C_MIN_K;
    for (int64_t ic = m0; ic < m1; ic += mc_step) {
        int64_t mc = nt_min64(mc_step, m1 - ic);
        if (!direct_a)
            pack_a_block(g, ic, mc, pc, kc, ap);
        /* The operand read in place stays in L1 across the inner loop: the caller's rows
         * of a (MR strided rows) when direct_a, else each micro-panel of B meets every row
         * panel of the packed A block (from L2).  Two loop nests, not one with the order
         * chosen per tile: the per-tile bookkeeping (which panel, which b, which bias) is
         * done once per outer step (64x784x128's dW runs 1078 tiles of only 64 k steps). */
        float *c_block = g->c + ic * g->ldc + jc;
        if (direct_a) {
            for (int64_t ir = 0, mr; ir < mc; ir += mr) {
                mr = panel_rows(mc, ir);
                pa.a = g->a + (ic + ir) * g->lda + pc;
                pa.bias_row = last && g->bias && row_bias ? g->bias + ic + ir : NULL;
                float *c_row = c_block + ir * g->ldc;
                for (int64_t jr = 0; jr < nc; jr += NT_NR) {
                    int in_place = direct_b && jr < n_full;
                    const float *b = in_place ? g->b + pc * g->ldb + jc + jr
                                              : direct_b ? bp : bp + jr * kc;
                    int64_t ldb = in_place ? g->ldb : NT_NR, nr = nt_min64(NT_NR, nc - jr);
                    if (plain && mr == NT_MR && nr == NT_NR && short_k)
                        micro(NT_MR, NT_NV, 1, 0, kc, pa.a, g->lda, b, ldb, c_row + jr, g->ldc,
                              pa.accumulate, NULL, NULL, 0);
                    else if (plain && mr == NT_MR && nr == NT_NR)
                        micro(NT_MR, NT_NV, 1, 1, kc, pa.a, g->lda, b, ldb, c_row + jr, g->ldc,
                              pa.accumulate, NULL, NULL, 0);
                    else
                        tile(&pa, (int)mr, nr, b, ldb, c_row + jr, bias ? bias + jr : NULL);
                }
            }
            continue;
        }
        for (int64_t jr = 0; jr < nc; jr += NT_NR) {
            int in_place = direct_b && jr < n_full;
            const float *b = in_place ? g->b + pc * g->ldb + jc + jr
                                      : direct_b ? bp : bp + jr * kc;
            int64_t ldb = in_place ? g->ldb : NT_NR, nr = nt_min64(NT_NR, nc - jr);
            const float *bias_col = bias ? bias + jr : NULL;
            for (int64_t ir = 0, mr; ir < mc; ir += mr) {
                mr = panel_rows(mc, ir);
                pa.a = ap + ir * kc;
                pa.bias_row = last && g->bias && row_bias ? g->bias + ic + ir : NULL;
                if (plain && mr == NT_MR && nr == NT_NR && !short_k)
                    micro(NT_MR, NT_NV, 0, 1, kc, pa.a, g->lda, b, ldb,
                          c_block + ir * g->ldc + jr, g->ldc, pa.accumulate, NULL, NULL, 0);
                else
                    tile(&pa, (int)mr, nr, b, ldb, c_block + ir * g->ldc + jr, bias_col);
            }
        }
    }
}

/* Whether a stripe of c nc columns wide reads a in place (see the top of this file). */
static int reads_a_in_place(const nt_gemm_t *g, int64_t nc)
{
    return !g->trans_a && !aliasing_stride(g->lda) && nc <= NT_DIRECT_A_COLS;
}

/* Rows m split into equal A blocks of at most mc_max rows, a multiple of MR: 516 rows with
 * mc = 252 run as 174 + 174 + 168, not 252 + 252 + 12 (a block of 2 row panels would load
 * each B micro-panel into L1 for 2 tiles only). */
static int64_t balanced_mc(int64_t m, int64_t mc_max)
{
    int64_t blocks = (m + mc_max - 1) / mc_max, mc = (m + blocks - 1) / blocks;
    return nt_min64((mc + NT_MR - 1) / NT_MR * NT_MR, mc_max);
}

/* The k block when a is read in place: then the MR rows of a (MR x kc floats) stay in L1
 * in place of a B micro-panel (kc x NR floats), and the B block (kc x nc) stays in L2 in
 * place of an A block (mc x kc): kc can grow by NR/MR and mc/nc, up to twice bl->kc.  Fewer
 * k blocks: fewer loads and stores of every tile of c (64x784x128: 2 blocks of 392, not 4
 * of 200). */
static int64_t direct_a_kc(const nt_blocking_t *bl, int64_t nc)
{
    int64_t by_l1 = bl->kc * NT_NR / NT_MR, by_l2 = bl->mc * bl->kc / nc;
    return nt_min64(nt_min64(by_l1, by_l2), 2 * bl->kc) / 8 * 8;
}

static int gemm_stripe(const nt_gemm_t *g, const nt_blocking_t *bl, int64_t m0, int64_t m1,
                       int64_t n0, int64_t n1)
{
    int64_t nc_step = nt_min64((n1 - n0 + NT_NR - 1) / NT_NR * NT_NR, bl->nc);
    int64_t mc_step = balanced_mc(m1 - m0, bl->mc);
    int direct_a = reads_a_in_place(g, n1 - n0);
    /* The k blocks follow the whole product, not this stripe: each element of c then gets
     * the same partial sums on any number of threads (2 threads' stripes may read a in place
     * where 1 thread's whole width packs it: 200x500x300 on AVX-512 differed in 88% of c). */
    int64_t whole_nc = nt_min64((g->n + NT_NR - 1) / NT_NR * NT_NR, bl->nc);
    int64_t kc_step = nt_balanced_kc(g->k, reads_a_in_place(g, g->n) ? direct_a_kc(bl, whole_nc)
                                                                      : bl->kc);
    int direct_b = !g->trans_b && !aliasing_stride(g->ldb) && m1 - m0 <= NT_DIRECT_B_ROWS;
    /* in place, b still needs a padded copy of its last, narrow panel */
    float *bp = alloc_floats(kc_step * (direct_b ? NT_NR : nc_step));
    float *ap = direct_a ? NULL : alloc_floats(kc_step * mc_step);
    if (!bp || (!direct_a && !ap)) {
        free(bp);
        free(ap);
        return NT_ENOMEM;
    }
    unsigned csr = nt_ftz_enter();
    for (int64_t jc = n0; jc < n1; jc += nc_step) {
        int64_t nc = nt_min64(nc_step, n1 - jc), n_full = nc / NT_NR * NT_NR;
        for (int64_t pc = 0; pc < g->k; pc += kc_step) {
            int64_t kc = nt_min64(kc_step, g->k - pc);
            if (!direct_b)
                pack_b_block(g, pc, kc, jc, nc, bp);
            else if (n_full < nc)
                pack_b_block(g, pc, kc, jc + n_full, nc - n_full, bp);
            gemm_block(g, m0, m1, jc, nc, pc, kc, bp, direct_b, direct_a, ap, mc_step);
        }
    }
    nt_ftz_leave(csr);
    free(bp);
    free(ap);
    return NT_OK;
}

/* Share t of nt of packing the B block (pc, kc, jc, nc) into bp: a run of its panels. */
static void pack_b_share(const nt_gemm_t *g, int64_t pc, int64_t kc, int64_t jc, int64_t nc,
                         float *bp, int t, int nt)
{
    int64_t lo, hi;
    nt_range((nc + NT_NR - 1) / NT_NR, t, nt, &lo, &hi);
    if (lo < hi)
        pack_b_block(g, pc, kc, jc + lo * NT_NR, nt_min64(hi * NT_NR, nc) - lo * NT_NR,
                     bp + lo * NT_NR * kc);
}

/* Rows m0..m1 of c against the B block (pc, kc, jc, nc) packed in bp. */
static int gemm_rows(const nt_gemm_t *g, const nt_blocking_t *bl, int64_t m0, int64_t m1,
                     int64_t jc, int64_t nc, int64_t pc, int64_t kc, const float *bp)
{
    int64_t mc_step = balanced_mc(m1 - m0, bl->mc);
    int direct_a = reads_a_in_place(g, nc);
    float *ap = direct_a ? NULL : alloc_floats(kc * mc_step);
    if (!direct_a && !ap)
        return NT_ENOMEM;
    unsigned csr = nt_ftz_enter();
    gemm_block(g, m0, m1, jc, nc, pc, kc, bp, 0, direct_a, ap, mc_step);
    nt_ftz_leave(csr);
    free(ap);
    return NT_OK;
}

/* The dot-product path, for c = a @ b^T (a row-major, b given as [n, k]) when a or b has
 * few rows: one sample through a Linear layer (m = 1), or a layer onto 10 classes (n = 10).
 * Each c[i,j] is the dot product of row i of a and row j of b, both read in place along k,
 * so nothing is packed: the packed path would copy (and transpose) all of b, or all of a,
 * for a product that uses each of its numbers only a few times, and would pad a 10-column
 * c to a 16-column tile.  A block of DOT_R rows of a by DOT_C rows of b keeps DOT_R*DOT_C =
 * VL vector accumulators (each lane a partial sum over every VL-th k), loading DOT_R +
 * DOT_C vectors for every VL accumulators (AVX2's 2 x 4: 6 loads for 8 multiply-adds, so
 * the two load ports keep the two FMA units busy); then one VL x VL transpose in registers
 * turns the VL accumulators into the block's VL sums. */
#if NT_VL >= 16
#define NT_DOT_R 4
#elif NT_VL >= 4
#define NT_DOT_R 2
#else
#define NT_DOT_R 1
#endif
#define NT_DOT_C (NT_VL / NT_DOT_R)

/* out[i*DOT_C + j] = sum over k of a[i0+i, :] * b[j0+j, :] for i < r, j < cc (the rows
 * past r or cc read the last valid row again, in bounds; their sums are not used). */
static void dot_block(const nt_gemm_t *g, int64_t i0, int r, int64_t j0, int cc,
                      float out[NT_VL])
{
    const float *ar[NT_DOT_R], *br[NT_DOT_C];
    for (int i = 0; i < NT_DOT_R; ++i)
        ar[i] = g->a + (i0 + (i < r ? i : r - 1)) * g->lda;
    for (int j = 0; j < NT_DOT_C; ++j)
        br[j] = g->b + (j0 + (j < cc ? j : cc - 1)) * g->ldb;
    nt_vf acc[NT_VL];
#pragma GCC unroll 16
    for (int q = 0; q < NT_VL; ++q)
        acc[q] = NT_SPLAT(0.0f);
    int64_t k = g->k, kv = k / NT_VL * NT_VL, p = 0;
    for (; p < kv; p += NT_VL) {
        nt_vf av[NT_DOT_R];
#pragma GCC unroll 4
        for (int i = 0; i < NT_DOT_R; ++i)
            av[i] = nt_vload(ar[i] + p);
#pragma GCC unroll 4
        for (int j = 0; j < NT_DOT_C; ++j) {
            nt_vf bv = nt_vload(br[j] + p);
#pragma GCC unroll 4
            for (int i = 0; i < NT_DOT_R; ++i)
                acc[i * NT_DOT_C + j] += av[i] * bv;
        }
    }
#if NT_FAST_TRANSPOSE /* lane q of acc[l] -> lane l of acc[q]: summing the rows sums each */
    transpose_block(acc);
    nt_vf sum = acc[0];
#pragma GCC unroll 16
    for (int q = 1; q < NT_VL; ++q)
        sum += acc[q];
    nt_vstore(out, sum);
#else
    for (int q = 0; q < NT_VL; ++q) {
        float lanes[NT_VL], t = 0.0f;
        memcpy(lanes, &acc[q], sizeof lanes);
        for (int l = 0; l < NT_VL; ++l)
            t += lanes[l];
        out[q] = t;
    }
#endif
    for (; p < k; ++p) /* the last k % VL steps */
        for (int i = 0; i < NT_DOT_R; ++i)
            for (int j = 0; j < NT_DOT_C; ++j)
                out[i * NT_DOT_C + j] += ar[i][p] * br[j][p];
}

/* c[m0:m1, n0:n1] of a product with !trans_a and trans_b, by dot products, epilogue
 * included (the same order as the tiles': + c, + bias, relu). */
static int dot_stripe(const nt_gemm_t *g, const nt_blocking_t *bl, int64_t m0, int64_t m1,
                      int64_t n0, int64_t n1)
{
    (void)bl;
    int row_bias = g->flags & NT_GEMM_ROW_BIAS;
    unsigned csr = nt_ftz_enter();
    /* b's rows outer: its DOT_C rows stay in L1 while the rows of a pass (a is the small
     * operand when m is small, and then stays in L1 or L2 whole) */
    for (int64_t j0 = n0; j0 < n1; j0 += NT_DOT_C)
        for (int64_t i0 = m0; i0 < m1; i0 += NT_DOT_R) {
            int r = (int)nt_min64(NT_DOT_R, m1 - i0), cc = (int)nt_min64(NT_DOT_C, n1 - j0);
            float out[NT_VL];
            dot_block(g, i0, r, j0, cc, out);
            for (int i = 0; i < r; ++i)
                for (int j = 0; j < cc; ++j) {
                    float *dst = g->c + (i0 + i) * g->ldc + j0 + j;
                    float v = out[i * NT_DOT_C + j];
                    if (g->flags & NT_GEMM_ACCUMULATE)
                        v += *dst;
                    if (g->bias)
                        v += g->bias[row_bias ? i0 + i : j0 + j];
                    *dst = g->flags & NT_GEMM_RELU ? NT_RELU(v) : v;
                }
        }
    nt_ftz_leave(csr);
    return NT_OK;
}

/* The micro-kernel's arithmetic without its memory: MR*NV independent chains of vector
 * multiply-adds (as many as the tile's accumulators, enough to cover the FMA units'
 * latency), so rounds * MR*NV*VL*2 / seconds is the core's float32 peak. */
static float fma_burst(int64_t rounds)
{
    nt_vf acc[NT_MR * NT_NV];
    const nt_vf x = NT_SPLAT(0.999f), y = NT_SPLAT(1e-3f);
#pragma GCC unroll 32
    for (int i = 0; i < NT_MR * NT_NV; ++i)
        acc[i] = NT_SPLAT((float)i);
    for (int64_t r = 0; r < rounds; ++r)
#pragma GCC unroll 32
        for (int i = 0; i < NT_MR * NT_NV; ++i)
            acc[i] = acc[i] * x + y;
    nt_vf sum = NT_SPLAT(0.0f);
    for (int i = 0; i < NT_MR * NT_NV; ++i)
        sum += acc[i];
    float out;
    memcpy(&out, &sum, sizeof out);
    return out;
}

const nt_gemm_isa_t NT_ISA = {NT_ISA_NAME, NT_MR,        NT_NR,    gemm_stripe, fma_burst,
                             pack_b_share, gemm_rows, dot_stripe, NT_DOT_R, NT_DOT_C};
