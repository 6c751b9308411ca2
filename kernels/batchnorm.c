/* batchnorm.c -- batch normalization over x viewed as [n, c, hw] (hw = 1 for [N, C]).
 *
 * Statistics are per channel over the M = n*hw values of that channel, summed with
 * nt_span_dot (float lanes within blocks, double across blocks) or, for [N, C], in float
 * down blocks of rows and double across them (rows_dot): as accurate as NumPy's pairwise
 * float sums or more.
 * Threads split the channels of [N, C, H, W]; every channel's work stays on one thread.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"
#include "vec_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NT_BN_PAR_MIN (1 << 15) /* elements per thread before a second one pays */

/* Threads for x[n, c, hw]: whole channels each; [N, C] stays on one (measured: splitting
 * its rows' channels made [256, 512] slower, 66 -> 90 us; [64, 16, 14, 14]: 57 -> 34 us). */
static int bn_threads(int64_t n, int64_t c, int64_t hw, int nthreads)
{
    return hw == 1 ? 1 : nt_threads_for(n * c * hw, NT_BN_PAR_MIN, nthreads);
}

/* NOTE: the loops below test their optional (NULL) pointers outside the loop, one loop per
 * case.  A test inside is if-converted into masked vector loads, and a masked load at
 * NULL + i (masked off, but a faulting address) takes a microcode assist each: the
 * [64, 128] forward ran 5.0 us instead of ~1. */

#define NT_BN_ROWS 32  /* [N, C]: rows summed in float before each partial sum goes to double */
#define NT_BN_CHUNK 32 /* [N, C]: channels whose float partial sums stay in registers */
#define NT_BN_WIDE 512 /* [N, C] with long rows: channels per pass, partial sums in memory */
#define NT_BN_L1_FLOATS 8192 /* a block of rows this small stays in L1 (32 KiB) */

/* out[k] += part[k] (and out2 += part2 when given) for k < w: a block's sums into double. */
static NT_ALWAYS_INLINE void rows_flush(int64_t w, const float *restrict part,
                                        const float *restrict part2, double *restrict out,
                                        double *restrict out2)
{
    for (int64_t k = 0; k < w; ++k)
        out[k] += part[k];
    if (out2)
        for (int64_t k = 0; k < w; ++k)
            out2[k] += part2[k];
}

/* part[k] += a (minus sa) (times b - sb) and, when part2 is given, part2[k] += a over the
 * rows [i0, i1) of a[., c], b[., c], for the w channels from a, b, sa, sb.  Called with
 * w = NT_BN_CHUNK (a constant: the partial sums live in vector registers) or the rest. */
static NT_ALWAYS_INLINE void rows_part(int64_t i0, int64_t i1, int64_t c, int64_t w,
                                       const float *restrict a, const float *restrict sa,
                                       const float *restrict b, const float *restrict sb,
                                       float *restrict part, float *restrict part2)
{
    for (int64_t i = i0; i < i1; ++i) {
        const float *ai = a + i * c, *bi = b ? b + i * c : NULL;
        if (part2) /* the backward's two sums: a and a * (b - sb) */
            for (int64_t k = 0; k < w; ++k) {
                part2[k] += ai[k];
                part[k] += ai[k] * (bi[k] - sb[k]);
            }
        else if (!bi && !sa)
            for (int64_t k = 0; k < w; ++k)
                part[k] += ai[k];
        else if (!bi)
            for (int64_t k = 0; k < w; ++k)
                part[k] += ai[k] - sa[k];
        else if (!sa)
            for (int64_t k = 0; k < w; ++k)
                part[k] += ai[k] * (bi[k] - sb[k]);
        else if (bi == ai && sb == sa) /* the variance: one load and one subtraction */
            for (int64_t k = 0; k < w; ++k) {
                float d = ai[k] - sa[k];
                part[k] += d * d;
            }
        else
            for (int64_t k = 0; k < w; ++k)
                part[k] += (ai[k] - sa[k]) * (bi[k] - sb[k]);
    }
}

