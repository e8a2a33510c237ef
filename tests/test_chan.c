/* test_chan.c — corio_chan, the thread-safe channel: thread -> task and
 * task -> thread with a bounded capacity (a full channel blocks a thread
 * and suspends a task while the loop keeps running); many items through
 * several threads and tasks with count, sum and per-producer order
 * conserved; tasks of two loops; the try variants (also with no loop at
 * all); close wakes every waiter, getters drain first; a task parked on a
 * channel with no timer is not a deadlock; a waiting task that is
 * cancelled or timed out returns -ECANCELED / -ETIMEDOUT and takes or
 * leaves nothing, at each moment of the wake-up hand-shake (before the
 * kick, kicked but not yet woken, woken but not yet resumed); and sweeps
 * that cancel getters and putters at random while threads keep putting and
 * getting, asserting every item put is got exactly once.
 *
 * Threads synchronise with the loop through the channel itself, pipes and
 * atomics; real sleeps only where another thread must be seen to block. */
#include "tst.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ITEM(i) ((void *)(intptr_t)((i) + 1))
#define ID(p) ((long)(intptr_t)(p)-1)

static void make_pipe(int p[2])
{
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
}

static void post_byte(int fd)
{
    CHECK_EQ(write(fd, "x", 1), 1);
}

/* From a task: wait for one byte (the loop keeps running). */
static void await_byte(int fd)
{
    char c;
    CHECK_EQ(corio_fd_read(fd, &c, 1), 1);
}

static corio_chan *mkc(size_t cap)
{
    corio_chan *c = NULL;
    CHECK_EQ(corio_chan_new(&c, cap), 0);
    CHECK(c != NULL);
    return c;
}

/* ---- thread -> task ------------------------------------------------------ */

#define CAP 4

typedef struct t2t {
    corio_chan *c;
    int n;
    int progress[2]; /* thread -> loop: one byte per completed put */
    atomic_int done;
    atomic_int bad_rc;
} t2t;

static void *thread_producer(void *arg)
{
    t2t *s = arg;
    for (int i = 0; i < s->n; i++) {
        int rc = corio_chan_put(s->c, ITEM(i)); /* blocks while full */
        if (rc != 0)
            atomic_store(&s->bad_rc, rc);
        atomic_fetch_add(&s->done, 1);
        if (i <= CAP)
            post_byte(s->progress[1]);
    }
    return NULL;
}

static int thread_to_task_main(void *arg)
{
    t2t *s = arg;
    pthread_t th;
    void *it;
    s->c = mkc(CAP);
    make_pipe(s->progress);
    CHECK_EQ(pthread_create(&th, NULL, thread_producer, s), 0);
    for (int i = 0; i < CAP; i++)
        await_byte(s->progress[0]);
    /* The channel is full: the thread's next put must block, not fail. */
    CHECK_EQ(corio_sleep(30 * CORIO_MS), 0); /* real clock: let it try */
    CHECK_EQ(atomic_load(&s->done), CAP);
    CHECK_EQ(atomic_load(&s->bad_rc), 0);
    CHECK_EQ(corio_chan_try_put(s->c, ITEM(-1)), -EAGAIN);
    CHECK_EQ(corio_chan_get(s->c, &it), 0); /* frees a slot: it unblocks */
    CHECK_EQ(ID(it), 0);
    await_byte(s->progress[0]);
    CHECK_EQ(atomic_load(&s->done), CAP + 1);
    for (int i = 1; i < s->n; i++) {
        CHECK_EQ(corio_chan_get(s->c, &it), 0); /* suspends while empty */
        CHECK_EQ(ID(it), i);
    }
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(atomic_load(&s->bad_rc), 0);
    CHECK_EQ(corio_chan_try_get(s->c, &it), -EAGAIN);
    corio_chan_free(s->c);
    close(s->progress[0]);
    close(s->progress[1]);
    return 0;
}

TEST(chan, thread_to_task_blocks_the_thread_when_full)
{
    static t2t s = {.n = 20000};
    corio_options o = {.virtual_clock = 0};
    CHECK_EQ(tst_run_ex(&o, thread_to_task_main, &s), 0);
}

/* ---- task -> thread ------------------------------------------------------ */

typedef struct k2t {
    corio_chan *c;
    int n;
    int go[2];
    long sum;
    int in_order;
    int put_done;
    int ticks_while_parked;
} k2t;

static void *thread_consumer(void *arg)
{
    k2t *s = arg;
    char b;
    if (read(s->go[0], &b, 1) != 1)
        return NULL;
    long expect = 0;
    s->in_order = 1;
    for (;;) {
        void *it;
        int rc = corio_chan_get(s->c, &it); /* blocks while empty */
        if (rc == CORIO_ESHUTDOWN)
            break;
        if (rc != 0 || ID(it) != expect)
            s->in_order = 0;
        expect++;
        s->sum += ID(it);
    }
    return NULL;
}

