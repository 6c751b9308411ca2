/* optim.c -- optimizer updates, in place, one pass over each parameter (PyTorch's rules).
 *
 * NumPy needs a temporary and a pass per arithmetic operator (Adam: about 12 passes over
 * `size` floats); here every element is read and written once.  Scalars are rounded to
 * float32 where NumPy rounds them.  FTZ/DAZ is on inside (see nanotorch_kernels.h):
 * Adam's moments of parameters whose gradient stays 0 decay into subnormal range.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#include "vec_math.h"

#include <math.h>
#include <string.h>

/* Instruction sets.  Each loop below is written once and compiled twice on x86: for the
 * architecture's baseline (SSE2: 4 floats a vector, no FMA) and for AVX2+FMA (8 floats a
 * vector): a thread's share of a step is an always-inline body (`<name>_body`), and
 * vec_math.h's NT_WIDE_SHARES / NT_PICK_SHARE make both copies and pick one per call, by the
 * GEMM's instruction set, so NANOTORCH_ISA=generic tests the baseline loops on any host.
 * NOTE: Adam's step is bound by its square root and division, not by memory, and Zen 3's
 * divider takes 8 floats in about the time of 4: 97 -> 54 us for the seed MLP's 101,770
 * parameters on one core, measured. */

/* Elements per thread before a second one pays (the seed MLP's 101,770 parameters run on
 * two).  NOTE: measured when the kernels used OpenMP: SGD on one thread (8 us) made the
 * seed MLP's epoch slower, 0.312 -> 0.350 s, as the idle second thread then fell asleep
 * before the next GEMM; the pool of threads.c keeps its threads spinning after a job
 * for the same reason. */
#define NT_OPTIM_PAR_MIN (1 << 14)

static int bad_sizes(int64_t size, int nthreads, const float *param, const float *grad)
{
    return size < 0 || nthreads < 1 || (size > 0 && (!param || !grad));
}

/* The multi-tensor steps take `count` tensors: sizes[count] and arrays of pointers, one
 * per tensor (an optional state array of pointers may be NULL as a whole).  Threads split
 * the concatenation of all tensors evenly; a tensor may be cut between two threads.
 * Each thread updates the pieces [lo, hi) of the tensors that fall in its share
 * [begin, end) of the concatenation (tensor t starts at `start` in it). */
static int bad_multi(int64_t count, const int64_t *sizes, int nthreads, float *const *params,
                     const float *const *grads, int64_t *total)
{
    if (count < 0 || nthreads < 1 || (count > 0 && (!sizes || !params || !grads)))
        return 1;
    *total = 0;
    for (int64_t t = 0; t < count; ++t) {
        if (bad_sizes(sizes[t], 1, params[t], grads[t]) || sizes[t] > INT64_MAX - *total)
            return 1;
        *total += sizes[t];
    }
    return 0;
}

/* SGD with momentum over `len` elements of one tensor; `first`: buf = g (its first step).
 * NOTE: `first` is a constant in each inlined copy (see sgd_span): with `first ? g :
 * mom * buf[i] + ...` tested per element, buf[i] is a conditional load and GCC left the
 * whole loop scalar ("control flow in loop"): 4x slower than NumPy's passes, measured. */
static NT_ALWAYS_INLINE void sgd_momentum_loop(int64_t len, float *restrict param,
                                               const float *restrict grad,
                                               float *restrict buf, float flr, float mom,
                                               float damp, int nesterov, float wd, int decay,
                                               float sign, int first)
{
    for (int64_t i = 0; i < len; ++i) {
        float g = sign * grad[i];
        if (decay)
            g += wd * param[i];
        float b = first ? g : mom * buf[i] + damp * g;
        buf[i] = b;
        param[i] -= flr * (nesterov ? g + mom * b : b);
    }
}

/* SGD over `len` elements of one tensor.  NOTE: the loops with and without buf are
 * written apart: in one loop testing `buf` per element, the compiler if-converts buf[i]
 * into a masked vector load, and masked loads at NULL + i (masked off, but faulting
 * addresses) take a microcode assist each: 16x slower, measured. */
static NT_ALWAYS_INLINE void sgd_span(int64_t len, float *restrict param, const float *restrict grad,
                     float *restrict buf, float flr, float mom, float damp, int nesterov,
                     float wd, int decay, float sign, int first)
{
    if (!buf) {
        for (int64_t i = 0; i < len; ++i) {
            float g = sign * grad[i];
            if (decay)
                g += wd * param[i];
            param[i] -= flr * g;
        }
    } else if (first) {
        sgd_momentum_loop(len, param, grad, buf, flr, mom, damp, nesterov, wd, decay, sign, 1);
    } else {
        sgd_momentum_loop(len, param, grad, buf, flr, mom, damp, nesterov, wd, decay, sign, 0);
    }
}

