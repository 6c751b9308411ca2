/* cross_entropy.c -- softmax and cross-entropy fused, over logits[n, c] and int64 targets.
 * One thread: the work is O(n*c) and small next to the layer that produced the logits.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"
#include "vec_math.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define CE_BLOCK 64 /* rows per block of the forward (their max and shifted sums on the stack) */

/* p[k] = exp(p[k]) for k < len: whole vectors, then the tail through a padded vector. */
static void ce_exp_inplace(float *restrict p, int64_t len)
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

/* max_j l[j] (NaN lanes are skipped; a NaN logit still makes its row's loss NaN through
 * exp).  NOTE: NT_VL lanes, then across them: a serial max chain waits ~3 cycles a value. */
static float ce_row_max(const float *restrict l, int64_t c)
{
    float m = l[0];
    int64_t j = 0;
#if NT_VL > 1
    if (c >= NT_VL) {
        nt_vf vm = nt_vload(l);
        for (j = NT_VL; j + NT_VL <= c; j += NT_VL) {
            nt_vf v = nt_vload(l + j);
            vm = nt_vselect((nt_vu)(v > vm), v, vm);
        }
        for (int k = 0; k < NT_VL; ++k)
            m = vm[k] > m ? vm[k] : m;
    }
#endif
    for (; j < c; ++j)
        m = l[j] > m ? l[j] : m;
    return m;
}

static int bad_targets(int64_t n, int64_t c, const int64_t *target, int64_t ignore_index)
{
    for (int64_t i = 0; i < n; ++i)
        if ((target[i] < 0 || target[i] >= c) && target[i] != ignore_index)
            return 1;
    return 0;
}

/* Per row: lse = m + log(sum_c exp(l_c - m)) with m the row max (NOTE: so logits of any
 * magnitude are safe), log p = l - lse, probs = exp(l - m) / sum;
 * loss_i = -(1-e) log p[t_i] - e/C sum_c log p[c], 0 where t_i == ignore_index.
 * loss: [n] for NT_REDUCE_NONE, else [1]: the sum, divided by the number of rows not
 * ignored for NT_REDUCE_MEAN.  probs [n, c] is kept for backward.
 * Saves: the shifted, exp and log-prob temporaries: two passes over each row. */
int nt_cross_entropy_fwd_f32(int64_t n, int64_t c, const float *restrict logits,
                             const int64_t *restrict target, int reduction,
                             double label_smoothing, int64_t ignore_index,
                             float *restrict loss, float *restrict probs)
{
    if (n < 0 || c < 1 || reduction < NT_REDUCE_NONE || reduction > NT_REDUCE_SUM || !loss
        || (n > 0 && (!logits || !target || !probs)) || bad_targets(n, c, target, ignore_index))
        return NT_EINVAL;
    float e = (float)label_smoothing, keep = (float)(1.0 - label_smoothing);
    float e_over_c = (float)(label_smoothing / (double)c);
    double total = 0.0;
    int64_t valid = 0;
    float row_max[CE_BLOCK], sums[CE_BLOCK + NT_VL], log_sums[CE_BLOCK + NT_VL];
    double row_shifted[CE_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += CE_BLOCK) {
        int64_t rows = n - i0 < CE_BLOCK ? n - i0 : CE_BLOCK;
        const float *lb = logits + i0 * c;
        float *pb = probs + i0 * c;
        for (int64_t r = 0; r < rows; ++r) { /* p = l - m, row by row */
            const float *l = lb + r * c;
            float *p = pb + r * c;
            float m = ce_row_max(l, c);
            for (int64_t j = 0; j < c; ++j)
                p[j] = l[j] - m;
            row_max[r] = m;
            if (e != 0.0f) /* the label smoothing's sum_c (l_c - m) */
                row_shifted[r] = nt_span_dot(l, m, NULL, 0.0f, c);
        }
        /* NOTE: one flat pass over the block, so all lanes work however small c is (glibc's
         * expf is a call per element: the [512, 10] forward kernel went 22.6 -> 11.9 us) */
        ce_exp_inplace(pb, rows * c);
        for (int64_t r = 0; r < rows; ++r)
            sums[r] = (float)nt_span_dot(pb + r * c, 0.0f, NULL, 0.0f, c);
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
            for (int64_t j = 0; j < c; ++j)
                p[j] *= inv;
            float li = 0.0f;
            if (target[i] != ignore_index) {
                li = -((l[target[i]] - m) - log_sum);
                if (e != 0.0f)
                    li = keep * li - e_over_c * (float)(row_shifted[r] - (double)c * log_sum);
                ++valid;
            }
            if (reduction == NT_REDUCE_NONE)
                loss[i] = li;
            total += li;
        }
    }
    if (reduction != NT_REDUCE_NONE)
        loss[0] = reduction == NT_REDUCE_SUM ? (float)total : (float)total / (float)valid;
    return NT_OK;
}

/* dlogits_i = (probs_i - e/C - (1-e) onehot(t_i)) * dloss_i, times 0 for ignored rows and
 * divided by the number of rows not ignored (at least 1) for NT_REDUCE_MEAN.  dloss is [n] when
 * dloss_per_row, else [1].  Saves: the copy of probs and the one-hot scatter. */
int nt_cross_entropy_bwd_f32(int64_t n, int64_t c, const float *restrict dloss,
                             int dloss_per_row, const float *restrict probs,
                             const int64_t *restrict target, int reduction,
                             double label_smoothing, int64_t ignore_index,
                             float *restrict dlogits)
{
    if (n < 0 || c < 1 || reduction < NT_REDUCE_NONE || reduction > NT_REDUCE_SUM || !dloss
        || (n > 0 && (!probs || !target || !dlogits)) || bad_targets(n, c, target, ignore_index))
        return NT_EINVAL;
    float e_over_c = (float)(label_smoothing / (double)c), keep = (float)(1.0 - label_smoothing);
    int64_t valid = 0;
    for (int64_t i = 0; i < n; ++i)
        valid += target[i] != ignore_index;
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
        return NT_OK;
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
    return NT_OK;
}