static int ticker(void *arg)
{
    k2t *s = arg;
    for (int i = 0; i < 10; i++) {
        if (s->put_done == CAP) /* the producer task is parked in put */
            s->ticks_while_parked++;
        CHECK_EQ(corio_yield(), 0);
    }
    post_byte(s->go[1]); /* now let the thread consume */
    return 0;
}

static int task_to_thread_main(void *arg)
{
    k2t *s = arg;
    pthread_t th;
    corio_task *t;
    s->c = mkc(CAP);
    make_pipe(s->go);
    CHECK_EQ(pthread_create(&th, NULL, thread_consumer, s), 0);
    CHECK_EQ(corio_task_spawn(&t, ticker, s), 0);
    for (int i = 0; i < s->n; i++) {
        CHECK_EQ(corio_chan_put(s->c, ITEM(i)), 0); /* suspends while full */
        s->put_done++;
    }
    corio_chan_shutdown(s->c);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    corio_chan_free(s->c);
    close(s->go[0]);
    close(s->go[1]);
    return 0;
}

TEST(chan, task_to_thread_suspends_the_task_when_full)
{
    static k2t s = {.n = 20000};
    CHECK_EQ(tst_run(task_to_thread_main, &s), 0);
    CHECK_EQ(s.in_order, 1);
    CHECK_EQ(s.sum, (long)s.n * (s.n - 1) / 2);
    CHECK_EQ(s.ticks_while_parked, 10); /* the loop ran on meanwhile */
}

/* ---- many items, several threads and tasks ------------------------------- */

#define NPT 3 /* producer threads */
#define NPK 2 /* producer tasks */
#define NCT 2 /* consumer threads */
#define NCK 3 /* consumer tasks */
#define NP (NPT + NPK)
#define NC (NCT + NCK)

typedef struct many {
    corio_chan *c;
    long per; /* items per producer */
    atomic_uchar *seen;
    atomic_long count, sum;
    atomic_int order_errors, bad_rc;
    int done[2]; /* producer threads -> loop */
} many;

typedef struct role {
    many *m;
    int id;
} role;

static void produce(many *m, int id, int in_task)
{
    for (long i = 0; i < m->per; i++) {
        long v = id * m->per + i;
        int rc = corio_chan_put(m->c, ITEM(v));
        if (rc != 0)
            atomic_store(&m->bad_rc, rc);
        if (in_task && i % 97 == 0)
            CHECK_EQ(corio_yield(), 0);
    }
}

static void consume(many *m, int in_task)
{
    long last[NP];
    for (int p = 0; p < NP; p++)
        last[p] = -1;
    for (long k = 0;; k++) {
        void *it;
        int rc = corio_chan_get(m->c, &it);
        if (rc == CORIO_ESHUTDOWN)
            break;
        if (rc != 0) {
            atomic_store(&m->bad_rc, rc);
            break;
        }
        long v = ID(it);
        int p = (int)(v / m->per);
        /* One consumer sees each producer's items in put order. */
        if (v <= last[p])
            atomic_fetch_add(&m->order_errors, 1);
        last[p] = v;
        atomic_fetch_add(&m->seen[v], 1);
        atomic_fetch_add(&m->count, 1);
        atomic_fetch_add(&m->sum, v);
        if (in_task && k % 89 == 0)
            CHECK_EQ(corio_yield(), 0);
    }
}

static void *producer_thread(void *arg)
{
    role *r = arg;
    produce(r->m, r->id, 0);
    post_byte(r->m->done[1]);
    return NULL;
}

static int producer_task(void *arg)
{
    role *r = arg;
    produce(r->m, r->id, 1);
    return 0;
}

static void *consumer_thread(void *arg)
{
    consume(((role *)arg)->m, 0);
    return NULL;
}

static int consumer_task(void *arg)
{
    consume(((role *)arg)->m, 1);
    return 0;
}

