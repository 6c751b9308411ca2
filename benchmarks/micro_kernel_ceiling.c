/* micro_kernel_ceiling.c -- how fast the GEMM's register tile can run at all on this core:
 * the AVX-512 micro-kernel's loop (MR rows x NV vectors of 16 floats, a broadcast of a and a
 * multiply-add per vector each k step, as kernels/gemm_kernel.h's `micro`) on a packed A
 * panel and B micro-panel that stay in L1 (or L2 for a long KC), with nothing else around it:
 * no packing, no edges, no threads.  It prints GFLOP/s and the percent of the core's peak,
 * measured here by independent multiply-adds as nt_fma_gflops does.
 *
 *   gcc -O2 -mavx512f -mfma [-DMR=12 -DNV=2 -DKC=192] benchmarks/micro_kernel_ceiling.c -o /tmp/mkc
 *   /tmp/mkc
 *
 * (x86-64 with AVX-512 only.)  The best of 5 runs of ~40 M multiply-adds a tile row. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#ifndef MR
#define MR 12
#endif
#ifndef NV
#define NV 2
#endif
#ifndef KC
#define KC 192
#endif
#define NR (NV * 16)

static float A[KC * MR] __attribute__((aligned(64))), B[KC * NR] __attribute__((aligned(64)));
static float C[MR * NR] __attribute__((aligned(64)));

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* `tiles` times: c += a-panel @ b-panel over KC steps, the accumulators in registers */
__attribute__((noinline)) static void tiles_loop(long tiles)
{
    for (long t = 0; t < tiles; ++t) {
        __m512 acc[MR][NV];
        for (int i = 0; i < MR; ++i)
            for (int v = 0; v < NV; ++v)
                acc[i][v] = _mm512_setzero_ps();
        const float *a = A, *b = B;
#pragma GCC unroll 4
        for (int p = 0; p < KC; ++p, a += MR, b += NR) {
            __m512 bv[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v)
                bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i) {
                __m512 av = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; ++v)
                    acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
            }
        }
        for (int i = 0; i < MR; ++i)
            for (int v = 0; v < NV; ++v)
                _mm512_store_ps(C + i * NR + 16 * v,
                                _mm512_add_ps(acc[i][v], _mm512_load_ps(C + i * NR + 16 * v)));
    }
}

/* the core's peak: 12 independent chains of multiply-adds, 2 units x 16 lanes x 2 flops */
__attribute__((noinline)) static float peak_loop(long rounds)
{
    __m512 x[12], m = _mm512_set1_ps(0.999999f), s = _mm512_set1_ps(1e-7f);
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i)
        x[i] = _mm512_set1_ps((float)i);
    for (long r = 0; r < rounds; ++r)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i)
            x[i] = _mm512_fmadd_ps(x[i], m, s);
    __m512 sum = x[0];
#pragma GCC unroll 12
    for (int i = 1; i < 12; ++i)
        sum = _mm512_add_ps(sum, x[i]);
    return _mm512_reduce_add_ps(sum);
}

int main(void)
{
    for (int i = 0; i < KC * MR; ++i)
        A[i] = 1e-3f * (float)(i % 7);
    for (int i = 0; i < KC * NR; ++i)
        B[i] = 1e-3f * (float)(i % 5);
    long tiles = 40000000L / KC, rounds = 20000000L;
    double best = 0.0, peak = 0.0;
    float sink = 0.0f;
    for (int run = 0; run < 5; ++run) {
        double t0 = seconds();
        sink += peak_loop(rounds);
        double t1 = seconds();
        tiles_loop(tiles);
        double t2 = seconds();
        double p = 12.0 * 32.0 * (double)rounds / (t1 - t0) / 1e9;
        double g = 2.0 * MR * NR * KC * (double)tiles / (t2 - t1) / 1e9;
        peak = p > peak ? p : peak;
        best = g > best ? g : best;
    }
    printf("tile %dx%d, KC %d: %.1f GFLOP/s = %.0f%% of the peak %.1f (sink %g %g)\n", MR, NR, KC,
           best, 100.0 * best / peak, peak, (double)sink, (double)C[5]);
    return 0;
}
