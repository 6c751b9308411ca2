/* conv.c -- 2-D convolution (cross-correlation) as im2col + GEMM, image by image.
 *
 * x[N,C,H,W], weight[O,C,kh,kw] read as W2[O,K] with K = C*kh*kw, P = Ho*Wo output pixels,
 * Ho = (H + 2*ph - kh)/sh + 1.  cols[N, K, P]: for image n, row (c, i, j) holds the input
 * value under kernel tap (c, i, j) for every output pixel, 0 over the padding.  (The NumPy
 * backend's cols[N*P, K] transposed per image: rows of x copy into it contiguously, and
 * y_n = W2 @ cols_n comes out in NCHW order without a transpose.)
 * Threads take whole images; each image's GEMMs run on its thread.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#include <stdlib.h>

#define NT_CONV_PAR_MIN_FLOPS 2000000 /* per thread, as for the GEMM */

typedef struct {
    int64_t c, h, w, o, kh, kw, sh, sw, ph, pw, ho, wo;
} conv_t;

/* Fill d from the sizes; NT_EINVAL unless every size is positive and the kernel fits. */
static int conv_dims(conv_t *d, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                     int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw)
{
    if (n < 0 || c < 1 || h < 1 || w < 1 || o < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1
        || ph < 0 || pw < 0 || kh > h + 2 * ph || kw > w + 2 * pw)
        return NT_EINVAL;
    *d = (conv_t){c, h, w, o, kh, kw, sh, sw, ph, pw, (h + 2 * ph - kh) / sh + 1,
                  (w + 2 * pw - kw) / sw + 1};
    return NT_OK;
}

/* The outputs ow in [*lo, *hi) whose input column ow*sw - pw + j lies inside [0, w):
 * ow*sw >= pw - j and ow*sw <= w - 1 + pw - j (empty when the latter is negative). */
static void inside_cols(const conv_t *d, int64_t j, int64_t *lo, int64_t *hi)
{
    int64_t first = d->pw - j, last = d->w - 1 + d->pw - j;
    *lo = first > 0 ? (first + d->sw - 1) / d->sw : 0;
    *hi = last < 0 ? 0 : nt_min64(d->wo, last / d->sw + 1);
    if (*hi < *lo)
        *hi = *lo;
}

/* One tap's row of cols when stride is 1 and Wo == W: input pixel = output pixel +
 * (i - ph)*W + (j - pw) over the whole plane, so one long copy replaces Ho short ones (and
 * their memset/memmove calls); then the columns and rows over the padding are zeroed
 * (the long copy put the previous or next input row's edge there). */
static void im2col_plane(const conv_t *d, int64_t i, int64_t j, int64_t lo, int64_t hi,
                         const float *restrict x_c, float *restrict row)
{
    int64_t w = d->w, p = d->ho * w, off = (i - d->ph) * w + (j - d->pw);
    int64_t first = off < 0 ? -off : 0, last = nt_min64(p, d->h * w - off);
    for (int64_t q = 0; q < first; ++q)
        row[q] = 0.0f;
    for (int64_t q = first; q < last; ++q)
        row[q] = x_c[q + off];
    for (int64_t q = last > first ? last : first; q < p; ++q)
        row[q] = 0.0f;
    for (int64_t ow = 0; ow < w; ++ow) /* by columns: a memset call per row costs more */
        if (ow < lo || ow >= hi)
            for (int64_t oh = 0; oh < d->ho; ++oh)
                row[oh * w + ow] = 0.0f;
}

/* cols[K, P] of one image x[C, H, W]: one row of x per (tap, output row), copied
 * without bounds checks between the padded margins. */