static int many_main(void *arg)
{
    many *m = arg;
    role pr[NP], cr[NC];
    pthread_t pth[NPT], cth[NCT];
    corio_task *pt[NPK], *ct[NCK];
    m->c = mkc(16);
    make_pipe(m->done);
    for (int i = 0; i < NC; i++) {
        cr[i] = (role){m, i};
        if (i < NCT)
            CHECK_EQ(pthread_create(&cth[i], NULL, consumer_thread, &cr[i]), 0);
        else
            CHECK_EQ(corio_task_spawn(&ct[i - NCT], consumer_task, &cr[i]), 0);
    }
    for (int i = 0; i < NP; i++) {
        pr[i] = (role){m, i};
        if (i < NPT)
            CHECK_EQ(pthread_create(&pth[i], NULL, producer_thread, &pr[i]), 0);
        else
            CHECK_EQ(corio_task_spawn(&pt[i - NPT], producer_task, &pr[i]), 0);
    }
    CHECK_EQ(corio_gather(pt, NPK, NULL), 0);
    for (int i = 0; i < NPT; i++)
        await_byte(m->done[0]);
    corio_chan_shutdown(
        m->c); /* every put is done: consumers drain, then stop */
    CHECK_EQ(corio_gather(ct, NCK, NULL), 0);
    for (int i = 0; i < NPT; i++)
        CHECK_EQ(pthread_join(pth[i], NULL), 0);
    for (int i = 0; i < NCT; i++)
        CHECK_EQ(pthread_join(cth[i], NULL), 0);
    corio_chan_free(m->c);
    close(m->done[0]);
    close(m->done[1]);
    return 0;
}

TEST_T(chan, many_items_through_threads_and_tasks, 60)
{
    static many m;
    m.per = (tst_slow_env() ? 20000 : 100000) / NP;
    long total = m.per * NP;
    m.seen = calloc((size_t)total, sizeof *m.seen);
    CHECK_EQ(tst_run(many_main, &m), 0);
    CHECK_EQ(atomic_load(&m.bad_rc), 0);
    CHECK_EQ(atomic_load(&m.count), total);
    CHECK_EQ(atomic_load(&m.sum), total * (total - 1) / 2);
    CHECK_EQ(atomic_load(&m.order_errors), 0);
    for (long v = 0; v < total; v++)
        if (atomic_load(&m.seen[v]) != 1)
            CHECK_EQ(atomic_load(&m.seen[v]), 1);
    free(m.seen);
}

/* ---- tasks of two loops -------------------------------------------------- */

typedef struct two {
    corio_chan *c;
    int n;
    long sum;
    int in_order;
} two;

static int other_loop_main(void *arg)
{
    two *t = arg;
    for (int i = 0; i < t->n; i++)
        CHECK_EQ(corio_chan_put(t->c, ITEM(i)), 0);
    corio_chan_shutdown(t->c);
    return 0;
}

static void *other_loop(void *arg)
{
    return (void *)(intptr_t)tst_run(other_loop_main, arg);
}

static int two_main(void *arg)
{
    two *t = arg;
    pthread_t th;
    void *it;
    CHECK_EQ(pthread_create(&th, NULL, other_loop, t), 0);
    t->in_order = 1;
    for (long i = 0;; i++) {
        int rc = corio_chan_get(t->c, &it);
        if (rc == CORIO_ESHUTDOWN)
            break;
        CHECK_EQ(rc, 0);
        if (ID(it) != i)
            t->in_order = 0;
        t->sum += ID(it);
    }
    void *res;
    CHECK_EQ(pthread_join(th, &res), 0);
    CHECK_EQ((int)(intptr_t)res, 0);
    return 0;
}

TEST(chan, tasks_of_two_loops)
{
    static two t = {.n = 20000};
    t.c = mkc(3);
    CHECK_EQ(tst_run(two_main, &t), 0);
    CHECK_EQ(t.in_order, 1);
    CHECK_EQ(t.sum, (long)t.n * (t.n - 1) / 2);
    corio_chan_free(t.c);
}

/* ---- try variants -------------------------------------------------------- */

static void try_checks(void)
{
    corio_chan *c = mkc(2);
    void *it = NULL;
    CHECK_EQ(corio_chan_try_get(c, &it), -EAGAIN);
    CHECK_EQ(corio_chan_try_put(c, ITEM(1)), 0);
    CHECK_EQ(corio_chan_try_put(c, ITEM(2)), 0);
    CHECK_EQ(corio_chan_try_put(c, ITEM(3)), -EAGAIN);
    CHECK_EQ(corio_chan_try_get(c, &it), 0);
    CHECK_EQ(ID(it), 1);
    CHECK_EQ(corio_chan_put(c, ITEM(4)), 0); /* room: no wait */
    CHECK_EQ(corio_chan_get(c, &it), 0);
    CHECK_EQ(ID(it), 2);
    CHECK_EQ(corio_chan_try_put(c, ITEM(5)), 0);
    corio_chan_shutdown(c);
    CHECK_EQ(corio_chan_try_put(c, ITEM(6)), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_chan_put(c, ITEM(6)), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_chan_try_get(c, &it), 0); /* drain first */
    CHECK_EQ(ID(it), 4);
    CHECK_EQ(corio_chan_get(c, &it), 0);
    CHECK_EQ(ID(it), 5);
    CHECK_EQ(corio_chan_try_get(c, &it), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_chan_get(c, &it), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_chan_try_get(c, NULL), -EINVAL);
    CHECK_EQ(corio_chan_try_put(NULL, ITEM(0)), -EINVAL);
    corio_chan_free(c);
    corio_chan_free(NULL);
    c = (corio_chan *)&c;
    CHECK_EQ(corio_chan_new(&c, 0), -EINVAL);
    CHECK(c == NULL);
}

