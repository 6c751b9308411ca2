/* gelu.c -- the Gaussian error linear unit, elementwise over `size` floats of any shape.
 *
 *   exact (approximate = NT_GELU_NONE):  y = x * Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2,
 *                                        dy/dx = Phi(x) + x * phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi)
 *   tanh (approximate = NT_GELU_TANH):   y = x * s, s = (1 + tanh u) / 2 = sigmoid(2u),
 *                                        u = sqrt(2/pi) * (x + 0.044715 x^3),
 *                                        dy/dx = s + x * 2 s (1 - s) * du/dx
 *
 * The math is the NumPy backend's (gelu_forward, gelu_backward); so are the erfc polynomial's
 * coefficients.  Every step is float arithmetic on NT_VL lanes at once (GCC's vector types,
 * selects instead of branches), and exp is vec_math.h's nt_vexpf: glibc's erff, tanhf and expf
 * are one call per element, which GCC does not vectorize without -ffast-math.
 * Accuracy: a few ulp, plus the rounding of x / sqrt 2 in float32, which moves Phi's far
 * tail by up to ~x^2 ulp (as PyTorch's float32 kernel; the NumPy backend computes in float64).
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"
#include "vec_math.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define NT_GELU_PAR_MIN (1 << 14) /* elements per thread before a second one pays */

/* y / x and dy/dx of the exact GELU: Phi(x) and Phi(x) + x phi(x).  With a = |x| / sqrt 2 and
 * t = 1 / (1 + a/2): erfc(a) = t e^(-a^2) h(t), h the degree-10 polynomial fitted to
 * erfc(a) e^(a^2) / t on 0 <= a <= 10 (relative error < 6e-9; erfc(10) = 2e-45 is below
 * float32's range); Phi = 1 - erfc(a)/2 for x >= 0 and erfc(a)/2 below (no 1 + erf: its
 * cancellation loses the negative tail). */
static inline void gelu_exact(nt_vf x, nt_vf *s, nt_vf *slope)
{
    nt_vf a = nt_vfloats(nt_vbits(x) & 0x7FFFFFFFu) * 0.707106781f;
    nt_vf t = 1.0f / (1.0f + 0.5f * nt_vselect((nt_vu)(a < NT_SPLAT(10.0f)), a, NT_SPLAT(10.0f)));
    nt_vf h = t * 0.032179299226823818f - 0.17029594286986732f;
    h = h * t + 0.32902322293122166f;
    h = h * t - 0.2135727092246342f;
    h = h * t - 0.091908784455623588f;
    h = h * t + 0.077940543293725628f;
    h = h * t + 0.037615008740853183f;
    h = h * t + 0.19020038052251398f;
    h = h * t + 0.24440796151130711f;
    h = h * t + 0.2823254746262f;
    h = h * t + 0.28208554768603666f;
    nt_vf e = nt_vexpf(-(a * a)); /* e^(-x^2/2) */
    nt_vf half_erfc = 0.5f * t * e * h;
    *s = nt_vselect((nt_vu)(x < NT_SPLAT(0.0f)), half_erfc, 1.0f - half_erfc);
    *slope = *s + x * (e * 0.398942280f); /* phi(x) = e^(-x^2/2) / sqrt(2 pi) */
}

/* The same for the tanh GELU: s = (1 + tanh u) / 2 = sigmoid(2u) (no 1 + tanh: cancellation
 * again) and s + x * 2 s (1 - s) du/dx. */
static inline void gelu_tanh(nt_vf x, nt_vf *s, nt_vf *slope)
{
    nt_vf x2 = x * x;
    nt_vf u = 0.797884561f * (x + 0.044715f * x2 * x);
    nt_vf sig = 1.0f / (1.0f + nt_vexpf(-2.0f * u));
    *s = sig;
    /* NOTE: x^2 capped where s (1 - s) is 0 anyway, so 0 * inf never makes a NaN */
    nt_vf x2c = nt_vselect((nt_vu)(x2 < NT_SPLAT(1e30f)), x2, NT_SPLAT(1e30f));
    *slope = sig + x * (2.0f * sig * (1.0f - sig) * 0.797884561f * (1.0f + 0.134145f * x2c));
}

