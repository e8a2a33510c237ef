/* test_pool.c — thread offload: corio_to_thread runs fn on a pool thread
 * while the loop runs other tasks; cancellation and deadlines reach fn
 * through corio_thread_cancelled() and the call still waits for it; queued
 * jobs are dropped; pool threads block every signal; separate pools do not
 * starve each other; the virtual clock stands still while a job is
 * pending; many jobs at once.
 *
 * Jobs synchronise with the loop through pipes and atomics, never sleeps:
 * a job that waits for the loop polls a pipe with a generous bound (5 s) so
 * that a broken runtime fails the test instead of hanging it. */
#include "tst.h"
#include "core/loop.h"
#include "io/pool.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BOUND_MS 5000

static void make_pipe(int p[2])
{
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
}

/* From a pool thread: block (really) until fd has a byte, at most
 * BOUND_MS.  Returns 1 if a byte came, 0 on the bound. */
static int wait_byte(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, BOUND_MS) != 1)
        return 0;
    char c;
    return read(fd, &c, 1) == 1;
}

static void post_byte(int fd)
{
    CHECK_EQ(write(fd, "x", 1), 1);
}

/* ---- fn runs on another thread while the loop runs other tasks ----------- */

typedef struct offload {
    pthread_t loop_thread, job_thread;
    int go[2]; /* the ticker tells the job it may finish */
    atomic_int ticks;
    atomic_int ticks_seen_by_job;
    atomic_int job_done;
    int ticks_at_return;
} offload;

static int offload_job(void *arg)
{
    offload *o = arg;
    o->job_thread = pthread_self();
    if (!wait_byte(o->go[0]))
        return -ETIMEDOUT; /* the loop never ran the ticker */
    atomic_store(&o->ticks_seen_by_job, atomic_load(&o->ticks));
    atomic_store(&o->job_done, 1);
    return 42;
}

static int ticker(void *arg)
{
    offload *o = arg;
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(atomic_load(&o->job_done), 0);
        atomic_fetch_add(&o->ticks, 1);
        CHECK_EQ(corio_yield(), 0);
    }
    post_byte(o->go[1]);
    return 0;
}

static int offload_main(void *arg)
{
    offload *o = arg;
    o->loop_thread = pthread_self();
    make_pipe(o->go);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, ticker, o), 0);
    int result = 0;
    CHECK_EQ(corio_to_thread(offload_job, o, &result), 0);
    CHECK_EQ(result, 42);
    o->ticks_at_return = atomic_load(&o->ticks);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(pool, runs_on_another_thread_while_loop_runs)
{
    offload o = {0};
    CHECK_EQ(tst_run(offload_main, &o), 0);
    CHECK(!pthread_equal(o.loop_thread, o.job_thread));
    CHECK_EQ(atomic_load(&o.ticks_seen_by_job), 10);
    CHECK_EQ(o.ticks_at_return, 10);
}

/* result may be NULL; fn NULL is refused; outside a loop -EPERM. */
static int ret7(void *arg)
{
    (void)arg;
    return 7;
}

static int args_main(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_to_thread(ret7, NULL, NULL), 0);
    int r = 0;
    CHECK_EQ(corio_to_thread(NULL, NULL, &r), -EINVAL);
    /* A negative fn result is fn's business: the call itself succeeds. */
    CHECK_EQ(corio_thread_cancelled(), 0); /* not in a job */
    return 0;
}

TEST(pool, arguments)
{
    CHECK_EQ(tst_run(args_main, NULL), 0);
}

TEST(pool, to_thread_outside_a_loop_is_eperm)
{
    int r = 0;
    CHECK_EQ(corio_to_thread(ret7, NULL, &r), -EPERM);
    CHECK_EQ(corio_thread_cancelled(), 0);
}

static int retneg(void *arg)
{
    (void)arg;
    return -EIO;
}