static int try_main(void *arg)
{
    (void)arg;
    try_checks();
    return 0;
}

TEST(chan, try_variants_in_a_task)
{
    CHECK_EQ(tst_run(try_main, NULL), 0);
}

TEST(chan, try_variants_with_no_loop)
{
    try_checks();
}

/* ---- close wakes everyone ------------------------------------------------ */

typedef struct closing {
    corio_chan *c;
    int ready[2]; /* thread -> loop: about to wait */
    int nitems;   /* items the getters should drain before CORIO_ESHUTDOWN */
    atomic_int rc[8];
    atomic_int drained;
} closing;

typedef struct cl_role {
    closing *s;
    int i;
    int put; /* 1: putter, 0: getter */
} cl_role;

static int cl_op(cl_role *r)
{
    void *it;
    if (r->put)
        return corio_chan_put(r->s->c, ITEM(100 + r->i));
    for (;;) {
        int rc = corio_chan_get(r->s->c, &it);
        if (rc != 0)
            return rc;
        atomic_fetch_add(&r->s->drained, 1);
    }
}

static void *cl_thread(void *arg)
{
    cl_role *r = arg;
    post_byte(r->s->ready[1]);
    atomic_store(&r->s->rc[r->i], cl_op(r));
    return NULL;
}

static int cl_task(void *arg)
{
    cl_role *r = arg;
    atomic_store(&r->s->rc[r->i], cl_op(r));
    return 0;
}

