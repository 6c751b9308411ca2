/* gemm.c -- single-precision matrix multiply: the entry point, the choice of micro-kernel
 * for this CPU, the block sizes for its caches, and the split over threads.
 *
 *   c[m,n] = (c +) op(a)[m,k] @ op(b)[k,n] (+ bias[n] or bias[m]) (then relu)
 *
 * The blocked algorithm itself is gemm_kernel.h, compiled once per instruction set
 * (gemm_avx512.c, gemm_avx2.c, gemm_neon.c, gemm_generic.c), each file for its own target
 * whatever flags the rest of the library was built with.  So one build runs on any CPU of
 * its architecture (no -march=native, whose build can die on an illegal instruction on
 * another machine), and the first GEMM call picks the widest instruction set this CPU
 * supports (but AVX2 on AMD Zen 4: splits_512bit_vectors); nt_isa_select (NANOTORCH_ISA)
 * forces another, to test every path on one host.
 * The chosen ISA and its block sizes are the only state here, set once (pthread_once) or
 * by nt_isa_select, and read by every call.
 *
 * Threads: products under NT_PAR_MIN_FLOPS stay on one thread.  A product with at least
 * one whole A block (MC rows) that is not read in place shares each packed B block between
 * the threads: they pack a share of its panels each, then each runs its own rows of c
 * against all of it (two pool jobs per block; cutting c into column stripes instead would
 * make every thread pack all of A).  Smaller products (and dot products, see nt_gemm_f32)
 * cut c into one stripe per thread (along n when there are enough column tiles, else along
 * m); each thread packs what its stripe needs and runs the serial algorithm, so threads
 * share nothing.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"
#include "gemm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

/* 64x128x64 (1 MFLOP): 7.0 us on 1 thread, 4.1 on 2 on an idle machine, but waking a
 * second thread takes long when another process holds a core: products go parallel from
 * ~25 us of work (12 per thread) on. */
#define NT_PAR_MIN_FLOPS 4000000

/* ------------------------------------------------------------------ the caches */

/* Size in bytes of the level-`level` data (or unified) cache of cpu0, from Linux's sysfs;
 * 0 when unknown. */
static int64_t sysfs_cache(int level)
{
    for (int index = 0; index < 8; ++index) {
        char path[96], text[32];
        int lvl = 0;
        long kib = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", index);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        int ok = fscanf(f, "%d", &lvl) == 1;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", index);
        if (!ok || lvl != level || !(f = fopen(path, "r")))
            continue;
        ok = fscanf(f, "%31s", text) == 1 && strcmp(text, "Instruction") != 0;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
        if (!ok || !(f = fopen(path, "r")))
            continue;
        ok = fscanf(f, "%ldK", &kib) == 1;
        fclose(f);
        if (ok && kib > 0)
            return (int64_t)kib * 1024;
    }
    return 0;
}

/* sizes[0..2]: L1 data, L2, L3 cache bytes (per core for L1 and L2 on current CPUs), from
 * sysfs (the kernel's view; in a VM, glibc's cpuid-based sysconf can be far off: 256 MiB
 * of L3 for a 32 MiB one), else sysconf, else 0. */
