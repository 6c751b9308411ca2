/* vec_math.h -- lane-wise helpers for kernels that compute on nt_vf vectors (NT_VL floats in
 * GCC's vector types; plain floats on other compilers): lanes as bits, a select on a
 * comparison's lanes, and e^x.  Written per lane these stayed scalar (SSE2 has no blend, and
 * glibc's expf is one call per element, which GCC does not vectorize without -ffast-math).
 * Included by kernel sources after nanotorch_kernels.h (cross_entropy.c, gelu.c).
 */
#ifndef NANOTORCH_VEC_MATH_H
#define NANOTORCH_VEC_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

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
 * x > 88.37 gives inf. */
static inline nt_vf nt_vexpf(nt_vf x)
{
    nt_vu low = (nt_vu)(x < NT_SPLAT(-87.33f)), high = (nt_vu)(x > NT_SPLAT(88.37f));
    nt_vf xc = nt_vselect(low, NT_SPLAT(-87.33f), nt_vselect(high, NT_SPLAT(88.37f), x));
    nt_vf t = xc * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23: rounds to an integer */
    nt_vf nf = t - 12582912.0f;
    nt_vf r = xc - nf * 0.693359375f + nf * 2.12194440e-4f;
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

#endif /* NANOTORCH_VEC_MATH_H */