/* The elements [begin, end) of the tensors laid end to end: per tensor t, the part of
 * [begin, end) it holds, as [lo, hi) of its own elements. */
#define NT_FOR_TENSOR_PARTS(count, sizes, begin, end, t, lo, hi)                              \
    for (int64_t t = 0, start_ = 0, lo, hi; t < (count) && start_ < (end);                    \
         start_ += (sizes)[t++])                                                               \
        if (lo = (begin) > start_ ? (begin) - start_ : 0,                                      \
            hi = nt_min64((sizes)[t], (end) - start_), lo < hi)

typedef struct {
    int64_t count, total;
    const int64_t *sizes;
    float *const *params;
    const float *const *grads;
    float *const *bufs; /* NULL without momentum */
    float flr, mom, damp;
    int nesterov;
    float wd;
    int decay;
    float sign;
    const uint8_t *first; /* first[t]: tensor t's first step (buf = g); NULL: none */
} sgd_job_t;

static NT_ALWAYS_INLINE void sgd_share_body(void *ctx, int share, int nt)
{
    const sgd_job_t *j = ctx;
    int64_t begin, end;
    nt_range(j->total, share, nt, &begin, &end);
    unsigned csr = nt_ftz_enter();
    NT_FOR_TENSOR_PARTS(j->count, j->sizes, begin, end, t, lo, hi)
    sgd_span(hi - lo, j->params[t] + lo, j->grads[t] + lo, j->bufs ? j->bufs[t] + lo : NULL,
             j->flr, j->mom, j->damp, j->nesterov, j->wd, j->decay, j->sign,
             j->first && j->first[t]);
    nt_ftz_leave(csr);
}
NT_WIDE_SHARES(sgd_share, NT_TARGET_WIDE_FMA)

/* Per tensor t: g = ±grads[t] + wd*p; with momentum: buf = g on its first step (first[t];
 * first may be NULL: no tensor's first step), else
 * buf = momentum*buf + (1-dampening)*g, and g = g + momentum*buf (nesterov) or buf;
 * then p -= lr*g.  bufs may be NULL when momentum == 0 (it is then ignored). */
int nt_sgd_multi_step_f32(int64_t count, const int64_t *sizes, float *const *params,
                          const float *const *grads, float *const *bufs, double lr,
                          double momentum, double dampening, int nesterov,
                          double weight_decay, int maximize, const uint8_t *first,
                          int nthreads)
{
    int64_t total;
    if (bad_multi(count, sizes, nthreads, params, grads, &total)
        || (momentum != 0.0 && count > 0 && !bufs))
        return NT_EINVAL;
    for (int64_t t = 0; momentum != 0.0 && t < count; ++t)
        if (sizes[t] > 0 && !bufs[t])
            return NT_EINVAL;
    float flr = (float)lr, mom = (float)momentum, damp = (float)(1.0 - dampening);
    float wd = (float)weight_decay, sign = maximize ? -1.0f : 1.0f;
    int decay = weight_decay != 0.0;
    sgd_job_t job = {count, total, sizes, params, grads, momentum != 0.0 ? bufs : NULL, flr, mom,
                     damp, nesterov, wd, decay, sign, first};
    nt_parallel(nt_threads_for(total, NT_OPTIM_PAR_MIN, nthreads), NT_PICK_SHARE(sgd_share), &job);
    return NT_OK;
}

typedef struct {
    float b1, one_b1, b2, one_b2, wd, decay, step_size, eps, sign;
    int coupled, shrink;
} adam_consts;

/* Adam over `len` elements of one tensor; max_exp_avg_sq (amsgrad) may be NULL.
 * NOTE: the amsgrad branch is outside the loop, for the reason given at sgd_span. */
