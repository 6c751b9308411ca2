/* linear.c -- the fully connected layer, forward and backward, on top of nt_gemm_f32.
 * Shapes: x[n,k], w[m,k] (PyTorch's [out, in]), b[m], y and dy [n,m].
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

/* y = x @ w^T + b.
 * Saves: the transposed copy of w (the GEMM reads w's rows as columns), and the pass over
 * y that adding b would take (it happens in the GEMM's epilogue, while the tile is still in
 * registers). */
int nt_linear_fwd_f32(int64_t n, int64_t k, int64_t m, const float *restrict x,
                      const float *restrict w, const float *restrict b, float *restrict y,
                      int nthreads)
{
    return nt_gemm_f32(n, m, k, x, k > 0 ? k : 1, 0, w, k > 0 ? k : 1, 1, y, m > 0 ? m : 1, b,
                       0, nthreads);
}

/* dx = dy @ w,  dw = dy^T @ x,  db = sum over rows of dy; each only when its pointer is
 * not NULL.  Saves: the transposed copy of dy (the GEMM packs dy's columns directly). */
int nt_linear_bwd_f32(int64_t n, int64_t k, int64_t m, const float *restrict dy,
                      const float *restrict x, const float *restrict w, float *restrict dx,
                      float *restrict dw, float *restrict db, int nthreads)
{
    if (n < 0 || k < 0 || m < 0)
        return NT_EINVAL;
    int64_t ldk = k > 0 ? k : 1, ldm = m > 0 ? m : 1;
    int status = NT_OK;
    if (dx)
        status = nt_gemm_f32(n, k, m, dy, ldm, 0, w, ldk, 0, dx, ldk, NULL, 0, nthreads);
    if (dw && status == NT_OK)
        status = nt_gemm_f32(m, k, n, dy, ldm, 1, x, ldk, 0, dw, ldk, NULL, 0, nthreads);
    if (db && status == NT_OK) {
        for (int64_t j = 0; j < m; ++j)
            db[j] = 0.0f;
        for (int64_t i = 0; i < n; ++i) /* row by row, as NumPy's dy.sum(axis=0) */
            for (int64_t j = 0; j < m; ++j)
                db[j] += dy[i * m + j];
    }
    return status;
}
