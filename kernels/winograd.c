/* winograd.c -- 3x3 convolutions, stride 1, by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
 *
 * Each output is cut into 2x2 tiles; a tile reads a 4x4 patch d of the padded input, and
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * gives its four outputs from 16 products per (input, output) channel pair instead of 36.
 * Per tile position xi = 4*i + j of the 4x4 transform domain, the sum over input channels is
 * one GEMM: M[xi][T, O] = V[xi][T, C] @ U[xi][C, O] (T tiles), on the library's GEMM.
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 * The backward uses the same pieces: dx is the convolution of dy (padding 2 - p) with the
 * weights rotated by 180 degrees and their channels swapped; dW = G^T dU G with
 * dU[xi][C, O] = V[xi]^T (A dY A^T)[xi] summed over tiles (the gradient of the forward's
 * expression, which is linear in U).
 * Layout: channels innermost.  An image is first copied into a zero-padded [rows, cols, C]
 * plane, so every transform is a loop over a tile's channels (contiguous, vectorized) and
 * the tiles are exactly the output's (no extra ones); V is [16][tiles][C] and M
 * [16][tiles][O], so the GEMMs read their operands in place and the output channels are
 * their wide dimension (the GEMM's 16-wide tiles divide O = 32 or 64).  The outputs are
 * transformed into a [rows, cols, O] plane, then copied back to y's [O, rows, cols].
 * V, the input's transform (16*C*T floats per image), is the forward's saved tensor, in
 * blocks of whole images (see block_images), each block [16][its tiles][C] (one array
 * [16][n*T][C] would put V[xi]'s 16 rows of a tile at a multiple of 4 KiB apart: the same
 * cache set, conflict misses that doubled the forward's time); the backward reads it
 * instead of im2col's columns (about half their size).
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
 * output [cout, hy, wy] with hy = hi + 2*qh - 2, covered by th x tw tiles (t of them); the
 * tiles read a zero-padded input plane of hp = 2*th + 2 rows and wp = 2*tw + 2 columns. */
typedef struct {
    int64_t cin, hi, wi, cout, qh, qw, hy, wy, th, tw, t, hp, wp;
} wino_t;

static void wino_dims(wino_t *d, int64_t cin, int64_t hi, int64_t wi, int64_t cout, int64_t qh,
                      int64_t qw)
{
    int64_t hy = hi + 2 * qh - 2, wy = wi + 2 * qw - 2, th = (hy + 1) / 2, tw = (wy + 1) / 2;
    *d = (wino_t){cin, hi, wi, cout, qh, qw, hy, wy, th, tw, th * tw, 2 * th + 2, 2 * tw + 2};
}

/* U[xi][in, out] = (G g G^T)[xi] for each 3x3 filter g of weight[o, c]: the forward's
 * (in = c, out = o), or with back the dx convolution's (in = o, out = c, g rotated by 180
 * degrees: g[a][b] = weight[o, c, 2 - a, 2 - b]). */
static void weight_transform(int64_t o, int64_t c, const float *restrict weight, int back,
                             float *restrict u)
{
    for (int64_t p = 0; p < o; ++p)
        for (int64_t q = 0; q < c; ++q) {
            const float *w9 = weight + (p * c + q) * 9;
            float g[3][3], s[4][3];
            for (int a = 0; a < 3; ++a)
                for (int b = 0; b < 3; ++b)
                    g[a][b] = back ? w9[(2 - a) * 3 + 2 - b] : w9[a * 3 + b];
            for (int b = 0; b < 3; ++b) { /* rows: G g */
                s[0][b] = g[0][b];
                s[1][b] = 0.5f * (g[0][b] + g[1][b] + g[2][b]);
                s[2][b] = 0.5f * (g[0][b] - g[1][b] + g[2][b]);
                s[3][b] = g[2][b];
            }
            int64_t at = back ? p * c + q : q * o + p;
            for (int i = 0; i < 4; ++i) { /* columns: (G g) G^T */
                float r[4] = {s[i][0], 0.5f * (s[i][0] + s[i][1] + s[i][2]),
                              0.5f * (s[i][0] - s[i][1] + s[i][2]), s[i][2]};
                for (int j = 0; j < 4; ++j)
                    u[(4 * i + j) * o * c + at] = r[j];
            }
        }
}

