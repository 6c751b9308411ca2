/* winograd.c -- 3x3 convolutions, stride 1, by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
 *
 * Each output is cut into 2x2 tiles; a tile reads a 4x4 patch d of the padded input, and
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * gives its four outputs from 16 products per (input, output) channel pair instead of 36.
 * Per tile position xi = 4*i + j of the 4x4 transform domain, the sum over input channels is
 * one GEMM: M[xi][O, T] = U[xi][O, C] @ V[xi][C, T] (T tiles), on the library's GEMM.
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 * The backward uses the same pieces: dx is the convolution of dy (padding 2 - p) with the
 * weights rotated by 180 degrees and their channels swapped; dW = G^T dU G with
 * dU[xi][O, C] = sum over tiles of (A dY A^T)[xi] V[xi]^T (the gradient of the forward's
 * expression, which is linear in U).
 * V, the input's transform (16*C*T floats per image, T tiles), is the forward's saved
 * tensor, in blocks of whole images (see block_images), each block [16, C, its tiles]; the
 * backward reads it instead of im2col's columns (about half their size).
 * NOTE: an inf or NaN in x leaves the same outputs non-finite as a direct convolution (the
 * zeros of A^T and B^T keep it out of the outputs whose windows miss it), but inf - inf in
 * the transforms makes some of them NaN where a direct convolution gives +-inf.
 * Threads take blocks of whole images; the weight transforms run before them.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"
#include "vec_math.h"

#include <stdlib.h>

#define NT_WINO_BLOCK_TILES 128 /* tiles per GEMM block: whole images of one thread */
#define NT_WINO_MAX_SIZE (INT64_MAX / 64) /* bound on every array's elements (no overflow) */
#define NT_WINO_PAR_MIN_FLOPS 2000000 /* per thread, as for the GEMM */

/* One convolution in Winograd form: input [cin, hi, wi] per image, padding (qh, qw),
 * output [cout, hy, wy] with hy = hi + 2*qh - 2, covered by th x tw tiles.  A plane's tiles
 * are numbered t = ty*s + tx with s = tw + 1: one extra tile per tile row (tx = tw, whose
 * values are never stored) makes every transform a loop over all t = th*s tiles at once,
 * reading the plane's quarters at fixed shifts (see quarters). */
typedef struct {
    int64_t cin, hi, wi, cout, qh, qw, hy, wy, th, tw, s, t;
} wino_t;

static void wino_dims(wino_t *d, int64_t cin, int64_t hi, int64_t wi, int64_t cout, int64_t qh,
                      int64_t qw)
{
    int64_t hy = hi + 2 * qh - 2, wy = wi + 2 * qw - 2, th = (hy + 1) / 2, tw = (wy + 1) / 2;
    *d = (wino_t){cin, hi, wi, cout, qh, qw, hy, wy, th, tw, tw + 1, th * (tw + 1)};
}

/* Floats of one quarter plane: (th + 1) rows of s, and the slack the shifted reads of the
 * extra tiles reach (one row and one column further). */
static int64_t quarter_size(const wino_t *d) { return (d->th + 2) * d->s + 1; }

/* U[xi][r, s] = (G g G^T)[xi] for each 3x3 filter g = weight[o, c] (rot: g[a][b] =
 * weight[o, c, 2 - a, 2 - b]); swap: U is [16][C, O] (the backward's dx), else [16][O, C]. */
static void weight_transform(int64_t o, int64_t c, const float *restrict weight, int rot,
                             int swap, float *restrict u)
{
    for (int64_t p = 0; p < o; ++p)
        for (int64_t q = 0; q < c; ++q) {
            const float *w9 = weight + (p * c + q) * 9;
            float g[3][3], s[4][3];
            for (int a = 0; a < 3; ++a)
                for (int b = 0; b < 3; ++b)
                    g[a][b] = rot ? w9[(2 - a) * 3 + 2 - b] : w9[a * 3 + b];
            for (int b = 0; b < 3; ++b) { /* rows: G g */
                s[0][b] = g[0][b];
                s[1][b] = 0.5f * (g[0][b] + g[1][b] + g[2][b]);
                s[2][b] = 0.5f * (g[0][b] - g[1][b] + g[2][b]);
                s[3][b] = g[2][b];
            }
            int64_t at = swap ? q * o + p : p * c + q;
            for (int i = 0; i < 4; ++i) { /* columns: (G g) G^T */
                float r[4] = {s[i][0], 0.5f * (s[i][0] + s[i][1] + s[i][2]),
                              0.5f * (s[i][0] - s[i][1] + s[i][2]), s[i][2]};
                for (int j = 0; j < 4; ++j)
                    u[(4 * i + j) * o * c + at] = r[j];
            }
        }
}

