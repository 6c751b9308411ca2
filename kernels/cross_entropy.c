/* cross_entropy.c -- softmax and cross-entropy fused, over logits[n, c] and int64 targets:
 * the entry points, which check their arguments and run the loops of cross_entropy_rows.h,
 * compiled here for the baseline and in cross_entropy_avx2.c 8 lanes wide.
 * Threads share the rows in whole blocks when there are enough of them (CE_FWD_PAR_MIN).
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
                         int64_t valid, float *restrict dlogits);
#define CE_PICK(name) (nt_wide() ? name##_avx2 : name##_base)
#else
#define CE_PICK(name) (name##_base)
#endif

/* Elements of logits per thread before a second one pays: the forward costs ~1.5 ns an
 * element (its exp), the pool's hand-over ~1-2 us.  NOTE: [512, 10] forward on 2 threads of
 * the EPYC: ~10.6 -> ~7.5 us (min of 9 x 2,000).  The backward, one pass and ~4x cheaper,
 * still takes the same threshold: split as the forward was, each thread reads the
 * probabilities its own share wrote, which on the other core would cost a trip between the
 * cores for every line (Xeon, [512, 10] forward+backward through the backend, 2 threads,
 * medians of 3 alternating pairs: 11.3-12.1 -> 10.5-10.6 us). */
#define CE_FWD_PAR_MIN 2048
#define CE_BWD_PAR_MIN CE_FWD_PAR_MIN

static int bad_targets(int64_t n, int64_t c, const int64_t *target, int64_t ignore_index)
{
    for (int64_t i = 0; i < n; ++i)
        if ((target[i] < 0 || target[i] >= c) && target[i] != ignore_index)
            return 1;
    return 0;
}

/* Rows [lo, hi) of share t of nt: whole blocks of CE_BLOCK rows (the forward's unit). */
static void ce_rows(int64_t n, int t, int nt, int64_t *lo, int64_t *hi)
{
    nt_range((n + CE_BLOCK - 1) / CE_BLOCK, t, nt, lo, hi);
    *lo = nt_min64(n, *lo * CE_BLOCK);
    *hi = nt_min64(n, *hi * CE_BLOCK);
}

typedef struct {
    int64_t n, c, ignore_index, valid;
    const float *logits, *dloss, *probs;
    const int64_t *target;
    double label_smoothing;
    int reduction, dloss_per_row;
    float *loss, *out;                        /* loss (forward, per row or NULL); probs or dlogits */
    double total[NT_MAX_THREADS];             /* the forward's sum of losses, per share */
    int64_t kept[NT_MAX_THREADS];             /* and its rows not ignored */
} ce_job_t;

static void ce_fwd_share(void *ctx, int t, int nt)
{
    ce_job_t *job = ctx;
    int64_t lo, hi, c = job->c;
    ce_rows(job->n, t, nt, &lo, &hi);
    job->kept[t] = 0;
    job->total[t] = hi <= lo ? 0.0
        : CE_PICK(nt_ce_fwd_rows)(hi - lo, c, job->logits + lo * c, job->target + lo,
                                  job->label_smoothing, job->ignore_index, job->loss != NULL,
                                  job->loss ? job->loss + lo : NULL, job->out + lo * c,
                                  &job->kept[t]);
}

static void ce_bwd_share(void *ctx, int t, int nt)
{
    const ce_job_t *job = ctx;
    int64_t lo, hi, c = job->c;
    ce_rows(job->n, t, nt, &lo, &hi);
    if (hi > lo)
        CE_PICK(nt_ce_bwd_rows)(hi - lo, c, job->dloss_per_row ? job->dloss + lo : job->dloss,
                                job->dloss_per_row, job->probs + lo * c, job->target + lo,
                                job->reduction, job->label_smoothing, job->ignore_index,
                                job->valid, job->out + lo * c);
}

/* Per row: lse = m + log(sum_c exp(l_c - m)) with m the row max (NOTE: so logits of any
 * magnitude are safe), log p = l - lse, probs = exp(l - m) / sum;
 * loss_i = -(1-e) log p[t_i] - e/C sum_c log p[c], 0 where t_i == ignore_index.
 * loss: [n] for NT_REDUCE_NONE, else [1]: the sum, divided by the number of rows not
 * ignored for NT_REDUCE_MEAN.  probs [n, c] is kept for backward.  Threads take whole
 * blocks of rows; the reduced loss adds their sums in thread order.
 * Saves: the shifted, exp and log-prob temporaries: two passes over each row. */
int nt_cross_entropy_fwd_f32(int64_t n, int64_t c, const float *restrict logits,
                             const int64_t *restrict target, int reduction,
                             double label_smoothing, int64_t ignore_index,
                             float *restrict loss, float *restrict probs, int nthreads)
{
    if (n < 0 || c < 1 || reduction < NT_REDUCE_NONE || reduction > NT_REDUCE_SUM || !loss
        || nthreads < 1 || (n > 0 && (!logits || !target || !probs))
        || bad_targets(n, c, target, ignore_index))
        return NT_EINVAL;
    ce_job_t job = {.n = n, .c = c, .ignore_index = ignore_index, .logits = logits,
                    .target = target, .label_smoothing = label_smoothing,
                    .loss = reduction == NT_REDUCE_NONE ? loss : NULL, .out = probs};
    int nt = nt_threads_for(n * c, CE_FWD_PAR_MIN, nthreads);
    nt_parallel(nt, ce_fwd_share, &job);
    double total = 0.0;
    int64_t valid = 0;
    for (int t = 0; t < nt; ++t) {
        total += job.total[t];
        valid += job.kept[t];
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
                             float *restrict dlogits, int nthreads)
{
    if (n < 0 || c < 1 || reduction < NT_REDUCE_NONE || reduction > NT_REDUCE_SUM || !dloss
        || nthreads < 1 || (n > 0 && (!probs || !target || !dlogits))
        || bad_targets(n, c, target, ignore_index))
        return NT_EINVAL;
    int64_t valid = 0;
    for (int64_t i = 0; i < n; ++i)
        valid += target[i] != ignore_index;
    ce_job_t job = {.n = n, .c = c, .ignore_index = ignore_index, .valid = valid, .dloss = dloss,
                    .probs = probs, .target = target, .label_smoothing = label_smoothing,
                    .reduction = reduction, .dloss_per_row = dloss_per_row, .out = dlogits};
    nt_parallel(nt_threads_for(n * c, CE_BWD_PAR_MIN, nthreads), ce_bwd_share, &job);
    return NT_OK;
}