/* An 8x8 block: dst[j*ds + i] = src[i*ss + j] (i, j < 8), by three rounds of shuffles
 * where GCC has them (unpack pairs of rows, then pairs of pairs, then the 128-bit halves). */
static NT_ALWAYS_INLINE void transpose8(const float *restrict src, int64_t ss,
                                        float *restrict dst, int64_t ds)
{
#if defined(__GNUC__) && __has_builtin(__builtin_shufflevector)
    typedef float v8 __attribute__((vector_size(8 * sizeof(float)), aligned(4), may_alias));
    v8 r[8], t[8], u[8];
    for (int i = 0; i < 8; ++i)
        r[i] = *(const v8 *)(src + i * ss);
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int h = 0; h < 2; ++h) {
            u[i + 2 * h] = __builtin_shufflevector(t[i + h], t[i + h + 2], 0, 1, 8, 9, 4, 5, 12,
                                                   13);
            u[i + 2 * h + 1] = __builtin_shufflevector(t[i + h], t[i + h + 2], 2, 3, 10, 11, 6, 7,
                                                       14, 15);
        }
    for (int j = 0; j < 4; ++j) { /* u[j] and u[4 + j] hold columns j and 4 + j */
        *(v8 *)(dst + j * ds) = __builtin_shufflevector(u[j], u[4 + j], 0, 1, 2, 3, 8, 9, 10, 11);
        *(v8 *)(dst + (4 + j) * ds) = __builtin_shufflevector(u[j], u[4 + j], 4, 5, 6, 7, 12, 13,
                                                              14, 15);
    }
#else
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j)
            dst[j * ds + i] = src[i * ss + j];
#endif
}

/* Between planes p[ch, rows, cols] and pixels q (pixel (r, k) at q + (r*wq + k)*ch, its
 * channels innermost): to_pixels copies p_in into q, else q into p_out (the other NULL).
 * 8x8 blocks of (channels, columns), the edges one by one. */
static NT_ALWAYS_INLINE void planes_pixels(const float *restrict p_in, float *restrict p_out,
                                           int64_t ch, int64_t rows, int64_t cols,
                                           float *restrict q, int64_t wq, int to_pixels)
{
    int64_t hw = rows * cols, c0 = 0;
    for (; c0 + 8 <= ch; c0 += 8)
        for (int64_t r = 0; r < rows; ++r) {
            int64_t at = c0 * hw + r * cols; /* (offsets only on the non-NULL plane) */
            float *qr = q + r * wq * ch + c0;
            int64_t k = 0;
            for (; k + 8 <= cols; k += 8)
                if (to_pixels)
                    transpose8(p_in + at + k, hw, qr + k * ch, ch);
                else
                    transpose8(qr + k * ch, ch, p_out + at + k, hw);
            for (; k < cols; ++k)
                for (int64_t c = 0; c < 8; ++c)
                    if (to_pixels)
                        qr[k * ch + c] = p_in[at + c * hw + k];
                    else
                        p_out[at + c * hw + k] = qr[k * ch + c];
        }
    for (int64_t c = c0; c < ch; ++c)
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t k = 0; k < cols; ++k)
                if (to_pixels)
                    q[(r * wq + k) * ch + c] = p_in[c * hw + r * cols + k];
                else
                    p_out[c * hw + r * cols + k] = q[(r * wq + k) * ch + c];
}

/* The per-tile transforms work on 8 channels at a time in GCC's vector type (GCC's own
 * vectorizer leaves their channel loops scalar: too many streams with one base), the last
 * ch % 8 one by one; the same macro body serves both.  NT_WINO_V(p): the 8 floats at p. */
#if defined(__GNUC__)
typedef float wino_vf __attribute__((vector_size(8 * sizeof(float)), aligned(4), may_alias));
#define NT_WINO_VL 8
#define NT_WINO_V(p) (*(wino_vf *)(p))
#else
typedef float wino_vf;
#define NT_WINO_VL 1
#define NT_WINO_V(p) (*(p))
#endif
#define NT_WINO_F(p) (*(p))
/* the channel loop of a tile transform: body(T, L) for c = 8 channels, then for the rest */
#define NT_WINO_CHANNELS(body)                                                                 \
    int64_t c = 0;                                                                             \
    for (; c + NT_WINO_VL <= ch; c += NT_WINO_VL)                                              \
        body(wino_vf, NT_WINO_V);                                                              \
    for (; c < ch; ++c)                                                                        \
        body(float, NT_WINO_F)

