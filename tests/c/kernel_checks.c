/* kernel_checks.c -- the C kernels at the C level, against naive references computed in
 * double: the GEMM in the three layouts Linear uses (NT forward, NN dx, TN dw) on shapes
 * around the micro-kernels' tiles and blocks, with padded strides; linear, relu,
 * softmax-cross-entropy and batch norm forward and backward; the optimizer steps; on 1 and
 * 2 threads (the library's pool); the status codes for bad arguments; flush-to-zero (MXCSR
 * on x86-64, FPCR on aarch64) on inside the kernels that set it and the caller's register
 * unchanged after them.  No Python: scripts/check_kernels_aarch64.sh cross-compiles it with
 * the kernels for aarch64 and runs it under qemu (the NEON GEMM), and natively.
 *
 *   kernel_checks [ISA ...]   the GEMM checks on each ISA named ("avx512", "avx2", "neon",
 *                             "generic"; default: every one this CPU runs), the rest once
 *
 * One line per check ("ok" or "FAIL"), then "N passed, N failed"; exit status 1 on any
 * failure.  Errors are reported as a fraction of the check's bound (<= 1 passes).
 */
#include "nanotorch_kernels.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

static int passed, failed;

static int check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "ok   " : "FAIL ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    ok ? ++passed : ++failed;
    return ok;
}

/* ------------------------------------------------------------------ data and errors */

static uint64_t rng = 0x9E3779B97F4A7C15u;

static float uniform(void) /* in [-1, 1), xorshift64 */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 40) / (double)(1 << 23) - 1.0);
}

static float *floats(int64_t count) /* random in [-1, 1) */
{
    float *p = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    if (!p) {
        perror("kernel_checks");
        exit(2);
    }
    for (int64_t i = 0; i < count; ++i)
        p[i] = uniform();
    return p;
}

static float *copy(const float *src, int64_t count)
{
    float *p = floats(count);
    memcpy(p, src, (size_t)count * sizeof(float));
    return p;
}

/* *worst = max(*worst, |got - want| / bound); NaN or an infinite error is infinite. */
static void worse(double *worst, double got, double want, double bound)
{
    double err = fabs(got - want) / (bound > 0 ? bound : DBL_MIN);
    if (!(err <= *worst))
        *worst = err == err ? err : INFINITY;
}

/* The optimizer and loss checks: |got - want| <= 1e-5 * (1 + |want|). */
static void near(double *worst, double got, double want)
{
    worse(worst, got, want, 1e-5 * (1.0 + fabs(want)));
}

/* ------------------------------------------------------------------ the GEMM family */

enum { NT, NN, TN };
static const char *const layout_names[] = {"NT", "NN", "TN"};
enum { BIAS = 1 << 8 }; /* a case flag beside the NT_GEMM_* flags: pass a bias */

/* c = op(a) @ op(b) in `layout`, flags, strides padded by `pad`, on `nthreads`: the error as
 * a fraction of its bound k*eps*sum|terms| (the worst case of any summation order), or
 * infinite when the status is not NT_OK or anything outside c's m x n block changed. */
static double gemm_error(int layout, int64_t m, int64_t n, int64_t k, int64_t pad, int flags,
                         int nthreads)
{
    int ta = layout == TN, tb = layout == NT, row_bias = flags & NT_GEMM_ROW_BIAS;
    int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    float *a = floats((ta ? k : m) * lda), *b = floats((tb ? n : k) * ldb);
    float *c = floats(m * ldc), *c0 = copy(c, m * ldc);
    float *bias = flags & BIAS ? floats(row_bias ? m : n) : NULL;
    int status = nt_gemm_f32(m, n, k, a, lda, ta, b, ldb, tb, c, ldc, bias, flags & ~BIAS,
                             nthreads);
    double worst = status == NT_OK ? 0.0 : INFINITY;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < ldc; ++j) {
            if (j >= n) { /* the padding between rows: never written */
                if (memcmp(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float)) != 0)
                    worst = INFINITY;
                continue;
            }
            double want = 0.0, mag = 0.0;
            for (int64_t p = 0; p < k; ++p) {
                double x = ta ? a[p * lda + i] : a[i * lda + p];
                double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                want += x * y;
                mag += fabs(x * y);
            }
            if (flags & NT_GEMM_ACCUMULATE) {
                want += c0[i * ldc + j];
                mag += fabs(c0[i * ldc + j]);
            }
            if (bias) {
                want += bias[row_bias ? i : j];
                mag += fabs(bias[row_bias ? i : j]);
            }
            if (flags & NT_GEMM_RELU)
                want = want > 0.0 ? want : 0.0;
            worse(&worst, c[i * ldc + j], want, (double)(k + 2) * FLT_EPSILON * mag);
        }
    free(a), free(b), free(c), free(c0), free(bias);
    return worst;
}

/* Shapes beyond the tile edges: k over KC (balanced k blocks), n over NC (several B
 * blocks), a 4 KB row stride (k = 1000 + 24: read through packing, not in place), k = 0
 * (the epilogue alone), and products big enough (> 4 MFLOP) to be split over 2 threads. */
static const struct {
    int64_t m, n, k, pad;
    int flags;
} gemm_cases[] = {
    {64, 128, 784, 0, BIAS},                     /* Linear's forward at the seed's sizes */
    {64, 784, 128, 0, 0},                        /* ... its dx */
    {128, 784, 64, 0, NT_GEMM_ACCUMULATE},       /* ... its dw */
    {97, 385, 129, 3, BIAS | NT_GEMM_RELU},      /* odd everything, padded strides */
    {200, 13, 1000, 1, BIAS | NT_GEMM_ROW_BIAS}, /* 3 k blocks, one narrow column tile */
    {5, 1300, 37, 0, BIAS},                      /* several NC blocks */
    {16, 24, 1000, 24, 0},                       /* rows 4 KB apart */
    {5, 7, 0, 2, BIAS | NT_GEMM_RELU | NT_GEMM_ACCUMULATE}, /* empty k: the epilogue */
};

