/* vec_math.h -- lane-wise helpers for kernels that compute on nt_vf vectors (NT_VL floats in
 * GCC's vector types; plain floats on other compilers): lanes as bits, a select on a
 * comparison's lanes, and e^x.  Written per lane these stayed scalar (SSE2 has no blend, and
 * glibc's expf is one call per element, which GCC does not vectorize without -ffast-math).
 * Included by kernel sources after nanotorch_kernels.h (batchnorm.c, cross_entropy.c, gelu.c,
 * optim.c, relu.c).
 */
#ifndef NANOTORCH_VEC_MATH_H
#define NANOTORCH_VEC_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* A second, AVX2 copy of a kernel's loops, for the x86 builds whose baseline is narrower:
 * a function marked NT_TARGET_WIDE that calls the NT_ALWAYS_INLINE loop gets that loop
 * inlined and vectorized 8 floats wide (the same C, so the same results for elementwise
 * work).  nt_wide() says whether to run it: the GEMM's instruction set (the widest this CPU
 * runs, or NANOTORCH_ISA's, gemm.c) is avx2 or avx512, so NANOTORCH_ISA=generic tests
 * the baseline loops on any host.  Elsewhere (ARM, or a build already for AVX2) NT_WIDE is
 * 0 and the baseline loops are the only ones. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__AVX2__)
#define NT_WIDE 1
#define NT_TARGET_WIDE __attribute__((target("avx2")))
#define NT_TARGET_WIDE_FMA __attribute__((target("avx2,fma"))) /* where fused rounding is fine */
static inline int nt_wide(void)
{
    const char *isa = nt_isa_current();
    return strcmp(isa, "avx2") == 0 || strcmp(isa, "avx512") == 0;
}
#else
#define NT_WIDE 0
static inline int nt_wide(void) { return 0; }
#endif

/* A thread's share (an nt_task_fn) in both copies: from the always-inline body
 * `name##_body(ctx, t, nt)`, NT_WIDE_SHARES(name, target) defines `name` (the baseline
 * loops) and, where NT_WIDE, `name##_wide` (the same body compiled with `target`:
 * NT_TARGET_WIDE or NT_TARGET_WIDE_FMA); NT_PICK_SHARE(name) is the one a call runs. */
#if NT_WIDE
#define NT_WIDE_SHARES(name, target)                                                           \
    static void name(void *ctx, int t, int nt) { name##_body(ctx, t, nt); }                    \
    target static void name##_wide(void *ctx, int t, int nt) { name##_body(ctx, t, nt); }
#define NT_PICK_SHARE(name) (nt_wide() ? name##_wide : name)
#else
#define NT_WIDE_SHARES(name, target)                                                           \
    static void name(void *ctx, int t, int nt) { name##_body(ctx, t, nt); }
#define NT_PICK_SHARE(name) (name)
#endif

#if NT_VL > 1
typedef uint32_t nt_vu __attribute__((vector_size(NT_VL * sizeof(uint32_t))));
#else
typedef uint32_t nt_vu;
#endif

static inline nt_vu nt_vbits(nt_vf v)
{
    nt_vu u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static inline nt_vf nt_vfloats(nt_vu u)
{
    nt_vf v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* where(mask, a, b) for a comparison's mask: all-ones lanes (vectors) or 1 (scalars) */
static inline nt_vf nt_vselect(nt_vu mask, nt_vf a, nt_vf b)
{
#if NT_VL > 1
    return nt_vfloats((mask & nt_vbits(a)) | (~mask & nt_vbits(b)));
#else
    return mask ? a : b;
#endif
}

/* expf(x) lane by lane, within 2 ulp: x = n ln2 + r with |r| <= ln2/2 (n rounded by adding
 * 1.5 * 2^23, ln2 split in two so n ln2 is exact enough), e^r by Cephes' polynomial, times 2^n
 * built from n's bits.  NaN stays NaN, x < -87.33 (where expf goes subnormal) gives 0,
 * x > 88.37 gives inf: NOTE: those lanes are replaced at the end, so x is not clamped first
 * (whatever the steps make of them is discarded). */
static inline nt_vf nt_vexpf(nt_vf x)
{
    nt_vu low = (nt_vu)(x < NT_SPLAT(-87.33f)), high = (nt_vu)(x > NT_SPLAT(88.37f));
    nt_vf t = x * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23: rounds to an integer */
    nt_vf nf = t - 12582912.0f;
    nt_vf r = x - nf * 0.693359375f + nf * 2.12194440e-4f;
    nt_vf y = NT_SPLAT(1.9875691500e-4f);
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    y *= nt_vfloats((nt_vbits(t) - 0x4B400000u + 127u) << 23); /* t's low bits hold n */
    return nt_vselect(low, NT_SPLAT(0.0f), nt_vselect(high, NT_SPLAT(INFINITY), y));
}

/* The sum and the max of v's lanes, folding halves onto each other.  With a NaN lane the
 * max is one of the lanes, not necessarily the NaN (cross_entropy.c: a NaN logit makes its
 * row NaN through exp whatever the max). */
static inline float nt_vhsum(nt_vf v)
{
#if NT_VL > 1
    float t[NT_VL];
    memcpy(t, &v, sizeof t);
    for (int w = NT_VL / 2; w >= 1; w /= 2)
        for (int k = 0; k < w; ++k)
            t[k] += t[k + w];
    return t[0];
#else
    return v;
#endif
}

static inline float nt_vhmax(nt_vf v)
{
#if NT_VL > 1
    float t[NT_VL];
    memcpy(t, &v, sizeof t);
    for (int w = NT_VL / 2; w >= 1; w /= 2)
        for (int k = 0; k < w; ++k)
            t[k] = t[k + w] > t[k] ? t[k + w] : t[k];
    return t[0];
#else
    return v;
#endif
}

/* logf(x) lane by lane, within 2 ulp, for x a positive normal float, +inf or NaN (which
 * pass through): x = 2^k * f with f in [sqrt(1/2), sqrt(2)), ln x = k ln2 + ln f, ln f by
 * Cephes' polynomial in f - 1 (ln2 split in two as in nt_vexpf).  Zero, negative and
 * subnormal x are outside its domain (cross_entropy.c calls it on sums >= 1). */
#if NT_VL == 1
static inline nt_vf nt_vlogf(nt_vf x) { return logf(x); }
#else
static inline nt_vf nt_vlogf(nt_vf x)
{
    nt_vu bits = nt_vbits(x);
    nt_vu big = (nt_vu)(nt_vfloats((bits & 0x007FFFFFu) | 0x3F800000u) > NT_SPLAT(1.41421356f));
    nt_vu k = (bits >> 23) - 127u + (big & 1u); /* f = x / 2^k; k as two's complement */
    nt_vf f = nt_vfloats(bits - (k << 23)) - 1.0f;
    nt_vf kf = __builtin_convertvector((nt_vi)k, nt_vf);
    nt_vf z = f * f;
    nt_vf y = NT_SPLAT(7.0376836292e-2f);
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z + kf * -2.12194440e-4f - 0.5f * z;
    y = f + y + kf * 0.693359375f;
    return nt_vselect((nt_vu)(x == x) & (nt_vu)(x != NT_SPLAT(INFINITY)), y, x);
}
#endif

#endif /* NANOTORCH_VEC_MATH_H */
