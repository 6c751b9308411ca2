/* cross_entropy.c -- softmax and cross-entropy fused, over logits[n, c] and int64 targets:
 * the entry points, which check their arguments and run the loops of cross_entropy_rows.h,
 * compiled here for the baseline and in cross_entropy_avx2.c 8 lanes wide.
 * One thread: the work is O(n*c) and small next to the layer that produced the logits.
 */
#define NT_KERNEL_SOURCE
#define NT_CE_NAME(name) name##_base
#include "cross_entropy_rows.h"

#if NT_WIDE /* cross_entropy_avx2.c's copy */
double nt_ce_fwd_rows_avx2(int64_t n, int64_t c, const float *restrict logits,
                           const int64_t *restrict target, double label_smoothing,
                           int64_t ignore_index, int row_loss, float *restrict loss,
                           float *restrict probs, int64_t *valid);
void nt_ce_bwd_rows_avx2(int64_t n, int64_t c, const float *restrict dloss, int dloss_per_row,
                         const float *restrict probs, const int64_t *restrict target,
                         int reduction, double label_smoothing, int64_t ignore_index,
                         float *restrict dlogits);
#define CE_PICK(name) (nt_wide() ? name##_avx2 : name##_base)
#else
#define CE_PICK(name) (name##_base)
#endif

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
    int64_t valid = 0;
    double total = CE_PICK(nt_ce_fwd_rows)(n, c, logits, target, label_smoothing, ignore_index,
                                           reduction == NT_REDUCE_NONE, loss, probs, &valid);
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
    CE_PICK(nt_ce_bwd_rows)(n, c, dloss, dloss_per_row, probs, target, reduction,
                            label_smoothing, ignore_index, dlogits);
    return NT_OK;
}
