/* test_remote.c — corio_remote (call_soon_threadsafe): calls from other
 * threads run on the loop thread, outside any task, in FIFO order per
 * sender; fn may spawn tasks and set events but not suspend; calls after
 * the loop ended fail with -ESHUTDOWN, calls still pending at the end are
 * dropped; an open remote keeps the loop waiting instead of reporting a
 * deadlock, a closed one (closed on either thread) no longer does; calls
 * are not starved by a task that keeps yielding; a worker thread feeding
 * results into a loop (the example).
 *
 * Threads synchronise with the loop through the remote itself, atomics and
 * pipes; the only real sleeps are in other threads, where a test needs the
 * loop to be idle first. */
#include "tst.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* stderr capture (the deadlock reports), printed back on failure. */
static int cap_saved = -1;
static FILE *cap_file;
static char cap_text[65536];

static void cap_begin(void)
{
    fflush(stderr);
    cap_file = tmpfile();
    CHECK(cap_file != NULL);
    cap_saved = dup(2);
    CHECK(dup2(fileno(cap_file), 2) == 2);
}

static const char *cap_end(void)
{
    fflush(stderr);
    ssize_t n = pread(fileno(cap_file), cap_text, sizeof cap_text - 1, 0);
    cap_text[n > 0 ? n : 0] = 0;
    dup2(cap_saved, 2);
    close(cap_saved);
    cap_saved = -1;
    fclose(cap_file);
    return cap_text;
}

/* ---- runs on the loop thread, FIFO --------------------------------------- */

#define NCALLS 200

typedef struct fifo {
    corio_remote *r;
    pthread_t loop_thread;
    int order[NCALLS];
    int n;
    int off_thread; /* calls that ran on another thread */
    int in_task;    /* calls that ran inside a task */
    int eperm;      /* suspending calls refused */
    int args[NCALLS];
    corio_event done;
    atomic_int send_rc;
} fifo;

typedef struct fifo_call {
    fifo *f;
    int i;
} fifo_call;

static fifo_call fcalls[NCALLS];

static void record(void *arg)
{
    fifo_call *c = arg;
    fifo *f = c->f;
    if (!pthread_equal(pthread_self(), f->loop_thread))
        f->off_thread++;
    if (corio_task_current() != NULL)
        f->in_task++;
    if (c->i == 0 && corio_sleep(CORIO_MS) == -EPERM && corio_yield() == -EPERM)
        f->eperm++;
    f->order[f->n++] = c->i;
    if (f->n == NCALLS)
        corio_event_set(&f->done);
}

static void *fifo_sender(void *arg)
{
    fifo *f = arg;
    for (int i = 0; i < NCALLS; i++) {
        fcalls[i] = (fifo_call){f, i};
        int rc = corio_remote_call(f->r, record, &fcalls[i]);
        if (rc != 0)
            atomic_store(&f->send_rc, rc);
        if (i % 16 == 0)
            sched_yield(); /* let the loop run some while we send */
    }
    return NULL;
}

static int fifo_main(void *arg)
{
    fifo *f = arg;
    pthread_t th;
    f->loop_thread = pthread_self();
    CHECK_EQ(corio_event_init(&f->done), 0);
    CHECK_EQ(corio_remote_open(&f->r), 0);
    CHECK_EQ(pthread_create(&th, NULL, fifo_sender, f), 0);
    CHECK_EQ(corio_event_wait(&f->done), 0); /* no timer: waits for posts */
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(atomic_load(&f->send_rc), 0);
    corio_remote_close(f->r);
    corio_event_destroy(&f->done);
    return 0;
}

TEST(remote, calls_run_on_the_loop_thread_in_fifo_order)
{
    static fifo f;
    CHECK_EQ(tst_run(fifo_main, &f), 0);
    CHECK_EQ(f.n, NCALLS);
    for (int i = 0; i < NCALLS; i++)
        CHECK_EQ(f.order[i], i);
    CHECK_EQ(f.off_thread, 0);
    CHECK_EQ(f.in_task, 0);
    CHECK_EQ(f.eperm, 1);
}

/* Several senders: FIFO per sender, every call runs once. */
#define NSENDERS 4
#define PER_SENDER 2000

typedef struct multi {
    corio_remote *r;
    int last[NSENDERS];
    int count;
    int out_of_order;
    corio_event done;
    atomic_int send_fail;
} multi;

