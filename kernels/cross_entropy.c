/* cross_entropy.c -- softmax and cross-entropy fused, over logits[n, c] and int64 targets.
 * One thread: the work is O(n*c) and small next to the layer that produced the logits.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#include <math.h>

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
    for (int64_t i = 0; i < n; ++i) {
        const float *l = logits + i * c;
        float *p = probs + i * c;
        float m = l[0];
        for (int64_t j = 1; j < c; ++j)
            m = l[j] > m ? l[j] : m;
        double sum = 0.0, sum_shifted = 0.0;
        for (int64_t j = 0; j < c; ++j) {
            p[j] = expf(l[j] - m);
            sum += p[j];
            sum_shifted += l[j] - m;
        }
        float inv = (float)(1.0 / sum), log_sum = (float)log(sum);
        for (int64_t j = 0; j < c; ++j)
            p[j] *= inv;
        float li = 0.0f;
        if (target[i] != ignore_index) {
            li = -((l[target[i]] - m) - log_sum);
            if (e != 0.0f)
                li = keep * li - e_over_c * (float)(sum_shifted - (double)c * log_sum);
            ++valid;
        }
        if (reduction == NT_REDUCE_NONE)
            loss[i] = li;
        total += li;
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