/* The epilogues the sweep cycles through. */
static const int sweep_flags[] = {0, BIAS | NT_GEMM_RELU, NT_GEMM_ACCUMULATE,
                                  BIAS | NT_GEMM_ROW_BIAS};

static void check_gemm(const char *isa)
{
    static const int64_t edge[] = {1, 7, 8, 9, 12, 13}; /* around MR and NR of every tile */
    const int ne = (int)(sizeof edge / sizeof edge[0]);
    for (int layout = NT; layout <= TN; ++layout)
        for (int nthreads = 1; nthreads <= 2; ++nthreads) {
            double worst = 0.0;
            int shape = 0;
            for (int x = 0; x < ne; ++x)
                for (int y = 0; y < ne; ++y)
                    for (int z = 0; z < ne; ++z, ++shape) {
                        double e = gemm_error(layout, edge[x], edge[y], edge[z], shape % 3,
                                              sweep_flags[shape % 4], nthreads);
                        worst = e > worst ? e : worst;
                    }
            check(worst <= 1.0, "gemm[%s] %s %d thread(s): all %d shapes M,N,K in "
                  "{1,7,8,9,12,13}, error %.3g", isa, layout_names[layout], nthreads, shape,
                  worst);
            for (size_t i = 0; i < sizeof gemm_cases / sizeof gemm_cases[0]; ++i) {
                double e = gemm_error(layout, gemm_cases[i].m, gemm_cases[i].n,
                                      gemm_cases[i].k, gemm_cases[i].pad, gemm_cases[i].flags,
                                      nthreads);
                check(e <= 1.0, "gemm[%s] %s %d thread(s): %lldx%lldx%lld pad %lld flags %#x, "
                      "error %.3g", isa, layout_names[layout], nthreads,
                      (long long)gemm_cases[i].m, (long long)gemm_cases[i].n,
                      (long long)gemm_cases[i].k, (long long)gemm_cases[i].pad,
                      gemm_cases[i].flags, e);
            }
        }
}

/* y = x @ w^T + b, then dx = dy @ w, dw = dy^T @ x, db = sum of dy's rows. */
static void check_linear(const char *isa, int64_t n, int64_t k, int64_t m, int nthreads)
{
    float *x = floats(n * k), *w = floats(m * k), *b = floats(m), *y = floats(n * m);
    float *dy = floats(n * m), *dx = floats(n * k), *dw = floats(m * k), *db = floats(m);
    int status = nt_linear_fwd_f32(n, k, m, x, w, b, y, nthreads);
    status |= nt_linear_bwd_f32(n, k, m, dy, x, w, dx, dw, db, nthreads);
    double worst = status == NT_OK ? 0.0 : INFINITY;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < m; ++j) {
            double want = b[j], mag = fabs(b[j]);
            for (int64_t p = 0; p < k; ++p) {
                want += (double)x[i * k + p] * w[j * k + p];
                mag += fabs((double)x[i * k + p] * w[j * k + p]);
            }
            worse(&worst, y[i * m + j], want, (double)(k + 2) * FLT_EPSILON * mag);
        }
    for (int64_t i = 0; i < n; ++i) /* dx[i, p] = sum_j dy[i, j] w[j, p] */
        for (int64_t p = 0; p < k; ++p) {
            double want = 0.0, mag = 0.0;
            for (int64_t j = 0; j < m; ++j) {
                want += (double)dy[i * m + j] * w[j * k + p];
                mag += fabs((double)dy[i * m + j] * w[j * k + p]);
            }
            worse(&worst, dx[i * k + p], want, (double)(m + 2) * FLT_EPSILON * mag);
        }
    for (int64_t j = 0; j < m; ++j) { /* dw[j, p] = sum_i dy[i, j] x[i, p]; db[j] */
        double want_db = 0.0, mag_db = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            want_db += dy[i * m + j];
            mag_db += fabs(dy[i * m + j]);
        }
        worse(&worst, db[j], want_db, (double)(n + 2) * FLT_EPSILON * mag_db);
        for (int64_t p = 0; p < k; ++p) {
            double want = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                want += (double)dy[i * m + j] * x[i * k + p];
                mag += fabs((double)dy[i * m + j] * x[i * k + p]);
            }
            worse(&worst, dw[j * k + p], want, (double)(n + 2) * FLT_EPSILON * mag);
        }
    }
    check(worst <= 1.0, "linear[%s] fwd+bwd x[%lld,%lld] w[%lld,%lld] %d thread(s), error %.3g",
          isa, (long long)n, (long long)k, (long long)m, (long long)k, nthreads, worst);
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db);
}

/* Read and write the calling thread's floating-point control register (on x86, MXCSR
 * without its sticky exception flags, bits 0-5), and its flush-to-zero bits: FPCR.FZ
 * (bit 24) on aarch64, MXCSR's FTZ | DAZ on x86. */
static unsigned long fp_control(void)
{
#if defined(__aarch64__)
    unsigned long v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
#elif defined(__SSE__)
    return _mm_getcsr() & ~0x3fu;
#else
    return 0;
#endif
}

static void set_fp_control(unsigned long v)
{
#if defined(__aarch64__)
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
#elif defined(__SSE__)
    _mm_setcsr((unsigned)v);
#else
    (void)v;
#endif
}

#if defined(__aarch64__)
#define FTZ_BITS (1ul << 24)
#else
#define FTZ_BITS 0x8040ul
#endif

static unsigned long start_control; /* the register when main started, before any kernel */

/* The GEMM flushes subnormal products and operands to zero inside, on every thread, and
 * leaves the caller's control register as it found it (flush-to-zero off or on). */