/* The plane p[rows, cols], placed at row r0 and column c0 of a zero plane, as its four
 * quarters: q[2*rp + cp][ty*s + tx] = padded[2*ty + rp][2*tx + cp] (q: 4 quarter_size
 * blocks).  Then the element (a, b) of tile t's 4x4 patch is quarter (a%2, b%2) at
 * t + (a/2)*s + b/2. */
static NT_ALWAYS_INLINE void quarters(const wino_t *d, const float *restrict p, int64_t rows,
                                      int64_t cols, int64_t r0, int64_t c0, float *restrict q)
{
    int64_t s = d->s, qn = quarter_size(d);
    memset(q, 0, (size_t)(4 * qn) * sizeof(float));
    for (int64_t r = 0; r < rows; ++r) {
        int64_t pr = r + r0;
        if (pr >= 2 * (d->th + 1)) /* never: the padded plane fits (a guard for the writes) */
            break;
        float *even = q + (2 * (pr & 1) + (c0 & 1)) * qn + (pr >> 1) * s + (c0 >> 1);
        float *odd = q + (2 * (pr & 1) + 1 - (c0 & 1)) * qn + (pr >> 1) * s + ((c0 + 1) >> 1);
        const float *pp = p + r * cols;
        int64_t n = nt_min64(cols, 2 * s - c0);
        for (int64_t k = 0; 2 * k < n; ++k)
            even[k] = pp[2 * k];
        for (int64_t k = 0; 2 * k + 1 < n; ++k)
            odd[k] = pp[2 * k + 1];
    }
}

/* One plane x[hi, wi] into V[xi][t] (xi-stride `ld`), for its t tiles; q, r: scratch. */
static NT_ALWAYS_INLINE void input_tiles(const wino_t *d, const float *restrict x,
                                         float *restrict q, float *restrict r,
                                         float *restrict v, int64_t ld)
{
    int64_t s = d->s, n = d->t, qn = quarter_size(d), rn = n + 1;
    quarters(d, x, d->hi, d->wi, d->qh, d->qw, q);
    for (int cp = 0; cp < 2; ++cp) { /* rows: B^T d, per column parity, at shifts 0 and s */
        const float *q0 = q + cp * qn, *q1 = q + (2 + cp) * qn;
        float *r0 = r + (4 * cp) * rn, *r1 = r0 + rn, *r2 = r1 + rn, *r3 = r2 + rn;
        for (int64_t k = 0; k < rn; ++k) {
            r0[k] = q0[k] - q0[k + s];
            r1[k] = q1[k] + q0[k + s];
            r2[k] = q0[k + s] - q1[k];
            r3[k] = q1[k] - q1[k + s];
        }
    }
    for (int i = 0; i < 4; ++i) { /* columns: (B^T d) B, at shifts 0 and 1 */
        const float *e = r + i * rn, *o = r + (4 + i) * rn;
        float *v0 = v + (4 * i) * ld, *v1 = v0 + ld, *v2 = v1 + ld, *v3 = v2 + ld;
        for (int64_t k = 0; k < n; ++k) {
            v0[k] = e[k] - e[k + 1];
            v1[k] = o[k] + e[k + 1];
            v2[k] = e[k + 1] - o[k];
            v3[k] = o[k] - o[k + 1];
        }
    }
}

/* One output plane y[hy, wy] (+ bias) from M[xi][t] (xi-stride `ld`): Y = A^T M A per tile,
 * computed for all tiles at once into r (8 rows of t: r[2i + j] = output (i, j) of each
 * tile), then interleaved into y's rows. */