/* out[ch] += sum over the rows of a[n, c] (minus sa[ch]) (times b - sb[ch]) for ch in
 * [c0, c1), and out2[ch] += sum of a when out2 is given (then b is, and sa is NULL): [N, C],
 * where channels are contiguous, vectorized across them: float sums of NT_BN_ROWS rows,
 * added in double.  A channel's additions come in the same order at any vector width, so
 * the AVX2 copy gives the baseline's bits. */
static NT_ALWAYS_INLINE void rows_dot(int64_t n, int64_t c, int64_t c0, int64_t c1, const float *restrict a,
                                      const float *restrict sa, const float *restrict b,
                                      const float *restrict sb, double *restrict out,
                                      double *restrict out2)
{
    /* NOTE: NT_BN_CHUNK channels at a time only while a block of rows fits in L1: a longer
     * row read in 128-byte pieces, a page apart, defeats the prefetcher ([2048, 1024]
     * backward 3.8 -> 6.5 ms); then NT_BN_WIDE channels, their partial sums in L1. */
    int64_t step = NT_BN_ROWS * c <= NT_BN_L1_FLOATS ? NT_BN_CHUNK : NT_BN_WIDE;
    for (int64_t i0 = 0; i0 < n; i0 += NT_BN_ROWS) {
        int64_t i1 = nt_min64(n, i0 + NT_BN_ROWS);
        for (int64_t ch = c0; ch < c1; ch += step) {
            int64_t w = nt_min64(step, c1 - ch);
            const float *ach = a + ch, *bch = b ? b + ch : NULL;
            const float *sach = sa ? sa + ch : NULL, *sbch = sb ? sb + ch : NULL;
            if (w == NT_BN_CHUNK) {
                float part[NT_BN_CHUNK] = {0}, part2[NT_BN_CHUNK] = {0};
                rows_part(i0, i1, c, NT_BN_CHUNK, ach, sach, bch, sbch, part, out2 ? part2 : NULL);
                rows_flush(w, part, out2 ? part2 : NULL, out + ch, out2 ? out2 + ch : NULL);
            } else {
                float part[NT_BN_WIDE], part2[NT_BN_WIDE];
                memset(part, 0, (size_t)w * sizeof(float));
                memset(part2, 0, (size_t)w * sizeof(float));
                rows_part(i0, i1, c, w, ach, sach, bch, sbch, part, out2 ? part2 : NULL);
                rows_flush(w, part, out2 ? part2 : NULL, out + ch, out2 ? out2 + ch : NULL);
            }
        }
    }
}

/* out[ch] = sum over i < n, s < hw of (a - sa[ch]) * (b - sb[ch]) for ch in [c0, c1);
 * b NULL drops the second factor, sa NULL means 0; sb is given with b. */
static NT_ALWAYS_INLINE void channel_dot(int64_t n, int64_t c, int64_t hw, int64_t c0, int64_t c1,
                                         const float *restrict a, const float *restrict sa,
                                         const float *restrict b, const float *restrict sb,
                                         double *restrict out)
{
    for (int64_t ch = c0; ch < c1; ++ch)
        out[ch] = 0.0;
    if (hw == 1) {
        rows_dot(n, c, c0, c1, a, sa, b, sb, out, NULL);
        return;
    }
    for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = c0; ch < c1; ++ch) {
            int64_t off = (i * c + ch) * hw;
            out[ch] += nt_span_dot(a + off, sa ? sa[ch] : 0.0f, b ? b + off : NULL,
                                   sb ? sb[ch] : 0.0f, hw);
        }
}

/* out[s] = a0 + a1*p[s] + a2*(q[s] - m) for s < len; p NULL drops the a1 term, q NULL
 * the a2 term. */
static NT_ALWAYS_INLINE void affine_span(int64_t len, float a0, const float *restrict p, float a1,
                                         const float *restrict q, float m, float a2, float *restrict out)
{
    if (p && q)
        for (int64_t s = 0; s < len; ++s)
            out[s] = a0 + a1 * p[s] + a2 * (q[s] - m);
    else if (p)
        for (int64_t s = 0; s < len; ++s)
            out[s] = a0 + a1 * p[s];
    else if (q)
        for (int64_t s = 0; s < len; ++s)
            out[s] = a0 + a2 * (q[s] - m);
    else
        for (int64_t s = 0; s < len; ++s)
            out[s] = a0;
}