static void check_gemm_flush(const char *isa)
{
    float tiny = 1e-20f, sub = 1e-39f, big = 1e10f, c = 1.0f; /* 1e-40, 1e-39: subnormal */
    unsigned long before = fp_control();
    int s = nt_gemm_f32(1, 1, 1, &tiny, 1, 0, &tiny, 1, 0, &c, 1, NULL, 0, 1);
    check(s == NT_OK && c == 0.0f && fp_control() == before && before == start_control,
          "flush[%s] gemm: 1e-20 * 1e-20 -> %g inside (0 wanted); control register %#lx -> "
          "%#lx after (%#lx at the start)", isa, c, before, fp_control(), start_control);
    c = 1.0f;
    s = nt_gemm_f32(1, 1, 1, &sub, 1, 0, &big, 1, 0, &c, 1, NULL, 0, 1);
    check(s == NT_OK && c == 0.0f, "flush[%s] gemm: a subnormal operand 1e-39 * 1e10 -> %g "
          "(0 wanted)", isa, c);
    /* 64 x 64 x 1024: 8 MFLOP, split over 2 threads; each product 1e-40, their sums 1e-37
     * (normal) unless every product is flushed, in whichever thread computes it */
    int64_t m = 64, k = 1024, nonzero = 0;
    float *a = floats(m * k), *b = floats(k * m), *out = floats(m * m);
    for (int64_t i = 0; i < m * k; ++i)
        a[i] = b[i] = 1e-20f;
    s = nt_gemm_f32(m, m, k, a, k, 0, b, m, 0, out, m, NULL, 0, 2);
    for (int64_t i = 0; i < m * m; ++i)
        nonzero += out[i] != 0.0f;
    check(s == NT_OK && nonzero == 0 && fp_control() == before,
          "flush[%s] gemm 64x64x1024, 2 threads: %lld of %lld sums of subnormal products not "
          "flushed; control register unchanged: %s", isa, (long long)nonzero,
          (long long)(m * m), fp_control() == before ? "yes" : "no");
    set_fp_control(before | FTZ_BITS); /* a caller that flushes already keeps flushing */
    s = nt_gemm_f32(1, 1, 1, &tiny, 1, 0, &tiny, 1, 0, &c, 1, NULL, 0, 1);
    unsigned long after = fp_control();
    set_fp_control(before);
    check(s == NT_OK && after == (before | FTZ_BITS), "flush[%s] gemm: a caller's own "
          "flush-to-zero setting %#lx is kept (%#lx after)", isa, before | FTZ_BITS, after);
    volatile float t = 1e-20f; /* the caller's arithmetic after all these calls */
    check(t * t > 0.0f, "flush[%s] after the GEMM calls the caller keeps subnormals: "
          "1e-20 * 1e-20 = %g", isa, (double)(t * t));
    free(a), free(b), free(out);
}

/* The GEMM on `isa`: its tile, the gemm, linear and flush checks. */
static void check_gemm_family(const char *isa)
{
    if (!check(nt_isa_select(isa) == NT_OK && strcmp(nt_isa_current(), isa) == 0,
               "isa %s selected (nt_isa_select)", isa))
        return;
    int64_t info[8];
    nt_gemm_tuning(info);
    int tile_ok = info[3] > 0 && info[4] > 0 && info[5] > 0 && info[6] >= info[4];
    if (strcmp(isa, "neon") == 0) /* gemm_neon.c's tile: 24 of the 32 q registers */
        tile_ok = tile_ok && info[3] == 8 && info[4] == 12;
    check(tile_ok, "isa %s: tile %lldx%lld, KC %lld, NC %lld (caches L1d %lld, L2 %lld)", isa,
          (long long)info[3], (long long)info[4], (long long)info[5], (long long)info[6],
          (long long)info[0], (long long)info[1]);
    float sink = 0.0f;
    double gflops = nt_fma_gflops(100000, &sink);
    check(gflops > 0.0 && sink == sink, "isa %s: multiply-add peak %.2f GFLOP/s", isa, gflops);
    check_gemm(isa);
    for (int nthreads = 1; nthreads <= 2; ++nthreads) {
        check_linear(isa, 64, 784, 128, nthreads);
        check_linear(isa, 13, 9, 7, nthreads);
        check_linear(isa, 1, 1, 1, nthreads);
    }
    check_gemm_flush(isa);
}

/* ------------------------------------------------------------------ the fused kernels */

/* Exact: y = x where x > 0 or NaN, else +0 (also for -0); dx = dy where y > 0, else 0. */
static void check_relu(int64_t size, int nthreads)
{
    float *x = floats(size), *y = floats(size), *dy = floats(size), *dx = floats(size);
    for (int64_t i = 0; i < size; i += 5) /* ties and specials */
        x[i] = i % 3 == 0 ? 0.0f : i % 3 == 1 ? -0.0f : NAN;
    int s = nt_relu_fwd_f32(size, x, y, nthreads) | nt_relu_bwd_f32(size, dy, y, dx, nthreads);
    int64_t wrong = 0;
    for (int64_t i = 0; i < size; ++i) {
        float want = x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f;
        float want_dx = y[i] > 0.0f ? dy[i] : 0.0f;
        wrong += memcmp(&y[i], &want, sizeof want) != 0 || memcmp(&dx[i], &want_dx, sizeof want) != 0;
    }
    check(s == NT_OK && wrong == 0, "relu fwd+bwd size %lld, %d thread(s): %lld values wrong",
          (long long)size, nthreads, (long long)wrong);
    free(x), free(y), free(dy), free(dx);
}

/* Rows gathered by index (any row size, repeats, first and last row): byte-exact, and the
 * guard row past the output keeps its bytes. */
static void check_take(int64_t rows, int64_t cols, int64_t n, int nthreads)
{
    float *src = floats(rows * cols), *out = floats((n + 1) * cols);
    int64_t *index = malloc((size_t)(n > 0 ? n : 1) * sizeof *index);
    for (int64_t i = 0; i < n; ++i)
        index[i] = i == 0 ? rows - 1 : (i * 7919) % rows;
    for (int64_t j = 0; j < cols; ++j)
        out[n * cols + j] = -1.0f;
    int s = nt_take_rows(rows, cols * (int64_t)sizeof(float), src, n, index, out, nthreads);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i)
        wrong += memcmp(out + i * cols, src + index[i] * cols, (size_t)cols * sizeof(float)) != 0;
    for (int64_t j = 0; j < cols; ++j)
        wrong += out[n * cols + j] != -1.0f;
    check(s == NT_OK && wrong == 0, "take %lld of %lld rows of %lld, %d thread(s): %lld rows wrong",
          (long long)n, (long long)rows, (long long)cols, nthreads, (long long)wrong);
    free(src), free(out), free(index);
}

