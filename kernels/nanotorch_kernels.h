/* nanotorch_kernels.h -- every C kernel of NanoTorch, float32, row-major (C order).
 *
 * The region between the two "cffi-cdef" marker comments is also what build_kernels.py
 * hands to cffi's cdef(), so it holds plain declarations only (no preprocessor lines).
 * The NumPy backend (nanotorch/backend/numpy_backend.py) is the specification of every
 * kernel; nanotorch/backend/c_backend.py validates all arguments before calling one.
 *
 * Conventions
 *   - sizes and strides are int64_t element counts; inputs are const; outputs are
 *     allocated by the caller; "may be NULL" pointers switch an output (or input) off;
 *   - every kernel returns NT_OK (0), NT_EINVAL (a size/pointer the kernel cannot take;
 *     Python is expected to have caught it already) or NT_ENOMEM (scratch allocation);
 *   - nthreads is the number of threads the caller allows (>= 1); kernels use fewer
 *     when the work is too small to pay for a second thread.  No kernel keeps global or
 *     static state (cffi releases the GIL), except the thread pool (threads.c) and the
 *     GEMM's choice of instruction set (gemm.c), each set up once, with its owner named.
 *
 * Flush-to-zero (FTZ/DAZ), decided per kernel and set/restored inside the call, per
 * thread (MXCSR is per thread), so NumPy outside the kernels is unaffected:
 *   - ON  for the optimizer steps and the GEMM family (gemm, linear, conv GEMMs).  Their
 *     inner loops are multiply-adds over values that decay toward zero during training
 *     (Adam's moments of always-zero gradients, e.g. MNIST's blank border pixels, reach
 *     subnormal range within an epoch), and every subnormal operand or result costs a
 *     microcode assist of ~100 cycles on x86.  Measured: NumPy's Adam step on subnormal
 *     moments runs 4.8x slower, OpenBLAS's 64x784x128 GEMM with subnormal products 36x;
 *     these kernels run at their usual speed.  Flushing changes results only below
 *     FLT_MIN = 1.2e-38 in magnitude, far under float32's resolution of any parameter.
 *   - OFF for relu (pure selection), batch norm and softmax/cross-entropy: O(N*C) work
 *     where subnormals are rare and NumPy's exact bits (e.g. tiny probabilities) are kept.
 */
#ifndef NANOTORCH_KERNELS_H
#define NANOTORCH_KERNELS_H

#include <stdint.h>

/* cffi-cdef-begin */

enum { NT_OK = 0, NT_EINVAL = 1, NT_ENOMEM = 2 };
enum { NT_REDUCE_NONE = 0, NT_REDUCE_MEAN = 1, NT_REDUCE_SUM = 2 };

/* build_info.c: "key=value;..." describing this build (compiler flags, OpenMP, SIMD). */
const char *nt_build_info(void);

/* gemm.c: c[m,n] = (c +) op(a)[m,k] @ op(b)[k,n] (+ bias) (then relu); op(a) = a[k,m]^T
 * when trans_a, op(b) = b[n,k]^T when trans_b; lda/ldb/ldc are the stored row strides.
 * flags: NT_GEMM_RELU, NT_GEMM_ACCUMULATE (c += ...), NT_GEMM_ROW_BIAS (bias[m], not [n]). */
enum { NT_GEMM_RELU = 1, NT_GEMM_ACCUMULATE = 2, NT_GEMM_ROW_BIAS = 4 };
int nt_gemm_f32(int64_t m, int64_t n, int64_t k,
                const float *a, int64_t lda, int trans_a,
                const float *b, int64_t ldb, int trans_b,
                float *c, int64_t ldc, const float *bias, int flags, int nthreads);
/* gemm.c: the GEMM is compiled once per instruction set ("avx512", "avx2", "neon",
 * "generic"); the first call picks the widest this CPU runs (AVX2 on AMD Zen 4, see
 * gemm.c).  nt_isa_select forces one
 * (NT_EINVAL, and no change, when it is unknown, not compiled in or not runnable here).
 * nt_gemm_tuning fills info[8]: L1d, L2, L3 bytes read at run time (0: unknown), then the
 * ISA's MR, NR and the KC, NC, direct-b bytes derived from those caches. */
int nt_isa_supported(const char *name);
int nt_isa_select(const char *name);
const char *nt_isa_current(void);
void nt_gemm_tuning(int64_t *info);
/* gemm.c: GFLOP/s of `rounds` rounds of the GEMM ISA's independent multiply-add chains on
 * the calling thread: the core's measured float32 peak (*sink: their result). */
double nt_fma_gflops(int64_t rounds, float *sink);

