/* take.c -- rows gathered by index: out[i] = src[index[i]] for rows of row_bytes bytes (any
 * dtype), as np.take(src, index, axis=0) on a C-contiguous src.  The DataLoader's batches of
 * a shuffled dataset are such gathers: MNIST's 64 random rows of 3,136 bytes each start with
 * a miss to memory, so a copy waits on memory more than it moves bytes, and two threads keep
 * twice the misses in flight (Xeon, 2 cores: a batch 20-23 -> 14 us, docs/03-c-kernels.md;
 * software prefetch of the next rows gained nothing there).
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#include <string.h>

/* Bytes per thread before a second one pays: the pool's hand-over is ~1-2 us, a gather from
 * memory moves ~7 GB/s a thread. */
#define NT_TAKE_PAR_MIN (32 * 1024)

typedef struct {
    int64_t row_bytes, n;
    const char *src;
    const int64_t *index;
    char *out;
} take_job_t;

static void take_share(void *ctx, int t, int nt)
{
    const take_job_t *job = ctx;
    int64_t lo, hi, rb = job->row_bytes;
    nt_range(job->n, t, nt, &lo, &hi);
    for (int64_t i = lo; i < hi; ++i)
        memcpy(job->out + i * rb, job->src + job->index[i] * rb, (size_t)rb);
}

/* Every index is checked against [0, rows) before anything is copied: NT_EINVAL leaves out
 * as it was (the caller then lets NumPy wrap negative indices or raise IndexError). */
int nt_take_rows(int64_t rows, int64_t row_bytes, const void *src, int64_t n,
                 const int64_t *index, void *out, int nthreads)
{
    if (rows < 0 || row_bytes < 0 || n < 0 || nthreads < 1
        || (n > 0 && (!index || (row_bytes > 0 && (!src || !out))))
        || (rows > 0 && row_bytes > INT64_MAX / rows) || (n > 0 && row_bytes > INT64_MAX / n))
        return NT_EINVAL;
    for (int64_t i = 0; i < n; ++i)
        if (index[i] < 0 || index[i] >= rows)
            return NT_EINVAL;
    if (row_bytes == 0)
        return NT_OK;
    take_job_t job = {row_bytes, n, src, index, out};
    nt_parallel(nt_threads_for(n * row_bytes, NT_TAKE_PAR_MIN, nthreads), take_share, &job);
    return NT_OK;
}