/* Softmax + cross-entropy over logits[n, c] (scaled, so up to +-scale), target row 1 ignored
 * (-100) when n > 1, label smoothing e: forward (loss, probs) and backward, in double:
 * lse = log sum exp l, loss_i = -(1-e)(l_t - lse) - e/C sum_c (l_c - lse), probs = exp(l - lse),
 * dlogits = (probs - e/C - (1-e) onehot(t)) * dloss_i (0 when ignored), / rows kept (mean). */
static void check_cross_entropy(int64_t n, int64_t c, int reduction, double e, float scale,
                                int per_row, int nthreads)
{
    const int64_t ignore = -100;
    float *logits = floats(n * c), *probs = floats(n * c), *dlogits = floats(n * c);
    float *loss = floats(n), *dloss = floats(n);
    int64_t *target = malloc((size_t)n * sizeof(int64_t)), kept = 0;
    for (int64_t i = 0; i < n * c; ++i)
        logits[i] *= scale;
    for (int64_t i = 0; i < n; ++i) {
        target[i] = n > 1 && i == 1 ? ignore : (int64_t)(i * 7 % c);
        kept += target[i] != ignore;
    }
    int s = nt_cross_entropy_fwd_f32(n, c, logits, target, reduction, e, ignore, loss, probs,
                                     nthreads);
    int dloss_per_row = per_row && reduction == NT_REDUCE_NONE;
    s |= nt_cross_entropy_bwd_f32(n, c, dloss, dloss_per_row, probs, target, reduction, e,
                                  ignore, dlogits, nthreads);
    double worst = s == NT_OK ? 0.0 : INFINITY, total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const float *l = logits + i * c;
        double mx = l[0], sum = 0.0, sum_log_p = 0.0;
        for (int64_t j = 1; j < c; ++j)
            mx = l[j] > mx ? l[j] : mx;
        for (int64_t j = 0; j < c; ++j)
            sum += exp(l[j] - mx);
        double lse = mx + log(sum);
        for (int64_t j = 0; j < c; ++j)
            sum_log_p += l[j] - lse;
        int ok = target[i] != ignore;
        double li = ok ? -(1.0 - e) * (l[target[i]] - lse) - e / (double)c * sum_log_p : 0.0;
        total += li;
        if (reduction == NT_REDUCE_NONE)
            near(&worst, loss[i], li);
        double g = ok ? dloss[dloss_per_row ? i : 0] : 0.0;
        if (reduction == NT_REDUCE_MEAN)
            g /= (double)(kept > 0 ? kept : 1);
        for (int64_t j = 0; j < c; ++j) {
            double p = exp(l[j] - lse);
            near(&worst, probs[i * c + j], p);
            near(&worst, dlogits[i * c + j],
                 (p - e / (double)c - (ok && j == target[i] ? 1.0 - e : 0.0)) * g);
        }
    }
    if (reduction == NT_REDUCE_SUM)
        near(&worst, loss[0], total);
    if (reduction == NT_REDUCE_MEAN)
        near(&worst, loss[0], total / (double)kept);
    static const char *const names[] = {"none", "mean", "sum"};
    check(worst <= 1.0, "cross_entropy fwd+bwd [%lld,%lld] reduction %s, smoothing %.2g, "
          "logits up to %g, dloss %s, %d thread(s): error %.3g", (long long)n, (long long)c,
          names[reduction], e, (double)scale, dloss_per_row ? "per row" : "one", nthreads, worst);
    free(logits), free(probs), free(dlogits), free(loss), free(dloss), free(target);
}

/* Batch norm over x[n, ch, hw], training (batch statistics, running stats updated with the
 * unbiased variance) or eval (running stats), affine or not; forward and backward in
 * double: xhat = (x - mean) invstd, y = xhat gamma + beta; s = gamma invstd,
 * dbeta = sum dy, dgamma = sum dy xhat, dx = s (dy - dbeta/M - xhat dgamma/M) (training)
 * or s dy (eval). */
static void check_batchnorm(int64_t n, int64_t ch, int64_t hw, int training, int affine,
                            int nthreads)
{
    const double mom = 0.1, eps = 1e-5;
    int64_t size = n * ch * hw, count = n * hw;
    float *x = floats(size), *y = floats(size), *dy = floats(size), *dx = floats(size);
    float *gamma = affine ? floats(ch) : NULL, *beta = affine ? floats(ch) : NULL;
    float *rmean = floats(ch), *rvar = floats(ch), *mean = floats(ch), *invstd = floats(ch);
    float *dgamma = floats(ch), *dbeta = floats(ch);
    for (int64_t c = 0; c < ch; ++c)
        rvar[c] = 0.5f + fabsf(rvar[c]);
    float *rmean0 = copy(rmean, ch), *rvar0 = copy(rvar, ch);
    int s = nt_batchnorm_fwd_f32(n, ch, hw, x, gamma, beta, rmean, rvar, training, mom, eps, y,
                                 mean, invstd, nthreads);
    s |= nt_batchnorm_bwd_f32(n, ch, hw, dy, x, gamma, mean, invstd, training, dx, dgamma,
                              dbeta, nthreads);
    double worst = s == NT_OK ? 0.0 : INFINITY;
#define AT(arr, i, c, j) (arr)[((i) * ch + (c)) * hw + (j)]
    for (int64_t c = 0; c < ch; ++c) {
        double mu = 0.0, var = 0.0, sdy = 0.0, sdyx = 0.0;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < hw; ++j)
                mu += AT(x, i, c, j);
        mu /= (double)count;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < hw; ++j)
                var += (AT(x, i, c, j) - mu) * (AT(x, i, c, j) - mu);
        var /= (double)count;
        if (training) {
            near(&worst, rmean[c], (1 - mom) * rmean0[c] + mom * mu);
            near(&worst, rvar[c], (1 - mom) * rvar0[c] + mom * var * count / (count - 1.0));
        } else {
            mu = rmean0[c];
            var = rvar0[c];
        }
        double inv = 1.0 / sqrt(var + eps), g = affine ? gamma[c] : 1.0;
        near(&worst, mean[c], mu);
        near(&worst, invstd[c], inv);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < hw; ++j) {
                double xhat = (AT(x, i, c, j) - mu) * inv;
                near(&worst, AT(y, i, c, j), xhat * g + (affine ? beta[c] : 0.0));
                sdy += AT(dy, i, c, j);
                sdyx += AT(dy, i, c, j) * xhat;
            }
        near(&worst, dbeta[c], sdy);
        near(&worst, dgamma[c], sdyx);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < hw; ++j) {
                double xhat = (AT(x, i, c, j) - mu) * inv, d = AT(dy, i, c, j);
                if (training)
                    d -= sdy / (double)count + xhat * sdyx / (double)count;
                near(&worst, AT(dx, i, c, j), g * inv * d);
            }
    }