static int neg_main(void *arg)
{
    (void)arg;
    int r = 0;
    CHECK_EQ(corio_to_thread(retneg, NULL, &r), 0);
    CHECK_EQ(r, -EIO);
    return 0;
}

TEST(pool, negative_result_is_stored_not_returned)
{
    CHECK_EQ(tst_run(neg_main, NULL), 0);
}

/* ---- cancelling the caller while fn runs --------------------------------- */

typedef struct cjob {
    int started[2]; /* job -> loop: fn has started */
    int release[2]; /* loop -> job: fn may return */
    atomic_int saw_cancel;
    atomic_int cancelled_at_start;
    atomic_int returned;
    int rc, result;
    int caller_done;
    bool deadline; /* the caller waits in a scope whose deadline passes */
    corio_scope scope;
} cjob;

static int cancellable_job(void *arg)
{
    cjob *c = arg;
    atomic_store(&c->cancelled_at_start, corio_thread_cancelled());
    post_byte(c->started[1]);
    /* Wait to be cancelled, bounded. */
    int64_t end = tst_real_ns() + BOUND_MS * CORIO_MS;
    while (!corio_thread_cancelled() && tst_real_ns() < end) {
        struct pollfd p = {c->release[0], 0, 0};
        poll(&p, 1, 1); /* a 1 ms nap between checks, not a synchronisation */
    }
    atomic_store(&c->saw_cancel, corio_thread_cancelled());
    post_byte(c->started[1]);
    /* Then wait for the loop to let us return, proving the caller waits. */
    if (!wait_byte(c->release[0]))
        return -ETIMEDOUT;
    atomic_store(&c->returned, 1);
    return 99;
}

static int cjob_caller(void *arg)
{
    cjob *c = arg;
    if (c->deadline) {
        CHECK_EQ(corio_scope_begin(&c->scope, CORIO_NEVER), 0);
        c->rc = corio_to_thread(cancellable_job, c, &c->result);
        CHECK_EQ(corio_scope_end(&c->scope), -ETIMEDOUT);
    } else {
        c->rc = corio_to_thread(cancellable_job, c, &c->result);
    }
    /* fn has returned by now. */
    CHECK_EQ(atomic_load(&c->returned), 1);
    c->caller_done = 1;
    return 0;
}

static int cancel_running_main(void *arg)
{
    cjob *c = arg;
    char b;
    make_pipe(c->started);
    make_pipe(c->release);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, cjob_caller, c), 0);
    CHECK_EQ(corio_fd_read(c->started[0], &b, 1), 1); /* fn is running */
    /* The deadline is set only now that fn runs: a short timeout set at
     * the call could pass before a pool thread picks the job up on a slow
     * machine (qemu, TSan), and the job would be dropped instead. */
    if (c->deadline)
        corio_scope_set_deadline(&c->scope, corio_now() + CORIO_MS);
    else
        corio_task_cancel(t);
    /* Wait until fn has seen the cancellation (or given up); the caller
     * must still be waiting for fn. */
    CHECK_EQ(corio_fd_read(c->started[0], &b, 1), 1);
    CHECK_EQ(atomic_load(&c->saw_cancel), 1);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(c->caller_done, 0);
    post_byte(c->release[1]);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(c->caller_done, 1);
    return 0;
}

TEST(pool, cancel_while_running_waits_for_fn)
{
    cjob c = {0};
    CHECK_EQ(tst_run(cancel_running_main, &c), 0);
    CHECK_EQ(atomic_load(&c.cancelled_at_start), 0);
    CHECK_EQ(atomic_load(&c.saw_cancel), 1);
    CHECK_EQ(c.rc, -ECANCELED);
    CHECK_EQ(c.result, 99);
}

/* On the virtual clock time stands still while a job is pending, so a
 * deadline cannot expire during a job: this test runs on the real clock. */