static NT_ALWAYS_INLINE void output_tiles(const wino_t *d, const float *restrict m, int64_t ld,
                                          float bias, float *restrict r, float *restrict y)
{
    int64_t n = d->t, s = d->s;
    float *a0 = r + 4 * n, *a1 = r + 5 * n, *a2 = r + 6 * n, *a3 = r + 7 * n;
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 4; ++j) { /* rows: A^T M, row i, column j of the tiles */
            const float *m0 = m + j * ld, *m1 = m0 + 4 * ld, *m2 = m1 + 4 * ld, *m3 = m2 + 4 * ld;
            float *aj = j == 0 ? a0 : j == 1 ? a1 : j == 2 ? a2 : a3;
            if (i == 0)
                for (int64_t k = 0; k < n; ++k)
                    aj[k] = m0[k] + m1[k] + m2[k];
            else
                for (int64_t k = 0; k < n; ++k)
                    aj[k] = m1[k] - m2[k] - m3[k];
        }
        float *y0 = r + 2 * i * n, *y1 = y0 + n; /* columns: (A^T M) A */
        for (int64_t k = 0; k < n; ++k) {
            y0[k] = a0[k] + a1[k] + a2[k] + bias;
            y1[k] = a1[k] - a2[k] - a3[k] + bias;
        }
    }
    for (int64_t ty = 0; ty < d->th; ++ty)
        for (int i = 0; i < 2 && 2 * ty + i < d->hy; ++i) {
            const float *e = r + 2 * i * n + ty * s, *o = e + n;
            float *yr = y + (2 * ty + i) * d->wy;
            if (2 * ty + i + 1 < d->hy && s <= d->wy) { /* 2*s floats, up to wy + 3: the
                                           * excess lands on the next row, written after this */
                for (int64_t k = 0; k < s; ++k) {
                    yr[2 * k] = e[k];
                    yr[2 * k + 1] = o[k];
                }
                continue;
            }
            int64_t k = 0; /* the plane's last row: exactly wy floats */
            for (; 2 * k + 1 < d->wy; ++k) {
                yr[2 * k] = e[k];
                yr[2 * k + 1] = o[k];
            }
            if (2 * k < d->wy)
                yr[2 * k] = e[k];
        }
}

/* o0..o3[k] = a[k], a[k] + b[k], a[k] - b[k], -b[k] for k < n: one pass of A = [1 0; 1 1;
 * 1 -1; 0 -1] over the vectors a, b (grad_tiles applies it to rows, then to columns). */
static NT_ALWAYS_INLINE void apply_a(const float *restrict a, const float *restrict b,
                                     float *restrict o0, float *restrict o1, float *restrict o2,
                                     float *restrict o3, int64_t n)
{
    for (int64_t k = 0; k < n; ++k) {
        o0[k] = a[k];
        o1[k] = a[k] + b[k];
        o2[k] = a[k] - b[k];
        o3[k] = -b[k];
    }
}

/* One plane dy[hy, wy] into dM[xi][t] = (A dY A^T)[xi] per tile (xi-stride `ld`), the extra
 * tiles 0 (so they add nothing to dU); q, r: scratch. */
static NT_ALWAYS_INLINE void grad_tiles(const wino_t *d, const float *restrict dy,
                                        float *restrict q, float *restrict r,
                                        float *restrict dm, int64_t ld)
{
    int64_t n = d->t, qn = quarter_size(d);
    quarters(d, dy, d->hy, d->wy, 0, 0, q);
    for (int cp = 0; cp < 2; ++cp) { /* rows: A dY, from the tile's two rows */
        float *h0 = r + 4 * cp * n;
        apply_a(q + cp * qn, q + (2 + cp) * qn, h0, h0 + n, h0 + 2 * n, h0 + 3 * n, n);
    }
    for (int i = 0; i < 4; ++i) { /* columns: (A dY) A^T */
        float *m0 = dm + 4 * i * ld;
        apply_a(r + i * n, r + (4 + i) * n, m0, m0 + ld, m0 + 2 * ld, m0 + 3 * ld, n);
    }
}

/* Scratch of one thread (floats): a plane's quarters and rows, M (and V for dx). */
typedef struct {
    float *q, *r, *m, *v;
} wino_scratch_t;

static int scratch_alloc(wino_scratch_t *s, const wino_t *d, int64_t tb, int with_v)
{
    int64_t qn = 4 * quarter_size(d), rn = 8 * (d->t + 1);
    float *all = malloc((size_t)(qn + rn + 16 * d->cout * tb + (with_v ? 16 * d->cin * tb : 0))
                        * sizeof(float));
    *s = (wino_scratch_t){all, all + qn, all + qn + rn, NULL};
    if (with_v)
        s->v = s->m + 16 * d->cout * tb;
    return all ? NT_OK : NT_ENOMEM;
}

