/* cross_entropy_rows.h -- the loops of the fused softmax cross-entropy, written once on
 * NT_VL lanes and compiled twice: by cross_entropy.c for the architecture's baseline, and by
 * cross_entropy_avx2.c 8 lanes wide with AVX2 and FMA (x86 builds whose baseline is
 * narrower: cross_entropy.c runs that copy when nt_wide(), vec_math.h).  NT_CE_NAME(name)
 * names a copy's functions; the entry points in cross_entropy.c check the arguments first.
 * NOTE: the wide copy's exp, log and sums round with fused multiply-adds: within float32
 * rounding of the baseline's, not the same bits.  With the overlapping last vector below,
 * the [512, 10] forward+backward went from 219k to 117k instructions per call (callgrind).
 */
#include "nanotorch_kernels.h"
#include "vec_math.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define CE_BLOCK 64 /* rows per block of the forward (their max and shifted sums on the stack) */

/* p[k] = exp(p[k]) for k < len: whole vectors, then the tail through a padded vector. */
static void NT_CE_NAME(ce_exp_inplace)(float *restrict p, int64_t len)
{
    int64_t k = 0;
    for (; k + NT_VL <= len; k += NT_VL)
        nt_vstore(p + k, nt_vexpf(nt_vload(p + k)));
    if (k < len) {
        float tail[NT_VL] = {0};
        memcpy(tail, p + k, (size_t)(len - k) * sizeof(float));
        nt_vstore(tail, nt_vexpf(nt_vload(tail)));
        memcpy(p + k, tail, (size_t)(len - k) * sizeof(float));
    }
}

/* The rows of c floats below run in whole vectors; a row of c >= NT_VL floats ends with one
 * more vector loaded at c - NT_VL, overlapping the last whole one (NOTE: so a short row such
 * as c = 10 takes two vectors, not one and a scalar tail: the [512, 10] forward's per-row
 * loops were ~4/5 of its instructions, its exp the rest).  Lanes it redoes give the same values again, and
 * the sum leaves them out; a row shorter than a vector runs in scalars. */

/* max_j l[j] (with a NaN logit, some value of the row: the NaN still makes the row's loss
 * NaN through exp).  NOTE: NT_VL lanes, then across them: a serial max chain waits ~3
 * cycles a value. */
static inline float NT_CE_NAME(ce_row_max)(const float *restrict l, int64_t c)
{
    float m = l[0];
    int64_t j = 0;
#if NT_VL > 1
    if (c >= NT_VL) {
        nt_vf vm = nt_vload(l + c - NT_VL);
        for (; j + NT_VL < c; j += NT_VL) {
            nt_vf v = nt_vload(l + j);
            vm = nt_vselect((nt_vu)(v > vm), v, vm);
        }
        return nt_vhmax(vm);
    }
#endif
    for (; j < c; ++j)
        m = l[j] > m ? l[j] : m;
    return m;
}

/* p[j] = l[j] - m */
static inline void NT_CE_NAME(ce_row_shift)(const float *restrict l, float m, float *restrict p,
                                            int64_t c)
{
    int64_t j = 0;
#if NT_VL > 1
    if (c >= NT_VL) {
        for (; j + NT_VL < c; j += NT_VL)
            nt_vstore(p + j, nt_vload(l + j) - m);
        nt_vstore(p + c - NT_VL, nt_vload(l + c - NT_VL) - m);
        return;
    }
#endif
    for (; j < c; ++j)
        p[j] = l[j] - m;
}

/* sum_j p[j], in float lanes (as nt_span_dot within one of its blocks) */
static inline float NT_CE_NAME(ce_row_sum)(const float *restrict p, int64_t c)
{
    float s = 0.0f;
    int64_t j = 0;
#if NT_VL > 1
    if (c >= NT_VL) {
        nt_vf acc = NT_SPLAT(0.0f);
        for (; j + NT_VL <= c; j += NT_VL)
            acc += nt_vload(p + j);
        if (j < c) { /* the overlapping vector, without the lanes before j */
            nt_vi lane;
            for (int k = 0; k < NT_VL; ++k)
                lane[k] = k;
            nt_vu fresh = (nt_vu)(lane >= (int32_t)(j - (c - NT_VL)));
            acc += nt_vselect(fresh, nt_vload(p + c - NT_VL), NT_SPLAT(0.0f));
        }
        return nt_vhsum(acc);
    }
#endif
    for (; j < c; ++j)
        s += p[j];
    return s;
}

/* p[j] *= inv (the last vector read before any is written: its lanes get the same values) */
static inline void NT_CE_NAME(ce_row_scale)(float *restrict p, float inv, int64_t c)
{
    int64_t j = 0;
#if NT_VL > 1
    if (c >= NT_VL) {
        nt_vf last = nt_vload(p + c - NT_VL);
        for (; j + NT_VL < c; j += NT_VL)
            nt_vstore(p + j, nt_vload(p + j) * inv);
        nt_vstore(p + c - NT_VL, last * inv);
        return;
    }
#endif
    for (; j < c; ++j)
        p[j] *= inv;
}

/* The forward of nt_cross_entropy_fwd_f32 on checked arguments: probs, and loss[i] per row
 * when row_loss; returns the sum of the losses and sets *valid to the rows not ignored. */