static void read_caches(int64_t sizes[3])
{
    int64_t conf[3] = {0, 0, 0};
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
    conf[0] = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    conf[1] = sysconf(_SC_LEVEL2_CACHE_SIZE);
    conf[2] = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    for (int i = 0; i < 3; ++i) {
        sizes[i] = sysfs_cache(i + 1);
        if (!sizes[i])
            sizes[i] = conf[i] > 0 ? conf[i] : 0;
    }
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Block sizes for a tile of mr x nr from the cache sizes (unknown ones: 32 KB L1, 256 KB L2,
 * 8 MB L3, about the smallest of current x86 and ARM cores).  The loops (gemm_kernel.h) are
 * BLIS's: for each B block (kc x nc, packed once), for each A block (mc x kc, packed once),
 * each micro-panel of B (kc x nr) meets every row panel of the A block (mr x kc).
 *  - kc: a B micro-panel is read again by every row panel of A, so it should stay in L1
 *    while those panels stream past from L2: it gets three quarters of L1, kc =
 *    L1 * 3/4 / (4 nr) (an A panel streams through the rest: only its lines in flight
 *    need room; on Zen 3, 1024^3 ran 5% faster than with half of L1, kc = 256).  Between
 *    128 (under that, loading and storing c's tile every kc steps costs more than 2% of
 *    the multiply-adds) and 384.  32 KB L1: AVX2's 16-column panel gets kc = 384 (24 KB);
 *    48 KB L1 with AVX-512's 32 columns: kc = 288 (but see the large L2 below).
 *  - mc: the A block is read again for every micro-panel of B, so it should stay in L2:
 *    half of it (the rest holds the B panels and c's tiles passing through), mc =
 *    L2 / 2 / (4 kc), a multiple of mr, at least 8 panels (the B micro-panel must serve
 *    enough rows to pay for loading it), at most 4096.  512 KB L2 (Zen 3), kc = 384:
 *    mc = 168; 1 MB (Zen 4): 336.
 *  - A large L2 (2 MB or more a core, Intel's server cores) changes the balance: it feeds
 *    the B micro-panel about as fast as L1 does, and each k block costs a trip of all of c
 *    through L3 (load and store: 8 MB at 1024^3), so fewer, deeper blocks win: the B
 *    micro-panel gets 1/32 of L2 instead of L1, kc = L2 / 32 / (4 nr), at most 512, and
 *    the A block a quarter of L2.  On a Xeon with AVX-512 (48 KB L1, 2 MB L2), 1024^3 on
 *    one thread ran 11.9 ms with L1's kc = 288 and mc = 900, 10.4 ms with kc = 512 and
 *    mc = 252 (OpenBLAS: 10.9); the seed's shapes were unchanged or 1-8% faster.
 *  - nc: each B block repacks nothing else, so it can be large; it is read once from L3
 *    per A block: a quarter of L3 (other cores share it), nc = L3 / 4 / (4 kc), between
 *    512 and 4096 columns (at most 6 MB packed per thread). */
static nt_blocking_t choose_blocking(int mr, int nr, const int64_t caches[3])
{
    int64_t l1 = caches[0] > 0 ? caches[0] : 32 * 1024, l2 = caches[1] > 0 ? caches[1] : 256 * 1024,
            l3 = caches[2] > 0 ? caches[2] : 8 * 1024 * 1024, f = (int64_t)sizeof(float);
    nt_blocking_t bl;
    int large_l2 = l2 >= 2 * 1024 * 1024;
    bl.kc = (large_l2 ? clamp64(l2 / 32 / (nr * f), 128, 512)
                      : clamp64(l1 * 3 / 4 / (nr * f), 128, 384)) / 8 * 8;
    bl.mc = clamp64(l2 / (large_l2 ? 4 : 2) / (bl.kc * f), 8 * (int64_t)mr, 4096) / mr * mr;
    bl.nc = clamp64(l3 / 4 / (bl.kc * f), 512, 4096) / nr * nr;
    return bl;
}

/* ------------------------------------------------------- the instruction sets */

typedef struct {
    const nt_gemm_isa_t *isa;
    nt_blocking_t blocking;
} gemm_config_t;

static const nt_gemm_isa_t *const isas[] = {&nt_gemm_isa_avx512, &nt_gemm_isa_avx2,
                                            &nt_gemm_isa_neon, &nt_gemm_isa_generic};
#define NT_NISA ((int)(sizeof isas / sizeof isas[0]))
static gemm_config_t configs[NT_NISA];
static int64_t caches[3];
static const gemm_config_t *volatile current; /* the config every call uses */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Whether this CPU (and its OS, which must save the wider registers) runs `isa`. */
static int cpu_runs(const nt_gemm_isa_t *isa)
{
    if (!isa->stripe)
        return 0; /* not compiled for this architecture */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (isa == &nt_gemm_isa_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")
               && __builtin_cpu_supports("fma");
    if (isa == &nt_gemm_isa_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#if defined(__aarch64__) && defined(__linux__) && defined(HWCAP_ASIMD)
    if (isa == &nt_gemm_isa_neon)
        return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#endif
    return isa == &nt_gemm_isa_generic || isa == &nt_gemm_isa_neon;
}

/* Whether this CPU runs 512-bit vectors as two 256-bit halves: AMD's Zen 4 (family 19h,
 * the only one of that family with AVX-512; GCC 11+ and Clang 12+ know the family).  Its
 * FMA peak is then the same with either set, and the AVX2 kernel's narrower tile gets
 * twice the k block from the same L1 (KC 384 against 192: c's tile is loaded and stored
 * half as often): on an EPYC Zen 4,
 * 1024^3 on 1 thread took 19.7 ms with AVX2 against 21.3 with AVX-512 (89% against 82% of
 * the peak); 64x784x128 within 1%.  Zen 5 (family 1Ah) has full 512-bit units. */
static int splits_512bit_vectors(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_is("amdfam19h");
#else
    return 0;
#endif
}

static void init_isas(void)
{
    read_caches(caches);
    for (int i = 0; i < NT_NISA; ++i) {
        configs[i].isa = isas[i];
        configs[i].blocking = choose_blocking(isas[i]->mr > 0 ? isas[i]->mr : 1,
                                              isas[i]->nr > 0 ? isas[i]->nr : 1, caches);
    }
    int skip_512 = splits_512bit_vectors();
    for (int i = 0; i < NT_NISA; ++i) /* isas[] runs from the widest to the generic one */
        if (cpu_runs(isas[i]) && !(skip_512 && isas[i] == &nt_gemm_isa_avx512)) {
            current = &configs[i];
            break;
        }
}

static const gemm_config_t *config(void)
{
    pthread_once(&init_once, init_isas);
    return current;
}

static int isa_index(const char *name)
{
    for (int i = 0; name && i < NT_NISA; ++i)
        if (strcmp(isas[i]->name, name) == 0)
            return i;
    return -1;
}

/* 1 when the GEMM for `name` is compiled in and this CPU runs it, else 0. */
int nt_isa_supported(const char *name)
{
    config();
    int i = isa_index(name);
    return i >= 0 && cpu_runs(isas[i]);
}

/* Use the GEMM for `name` from now on: NT_OK, or NT_EINVAL (unknown, not compiled in, or
 * not runnable on this CPU: nothing changes). */
int nt_isa_select(const char *name)
{
    config();
    int i = isa_index(name);
    if (i < 0 || !cpu_runs(isas[i]))
        return NT_EINVAL;
    current = &configs[i];
    return NT_OK;
}

/* The name of the GEMM in use. */
const char *nt_isa_current(void)
{
    return config()->isa->name;
}

/* What the GEMM in use was tuned with: info[0..2] the L1d, L2, L3 bytes read at run time
 * (0: unknown), info[3..7] MR, NR, KC, NC and MC. */
void nt_gemm_tuning(int64_t *info)
{
    const gemm_config_t *cfg = config();
    int64_t values[8] = {caches[0], caches[1], caches[2], cfg->isa->mr, cfg->isa->nr,
                         cfg->blocking.kc, cfg->blocking.nc, cfg->blocking.mc};
    memcpy(info, values, sizeof values);
}

/* The float32 GFLOP/s of `rounds` rounds of the GEMM ISA's multiply-add chains on the
 * calling thread (see fma_burst in gemm_kernel.h): the peak a report compares the GEMM with.
 * *sink receives the chains' result, so the loop cannot be dropped. */
double nt_fma_gflops(int64_t rounds, float *sink)
{
    const nt_gemm_isa_t *isa = config()->isa;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *sink = isa->fma_burst(rounds);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double flops = 2.0 * (double)rounds * isa->mr * isa->nr;
    return seconds > 0 ? flops / seconds * 1e-9 : 0.0;
}

/* ------------------------------------------------------------------- the product */

/* The epilogue alone: the product over an empty k is 0. */
static void fill_bias(const nt_gemm_t *g, int64_t m, int64_t n)
{
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            float *dst = g->c + i * g->ldc + j;
            float v = g->flags & NT_GEMM_ACCUMULATE ? *dst : 0.0f;
            if (g->bias)
                v += g->bias[g->flags & NT_GEMM_ROW_BIAS ? i : j];
            *dst = g->flags & NT_GEMM_RELU ? NT_RELU(v) : v;
        }
}

/* One product cut into stripes, one per thread: of whole column tiles, of whole rows, or
 * of the dot path's blocks (`tiles` units of `unit` columns or rows; see nt_gemm_f32). */
typedef struct {
    const nt_gemm_t *g;
    const gemm_config_t *cfg;
    nt_gemm_stripe_fn stripe; /* the ISA's blocked algorithm or its dot path */
    int64_t m, n, unit, tiles; /* `tiles` units of `unit` columns (by_cols) or rows */
    int by_cols;
    int status;
} split_t;

static void gemm_share(void *ctx, int t, int nt)
{
    split_t *job = ctx;
    int64_t lo, hi;
    nt_range(job->tiles, t, nt, &lo, &hi);
    if (lo == hi)
        return;
    int s = job->by_cols ? job->stripe(job->g, &job->cfg->blocking, 0, job->m, lo * job->unit,
                                       nt_min64(hi * job->unit, job->n))
                         : job->stripe(job->g, &job->cfg->blocking, lo * job->unit,
                                       nt_min64(hi * job->unit, job->m), 0, job->n);
    nt_fail(&job->status, s);
}

/* One product whose threads share each packed B block: for each block, the threads pack
 * a share of its panels each, then each runs its own rows against all of it. */
typedef struct {
    const nt_gemm_t *g;
    const gemm_config_t *cfg;
    int64_t m, tiles_m, jc, nc, pc, kc;
    float *bp;
    int status;
} shared_t;

static void pack_share(void *ctx, int t, int nt)
{
    shared_t *job = ctx;
    job->cfg->isa->pack_b(job->g, job->pc, job->kc, job->jc, job->nc, job->bp, t, nt);
}

static void rows_share(void *ctx, int t, int nt)
{
    shared_t *job = ctx;
    const nt_gemm_isa_t *isa = job->cfg->isa;
    int64_t lo, hi;
    nt_range(job->tiles_m, t, nt, &lo, &hi);
    if (lo < hi)
        nt_fail(&job->status,
                isa->rows(job->g, &job->cfg->blocking, lo * isa->mr,
                          nt_min64(hi * isa->mr, job->m), job->jc, job->nc, job->pc, job->kc,
                          job->bp));
}

static int gemm_shared(const nt_gemm_t *g, const gemm_config_t *cfg, int64_t m, int64_t n,
                       int nt)
{
    const nt_gemm_isa_t *isa = cfg->isa;
    int64_t kc_step = nt_balanced_kc(g->k, cfg->blocking.kc);
    int64_t nc_step = nt_min64((n + isa->nr - 1) / isa->nr * isa->nr, cfg->blocking.nc);
    size_t bytes = ((size_t)(kc_step * nc_step) * sizeof(float) + 63) / 64 * 64;
    float *bp = aligned_alloc(64, bytes);
    if (!bp)
        return NT_ENOMEM;
    shared_t job = {g, cfg, m, (m + isa->mr - 1) / isa->mr, 0, 0, 0, 0, bp, NT_OK};
    for (job.jc = 0; job.jc < n && job.status == NT_OK; job.jc += nc_step) {
        job.nc = nt_min64(nc_step, n - job.jc);
        for (job.pc = 0; job.pc < g->k && job.status == NT_OK; job.pc += kc_step) {
            job.kc = nt_min64(kc_step, g->k - job.pc);
            nt_parallel(nt, pack_share, &job);
            nt_parallel(nt, rows_share, &job);
        }
    }
    free(bp);
    return job.status;
}

/* c[m,n] = op(a) @ op(b), or c += op(a) @ op(b) with NT_GEMM_ACCUMULATE; then + bias[n]
 * (bias[m] with NT_GEMM_ROW_BIAS) when bias is given, and relu with NT_GEMM_RELU.
 * a: [m,k] (lda >= k) or, with trans_a, [k,m] (lda >= m); b: [k,n] (ldb >= n) or, with
 * trans_b, [n,k] (ldb >= k); c: [m,n], ldc >= n.
 * Saves: transposed copies of a or b; separate passes over c for bias, relu, accumulate. */
int nt_gemm_f32(int64_t m, int64_t n, int64_t k, const float *restrict a, int64_t lda,
                int trans_a, const float *restrict b, int64_t ldb, int trans_b,
                float *restrict c, int64_t ldc, const float *restrict bias, int flags,
                int nthreads)
{
    if (m < 0 || n < 0 || k < 0 || nthreads < 1)
        return NT_EINVAL;
    if (lda < 1 || ldb < 1 || ldc < 1 || lda < (trans_a ? m : k) || ldb < (trans_b ? k : n)
        || ldc < n)
        return NT_EINVAL;
    if (m == 0 || n == 0)
        return NT_OK;
    if (!c || (k > 0 && (!a || !b)))
        return NT_EINVAL;
    nt_gemm_t g = {k, n, a, b, bias, lda, ldb, ldc, trans_a, trans_b, flags, c};
    if (k == 0) {
        fill_bias(&g, m, n);
        return NT_OK;
    }
    const gemm_config_t *cfg = config();
    const nt_gemm_isa_t *isa = cfg->isa;
    /* a @ b^T with few rows or columns: dot products, nothing packed (gemm_kernel.h).  The
     * bounds are where it won on the EPYC (AVX2), minima: 4x128x32 1.5 us against 1.6
     * packed, but 8x128x32 3.0 against 1.6 and 64x10x128 4.0 against 3.4 (with short k
     * the per-block sums cost more than packing saves); with k >= 512, 8x128x784 23.8
     * against 34.1, 64x10x784 16.5 against 18.5, but 24x128x784 70.8 against 62.2. */
    int dot = !trans_a && trans_b && (m <= 4 || ((m <= 8 || n <= 12) && k >= 512));
    int64_t mr = dot ? isa->dot_r : isa->mr, nr = dot ? isa->dot_c : isa->nr;
    int64_t tiles_m = (m + mr - 1) / mr, tiles_n = (n + nr - 1) / nr;
    /* Threads take stripes: of columns when there are enough column tiles, so each thread
     * reads only its share of b (x @ W^T: its rows of W, the same ones the
     * optimizer's thread later updates), else of rows.  But a weight gradient, dW = dy^T @ x
     * (a transposed, and c the largest operand: m, n >= k), takes row stripes, which are
     * whole ranges of memory: the optimizer, which splits the elements in contiguous
     * halves, then finds each thread's rows of dW in that thread's own cache, not in the
     * other core's.  Xeon, seed MLP, 2 threads: a compiled SGD epoch 123-126 -> 114-116 ms,
     * Adam 144 -> 133-135, eager SGD 191-192 -> 183-185.  Column stripes are whole tiles
     * (a narrower one would leave vector lanes idle); row stripes are cut at whole rows,
     * evenly, as the optimizer cuts its elements (the stripe balances its own last two
     * panels: panel_rows): that dW's 128 rows as 64 + 64, 40.8 -> 36.4 us, not as 6 + 5
     * panels of 12 (72 + 56 rows). */
    int weight_grad = trans_a && m >= k && n >= k && tiles_m >= 2 * (int64_t)nthreads;
    int by_cols = !weight_grad && (tiles_n >= 2 * (int64_t)nthreads || tiles_n >= tiles_m);
    int64_t tiles = by_cols ? tiles_n : tiles_m;
    double flops = 2.0 * (double)m * (double)n * (double)k;
    int nt = flops < NT_PAR_MIN_FLOPS ? 1 : nt_threads_for(tiles, 1, nthreads);
    if (!dot && nt > 1 && m >= cfg->blocking.mc && n > 8 * nr) /* a packed A block or more */
        return gemm_shared(&g, cfg, m, n, nt);
    int whole_rows = !by_cols && !dot;
    split_t job = {&g, cfg, dot ? isa->dot : isa->stripe, m, n, by_cols ? nr : whole_rows ? 1 : mr,
                   whole_rows ? m : tiles, by_cols, NT_OK};
    nt_parallel(nt, gemm_share, &job);
    return job.status;
}