TEST(pool, timeout_while_running_waits_for_fn)
{
    cjob c = {.deadline = true, .scope = CORIO_SCOPE_INIT};
    corio_options o = {.virtual_clock = 0};
    CHECK_EQ(tst_run_ex(&o, cancel_running_main, &c), 0);
    CHECK_EQ(atomic_load(&c.cancelled_at_start), 0);
    CHECK_EQ(atomic_load(&c.saw_cancel), 1);
    CHECK_EQ(c.rc, -ETIMEDOUT);
    CHECK_EQ(c.result, 99);
}

/* Already cancelled or already expired: fn never runs. */
static atomic_int never_ran;

static int must_not_run(void *arg)
{
    (void)arg;
    atomic_fetch_add(&never_ran, 1);
    return 1;
}

static int already_main(void *arg)
{
    (void)arg;
    int r = 0;
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_to_thread(must_not_run, NULL, &r), -ETIMEDOUT);
    CHECK_EQ(r, -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    corio_task_cancel(corio_task_current());
    r = 0;
    CHECK_EQ(corio_to_thread(must_not_run, NULL, &r), -ECANCELED);
    CHECK_EQ(r, -ECANCELED);
    return 0;
}

TEST(pool, already_interrupted_caller_never_runs_fn)
{
    CHECK_EQ(tst_run(already_main, NULL), 0);
    CHECK_EQ(atomic_load(&never_ran), 0);
}

/* ---- a job not yet started is dropped -------------------------------------
 */

typedef struct blocker {
    int started[2], release[2];
    atomic_int released;
    atomic_int ran;
} blocker;

static int blocking_job(void *arg)
{
    blocker *b = arg;
    post_byte(b->started[1]);
    if (!wait_byte(b->release[0]))
        return -ETIMEDOUT;
    atomic_store(&b->released, 1);
    return 5;
}

static int block_caller(void *arg)
{
    blocker *b = arg;
    int r = 0;
    CHECK_EQ(corio_to_thread(blocking_job, b, &r), 0);
    return r;
}

static int counted_job(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return 3;
}

typedef struct qcall {
    atomic_int *ran;
    int rc, result;
    int done;
} qcall;

static int queued_caller(void *arg)
{
    qcall *q = arg;
    q->rc = corio_to_thread(counted_job, q->ran, &q->result);
    q->done = 1;
    return 0;
}

static int drop_main(void *arg)
{
    blocker *b = arg;
    char c;
    make_pipe(b->started);
    make_pipe(b->release);
    corio_task *bt, *qt;
    CHECK_EQ(corio_task_spawn(&bt, block_caller, b), 0);
    CHECK_EQ(corio_fd_read(b->started[0], &c, 1),
             1); /* the only thread is busy */

    qcall q = {.ran = &b->ran, .result = 12345};
    CHECK_EQ(corio_task_spawn(&qt, queued_caller, &q), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(q.done, 0); /* queued behind the blocker */
    corio_task_cancel(qt);
    CHECK_EQ(corio_task_join(qt, NULL), 0);
    CHECK_EQ(q.rc, -ECANCELED);
    CHECK_EQ(q.result, -ECANCELED);
    CHECK_EQ(atomic_load(&b->released), 0); /* returned at once */

    post_byte(b->release[1]);
    int r = 0;
    CHECK_EQ(corio_task_join(bt, &r), 0);
    CHECK_EQ(r, 5);

    /* Were the dropped job still queued, the pool (FIFO, one thread) would
     * run it before this one. */
    atomic_int after = 0;
    CHECK_EQ(corio_to_thread(counted_job, &after, &r), 0);
    CHECK_EQ(r, 3);
    CHECK_EQ(atomic_load(&after), 1);
    CHECK_EQ(atomic_load(&b->ran), 0);
    return 0;
}

TEST(pool, queued_job_is_dropped_on_cancel)
{
    blocker b = {0};
    corio_options o = {.virtual_clock = 1, .threads = 1};
    CHECK_EQ(tst_run_ex(&o, drop_main, &b), 0);
    CHECK_EQ(atomic_load(&b.ran), 0);
}

/* ---- pool threads block every signal ----------------------------------------
 */

/* What "every signal blocked" means here: a thread that blocks a full set
 * reads back what it got (the C library, or qemu-user, keeps a few). */
static sigset_t blockable;

static void *read_full_mask(void *arg)
{
    sigset_t full;
    (void)arg;
    sigfillset(&full);
    pthread_sigmask(SIG_SETMASK, &full, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &blockable);
    return NULL;
}

static int mask_job(void *arg)
{
    (void)arg;
    sigset_t cur;
    if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0)
        return -1;
    for (int s = 1; s < NSIG; s++)
        if (sigismember(&blockable, s) == 1 && sigismember(&cur, s) != 1)
            return s; /* this one is not blocked */
    return 0;
}