#undef AT
    check(worst <= 1.0, "batchnorm fwd+bwd x[%lld,%lld,%lld] %s%s, %d thread(s): error %.3g",
          (long long)n, (long long)ch, (long long)hw, training ? "training" : "eval",
          affine ? ", affine" : "", nthreads, worst);
    free(x), free(y), free(dy), free(dx), free(gamma), free(beta), free(rmean), free(rvar);
    free(mean), free(invstd), free(dgamma), free(dbeta), free(rmean0), free(rvar0);
}

/* ------------------------------------------------------------------ the optimizers */

/* Two tensors of 5 and 40,000 elements: together enough for 2 threads, the big one cut
 * between them. */
#define OPT_TENSORS 2
static const int64_t opt_sizes[OPT_TENSORS] = {5, 40000};

typedef struct {
    float *p[OPT_TENSORS], *g[OPT_TENSORS], *s1[OPT_TENSORS], *s2[OPT_TENSORS],
        *s3[OPT_TENSORS];
} opt_state_t;

static opt_state_t opt_new(void)
{
    opt_state_t st;
    for (int t = 0; t < OPT_TENSORS; ++t) {
        st.p[t] = floats(opt_sizes[t]);
        st.g[t] = floats(opt_sizes[t]);
        st.s1[t] = floats(opt_sizes[t]);
        st.s2[t] = floats(opt_sizes[t]);
        st.s3[t] = floats(opt_sizes[t]);
        for (int64_t i = 0; i < opt_sizes[t]; ++i) { /* second moments: positive, and for
                                                      * centered RMSprop >= the first's square */
            st.s2[t][i] = 1.0f + fabsf(st.s2[t][i]);
            st.s3[t][i] = 1.0f + fabsf(st.s3[t][i]);
        }
    }
    return st;
}

static opt_state_t opt_copy(const opt_state_t *src)
{
    opt_state_t st = opt_new();
    for (int t = 0; t < OPT_TENSORS; ++t) {
        size_t bytes = (size_t)opt_sizes[t] * sizeof(float);
        memcpy(st.p[t], src->p[t], bytes), memcpy(st.g[t], src->g[t], bytes);
        memcpy(st.s1[t], src->s1[t], bytes), memcpy(st.s2[t], src->s2[t], bytes);
        memcpy(st.s3[t], src->s3[t], bytes);
    }
    return st;
}

static void opt_free(opt_state_t *st)
{
    for (int t = 0; t < OPT_TENSORS; ++t)
        free(st->p[t]), free(st->g[t]), free(st->s1[t]), free(st->s2[t]), free(st->s3[t]);
}

/* SGD (PyTorch's rule): g = ±grad + wd p; with momentum, buf = g on the tensor's first
 * step, else mom buf + (1 - dampening) g, and g = g + mom buf (nesterov) or buf; p -= lr g. */
static void check_sgd(double mom, double damp, int nesterov, double wd, int maximize,
                      int nthreads)
{
    const double lr = 0.01;
    const uint8_t first[OPT_TENSORS] = {1, 0};
    opt_state_t st = opt_new(), ref = opt_copy(&st);
    int s = nt_sgd_multi_step_f32(OPT_TENSORS, opt_sizes, st.p, (const float *const *)st.g,
                                  mom != 0.0 ? st.s1 : NULL, lr, mom, damp, nesterov, wd,
                                  maximize, first, nthreads);
    double worst = s == NT_OK ? 0.0 : INFINITY;
    for (int t = 0; t < OPT_TENSORS; ++t)
        for (int64_t i = 0; i < opt_sizes[t]; ++i) {
            double p = ref.p[t][i], g = (maximize ? -1.0 : 1.0) * ref.g[t][i] + wd * p;
            if (mom != 0.0) {
                double buf = first[t] ? g : mom * ref.s1[t][i] + (1.0 - damp) * g;
                near(&worst, st.s1[t][i], buf);
                g = nesterov ? g + mom * buf : buf;
            }
            near(&worst, st.p[t][i], p - lr * g);
        }
    check(worst <= 1.0, "sgd momentum %g dampening %g nesterov %d weight_decay %g maximize %d, "
          "%d thread(s): error %.3g", mom, damp, nesterov, wd, maximize, nthreads, worst);
    opt_free(&st), opt_free(&ref);
}

/* Adam / AdamW at steps {1, 7}: g = ±grad (+ wd p for Adam; AdamW first p *= 1 - lr wd);
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, amsgrad: v = vmax = max(vmax, v);
 * p -= lr/(1 - b1^t) m / (sqrt(v)/sqrt(1 - b2^t) + eps). */