static void im2col(const conv_t *d, const float *restrict x, float *restrict cols)
{
    int64_t p = d->ho * d->wo;
    for (int64_t ch = 0; ch < d->c; ++ch)
        for (int64_t i = 0; i < d->kh; ++i)
            for (int64_t j = 0; j < d->kw; ++j) {
                int64_t lo, hi;
                float *row = cols + ((ch * d->kh + i) * d->kw + j) * p;
                inside_cols(d, j, &lo, &hi);
                if (d->sh == 1 && d->sw == 1 && d->wo == d->w) {
                    im2col_plane(d, i, j, lo, hi, x + ch * d->h * d->w, row);
                    continue;
                }
                for (int64_t oh = 0; oh < d->ho; ++oh) {
                    int64_t ih = oh * d->sh - d->ph + i;
                    float *dst = row + oh * d->wo;
                    if (ih < 0 || ih >= d->h) {
                        for (int64_t ow = 0; ow < d->wo; ++ow)
                            dst[ow] = 0.0f;
                        continue;
                    }
                    const float *src = x + (ch * d->h + ih) * d->w + j - d->pw;
                    for (int64_t ow = 0; ow < lo; ++ow)
                        dst[ow] = 0.0f;
                    if (d->sw == 1)
                        for (int64_t ow = lo; ow < hi; ++ow)
                            dst[ow] = src[ow];
                    else
                        for (int64_t ow = lo; ow < hi; ++ow)
                            dst[ow] = src[ow * d->sw];
                    for (int64_t ow = hi; ow < d->wo; ++ow)
                        dst[ow] = 0.0f;
                }
            }
}

/* The adjoint: dx[C, H, W] = sum of every dcols[K, P] entry at the input it was read from
 * (overlapping windows add up; the padding's share is dropped). */
static void col2im(const conv_t *d, const float *restrict dcols, float *restrict dx)
{
    int64_t p = d->ho * d->wo;
    memset(dx, 0, (size_t)(d->c * d->h * d->w) * sizeof(float));
    for (int64_t ch = 0; ch < d->c; ++ch)
        for (int64_t i = 0; i < d->kh; ++i)
            for (int64_t j = 0; j < d->kw; ++j) {
                int64_t lo, hi;
                const float *row = dcols + ((ch * d->kh + i) * d->kw + j) * p;
                inside_cols(d, j, &lo, &hi);
                for (int64_t oh = 0; oh < d->ho; ++oh) {
                    int64_t ih = oh * d->sh - d->ph + i;
                    if (ih < 0 || ih >= d->h)
                        continue;
                    const float *src = row + oh * d->wo;
                    float *dst = dx + (ch * d->h + ih) * d->w + j - d->pw;
                    if (d->sw == 1)
                        for (int64_t ow = lo; ow < hi; ++ow)
                            dst[ow] += src[ow];
                    else
                        for (int64_t ow = lo; ow < hi; ++ow)
                            dst[ow * d->sw] += src[ow];
                }
            }
}

static int conv_threads(int64_t n, const conv_t *d, int nthreads)
{
    double flops = 2.0 * (double)n * (double)(d->o * d->ho * d->wo * d->c * d->kh * d->kw);
    return nt_threads_for((int64_t)(flops / NT_CONV_PAR_MIN_FLOPS), 1,
                          nt_threads_for(n, 1, nthreads));
}

/* Per image: cols_n = im2col(x_n); y_n[O, P] = W2 @ cols_n + bias (per row, in the GEMM's
 * epilogue).  Saves: NumPy's strided window copies and the NHWC -> NCHW transpose of y. */
typedef struct {
    const conv_t *d;
    int64_t n, p, k;
    const float *x, *weight, *bias;
    float *y, *cols;
    int status;
} conv_fwd_job_t;

static void conv_fwd_share(void *ctx, int t, int nt)
{
    conv_fwd_job_t *j = ctx;
    const conv_t *d = j->d;
    int64_t lo, hi, p = j->p, k = j->k, o = d->o;
    nt_range(j->n, t, nt, &lo, &hi);
    for (int64_t i = lo; i < hi; ++i) {
        float *cols_i = j->cols + i * p * k;
        im2col(d, j->x + i * d->c * d->h * d->w, cols_i);
        nt_fail(&j->status, nt_gemm_f32(o, p, k, j->weight, k, 0, cols_i, p, 0, j->y + i * o * p,
                                        p, j->bias, NT_GEMM_ROW_BIAS, 1));
    }
}

int nt_conv2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                      int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                      const float *restrict x, const float *restrict weight,
                      const float *restrict bias, float *restrict y, float *restrict cols,
                      int nthreads)
{
    conv_t d;
    if (nthreads < 1 || conv_dims(&d, n, c, h, w, o, kh, kw, sh, sw, ph, pw) != NT_OK
        || (n > 0 && (!x || !weight || !y || !cols)))
        return NT_EINVAL;
    int64_t p = d.ho * d.wo, k = c * kh * kw;
    conv_fwd_job_t job = {&d, n, p, k, x, weight, bias, y, cols, NT_OK};
    nt_parallel(conv_threads(n, &d, nthreads), conv_fwd_share, &job);
    return job.status;
}

