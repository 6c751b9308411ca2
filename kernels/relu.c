/* relu.c -- the rectifier, elementwise over `size` floats of any shape. */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#define NT_RELU_PAR_MIN (1 << 16) /* elements per thread (~5 us) before a second one pays */

static inline void relu_fwd_span(int64_t lo, int64_t hi, const float *restrict x,
                                 float *restrict y)
{
    for (int64_t i = lo; i < hi; ++i)
        y[i] = NT_RELU(x[i]);
}

static inline void relu_bwd_span(int64_t lo, int64_t hi, const float *restrict dy,
                                 const float *restrict y, float *restrict dx)
{
    for (int64_t i = lo; i < hi; ++i)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* y = max(x, 0) with np.maximum's bits: NaN stays NaN, -0 becomes +0.
 * Saves: nothing on one thread (np.maximum is as fast); half the time on two, for large x
 * (measured: [64, 16, 28, 28] 218 -> 97 us). */
int nt_relu_fwd_f32(int64_t size, const float *restrict x, float *restrict y, int nthreads)
{
    if (size < 0 || nthreads < 1 || (size > 0 && (!x || !y)))
        return NT_EINVAL;
    int nt = nt_threads_for(size, NT_RELU_PAR_MIN, nthreads);
    if (nt == 1) { /* NOTE: no parallel region: entering one costs ~0.3 us even for one thread */
        relu_fwd_span(0, size, x, y);
        return NT_OK;
    }
    NT_PARALLEL(nt)
    {
        int64_t lo, hi;
        nt_thread_range(size, &lo, &hi);
        relu_fwd_span(lo, hi, x, y);
    }
    return NT_OK;
}

/* dx = dy where y > 0, else 0, from the saved output y (NOTE: 0 at y == 0, as PyTorch).
 * Saves: the boolean mask and the zero-filled temporary of np.where: one pass. */
int nt_relu_bwd_f32(int64_t size, const float *restrict dy, const float *restrict y,
                    float *restrict dx, int nthreads)
{
    if (size < 0 || nthreads < 1 || (size > 0 && (!dy || !y || !dx)))
        return NT_EINVAL;
    int nt = nt_threads_for(size, NT_RELU_PAR_MIN, nthreads);
    if (nt == 1) {
        relu_bwd_span(0, size, dy, y, dx);
        return NT_OK;
    }
    NT_PARALLEL(nt)
    {
        int64_t lo, hi;
        nt_thread_range(size, &lo, &hi);
        relu_bwd_span(lo, hi, dy, y, dx);
    }
    return NT_OK;
}
