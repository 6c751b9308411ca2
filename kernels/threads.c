/* threads.c -- the library's thread pool: the one piece of global state in the kernels.
 *
 * nt_parallel(nt, fn, ctx) runs fn(ctx, t, nt) for t = 0 .. nt-1, share 0 on the calling
 * thread and the others on pool threads, and returns when all are done.
 *
 * Owner and life cycle: the pool belongs to this file.  Its threads are started on first
 * need (as many as the largest nt asked so far, minus the caller), stopped and joined by
 * nt_threads_shutdown (the Python side registers it with atexit), and re-started on the
 * next call after that.
 *
 * Waiting: a pool thread that finishes a share spins, checking for new work, for
 * NT_SPIN_NS (the next kernel of a training step usually comes within that, and a
 * spinning thread starts in ~1 us), then sleeps on its condition variable, so an idle
 * pool takes no CPU from other processes.  The caller waits for the shares the same way.
 * The spin is shaped by two facts of machines this runs on (see spin_until):
 *   - after NT_SPIN_TIGHT_NS it calls sched_yield() between checks, so another thread
 *     that wants this core (NumPy's BLAS, another process) gets it at once;
 *   - it executes `pause` only once per NT_PAUSE_EVERY checks.  A hypervisor takes a
 *     vCPU that runs `pause` back to back for a lock waiter and deschedules it ("pause-loop
 *     exiting"): on the project's KVM guests a worker spinning that way took ~100 us to
 *     start a share after the caller's Python had run for a millisecond, and a 2-thread
 *     64x784x128 GEMM then took 200 us instead of 85 (1 thread: 160).
 * Each thread has its own mailbox (job, sequence number, condition variable), so waking
 * one never disturbs another, and a job's fields are written only while its thread is idle.
 *
 * Claiming: each posted share has a flag (worker_t.claimed) that the worker and the caller
 * race for.  The caller, done with share 0, takes every share whose worker has not claimed
 * it yet and runs it itself: a worker that is asleep (9-14 us to wake) or waiting for a core
 * another process holds (~600 us) then costs nothing, so two threads are not slower than
 * one for small jobs; a spinning worker claims its share within ~1 us and runs it in
 * parallel.
 *
 * One job at a time: a second caller (another Python thread, cffi releases the GIL) or a
 * nested call does not wait for the pool; it runs all its shares itself, one after the
 * other (the same results: shares never depend on the thread that runs them).
 *
 * fork(): a child process has only the thread that forked.  pthread_atfork handlers take
 * the pool's lock before fork() (so no job is half done) and, in the child, forget the
 * parent's threads, so the child's first parallel kernel starts its own pool instead of
 * waiting forever for threads that do not exist there.
 */
#define NT_KERNEL_SOURCE
#include "nanotorch_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

/* How long an idle pool thread (or a caller waiting for one) spins before it sleeps:
 * ~2 ms, longer than the Python of an eager training step between two parallel kernels
 * (100-400 us, more when the machine is busy), so a step never waits for a sleeping
 * thread to wake (9-14 us on bare metal, ~100 us on a busy VM); short enough that an
 * idle pool frees its core at once for a person watching. */
#define NT_SPIN_NS 2000000
/* The first part of the spin checks without giving the core away (a job that follows
 * at once starts in ~1 us); after it, each check yields the core (sched_yield). */
#define NT_SPIN_TIGHT_NS 50000
#define NT_PAUSE_EVERY 256 /* checks per `pause` (see "Waiting" above) */

typedef struct {
    _Alignas(64) atomic_uint seq; /* incremented by the caller for each job */
    atomic_int sleeping;          /* the thread waits on cv (not spinning) */
    atomic_int stop;
    atomic_int claimed; /* 0 from post until the worker or the caller takes the share */
    unsigned seq0; /* seq when the thread was started: the jobs it has to run come after */
    nt_task_fn fn;
    void *ctx;
    int t, nt;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t cv;
} worker_t;

static worker_t workers[NT_MAX_THREADS]; /* workers[t] runs share t (slot 0 is the caller) */
static int started = 1;                  /* threads running: workers[1 .. started-1] */
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER; /* held while a job runs */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static atomic_int remaining;      /* shares of the current job still running on the pool */
static atomic_int caller_waiting; /* the caller sleeps on done_cv */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One wait step of a spin: a `pause` every NT_PAUSE_EVERY checks, and past the tight
 * part a sched_yield(), which returns at once when no other thread wants this core.
 * Returns 0 when the spin is over (NT_SPIN_NS since *deadline was set on its first call). */
static int spin_step(unsigned i, int64_t *deadline)
{
    if (i % NT_PAUSE_EVERY == 0)
        cpu_relax();
    if (i % 128 == 0) { /* read the clock now and then: it costs ~20 ns */
        int64_t t = now_ns();
        if (!*deadline)
            *deadline = t + NT_SPIN_NS;
        else if (t > *deadline)
            return 0;
        if (t > *deadline - (NT_SPIN_NS - NT_SPIN_TIGHT_NS))
            sched_yield();
    }
    return 1;
}

