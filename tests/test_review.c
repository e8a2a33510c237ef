/* test_review.c — regression tests for defects found in code review.
 *
 * Each test states the defect it pins down.  Tests that need another thread
 * synchronise with atomics and bounded real-time polls (never unbounded
 * waits), so that a broken runtime fails the test instead of hanging it;
 * the few that would hang on the defect carry a short timeout. */
#include "tst.h"
#include "os/sys.h" /* corio__fault_arm: fail one allocation */
#include "core/loop.h" /* which engine a loop uses */
#include "core/engine.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static void nap_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_SECOND + ts.tv_nsec;
}

/* Wait (really) until *flag is set, at most 5 s.  1 if it was set. */
static int await_flag(atomic_int *flag)
{
    for (int i = 0; i < 5000 && !atomic_load(flag); i++)
        nap_ms(1);
    return atomic_load(flag);
}

static int ret_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

/* ---- 1. Releasing a finished task whose stack the scheduler still runs on --
 * A finished, owned task runs pick() on its own stack until the next task is
 * switched in; posts (corio_remote_call) run right there.  A remote callback
 * that detaches that task releases the slot under the running scheduler:
 * the switch then stores the old stack pointer into the freed record, i.e.
 * into the free list's `next`, and the second spawn after that gets a slot
 * made of saved registers. */

static corio_task *victim;
static corio_event victim_ev;
static atomic_int victim_finished;

static int victim_fn(void *arg)
{
    (void)arg;
    atomic_store(&victim_finished, 1);
    return 5;
}

static void detach_victim(void *arg)
{
    (void)arg;
    corio_task_detach(victim); /* victim is DONE: its record is released */
    corio_event_set(&victim_ev);
}

static void *victim_thread(void *arg)
{
    corio_remote *r = arg;
    if (await_flag(&victim_finished)) {
        nap_ms(50); /* the loop is now blocked in the victim's exit */
        corio_remote_call(r, detach_victim, NULL);
    }
    return NULL;
}

static int exiting_release_main(void *arg)
{
    (void)arg;
    corio_remote *r;
    pthread_t th;
    CHECK_EQ(corio_event_init(&victim_ev), 0);
    CHECK_EQ(corio_remote_open(&r), 0);
    CHECK_EQ(corio_task_spawn(&victim, victim_fn, NULL), 0);
    CHECK_EQ(pthread_create(&th, NULL, victim_thread, r), 0);
    CHECK_EQ(corio_event_wait(&victim_ev), 0);
    pthread_join(th, NULL);
    corio_remote_close(r);
    corio_task *a, *b;
    CHECK_EQ(corio_task_spawn(&a, ret_arg, (void *)1), 0);
    CHECK_EQ(corio_task_spawn(&b, ret_arg, (void *)2), 0);
    CHECK(a != b);
    int ra = 0, rb = 0;
    CHECK_EQ(corio_task_join(a, &ra), 0);
    CHECK_EQ(corio_task_join(b, &rb), 0);
    CHECK_EQ(ra, 1);
    CHECK_EQ(rb, 2);
    return 0;
}

TEST(review, remote_detach_of_task_finishing_on_its_stack)
{
    CHECK_EQ(tst_run(exiting_release_main, NULL), 0);
}

/* ---- 2. Pool: a thread is started only when none is idle, ignoring jobs
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
    nap_ms(50);                                         /* ...now idle */
    corio_task *t[2];
    int res[2] = {-1, -1};
    CHECK_EQ(corio_task_spawn(&t[0], run_reader, NULL), 0);
    CHECK_EQ(corio_task_spawn(&t[1], run_writer, NULL), 0);
    CHECK_EQ(corio_gather(t, 2, res), 0);
    CHECK_EQ(res[1], 1);
    CHECK_EQ(res[0], 1); /* the reader saw the writer's byte */
    return 0;
}

TEST(review, pool_grows_for_jobs_queued_behind_an_idle_thread)
{
    corio_options o = {.virtual_clock = 1, .threads = 4};
    CHECK_EQ(tst_run_ex(&o, pool_main, NULL), 0);
}

/* ---- 3. Posts are not polled between passes.  pass_poll() only asks the
 * engine when an fd waiter, a thread job or SIGINT is pending, so a
 * corio_remote_call (or a channel's kick, also a post) never runs while
 * some task keeps yielding: the yielder waits for the post forever. */

static atomic_int post_ran;

static void set_post_ran(void *arg)
{
    (void)arg;
    atomic_store(&post_ran, 1);
}