static int sigmask_main(void *arg)
{
    (void)arg;
    sigset_t before, after;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, read_full_mask, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(sigismember(&blockable, SIGINT), 1);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
    int r = -1;
    CHECK_EQ(corio_to_thread(mask_job, NULL, &r), 0);
    CHECK_EQ(r, 0);
    for (int kind = 0; kind < CORIO__POOL_KINDS; kind++) {
        r = -1;
        CHECK_EQ(corio__pool_run(kind, mask_job, NULL, &r), 0);
        CHECK_EQ(r, 0);
    }
    /* The loop thread's own mask is untouched. */
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
    for (int s = 1; s < NSIG; s++)
        CHECK_EQ(sigismember(&before, s), sigismember(&after, s));
    CHECK_EQ(sigismember(&after, SIGINT), 0);
    return 0;
}

TEST(pool, pool_threads_block_all_signals)
{
    CHECK_EQ(tst_run(sigmask_main, NULL), 0);
}

/* ---- separate pools
 * ------------------------------------------------------------ */

static int file_job(void *arg)
{
    (void)arg;
    return 11;
}

static int separate_main(void *arg)
{
    blocker *b = arg;
    char c;
    make_pipe(b->started);
    make_pipe(b->release);
    corio_task *bt;
    CHECK_EQ(corio_task_spawn(&bt, block_caller, b), 0);
    CHECK_EQ(corio_fd_read(b->started[0], &c, 1), 1); /* CPU pool saturated */
    int r = 0;
    CHECK_EQ(corio__pool_run(CORIO__POOL_FILE, file_job, NULL, &r), 0);
    CHECK_EQ(r, 11);
    r = 0;
    CHECK_EQ(corio__pool_run(CORIO__POOL_DNS, file_job, NULL, &r), 0);
    CHECK_EQ(r, 11);
    CHECK_EQ(atomic_load(&b->released), 0); /* the CPU job still blocks */
    post_byte(b->release[1]);
    CHECK_EQ(corio_task_join(bt, &r), 0);
    CHECK_EQ(r, 5);
    return 0;
}

TEST(pool, separate_pools_do_not_starve_each_other)
{
    blocker b = {0};
    corio_options o = {.virtual_clock = 1, .threads = 1};
    CHECK_EQ(tst_run_ex(&o, separate_main, &b), 0);
}

/* ---- the virtual clock stands still while a job is pending
 * ------------------- */

typedef struct vclock {
    int64_t t0, sleeper_woke_at, job_returned_at;
    atomic_int job_done;
    int job_done_when_sleeper_woke;
} vclock;

/* The job takes real time on purpose (the point of this test): while it
 * runs the loop has nothing else to do but a 1 s sleeper. */
static int slow_job(void *arg)
{
    vclock *v = arg;
    struct timespec d = {0, 50 * 1000 * 1000};
    nanosleep(&d, NULL);
    atomic_store(&v->job_done, 1);
    return 0;
}