/* Spin until *word != old or NT_SPIN_NS pass; returns whether it changed. */
static int spin_while_equal(atomic_uint *word, unsigned old)
{
    int64_t deadline = 0;
    for (unsigned i = 1;; ++i) {
        if (atomic_load_explicit(word, memory_order_acquire) != old)
            return 1;
        if (!spin_step(i, &deadline))
            return 0;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    unsigned seen = w->seq0;
    for (;;) {
        if (!spin_while_equal(&w->seq, seen)) {
            pthread_mutex_lock(&w->mutex);
            atomic_store(&w->sleeping, 1); /* then re-check: the caller reads it after seq */
            while (atomic_load(&w->seq) == seen)
                pthread_cond_wait(&w->cv, &w->mutex);
            atomic_store(&w->sleeping, 0);
            pthread_mutex_unlock(&w->mutex);
        }
        seen = atomic_load_explicit(&w->seq, memory_order_acquire);
        if (atomic_exchange(&w->claimed, 1)) /* the caller ran this share itself */
            continue;
        if (atomic_load(&w->stop))
            return NULL;
        w->fn(w->ctx, w->t, w->nt);
        if (atomic_fetch_sub(&remaining, 1) == 1 && atomic_load(&caller_waiting)) {
            pthread_mutex_lock(&done_lock);
            pthread_cond_signal(&done_cv);
            pthread_mutex_unlock(&done_lock);
        }
    }
}

/* Give worker w a job (it is idle: every job is waited for before the next). */
static void post(worker_t *w, nt_task_fn fn, void *ctx, int t, int nt, int stop)
{
    w->fn = fn;
    w->ctx = ctx;
    w->t = t;
    w->nt = nt;
    atomic_store(&w->stop, stop);
    atomic_store(&w->claimed, 0);  /* after the fields: whoever claims it sees them */
    atomic_fetch_add(&w->seq, 1); /* publishes the fields above */
    if (atomic_load(&w->sleeping)) {
        pthread_mutex_lock(&w->mutex);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mutex);
    }
}

static void reset_workers(void)
{
    for (int t = 0; t < NT_MAX_THREADS; ++t) {
        pthread_mutex_init(&workers[t].mutex, NULL);
        pthread_cond_init(&workers[t].cv, NULL);
        atomic_store(&workers[t].sleeping, 0);
        atomic_store(&workers[t].stop, 0);
        atomic_store(&workers[t].claimed, 1); /* no share to claim */
    }
    started = 1;
}

static void before_fork(void) { pthread_mutex_lock(&run_lock); }
static void parent_after_fork(void) { pthread_mutex_unlock(&run_lock); }

static void child_after_fork(void)
{
    /* the parent's pool threads do not exist here: start again with none */
    reset_workers();
    pthread_mutex_init(&done_lock, NULL);
    pthread_cond_init(&done_cv, NULL);
    atomic_store(&remaining, 0);
    atomic_store(&caller_waiting, 0);
    pthread_mutex_init(&run_lock, NULL);
}

static void init_pool(void)
{
    reset_workers();
    pthread_atfork(before_fork, parent_after_fork, child_after_fork);
}

/* Start threads up to workers[nt-1]; returns how many shares the pool can run now. */
static int start_threads(int nt)
{
    for (; started < nt; ++started) {
        worker_t *w = &workers[started];
        w->seq0 = atomic_load(&w->seq);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            break; /* fewer threads: the caller runs the shares left */
    }
    return started < nt ? started : nt;
}

static void run_serially(int from, int nt, nt_task_fn fn, void *ctx)
{
    for (int t = from; t < nt; ++t)
        fn(ctx, t, nt);
}

void nt_parallel(int nt, nt_task_fn fn, void *ctx)
{
    if (nt > NT_MAX_THREADS)
        nt = NT_MAX_THREADS;
    if (nt <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_once(&once, init_pool);
    if (pthread_mutex_trylock(&run_lock) != 0) { /* busy: another caller, or nested */
        run_serially(0, nt, fn, ctx);
        return;
    }
    int pooled = start_threads(nt); /* shares 1 .. pooled-1 go to threads */
    atomic_store(&remaining, pooled - 1);
    for (int t = 1; t < pooled; ++t)
        post(&workers[t], fn, ctx, t, nt, 0);
    fn(ctx, 0, nt);
    run_serially(pooled, nt, fn, ctx);
    for (int t = pooled - 1; t >= 1; --t) /* the shares no worker has started yet */
        if (!atomic_exchange(&workers[t].claimed, 1)) {
            fn(ctx, t, nt);
            atomic_fetch_sub(&remaining, 1);
        }
    int64_t deadline = 0;
    for (unsigned i = 1; atomic_load(&remaining) > 0; ++i) {
        if (!spin_step(i, &deadline)) {
            pthread_mutex_lock(&done_lock);
            atomic_store(&caller_waiting, 1);
            while (atomic_load(&remaining) > 0)
                pthread_cond_wait(&done_cv, &done_lock);
            atomic_store(&caller_waiting, 0);
            pthread_mutex_unlock(&done_lock);
        }
    }
    pthread_mutex_unlock(&run_lock);
}

/* Stop and join the pool's threads (the next parallel kernel starts new ones). */
void nt_threads_shutdown(void)
{
    pthread_once(&once, init_pool);
    pthread_mutex_lock(&run_lock);
    for (int t = 1; t < started; ++t)
        post(&workers[t], NULL, NULL, t, 0, 1);
    for (int t = 1; t < started; ++t)
        pthread_join(workers[t].thread, NULL);
    reset_workers();
    pthread_mutex_unlock(&run_lock);
}
