/* check_vec_math.c -- vec_math.h's lane-wise e^x and log against double-precision libm, at
 * whatever NT_VL the compiler is given: tests/test_vec_math.py builds it at the host's
 * baseline width and with -DNT_VL=1 (the plain-scalar build of compilers without GCC's vector
 * types), so the bit tricks that read comparison results as lane masks are checked both ways.
 * One line per failing value, then "N passed, N failed"; exit status 1 on any failure. */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"
#include "vec_math.h"

#include <math.h>
#include <stdio.h>

static int passed, failed;

/* f applied to NT_VL copies of x (every lane must give the same value): lane 0's result */
static float lanes(nt_vf (*f)(nt_vf), float x)
{
    float in[NT_VL], out[NT_VL];
    for (int k = 0; k < NT_VL; ++k)
        in[k] = x;
    nt_vf v = f(nt_vload(in));
    memcpy(out, &v, sizeof out);
    for (int k = 1; k < NT_VL; ++k)
        if (memcmp(&out[k], &out[0], sizeof(float)) != 0)
            return NAN;
    return out[0];
}

static void expect(int ok, const char *what, float x, float got, double want)
{
    if (ok) {
        ++passed;
        return;
    }
    ++failed;
    printf("FAIL %s(%.9g) = %.9g, expected %.9g\n", what, (double)x, (double)got, want);
}

/* |got - want| <= ulps float ulps of want */
static int close_to(float got, double want, double ulps)
{
    return fabs((double)got - want) <= ulps * ldexp(1.0, ilogb(want) - 23);
}

static nt_vf expf_lanes(nt_vf v) { return nt_vexpf(v); }
static nt_vf logf_lanes(nt_vf v) { return nt_vlogf(v); }

int main(void)
{
    /* e^x: within 2 ulp from -87.33 to 88.37, 0 below, inf above, NaN for NaN */
    for (double x = -120.0; x <= 100.0; x += 0.0137) {
        float xf = (float)x, got = lanes(expf_lanes, xf);
        if (xf < -87.33f)
            expect(got == 0.0f, "exp", xf, got, 0.0);
        else if (xf > 88.37f)
            expect(isinf(got) && got > 0, "exp", xf, got, INFINITY);
        else
            expect(close_to(got, exp((double)xf), 2.0), "exp", xf, got, exp((double)xf));
    }
    float special[] = {-INFINITY, -1e30f, -87.34f, 0.0f, -0.0f, 88.38f, 1e30f, INFINITY};
    double want[] = {0.0, 0.0, 0.0, 1.0, 1.0, INFINITY, INFINITY, INFINITY};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; ++i) {
        float got = lanes(expf_lanes, special[i]);
        expect(got == (float)want[i], "exp", special[i], got, want[i]);
    }
    float nan_in = lanes(expf_lanes, NAN);
    expect(isnan(nan_in), "exp", NAN, nan_in, NAN);
    /* log x on the sums cross_entropy.c takes it of (>= 1): within 2 ulp */
    for (double x = 1.0; x < 1e30; x *= 1.0371) {
        float xf = (float)x, got = lanes(logf_lanes, xf);
        expect(close_to(got, log((double)xf), 2.0) || (xf == 1.0f && got == 0.0f), "log", xf, got,
               log((double)xf));
    }
    printf("NT_VL %d: %d passed, %d failed\n", NT_VL, passed, failed);
    return failed != 0;
}