static int vsleeper(void *arg)
{
    vclock *v = arg;
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    v->sleeper_woke_at = corio_now();
    v->job_done_when_sleeper_woke = atomic_load(&v->job_done);
    return 0;
}

static int vclock_main(void *arg)
{
    vclock *v = arg;
    corio_task *t;
    v->t0 = corio_now();
    CHECK_EQ(corio_task_spawn(&t, vsleeper, v), 0);
    CHECK_EQ(corio_yield(), 0); /* the sleeper is parked until t0 + 1 s */
    CHECK_EQ(corio_to_thread(slow_job, v, NULL), 0);
    v->job_returned_at = corio_now();
    CHECK_EQ(v->sleeper_woke_at, 0); /* it has not woken during the job */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(pool, virtual_clock_stands_still_while_job_pending)
{
    vclock v = {0};
    CHECK_EQ(tst_run(vclock_main, &v), 0);
    /* Time did not move while the job was pending (50 ms of real time)... */
    CHECK_EQ(v.job_returned_at - v.t0, 0);
    /* ...and then jumped exactly to the sleeper's timer. */
    CHECK_EQ(v.sleeper_woke_at - v.t0, CORIO_SECOND);
    CHECK_EQ(v.job_done_when_sleeper_woke, 1);
}

/* ---- a finished job is noticed while another task keeps yielding ------------
 */

typedef struct jstarve {
    int job_back;
    long yields;
} jstarve;

static int js_yielder(void *arg)
{
    jstarve *s = arg;
    while (!s->job_back) {
        CHECK(s->yields < 1000000); /* the finished job was never reaped */
        CHECK_EQ(corio_yield(), 0);
        s->yields++;
    }
    return 0;
}

static int js_main(void *arg)
{
    jstarve *s = arg;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, js_yielder, s), 0);
    int r = 0;
    CHECK_EQ(corio_to_thread(ret7, NULL, &r), 0);
    CHECK_EQ(r, 7);
    s->job_back = 1;
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(pool, finished_job_reaped_while_a_task_keeps_yielding)
{
    jstarve s = {0};
    CHECK_EQ(tst_run(js_main, &s), 0);
}

/* ---- many concurrent calls
 * ------------------------------------------------------ */

#define MANY 200

typedef struct many {
    int i;
    int result;
    pthread_t loop;
} many;

static int square_job(void *arg)
{
    many *m = arg;
    if (pthread_equal(pthread_self(), m->loop))
        return -1;
    return m->i * m->i + 1;
}

static int many_caller(void *arg)
{
    many *m = arg;
    int rc = corio_to_thread(square_job, m, &m->result);
    return rc;
}

static int many_main(void *arg)
{
    (void)arg;
    static many m[MANY];
    corio_task *t[MANY];
    int res[MANY];
    for (int i = 0; i < MANY; i++) {
        m[i] = (many){.i = i, .result = -5, .loop = pthread_self()};
        CHECK_EQ(corio_task_spawn(&t[i], many_caller, &m[i]), 0);
    }
    CHECK_EQ(corio_gather(t, MANY, res), 0);
    for (int i = 0; i < MANY; i++) {
        CHECK_EQ(res[i], 0);
        CHECK_EQ(m[i].result, i * i + 1);
    }
    return 0;
}

TEST(pool, many_concurrent_calls)
{
    CHECK_EQ(tst_run(many_main, NULL), 0);
}

/* Sixteen jobs on a pool of two threads: all complete, and never more than
 * two run at once. */
typedef struct wave {
    atomic_int running, peak, done;
    int max;
} wave;

static int wave_job(void *arg)
{
    wave *w = arg;
    int now = atomic_fetch_add(&w->running, 1) + 1;
    int p = atomic_load(&w->peak);
    while (now > p && !atomic_compare_exchange_weak(&w->peak, &p, now))
        ;
    struct timespec d = {0, 2 * 1000 * 1000};
    nanosleep(&d, NULL); /* give other jobs a chance to overlap */
    atomic_fetch_sub(&w->running, 1);
    atomic_fetch_add(&w->done, 1);
    return 0;
}