static void check_adam(int amsgrad, double wd, int decoupled, int maximize, int nthreads)
{
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const int64_t steps[OPT_TENSORS] = {1, 7};
    opt_state_t st = opt_new(), ref = opt_copy(&st);
    int s = nt_adam_multi_step_f32(OPT_TENSORS, opt_sizes, st.p, (const float *const *)st.g,
                                   st.s1, st.s2, amsgrad ? st.s3 : NULL, steps, lr, b1, b2,
                                   eps, wd, decoupled, maximize, nthreads);
    double worst = s == NT_OK ? 0.0 : INFINITY;
    for (int t = 0; t < OPT_TENSORS; ++t)
        for (int64_t i = 0; i < opt_sizes[t]; ++i) {
            double p = ref.p[t][i], g = (maximize ? -1.0 : 1.0) * ref.g[t][i];
            if (decoupled)
                p *= 1.0 - lr * wd;
            else
                g += wd * p;
            double m = b1 * ref.s1[t][i] + (1 - b1) * g, v = b2 * ref.s2[t][i] + (1 - b2) * g * g;
            near(&worst, st.s1[t][i], m);
            near(&worst, st.s2[t][i], v);
            if (amsgrad) {
                v = v > ref.s3[t][i] ? v : ref.s3[t][i];
                near(&worst, st.s3[t][i], v);
            }
            double bc1 = 1.0 - pow(b1, (double)steps[t]), bc2 = 1.0 - pow(b2, (double)steps[t]);
            near(&worst, st.p[t][i], p - lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps));
        }
    check(worst <= 1.0, "adam amsgrad %d weight_decay %g decoupled %d maximize %d, %d thread(s): "
          "error %.3g", amsgrad, wd, decoupled, maximize, nthreads, worst);
    opt_free(&st), opt_free(&ref);
}

/* RMSprop on the big tensor: g = ±grad + wd p; v = a v + (1-a) g^2; centered:
 * gbar = a gbar + (1-a) g, avg = sqrt(v - gbar^2) + eps, else sqrt(v) + eps;
 * momentum: buf = mom buf + g/avg, p -= lr buf; else p -= lr g/avg. */
static void check_rmsprop(int centered, double mom, double wd, int maximize, int nthreads)
{
    const double lr = 0.01, a = 0.99, eps = 1e-8;
    const int64_t n = opt_sizes[1];
    opt_state_t st = opt_new();
    for (int64_t i = 0; i < n; ++i) /* the mean of g: its square under v (>= 1) */
        st.s3[1][i] = 0.5f * st.g[1][i];
    opt_state_t ref = opt_copy(&st);
    int s = nt_rmsprop_step_f32(n, st.p[1], st.g[1], st.s2[1], mom > 0 ? st.s1[1] : NULL,
                                centered ? st.s3[1] : NULL, lr, a, eps, wd, mom, maximize,
                                nthreads);
    double worst = s == NT_OK ? 0.0 : INFINITY;
    for (int64_t i = 0; i < n; ++i) {
        double p = ref.p[1][i], g = (maximize ? -1.0 : 1.0) * ref.g[1][i] + wd * p;
        double v = a * ref.s2[1][i] + (1 - a) * g * g, avg;
        near(&worst, st.s2[1][i], v);
        if (centered) {
            double gbar = a * ref.s3[1][i] + (1 - a) * g;
            near(&worst, st.s3[1][i], gbar);
            avg = sqrt(v - gbar * gbar) + eps;
        } else {
            avg = sqrt(v) + eps;
        }
        double step = g / avg;
        if (mom > 0) {
            step += mom * ref.s1[1][i];
            near(&worst, st.s1[1][i], step);
        }
        near(&worst, st.p[1][i], p - lr * step);
    }
    check(worst <= 1.0, "rmsprop centered %d momentum %g weight_decay %g maximize %d, "
          "%d thread(s): error %.3g", centered, mom, wd, maximize, nthreads, worst);
    opt_free(&st), opt_free(&ref);
}

/* Adam flushes a decaying moment (2e-38 * 0.5: subnormal) to zero, and restores the caller's
 * control register; batch norm (flush-to-zero off) keeps subnormal results on both threads
 * after the GEMM and optimizer kernels have run on them. */
static void check_flush_outside_gemm(void)
{
    float p = 1.0f, g = 0.0f, m = 2e-38f, v = 0.0f, *pp = &p, *mp = &m, *vp = &v;
    const float *gp = &g;
    const int64_t size = 1, step = 1;
    unsigned long before = fp_control();
    int s = nt_adam_multi_step_f32(1, &size, &pp, &gp, &mp, &vp, NULL, &step, 1e-3, 0.5, 0.999,
                                   1e-8, 0.0, 0, 0, 1);
    check(s == NT_OK && m == 0.0f && fp_control() == before && before == start_control,
          "flush adam: moment 2e-38 * 0.5 -> %g (0 wanted); control register %#lx -> %#lx "
          "(%#lx at the start)", (double)m, before, fp_control(), start_control);
    /* channel 1 of 2 (40,000 values each: 2 threads) on the second share: 1e-20 * 1e-20 */
    int64_t hw = 40000;
    float *x = floats(2 * hw), *y = floats(2 * hw), rmean[2] = {0, 0}, rvar[2] = {1, 1};
    float gamma[2] = {1e-20f, 1e-20f}, mean[2], invstd[2];
    for (int64_t i = 0; i < 2 * hw; ++i)
        x[i] = 1e-20f;
    s = nt_batchnorm_fwd_f32(1, 2, hw, x, gamma, NULL, rmean, rvar, 0, 0.1, 0.0, y, mean,
                             invstd, 2);
    int64_t flushed = 0;
    for (int64_t i = 0; i < 2 * hw; ++i)
        flushed += !(y[i] > 0.0f);
    check(s == NT_OK && flushed == 0, "flush off in batchnorm, 2 threads: %lld of %lld "
          "subnormal results flushed (0 wanted)", (long long)flushed, (long long)(2 * hw));
    free(x), free(y);
}

/* ------------------------------------------------------------------ bad arguments */