/* linear.c: y[n,m] = x[n,k] @ w[m,k]^T + b[m]; backward: dx, dw, db may be NULL. */
int nt_linear_fwd_f32(int64_t n, int64_t k, int64_t m, const float *x, const float *w,
                      const float *b, float *y, int nthreads);
int nt_linear_bwd_f32(int64_t n, int64_t k, int64_t m, const float *dy, const float *x,
                      const float *w, float *dx, float *dw, float *db, int nthreads);

/* relu.c: y = max(x, 0); dx = dy * (y > 0). */
int nt_relu_fwd_f32(int64_t size, const float *x, float *y, int nthreads);
int nt_relu_bwd_f32(int64_t size, const float *dy, const float *y, float *dx, int nthreads);

/* gelu.c: y = x * Phi(x) (exact, via erfc) or x * sigmoid(2u) (tanh approximation);
 * dx = dy * gelu'(x) from the saved input x. */
enum { NT_GELU_NONE = 0, NT_GELU_TANH = 1 };
int nt_gelu_fwd_f32(int64_t size, const float *x, int approximate, float *y, int nthreads);
int nt_gelu_bwd_f32(int64_t size, const float *dy, const float *x, int approximate, float *dx,
                    int nthreads);

/* batchnorm.c: x viewed as [n, c, hw]; gamma, beta, running stats may be NULL. */
int nt_batchnorm_fwd_f32(int64_t n, int64_t c, int64_t hw, const float *x,
                         const float *gamma, const float *beta,
                         float *running_mean, float *running_var, int training,
                         double momentum, double eps, float *y, float *mean, float *invstd,
                         int nthreads);
int nt_batchnorm_bwd_f32(int64_t n, int64_t c, int64_t hw, const float *dy, const float *x,
                         const float *gamma, const float *mean, const float *invstd,
                         int training, float *dx, float *dgamma, float *dbeta, int nthreads);

/* cross_entropy.c: fused softmax + cross-entropy over logits[n, c], target[n] int64. */
int nt_cross_entropy_fwd_f32(int64_t n, int64_t c, const float *logits, const int64_t *target,
                             int reduction, double label_smoothing, int64_t ignore_index,
                             float *loss, float *probs, int nthreads);
int nt_cross_entropy_bwd_f32(int64_t n, int64_t c, const float *dloss, int dloss_per_row,
                             const float *probs, const int64_t *target, int reduction,
                             double label_smoothing, int64_t ignore_index, float *dlogits,
                             int nthreads);

/* optim.c: in-place parameter updates (PyTorch's rules).  SGD and Adam are multi-tensor:
 * one call updates `count` tensors of sizes[t] elements given arrays of pointers
 * (params[t], grads[t], bufs[t], ...); optional pointer arrays may be NULL. */
int nt_sgd_multi_step_f32(int64_t count, const int64_t *sizes, float *const *params,
                          const float *const *grads, float *const *bufs, double lr,
                          double momentum, double dampening, int nesterov,
                          double weight_decay, int maximize, const uint8_t *first,
                          int nthreads);
int nt_adam_multi_step_f32(int64_t count, const int64_t *sizes, float *const *params,
                           const float *const *grads, float *const *exp_avgs,
                           float *const *exp_avg_sqs, float *const *max_exp_avg_sqs,
                           const int64_t *steps, double lr, double beta1, double beta2,
                           double eps, double weight_decay, int decoupled, int maximize,
                           int nthreads);
int nt_rmsprop_step_f32(int64_t size, float *param, const float *grad, float *square_avg,
                        float *buf, float *grad_avg, double lr, double alpha, double eps,
                        double weight_decay, double momentum, int maximize, int nthreads);

/* conv.c: 2-D cross-correlation of x[n,c,h,w] with weight[o,c,kh,kw] (+ bias[o]) through
 * cols[n, c*kh*kw, ho*wo] (im2col, kept for backward); y[n,o,ho,wo]. dx, dw, db may be NULL. */
int nt_conv2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                      int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                      const float *x, const float *weight, const float *bias, float *y,
                      float *cols, int nthreads);
int nt_conv2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                      int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                      const float *dy, const float *cols, const float *weight, float *dx,
                      float *dw, float *db, int nthreads);

/* winograd.c: the same for 3x3 kernels, stride 1, padding ph, pw <= 2, by Winograd's
 * F(2x2, 3x3): v (16*c*n*t floats, t = ceil(ho/2) * ceil(wo/2) tiles per image, in
 * winograd.c's layout) is the input's transform, kept for backward instead of cols.
 * dx, dw, db may be NULL. */
int nt_conv2d_wino_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t ph,
                           int64_t pw, const float *x, const float *weight, const float *bias,
                           float *y, float *v, int nthreads);
int nt_conv2d_wino_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t ph,
                           int64_t pw, const float *dy, const float *v, const float *weight,
                           float *dx, float *dw, float *db, int nthreads);