static void *post_thread(void *arg)
{
    corio_remote_call(arg, set_post_ran, NULL);
    return NULL;
}

static int yield_for_post_main(void *arg)
{
    (void)arg;
    corio_remote *r;
    pthread_t th;
    CHECK_EQ(corio_remote_open(&r), 0);
    CHECK_EQ(pthread_create(&th, NULL, post_thread, r), 0);
    pthread_join(th, NULL); /* the post is queued now */
    int64_t end = real_ns() + 2 * CORIO_SECOND;
    while (!atomic_load(&post_ran) && real_ns() < end)
        CHECK_EQ(corio_yield(), 0);
    corio_remote_close(r);
    CHECK(atomic_load(&post_ran));
    return 0;
}

TEST(review, remote_call_runs_while_a_task_keeps_yielding)
{
    CHECK_EQ(tst_run(yield_for_post_main, NULL), 0);
}

static corio_chan *kick_chan;
static atomic_int kick_got;

static int chan_getter(void *arg)
{
    (void)arg;
    void *item = NULL;
    int rc = corio_chan_get(kick_chan, &item);
    atomic_store(&kick_got, 1);
    return rc;
}

static void *chan_putter(void *arg)
{
    (void)arg;
    nap_ms(20);
    CORIO_IGNORE(corio_chan_put(kick_chan, (void *)1));
    return NULL;
}

static int yield_for_chan_main(void *arg)
{
    (void)arg;
    corio_task *g;
    pthread_t th;
    CHECK_EQ(corio_chan_new(&kick_chan, 1), 0);
    CHECK_EQ(corio_task_spawn(&g, chan_getter, NULL), 0);
    CHECK_EQ(corio_yield(), 0); /* the getter parks on the empty channel */
    CHECK_EQ(pthread_create(&th, NULL, chan_putter, NULL), 0);
    int64_t end = real_ns() + 2 * CORIO_SECOND;
    while (!atomic_load(&kick_got) && real_ns() < end)
        CHECK_EQ(corio_yield(), 0);
    pthread_join(th, NULL);
    int ok = atomic_load(&kick_got);
    if (!ok)
        corio_chan_shutdown(kick_chan); /* release the getter to clean up */
    CHECK_EQ(corio_task_join(g, NULL), 0);
    corio_chan_free(kick_chan);
    CHECK(ok);
    return 0;
}

TEST(review, chan_kick_reaches_a_task_while_another_keeps_yielding)
{
    CHECK_EQ(tst_run(yield_for_chan_main, NULL), 0);
}

/* ---- 4. Deadlock missed once the last remote closes.  The loop, blocked
 * in epoll_wait(-1) because a remote was open, is not woken when another
 * thread closes it, so it never re-checks and hangs instead of reporting. */

static void *late_close(void *arg)
{
    nap_ms(100); /* the loop is blocked by now */
    corio_remote_close(arg);
    return NULL;
}

static int remote_close_deadlock_main(void *arg)
{
    (void)arg;
    corio_event never;
    corio_remote *r;
    pthread_t th;
    CHECK_EQ(corio_event_init(&never), 0);
    CHECK_EQ(corio_remote_open(&r), 0);
    CHECK_EQ(pthread_create(&th, NULL, late_close, r), 0);
    int rc = corio_event_wait(&never); /* nothing can set it */
    pthread_join(th, NULL);
    return rc;
}

TEST_T(review, deadlock_reported_after_last_remote_closes, 10)
{
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2); /* the deadlock report is expected */
    int rc = tst_run(remote_close_deadlock_main, NULL);
    dup2(saved, 2);
    CHECK_EQ(rc, -ECANCELED);
}

/* ---- 5. gather with the same handle twice: join_check passes both
 * entries, and the handle is released twice.  The slot goes on the free
 * list twice, and the next two spawns share one record. */

static int gather_dup_main(void *arg)
{
    (void)arg;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, ret_arg, (void *)7), 0);
    corio_task *v[2] = {t, t};
    int res[2];
    int rc = corio_gather(v, 2, res);
    if (rc == -EINVAL) { /* the fix: nothing released */
        CHECK_EQ(corio_task_join(t, NULL), 0);
        return 0;
    }
    corio_task *a, *b;
    CHECK_EQ(corio_task_spawn(&a, ret_arg, (void *)1), 0);
    CHECK_EQ(corio_task_spawn(&b, ret_arg, (void *)2), 0);
    CHECK(a != b);
    CHECK_EQ(rc, -EINVAL);
    return 0;
}