static NT_ALWAYS_INLINE void adam_loop(int64_t len, float *restrict param,
                                       const float *restrict grad, float *restrict exp_avg,
                                       float *restrict exp_avg_sq,
                                       float *restrict max_exp_avg_sq, const adam_consts c,
                                       int amsgrad)
{
    for (int64_t i = 0; i < len; ++i) {
        float g = c.sign * grad[i], p = param[i];
        if (c.shrink)
            p *= c.decay;
        if (c.coupled)
            g += c.wd * p;
        float m = c.b1 * exp_avg[i] + c.one_b1 * g;
        float v = c.b2 * exp_avg_sq[i] + (c.one_b2 * g) * g; /* not g * g: overflows at ~1.8e19 */
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        if (amsgrad) {
            float vmax = max_exp_avg_sq[i];
            v = (vmax >= v || vmax != vmax) ? vmax : v; /* np.maximum: NaN wins */
            max_exp_avg_sq[i] = v;
        }
        param[i] = p - m / (sqrtf(v) + c.eps) * c.step_size;
    }
}

static NT_ALWAYS_INLINE void adam_span(int64_t len, float *restrict param, const float *restrict grad,
                      float *restrict exp_avg, float *restrict exp_avg_sq,
                      float *restrict max_exp_avg_sq, const adam_consts *k)
{
    if (max_exp_avg_sq)
        adam_loop(len, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *k, 1);
    else
        adam_loop(len, param, grad, exp_avg, exp_avg_sq, NULL, *k, 0);
}

typedef struct {
    int64_t count, total;
    const int64_t *sizes;
    float *const *params;
    const float *const *grads;
    float *const *exp_avgs, *const *exp_avg_sqs, *const *max_exp_avg_sqs;
    const int64_t *steps;
    double lr, beta1, beta2, eps;
    adam_consts k; /* all but step_size and eps, which depend on steps[t] */
} adam_job_t;

static NT_ALWAYS_INLINE void adam_share_body(void *ctx, int share, int nt)
{
    const adam_job_t *j = ctx;
    int64_t begin, end;
    nt_range(j->total, share, nt, &begin, &end);
    unsigned csr = nt_ftz_enter();
    NT_FOR_TENSOR_PARTS(j->count, j->sizes, begin, end, t, lo, hi) {
        adam_consts k = j->k;
        double bias2_sqrt = sqrt(1.0 - pow(j->beta2, (double)j->steps[t]));
        k.step_size = (float)(j->lr * bias2_sqrt / (1.0 - pow(j->beta1, (double)j->steps[t])));
        k.eps = (float)(j->eps * bias2_sqrt);
        adam_span(hi - lo, j->params[t] + lo, j->grads[t] + lo, j->exp_avgs[t] + lo,
                  j->exp_avg_sqs[t] + lo,
                  j->max_exp_avg_sqs ? j->max_exp_avg_sqs[t] + lo : NULL, &k);
    }
    nt_ftz_leave(csr);
}
NT_WIDE_SHARES(adam_share, NT_TARGET_WIDE_FMA)

/* Per tensor t, at its own step count steps[t] >= 1: g = ±grad (+ wd*p for Adam; AdamW
 * first does p *= 1 - lr*wd); m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
 * vmax = max(vmax, v) when max_exp_avg_sqs (amsgrad) is given and then replaces v;
 * p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps), t = steps[t], computed as
 * p -= m / (sqrt(v) + eps*sqrt(1 - b2^t)) * (lr*sqrt(1 - b2^t)/(1 - b1^t)): the same,
 * multiplied through by sqrt(1 - b2^t), with the bias corrections in two scalars per
 * tensor (in double, rounded to float once) and one division per element, as NumPy's
 * adam_step does it. */
int nt_adam_multi_step_f32(int64_t count, const int64_t *sizes, float *const *params,
                           const float *const *grads, float *const *exp_avgs,
                           float *const *exp_avg_sqs, float *const *max_exp_avg_sqs,
                           const int64_t *steps, double lr, double beta1, double beta2,
                           double eps, double weight_decay, int decoupled, int maximize,
                           int nthreads)
{
    int64_t total;
    if (bad_multi(count, sizes, nthreads, params, grads, &total)
        || (count > 0 && (!exp_avgs || !exp_avg_sqs || !steps)))
        return NT_EINVAL;
    for (int64_t t = 0; t < count; ++t)
        if (steps[t] < 1 || (sizes[t] > 0 && (!exp_avgs[t] || !exp_avg_sqs[t]
                                              || (max_exp_avg_sqs && !max_exp_avg_sqs[t]))))
            return NT_EINVAL;
    adam_job_t job = {count, total, sizes, params, grads, exp_avgs, exp_avg_sqs,
                      max_exp_avg_sqs, steps, lr, beta1, beta2, eps, {
        .b1 = (float)beta1, .one_b1 = (float)(1.0 - beta1),
        .b2 = (float)beta2, .one_b2 = (float)(1.0 - beta2),
        .wd = (float)weight_decay, .decay = (float)(1.0 - lr * weight_decay),
        .sign = maximize ? -1.0f : 1.0f,
        .coupled = weight_decay != 0.0 && !decoupled, .shrink = weight_decay != 0.0 && decoupled,
    }};
    nt_parallel(nt_threads_for(total, NT_OPTIM_PAR_MIN, nthreads), NT_PICK_SHARE(adam_share), &job);
    return NT_OK;
}