/* pool.c: max and average pooling of x[n,c,h,w] over kh x kw windows, stride sh x sw,
 * padding ph <= kh/2, pw <= kw/2 (-inf for max, counted zeros for avg); y[n,c,ho,wo].
 * Max pooling saves indices[n,c,ho,wo]: the max's position r*w + s in its plane; its
 * backward checks every index against the plane (NT_EINVAL if one is outside). */
int nt_max_pool2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw, const float *x,
                          float *y, int64_t *indices, int nthreads);
int nt_max_pool2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo,
                          const float *dy, const int64_t *indices, float *dx, int nthreads);
int nt_max_pool2d_relu_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh,
                               int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                               const float *x, float *y, int64_t *indices, int nthreads);
int nt_max_pool2d_relu_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho,
                               int64_t wo, const float *dy, const int64_t *indices,
                               const float *y, float *dx, int nthreads);
int nt_avg_pool2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw, const float *x,
                          float *y, int nthreads);
int nt_avg_pool2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw, const float *dy,
                          float *dx, int nthreads);

/* take.c: out[i] = src[index[i]] for i < n, rows of row_bytes bytes (np.take along axis 0);
 * NT_EINVAL, with nothing written, when an index is outside [0, rows). */
int nt_take_rows(int64_t rows, int64_t row_bytes, const void *src, int64_t n,
                 const int64_t *index, void *out, int nthreads);

/* threads.c: stop and join the library's thread pool (restarted on the next parallel
 * kernel); the Python side calls it at exit. */
void nt_threads_shutdown(void);

/* plan.c: a compiled step's kernels in one call (nanotorch/compiler/walker.py).  Every
 * kernel above of the form `int nt_..._f32(...)` has a thunk of one signature, generated by
 * build_kernels.py into the extension's own source: it unpacks args[0 .. arity-1] (a union
 * per argument: pointer, int64 (also for int) or double) and calls the kernel.
 * nt_plan_thunks(&count) is that table.  nt_plan_run first sets the pointer of each
 * patch (args[patches[2j]].p = inputs[patches[2j + 1]]: the step's arguments, new at each
 * call), then calls steps[2s] (a thunk's index) on args + steps[2s + 1] for s = 0 ..
 * n_steps-1, and stops at the first nonzero status, which it returns with *failed_at = s
 * (n_steps when all succeed).  NT_EPLAN: an index or a range outside the tables (nothing
 * run from that step on; *failed_at = -1 for a patch). */
enum { NT_EPLAN = 3 };
typedef union { void *p; int64_t i; double d; } nt_plan_arg;
typedef struct { int (*fn)(const nt_plan_arg *args); int64_t arity; const char *name; } nt_plan_thunk;
typedef struct {
    const nt_plan_thunk *thunks;
    int64_t n_thunks;
    nt_plan_arg *args;
    int64_t n_args;
    void *const *inputs;
    int64_t n_inputs;
    const int64_t *patches;
    int64_t n_patches;
} nt_plan;
const nt_plan_thunk *nt_plan_thunks(int64_t *count);
int nt_plan_run(const nt_plan *plan, const int64_t *steps, int64_t n_steps, int64_t *failed_at);

/* cffi-cdef-end */

/* ------------------------------------------------------------------------------------
 * Shared helpers for the kernel sources only (they define NT_KERNEL_SOURCE first).
 */
#ifdef NT_KERNEL_SOURCE

#include <stddef.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#define NT_HAVE_MXCSR 1
#elif defined(__aarch64__) && defined(__GNUC__)
#define NT_HAVE_FPCR 1
#endif

/* GCC/Clang hints, and nothing on other compilers. */
#ifdef __GNUC__
#define NT_ALWAYS_INLINE inline __attribute__((always_inline))
#define NT_PREFETCH(p, write) __builtin_prefetch((p), (write))
#else
#define NT_ALWAYS_INLINE inline
#define NT_PREFETCH(p, write) ((void)(p))
#endif

/* SIMD width for GCC/Clang vector extensions: the width of the target the file is compiled
 * for (the baseline of the architecture, SSE2 or NEON, except in gemm_<isa>.c, which set
 * their own); plain scalars on other compilers. */
#ifndef NT_VL
#if defined(__GNUC__) && defined(__AVX512F__)
#define NT_VL 16
#elif defined(__GNUC__) && defined(__AVX__)
#define NT_VL 8
#elif defined(__GNUC__) && (defined(__SSE2__) || defined(__ARM_NEON) || defined(__ALTIVEC__))
#define NT_VL 4
#else
#define NT_VL 1
#endif
#endif
#if NT_VL == 16
#define NT_SIMD_NAME "avx512"
#elif NT_VL == 8
#define NT_SIMD_NAME "avx2"
#elif NT_VL == 4
#define NT_SIMD_NAME "vec128"
#else
#define NT_SIMD_NAME "scalar"
#endif