/* o[k] = k0[k] + k1[k]*p[k] + k2[k]*(q[k] - qm[k]) for k < len: a row of [N, C] (the
 * channel coefficients start at the row's first channel); p NULL drops the k1 term, q NULL
 * the k2 term.  (Its own restrict pointers: the loops need no overlap checks per row.) */
static NT_ALWAYS_INLINE void affine_row(int64_t len, const float *restrict k0, const float *restrict p,
                                        const float *restrict k1, const float *restrict q,
                                        const float *restrict qm, const float *restrict k2,
                                        float *restrict o)
{
    if (p && q)
        for (int64_t k = 0; k < len; ++k)
            o[k] = k0[k] + k1[k] * p[k] + k2[k] * (q[k] - qm[k]);
    else if (p)
        for (int64_t k = 0; k < len; ++k)
            o[k] = k0[k] + k1[k] * p[k];
    else if (q)
        for (int64_t k = 0; k < len; ++k)
            o[k] = k0[k] + k2[k] * (q[k] - qm[k]);
    else
        for (int64_t k = 0; k < len; ++k)
            o[k] = k0[k];
}

/* out = k0[ch] + k1[ch]*p + k2[ch]*(q - qm[ch]) for the channels [c0, c1); p NULL drops
 * the k1 term, q NULL the k2 term. */
static NT_ALWAYS_INLINE void channel_affine(int64_t n, int64_t c, int64_t hw, int64_t c0, int64_t c1,
                                            const float *restrict k0, const float *restrict p,
                                            const float *restrict k1, const float *restrict q,
                                            const float *restrict qm, const float *restrict k2,
                                            float *restrict out)
{
    for (int64_t i = 0; i < n; ++i) {
        if (hw == 1) { /* [N, C]: vectorized across the channels of a row */
            int64_t r = i * c + c0;
            affine_row(c1 - c0, k0 + c0, p ? p + r : NULL, k1 ? k1 + c0 : NULL,
                       q ? q + r : NULL, qm ? qm + c0 : NULL, k2 ? k2 + c0 : NULL, out + r);
            continue;
        }
        for (int64_t ch = c0; ch < c1; ++ch) {
            int64_t off = (i * c + ch) * hw;
            affine_span(hw, k0[ch], p ? p + off : NULL, p ? k1[ch] : 0.0f, q ? q + off : NULL,
                        q ? qm[ch] : 0.0f, q ? k2[ch] : 0.0f, out + off);
        }
    }
}

/* The forward's work for the channels [c0, c1) (see nt_batchnorm_fwd_f32). */
static NT_ALWAYS_INLINE void bn_fwd_channels(int64_t c0, int64_t c1, int64_t n, int64_t c, int64_t hw,
                                             const float *restrict x, const float *restrict gamma,
                                             const float *restrict beta, float *restrict running_mean,
                                             float *restrict running_var, int training, float keep, float mom,
                                             float unbias, float eps, float *restrict y, float *restrict mean,
                                             float *restrict invstd, double *restrict sums,
                                             float *restrict scale, float *restrict shift)
{
    int64_t count = n * hw;
    if (training) {
        channel_dot(n, c, hw, c0, c1, x, NULL, NULL, NULL, sums);
        for (int64_t ch = c0; ch < c1; ++ch)
            mean[ch] = (float)(sums[ch] / (double)count);
        channel_dot(n, c, hw, c0, c1, x, mean, x, mean, sums);
    }
    for (int64_t ch = c0; ch < c1; ++ch) {
        float var = training ? (float)(sums[ch] / (double)count) : running_var[ch];
        if (!training)
            mean[ch] = running_mean[ch];
        else if (running_mean) {
            running_mean[ch] = running_mean[ch] * keep + mom * mean[ch];
            running_var[ch] = running_var[ch] * keep + mom * var * unbias;
        }
        invstd[ch] = 1.0f / sqrtf(var + eps);
        scale[ch] = gamma ? invstd[ch] * gamma[ch] : invstd[ch];
        shift[ch] = beta ? beta[ch] : 0.0f;
    }
    channel_affine(n, c, hw, c0, c1, shift, NULL, NULL, x, mean, scale, y);
}