static int wave_caller(void *arg)
{
    return corio_to_thread(wave_job, arg, NULL);
}

static int wave_main(void *arg)
{
    wave *w = arg;
    corio_task *t[16];
    for (int i = 0; i < 16; i++)
        CHECK_EQ(corio_task_spawn(&t[i], wave_caller, w), 0);
    CHECK_EQ(corio_gather(t, 16, NULL), 0);
    CHECK_EQ(atomic_load(&w->done), 16);
    CHECK(atomic_load(&w->peak) <= w->max); /* the pool size is honoured */
    return 0;
}

TEST(pool, pool_size_from_options)
{
    wave w = {.max = 2};
    corio_options o = {.virtual_clock = 1, .threads = 2};
    CHECK_EQ(tst_run_ex(&o, wave_main, &w), 0);
}

/* corio_options.threads no longer resets the process-wide pool at every
 * run: a later run with the default (0) or a smaller size keeps it, a
 * larger one grows it. */
TEST(pool, pool_size_is_not_reset_by_later_runs)
{
    wave w = {.max = 2};
    corio_options o = {.virtual_clock = 1, .threads = 2};
    CHECK_EQ(tst_run_ex(&o, wave_main, &w), 0);
    wave w0 = {.max = 2};
    o.threads = 0; /* the default would be CPUs + 4 */
    CHECK_EQ(tst_run_ex(&o, wave_main, &w0), 0);
    wave w1 = {.max = 2};
    o.threads = 1; /* smaller: ignored */
    CHECK_EQ(tst_run_ex(&o, wave_main, &w1), 0);
    CHECK(atomic_load(&w1.peak) >= 1);
}

/* ---- regressions found in code review ---------------------------------- */

/* Pool: a thread is started only when none is idle, ignoring jobs
 * already queued.  With one idle thread, two jobs submitted in the same
 * tick both go to it, one after the other, although the pool may grow: a
 * job that waits for its sibling (a pipe between them) deadlocks. */

static int pool_pipe[2];

static int pool_noop(void *arg)
{
    (void)arg;
    return 0;
}

static int pool_reader(void *arg)
{
    (void)arg;
    struct pollfd p = {pool_pipe[0], POLLIN, 0};
    return poll(&p, 1, 2000) == 1; /* 1: the sibling ran meanwhile */
}

static int pool_writer(void *arg)
{
    (void)arg;
    return (int)write(pool_pipe[1], "x", 1);
}

static int run_reader(void *arg)
{
    (void)arg;
    int r = -1;
    CHECK_EQ(corio_to_thread(pool_reader, NULL, &r), 0);
    return r;
}

static int run_writer(void *arg)
{
    (void)arg;
    int r = -1;
    CHECK_EQ(corio_to_thread(pool_writer, NULL, &r), 0);
    return r;
}

static int pool_main(void *arg)
{
    (void)arg;
    CHECK_EQ(pipe2(pool_pipe, O_CLOEXEC), 0);
    CHECK_EQ(corio_to_thread(pool_noop, NULL, NULL), 0); /* one thread... */
    tst_nap_ms(50);                                      /* ...now idle */
    corio_task *t[2];
    int res[2] = {-1, -1};
    CHECK_EQ(corio_task_spawn(&t[0], run_reader, NULL), 0);
    CHECK_EQ(corio_task_spawn(&t[1], run_writer, NULL), 0);
    CHECK_EQ(corio_gather(t, 2, res), 0);
    CHECK_EQ(res[1], 1);
    CHECK_EQ(res[0], 1); /* the reader saw the writer's byte */
    return 0;
}

TEST(pool, grows_for_jobs_queued_behind_an_idle_thread)
{
    corio_options o = {.virtual_clock = 1, .threads = 4};
    CHECK_EQ(tst_run_ex(&o, pool_main, NULL), 0);
}