#if NT_VL > 1
typedef float nt_vf __attribute__((vector_size(NT_VL * sizeof(float))));
typedef int32_t nt_vi __attribute__((vector_size(NT_VL * sizeof(int32_t))));
#define NT_SPLAT(x) ((float)(x) - (nt_vf){0}) /* x - 0 is x, even for -0 */
/* relu as np.maximum(v, 0): keep the lanes > 0 or NaN, +0 elsewhere (also for -0) */
#define NT_VRELU(v) ((nt_vf)((nt_vi)(v) & (((v) > (nt_vf){0}) | ((v) != (v)))))
#else
typedef float nt_vf;
#define NT_SPLAT(x) ((float)(x))
#define NT_VRELU(v) NT_RELU(v)
#endif
#define NT_RELU(x) (((x) > 0.0f || (x) != (x)) ? (x) : 0.0f)

static inline nt_vf nt_vload(const float *p)
{
    nt_vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void nt_vstore(float *p, nt_vf v)
{
    memcpy(p, &v, sizeof v);
}

static inline int64_t nt_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Flush-to-zero + denormals-are-zero for the calling thread; returns the old MXCSR (x86)
 * or FPCR (aarch64, whose FZ bit 24 flushes both inputs and results). */
static inline unsigned nt_ftz_enter(void)
{
#ifdef NT_HAVE_MXCSR
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
#elif defined(NT_HAVE_FPCR)
    uint64_t old;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(old | (1u << 24)));
    return (unsigned)old; /* the defined FPCR bits are all below 32 */
#else
    return 0;
#endif
}

static inline void nt_ftz_leave(unsigned old)
{
#ifdef NT_HAVE_MXCSR
    _mm_setcsr(old);
#elif defined(NT_HAVE_FPCR)
    __asm__ __volatile__("msr fpcr, %0" : : "r"((uint64_t)old));
#else
    (void)old;
#endif
}

/* sum_j (a[j] - sa) * (b[j] - sb) over j < len; b NULL: sum_j (a[j] - sa).  Float vector
 * lanes within blocks of NT_SPAN_BLOCK values, double across blocks: accurate and fast. */
#define NT_SPAN_BLOCK 1024
static inline double nt_span_dot(const float *restrict a, float sa, const float *restrict b,
                                 float sb, int64_t len)
{
    double total = 0.0;
    for (int64_t j0 = 0; j0 < len; j0 += NT_SPAN_BLOCK) {
        int64_t j1 = nt_min64(len, j0 + NT_SPAN_BLOCK), j = j0;
        float part = 0.0f;
#if NT_VL > 1
        nt_vf acc = NT_SPLAT(0.0f);
        for (; j + NT_VL <= j1; j += NT_VL) {
            nt_vf u = nt_vload(a + j) - sa;
            acc += b ? u * (nt_vload(b + j) - sb) : u;
        }
        for (int l = 0; l < NT_VL; ++l)
            part += acc[l];
#endif
        for (; j < j1; ++j)
            part += b ? (a[j] - sa) * (b[j] - sb) : a[j] - sa;
        total += part;
    }
    return total;
}

/* threads.c: nt_parallel(nt, fn, ctx) runs fn(ctx, t, nt) for every t < nt, share 0 on the
 * calling thread, the others on the library's pool, and returns when all are done. */
#define NT_MAX_THREADS 256
typedef void (*nt_task_fn)(void *ctx, int t, int nt);
void nt_parallel(int nt, nt_task_fn fn, void *ctx);

/* Threads worth using for `work` units when each thread should get >= `min_per_thread`. */
static inline int nt_threads_for(int64_t work, int64_t min_per_thread, int nthreads)
{
    int64_t useful = work / (min_per_thread > 0 ? min_per_thread : 1);
    if (useful < nthreads)
        nthreads = useful < 1 ? 1 : (int)useful;
    return nthreads < NT_MAX_THREADS ? nthreads : NT_MAX_THREADS;
}

/* Share t of nt of [0, size): [*lo, *hi). */
static inline void nt_range(int64_t size, int t, int nt, int64_t *lo, int64_t *hi)
{
    *lo = size / nt * t + nt_min64(t, size % nt);
    *hi = *lo + size / nt + (t < size % nt);
}

/* A kernel's status from its shares: the first failure any share stores wins. */
static inline void nt_fail(int *status, int s)
{
    if (s != NT_OK)
        __atomic_store_n(status, s, __ATOMIC_RELAXED);
}

#endif /* NT_KERNEL_SOURCE */

#endif /* NANOTORCH_KERNELS_H */