/* The tile whose 4x4 patch starts at p (row stride rs, channels ch innermost) into V[xi][c]
 * = (B^T d B)[xi] for each channel c, at v + xi*ld + c: rows B^T d (r_i = row i), then
 * row i of V = B^T r_i. */
#define NT_WINO_BT(L, w, a, b, e, f) /* L(w + j*ld) = (B^T [a b e f])_j */                   \
    L(w) = (a) - (e), L((w) + ld) = (b) + (e), L((w) + 2 * ld) = (e) - (b),                   \
    L((w) + 3 * ld) = (b) - (f)
#define NT_WINO_INPUT(T, L)                                                                    \
    do {                                                                                       \
        T r0[4], r1[4], r2[4], r3[4];                                                          \
        for (int b = 0; b < 4; ++b) {                                                          \
            T d0 = L(p + b * ch + c), d1 = L(p + rs + b * ch + c),                             \
              d2 = L(p + 2 * rs + b * ch + c), d3 = L(p + 3 * rs + b * ch + c);                \
            r0[b] = d0 - d2, r1[b] = d1 + d2, r2[b] = d2 - d1, r3[b] = d1 - d3;                \
        }                                                                                      \
        NT_WINO_BT(L, v + c, r0[0], r0[1], r0[2], r0[3]);                                      \
        NT_WINO_BT(L, v + 4 * ld + c, r1[0], r1[1], r1[2], r1[3]);                             \
        NT_WINO_BT(L, v + 8 * ld + c, r2[0], r2[1], r2[2], r2[3]);                             \
        NT_WINO_BT(L, v + 12 * ld + c, r3[0], r3[1], r3[2], r3[3]);                            \
    } while (0)
static NT_ALWAYS_INLINE void input_tile(const float *restrict p, int64_t rs, int64_t ch,
                                        float *restrict v, int64_t ld)
{
    NT_WINO_CHANNELS(NT_WINO_INPUT);
}

/* One tile's outputs Y = A^T M A + bias from M[xi][c] at m + xi*ld + c, into the 2x2 block
 * at y (row stride rs, channels ch innermost): rows a_i = (A^T M)_i, then columns. */
#define NT_WINO_OUTPUT(T, L)                                                                   \
    do {                                                                                       \
        T a0[4], a1[4], bc = L(bias + c);                                                      \
        for (int j = 0; j < 4; ++j) {                                                          \
            T m0 = L(m + j * ld + c), m1 = L(m + (4 + j) * ld + c),                            \
              m2 = L(m + (8 + j) * ld + c), m3 = L(m + (12 + j) * ld + c);                     \
            a0[j] = m0 + m1 + m2, a1[j] = m1 - m2 - m3;                                        \
        }                                                                                      \
        L(y + c) = a0[0] + a0[1] + a0[2] + bc, L(y + ch + c) = a0[1] - a0[2] - a0[3] + bc;     \
        L(y + rs + c) = a1[0] + a1[1] + a1[2] + bc;                                            \
        L(y + rs + ch + c) = a1[1] - a1[2] - a1[3] + bc;                                       \
    } while (0)
static NT_ALWAYS_INLINE void output_tile(const float *restrict m, int64_t ld,
                                         const float *restrict bias, int64_t ch,
                                         float *restrict y, int64_t rs)
{
    NT_WINO_CHANNELS(NT_WINO_OUTPUT);
}

/* One tile's dM[xi] = (A dY A^T)[xi] from its 2x2 block of dy at g (row stride rs,
 * channels ch innermost), at dm + xi*ld + c: rows h_a = (A dY)_a, then row a of dM = A h_a
 * (A = [1 0; 1 1; 1 -1; 0 -1]). */
#define NT_WINO_A(L, w, a, b) /* L(w + j*ld) = (A [a b])_j */                                 \
    L(w) = (a), L((w) + ld) = (a) + (b), L((w) + 2 * ld) = (a) - (b), L((w) + 3 * ld) = -(b)
#define NT_WINO_GRAD(T, L)                                                                     \
    do {                                                                                       \
        T y00 = L(g + c), y01 = L(g + ch + c), y10 = L(g + rs + c), y11 = L(g + rs + ch + c);  \
        NT_WINO_A(L, dm + c, y00, y01);                                                        \
        NT_WINO_A(L, dm + 4 * ld + c, y00 + y10, y01 + y11);                                   \
        NT_WINO_A(L, dm + 8 * ld + c, y00 - y10, y01 - y11);                                   \
        NT_WINO_A(L, dm + 12 * ld + c, -y10, -y11);                                            \
    } while (0)