typedef struct {
    const conv_t *d;
    int64_t n, p, k, part;
    const float *dy, *cols, *weight;
    float *dx, *dw, *db, *parts, *dcols;
    int status;
} conv_bwd_job_t;

static void conv_bwd_share(void *ctx, int t, int nt)
{
    conv_bwd_job_t *j = ctx;
    const conv_t *d = j->d;
    int64_t lo, hi, p = j->p, k = j->k, o = d->o;
    nt_range(j->n, t, nt, &lo, &hi);
    float *dw_t = j->parts + t * j->part, *db_t = dw_t + o * k;
    for (int64_t i = lo; i < hi; ++i) {
        const float *dy_i = j->dy + i * o * p;
        int s = NT_OK;
        if (j->dw) /* (only dW reads cols, which may be NULL without it) */
            s = nt_gemm_f32(k, o, p, j->cols + i * p * k, p, 0, dy_i, p, 1, dw_t, o, NULL,
                            NT_GEMM_ACCUMULATE, 1);
        if (j->db)
            for (int64_t q = 0; q < o; ++q)
                db_t[q] += (float)nt_span_dot(dy_i + q * p, 0.0f, NULL, 0.0f, p);
        if (j->dx && s == NT_OK) {
            float *dcols_t = j->dcols + t * p * k;
            s = nt_gemm_f32(k, p, o, j->weight, k, 1, dy_i, p, 0, dcols_t, p, NULL, 0, 1);
            col2im(d, dcols_t, j->dx + i * d->c * d->h * d->w);
        }
        nt_fail(&j->status, s);
    }
}

/* Per image, with dy_n[O, P]: dW2^T += cols_n @ dy_n^T, db += row sums of dy_n,
 * dcols_n = W2^T @ dy_n and dx_n = col2im(dcols_n).  Each thread sums dW2^T [K, O] and db
 * over its images in its own buffer; the buffers are added (and dW2^T transposed) at the
 * end.  NOTE: dW2^T, not dW2: for the first conv of an image model (K = 9 taps, O = 32)
 * the GEMM's 6x16 tiles then cover 9 x 32 as 12 x 32, not 32 x 9 as 36 x 16: its
 * backward runs ~20% faster; for K x O = 288 x 64 the two are even.
 * Saves: the NCHW -> NHWC transpose of dy and the [N*P, K] dcols array (one image's worth
 * per thread instead). */
int nt_conv2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                      int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                      const float *restrict dy, const float *restrict cols,
                      const float *restrict weight, float *restrict dx, float *restrict dw,
                      float *restrict db, int nthreads)
{
    conv_t d;
    if (nthreads < 1 || conv_dims(&d, n, c, h, w, o, kh, kw, sh, sw, ph, pw) != NT_OK
        || (n > 0 && (!dy || (dw && !cols) || (dx && !weight))))
        return NT_EINVAL;
    int64_t p = d.ho * d.wo, k = c * kh * kw, part = o * k + o;
    int nt = conv_threads(n, &d, nthreads);
    float *parts = calloc((size_t)(nt * part), sizeof(float)); /* per thread: dW2^T, db */
    float *dcols = dx ? malloc((size_t)(nt * p * k) * sizeof(float)) : NULL;
    if (!parts || (dx && !dcols)) {
        free(parts);
        free(dcols);
        return NT_ENOMEM;
    }
    conv_bwd_job_t job = {&d, n, p, k, part, dy, cols, weight, dx, dw, db, parts, dcols, NT_OK};
    nt_parallel(nt, conv_bwd_share, &job);
    int status = job.status;
    for (int64_t j = 0; j < part && status == NT_OK; ++j) {
        float sum = 0.0f;
        for (int t = 0; t < nt; ++t)
            sum += parts[t * part + j];
        if (j < o * k && dw)
            dw[(j % o) * k + j / o] = sum;
        else if (j >= o * k && db)
            db[j - o * k] = sum;
    }
    free(parts);
    free(dcols);
    return status;
}