TEST(review, gather_with_a_duplicate_handle_is_einval)
{
    CHECK_EQ(tst_run(gather_dup_main, NULL), 0);
}

/* ---- 6. A huge stack_size is misuse and must fail, not crash.
 * corio__stack_round() overflows to 0 for sizes near SIZE_MAX, and the
 * class's region length (slots * (size + page)) wraps for sizes near 2^60:
 * the record is then written outside the mapping. */

static int huge_stack_main(void *arg)
{
    (void)arg;
    size_t sizes[] = {(size_t)1 << 60, SIZE_MAX, SIZE_MAX - 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        corio_task *t = (corio_task *)1;
        corio_task_opts o = {.stack_size = sizes[i]};
        int rc = corio_task_spawn_ex(&t, ret_arg, NULL, &o);
        CHECK(rc == -ENOMEM || rc == -EINVAL);
        CHECK(t == NULL);
    }
    return 0;
}

TEST(review, huge_stack_size_fails_cleanly)
{
    CHECK_EQ(tst_run(huge_stack_main, NULL), 0);
}

/* ---- 7. Limiter: a valid but very slow rate (or a large n at a slow rate)
 * makes need / rate exceed INT64_MAX ns.  The double -> int64_t conversion
 * is undefined (INT64_MIN on x86-64), the timer is armed in the past, and
 * serve() re-arms it in the past forever: corio__timer_run never returns. */

static int slow_limiter_main(void *arg)
{
    (void)arg;
    corio_limiter *l;
    CHECK_EQ(corio_limiter_new(&l, 1e-11, 1), 0); /* one token per ~3,000 years */
    CHECK_EQ(corio_limiter_acquire(l, 1), 0);    /* the initial burst */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    int rc = corio_limiter_acquire(l, 1);
    corio_timeout_end();
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    corio_limiter_free(l);
    return 0;
}

TEST_T(review, limiter_with_a_very_slow_rate_still_times_out, 10)
{
    CHECK_EQ(tst_run(slow_limiter_main, NULL), 0);
}

/* ---- 8. Limiter: corio__timer_arm's -ENOMEM is ignored when the first
 * waiter arms the limiter's timer.  The waiter parks with no timer: nothing
 * ever serves it (here: its tokens are there after 1 s, yet it waits out
 * its 5 s scope).  It should get -ENOMEM, or be served on time. */

static int limiter_enomem_main(void *arg)
{
    (void)arg;
    corio_limiter *l;
    CHECK_EQ(corio_limiter_new(&l, 1.0, 1), 0);
    CHECK_EQ(corio_limiter_acquire(l, 1), 0); /* empty now; no timer yet */
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0);
    int64_t t0 = corio_now();
    corio__fault_arm(1, ENOMEM); /* the limiter timer's heap allocation */
    int rc = corio_limiter_acquire(l, 1);
    corio__fault_disarm();
    corio_timeout_end();
    CHECK(rc == 0 || rc == -ENOMEM);
    if (rc == 0)
        CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    corio_limiter_free(l);
    return 0;
}

TEST(review, limiter_timer_enomem_is_not_ignored)
{
    CHECK_EQ(tst_run(limiter_enomem_main, NULL), 0);
}

/* ---- 9. corio_strerror must name every corio code (base.h, STYLE.md);
 * CORIO_ESHUTDOWN comes out as "unknown corio error". */

TEST(review, strerror_names_eclosed)
{
    CHECK(strcmp(corio_strerror(CORIO_ESHUTDOWN), "unknown corio error") != 0);
    CHECK(strcmp(corio_strerror(CORIO_EABANDONED), "unknown corio error") != 0);
}

/* ---- 10. Posts run on the stack of whichever task is suspending.  A
 * remote callback (documented as running "outside any task") with an
 * ordinary 64 KiB local buffer overflows a 16 KiB task that happens to be
 * the one suspending, and the process dies blaming that task. */

static corio_event small_ev;
static atomic_int small_parked;