/* Images [i0, i1) of one convolution: x[., cin, hi, wi] -> V (columns col0 + tile of image
 * i - i0, row stride vn: V[xi][c] starts at v + (xi*cin + c)*vn), 16 GEMMs into M, then
 * y[., cout, hy, wy] (+ bias). */
static NT_ALWAYS_INLINE int wino_block(const wino_t *d, int64_t i0, int64_t i1,
                                       const float *restrict x, const float *restrict u,
                                       const float *restrict bias, float *restrict v, int64_t vn,
                                       int64_t col0, const wino_scratch_t *s, float *restrict y)
{
    int64_t t = d->t, tb = (i1 - i0) * t, cin = d->cin, cout = d->cout;
    for (int64_t i = i0; i < i1; ++i)
        for (int64_t c = 0; c < cin; ++c)
            input_tiles(d, x + (i * cin + c) * d->hi * d->wi, s->q, s->r,
                        v + c * vn + col0 + (i - i0) * t, cin * vn);
    for (int xi = 0; xi < 16; ++xi) {
        int st = nt_gemm_f32(cout, tb, cin, u + xi * cout * cin, cin, 0, v + xi * cin * vn + col0,
                             vn, 0, s->m + xi * cout * tb, tb, NULL, 0, 1);
        if (st != NT_OK)
            return st;
    }
    for (int64_t i = i0; i < i1; ++i)
        for (int64_t o = 0; o < cout; ++o)
            output_tiles(d, s->m + o * tb + (i - i0) * t, cout * tb, bias ? bias[o] : 0.0f, s->r,
                         y + (i * cout + o) * d->hy * d->wy);
    return NT_OK;
}

/* Images per block: a block's GEMMs multiply NT_WINO_BLOCK_TILES tiles or one image's. */
static int64_t block_images(const wino_t *d)
{
    return d->t >= NT_WINO_BLOCK_TILES ? 1 : NT_WINO_BLOCK_TILES / d->t;
}

/* Images [*lo, *hi) of thread t of nt: whole blocks of ib images (the layout of v). */
static void block_range(int64_t n, int64_t ib, int t, int nt, int64_t *lo, int64_t *hi)
{
    nt_range((n + ib - 1) / ib, t, nt, lo, hi);
    *lo = nt_min64(n, *lo * ib);
    *hi = nt_min64(n, *hi * ib);
}

static int wino_threads(int64_t n, const wino_t *d, int nthreads)
{
    double flops = 2.0 * (double)n * (double)(16 * d->t) * (double)(d->cin * d->cout);
    return nt_threads_for((int64_t)(flops / NT_WINO_PAR_MIN_FLOPS), 1, nt_threads_for(n, 1, nthreads));
}

/* The sizes both kernels take: n >= 0, c, o, h, w >= 1, padding 0..2 (dx's convolution pads
 * by 2 - p), an output of at least one pixel, and arrays far from overflowing int64. */
static int wino_sizes(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t ph,
                      int64_t pw, wino_t *fwd, wino_t *bwd)
{
    if (n < 0 || c < 1 || h < 1 || w < 1 || o < 1 || ph < 0 || ph > 2 || pw < 0 || pw > 2
        || h + 2 * ph < 3 || w + 2 * pw < 3 || h > NT_WINO_MAX_SIZE / w
        || (c > o ? c : o) > NT_WINO_MAX_SIZE / 16 / (h + 2) / (w + 2)
        || (n > 0 && (c > o ? c : o) * 16 * (h + 2) * (w + 2) > NT_WINO_MAX_SIZE / n))
        return NT_EINVAL;
    wino_dims(fwd, c, h, w, o, ph, pw);
    wino_dims(bwd, o, fwd->hy, fwd->wy, c, 2 - ph, 2 - pw);
    return NT_OK;
}

typedef struct {
    const wino_t *d;
    int64_t n;
    const float *x, *u, *bias;
    float *y, *v;
    int status;
} wino_fwd_job_t;