/* NT_VL lanes of the output: x * s (forward) or dy * slope (backward). */
static NT_ALWAYS_INLINE nt_vf gelu_lanes(nt_vf x, nt_vf dy, const int backward, const int tanh)
{
    nt_vf s, slope;
    if (tanh)
        gelu_tanh(x, &s, &slope);
    else
        gelu_exact(x, &s, &slope);
    return backward ? dy * slope : x * s;
}

/* [lo, hi) of out: whole vectors, then the tail through a padded vector.  `backward` and
 * `tanh` are constants at each call site below, so each loop computes only what it needs
 * (the forward no slope). */
static NT_ALWAYS_INLINE void gelu_span_as(int64_t lo, int64_t hi, const float *restrict dy,
                                          const float *restrict x, float *restrict out,
                                          const int backward, const int tanh)
{
    int64_t i = lo;
    for (; i + NT_VL <= hi; i += NT_VL) {
        nt_vf g = backward ? nt_vload(dy + i) : NT_SPLAT(0.0f);
        nt_vstore(out + i, gelu_lanes(nt_vload(x + i), g, backward, tanh));
    }
    if (i < hi) {
        float xt[NT_VL] = {0}, gt[NT_VL] = {0}, yt[NT_VL];
        size_t bytes = (size_t)(hi - i) * sizeof(float);
        memcpy(xt, x + i, bytes);
        if (backward)
            memcpy(gt, dy + i, bytes);
        nt_vstore(yt, gelu_lanes(nt_vload(xt), nt_vload(gt), backward, tanh));
        memcpy(out + i, yt, bytes);
    }
}

static void gelu_span(int64_t lo, int64_t hi, const float *restrict dy, const float *restrict x,
                      int approximate, float *restrict out)
{
    int tanh = approximate == NT_GELU_TANH;
    if (dy && tanh)
        gelu_span_as(lo, hi, dy, x, out, 1, 1);
    else if (dy)
        gelu_span_as(lo, hi, dy, x, out, 1, 0);
    else if (tanh)
        gelu_span_as(lo, hi, NULL, x, out, 0, 1);
    else
        gelu_span_as(lo, hi, NULL, x, out, 0, 0);
}

typedef struct {
    int64_t size;
    const float *dy, *x;
    int approximate;
    float *out;
} gelu_job_t;

static void gelu_share(void *ctx, int t, int nt)
{
    gelu_job_t *job = ctx;
    int64_t lo, hi;
    nt_range(job->size, t, nt, &lo, &hi);
    gelu_span(lo, hi, job->dy, job->x, job->approximate, job->out);
}

static int gelu_run(int64_t size, const float *dy, const float *x, int approximate, float *out,
                    int nthreads)
{
    int nt = nt_threads_for(size, NT_GELU_PAR_MIN, nthreads);
    gelu_job_t job = {size, dy, x, approximate, out};
    if (nt == 1)
        gelu_share(&job, 0, 1);
    else
        nt_parallel(nt, gelu_share, &job);
    return NT_OK;
}

/* y = gelu(x).  Saves: the NumPy spec's float64 copies and temporaries: one pass. */
int nt_gelu_fwd_f32(int64_t size, const float *restrict x, int approximate, float *restrict y,
                    int nthreads)
{
    if (size < 0 || nthreads < 1 || (approximate != NT_GELU_NONE && approximate != NT_GELU_TANH)
        || (size > 0 && (!x || !y)))
        return NT_EINVAL;
    return gelu_run(size, NULL, x, approximate, y, nthreads);
}

/* dx = dy * gelu'(x), from the saved input x.  Saves: the temporaries, in one pass. */
int nt_gelu_bwd_f32(int64_t size, const float *restrict dy, const float *restrict x,
                    int approximate, float *restrict dx, int nthreads)
{
    if (size < 0 || nthreads < 1 || (approximate != NT_GELU_NONE && approximate != NT_GELU_TANH)
        || (size > 0 && (!dy || !x || !dx)))
        return NT_EINVAL;
    return gelu_run(size, dy, x, approximate, dx, nthreads);
}
