/* pool.c -- 2-D max and average pooling over x[N,C,H,W], plane by plane.
 *
 * Window (i, j) covers the rows i*sh - ph + u (u < kh) and the columns j*sw - pw + v (v < kw)
 * of one H x W plane; Ho = (H + 2*ph - kh)/sh + 1, Wo likewise.  The kernels require
 * 2*ph <= kh and 2*pw <= kw (PyTorch's rule), so every window holds at least one input.
 * Max pooling pads with -inf, average pooling with 0 (counted: the divisor is kh*kw).
 * Sums run in the NumPy backend's order, so both backends give the same bits.
 * The _relu kernels pool relu(x) (the compiled step's fusion of a ReLU and the max pooling
 * after it: nanotorch/compiler/fusion.py): the same selections on NT_RELU(x), no relu(x)
 * array.
 * Threads take whole planes (N*C of them).  Flush-to-zero stays off (see the header):
 * selections and short sums, whose subnormals NumPy keeps too.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#include <math.h>
#include <stdlib.h>

#define NT_POOL_PAR_MIN (1 << 15) /* input elements per thread before a second one pays */

typedef struct {
    int64_t planes, h, w, kh, kw, sh, sw, ph, pw, ho, wo;
} pool_t;

/* Fill d from the sizes; NT_EINVAL unless they are positive (n >= 0), every window overlaps
 * the input, and the padded planes (N*C of them, (H + 2*ph) x (W + 2*pw)) stay below
 * NT_POOL_MAX_SIZE elements: then no offset or size computed in this file overflows. */
#define NT_POOL_MAX_SIZE (INT64_MAX / 64)
static int pool_dims(pool_t *d, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh,
                     int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw)
{
    if (n < 0 || c < 1 || h < 1 || w < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0
        || pw < 0 || ph > kh / 2 || pw > kw / 2 || kh - 2 * ph > h || kw - 2 * pw > w
        || ph > NT_POOL_MAX_SIZE || pw > NT_POOL_MAX_SIZE)
        return NT_EINVAL;
    int64_t hp = h + 2 * ph, wp = w + 2 * pw; /* padded sides: kh <= hp, kw <= wp */
    if (hp > NT_POOL_MAX_SIZE / wp || (n > 0 && c > NT_POOL_MAX_SIZE / (hp * wp) / n))
        return NT_EINVAL;
    *d = (pool_t){n * c, h, w, kh, kw, sh, sw, ph, pw, (hp - kh) / sh + 1, (wp - kw) / sw + 1};
    return NT_OK;
}

/* The outputs o in [*lo, *hi) whose tap t reads inside the input: 0 <= o*s - p + t < size. */
static void tap_outputs(int64_t out, int64_t s, int64_t p, int64_t t, int64_t size,
                        int64_t *lo, int64_t *hi)
{
    int64_t first = p - t, last = size - 1 + p - t;
    *lo = first > 0 ? (first + s - 1) / s : 0;
    *hi = last < 0 ? 0 : nt_min64(out, last / s + 1);
    if (*hi < *lo)
        *hi = *lo;
}

static int pool_threads(const pool_t *d, int nthreads)
{
    return nt_threads_for(d->planes * d->h * d->w, NT_POOL_PAR_MIN,
                          nt_threads_for(d->planes, 1, nthreads));
}

/* taps[2u], taps[2u + 1]: the output rows [i0, i1) whose tap row u lies inside the plane;
 * taps[2(kh + v)], taps[2(kh + v) + 1]: the output columns for tap column v.  Caller frees. */
static int64_t *tap_table(const pool_t *d)
{
    int64_t *taps = malloc((size_t)(2 * (d->kh + d->kw)) * sizeof(int64_t));
    if (!taps)
        return NULL;
    for (int64_t u = 0; u < d->kh; ++u)
        tap_outputs(d->ho, d->sh, d->ph, u, d->h, taps + 2 * u, taps + 2 * u + 1);
    for (int64_t v = 0; v < d->kw; ++v)
        tap_outputs(d->wo, d->sw, d->pw, v, d->w, taps + 2 * (d->kh + v),
                    taps + 2 * (d->kh + v) + 1);
    return taps;
}

