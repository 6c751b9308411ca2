/* batchnorm.c -- batch normalization over x viewed as [n, c, hw] (hw = 1 for [N, C]).
 *
 * Statistics are per channel over the M = n*hw values of that channel, summed with
 * nt_span_dot (float lanes within blocks, double across blocks) or, for [N, C], in double
 * down the rows: at least as accurate as NumPy's pairwise float sums.
 * Threads split the channels of [N, C, H, W]; every channel's work stays on one thread.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"
#include "vec_math.h"

#include <math.h>
#include <stdlib.h>

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

/* out[ch] += sum over the rows of a[n, c] (minus sa[ch]) (times b - sb[ch]) for ch in
 * [c0, c1): [N, C], where channels are contiguous, vectorized across them, in double. */
static NT_ALWAYS_INLINE void rows_dot(int64_t n, int64_t c, int64_t c0, int64_t c1, const float *restrict a,
                                      const float *restrict sa, const float *restrict b,
                                      const float *restrict sb, double *restrict out)
{
    for (int64_t i = 0; i < n; ++i) {
        const float *ai = a + i * c, *bi = b ? b + i * c : NULL;
        if (!bi && !sa)
            for (int64_t ch = c0; ch < c1; ++ch)
                out[ch] += ai[ch];
        else if (!bi)
            for (int64_t ch = c0; ch < c1; ++ch)
                out[ch] += ai[ch] - sa[ch];
        else if (!sa)
            for (int64_t ch = c0; ch < c1; ++ch)
                out[ch] += ai[ch] * (bi[ch] - sb[ch]);
        else
            for (int64_t ch = c0; ch < c1; ++ch)
                out[ch] += (ai[ch] - sa[ch]) * (bi[ch] - sb[ch]);
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
        rows_dot(n, c, c0, c1, a, sa, b, sb, out);
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
            int64_t r = i * c;
            const float *pr = p ? p + r : NULL, *qr = q ? q + r : NULL;
            float *o = out + r;
            if (pr && qr)
                for (int64_t ch = c0; ch < c1; ++ch)
                    o[ch] = k0[ch] + k1[ch] * pr[ch] + k2[ch] * (qr[ch] - qm[ch]);
            else if (pr)
                for (int64_t ch = c0; ch < c1; ++ch)
                    o[ch] = k0[ch] + k1[ch] * pr[ch];
            else if (qr)
                for (int64_t ch = c0; ch < c1; ++ch)
                    o[ch] = k0[ch] + k2[ch] * (qr[ch] - qm[ch]);
            else
                for (int64_t ch = c0; ch < c1; ++ch)
                    o[ch] = k0[ch];
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
        for (int64_t i = 0; i < n; ++i) {
            const float *dyi = dy + i * c, *xi = x + i * c;
            for (int64_t ch = c0; ch < c1; ++ch) {
                sum_dy[ch] += dyi[ch];
                sum_dyxc[ch] += dyi[ch] * (xi[ch] - mean[ch]);
            }
        }
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