typedef struct {
    int64_t size;
    float *param;
    const float *grad;
    float *square_avg, *buf, *grad_avg;
    float flr, a, one_a, feps, wd, mom, sign;
    int decay, momentum;
} rmsprop_job_t;

/* RMSprop over elements [lo, hi).  NOTE: `centered` and `momentum` are constants in each
 * inlined copy (see rmsprop_share_body): tested per element, the loads of grad_avg[i] and
 * buf[i] are conditional and GCC leaves the loop scalar, as at sgd_momentum_loop. */
static NT_ALWAYS_INLINE void rmsprop_loop(const rmsprop_job_t *j, int64_t lo, int64_t hi,
                                          int centered, int momentum)
{
    float *restrict param = j->param, *restrict square_avg = j->square_avg;
    float *restrict buf = j->buf, *restrict grad_avg = j->grad_avg;
    const float *restrict grad = j->grad;
    const float a = j->a, one_a = j->one_a, wd = j->wd, mom = j->mom, flr = j->flr;
    const float sign = j->sign, feps = j->feps;
    const int decay = j->decay;
    for (int64_t i = lo; i < hi; ++i) {
        float g = sign * grad[i];
        if (decay)
            g += wd * param[i];
        float v = a * square_avg[i] + (one_a * g) * g;
        square_avg[i] = v;
        float avg;
        if (centered) {
            float gbar = a * grad_avg[i] + one_a * g;
            grad_avg[i] = gbar;
            avg = sqrtf(v - gbar * gbar) + feps;
        } else {
            avg = sqrtf(v) + feps;
        }
        if (momentum) {
            float b = mom * buf[i] + g / avg;
            buf[i] = b;
            param[i] -= flr * b;
        } else {
            param[i] -= flr * (g / avg);
        }
    }
}

static NT_ALWAYS_INLINE void rmsprop_share_body(void *ctx, int t, int nt)
{
    const rmsprop_job_t *j = ctx;
    int64_t lo, hi;
    nt_range(j->size, t, nt, &lo, &hi);
    unsigned csr = nt_ftz_enter();
    if (j->grad_avg && j->momentum)
        rmsprop_loop(j, lo, hi, 1, 1);
    else if (j->grad_avg)
        rmsprop_loop(j, lo, hi, 1, 0);
    else if (j->momentum)
        rmsprop_loop(j, lo, hi, 0, 1);
    else
        rmsprop_loop(j, lo, hi, 0, 0);
    nt_ftz_leave(csr);
}
NT_WIDE_SHARES(rmsprop_share, NT_TARGET_WIDE_FMA)

/* g = ±grad + wd*p; v = alpha*v + (1-alpha)*g^2; centered (grad_avg given):
 * gbar = alpha*gbar + (1-alpha)*g, avg = sqrt(v - gbar^2) + eps, else avg = sqrt(v) + eps;
 * momentum > 0: buf = momentum*buf + g/avg, p -= lr*buf; else p -= lr*g/avg. */
int nt_rmsprop_step_f32(int64_t size, float *restrict param, const float *restrict grad,
                        float *restrict square_avg, float *restrict buf,
                        float *restrict grad_avg, double lr, double alpha, double eps,
                        double weight_decay, double momentum, int maximize, int nthreads)
{
    if (bad_sizes(size, nthreads, param, grad)
        || (size > 0 && (!square_avg || (momentum > 0.0 && !buf))))
        return NT_EINVAL;
    float flr = (float)lr, a = (float)alpha, one_a = (float)(1.0 - alpha), feps = (float)eps;
    float wd = (float)weight_decay, mom = (float)momentum, sign = maximize ? -1.0f : 1.0f;
    rmsprop_job_t job = {size, param, grad, square_avg, buf, grad_avg, flr, a, one_a, feps, wd,
                         mom, sign, weight_decay != 0.0, momentum > 0.0};
    nt_parallel(nt_threads_for(size, NT_OPTIM_PAR_MIN, nthreads), NT_PICK_SHARE(rmsprop_share),
                &job);
    return NT_OK;
}
