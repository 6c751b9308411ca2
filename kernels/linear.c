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

/* With 2 threads, backward products of at least this many flops each run side by side. */
#define NT_PAIR_MIN_FLOPS 1000000

/* The three gradients of nt_linear_bwd_f32 (see there). */
typedef struct {
    int64_t n, k, m;
    const float *dy, *x, *w;
    float *dx, *dw, *db;
    int nthreads; /* for each product */
    int status;
} linear_bwd_t;

static int grad_x(const linear_bwd_t *g)
{
    int64_t ldk = g->k > 0 ? g->k : 1, ldm = g->m > 0 ? g->m : 1;
    return nt_gemm_f32(g->n, g->k, g->m, g->dy, ldm, 0, g->w, ldk, 0, g->dx, ldk, NULL, 0,
                       g->nthreads);
}

static int grad_w(const linear_bwd_t *g)
{
    int64_t ldk = g->k > 0 ? g->k : 1, ldm = g->m > 0 ? g->m : 1;
    return nt_gemm_f32(g->m, g->k, g->n, g->dy, ldm, 1, g->x, ldk, 0, g->dw, ldk, NULL, 0,
                       g->nthreads);
}

static void grad_b(const linear_bwd_t *g)
{
    for (int64_t j = 0; j < g->m; ++j)
        g->db[j] = 0.0f;
    for (int64_t i = 0; i < g->n; ++i) /* row by row, as NumPy's dy.sum(axis=0) */
        for (int64_t j = 0; j < g->m; ++j)
            g->db[j] += g->dy[i * g->m + j];
}

/* Share 0: dx (and db), share 1: dw, each on one thread. */
static void grads_side_by_side(void *ctx, int t, int nt)
{
    (void)nt;
    linear_bwd_t *g = ctx;
    if (t == 0) {
        nt_fail(&g->status, grad_x(g));
        if (g->db)
            grad_b(g);
    } else {
        nt_fail(&g->status, grad_w(g));
    }
}

/* dx = dy @ w,  dw = dy^T @ x,  db = sum over rows of dy; each only when its pointer is
 * not NULL.  Saves: the transposed copy of dy (the GEMM packs dy's columns directly).
 * dx and dw take the same number of multiply-adds (n*k*m), so with 2 threads the two
 * products run side by side, one whole product per thread: each runs at one core's full
 * speed, with nothing cut, shared or waited for but the end (cutting each product in two
 * instead costs two start-ups, two waits and the smaller pieces' edges).  With more
 * threads each product is cut among all of them, one after the other. */
int nt_linear_bwd_f32(int64_t n, int64_t k, int64_t m, const float *restrict dy,
                      const float *restrict x, const float *restrict w, float *restrict dx,
                      float *restrict dw, float *restrict db, int nthreads)
{
    if (n < 0 || k < 0 || m < 0 || nthreads < 1)
        return NT_EINVAL;
    linear_bwd_t g = {n, k, m, dy, x, w, dx, dw, db, nthreads, NT_OK};
    double flops = 2.0 * (double)n * (double)k * (double)m; /* each of dx and dw */
    if (dx && dw && nthreads == 2 && flops >= NT_PAIR_MIN_FLOPS) {
        g.nthreads = 1;
        nt_parallel(2, grads_side_by_side, &g);
        return g.status;
    }
    if (dx)
        g.status = grad_x(&g);
    if (dw && g.status == NT_OK)
        g.status = grad_w(&g);
    if (db && g.status == NT_OK)
        grad_b(&g);
    return g.status;
}