static NT_ALWAYS_INLINE void grad_tile(const float *restrict g, int64_t rs, int64_t ch,
                                       float *restrict dm, int64_t ld)
{
    NT_WINO_CHANNELS(NT_WINO_GRAD);
}

/* Scratch of one thread (floats): the padded input plane (zero outside the image), the
 * output (or dy) plane [2*th, 2*tw, cout] (zero outside dy), M [16][tiles][cout], V (dx's
 * block) and the bias (or zeros). */
typedef struct {
    float *xp, *yp, *m, *v, *bias;
} wino_scratch_t;

static int scratch_alloc(wino_scratch_t *s, const wino_t *d, int64_t tb, int with_v)
{
    int64_t xn = d->hp * d->wp * d->cin, yn = 4 * d->t * d->cout, mn = 16 * d->cout * tb;
    int64_t vn = with_v ? 16 * d->cin * tb : 0;
    float *all = malloc((size_t)(xn + yn + mn + vn + d->cout) * sizeof(float));
    if (!all)
        return NT_ENOMEM;
    memset(all, 0, (size_t)(xn + yn) * sizeof(float));
    *s = (wino_scratch_t){all, all + xn, all + xn + yn, with_v ? all + xn + yn + mn : NULL,
                          all + xn + yn + mn + vn};
    return NT_OK;
}

/* Images [i0, i1) of one convolution: x[., cin, hi, wi] -> V (V[xi] at v + xi*vs, this
 * block's tiles its first rows), 16 GEMMs into M, then y[., cout, hy, wy] (+ s->bias). */
static NT_ALWAYS_INLINE int wino_block(const wino_t *d, int64_t i0, int64_t i1,
                                       const float *restrict x, const float *restrict u,
                                       float *restrict v, int64_t vs, const wino_scratch_t *s,
                                       float *restrict y)
{
    int64_t t = d->t, tb = (i1 - i0) * t, cin = d->cin, cout = d->cout, tw = d->tw;
    int64_t xs = d->wp * cin, ys = 2 * tw * cout;
    for (int64_t i = i0; i < i1; ++i) {
        planes_pixels(x + i * cin * d->hi * d->wi, NULL, cin, d->hi, d->wi,
                      s->xp + (d->qh * d->wp + d->qw) * cin, d->wp, 1);
        for (int64_t ty = 0; ty < d->th; ++ty) /* (k = ty*tw + tx: GCC vectorizes the */
            for (int64_t tx = 0; tx < tw; ++tx) /* channel loops only in this nest) */
                input_tile(s->xp + 2 * ty * xs + 2 * tx * cin, xs, cin,
                           v + ((i - i0) * t + ty * tw + tx) * cin, vs);
    }
    for (int xi = 0; xi < 16; ++xi) {
        int st = nt_gemm_f32(tb, cout, cin, v + xi * vs, cin, 0, u + xi * cin * cout, cout, 0,
                             s->m + xi * tb * cout, cout, NULL, 0, 1);
        if (st != NT_OK)
            return st;
    }
    for (int64_t i = i0; i < i1; ++i) {
        for (int64_t ty = 0; ty < d->th; ++ty)
            for (int64_t tx = 0; tx < tw; ++tx)
                output_tile(s->m + ((i - i0) * t + ty * tw + tx) * cout, tb * cout, s->bias,
                            cout, s->yp + 2 * ty * ys + 2 * tx * cout, ys);
        planes_pixels(NULL, y + i * cout * d->hy * d->wy, cout, d->hy, d->wy, s->yp, 2 * tw, 0);
    }
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
        || (c > o ? c : o) > NT_WINO_MAX_SIZE / 16 / (h + 6) / (w + 6)
        || (n > 0 && (c > o ? c : o) * 16 * (h + 6) * (w + 6) > NT_WINO_MAX_SIZE / n))
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
    for (int64_t o = 0; o < d->cout; ++o)
        s.bias[o] = j->bias ? j->bias[o] : 0.0f;
    unsigned csr = nt_ftz_enter();
    for (int64_t i0 = lo; i0 < hi; i0 += ib)
        nt_fail(&j->status, wino_block(d, i0, nt_min64(hi, i0 + ib), j->x, j->u,
                                       j->v + i0 * 16 * tiles * d->cin,
                                       (nt_min64(hi, i0 + ib) - i0) * tiles * d->cin, &s, j->y));
    nt_ftz_leave(csr);
    free(s.xp);
}