double NT_CE_NAME(nt_ce_fwd_rows)(int64_t n, int64_t c, const float *restrict logits,
                                  const int64_t *restrict target, double label_smoothing,
                                  int64_t ignore_index, int row_loss, float *restrict loss,
                                  float *restrict probs, int64_t *valid)
{
    float e = (float)label_smoothing, keep = (float)(1.0 - label_smoothing);
    float e_over_c = (float)(label_smoothing / (double)c);
    double total = 0.0;
    int64_t kept = 0;
    float row_max[CE_BLOCK], sums[CE_BLOCK + NT_VL], log_sums[CE_BLOCK + NT_VL];
    double row_shifted[CE_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += CE_BLOCK) {
        int64_t rows = n - i0 < CE_BLOCK ? n - i0 : CE_BLOCK;
        const float *lb = logits + i0 * c;
        float *pb = probs + i0 * c;
        for (int64_t r = 0; r < rows; ++r) { /* p = l - m, row by row */
            const float *l = lb + r * c;
            float *p = pb + r * c;
            float m = NT_CE_NAME(ce_row_max)(l, c);
            NT_CE_NAME(ce_row_shift)(l, m, p, c);
            row_max[r] = m;
            if (e != 0.0f) /* the label smoothing's sum_c (l_c - m) */
                row_shifted[r] = nt_span_dot(l, m, NULL, 0.0f, c);
        }
        /* NOTE: one flat pass over the block, so all lanes work however small c is (glibc's
         * expf is a call per element: the [512, 10] forward kernel went 22.6 -> 11.9 us) */
        NT_CE_NAME(ce_exp_inplace)(pb, rows * c);
        for (int64_t r = 0; r < rows; ++r) /* NOTE: long rows in double across blocks */
            sums[r] = c <= NT_SPAN_BLOCK ? NT_CE_NAME(ce_row_sum)(pb + r * c, c)
                                         : (float)nt_span_dot(pb + r * c, 0.0f, NULL, 0.0f, c);
        /* the sums' logs NT_VL at a time (logf is a call per row: ~30% of the [512, 10]
         * forward); the lanes past the last row hold 1 */
        for (int64_t r = rows; r < CE_BLOCK + NT_VL; ++r)
            sums[r] = 1.0f;
        for (int64_t r = 0; r < rows; r += NT_VL)
            nt_vstore(log_sums + r, nt_vlogf(nt_vload(sums + r)));
        for (int64_t r = 0; r < rows; ++r) {
            int64_t i = i0 + r;
            const float *l = lb + r * c;
            float *p = pb + r * c, m = row_max[r];
            float inv = 1.0f / sums[r], log_sum = log_sums[r];
            NT_CE_NAME(ce_row_scale)(p, inv, c);
            float li = 0.0f;
            if (target[i] != ignore_index) {
                li = -((l[target[i]] - m) - log_sum);
                if (e != 0.0f)
                    li = keep * li - e_over_c * (float)(row_shifted[r] - (double)c * log_sum);
                ++kept;
            }
            if (row_loss)
                loss[i] = li;
            total += li;
        }
    }
    *valid = kept;
    return total;
}

/* The backward of nt_cross_entropy_bwd_f32 on checked arguments (its comment: the math), for
 * n rows of which `valid` (of all the rows, when a thread runs a share) are not ignored. */
void NT_CE_NAME(nt_ce_bwd_rows)(int64_t n, int64_t c, const float *restrict dloss,
                                int dloss_per_row, const float *restrict probs,
                                const int64_t *restrict target, int reduction,
                                double label_smoothing, int64_t ignore_index, int64_t valid,
                                float *restrict dlogits)
{
    float e_over_c = (float)(label_smoothing / (double)c), keep = (float)(1.0 - label_smoothing);
    if (!dloss_per_row) { /* one scale for every row: one flat pass, then the target entries
                           * (and rows ignored) redone; each value as the loop below gives */
        float scale = dloss[0], zero_scale = dloss[0] * 0.0f;
        if (reduction == NT_REDUCE_MEAN) {
            scale /= (float)(valid > 0 ? valid : 1);
            zero_scale /= (float)(valid > 0 ? valid : 1);
        }
        for (int64_t k = 0; k < n * c; ++k)
            dlogits[k] = (probs[k] - e_over_c) * scale;
        for (int64_t i = 0; i < n; ++i) {
            const float *p = probs + i * c;
            float *g = dlogits + i * c;
            if (target[i] != ignore_index)
                g[target[i]] = (p[target[i]] - e_over_c - keep) * scale;
            else
                for (int64_t j = 0; j < c; ++j)
                    g[j] = (p[j] - e_over_c) * zero_scale;
        }
        return;
    }
    for (int64_t i = 0; i < n; ++i) {
        int ok = target[i] != ignore_index;
        float scale = dloss[dloss_per_row ? i : 0] * (float)ok;
        if (reduction == NT_REDUCE_MEAN) /* NOTE: all rows ignored: a zero gradient */
            scale /= (float)(valid > 0 ? valid : 1);
        const float *p = probs + i * c;
        float *g = dlogits + i * c;
        for (int64_t j = 0; j < c; ++j)
            g[j] = p[j] - e_over_c;
        if (ok)
            g[target[i]] -= keep;
        for (int64_t j = 0; j < c; ++j)
            g[j] *= scale;
    }
}