/* One tap over outputs j0..j1 of a row: the max of y[j] and x[j*sw] (relu: NT_RELU(x[j*sw]);
 * see max_pool_plane), off[j] = offset where x wins. */
static NT_ALWAYS_INLINE void max_pool_tap(const float *restrict x, int64_t sw, int64_t j0,
                                          int64_t j1, int32_t offset, int relu,
                                          float *restrict y, int32_t *restrict off)
{
    for (int64_t j = j0; j < j1; ++j) {
        float a = relu ? NT_RELU(x[j * sw]) : x[j * sw], m = y[j];
        int take = (a > m) | ((a != a) & (m == m));
        y[j] = take ? a : m;
        off[j] = take ? offset : off[j];
    }
}

/* idx[i, j] = off[i, j] + the corner of window (i, j): its position r*W + s in the plane. */
static void offsets_to_indices(const pool_t *d, const int32_t *restrict off,
                               int64_t *restrict idx)
{
    for (int64_t i = 0; i < d->ho; ++i) {
        int64_t corner = (i * d->sh - d->ph) * d->w - d->pw;
        for (int64_t j = 0; j < d->wo; ++j)
            idx[i * d->wo + j] = off[i * d->wo + j] + corner + j * d->sw;
    }
}

/* One plane of a max pooling: y[i, j] = max over window (i, j) of xp, idx[i, j] its position
 * r*W + s.  As the NumPy backend: tap by tap (u, v) in row-major order, each tap updating
 * every output whose window it reads inside the plane (taps in the -inf padding never win);
 * the loop over a row of outputs vectorizes.  While it runs, off[i, j] (int32: a vector
 * select of int64 lanes on a float compare does not vectorize) holds the max's offset
 * u*W + v from the window's corner (a constant per tap: no multiply in the loop); idx gets
 * it plus the corner at the end.  NOTE: a value replaces the max when greater, or when NaN
 * and the max is not: the first max (or NaN) in window order wins, as np.argmax; an all
 * -inf window keeps its first input, so no index points into the padding.  relu: of
 * NT_RELU(xp). */
static NT_ALWAYS_INLINE void max_pool_plane(const pool_t *d, const int64_t *restrict taps,
                                            const float *restrict xp, int relu,
                                            float *restrict y, int32_t *restrict off,
                                            int64_t *restrict idx)
{
    for (int64_t i = 0; i < d->ho; ++i) {
        int64_t r = i * d->sh - d->ph, dr = r < 0 ? -r : 0;
        for (int64_t j = 0; j < d->wo; ++j) {
            int64_t s = j * d->sw - d->pw;
            y[i * d->wo + j] = -INFINITY;
            off[i * d->wo + j] = (int32_t)(dr * d->w + (s < 0 ? -s : 0));
        }
    }
    for (int64_t u = 0; u < d->kh; ++u) {
        int64_t i0 = taps[2 * u], i1 = taps[2 * u + 1];
        for (int64_t v = 0; v < d->kw; ++v) {
            int64_t j0 = taps[2 * (d->kh + v)], j1 = taps[2 * (d->kh + v) + 1];
            int32_t offset = (int32_t)(u * d->w + v);
            for (int64_t i = i0; i < i1; ++i) {
                const float *xr = xp + (i * d->sh - d->ph + u) * d->w - d->pw + v;
                float *yr = y + i * d->wo;
                int32_t *orow = off + i * d->wo;
                if (d->sw == 1) /* constant strides vectorize (2: the common 2x2 pooling) */
                    max_pool_tap(xr, 1, j0, j1, offset, relu, yr, orow);
                else if (d->sw == 2)
                    max_pool_tap(xr, 2, j0, j1, offset, relu, yr, orow);
                else
                    max_pool_tap(xr, d->sw, j0, j1, offset, relu, yr, orow);
            }
        }
    }
    offsets_to_indices(d, off, idx);
}

#if NT_VL == 4 && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define NT_POOL_VEC2X2 1
#endif
#endif

#ifdef NT_POOL_VEC2X2
/* Four outputs of a 2x2 window, stride 2: r0, r1 hold the 8 inputs of each window row
 * (relu: of their NT_VRELU); the maxima go to y, their offsets from the window corners to
 * off. */