static NT_ALWAYS_INLINE void wino_fwd_share_body(void *ctx, int t, int nt)
{
    wino_fwd_job_t *j = ctx;
    const wino_t *d = j->d;
    int64_t lo, hi, ib = block_images(d), tiles = d->t;
    wino_scratch_t s;
    block_range(j->n, ib, t, nt, &lo, &hi);
    if (lo >= hi)
        return;
    if (scratch_alloc(&s, d, nt_min64(ib, hi - lo) * tiles, 0) != NT_OK) {
        nt_fail(&j->status, NT_ENOMEM);
        return;
    }
    unsigned csr = nt_ftz_enter();
    for (int64_t i0 = lo; i0 < hi; i0 += ib)
        nt_fail(&j->status, wino_block(d, i0, nt_min64(hi, i0 + ib), j->x, j->u, j->bias,
                                       j->v + i0 * 16 * d->cin * tiles,
                                       (nt_min64(hi, i0 + ib) - i0) * tiles, 0, &s, j->y));
    nt_ftz_leave(csr);
    free(s.q);
}

NT_WIDE_SHARES(wino_fwd_share, NT_TARGET_WIDE)

/* y[n, o, ho, wo] = the 3x3 convolution (stride 1, padding ph, pw <= 2) of x[n, c, h, w]
 * with weight[o, c, 3, 3] (+ bias[o]); v (16*c*n*T floats, T = ceil(ho/2) * (ceil(wo/2) + 1)
 * tiles per image, blocks of images as block_images says) gets the input's transform, for
 * the backward.  Saves: im2col's 9 copies of x (v holds about 4 per output pixel), and 5/9
 * of the multiply-adds. */
int nt_conv2d_wino_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t ph,
                           int64_t pw, const float *restrict x, const float *restrict weight,
                           const float *restrict bias, float *restrict y, float *restrict v,
                           int nthreads)
{
    wino_t d, back;
    if (nthreads < 1 || wino_sizes(n, c, h, w, o, ph, pw, &d, &back) != NT_OK
        || (n > 0 && (!x || !weight || !y || !v)))
        return NT_EINVAL;
    if (n == 0)
        return NT_OK;
    float *u = malloc((size_t)(16 * o * c) * sizeof(float));
    if (!u)
        return NT_ENOMEM;
    weight_transform(o, c, weight, 0, 0, u);
    wino_fwd_job_t job = {&d, n, x, u, bias, y, v, NT_OK};
    nt_parallel(wino_threads(n, &d, nthreads), NT_PICK_SHARE(wino_fwd_share), &job);
    free(u);
    return job.status;
}

typedef struct {
    const wino_t *d, *back;
    int64_t n, part;
    const float *dy, *v, *u;
    float *dx, *parts;
    int want_dw, want_db, status;
} wino_bwd_job_t;

static NT_ALWAYS_INLINE void wino_bwd_share_body(void *ctx, int t, int nt)
{
    wino_bwd_job_t *j = ctx;
    const wino_t *d = j->d, *b = j->back;
    int64_t lo, hi, ib = block_images(d), ibx = block_images(b), tiles = d->t;
    int64_t o = d->cout, c = d->cin, hw = d->hy * d->wy;
    float *du = j->parts + t * j->part, *db = du + 16 * o * c;
    wino_scratch_t s = {0}, sx = {0};
    block_range(j->n, ib, t, nt, &lo, &hi);
    if (lo >= hi)
        return;
    if ((j->want_dw && scratch_alloc(&s, d, nt_min64(ib, hi - lo) * tiles, 0) != NT_OK)
        || (j->dx && scratch_alloc(&sx, b, nt_min64(ibx, hi - lo) * b->t, 1) != NT_OK)) {
        free(s.q);
        nt_fail(&j->status, NT_ENOMEM);
        return;
    }
    unsigned csr = nt_ftz_enter();
    for (int64_t i0 = lo; j->want_dw && i0 < hi; i0 += ib) {
        int64_t i1 = nt_min64(hi, i0 + ib), tb = (i1 - i0) * tiles;
        for (int64_t i = i0; i < i1; ++i)
            for (int64_t q = 0; q < o; ++q)
                grad_tiles(d, j->dy + (i * o + q) * hw, s.q, s.r, s.m + q * tb + (i - i0) * tiles,
                           o * tb);
        for (int xi = 0; xi < 16; ++xi)
            nt_fail(&j->status, nt_gemm_f32(o, c, tb, s.m + xi * o * tb, tb, 0,
                                            j->v + (i0 * 16 + xi * (i1 - i0)) * c * tiles,
                                            tb, 1, du + xi * o * c, c, NULL,
                                            NT_GEMM_ACCUMULATE, 1));
    }
    for (int64_t i = lo; j->want_db && i < hi; ++i)
        for (int64_t q = 0; q < o; ++q)
            db[q] += (float)nt_span_dot(j->dy + (i * o + q) * hw, 0.0f, NULL, 0.0f, hw);
    for (int64_t i0 = lo; j->dx && i0 < hi; i0 += ibx) {
        int64_t i1 = nt_min64(hi, i0 + ibx);
        nt_fail(&j->status, wino_block(b, i0, i1, j->dy, j->u, NULL, sx.v, (i1 - i0) * b->t,
                                       0, &sx, j->dx));
    }
    nt_ftz_leave(csr);
    free(s.q);
    free(sx.q);
}