static int close_case(void *arg)
{
    closing *s = arg;
    int put = s->nitems > 0; /* full channel: putters wait; else getters */
    cl_role roles[4];
    pthread_t th[2];
    corio_task *t[2];
    make_pipe(s->ready);
    for (int i = 0; i < 4; i++)
        atomic_store(&s->rc[i], 1);
    for (int i = 0; i < s->nitems; i++)
        CHECK_EQ(corio_chan_put(s->c, ITEM(i)), 0);
    for (int i = 0; i < 2; i++) {
        roles[i] = (cl_role){s, i, put};
        CHECK_EQ(pthread_create(&th[i], NULL, cl_thread, &roles[i]), 0);
        roles[2 + i] = (cl_role){s, 2 + i, put};
        CHECK_EQ(corio_task_spawn(&t[i], cl_task, &roles[2 + i]), 0);
    }
    await_byte(s->ready[0]);
    await_byte(s->ready[0]);
    CHECK_EQ(corio_sleep(30 * CORIO_MS), 0); /* real clock: the threads block */
    for (int i = 0; i < 4; i++)
        CHECK_EQ(atomic_load(&s->rc[i]), 1); /* everyone is waiting */
    corio_chan_shutdown(s->c);
    CHECK_EQ(corio_gather(t, 2, NULL), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(atomic_load(&s->rc[i]), CORIO_ESHUTDOWN);
    close(s->ready[0]);
    close(s->ready[1]);
    return 0;
}

TEST(chan, close_wakes_every_getter)
{
    static closing s;
    corio_options o = {.virtual_clock = 0};
    s.c = mkc(2);
    CHECK_EQ(tst_run_ex(&o, close_case, &s), 0);
    corio_chan_free(s.c);
}

/* Putters waiting on a full channel all fail; the items already in it are
 * drained by getters, which then fail too. */
static int drain_after_close(void *arg)
{
    closing *s = arg;
    void *it;
    CHECK_EQ(corio_chan_get(s->c, &it), 0);
    CHECK_EQ(ID(it), 0);
    CHECK_EQ(corio_chan_get(s->c, &it), 0);
    CHECK_EQ(ID(it), 1);
    CHECK_EQ(corio_chan_get(s->c, &it), CORIO_ESHUTDOWN);
    return 0;
}

TEST(chan, close_wakes_every_putter_and_getters_drain)
{
    static closing s = {.nitems = 2};
    corio_options o = {.virtual_clock = 0};
    s.c = mkc(2);
    CHECK_EQ(tst_run_ex(&o, close_case, &s), 0);
    CHECK_EQ(tst_run(drain_after_close, &s), 0);
    corio_chan_free(s.c);
}

/* ---- parked on a channel with no timer: not a deadlock ------------------- */

typedef struct late {
    corio_chan *c;
} late;

static void *late_put(void *arg)
{
    tst_nap_ms(20); /* the loop has gone idle, its only task parked in get */
    CORIO_IGNORE(corio_chan_put(((late *)arg)->c, ITEM(42)));
    return NULL;
}

static int idle_main(void *arg)
{
    late *l = arg;
    pthread_t th;
    void *it;
    CHECK_EQ(pthread_create(&th, NULL, late_put, l), 0);
    CHECK_EQ(corio_chan_get(l->c, &it), 0); /* -ECANCELED if "deadlocked" */
    CHECK_EQ(ID(it), 42);
    CHECK_EQ(pthread_join(th, NULL), 0);
    return 0;
}

TEST(chan, task_parked_on_a_chan_is_not_deadlocked)
{
    late l;
    l.c = mkc(1);
    CHECK_EQ(tst_run(idle_main, &l), 0);
    corio_chan_free(l.c);
}

/* ---- cancellation and timeouts ------------------------------------------- */

typedef struct op {
    corio_chan *c;
    int put;
    void *item;
    int rc;
    int64_t scope; /* > 0: inside a timeout scope */
    int resumed;
} op;

static int op_task(void *arg)
{
    op *o = arg;
    if (o->scope)
        CHECK_EQ(corio_timeout_begin(o->scope), 0);
    o->rc =
        o->put ? corio_chan_put(o->c, o->item) : corio_chan_get(o->c, &o->item);
    if (o->scope)
        corio_timeout_end();
    o->resumed = 1;
    return 0;
}

static int cancel_simple_main(void *arg)
{
    (void)arg;
    corio_chan *c = mkc(1);
    corio_task *t;
    void *it;
    /* A getter cancelled while waiting. */
    op g = {c, 0, NULL, 1, 0, 0};
    CHECK_EQ(corio_task_spawn(&t, op_task, &g), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(g.rc, -ECANCELED);
    /* A getter timed out. */
    op g2 = {c, 0, NULL, 1, 50 * CORIO_MS, 0};
    int64_t t0 = corio_now();
    CHECK_EQ(corio_task_spawn(&t, op_task, &g2), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(g2.rc, -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 50 * CORIO_MS);
    /* A putter on a full channel cancelled, then one timed out: their
     * items are not queued. */
    CHECK_EQ(corio_chan_put(c, ITEM(1)), 0);
    op p = {c, 1, ITEM(2), 1, 0, 0};
    CHECK_EQ(corio_task_spawn(&t, op_task, &p), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(p.rc, -ECANCELED);
    op p2 = {c, 1, ITEM(3), 1, 50 * CORIO_MS, 0};
    CHECK_EQ(corio_task_spawn(&t, op_task, &p2), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(p2.rc, -ETIMEDOUT);
    CHECK_EQ(corio_chan_try_get(c, &it), 0);
    CHECK_EQ(ID(it), 1);
    CHECK_EQ(corio_chan_try_get(c, &it), -EAGAIN);
    /* Already cancelled: items there are still taken, waits fail. */
    CHECK_EQ(corio_chan_put(c, ITEM(4)), 0);
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_chan_get(c, &it), 0);
    CHECK_EQ(ID(it), 4);
    CHECK_EQ(corio_chan_get(c, &it), -ECANCELED);
    CHECK_EQ(corio_chan_put(c, ITEM(5)), 0);
    CHECK_EQ(corio_chan_put(c, ITEM(6)), -ECANCELED);
    CHECK_EQ(corio_chan_try_get(c, &it), 0);
    CHECK_EQ(ID(it), 5);
    corio_chan_free(c);
    return 0;
}

TEST(chan, waiting_task_cancelled_or_timed_out)
{
    CHECK_EQ(tst_run(cancel_simple_main, NULL), 0);
}

/* The wake-up hand-shake, moment by moment.  A thread changes the channel
 * (put for a parked getter, get for a parked putter), which "kicks" the
 * task with a post to its loop; the task is cancelled
 *   KICK_PENDING: after the kick was sent, before the loop delivered it
 *                 (the loop thread is held in pthread_join meanwhile);
 *   WOKEN:        after the kick was delivered, before the task resumed
 *                 (a remote call posted right behind the kick cancels it);
 *   BEFORE:       before the thread's change.
 * Nothing may be lost either way, and a kicked-then-cancelled task must
 * not be left parked. */
enum { BEFORE, KICK_PENDING, WOKEN };

typedef struct shake {
    corio_chan *c;
    corio_remote *r;
    corio_task *victim;
    int when;
    int put_side; /* 1: the victim is a putter on a full channel */
    int thread_rc;
    void *thread_item;
} shake;

static void cancel_victim(void *arg)
{
    corio_task_cancel(((shake *)arg)->victim);
}

static void *shake_thread(void *arg)
{
    shake *s = arg;
    if (s->put_side)
        s->thread_rc = corio_chan_try_get(s->c, &s->thread_item);
    else
        s->thread_rc = corio_chan_try_put(s->c, ITEM(7));
    if (s->when == WOKEN)
        corio_remote_call(s->r, cancel_victim, s);
    return NULL;
}

static int shake_main(void *arg)
{
    shake *s = arg;
    pthread_t th;
    void *it;
    s->c = mkc(1);
    CHECK_EQ(corio_remote_open(&s->r), 0);
    if (s->put_side)
        CHECK_EQ(corio_chan_put(s->c, ITEM(1)), 0); /* full */
    op v = {s->c, s->put_side, ITEM(2), 1, 0, 0};
    CHECK_EQ(corio_task_spawn(&s->victim, op_task, &v), 0);
    CHECK_EQ(corio_yield(), 0); /* the victim parks */
    CHECK_EQ(v.resumed, 0);
    if (s->when == BEFORE)
        corio_task_cancel(s->victim);
    CHECK_EQ(pthread_create(&th, NULL, shake_thread, s), 0);
    CHECK_EQ(pthread_join(th, NULL), 0); /* holds the loop: posts wait */
    CHECK_EQ(s->thread_rc, 0);
    if (s->when == KICK_PENDING)
        corio_task_cancel(s->victim);
    CHECK_EQ(corio_task_join(s->victim, NULL), 0); /* not left parked */
    /* Conservation. */
    if (s->put_side) {
        CHECK_EQ(ID(s->thread_item), 1); /* the thread took the old item */
        if (v.rc == 0) {                 /* the victim's is in iff it said so */
            CHECK_EQ(corio_chan_try_get(s->c, &it), 0);
            CHECK_EQ(ID(it), 2);
        }
    } else if (v.rc == 0) {
        CHECK_EQ(ID(v.item), 7); /* the victim has the thread's item... */
    } else {
        CHECK_EQ(corio_chan_try_get(s->c, &it),
                 0); /* ... or it is still here */
        CHECK_EQ(ID(it), 7);
    }
    CHECK_EQ(corio_chan_try_get(s->c, &it), -EAGAIN);
    int want = s->when == WOKEN ? 0 : -ECANCELED;
    CHECK_EQ(v.rc, want);
    corio_remote_close(s->r);
    corio_chan_free(s->c);
    return 0;
}

static void shake_case(int when, int put_side)
{
    shake s;
    memset(&s, 0, sizeof s);
    s.when = when;
    s.put_side = put_side;
    CHECK_EQ(tst_run(shake_main, &s), 0);
}

TEST(chan, getter_cancelled_at_each_moment_of_the_wake_up)
{
    shake_case(BEFORE, 0);
    shake_case(KICK_PENDING, 0);
    shake_case(WOKEN, 0);
}

TEST(chan, putter_cancelled_at_each_moment_of_the_wake_up)
{
    shake_case(BEFORE, 1);
    shake_case(KICK_PENDING, 1);
    shake_case(WOKEN, 1);
}

/* Two getters wait; one item arrives and both are kicked; the first is
 * cancelled before its kick is delivered.  The item must reach the second
 * without any further put (no lost wake-up). */
typedef struct pass_on {
    corio_chan *c;
} pass_on;

static void *put_seven(void *arg)
{
    CORIO_IGNORE(corio_chan_try_put(arg, ITEM(7)));
    return NULL;
}

static int pass_on_main(void *arg)
{
    (void)arg;
    corio_chan *c = mkc(1);
    op g1 = {c, 0, NULL, 1, 0, 0}, g2 = {c, 0, NULL, 1, 0, 0};
    corio_task *t1, *t2;
    pthread_t th;
    CHECK_EQ(corio_task_spawn(&t1, op_task, &g1), 0);
    CHECK_EQ(corio_task_spawn(&t2, op_task, &g2), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(pthread_create(&th, NULL, put_seven, c), 0);
    CHECK_EQ(pthread_join(th, NULL), 0); /* kicks are pending */
    corio_task_cancel(t1);
    CHECK_EQ(corio_task_join(t1, NULL), 0);
    CHECK_EQ(g1.rc, -ECANCELED);
    CHECK_EQ(corio_task_join(t2, NULL), 0);
    CHECK_EQ(g2.rc, 0);
    CHECK_EQ(ID(g2.item), 7);
    corio_chan_free(c);
    return 0;
}

TEST_T(chan, kicked_getter_cancelled_passes_the_item_on, 10)
{
    CHECK_EQ(tst_run(pass_on_main, NULL), 0);
}

/* A kicked waiter is woken even while another task keeps yielding (the
 * loop must look at posts between passes, as it does for I/O). */
typedef struct starve {
    corio_chan *c;
    op g;
} starve;

static void *put_one(void *arg)
{
    CORIO_IGNORE(corio_chan_put(arg, ITEM(9)));
    return NULL;
}

static int starve_main(void *arg)
{
    starve *s = arg;
    pthread_t th;
    corio_task *t;
    s->c = mkc(1);
    s->g = (op){s->c, 0, NULL, 1, 0, 0};
    CHECK_EQ(corio_task_spawn(&t, op_task, &s->g), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(pthread_create(&th, NULL, put_one, s->c), 0);
    CHECK_EQ(pthread_join(th, NULL), 0); /* the getter has been kicked */
    int64_t end = tst_real_ns() + CORIO_SECOND / 2;
    while (!s->g.resumed && tst_real_ns() < end)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(s->g.resumed, 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(s->g.rc, 0);
    corio_chan_free(s->c);
    return 0;
}

TEST(chan, kicked_waiter_not_starved_by_a_yielding_task)
{
    static starve s;
    CHECK_EQ(tst_run(starve_main, &s), 0);
}

/* ---- sweeps: random cancellation while threads keep going ---------------- */

static uint64_t rng = 777;
#define rnd() tst_rand(&rng)

#define NSLOTS 8

/* Getter side: threads put every item; tasks get, and are cancelled (or
 * time out) at random.  Every item is got exactly once. */
typedef struct gsweep {
    corio_chan *c;
    long per, total;
    unsigned char *got; /* loop thread only */
    int done[2];
    long interrupted, taken;
} gsweep;

typedef struct gs_role {
    gsweep *s;
    int id;
} gs_role;

static void *gs_producer(void *arg)
{
    gs_role *r = arg;
    for (long i = 0; i < r->s->per; i++)
        CORIO_IGNORE(corio_chan_put(r->s->c, ITEM(r->id * r->s->per + i)));
    post_byte(r->s->done[1]);
    return NULL;
}

static int gs_getter(void *arg)
{
    gsweep *s = arg;
    void *it;
    int scoped = rnd() % 4 == 0;
    if (scoped)
        CHECK_EQ(corio_timeout_begin((int64_t)(rnd() % 3) * CORIO_US), 0);
    for (;;) {
        int rc = corio_chan_get(s->c, &it);
        if (rc == 0) {
            s->got[ID(it)]++;
            s->taken++;
            continue;
        }
        if (rc == -ECANCELED || rc == -ETIMEDOUT)
            s->interrupted++;
        else
            CHECK_EQ(rc, CORIO_ESHUTDOWN);
        break;
    }
    if (scoped)
        corio_timeout_end();
    return 0;
}

static int gs_main(void *arg)
{
    gsweep *s = arg;
    enum { NT = 3 };
    pthread_t th[NT];
    gs_role roles[NT];
    corio_task *slot[NSLOTS] = {0};
    s->c = mkc(4);
    make_pipe(s->done);
    for (int i = 0; i < NT; i++) {
        roles[i] = (gs_role){s, i};
        CHECK_EQ(pthread_create(&th[i], NULL, gs_producer, &roles[i]), 0);
    }
    /* Churn until every producer is done: cancel a random getter and
     * replace it, at random moments. */
    int producers_left = NT;
    struct pollfd pf = {s->done[0], POLLIN, 0};
    while (producers_left > 0) {
        int i = (int)(rnd() % NSLOTS);
        if (slot[i] && rnd() % 4 == 0) {
            corio_task_cancel(slot[i]);
            CHECK_EQ(corio_task_join(slot[i], NULL), 0);
            slot[i] = NULL;
        }
        if (!slot[i])
            CHECK_EQ(corio_task_spawn(&slot[i], gs_getter, s), 0);
        if (rnd() % 2)
            CHECK_EQ(corio_yield(), 0);
        else
            CHECK_EQ(corio_sleep((int64_t)(rnd() % 3) * CORIO_US), 0);
        if (poll(&pf, 1, 0) == 1) {
            char b;
            CHECK_EQ(read(s->done[0], &b, 1), 1);
            producers_left--;
        }
    }
    corio_chan_shutdown(s->c); /* the getters still alive drain it */
    for (int i = 0; i < NSLOTS; i++)
        if (slot[i])
            CHECK_EQ(corio_task_join(slot[i], NULL), 0);
    void *it;
    while (corio_chan_try_get(s->c, &it) == 0)
        s->got[ID(it)]++;
    for (int i = 0; i < NT; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    corio_chan_free(s->c);
    close(s->done[0]);
    close(s->done[1]);
    return 0;
}

TEST_T(chan, cancel_sweep_getters_while_threads_put, 60)
{
    static gsweep s;
    s.per = tst_slow_env() ? 1500 : 5000;
    s.total = 3 * s.per;
    s.got = calloc((size_t)s.total, 1);
    CHECK_EQ(tst_run(gs_main, &s), 0);
    for (long v = 0; v < s.total; v++)
        if (s.got[v] != 1)
            CHECK_EQ(s.got[v], 1);
    CHECK(s.interrupted > 0);
    free(s.got);
}

/* Putter side: tasks put, and are cancelled (or time out) at random;
 * threads get.  An item whose put succeeded is got exactly once; an item
 * whose put failed is nowhere. */
typedef struct psweep {
    corio_chan *c;
    long next, limit;  /* item ids: next to use, how many there are */
    long nok, target;  /* successful puts: so far, wanted */
    unsigned char *ok; /* loop thread only: put returned 0 */
    atomic_uchar *got; /* consumer threads */
    long interrupted;
} psweep;

static void *ps_consumer(void *arg)
{
    psweep *s = arg;
    void *it;
    while (corio_chan_get(s->c, &it) == 0)
        atomic_fetch_add(&s->got[ID(it)], 1);
    return NULL;
}

static int ps_putter(void *arg)
{
    psweep *s = arg;
    int scoped = rnd() % 4 == 0;
    if (scoped)
        CHECK_EQ(corio_timeout_begin((int64_t)(rnd() % 3) * CORIO_US), 0);
    while (s->nok < s->target && s->next < s->limit) {
        long v = s->next++;
        int rc = corio_chan_put(s->c, ITEM(v));
        if (rc == 0) {
            s->ok[v] = 1;
            s->nok++;
            continue;
        }
        CHECK(rc == -ECANCELED || rc == -ETIMEDOUT);
        s->interrupted++;
        break;
    }
    if (scoped)
        corio_timeout_end();
    return 0;
}

static int ps_main(void *arg)
{
    psweep *s = arg;
    enum { NT = 2 };
    pthread_t th[NT];
    corio_task *slot[NSLOTS] = {0};
    s->c = mkc(4);
    for (int i = 0; i < NT; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, ps_consumer, s), 0);
    while (s->nok < s->target && s->next < s->limit) {
        int i = (int)(rnd() % NSLOTS);
        if (slot[i] && rnd() % 4 == 0) {
            corio_task_cancel(slot[i]);
            CHECK_EQ(corio_task_join(slot[i], NULL), 0);
            slot[i] = NULL;
        }
        if (!slot[i])
            CHECK_EQ(corio_task_spawn(&slot[i], ps_putter, s), 0);
        if (rnd() % 2)
            CHECK_EQ(corio_yield(), 0);
        else
            CHECK_EQ(corio_sleep((int64_t)(rnd() % 3) * CORIO_US), 0);
    }
    for (int i = 0; i < NSLOTS; i++)
        if (slot[i])
            CHECK_EQ(corio_task_join(slot[i], NULL), 0);
    corio_chan_shutdown(s->c); /* consumers drain, then stop */
    for (int i = 0; i < NT; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    corio_chan_free(s->c);
    return 0;
}

TEST_T(chan, cancel_sweep_putters_while_threads_get, 60)
{
    static psweep s;
    s.target = tst_slow_env() ? 2000 : 8000;
    s.limit = 100 * s.target;
    s.ok = calloc((size_t)s.limit, 1);
    s.got = calloc((size_t)s.limit, sizeof *s.got);
    CHECK_EQ(tst_run(ps_main, &s), 0);
    long ok = 0;
    for (long v = 0; v < s.limit; v++) {
        if (atomic_load(&s.got[v]) != s.ok[v])
            CHECK_EQ(atomic_load(&s.got[v]), s.ok[v]);
        ok += s.ok[v];
    }
    CHECK(ok >= s.target); /* the sweep did move items */
    CHECK(s.interrupted > 0);
    free(s.ok);
    free(s.got);
}

/* ---- regressions found in code review ---------------------------------- */

/* The same for a channel's kick (a post too): a getter parked on an empty
 * channel must see a thread's put while another task keeps yielding. */

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
    tst_nap_ms(20);
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
    int64_t end = tst_real_ns() + 2 * CORIO_SECOND;
    while (!atomic_load(&kick_got) && tst_real_ns() < end)
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

TEST(chan, kick_reaches_a_task_while_another_keeps_yielding)
{
    CHECK_EQ(tst_run(yield_for_chan_main, NULL), 0);
}

/* A constructor dereferenced a NULL out-parameter instead of returning
 * -EINVAL (STYLE.md: misuse returns an error, never aborts).  The check
 * comes first, in a loop or not. */
TEST(chan, new_null_out_parameter_is_einval)
{
    CHECK_EQ(corio_chan_new(NULL, 1), -EINVAL);
}