static void expect(int got, int want, const char *what)
{
    check(got == want, "status %s -> %d (%d wanted)", what, got, want);
}

/* Every kernel family refuses what it cannot take, with NT_EINVAL, and writes nothing. */
static void check_status_codes(void)
{
    float a[64], b[64], c[64], probe[64];
    for (int i = 0; i < 64; ++i)
        a[i] = b[i] = c[i] = probe[i] = 1.0f;
    expect(nt_gemm_f32(-1, 2, 2, a, 2, 0, b, 2, 0, c, 2, NULL, 0, 1), NT_EINVAL, "gemm m = -1");
    expect(nt_gemm_f32(2, 2, 3, a, 2, 0, b, 2, 0, c, 2, NULL, 0, 1), NT_EINVAL,
           "gemm lda 2 < k 3");
    expect(nt_gemm_f32(2, 2, 3, a, 3, 0, b, 2, 1, c, 2, NULL, 0, 1), NT_EINVAL,
           "gemm trans_b, ldb 2 < k 3");
    expect(nt_gemm_f32(2, 3, 2, a, 2, 0, b, 2, 1, c, 2, NULL, 0, 1), NT_EINVAL,
           "gemm ldc 2 < n 3");
    expect(nt_gemm_f32(2, 2, 2, a, 2, 0, b, 2, 0, NULL, 2, NULL, 0, 1), NT_EINVAL,
           "gemm c NULL");
    expect(nt_gemm_f32(2, 2, 2, NULL, 2, 0, b, 2, 0, c, 2, NULL, 0, 1), NT_EINVAL,
           "gemm a NULL, k > 0");
    expect(nt_gemm_f32(2, 2, 2, a, 2, 0, b, 2, 0, c, 2, NULL, 0, 0), NT_EINVAL,
           "gemm nthreads 0");
    expect(nt_gemm_f32(0, 2, 2, NULL, 2, 0, NULL, 2, 0, NULL, 2, NULL, 0, 1), NT_OK,
           "gemm m = 0 (nothing to do)");
    expect(nt_linear_bwd_f32(-1, 2, 2, a, b, a, c, c, c, 1), NT_EINVAL, "linear bwd n = -1");
    expect(nt_relu_fwd_f32(-1, a, c, 1), NT_EINVAL, "relu fwd size -1");
    expect(nt_relu_fwd_f32(4, NULL, c, 1), NT_EINVAL, "relu fwd x NULL");
    expect(nt_relu_bwd_f32(4, a, b, c, 0), NT_EINVAL, "relu bwd nthreads 0");
    int64_t target[2] = {0, 3}, bad_neg[2] = {0, -1};
    expect(nt_cross_entropy_fwd_f32(2, 3, a, target, NT_REDUCE_MEAN, 0.0, -100, c, c, 1),
           NT_EINVAL, "cross_entropy fwd label 3 of 3 classes");
    expect(nt_cross_entropy_fwd_f32(2, 3, a, bad_neg, NT_REDUCE_MEAN, 0.0, -100, c, c, 1),
           NT_EINVAL, "cross_entropy fwd label -1 (ignore_index -100)");
    expect(nt_cross_entropy_fwd_f32(2, 0, a, target, NT_REDUCE_MEAN, 0.0, -100, c, c, 1),
           NT_EINVAL, "cross_entropy fwd 0 classes");
    expect(nt_cross_entropy_fwd_f32(2, 4, a, target, 3, 0.0, -100, c, c, 1), NT_EINVAL,
           "cross_entropy fwd reduction 3");
    expect(nt_cross_entropy_fwd_f32(2, 4, a, target, NT_REDUCE_MEAN, 0.0, -100, c, c, 0),
           NT_EINVAL, "cross_entropy fwd 0 threads");
    expect(nt_cross_entropy_bwd_f32(2, 3, a, 0, b, target, NT_REDUCE_SUM, 0.0, -100, c, 1),
           NT_EINVAL, "cross_entropy bwd label 3 of 3 classes");
    expect(nt_batchnorm_fwd_f32(2, 2, 2, a, NULL, NULL, c, NULL, 1, 0.1, 1e-5, c, c, c, 1),
           NT_EINVAL, "batchnorm fwd running_mean without running_var");
    expect(nt_batchnorm_fwd_f32(2, 2, 2, a, NULL, NULL, NULL, NULL, 0, 0.1, 1e-5, c, c, c, 1),
           NT_EINVAL, "batchnorm fwd eval without running stats");
    expect(nt_batchnorm_bwd_f32(2, 2, 2, a, b, NULL, NULL, b, 1, c, c, c, 1), NT_EINVAL,
           "batchnorm bwd mean NULL");
    float *pa = a, *pc = c, *none = NULL;
    const float *pb = b;
    const int64_t one = 1, four = 4, zero_step = 0;
    expect(nt_sgd_multi_step_f32(1, &four, &pa, &pb, NULL, 0.1, 0.9, 0.0, 0, 0.0, 0, NULL, 1),
           NT_EINVAL, "sgd momentum without bufs");
    expect(nt_sgd_multi_step_f32(-1, &four, &pa, &pb, NULL, 0.1, 0.0, 0.0, 0, 0.0, 0, NULL, 1),
           NT_EINVAL, "sgd count -1");
    expect(nt_adam_multi_step_f32(1, &one, &pa, &pb, &pc, &pc, NULL, &zero_step, 0.1, 0.9,
                                  0.999, 1e-8, 0.0, 0, 0, 1),
           NT_EINVAL, "adam step 0");
    expect(nt_adam_multi_step_f32(1, &one, &pa, &pb, &none, &pc, NULL, &one, 0.1, 0.9, 0.999,
                                  1e-8, 0.0, 0, 0, 1),
           NT_EINVAL, "adam exp_avg NULL");
    expect(nt_rmsprop_step_f32(4, a, b, c, NULL, NULL, 0.1, 0.99, 1e-8, 0.0, 0.9, 0, 1),
           NT_EINVAL, "rmsprop momentum without buf");
    const int64_t rows_ok[2] = {0, 3}, rows_past[2] = {0, 4}, rows_neg[2] = {-1, 0};
    expect(nt_take_rows(4, 16, a, 2, rows_ok, c, 1), NT_OK, "take rows 0, 3 of 4 (ones on ones)");
    expect(nt_take_rows(4, 16, a, 2, rows_past, c, 1), NT_EINVAL, "take row 4 of 4");
    expect(nt_take_rows(4, 16, a, 2, rows_neg, c, 1), NT_EINVAL, "take row -1");
    expect(nt_take_rows(4, 16, NULL, 2, rows_ok, c, 1), NT_EINVAL, "take src NULL");
    check(memcmp(a, probe, sizeof a) == 0 && memcmp(c, probe, sizeof c) == 0,
          "status: the refused calls wrote nothing");
    const char *isa = nt_isa_current();
    expect(nt_isa_select("sse9"), NT_EINVAL, "isa select \"sse9\" (unknown)");
#if defined(__aarch64__)
    expect(nt_isa_select("avx2"), NT_EINVAL, "isa select \"avx2\" on aarch64");
#else
    expect(nt_isa_select("neon"), NT_EINVAL, "isa select \"neon\" off aarch64");
#endif
    check(strcmp(nt_isa_current(), isa) == 0, "isa unchanged by refused selections: %s",
          nt_isa_current());
}