static NT_ALWAYS_INLINE void max_2x2_step(const float *r0, const float *r1, int32_t w, int relu,
                                          float *y, int32_t *off)
{
    nt_vf a0 = nt_vload(r0), b0 = nt_vload(r0 + 4), a1 = nt_vload(r1), b1 = nt_vload(r1 + 4);
    if (relu) {
        a0 = NT_VRELU(a0);
        b0 = NT_VRELU(b0);
        a1 = NT_VRELU(a1);
        b1 = NT_VRELU(b1);
    }
    nt_vf taps[3] = {__builtin_shufflevector(a0, b0, 1, 3, 5, 7),
                     __builtin_shufflevector(a1, b1, 0, 2, 4, 6),
                     __builtin_shufflevector(a1, b1, 1, 3, 5, 7)};
    const int32_t offsets[3] = {1, w, w + 1};
    nt_vf m = __builtin_shufflevector(a0, b0, 0, 2, 4, 6);
    nt_vi o = {0, 0, 0, 0};
    for (int t = 0; t < 3; ++t) {
        nt_vf a = taps[t];
        nt_vi take = (a > m) | ((a != a) & (m == m));
        m = (nt_vf)(((nt_vi)a & take) | ((nt_vi)m & ~take));
        o = (offsets[t] & take) | (o & ~take);
    }
    nt_vstore(y, m);
    memcpy(off, &o, sizeof o);
}

/* max_pool_plane for the common 2x2 window, stride 2, no padding: the four taps of an
 * output at once, in window order (the same selections, so the same result), four outputs
 * per step (the even and odd columns of two rows of eight inputs: inside the row while
 * 2*wo <= W; a row's last outputs by a step overlapping the one before it, or, in rows of
 * fewer than four outputs, on a zero-padded copy).  Compiled where the vectors
 * are 4 floats wide (SSE2, NEON); elsewhere max_pool_plane takes these windows too. */
static NT_ALWAYS_INLINE void max_pool_plane_2x2(const pool_t *d, const float *restrict xp,
                                                int relu, float *restrict y,
                                                int32_t *restrict off, int64_t *restrict idx)
{
    int64_t w = d->w, wo = d->wo;
    for (int64_t i = 0; i < d->ho; ++i) {
        const float *r0 = xp + 2 * i * w, *r1 = r0 + w;
        float *yr = y + i * wo;
        int32_t *orow = off + i * wo;
        int64_t j = 0;
        for (; j + 4 <= wo; j += 4)
            max_2x2_step(r0 + 2 * j, r1 + 2 * j, (int32_t)w, relu, yr + j, orow + j);
        if (j < wo && wo >= 4) { /* the last four outputs again, overlapping: the same values */
            j = wo - 4;
            max_2x2_step(r0 + 2 * j, r1 + 2 * j, (int32_t)w, relu, yr + j, orow + j);
        } else if (j < wo) {
            float t0[8] = {0}, t1[8] = {0}, ty[4];
            int32_t to[4];
            memcpy(t0, r0 + 2 * j, (size_t)(2 * (wo - j)) * sizeof(float));
            memcpy(t1, r1 + 2 * j, (size_t)(2 * (wo - j)) * sizeof(float));
            max_2x2_step(t0, t1, (int32_t)w, relu, ty, to);
            memcpy(yr + j, ty, (size_t)(wo - j) * sizeof(float));
            memcpy(orow + j, to, (size_t)(wo - j) * sizeof(int32_t));
        }
    }
    offsets_to_indices(d, off, idx);
}
#endif

/* One pooling call's arguments, shared by its threads (each takes whole planes). */
typedef struct {
    const pool_t *d;
    const int64_t *taps;
    const float *in;
    float *out;
    int64_t *indices;
    float count;
    int relu, status;
} pool_job_t;

