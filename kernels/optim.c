/* optim.c -- optimizer updates, in place, one pass over each parameter (PyTorch's rules).
 *
 * NumPy needs a temporary and a pass per arithmetic operator (Adam: about 12 passes over
 * `size` floats); here every element is read and written once.  Scalars are rounded to
 * float32 where NumPy rounds them.  FTZ/DAZ is on inside (see nanotorch_kernels.h):
 * Adam's moments of parameters whose gradient stays 0 decay into subnormal range.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#include <math.h>

#define NT_OPTIM_PAR_MIN (1 << 14) /* elements per thread before a second one pays */

static int bad_sizes(int64_t size, int nthreads, const float *param, const float *grad)
{
    return size < 0 || nthreads < 1 || (size > 0 && (!param || !grad));
}

/* g = ±grad + wd*p; with momentum: buf = g on the first step, else
 * buf = momentum*buf + (1-dampening)*g, and g = g + momentum*buf (nesterov) or buf;
 * then p -= lr*g.  buf may be NULL when momentum == 0. */
int nt_sgd_step_f32(int64_t size, float *restrict param, const float *restrict grad,
                    float *restrict buf, double lr, double momentum, double dampening,
                    int nesterov, double weight_decay, int maximize, int first, int nthreads)
{
    if (bad_sizes(size, nthreads, param, grad) || (momentum != 0.0 && size > 0 && !buf))
        return NT_EINVAL;
    float flr = (float)lr, mom = (float)momentum, damp = (float)(1.0 - dampening);
    float wd = (float)weight_decay, sign = maximize ? -1.0f : 1.0f;
    int nt = nt_threads_for(size, NT_OPTIM_PAR_MIN, nthreads);
    NT_PARALLEL(nt)
    {
        int64_t lo, hi;
        nt_thread_range(size, &lo, &hi);
        unsigned csr = nt_ftz_enter();
        for (int64_t i = lo; i < hi; ++i) {
            float g = sign * grad[i];
            if (weight_decay != 0.0)
                g += wd * param[i];
            if (momentum != 0.0) {
                float b = first ? g : mom * buf[i] + damp * g;
                buf[i] = b;
                g = nesterov ? g + mom * b : b;
            }
            param[i] -= flr * g;
        }
        nt_ftz_leave(csr);
    }
    return NT_OK;
}

/* g = ±grad (+ wd*p for Adam; AdamW first does p *= 1 - lr*wd);
 * m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2, vmax = max(vmax, v) when max_exp_avg_sq
 * (amsgrad) is given and then replaces v;
 * p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps). */
int nt_adam_step_f32(int64_t size, float *restrict param, const float *restrict grad,
                     float *restrict exp_avg, float *restrict exp_avg_sq,
                     float *restrict max_exp_avg_sq, int64_t step, double lr, double beta1,
                     double beta2, double eps, double weight_decay, int decoupled,
                     int maximize, int nthreads)
{
    if (bad_sizes(size, nthreads, param, grad) || step < 1
        || (size > 0 && (!exp_avg || !exp_avg_sq)))
        return NT_EINVAL;
    float b1 = (float)beta1, one_b1 = (float)(1.0 - beta1);
    float b2 = (float)beta2, one_b2 = (float)(1.0 - beta2);
    float wd = (float)weight_decay, decay = (float)(1.0 - lr * weight_decay);
    float step_size = (float)(lr / (1.0 - pow(beta1, (double)step)));
    float bias2_sqrt = (float)sqrt(1.0 - pow(beta2, (double)step)), feps = (float)eps;
    float sign = maximize ? -1.0f : 1.0f;
    int coupled = weight_decay != 0.0 && !decoupled, shrink = weight_decay != 0.0 && decoupled;
    int nt = nt_threads_for(size, NT_OPTIM_PAR_MIN, nthreads);
    NT_PARALLEL(nt)
    {
        int64_t lo, hi;
        nt_thread_range(size, &lo, &hi);
        unsigned csr = nt_ftz_enter();
        for (int64_t i = lo; i < hi; ++i) {
            float g = sign * grad[i], p = param[i];
            if (shrink)
                p *= decay;
            if (coupled)
                g += wd * p;
            float m = b1 * exp_avg[i] + one_b1 * g;
            float v = b2 * exp_avg_sq[i] + one_b2 * (g * g);
            exp_avg[i] = m;
            exp_avg_sq[i] = v;
            if (max_exp_avg_sq) {
                float vmax = max_exp_avg_sq[i];
                v = (vmax >= v || vmax != vmax) ? vmax : v; /* np.maximum: NaN wins */
                max_exp_avg_sq[i] = v;
            }
            param[i] = p - step_size * m / (sqrtf(v) / bias2_sqrt + feps);
        }
        nt_ftz_leave(csr);
    }
    return NT_OK;
}

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
    int nt = nt_threads_for(size, NT_OPTIM_PAR_MIN, nthreads);
    NT_PARALLEL(nt)
    {
        int64_t lo, hi;
        nt_thread_range(size, &lo, &hi);
        unsigned csr = nt_ftz_enter();
        for (int64_t i = lo; i < hi; ++i) {
            float g = sign * grad[i];
            if (weight_decay != 0.0)
                g += wd * param[i];
            float v = a * square_avg[i] + one_a * (g * g);
            square_avg[i] = v;
            float avg;
            if (grad_avg) {
                float gbar = a * grad_avg[i] + one_a * g;
                grad_avg[i] = gbar;
                avg = sqrtf(v - gbar * gbar) + feps;
            } else {
                avg = sqrtf(v) + feps;
            }
            if (momentum > 0.0) {
                float b = mom * buf[i] + g / avg;
                buf[i] = b;
                param[i] -= flr * b;
            } else {
                param[i] -= flr * (g / avg);
            }
        }
        nt_ftz_leave(csr);
    }
    return NT_OK;
}