NT_WIDE_SHARES(wino_bwd_share, NT_TARGET_WIDE)

/* dW[o, c] = G^T dU[., o, c] G from dU [16, O, C] (summed over the threads' parts). */
static void weight_grad(int64_t o, int64_t c, const float *restrict du, float *restrict dw)
{
    for (int64_t p = 0; p < o; ++p)
        for (int64_t q = 0; q < c; ++q) {
            float g[4][4], s[3][4];
            for (int xi = 0; xi < 16; ++xi)
                g[xi / 4][xi % 4] = du[(xi * o + p) * c + q];
            for (int j = 0; j < 4; ++j) { /* rows: G^T dU */
                s[0][j] = g[0][j] + 0.5f * (g[1][j] + g[2][j]);
                s[1][j] = 0.5f * (g[1][j] - g[2][j]);
                s[2][j] = 0.5f * (g[1][j] + g[2][j]) + g[3][j];
            }
            float *w9 = dw + (p * c + q) * 9;
            for (int i = 0; i < 3; ++i) { /* columns: (G^T dU) G */
                w9[i * 3 + 0] = s[i][0] + 0.5f * (s[i][1] + s[i][2]);
                w9[i * 3 + 1] = 0.5f * (s[i][1] - s[i][2]);
                w9[i * 3 + 2] = 0.5f * (s[i][1] + s[i][2]) + s[i][3];
            }
        }
}

/* From dy[n, o, ho, wo] and the forward's v: dx[n, c, h, w] (the convolution of dy, padded
 * by 2 - p, with the rotated weights), dw[o, c, 3, 3] = G^T dU G with dU[xi] = sum over
 * tiles of (A dY A^T)[xi] V[xi]^T, db[o] = sum of dy; dx, dw, db may each be NULL.  Each
 * thread sums dU and db over its images in its own buffer; the buffers are added at the end.
 * Saves: im2col's dcols and col2im's scatter; 5/9 of the multiply-adds. */
int nt_conv2d_wino_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t ph,
                           int64_t pw, const float *restrict dy, const float *restrict v,
                           const float *restrict weight, float *restrict dx, float *restrict dw,
                           float *restrict db, int nthreads)
{
    wino_t d, back;
    if (nthreads < 1 || wino_sizes(n, c, h, w, o, ph, pw, &d, &back) != NT_OK
        || (n > 0 && (!dy || (dw && !v) || (dx && !weight))))
        return NT_EINVAL;
    int64_t part = 16 * o * c + o;
    int nt = n > 0 ? wino_threads(n, &d, nthreads) : 1;
    float *parts = calloc((size_t)(nt * part), sizeof(float)); /* per thread: dU, db */
    float *u = dx ? malloc((size_t)(16 * o * c) * sizeof(float)) : NULL;
    if (!parts || (dx && !u)) {
        free(parts);
        free(u);
        return NT_ENOMEM;
    }
    if (dx)
        weight_transform(o, c, weight, 1, 1, u);
    wino_bwd_job_t job = {&d, &back, n, part, dy, v, u, dx, parts, dw != NULL, db != NULL, NT_OK};
    if (n > 0)
        nt_parallel(nt, NT_PICK_SHARE(wino_bwd_share), &job);
    for (int i = 1; i < nt; ++i)
        for (int64_t k = 0; k < part; ++k)
            parts[k] += parts[i * part + k];
    if (job.status == NT_OK && dw)
        weight_grad(o, c, parts, dw);
    if (job.status == NT_OK && db)
        memcpy(db, parts + 16 * o * c, (size_t)o * sizeof(float));
    free(parts);
    free(u);
    return job.status;
}