static NT_ALWAYS_INLINE void max_pool_planes(pool_job_t *j, int t, int nt, int relu)
{
    const pool_t *d = j->d;
    int64_t lo, hi;
    int32_t *off = malloc((size_t)(d->ho * d->wo) * sizeof(int32_t));
    if (!off) {
        nt_fail(&j->status, NT_ENOMEM);
        return;
    }
    nt_range(d->planes, t, nt, &lo, &hi);
    for (int64_t p = lo; p < hi; ++p) {
        const float *x = j->in + p * d->h * d->w;
        float *y = j->out + p * d->ho * d->wo;
        int64_t *idx = j->indices + p * d->ho * d->wo;
#ifdef NT_POOL_VEC2X2
        if (d->kh == 2 && d->kw == 2 && d->sh == 2 && d->sw == 2 && d->ph == 0 && d->pw == 0) {
            max_pool_plane_2x2(d, x, relu, y, off, idx);
            continue;
        }
#endif
        max_pool_plane(d, j->taps, x, relu, y, off, idx);
    }
    free(off);
}

static void max_pool_share(void *ctx, int t, int nt)
{
    pool_job_t *j = ctx;
    if (j->relu) /* a copy of the loops each (relu a constant in both) */
        max_pool_planes(j, t, nt, 1);
    else
        max_pool_planes(j, t, nt, 0);
}

/* y[i, j] = max over window (i, j) of x, indices[i, j] = its position r*W + s, per plane
 * (see max_pool_plane).  NT_EINVAL when a window's offsets u*W + v pass INT32_MAX.
 * Saves: the NumPy backend's strided passes (compare, where, index). */
static int max_pool_fwd(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                        int64_t sh, int64_t sw, int64_t ph, int64_t pw, const float *restrict x,
                        int relu, float *restrict y, int64_t *restrict indices, int nthreads)
{
    pool_t d;
    if (nthreads < 1 || pool_dims(&d, n, c, h, w, kh, kw, sh, sw, ph, pw) != NT_OK
        || (kh - 1) * w + kw - 1 > INT32_MAX || (n > 0 && (!x || !y || !indices)))
        return NT_EINVAL;
    int64_t *taps = tap_table(&d);
    if (!taps)
        return NT_ENOMEM;
    pool_job_t job = {&d, taps, x, y, indices, 0.0f, relu, NT_OK};
    nt_parallel(pool_threads(&d, nthreads), max_pool_share, &job);
    free(taps);
    return job.status;
}

int nt_max_pool2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw, const float *restrict x,
                          float *restrict y, int64_t *restrict indices, int nthreads)
{
    return max_pool_fwd(n, c, h, w, kh, kw, sh, sw, ph, pw, x, 0, y, indices, nthreads);
}

/* nt_max_pool2d_fwd_f32 of relu(x) = max(x, 0) (NaN stays NaN, -0 becomes +0, as
 * nt_relu_fwd_f32), without writing relu(x): the same y and indices as the two kernels.
 * Saves: relu(x)'s write and read (a compiled step's ReLU -> MaxPool2d). */
int nt_max_pool2d_relu_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh,
                               int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                               const float *restrict x, float *restrict y,
                               int64_t *restrict indices, int nthreads)
{
    return max_pool_fwd(n, c, h, w, kh, kw, sh, sw, ph, pw, x, 1, y, indices, nthreads);
}

typedef struct {
    int64_t planes, hw, out;
    const float *dy, *y; /* y: the forward's output, given for the relu backward */
    const int64_t *indices;
    float *dx;
    int status;
} max_bwd_job_t;

/* The planes [lo, hi) of the scatter; relu (a constant in each inlined copy): add dy only
 * where y > 0, by a mask (NOTE: a branch on the sign of a ReLU's output mispredicts about
 * half the time: the [64, 32, 28, 28] backward took 1.07 ms with one, 0.70 without the
 * ReLU).  Returns whether an index was out of its plane. */