static void big_frame_cb(void *arg)
{
    volatile char buf[64 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (char)i;
    *(int *)arg = buf[512];
    corio_event_set(&small_ev);
}

static int small_task(void *arg)
{
    (void)arg;
    atomic_store(&small_parked, 1);
    return corio_event_wait(&small_ev); /* suspends on its 16 KiB stack */
}

static int cb_out;

static void *big_cb_thread(void *arg)
{
    if (await_flag(&small_parked)) {
        nap_ms(50); /* the loop is blocked in small_task's suspension */
        corio_remote_call(arg, big_frame_cb, &cb_out);
    }
    return NULL;
}

static int big_cb_main(void *arg)
{
    (void)arg;
    corio_remote *r;
    corio_task *t;
    pthread_t th;
    CHECK_EQ(corio_event_init(&small_ev), 0);
    CHECK_EQ(corio_remote_open(&r), 0);
    corio_task_opts o = {.name = "small", .stack_size = 16 * 1024};
    CHECK_EQ(corio_task_spawn_ex(&t, small_task, NULL, &o), 0);
    CHECK_EQ(pthread_create(&th, NULL, big_cb_thread, r), 0);
    int rc = -1;
    CHECK_EQ(corio_task_join(t, &rc), 0);
    pthread_join(th, NULL);
    corio_remote_close(r);
    CHECK_EQ(rc, 0);
    CHECK_EQ(cb_out, 0); /* buf[512] = (char)512 = 0 */
    return 0;
}

TEST(review, remote_callback_does_not_run_on_a_small_task_stack)
{
    CHECK_EQ(tst_run(big_cb_main, NULL), 0);
}

/* ---- 11. wait_for: the caller is cancelled while waiting and the task
 * finishes later in the same tick.  wait_for returns 0 as if the task had
 * finished first; the spec (and gather, in the same situation) says
 * -ECANCELED.  The same-tick carve-out is for the deadline only. */

static corio_task *wf_caller;

static int wf_target(void *arg)
{
    (void)arg;
    corio_yield(); /* lets the helper run before this returns */
    return 3;
}

static int wf_helper(void *arg)
{
    (void)arg;
    corio_task_cancel(wf_caller); /* the caller is parked in wait_for */
    return 0;
}

static int wf_caller_fn(void *arg)
{
    (void)arg;
    corio_task *t, *h;
    CHECK_EQ(corio_task_spawn(&t, wf_target, NULL), 0);
    CHECK_EQ(corio_task_spawn(&h, wf_helper, NULL), 0);
    corio_task_detach(h);
    int r = 0;
    int rc = corio_wait_for(t, 10 * CORIO_SECOND, &r);
    CHECK_EQ(r, 3);
    return rc;
}

static int wf_main(void *arg)
{
    (void)arg;
    int rc = 1;
    CHECK_EQ(corio_task_spawn(&wf_caller, wf_caller_fn, NULL), 0);
    CHECK_EQ(corio_task_join(wf_caller, &rc), 0);
    CHECK_EQ(rc, -ECANCELED);
    return 0;
}

TEST(review, wait_for_caller_cancelled_returns_ecanceled)
{
    CHECK_EQ(tst_run(wf_main, NULL), 0);
}

/* ---- 12. to_thread: the deadline interrupts the running job first, then
 * the caller is cancelled before fn returns.  Both are pending when the
 * call returns, and "-ECANCELED wins" (scope.h), but the call returns the
 * first code it was given: once `interrupted` is set, corio__recheck()
 * ignores the cancellation and j->code keeps -ETIMEDOUT. */

static atomic_int tt_release;
static corio_task *tt_caller;

static int tt_job(void *arg)
{
    (void)arg;
    /* Until the helper has cancelled the caller (the cap only keeps a
     * broken build from hanging: a starved loop under qemu on a loaded
     * machine took over 2 s to see the deadline). */
    for (int i = 0; i < 60000 && !atomic_load(&tt_release); i++)
        nap_ms(1);
    return 9;
}

static int tt_call(void *arg)
{
    (void)arg;
    int r = 0;
    CHECK_EQ(corio_timeout_begin(20 * CORIO_MS), 0);
    int rc = corio_to_thread(tt_job, NULL, &r);
    corio_timeout_end();
    CHECK_EQ(r, 9);
    return rc;
}

static int tt_helper(void *arg)
{
    (void)arg;
    corio_sleep(100 * CORIO_MS); /* after the deadline */
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

TEST(review, to_thread_cancel_after_deadline_returns_ecanceled)
{
    corio_options o = {0}; /* real clock: the job holds the virtual one */
    CHECK_EQ(tst_run_ex(&o, tt_main, NULL), 0);
}

/* ---- 13. Constructors dereference a NULL out-parameter instead of
 * returning -EINVAL (STYLE.md: misuse returns an error, never aborts). */

static int null_out_main(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_group_new(NULL), -EINVAL);
    CHECK_EQ(corio_queue_new(NULL, NULL), -EINVAL);
    CHECK_EQ(corio_limiter_new(NULL, 1.0, 1), -EINVAL);
    CHECK_EQ(corio_chan_new(NULL, 1), -EINVAL);
    CHECK_EQ(corio_remote_open(NULL), -EINVAL);
    return 0;
}

TEST(review, null_out_parameter_is_einval)
{
    CHECK_EQ(tst_run(null_out_main, NULL), 0);
}

/* ---- 14. The overflow report names an unnamed task "(unnamed)", not the
 * name corio_task_name() and the dump give it ("task-<id>"): the spec asks
 * for a message naming the task.  (Run in a child, which dies.) */

static volatile int ov_keep_going = 1;

static int ov_recurse(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    corio_yield(); /* the canary mode checks at each switch */
    return (ov_keep_going ? ov_recurse(depth + 1) : 0) + pad[0];
}

static int ov_deep(void *arg)
{
    (void)arg;
    return ov_recurse(1);
}

static int ov_main(void *arg)
{
    (void)arg;
    corio_task *t;
    corio_task_opts o = {.stack_size = 64 * 1024}; /* no name */
    CHECK_EQ(corio_task_spawn_ex(&t, ov_deep, NULL, &o), 0);
    CORIO_IGNORE(corio_task_join(t, NULL));
    return 0;
}

TEST(review, overflow_report_names_an_unnamed_task)
{
    if (tst_slow_env())
        return; /* sanitizers own SIGSEGV */
    int p[2];
    CHECK_EQ(pipe(p), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        tst_run(ov_main, NULL);
        _exit(0);
    }
    close(p[1]);
    char err[4096];
    size_t len = 0;
    ssize_t r;
    while (len + 1 < sizeof err && (r = read(p[0], err + len, sizeof err - 1 - len)) > 0)
        len += (size_t)r;
    err[len] = 0;
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFSIGNALED(st));
    const char *want = "stack overflow in task 'task-2'"; /* main is task-1 */
    if (!strstr(err, want))
        fprintf(stderr, "child said: %s", err);
    CHECK(strstr(err, want) != NULL);
}