/* ------------------------------------------------------------------ main */

static const char *const all_isas[] = {"avx512", "avx2", "neon", "generic"};
#define N_ISAS ((int)(sizeof all_isas / sizeof all_isas[0]))

/* Before any selection: the widest ISA this CPU runs (on aarch64: NEON, via getauxval), but
 * AVX2 on Zen 4 (AVX-512 on AMD family 19h: gemm.c's splits_512bit_vectors). */
static void check_default_isa(void)
{
    const char *isa = nt_isa_current(), *widest = "none";
    for (int i = N_ISAS - 1; i >= 0; --i)
        if (nt_isa_supported(all_isas[i]))
            widest = all_isas[i];
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (strcmp(widest, "avx512") == 0 && __builtin_cpu_is("amdfam19h")) /* Zen 4 */
        widest = "avx2";
#endif
#if defined(__aarch64__)
    check(strcmp(isa, "neon") == 0, "isa default on aarch64 is neon: %s", isa);
#endif
    check(strcmp(isa, widest) == 0, "isa default is the widest supported: %s (widest %s)", isa,
          widest);
#if defined(__aarch64__) || defined(__x86_64__) /* built for the baseline: NEON, SSE2 */
    check(strstr(nt_build_info(), ";simd=vec128") != NULL, "build info: %s (simd=vec128 "
          "wanted: the kernels but the GEMM are built for the architecture's baseline)",
          nt_build_info());
#endif
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    start_control = fp_control();
    check_default_isa();
    if (argc > 1)
        for (int i = 1; i < argc; ++i)
            check_gemm_family(argv[i]);
    else
        for (int i = 0; i < N_ISAS; ++i)
            if (nt_isa_supported(all_isas[i]))
                check_gemm_family(all_isas[i]);
    for (int nthreads = 1; nthreads <= 2; ++nthreads) {
        check_relu(1, nthreads);
        check_relu(1000, nthreads);
        check_relu((1 << 17) + 3, nthreads); /* > 2 x 65,536: split over 2 threads */
        check_batchnorm(8, 3, 1, 1, 1, nthreads);
        check_batchnorm(4, 5, 7, 1, 0, nthreads);
        check_batchnorm(4, 5, 7, 0, 1, nthreads);
        check_batchnorm(2, 4, 9000, 1, 1, nthreads); /* 72,000 values: 2 threads */
        check_sgd(0.0, 0.0, 0, 0.0, 0, nthreads);
        check_sgd(0.9, 0.0, 1, 0.01, 0, nthreads);
        check_sgd(0.9, 0.1, 0, 0.0, 1, nthreads);
        check_adam(0, 0.0, 0, 0, nthreads);
        check_adam(1, 0.01, 0, 1, nthreads);
        check_adam(0, 0.01, 1, 0, nthreads);
        check_rmsprop(0, 0.0, 0.0, 0, nthreads);
        check_rmsprop(1, 0.9, 0.01, 1, nthreads);
        check_take(10, 3, 4, nthreads);
        check_take(5000, 784, 64, nthreads); /* 200 KB: split over 2 threads */
    }
    for (int r = NT_REDUCE_NONE; r <= NT_REDUCE_SUM; ++r) {
        check_cross_entropy(1, 1, r, 0.0, 1.0f, 0, 1);
        check_cross_entropy(7, 10, r, 0.1, 3.0f, 1, 2);
        check_cross_entropy(64, 10, r, 0.0, 100.0f, 1, 1);
        check_cross_entropy(33, 1000, r, 0.1, 1.0f, 0, 2);  /* 2 threads, 32 + 1 rows */
        check_cross_entropy(517, 10, r, 0.1, 3.0f, 1, 2);   /* 2 threads, 320 + 197 rows */
        check_cross_entropy(517, 10, r, 0.1, 3.0f, 1, 1);
        /* short rows: c below, at and past a vector (4 or 8 lanes), row counts that are
         * no multiple of 4 or 8 */
        check_cross_entropy(13, 32, r, 0.1, 3.0f, 1, 1);
        check_cross_entropy(13, 33, r, 0.1, 3.0f, 1, 1);
        check_cross_entropy(70, 8, r, 0.1, 30.0f, 0, 1);
        check_cross_entropy(70, 7, r, 0.1, 3.0f, 1, 1);
        check_cross_entropy(71, 4, r, 0.0, 3.0f, 1, 1);
        check_cross_entropy(131, 3, r, 0.1, 3.0f, 1, 2);
    }
    check_flush_outside_gemm();
    check_status_codes();
    nt_threads_shutdown(); /* the pool stops; the next parallel kernel starts it again */
    check_relu((1 << 17) + 3, 2);
    nt_threads_shutdown();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