static NT_ALWAYS_INLINE int max_pool_scatter(const max_bwd_job_t *j, int64_t lo, int64_t hi,
                                             int relu)
{
    int64_t hw = j->hw, out = j->out;
    int bad = 0;
    for (int64_t p = lo; p < hi; ++p) {
        const float *g = j->dy + p * out, *yp = relu ? j->y + p * out : NULL;
        const int64_t *ip = j->indices + p * out;
        float *dxp = j->dx + p * hw;
        memset(dxp, 0, (size_t)hw * sizeof(float));
        for (int64_t q = 0; q < out; ++q) {
            int64_t k = ip[q];
            if (k < 0 || k >= hw) {
                bad = 1;
                continue;
            }
            float add = g[q];
            if (relu) { /* add = y > 0 ? dy : +0, by a mask (GCC branched on the select) */
                uint32_t bits;
                memcpy(&bits, &add, sizeof bits);
                bits &= -(uint32_t)(yp[q] > 0.0f);
                memcpy(&add, &bits, sizeof add);
            }
            dxp[k] += add; /* + 0 where masked: that dx stays +0, as every dy at k sees that y */
        }
    }
    return bad;
}

static void max_pool_bwd_share(void *ctx, int t, int nt)
{
    max_bwd_job_t *j = ctx;
    int64_t lo, hi;
    nt_range(j->planes, t, nt, &lo, &hi);
    if (j->y ? max_pool_scatter(j, lo, hi, 1) : max_pool_scatter(j, lo, hi, 0))
        nt_fail(&j->status, NT_EINVAL);
}

/* dx[r*W + s] += dy[i, j] for indices[i, j] = r*W + s, per plane, outputs in row-major
 * order (np.add.at's order).  NOTE: every index is checked against the plane: one out of
 * [0, H*W) is skipped, and the kernel returns NT_EINVAL (dx is then not meaningful).
 * Saves: np.add.at's flat-index temporary; on two threads, half the scatter. */
static int max_pool_bwd(int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo,
                        const float *restrict dy, const int64_t *restrict indices,
                        const float *restrict y, float *restrict dx, int nthreads)
{
    if (nthreads < 1 || n < 0 || c < 1 || h < 1 || w < 1 || ho < 1 || wo < 1
        || h > NT_POOL_MAX_SIZE / w || ho > NT_POOL_MAX_SIZE / wo
        || (n > 0 && c > NT_POOL_MAX_SIZE / (h * w + ho * wo) / n)
        || (n > 0 && (!dy || !indices || !dx)))
        return NT_EINVAL;
    int64_t planes = n * c, hw = h * w, out = ho * wo;
    max_bwd_job_t job = {planes, hw, out, dy, y, indices, dx, NT_OK};
    nt_parallel(nt_threads_for(planes * (hw + out), NT_POOL_PAR_MIN,
                               nt_threads_for(planes, 1, nthreads)),
                max_pool_bwd_share, &job);
    return job.status;
}

int nt_max_pool2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo,
                          const float *restrict dy, const int64_t *restrict indices,
                          float *restrict dx, int nthreads)
{
    return max_pool_bwd(n, c, h, w, ho, wo, dy, indices, NULL, dx, nthreads);
}

/* The gradient of nt_max_pool2d_relu_fwd_f32: as nt_max_pool2d_bwd_f32, but dy[i, j] is
 * added only where y[i, j] > 0 (y: that forward's output, relu(x) at indices[i, j]): the
 * bits of nt_relu_bwd_f32 after nt_max_pool2d_bwd_f32, as every dy that reaches one input
 * sees the same y.  Saves: the ReLU backward's pass (read dx and relu(x), write dx). */
int nt_max_pool2d_relu_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho,
                               int64_t wo, const float *restrict dy,
                               const int64_t *restrict indices, const float *restrict y,
                               float *restrict dx, int nthreads)
{
    if (n > 0 && !y)
        return NT_EINVAL;
    return max_pool_bwd(n, c, h, w, ho, wo, dy, indices, y, dx, nthreads);
}

/* One plane of an average pooling: y[i, j] = (sum over window (i, j) of xp) / (kh*kw).
 * Tap by tap in row-major order from +0, as the NumPy backend (the same bits); taps in the
 * padding add nothing. */