typedef struct mcall {
    multi *m;
    int sender, seq;
} mcall;

static mcall mcalls[NSENDERS][PER_SENDER];

static void mrecord(void *arg)
{
    mcall *c = arg;
    multi *m = c->m;
    if (c->seq != m->last[c->sender] + 1)
        m->out_of_order++;
    m->last[c->sender] = c->seq;
    if (++m->count == NSENDERS * PER_SENDER)
        corio_event_set(&m->done);
}

typedef struct sender_arg {
    multi *m;
    int id;
} sender_arg;

static void *msender(void *arg)
{
    sender_arg *a = arg;
    for (int i = 0; i < PER_SENDER; i++) {
        mcalls[a->id][i] = (mcall){a->m, a->id, i};
        if (corio_remote_call(a->m->r, mrecord, &mcalls[a->id][i]) != 0)
            atomic_fetch_add(&a->m->send_fail, 1);
    }
    return NULL;
}

static int multi_main(void *arg)
{
    multi *m = arg;
    pthread_t th[NSENDERS];
    sender_arg sa[NSENDERS];
    for (int i = 0; i < NSENDERS; i++)
        m->last[i] = -1;
    CHECK_EQ(corio_event_init(&m->done), 0);
    CHECK_EQ(corio_remote_open(&m->r), 0);
    for (int i = 0; i < NSENDERS; i++) {
        sa[i] = (sender_arg){m, i};
        CHECK_EQ(pthread_create(&th[i], NULL, msender, &sa[i]), 0);
    }
    CHECK_EQ(corio_event_wait(&m->done), 0);
    for (int i = 0; i < NSENDERS; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    corio_remote_close(m->r);
    return 0;
}

TEST(remote, several_senders_fifo_per_sender)
{
    static multi m;
    CHECK_EQ(tst_run(multi_main, &m), 0);
    CHECK_EQ(atomic_load(&m.send_fail), 0);
    CHECK_EQ(m.count, NSENDERS * PER_SENDER);
    CHECK_EQ(m.out_of_order, 0);
    for (int i = 0; i < NSENDERS; i++)
        CHECK_EQ(m.last[i], PER_SENDER - 1);
}

/* ---- fn spawns a task and sets an event ---------------------------------- */

typedef struct spawner {
    corio_remote *r;
    corio_event started, finished;
    int child_ran;
    int child_slept;
    int spawn_rc;
} spawner;

static int child(void *arg)
{
    spawner *s = arg;
    s->child_ran = 1;
    s->child_slept =
        corio_sleep(5 * CORIO_MS) == 0; /* a real task: it may wait */
    corio_event_set(&s->finished);
    return 0;
}

static void spawn_from_thread(void *arg)
{
    spawner *s = arg;
    s->spawn_rc = corio_task_spawn(NULL, child, s); /* detached */
    corio_event_set(&s->started);
}

static void *spawn_sender(void *arg)
{
    spawner *s = arg;
    tst_nap_ms(10); /* the loop is idle, waiting for this post */
    if (corio_remote_call(s->r, spawn_from_thread, s) != 0)
        s->spawn_rc = -1000;
    return NULL;
}

static int spawn_main(void *arg)
{
    spawner *s = arg;
    pthread_t th;
    s->spawn_rc = 1;
    CHECK_EQ(corio_event_init(&s->started), 0);
    CHECK_EQ(corio_event_init(&s->finished), 0);
    CHECK_EQ(corio_remote_open(&s->r), 0);
    CHECK_EQ(pthread_create(&th, NULL, spawn_sender, s), 0);
    CHECK_EQ(corio_event_wait(&s->started), 0);
    CHECK_EQ(s->spawn_rc, 0);
    CHECK_EQ(corio_event_wait(&s->finished), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    corio_remote_close(s->r);
    return 0;
}

TEST(remote, fn_spawns_a_task_and_sets_an_event)
{
    static spawner s;
    CHECK_EQ(tst_run(spawn_main, &s), 0);
    CHECK_EQ(s.child_ran, 1);
    CHECK_EQ(s.child_slept, 1);
}

/* ---- the loop's end ------------------------------------------------------ */

static atomic_int late_ran;

static void late(void *arg)
{
    (void)arg;
    atomic_fetch_add(&late_ran, 1);
}

static int open_and_leave(void *arg)
{
    corio_remote **out = arg;
    CHECK_EQ(corio_remote_open(out), 0);
    CHECK_EQ(corio_remote_call(*out, late, NULL), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* the call runs */
    CHECK_EQ(atomic_load(&late_ran), 1);
    return 0;
}

static void *call_after_end(void *arg)
{
    return (void *)(intptr_t)corio_remote_call(arg, late, NULL);
}

TEST(remote, calls_after_the_loop_ended_are_eshutdown)
{
    corio_remote *r = NULL;
    CHECK_EQ(tst_run(open_and_leave, &r), 0);
    CHECK(r != NULL);
    CHECK_EQ(corio_remote_call(r, late, NULL), -ESHUTDOWN);
    pthread_t th;
    void *res;
    CHECK_EQ(pthread_create(&th, NULL, call_after_end, r), 0);
    CHECK_EQ(pthread_join(th, &res), 0);
    CHECK_EQ((int)(intptr_t)res, -ESHUTDOWN);
    CHECK_EQ(atomic_load(&late_ran), 1); /* neither ran */
    corio_remote_close(r);               /* still needed, and safe */
}

/* A call posted but not yet run when the loop ends is dropped (and freed:
 * ASan checks). */
static int post_and_return(void *arg)
{
    corio_remote **out = arg;
    CHECK_EQ(corio_remote_open(out), 0);
    CHECK_EQ(corio_remote_call(*out, late, NULL), 0); /* from the loop thread */
    CHECK_EQ(corio_remote_call(*out, late, NULL), 0);
    return 0; /* never suspended: the calls are still pending */
}

TEST(remote, calls_pending_at_the_end_are_dropped)
{
    corio_remote *r = NULL;
    CHECK_EQ(tst_run(post_and_return, &r), 0);
    CHECK_EQ(atomic_load(&late_ran), 0);
    CHECK_EQ(corio_remote_call(r, late, NULL), -ESHUTDOWN);
    corio_remote_close(r);
}

/* ---- misuse -------------------------------------------------------------- */

static int misuse_main(void *arg)
{
    (void)arg;
    corio_remote *r;
    CHECK_EQ(corio_remote_open(&r), 0);
    CHECK_EQ(corio_remote_call(r, NULL, NULL), -EINVAL);
    CHECK_EQ(corio_remote_call(NULL, late, NULL), -EINVAL);
    corio_remote_close(r);
    corio_remote_close(NULL);
    return 0;
}

TEST(remote, misuse)
{
    CHECK_EQ(tst_run(misuse_main, NULL), 0);
}

TEST(remote, open_outside_a_loop_is_eperm)
{
    corio_remote *r = (corio_remote *)&r;
    CHECK_EQ(corio_remote_open(&r), -EPERM);
    CHECK(r == NULL);
}

/* ---- deadlock detection -------------------------------------------------- */

typedef struct waiter {
    corio_remote *r;
    corio_event ev;
    int rc;
    int close_first;     /* 1: close on the loop thread before waiting */
    int close_in_thread; /* 1: the thread closes without ever calling */
} waiter;

static void set_ev(void *arg)
{
    corio_event_set(&((waiter *)arg)->ev);
}

static void *late_sender(void *arg)
{
    waiter *w = arg;
    tst_nap_ms(20); /* the loop has long gone idle */
    if (w->close_in_thread)
        corio_remote_close(w->r);
    else
        corio_remote_call(w->r, set_ev, w);
    return NULL;
}

static int idle_main(void *arg)
{
    waiter *w = arg;
    pthread_t th;
    CHECK_EQ(corio_event_init(&w->ev), 0);
    CHECK_EQ(corio_remote_open(&w->r), 0);
    if (w->close_first)
        corio_remote_close(w->r);
    else
        CHECK_EQ(pthread_create(&th, NULL, late_sender, w), 0);
    w->rc = corio_event_wait(&w->ev);
    if (!w->close_first) {
        CHECK_EQ(pthread_join(th, NULL), 0);
        if (!w->close_in_thread)
            corio_remote_close(w->r);
    }
    return 0;
}

TEST(remote, open_remote_keeps_an_idle_loop_waiting)
{
    waiter w = {0};
    cap_begin();
    int rc = tst_run(idle_main, &w);
    const char *err = cap_end();
    if (strstr(err, "deadlock"))
        fprintf(stderr, "%s", err);
    CHECK(strstr(err, "deadlock") == NULL);
    CHECK_EQ(rc, 0);
    CHECK_EQ(w.rc, 0);
}

TEST(remote, closed_remote_no_longer_keeps_the_loop)
{
    waiter w = {.close_first = 1};
    cap_begin();
    int rc = tst_run(idle_main, &w);
    const char *err = cap_end();
    CHECK_EQ(rc, 0);
    CHECK(strstr(err, "deadlock") != NULL);
    CHECK_EQ(w.rc, -ECANCELED); /* the deadlock cancelled main */
}

/* The remote is closed by the other thread while the loop is idle waiting
 * for it: the loop must notice that nothing can wake it any more and
 * report the deadlock, not sleep forever. */
TEST_T(remote, close_from_another_thread_ends_the_wait, 2)
{
    waiter w = {.close_in_thread = 1};
    cap_begin();
    int rc = tst_run(idle_main, &w);
    const char *err = cap_end();
    CHECK_EQ(rc, 0);
    CHECK(strstr(err, "deadlock") != NULL);
    CHECK_EQ(w.rc, -ECANCELED);
}

/* Close from another thread right after posting: the calls already posted
 * still run, even if the loop first looks for work after the close (the
 * calls are pending, so the loop is not deadlocked). */
typedef struct closer {
    corio_remote *r;
    int ran;
    corio_event ev;
} closer;

static void closer_call(void *arg)
{
    closer *c = arg;
    if (++c->ran == 10)
        corio_event_set(&c->ev);
}

static void *post_then_close(void *arg)
{
    closer *c = arg;
    for (int i = 0; i < 10; i++)
        corio_remote_call(c->r, closer_call, c);
    corio_remote_close(c->r);
    return NULL;
}

static int closer_main(void *arg)
{
    closer *c = arg;
    pthread_t th;
    CHECK_EQ(corio_event_init(&c->ev), 0);
    CHECK_EQ(corio_remote_open(&c->r), 0);
    CHECK_EQ(pthread_create(&th, NULL, post_then_close, c), 0);
    /* Wait (blocking the loop thread on purpose) until the thread has
     * posted and closed: the calls are pending, the remote is closed. */
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(corio_event_wait(&c->ev), 0);
    CHECK_EQ(c->ran, 10);
    return 0;
}

TEST(remote, close_from_another_thread_keeps_posted_calls)
{
    static closer c;
    CHECK_EQ(tst_run(closer_main, &c), 0);
}

/* ---- not starved by a task that keeps yielding --------------------------- */

typedef struct spin {
    corio_remote *r;
    atomic_int flag;
    int yields;
} spin;

static void set_flag(void *arg)
{
    atomic_store(&((spin *)arg)->flag, 1);
}

static void *flag_sender(void *arg)
{
    spin *s = arg;
    corio_remote_call(s->r, set_flag, s);
    return NULL;
}

static int spin_main(void *arg)
{
    spin *s = arg;
    pthread_t th;
    CHECK_EQ(corio_remote_open(&s->r), 0);
    CHECK_EQ(pthread_create(&th, NULL, flag_sender, s), 0);
    CHECK_EQ(pthread_join(th, NULL), 0); /* the call is posted */
    /* asyncio's `while not flag: await asyncio.sleep(0)`: the posted call
     * must run between passes, as I/O does. */
    int64_t end = tst_real_ns() + CORIO_SECOND / 2;
    while (!atomic_load(&s->flag) && tst_real_ns() < end) {
        CHECK_EQ(corio_yield(), 0);
        s->yields++;
    }
    CHECK_EQ(atomic_load(&s->flag), 1);
    corio_remote_close(s->r);
    return 0;
}

TEST(remote, calls_run_while_a_task_keeps_yielding)
{
    static spin s;
    CHECK_EQ(tst_run(spin_main, &s), 0);
}

/* ---- a worker thread feeding results into a loop (the example) --- */

#define NRESULTS 1000

typedef struct result {
    int input;
    long value;
} result;

typedef struct feed {
    corio_remote *r;
    corio_queue *q; /* loop side: results arrive here */
    pthread_t loop_thread;
    int wrong_thread;
    atomic_int failed;
} feed;

typedef struct delivery {
    feed *f;
    result *res; /* NULL: the worker is done */
} delivery;

static void deliver(void *arg)
{
    delivery *d = arg;
    if (!pthread_equal(pthread_self(), d->f->loop_thread))
        d->f->wrong_thread++;
    /* Never blocks: the queue is unbounded. */
    if (corio_queue_try_put(d->f->q, d->res) != 0)
        d->f->wrong_thread += 1000;
    free(d);
}

static void *worker(void *arg)
{
    feed *f = arg;
    for (int i = 0; i <= NRESULTS; i++) {
        delivery *d = malloc(sizeof *d);
        d->f = f;
        d->res = NULL;
        if (i < NRESULTS) {
            d->res = malloc(sizeof *d->res);
            d->res->input = i;
            d->res->value = (long)i * i; /* the "work" */
        }
        if (corio_remote_call(f->r, deliver, d) != 0) {
            atomic_fetch_add(&f->failed, 1);
            free(d->res);
            free(d);
        }
    }
    return NULL;
}

static int feed_main(void *arg)
{
    feed *f = arg;
    pthread_t th;
    f->loop_thread = pthread_self();
    CHECK_EQ(corio_queue_new(&f->q, NULL), 0);
    CHECK_EQ(corio_remote_open(&f->r), 0);
    CHECK_EQ(pthread_create(&th, NULL, worker, f), 0);
    long sum = 0;
    int n = 0, next = 0;
    for (;;) {
        result *res;
        CHECK_EQ(corio_queue_get(f->q, (void **)&res), 0);
        if (!res)
            break;
        CHECK_EQ(res->input, next); /* in order */
        next++;
        sum += res->value;
        n++;
        free(res);
    }
    corio_remote_close(f->r); /* the end marker came: nothing more to post */
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(n, NRESULTS);
    CHECK_EQ(sum, (long)(NRESULTS - 1) * NRESULTS * (2 * NRESULTS - 1) / 6);
    corio_queue_free(f->q);
    return 0;
}

TEST(remote, worker_thread_feeds_results_into_a_loop)
{
    static feed f;
    CHECK_EQ(tst_run(feed_main, &f), 0);
    CHECK_EQ(atomic_load(&f.failed), 0);
    CHECK_EQ(f.wrong_thread, 0);
}

/* ---- regressions found in code review ---------------------------------- */

static int ret_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

/* Releasing a finished task whose stack the scheduler still runs on --
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
    if (tst_await_flag(&victim_finished)) {
        tst_nap_ms(50); /* the loop is now blocked in the victim's exit */
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

TEST(remote, detach_of_task_finishing_on_its_stack)
{
    CHECK_EQ(tst_run(exiting_release_main, NULL), 0);
}

/* Posts are not polled between passes.  pass_poll() only asks the
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
    int64_t end = tst_real_ns() + 2 * CORIO_SECOND;
    while (!atomic_load(&post_ran) && tst_real_ns() < end)
        CHECK_EQ(corio_yield(), 0);
    corio_remote_close(r);
    CHECK(atomic_load(&post_ran));
    return 0;
}

TEST(remote, call_runs_while_a_task_keeps_yielding)
{
    CHECK_EQ(tst_run(yield_for_post_main, NULL), 0);
}

/* Deadlock missed once the last remote closes.  The loop, blocked
 * in epoll_wait(-1) because a remote was open, is not woken when another
 * thread closes it, so it never re-checks and hangs instead of reporting. */

static void *late_close(void *arg)
{
    tst_nap_ms(100); /* the loop is blocked by now */
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

TEST_T(remote, deadlock_reported_after_last_remote_closes, 10)
{
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2); /* the deadlock report is expected */
    int rc = tst_run(remote_close_deadlock_main, NULL);
    dup2(saved, 2);
    CHECK_EQ(rc, -ECANCELED);
}

/* Posts run on the stack of whichever task is suspending.  A
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
    if (tst_await_flag(&small_parked)) {
        tst_nap_ms(50); /* the loop is blocked in small_task's suspension */
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

TEST(remote, callback_does_not_run_on_a_small_task_stack)
{
    CHECK_EQ(tst_run(big_cb_main, NULL), 0);
}

/* A constructor dereferenced a NULL out-parameter instead of returning
 * -EINVAL (STYLE.md: misuse returns an error, never aborts).  The check
 * comes first, in a loop or not. */
TEST(remote, open_null_out_parameter_is_einval)
{
    CHECK_EQ(corio_remote_open(NULL), -EINVAL);
}