typedef struct {
    int64_t n, c, hw;
    const float *x, *gamma, *beta;
    float *running_mean, *running_var;
    int training;
    float keep, mom, unbias, eps;
    float *y, *mean, *invstd;
    double *sums;
    float *scale, *shift;
} bn_fwd_job_t;

static NT_ALWAYS_INLINE void bn_fwd_share_body(void *ctx, int t, int nt)
{
    const bn_fwd_job_t *j = ctx;
    int64_t c0, c1;
    nt_range(j->c, t, nt, &c0, &c1);
    bn_fwd_channels(c0, c1, j->n, j->c, j->hw, j->x, j->gamma, j->beta, j->running_mean,
                    j->running_var, j->training, j->keep, j->mom, j->unbias, j->eps, j->y,
                    j->mean, j->invstd, j->sums, j->scale, j->shift);
}

/* A thread's share, as the baseline loops or (NT_WIDE) their AVX2 copy: each channel's sums
 * run down the rows in the same order in both, so both give the same bits. */
NT_WIDE_SHARES(bn_fwd_share, NT_TARGET_WIDE)

/* Training: mean = sum(x)/M, var = sum((x - mean)^2)/M (two passes, biased), running
 * stats (when given) r = (1 - momentum)*r + momentum*stat with the unbiased variance
 * var*M/(M-1).  Eval: mean, var = the running stats.  Then invstd = 1/sqrt(var + eps),
 * y = (x - mean)*invstd*gamma + beta.  x, y: [n, c, hw]; the rest [c].
 * Saves: NumPy's temporaries (x - mean, its square, the broadcast products): three
 * passes over x (two in eval) and one write of y. */
int nt_batchnorm_fwd_f32(int64_t n, int64_t c, int64_t hw, const float *restrict x,
                         const float *restrict gamma, const float *restrict beta,
                         float *restrict running_mean, float *restrict running_var,
                         int training, double momentum, double eps, float *restrict y,
                         float *restrict mean, float *restrict invstd, int nthreads)
{
    if (n < 0 || c < 0 || hw < 0 || nthreads < 1 || (!running_mean != !running_var))
        return NT_EINVAL;
    if (c == 0)
        return NT_OK;
    if (!mean || !invstd || (n * hw > 0 && (!x || !y)) || (!training && !running_mean))
        return NT_EINVAL;
    int64_t count = n * hw;
    double *sums = malloc((size_t)c * sizeof(double));
    float *coef = malloc(2 * (size_t)c * sizeof(float)); /* scale, shift */
    if (!sums || !coef) {
        free(sums);
        free(coef);
        return NT_ENOMEM;
    }
    float *scale = coef, *shift = coef + c;
    float keep = (float)(1.0 - momentum), mom = (float)momentum;
    float unbias = (float)((double)count / (double)(count > 1 ? count - 1 : 1));
    int nt = bn_threads(n, c, hw, nthreads);
    bn_fwd_job_t job = {n, c, hw, x, gamma, beta, running_mean, running_var, training, keep, mom,
                        unbias, (float)eps, y, mean, invstd, sums, scale, shift};
    nt_parallel(nt, NT_PICK_SHARE(bn_fwd_share), &job);
    free(sums);
    free(coef);
    return NT_OK;
}