static void avg_pool_plane(const pool_t *d, const int64_t *restrict taps,
                           const float *restrict xp, float *restrict y)
{
    float count = (float)(d->kh * d->kw);
    for (int64_t q = 0; q < d->ho * d->wo; ++q)
        y[q] = 0.0f;
    for (int64_t u = 0; u < d->kh; ++u) {
        int64_t i0 = taps[2 * u], i1 = taps[2 * u + 1];
        for (int64_t v = 0; v < d->kw; ++v) {
            int64_t j0 = taps[2 * (d->kh + v)], j1 = taps[2 * (d->kh + v) + 1];
            for (int64_t i = i0; i < i1; ++i) {
                const float *xr = xp + (i * d->sh - d->ph + u) * d->w;
                float *yr = y + i * d->wo;
                for (int64_t j = j0; j < j1; ++j)
                    yr[j] += xr[j * d->sw - d->pw + v];
            }
        }
    }
    for (int64_t q = 0; q < d->ho * d->wo; ++q)
        y[q] /= count;
}

static void avg_pool_share(void *ctx, int t, int nt)
{
    const pool_job_t *j = ctx;
    const pool_t *d = j->d;
    int64_t lo, hi;
    nt_range(d->planes, t, nt, &lo, &hi);
    for (int64_t p = lo; p < hi; ++p)
        avg_pool_plane(d, j->taps, j->in + p * d->h * d->w, j->out + p * d->ho * d->wo);
}

/* y = the mean of each window, the padding's zeros counted (count_include_pad), per plane
 * (see avg_pool_plane).  Saves: kh*kw strided passes over the outputs and the padded copy. */
int nt_avg_pool2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw, const float *restrict x,
                          float *restrict y, int nthreads)
{
    pool_t d;
    if (nthreads < 1 || pool_dims(&d, n, c, h, w, kh, kw, sh, sw, ph, pw) != NT_OK
        || (n > 0 && (!x || !y)))
        return NT_EINVAL;
    int64_t *taps = tap_table(&d);
    if (!taps)
        return NT_ENOMEM;
    pool_job_t job = {&d, taps, x, y, NULL, 0.0f, 0, NT_OK};
    nt_parallel(pool_threads(&d, nthreads), avg_pool_share, &job);
    free(taps);
    return NT_OK;
}

static void avg_pool_bwd_share(void *ctx, int t, int nt)
{
    const pool_job_t *job = ctx;
    const pool_t *d = job->d;
    const int64_t *taps = job->taps;
    const float count = job->count;
    int64_t lo, hi;
    nt_range(d->planes, t, nt, &lo, &hi);
    for (int64_t p = lo; p < hi; ++p) {
        const float *g = job->in + p * d->ho * d->wo;
        float *dxp = job->out + p * d->h * d->w;
        memset(dxp, 0, (size_t)(d->h * d->w) * sizeof(float));
        for (int64_t u = 0; u < d->kh; ++u) {
            int64_t i0 = taps[2 * u], i1 = taps[2 * u + 1];
            for (int64_t v = 0; v < d->kw; ++v) {
                int64_t j0 = taps[2 * (d->kh + v)], j1 = taps[2 * (d->kh + v) + 1];
                for (int64_t i = i0; i < i1; ++i) {
                    float *row = dxp + (i * d->sh - d->ph + u) * d->w;
                    const float *gi = g + i * d->wo;
                    for (int64_t j = j0; j < j1; ++j)
                        row[j * d->sw - d->pw + v] += gi[j] / count;
                }
            }
        }
    }
}

/* dx = sum over the windows containing each input of dy[i, j] / (kh*kw), per plane.  As the
 * NumPy backend: tap by tap (u, v), each tap adding the shares of every output it reads for,
 * so overlapping windows add up in the same order (the same bits).
 * Saves: the padded dx and its copy, and kh*kw strided passes. */
int nt_avg_pool2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw, const float *restrict dy,
                          float *restrict dx, int nthreads)
{
    pool_t d;
    if (nthreads < 1 || pool_dims(&d, n, c, h, w, kh, kw, sh, sw, ph, pw) != NT_OK
        || (n > 0 && (!dy || !dx)))
        return NT_EINVAL;
    int64_t *taps = tap_table(&d);
    if (!taps)
        return NT_ENOMEM;
    pool_job_t job = {&d, taps, dy, dx, NULL, (float)(kh * kw), 0, NT_OK};
    nt_parallel(pool_threads(&d, nthreads), avg_pool_bwd_share, &job);
    free(taps);
    return NT_OK;
}