NT_WIDE_SHARES(wino_fwd_share, NT_TARGET_WIDE)

/* y[n, o, ho, wo] = the 3x3 convolution (stride 1, padding ph, pw <= 2) of x[n, c, h, w]
 * with weight[o, c, 3, 3] (+ bias[o]); v (16*c*n*T floats, T = ceil(ho/2) * ceil(wo/2)
 * tiles per image, in blocks of images as block_images says) gets the input's transform,
 * for the backward.  Saves:
 * im2col's 9 copies of x (v holds about 4 per output pixel), and 5/9 of the multiply-adds. */
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
    weight_transform(o, c, weight, 0, u);
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
    int64_t o = d->cout, c = d->cin, hw = d->hy * d->wy, ys = 2 * d->tw * o;
    float *du = j->parts + t * j->part, *db = du + 16 * o * c;
    wino_scratch_t s = {0}, sx = {0};
    block_range(j->n, ib, t, nt, &lo, &hi);
    if (lo >= hi)
        return;
    if ((j->want_dw && scratch_alloc(&s, d, nt_min64(ib, hi - lo) * tiles, 0) != NT_OK)
        || (j->dx && scratch_alloc(&sx, b, nt_min64(ibx, hi - lo) * b->t, 1) != NT_OK)) {
        free(s.xp);
        nt_fail(&j->status, NT_ENOMEM);
        return;
    }
    if (j->dx)
        for (int64_t q = 0; q < b->cout; ++q)
            sx.bias[q] = 0.0f;
    unsigned csr = nt_ftz_enter();
    for (int64_t i0 = lo; j->want_dw && i0 < hi; i0 += ib) {
        int64_t i1 = nt_min64(hi, i0 + ib), tb = (i1 - i0) * tiles;
        for (int64_t i = i0; i < i1; ++i) {
            planes_pixels(j->dy + i * o * hw, NULL, o, d->hy, d->wy, s.yp, 2 * d->tw, 1);
            for (int64_t ty = 0; ty < d->th; ++ty)
                for (int64_t tx = 0; tx < d->tw; ++tx)
                    grad_tile(s.yp + 2 * ty * ys + 2 * tx * o, ys, o,
                              s.m + ((i - i0) * tiles + ty * d->tw + tx) * o, tb * o);
        }
        for (int xi = 0; xi < 16; ++xi)
            nt_fail(&j->status,
                    nt_gemm_f32(c, o, tb, j->v + (16 * i0 + xi * (i1 - i0)) * tiles * c, c, 1,
                                s.m + xi * tb * o, o, 0, du + xi * c * o, o, NULL,
                                NT_GEMM_ACCUMULATE, 1));
    }
    for (int64_t i = lo; j->want_db && i < hi; ++i)
        for (int64_t q = 0; q < o; ++q)
            db[q] += (float)nt_span_dot(j->dy + (i * o + q) * hw, 0.0f, NULL, 0.0f, hw);
    for (int64_t i0 = lo; j->dx && i0 < hi; i0 += ibx) {
        int64_t i1 = nt_min64(hi, i0 + ibx);
        nt_fail(&j->status, wino_block(b, i0, i1, j->dy, j->u, sx.v, (i1 - i0) * b->t * b->cin,
                                       &sx, j->dx));
    }
    nt_ftz_leave(csr);
    free(s.xp);
    free(sx.xp);
}

NT_WIDE_SHARES(wino_bwd_share, NT_TARGET_WIDE)

/* dW[o, c] = G^T dU[., c, o] G from dU [16, C, O] (summed over the threads' parts). */
static void weight_grad(int64_t o, int64_t c, const float *restrict du, float *restrict dw)
{
    for (int64_t p = 0; p < o; ++p)
        for (int64_t q = 0; q < c; ++q) {
            float g[4][4], s[3][4];
            for (int xi = 0; xi < 16; ++xi)
                g[xi / 4][xi % 4] = du[(xi * c + q) * o + p];
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
 * tiles of V[xi]^T (A dY A^T)[xi], db[o] = sum of dy; dx, dw, db may each be NULL.  Each
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
        weight_transform(o, c, weight, 1, u);
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