/* ---- 15. An abandoned run (deadlock, last resort) frees the stacks of the
 * tasks it gives up on but leaves their waiters linked in the caller's
 * primitives: a static event keeps a waiter that lives in unmapped memory,
 * so destroy says -EBUSY forever and set would walk freed memory. */

static corio_event abandon_ev;

static int abandon_main(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_shield_begin(), 0); /* so that no cancellation can end the wait */
    int rc = corio_event_wait(&abandon_ev);
    corio_shield_end();
    return rc;
}

TEST(review, abandoned_run_unlinks_its_waiters)
{
    CHECK_EQ(corio_event_init(&abandon_ev), 0);
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2); /* the deadlock reports are expected */
    int rc = tst_run(abandon_main, NULL);
    dup2(saved, 2);
    CHECK_EQ(rc, CORIO_EABANDONED);
    corio_event_destroy(&abandon_ev);
}

/* ---- 16. io_uring engine: a socket read or write of n >= 4 GiB.  The SQE's
 * length is 32 bits (io_uring_prep_recv/send take an unsigned), so
 * n = 4 GiB becomes 0: the read returns 0, which reads as end of file
 * although data is waiting, and corio_fd_write's loop sends 0 bytes
 * forever without ever suspending (nor seeing its deadline).  read(2) and
 * write(2) clamp the count instead; so must the engine (to INT_MAX). */

static int huge_io_main(void *arg)
{
    (void)arg;
    if (strcmp(corio__cur->engine->name, "io_uring") != 0)
        return 0; /* epoll: plain read(2)/write(2) clamp the count */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    size_t big = (size_t)1 << 32;
    char *buf = mmap(NULL, big, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(buf != MAP_FAILED);
    CHECK_EQ(corio_fd_write(sv[0], "hello", 5), 5);
    CHECK_EQ(corio_fd_read(sv[1], buf, big), 5); /* not 0 ("end of file") */
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    ssize_t put = corio_fd_write(sv[0], buf, big); /* fills the socket */
    corio_timeout_end();
    CHECK(put > 0 && (size_t)put < big);
    munmap(buf, big);
    corio_fd_close(sv[0]);
    corio_fd_close(sv[1]);
    return 0;
}

TEST_T(review, uring_socket_io_of_4_gib_is_clamped, 10)
{
    CHECK_EQ(tst_run(huge_io_main, NULL), 0);
}