/* The backward's work for the channels [c0, c1) (see nt_batchnorm_bwd_f32). */
static NT_ALWAYS_INLINE void bn_bwd_channels(int64_t c0, int64_t c1, int64_t n, int64_t c, int64_t hw,
                                             const float *restrict dy, const float *restrict x,
                                             const float *restrict gamma, const float *restrict mean,
                                             const float *restrict invstd, int training, float *restrict dx,
                                             float *restrict dgamma, float *restrict dbeta,
                                             double *restrict sum_dy, double *restrict sum_dyxc,
                                             float *restrict k0, float *restrict k1, float *restrict k2)
{
    int64_t count = n * hw;
    if (hw == 1) { /* [N, C]: both sums in one pass over dy and x, each as channel_dot's */
        for (int64_t ch = c0; ch < c1; ++ch)
            sum_dy[ch] = sum_dyxc[ch] = 0.0;
        rows_dot(n, c, c0, c1, dy, NULL, x, mean, sum_dyxc, sum_dy);
    } else {
        channel_dot(n, c, hw, c0, c1, dy, NULL, NULL, NULL, sum_dy);
        channel_dot(n, c, hw, c0, c1, dy, NULL, x, mean, sum_dyxc);
    }
    for (int64_t ch = c0; ch < c1; ++ch) {
        float db = (float)sum_dy[ch], dg = (float)sum_dyxc[ch] * invstd[ch];
        if (dbeta)
            dbeta[ch] = db;
        if (dgamma)
            dgamma[ch] = dg;
        float s = gamma ? invstd[ch] * gamma[ch] : invstd[ch];
        k1[ch] = s;
        k0[ch] = training ? -s * (db / (float)count) : 0.0f;
        k2[ch] = -s * invstd[ch] * (dg / (float)count);
    }
    if (dx)
        channel_affine(n, c, hw, c0, c1, k0, dy, k1, training ? x : NULL, mean, k2, dx);
}

typedef struct {
    int64_t n, c, hw;
    const float *dy, *x, *gamma, *mean, *invstd;
    int training;
    float *dx, *dgamma, *dbeta;
    double *sum_dy, *sum_dyxc;
    float *k0, *k1, *k2;
} bn_bwd_job_t;

static NT_ALWAYS_INLINE void bn_bwd_share_body(void *ctx, int t, int nt)
{
    const bn_bwd_job_t *j = ctx;
    int64_t c0, c1;
    nt_range(j->c, t, nt, &c0, &c1);
    bn_bwd_channels(c0, c1, j->n, j->c, j->hw, j->dy, j->x, j->gamma, j->mean, j->invstd,
                    j->training, j->dx, j->dgamma, j->dbeta, j->sum_dy, j->sum_dyxc, j->k0,
                    j->k1, j->k2);
}

NT_WIDE_SHARES(bn_bwd_share, NT_TARGET_WIDE)

/* With xhat = (x - mean)*invstd, s = gamma*invstd: dbeta = sum(dy), dgamma = sum(dy*xhat);
 * training: dx = s*(dy - dbeta/M - xhat*dgamma/M) (the batch statistics depend on x);
 * eval: dx = s*dy.  dx, dgamma, dbeta may each be NULL.
 * Saves: xhat and the other temporaries: two passes over dy and x, one write of dx. */
int nt_batchnorm_bwd_f32(int64_t n, int64_t c, int64_t hw, const float *restrict dy,
                         const float *restrict x, const float *restrict gamma,
                         const float *restrict mean, const float *restrict invstd,
                         int training, float *restrict dx, float *restrict dgamma,
                         float *restrict dbeta, int nthreads)
{
    if (n < 0 || c < 0 || hw < 0 || nthreads < 1)
        return NT_EINVAL;
    if (c == 0)
        return NT_OK;
    if (!mean || !invstd || (n * hw > 0 && (!dy || !x)))
        return NT_EINVAL;
    double *sums = malloc(2 * (size_t)c * sizeof(double));
    float *coef = malloc(3 * (size_t)c * sizeof(float));
    if (!sums || !coef) {
        free(sums);
        free(coef);
        return NT_ENOMEM;
    }
    double *sum_dy = sums, *sum_dyxc = sums + c; /* sum(dy), sum(dy*(x - mean)) */
    float *k0 = coef, *k1 = coef + c, *k2 = coef + 2 * c;
    int nt = bn_threads(n, c, hw, nthreads);
    bn_bwd_job_t job = {n, c, hw, dy, x, gamma, mean, invstd, training, dx, dgamma, dbeta,
                        sum_dy, sum_dyxc, k0, k1, k2};
    nt_parallel(nt, NT_PICK_SHARE(bn_bwd_share), &job);
    free(sums);
    free(coef);
    return NT_OK;
}