/* to_thread: the deadline interrupts the running job first, then the
 * caller is cancelled before fn returns.  Both are pending when the call
 * returns, and "-ECANCELED wins" (scope.h): a later cancellation beats the
 * deadline.  The deadline is set once fn runs, so a slow machine cannot
 * pass it while the job is still queued (it would be dropped instead). */

static atomic_int tt_started, tt_release;
static corio_task *tt_caller;
static corio_scope tt_scope = CORIO_SCOPE_INIT;

static int tt_job(void *arg)
{
    (void)arg;
    atomic_store(&tt_started, 1);
    /* Until the helper has cancelled the caller (the cap only keeps a
     * broken build from hanging). */
    for (int i = 0; i < 60000 && !atomic_load(&tt_release); i++)
        tst_nap_ms(1);
    return 9;
}

static int tt_call(void *arg)
{
    (void)arg;
    int r = 0;
    CHECK_EQ(corio_scope_begin(&tt_scope, CORIO_NEVER), 0);
    int rc = corio_to_thread(tt_job, NULL, &r);
    CORIO_IGNORE(corio_scope_end(&tt_scope));
    CHECK_EQ(r, 9);
    return rc;
}

static int tt_helper(void *arg)
{
    (void)arg;
    while (!atomic_load(&tt_started))
        corio_sleep(CORIO_MS);
    corio_scope_set_deadline(&tt_scope, corio_now() + CORIO_MS);
    corio_sleep(50 * CORIO_MS); /* after the deadline */
    corio_task_cancel(tt_caller);
    atomic_store(&tt_release, 1);
    return 0;
}

static int tt_main(void *arg)
{
    (void)arg;
    corio_task *h;
    int rc = 1;
    CHECK_EQ(corio_task_spawn(&tt_caller, tt_call, NULL), 0);
    CHECK_EQ(corio_task_spawn(&h, tt_helper, NULL), 0);
    CHECK_EQ(corio_task_join(tt_caller, &rc), 0);
    CHECK_EQ(corio_task_join(h, NULL), 0);
    CHECK_EQ(rc, -ECANCELED);
    return 0;
}

TEST(pool, to_thread_cancel_after_deadline_returns_ecanceled)
{
    corio_options o = {0}; /* real clock: the job holds the virtual one */
    CHECK_EQ(tst_run_ex(&o, tt_main, NULL), 0);
}

/* A cancellation that reaches to_thread's park before it sleeps (core's
 * suspension hook cancels the task there, as the test kit's cancel sweep
 * does; on a slow machine a short deadline can pass at the same place) is
 * delivered to the job: a queued job is dropped, a running one sees
 * corio_thread_cancelled(), and the call returns -ECANCELED. */
static int wait_for_cancel(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5000 && !corio_thread_cancelled(); i++)
        tst_nap_ms(1);
    return corio_thread_cancelled();
}

static void cancel_at_this_suspension(corio_task *t)
{
    corio__suspend_hook = NULL;
    corio_task_cancel(t);
}

static int cancel_before_park_main(void *arg)
{
    (void)arg;
    int saw = 0;
    /* A scope makes the park's check take the slow path, where the hook
     * runs. */
    CHECK_EQ(corio_timeout_begin(3600 * CORIO_SECOND), 0);
    corio__suspend_hook = cancel_at_this_suspension;
    int rc = corio_to_thread(wait_for_cancel, NULL, &saw);
    corio_timeout_end();
    CHECK_EQ(rc, -ECANCELED);
    CHECK(saw == 1 || saw == -ECANCELED); /* saw it, or dropped unrun */
    return 0;
}

TEST(pool, to_thread_cancelled_at_its_park_reaches_the_job)
{
    corio_options o = {0}; /* real clock: the job holds the virtual one */
    CHECK_EQ(tst_run_ex(&o, cancel_before_park_main, NULL), 0);
}
