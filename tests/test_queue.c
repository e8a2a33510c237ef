/* test_queue.c — corio_queue: FIFO, LIFO and priority order (stable for
 * equal priorities); bounded puts suspend and resume; unbounded growth;
 * try_put/try_get; task_done/join as in asyncio; close (getters drain,
 * putters fail at once); a cancelled task still takes a queued item; the
 * seeds' producer/consumer; free with waiters; and the cancel-safety sweeps:
 * a getter or putter at every position k of N waiters is cancelled (or
 * timed out by a scope) before its grant, in the tick of its grant (in both
 * orders) and after its grant but before it resumes, and conservation is
 * asserted: every item put is got exactly once or is still queued, every
 * item refused is nowhere, the task_done count matches, and every task
 * finishes.
 *
 * Everything runs on the virtual clock; items are small integers cast to
 * pointers (never NULL). */
#include "tst.h"

#include <string.h>

#define ITEM(i) ((void *)(intptr_t)((i) + 1))
#define ID(p) ((int)(intptr_t)(p)-1)

static corio_queue *mkq(int order, size_t capacity)
{
    corio_queue *q = NULL;
    corio_queue_opts o = {order, capacity, NULL};
    CHECK_EQ(corio_queue_new(&q, &o), 0);
    CHECK(q != NULL);
    return q;
}

/* ---- order --------------------------------------------------------------- */

static int fifo_lifo_main(void *arg)
{
    (void)arg;
    corio_queue *f = mkq(CORIO_QUEUE_FIFO, 0), *l = mkq(CORIO_QUEUE_LIFO, 0);
    void *it;
    /* Interleave puts and gets so the FIFO ring wraps and grows. */
    int next_put = 0, next_get = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 7; i++) {
            CHECK_EQ(corio_queue_put(f, ITEM(next_put)), 0);
            next_put++;
        }
        for (int i = 0; i < 5; i++) {
            CHECK_EQ(corio_queue_get(f, &it), 0);
            CHECK_EQ(ID(it), next_get);
            next_get++;
        }
    }
    while (next_get < next_put) {
        CHECK_EQ(corio_queue_try_get(f, &it), 0);
        CHECK_EQ(ID(it), next_get);
        next_get++;
    }
    CHECK_EQ(corio_queue_try_get(f, &it), -EAGAIN);

    for (int i = 0; i < 40; i++)
        CHECK_EQ(corio_queue_put(l, ITEM(i)), 0);
    CHECK_EQ(corio_queue_size(l), 40);
    for (int i = 39; i >= 20; i--) {
        CHECK_EQ(corio_queue_get(l, &it), 0);
        CHECK_EQ(ID(it), i);
    }
    CHECK_EQ(corio_queue_put(l, ITEM(100)), 0); /* last in, first out */
    CHECK_EQ(corio_queue_get(l, &it), 0);
    CHECK_EQ(ID(it), 100);
    for (int i = 19; i >= 0; i--) {
        CHECK_EQ(corio_queue_get(l, &it), 0);
        CHECK_EQ(ID(it), i);
    }
    CHECK_EQ(corio_queue_size(l), 0);
    corio_queue_free(f);
    corio_queue_free(l);
    return 0;
}

TEST(queue, fifo_and_lifo_order)
{
    CHECK_EQ(tst_run(fifo_lifo_main, NULL), 0);
}

typedef struct pitem {
    int prio, id;
} pitem;

static int by_prio(const void *a, const void *b)
{
    const pitem *x = a, *y = b;
    return (x->prio > y->prio) - (x->prio < y->prio);
}

static int priority_main(void *arg)
{
    (void)arg;
    enum { N = 300 };
    static pitem items[N];
    corio_queue *q = NULL;
    corio_queue_opts o = {CORIO_QUEUE_PRIORITY, 0, by_prio};
    CHECK_EQ(corio_queue_new(&q, &o), 0);
    /* Priorities in a scrambled order with many equal ones: equal
     * priorities must leave in put order (id increasing). */
    for (int i = 0; i < N; i++) {
        items[i].prio = (i * 7919) % 5;
        items[i].id = i;
        CHECK_EQ(corio_queue_put(q, &items[i]), 0);
    }
    pitem *prev = NULL, *p;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(corio_queue_get(q, (void **)&p), 0);
        if (prev) {
            CHECK(prev->prio <= p->prio);
            if (prev->prio == p->prio)
                CHECK(prev->id < p->id);
        }
        prev = p;
    }
    /* Interleaved: a smaller priority put later overtakes. */
    pitem a = {5, 0}, b = {5, 1}, c = {1, 2}, d = {5, 3}, e = {0, 4};
    CHECK_EQ(corio_queue_put(q, &a), 0);
    CHECK_EQ(corio_queue_put(q, &b), 0);
    CHECK_EQ(corio_queue_put(q, &c), 0);
    CHECK_EQ(corio_queue_get(q, (void **)&p), 0);
    CHECK(p == &c);
    CHECK_EQ(corio_queue_put(q, &d), 0);
    CHECK_EQ(corio_queue_put(q, &e), 0);
    pitem *want[] = {&e, &a, &b, &d};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(corio_queue_get(q, (void **)&p), 0);
        CHECK(p == want[i]);
    }
    corio_queue_free(q);

    /* Bad options. */
    corio_queue_opts bad1 = {CORIO_QUEUE_PRIORITY, 0, NULL};
    corio_queue_opts bad2 = {7, 0, NULL};
    q = (corio_queue *)&a;
    CHECK_EQ(corio_queue_new(&q, &bad1), -EINVAL);
    CHECK(q == NULL);
    q = (corio_queue *)&a;
    CHECK_EQ(corio_queue_new(&q, &bad2), -EINVAL);
    CHECK(q == NULL);
    CHECK_EQ(corio_queue_new(&q, NULL), 0); /* NULL: unbounded FIFO */
    corio_queue_free(q);
    corio_queue_free(NULL);
    return 0;
}

TEST(queue, priority_order_stable_for_equal)
{
    CHECK_EQ(tst_run(priority_main, NULL), 0);
}

/* ---- bounded and unbounded ----------------------------------------------- */

typedef struct bput {
    corio_queue *q;
    int n;
    int done; /* puts completed */
    int rc;
} bput;

static int bounded_putter(void *arg)
{
    bput *b = arg;
    for (int i = 0; i < b->n; i++) {
        int rc = corio_queue_put(b->q, ITEM(i));
        if (rc < 0)
            return b->rc = rc;
        b->done++;
    }
    return 0;
}

static int bounded_main(void *arg)
{
    (void)arg;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 2);
    bput b = {q, 6, 0, 0};
    corio_task *t;
    void *it;
    CHECK_EQ(corio_task_spawn(&t, bounded_putter, &b), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(b.done, 2); /* suspended on the third put */
    CHECK_EQ(corio_queue_size(q), 2);
    CHECK_EQ(corio_queue_try_put(q, ITEM(99)), -EAGAIN);
    int64_t t0 = corio_now();
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(corio_queue_get(q, &it), 0);
        CHECK_EQ(ID(it), i);
        /* The get freed a slot: the waiting putter's item took it at once. */
        CHECK_EQ(corio_queue_size(q), i < 4 ? 2 : 5 - i);
        CHECK_EQ(b.done, i < 4 ? i + 2 : 6);
        CHECK_EQ(corio_yield(), 0); /* the putter resumes and suspends again */
        CHECK_EQ(b.done, i + 3 < 6 ? i + 3 : 6);
    }
    CHECK_EQ(corio_now(), t0); /* no time passed: nothing polls */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(b.rc, 0);
    corio_queue_free(q);
    return 0;
}

TEST(queue, bounded_put_suspends_until_a_get_frees_a_slot)
{
    CHECK_EQ(tst_run(bounded_main, NULL), 0);
}

static int flag_task(void *arg)
{
    *(int *)arg = 1;
    return 0;
}

static int unbounded_main(void *arg)
{
    (void)arg;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 0);
    int ran = 0;
    corio_task *t;
    void *it;
    CHECK_EQ(corio_task_spawn(&t, flag_task, &ran), 0);
    for (int i = 0; i < 100000; i++)
        CHECK_EQ(corio_queue_put(q, ITEM(i)), 0);
    CHECK_EQ(ran, 0); /* never suspended */
    CHECK_EQ(corio_queue_size(q), 100000);
    for (int i = 0; i < 100000; i++) {
        CHECK_EQ(corio_queue_get(q, &it), 0);
        CHECK_EQ(ID(it), i);
    }
    CHECK_EQ(ran, 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_queue_free(q);
    return 0;
}

TEST(queue, unbounded_never_suspends_a_putter)
{
    CHECK_EQ(tst_run(unbounded_main, NULL), 0);
}

/* ---- try_put / try_get --------------------------------------------------- */

typedef struct getter_rec {
    corio_queue *q;
    int rc;
    void *item;
    int done;
} getter_rec;

static int one_get(void *arg)
{
    getter_rec *g = arg;
    g->rc = corio_queue_get(g->q, &g->item);
    g->done = 1;
    return 0;
}

static int try_main(void *arg)
{
    (void)arg;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 1);
    void *it = NULL;
    CHECK_EQ(corio_queue_try_get(q, &it), -EAGAIN);
    CHECK_EQ(corio_queue_try_put(q, ITEM(1)), 0);
    CHECK_EQ(corio_queue_try_put(q, ITEM(2)), -EAGAIN);
    CHECK_EQ(corio_queue_size(q), 1);
    CHECK_EQ(corio_queue_try_get(q, &it), 0);
    CHECK_EQ(ID(it), 1);
    CHECK_EQ(corio_queue_try_get(q, &it), -EAGAIN);
    CHECK_EQ(corio_queue_try_get(q, NULL), -EINVAL);
    CHECK_EQ(corio_queue_try_put(NULL, ITEM(0)), -EINVAL);

    /* try_put hands the item to a waiting getter. */
    getter_rec g = {q, 1, NULL, 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, one_get, &g), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(g.done, 0);
    CHECK_EQ(corio_queue_try_put(q, ITEM(7)), 0);
    CHECK_EQ(corio_queue_size(q), 0); /* given, not queued */
    CHECK_EQ(corio_queue_try_put(q, ITEM(8)), 0);
    CHECK_EQ(corio_queue_try_put(q, ITEM(9)), -EAGAIN);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(g.rc, 0);
    CHECK_EQ(ID(g.item), 7);
    CHECK_EQ(corio_queue_try_get(q, &it), 0);
    CHECK_EQ(ID(it), 8);
    corio_queue_free(q);
    return 0;
}

TEST(queue, try_put_and_try_get_never_suspend)
{
    CHECK_EQ(tst_run(try_main, NULL), 0);
}

TEST(queue, suspending_calls_outside_a_task)
{
    corio_queue *q = NULL;
    void *it;
    CHECK_EQ(corio_queue_new(&q, NULL), 0);
    CHECK_EQ(corio_queue_put(q, ITEM(0)), -EPERM);
    CHECK_EQ(corio_queue_get(q, &it), -EPERM);
    CHECK_EQ(corio_queue_join(q), -EPERM);
    corio_queue_free(q);
}

/* ---- task_done / join ---------------------------------------------------- */

typedef struct joiner {
    corio_queue *q;
    int rc;
    int done;
} joiner;

static int join_task(void *arg)
{
    joiner *j = arg;
    j->rc = corio_queue_join(j->q);
    j->done = 1;
    return 0;
}

static int join_main(void *arg)
{
    (void)arg;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 0);
    void *it;
    /* Nothing put yet: join returns at once, even with an expired scope. */
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_queue_join(q), 0);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_queue_task_done(q), -EINVAL);

    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_queue_put(q, ITEM(i)), 0);
    joiner j1 = {q, 1, 0}, j2 = {q, 1, 0};
    corio_task *t1, *t2;
    CHECK_EQ(corio_task_spawn(&t1, join_task, &j1), 0);
    CHECK_EQ(corio_task_spawn(&t2, join_task, &j2), 0);
    CHECK_EQ(corio_yield(), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_queue_get(q, &it), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(j1.done + j2.done, 0); /* got is not done */
    CHECK_EQ(corio_queue_task_done(q), 0);
    CHECK_EQ(corio_queue_task_done(q), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(j1.done + j2.done, 0);
    CHECK_EQ(corio_queue_task_done(q), 0);
    CHECK_EQ(corio_queue_task_done(q), -EINVAL); /* one too many */
    CHECK_EQ(corio_task_join(t1, NULL), 0);
    CHECK_EQ(corio_task_join(t2, NULL), 0);
    CHECK_EQ(j1.rc, 0);
    CHECK_EQ(j2.rc, 0);

    /* Items handed straight to a waiting getter count too. */
    getter_rec g = {q, 1, NULL, 0};
    corio_task *gt;
    CHECK_EQ(corio_task_spawn(&gt, one_get, &g), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_queue_put(q, ITEM(5)), 0);
    CHECK_EQ(corio_task_join(gt, NULL), 0);
    CHECK_EQ(g.rc, 0);
    joiner j3 = {q, 1, 0};
    CHECK_EQ(corio_task_spawn(&t1, join_task, &j3), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(j3.done, 0);
    CHECK_EQ(corio_queue_task_done(q), 0);
    CHECK_EQ(corio_task_join(t1, NULL), 0);
    CHECK_EQ(j3.rc, 0);
    CHECK_EQ(corio_queue_task_done(q), -EINVAL);

    /* A joiner cancelled while waiting returns -ECANCELED; the count is
     * unchanged and a later join still works. */
    CHECK_EQ(corio_queue_put(q, ITEM(6)), 0);
    joiner j4 = {q, 1, 0};
    CHECK_EQ(corio_task_spawn(&t1, join_task, &j4), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(t1);
    CHECK_EQ(corio_task_join(t1, NULL), 0);
    CHECK_EQ(j4.rc, -ECANCELED);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_queue_join(q), -ETIMEDOUT); /* one still unfinished */
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_queue_try_get(q, &it), 0);
    CHECK_EQ(corio_queue_task_done(q), 0);
    CHECK_EQ(corio_queue_join(q), 0);
    corio_queue_free(q);
    return 0;
}

TEST(queue, task_done_and_join)
{
    CHECK_EQ(tst_run(join_main, NULL), 0);
}

/* ---- close --------------------------------------------------------------- */

typedef struct putter_rec {
    corio_queue *q;
    void *item;
    int rc;
    int done;
} putter_rec;

static int one_put(void *arg)
{
    putter_rec *p = arg;
    p->rc = corio_queue_put(p->q, p->item);
    p->done = 1;
    return 0;
}

static int close_main(void *arg)
{
    (void)arg;
    void *it;
    corio_task *t[4];

    /* Getters waiting on an empty queue: all get CORIO_ESHUTDOWN. */
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 0);
    getter_rec g[2] = {{q, 1, NULL, 0}, {q, 1, NULL, 0}};
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_spawn(&t[i], one_get, &g[i]), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_queue_shutdown(q, 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
        CHECK_EQ(g[i].rc, CORIO_ESHUTDOWN);
    }
    corio_queue_free(q);

    /* Full bounded queue with putters waiting: they fail at once, their
     * items are not queued; getters drain what was queued, then fail. */
    q = mkq(CORIO_QUEUE_FIFO, 2);
    CHECK_EQ(corio_queue_put(q, ITEM(0)), 0);
    CHECK_EQ(corio_queue_put(q, ITEM(1)), 0);
    putter_rec p[2] = {{q, ITEM(10), 1, 0}, {q, ITEM(11), 1, 0}};
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_spawn(&t[i], one_put, &p[i]), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(p[0].done + p[1].done, 0);
    int64_t t0 = corio_now();
    corio_queue_shutdown(q, 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(p[0].done + p[1].done, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
        CHECK_EQ(p[i].rc, CORIO_ESHUTDOWN);
    }
    CHECK_EQ(corio_now(), t0);
    CHECK_EQ(corio_queue_put(q, ITEM(12)), CORIO_ESHUTDOWN); /* later putters */
    CHECK_EQ(corio_queue_try_put(q, ITEM(12)), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_queue_size(q), 2);
    CHECK_EQ(corio_queue_get(q, &it), 0);
    CHECK_EQ(ID(it), 0);
    CHECK_EQ(corio_queue_try_get(q, &it), 0);
    CHECK_EQ(ID(it), 1);
    CHECK_EQ(corio_queue_get(q, &it), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_queue_try_get(q, &it), CORIO_ESHUTDOWN);
    corio_queue_shutdown(q, 0); /* twice is harmless */
    /* A cancelled task gets CORIO_ESHUTDOWN too: there is nothing to wait for.
     */
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_queue_get(q, &it), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_queue_put(q, ITEM(13)), CORIO_ESHUTDOWN);
    CHECK(strlen(corio_strerror(CORIO_ESHUTDOWN)) > 0);
    corio_queue_free(q);
    return 0;
}

TEST(queue, close_drains_getters_and_fails_putters)
{
    CHECK_EQ(tst_run(close_main, NULL), 0);
}

/* ---- a cancelled task takes what is there -------------------------------- */

static int cancelled_get_main(void *arg)
{
    (void)arg;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 2);
    void *it = NULL;
    CHECK_EQ(corio_queue_put(q, ITEM(3)), 0);
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_queue_get(q, &it), 0); /* already queued: no wait */
    CHECK_EQ(ID(it), 3);
    CHECK_EQ(corio_queue_get(q, &it), -ECANCELED); /* would wait */
    CHECK_EQ(corio_queue_put(q, ITEM(4)), 0);      /* room: no wait */
    CHECK_EQ(corio_queue_put(q, ITEM(5)), 0);
    CHECK_EQ(corio_queue_put(q, ITEM(6)), -ECANCELED); /* full: would wait */
    CHECK_EQ(corio_queue_size(q), 2);
    CHECK_EQ(corio_queue_join(q), -ECANCELED);
    CHECK_EQ(corio_queue_try_get(q, &it), 0);
    CHECK_EQ(ID(it), 4);
    CHECK_EQ(corio_queue_try_get(q, &it), 0);
    CHECK_EQ(ID(it), 5);
    corio_queue_free(q);
    return 7;
}

TEST(queue, cancelled_task_still_gets_a_queued_item)
{
    CHECK_EQ(tst_run(cancelled_get_main, NULL), 7);
}

/* ---- the seeds' producer/consumer ---------------------------------------- */

typedef struct pc {
    corio_queue *q;
    int consumed[15];
    int done_calls;
    int consumer_rc[2];
} pc;

typedef struct producer_arg {
    pc *s;
    int id;
} producer_arg;

static int producer(void *arg)
{
    producer_arg *p = arg;
    for (int i = 0; i < 5; i++) {
        int rc = corio_queue_put(p->s->q, ITEM(p->id * 5 + i));
        if (rc < 0)
            return rc;
        CHECK_EQ(corio_sleep(CORIO_MS * (1 + p->id)), 0);
    }
    return 0;
}

static int consumer(void *arg)
{
    pc *s = arg;
    for (;;) {
        void *it;
        int rc = corio_queue_get(s->q, &it);
        if (rc < 0)
            return rc;
        s->consumed[ID(it)]++;
        CHECK_EQ(corio_sleep(3 * CORIO_MS), 0); /* "work", while others run */
        CHECK_EQ(corio_queue_task_done(s->q), 0);
        s->done_calls++;
    }
}

static int producer_consumer_main(void *arg)
{
    pc *s = arg;
    s->q = mkq(CORIO_QUEUE_FIFO, 0);
    producer_arg pa[3];
    corio_task *prod[3], *cons[2];
    for (int i = 0; i < 3; i++) {
        pa[i] = (producer_arg){s, i};
        CHECK_EQ(corio_task_spawn(&prod[i], producer, &pa[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_spawn(&cons[i], consumer, s), 0);
    int res[3];
    CHECK_EQ(corio_gather(prod, 3, res), 0);
    CHECK_EQ(corio_queue_join(s->q), 0);
    CHECK_EQ(s->done_calls, 15); /* join waited for every task_done */
    for (int i = 0; i < 2; i++)
        corio_task_cancel(cons[i]);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_join(cons[i], &s->consumer_rc[i]), 0);
    CHECK_EQ(corio_queue_size(s->q), 0);
    corio_queue_free(s->q);
    return 0;
}

TEST(queue, seeds_producer_consumer)
{
    pc s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(tst_run(producer_consumer_main, &s), 0);
    for (int i = 0; i < 15; i++)
        CHECK_EQ(s.consumed[i], 1);
    CHECK_EQ(s.consumer_rc[0], -ECANCELED);
    CHECK_EQ(s.consumer_rc[1], -ECANCELED);
}

/* ---- free with waiters --------------------------------------------------- */

static int free_busy_main(void *arg)
{
    (void)arg;
    corio_task *t;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 1);
    getter_rec g = {q, 1, NULL, 0};
    CHECK_EQ(corio_task_spawn(&t, one_get, &g), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_queue_free(q); /* a getter waits: woken with -EBADF */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(g.rc, -EBADF);

    q = mkq(CORIO_QUEUE_FIFO, 1);
    CHECK_EQ(corio_queue_put(q, ITEM(0)), 0);
    putter_rec p = {q, ITEM(1), 1, 0};
    CHECK_EQ(corio_task_spawn(&t, one_put, &p), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_queue_free(q); /* a putter waits: its item stays its own */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(p.rc, -EBADF);

    q = mkq(CORIO_QUEUE_FIFO, 1);
    CHECK_EQ(corio_queue_put(q, ITEM(0)), 0);
    joiner j = {q, 1, 0};
    CHECK_EQ(corio_task_spawn(&t, join_task, &j), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_queue_free(q); /* a joiner waits */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(j.rc, -EBADF);
    return 0;
}

TEST(queue, free_wakes_waiters_with_ebadf)
{
    CHECK_EQ(tst_run(free_busy_main, NULL), 0);
}

/* shutdown(immediate): items dropped, getters and putters refused at
 * once, join released since the dropped items count as done. */
static int shutdown_immediate_main(void *arg)
{
    (void)arg;
    corio_task *t;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 0);
    void *item;
    CHECK_EQ(corio_queue_put(q, ITEM(0)), 0);
    CHECK_EQ(corio_queue_put(q, ITEM(1)), 0);
    CHECK_EQ(corio_queue_put(q, ITEM(2)), 0);
    CHECK_EQ(corio_queue_get(q, &item), 0); /* taken, not yet done */
    joiner j = {q, 1, 0};
    CHECK_EQ(corio_task_spawn(&t, join_task, &j), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(j.rc, 1); /* three unfinished */
    corio_queue_shutdown(q, 1);
    CHECK_EQ(corio_queue_size(q), 0);
    CHECK_EQ(corio_queue_try_get(q, &item), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_queue_put(q, ITEM(3)), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(j.rc, 1); /* the taken item is still unfinished */
    CHECK_EQ(corio_queue_task_done(q), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(j.rc, 0);
    corio_queue_free(q);
    return 0;
}

TEST(queue, shutdown_immediate_drops_items_and_releases_join)
{
    CHECK_EQ(tst_run(shutdown_immediate_main, NULL), 0);
}

/* shutdown(0): getters drain what is left first. */
static int shutdown_drain_main(void *arg)
{
    (void)arg;
    corio_queue *q = mkq(CORIO_QUEUE_FIFO, 0);
    void *item = NULL;
    CHECK_EQ(corio_queue_put(q, ITEM(0)), 0);
    corio_queue_shutdown(q, 0);
    CHECK_EQ(corio_queue_put(q, ITEM(1)), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_queue_get(q, &item), 0);
    CHECK(item == ITEM(0));
    CHECK_EQ(corio_queue_get(q, &item), CORIO_ESHUTDOWN);
    corio_queue_free(q);
    return 0;
}

TEST(queue, shutdown_lets_getters_drain_first)
{
    CHECK_EQ(tst_run(shutdown_drain_main, NULL), 0);
}

/* ---- cancel-safety sweeps ------------------------------------------------ */

/* How the waiter at position k is interrupted. */
enum mode {
    M_BEFORE,        /* cancelled while waiting, long before any grant */
    M_GRANT_CANCEL,  /* granted, then cancelled in the same tick */
    M_CANCEL_GRANT,  /* cancelled, then the grant comes in the same tick */
    M_AFTER_GRANT,   /* granted; another task cancels it before it resumes */
    M_TIMEOUT_EARLY, /* its scope expires 1 ms before its grant */
    M_TIMEOUT_SAME,  /* its scope expires in the tick of its grant */
    M_TIMEOUT_LATE,  /* its scope expires 1 ms after its grant */
    M_COUNT
};

static const char *mode_name[] = {"before",      "grant+cancel", "cancel+grant",
                                  "after-grant", "timeout-1ms",  "timeout-same",
                                  "timeout+1ms"};

#define NW 5                 /* waiters per sweep */
#define STEP (10 * CORIO_MS) /* timed modes: one grant every STEP */

typedef struct sweep {
    int order;
    size_t capacity;
    int mode, k;
    corio_queue *q;
    corio_task *w[NW];
    int rc[NW];
    void *item[NW];
    int64_t deadline[NW]; /* absolute; 0: none */
    int timeout_end_rc[NW];
    int cancel_ran;           /* M_AFTER_GRANT: the canceller has run */
    int resumed_after_cancel; /* ... and w[k] resumed after it */
} sweep;

typedef struct widx {
    sweep *s;
    int i;
} widx;

static widx wargs[NW];

static int sweep_getter(void *arg)
{
    widx *a = arg;
    sweep *s = a->s;
    int i = a->i;
    if (s->deadline[i])
        CHECK_EQ(corio_timeout_begin(s->deadline[i] - corio_now()), 0);
    s->rc[i] = corio_queue_get(s->q, &s->item[i]);
    if (s->deadline[i])
        s->timeout_end_rc[i] = corio_timeout_end();
    if (s->cancel_ran && i == s->k)
        s->resumed_after_cancel = 1;
    return 0;
}

static int sweep_putter(void *arg)
{
    widx *a = arg;
    sweep *s = a->s;
    int i = a->i;
    if (s->deadline[i])
        CHECK_EQ(corio_timeout_begin(s->deadline[i] - corio_now()), 0);
    s->rc[i] = corio_queue_put(s->q, ITEM(i));
    if (s->deadline[i])
        s->timeout_end_rc[i] = corio_timeout_end();
    if (s->cancel_ran && i == s->k)
        s->resumed_after_cancel = 1;
    return 0;
}

static int canceller(void *arg)
{
    sweep *s = arg;
    corio_task_cancel(s->w[s->k]);
    s->cancel_ran = 1;
    return 0;
}

static int timed(int mode)
{
    return mode >= M_TIMEOUT_EARLY;
}

/* The k-th grant happens at STEP * (k + 1) in the timed modes. */
static int64_t deadline_for(int mode, int64_t t0, int k)
{
    int64_t g = t0 + STEP * (k + 1);
    return mode == M_TIMEOUT_EARLY  ? g - CORIO_MS
           : mode == M_TIMEOUT_SAME ? g
                                    : g + CORIO_MS;
}

/* Getters g0..g(N-1) wait on an empty queue; items 0..N-1 are put one at a
 * time (in the timed modes one every STEP); gk is interrupted per mode. */
static int getter_sweep_main(void *arg)
{
    sweep *s = arg;
    int k = s->k;
    s->q = mkq(s->order, s->capacity);
    int64_t t0 = corio_now();
    for (int i = 0; i < NW; i++) {
        wargs[i] = (widx){s, i};
        s->rc[i] = 1;
        if (timed(s->mode) && i == k)
            s->deadline[i] = deadline_for(s->mode, t0, k);
        CHECK_EQ(corio_task_spawn(&s->w[i], sweep_getter, &wargs[i]), 0);
    }
    CHECK_EQ(corio_yield(), 0); /* all park, in order */
    for (int i = 0; i < NW; i++)
        CHECK_EQ(s->rc[i], 1);

    corio_task *c = NULL;
    if (s->mode == M_BEFORE) {
        corio_task_cancel(s->w[k]);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(s->rc[k], -ECANCELED);
    }
    for (int i = 0; i < NW; i++) {
        if (timed(s->mode))
            CHECK_EQ(corio_sleep(STEP), 0);
        if (i == k && s->mode == M_CANCEL_GRANT)
            corio_task_cancel(s->w[k]);
        if (i == k && s->mode == M_AFTER_GRANT)
            CHECK_EQ(corio_task_spawn(&c, canceller, s), 0); /* queued first */
        CHECK_EQ(corio_queue_put(s->q, ITEM(i)), 0);
        if (i == k && s->mode == M_GRANT_CANCEL)
            corio_task_cancel(s->w[k]);
        if (i == k && s->mode == M_AFTER_GRANT) {
            CHECK_EQ(corio_task_join(c, NULL), 0);
            CHECK_EQ(s->cancel_ran, 1);
        }
    }
    int res[NW];
    CHECK_EQ(corio_gather(s->w, NW, res), 0); /* nobody is stuck */

    /* Conservation: each item got exactly once, or still queued. */
    int seen[NW] = {0}, got = 0;
    for (int i = 0; i < NW; i++) {
        if (s->rc[i] == 0) {
            CHECK(s->item[i] != NULL);
            seen[ID(s->item[i])]++;
            got++;
        } else {
            CHECK(s->rc[i] == -ECANCELED || s->rc[i] == -ETIMEDOUT);
            CHECK_EQ(i, k);
        }
    }
    void *it;
    int left = 0;
    while (corio_queue_try_get(s->q, &it) == 0) {
        seen[ID(it)]++;
        left++;
    }
    for (int i = 0; i < NW; i++)
        CHECK_EQ(seen[i], 1);
    CHECK_EQ(got + left, NW);
    CHECK_EQ(left, s->rc[k] == 0 ? 0 : 1);
    /* Getters are served in order: the successful ones got increasing
     * items (FIFO/LIFO/priority alike, since each item was handed over). */
    int last = -1;
    for (int i = 0; i < NW; i++)
        if (s->rc[i] == 0) {
            CHECK(ID(s->item[i]) > last);
            last = ID(s->item[i]);
        }
    /* task_done accounting matches: exactly NW items to mark done. */
    for (int i = 0; i < NW; i++)
        CHECK_EQ(corio_queue_task_done(s->q), 0);
    CHECK_EQ(corio_queue_task_done(s->q), -EINVAL);
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_queue_join(s->q), 0);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    corio_queue_free(s->q);
    return 0;
}

/* What must happen to the interrupted waiter, per mode. */
static void check_outcome(sweep *s)
{
    int k = s->k, rc = s->rc[k];
    switch (s->mode) {
    case M_BEFORE:
    case M_CANCEL_GRANT:
        CHECK_EQ(rc, -ECANCELED);
        break;
    case M_GRANT_CANCEL:
        CHECK_EQ(rc, 0); /* it was served: it keeps what it got */
        break;
    case M_AFTER_GRANT:
        CHECK_EQ(rc, 0);
        CHECK_EQ(s->resumed_after_cancel,
                 1); /* really cancelled before resuming */
        break;
    case M_TIMEOUT_EARLY:
        CHECK_EQ(rc, -ETIMEDOUT);
        CHECK_EQ(s->timeout_end_rc[k], -ETIMEDOUT);
        break;
    case M_TIMEOUT_SAME:
        /* Either order is allowed in the deadline's tick, but the scope
         * has expired either way and the item is never lost (checked). */
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        CHECK_EQ(s->timeout_end_rc[k], -ETIMEDOUT);
        break;
    case M_TIMEOUT_LATE:
        CHECK_EQ(rc, 0);
        CHECK_EQ(s->timeout_end_rc[k], 0);
        break;
    }
}

static void run_sweep(corio_fn fn, int order, size_t capacity)
{
    for (int mode = 0; mode < M_COUNT; mode++)
        for (int k = 0; k < NW; k++) {
            sweep s;
            memset(&s, 0, sizeof s);
            s.order = order;
            s.capacity = capacity;
            s.mode = mode;
            s.k = k;
            int rc = tst_run(fn, &s);
            if (rc != 0)
                fprintf(stderr, "    sweep: mode %s, k %d: run returned %d\n",
                        mode_name[mode], k, rc);
            CHECK_EQ(rc, 0);
            check_outcome(&s);
        }
}

TEST(queue, cancel_sweep_getters_fifo)
{
    run_sweep(getter_sweep_main, CORIO_QUEUE_FIFO, 0);
}

TEST(queue, cancel_sweep_getters_lifo_bounded)
{
    run_sweep(getter_sweep_main, CORIO_QUEUE_LIFO, 1);
}

static int cmp_ptr(const void *a, const void *b)
{
    return ((intptr_t)a > (intptr_t)b) - ((intptr_t)a < (intptr_t)b);
}

/* Putters p0..p(N-1) wait on a full queue (capacity 2, holding items
 * N and N+1); N gets are made one at a time (in the timed modes one every
 * STEP), each admitting the next putter; pk is interrupted per mode. */
static int putter_sweep_main(void *arg)
{
    sweep *s = arg;
    int k = s->k;
    corio_queue_opts o = {s->order, 2, cmp_ptr};
    CHECK_EQ(corio_queue_new(&s->q, &o), 0);
    CHECK_EQ(corio_queue_put(s->q, ITEM(NW)), 0);
    CHECK_EQ(corio_queue_put(s->q, ITEM(NW + 1)), 0);
    int64_t t0 = corio_now();
    for (int i = 0; i < NW; i++) {
        wargs[i] = (widx){s, i};
        s->rc[i] = 1;
        if (timed(s->mode) && i == k)
            s->deadline[i] = deadline_for(s->mode, t0, k);
        CHECK_EQ(corio_task_spawn(&s->w[i], sweep_putter, &wargs[i]), 0);
    }
    CHECK_EQ(corio_yield(), 0);
    for (int i = 0; i < NW; i++)
        CHECK_EQ(s->rc[i], 1);
    CHECK_EQ(corio_queue_size(s->q), 2);

    int seen[NW + 2] = {0};
    void *it;
    corio_task *c = NULL;
    if (s->mode == M_BEFORE) {
        corio_task_cancel(s->w[k]);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(s->rc[k], -ECANCELED);
    }
    for (int i = 0; i < NW; i++) {
        if (timed(s->mode))
            CHECK_EQ(corio_sleep(STEP), 0);
        if (i == k && s->mode == M_CANCEL_GRANT)
            corio_task_cancel(s->w[k]);
        if (i == k && s->mode == M_AFTER_GRANT)
            CHECK_EQ(corio_task_spawn(&c, canceller, s), 0);
        CHECK_EQ(corio_queue_try_get(s->q, &it), 0); /* never empty here */
        seen[ID(it)]++;
        if (i == k && s->mode == M_GRANT_CANCEL)
            corio_task_cancel(s->w[k]);
        if (i == k && s->mode == M_AFTER_GRANT) {
            CHECK_EQ(corio_task_join(c, NULL), 0);
            CHECK_EQ(s->cancel_ran, 1);
        }
    }
    int res[NW];
    CHECK_EQ(corio_gather(s->w, NW, res), 0);
    while (corio_queue_try_get(s->q, &it) == 0)
        seen[ID(it)]++;
    /* Conservation: an item whose put succeeded was got exactly once; an
     * item whose put failed is nowhere. */
    int put_ok = 0;
    for (int i = 0; i < NW; i++) {
        if (s->rc[i] == 0)
            put_ok++;
        else
            CHECK_EQ(i, k);
        CHECK_EQ(seen[i], s->rc[i] == 0 ? 1 : 0);
    }
    CHECK_EQ(seen[NW], 1);
    CHECK_EQ(seen[NW + 1], 1);
    for (int i = 0; i < put_ok + 2; i++)
        CHECK_EQ(corio_queue_task_done(s->q), 0);
    CHECK_EQ(corio_queue_task_done(s->q), -EINVAL);
    corio_queue_free(s->q);
    return 0;
}

TEST(queue, cancel_sweep_putters_fifo)
{
    run_sweep(putter_sweep_main, CORIO_QUEUE_FIFO, 2);
}

TEST(queue, cancel_sweep_putters_priority)
{
    run_sweep(putter_sweep_main, CORIO_QUEUE_PRIORITY, 2);
}

/* A storm: many getters and putters on a small queue, cancelled at pseudo-
 * random moments (and some with short scopes), must conserve every item. */
typedef struct storm {
    corio_queue *q;
    int put_ok[2000], got[2000];
    int next;
} storm;

static uint64_t rng = 12345;
#define rnd() tst_rand(&rng)

static int storm_putter(void *arg)
{
    storm *s = arg;
    int id = s->next++;
    if (rnd() % 3 == 0)
        CHECK_EQ(corio_timeout_begin((int64_t)(rnd() % 4) * CORIO_MS), 0);
    else
        CHECK_EQ(corio_timeout_begin(CORIO_SECOND * 100), 0);
    int rc = corio_queue_put(s->q, ITEM(id));
    corio_timeout_end();
    CHECK(rc == 0 || rc == -ECANCELED || rc == -ETIMEDOUT);
    s->put_ok[id] = rc == 0;
    return 0;
}

static int storm_getter(void *arg)
{
    storm *s = arg;
    void *it;
    if (rnd() % 3 == 0)
        CHECK_EQ(corio_timeout_begin((int64_t)(rnd() % 4) * CORIO_MS), 0);
    else
        CHECK_EQ(corio_timeout_begin(CORIO_SECOND * 100), 0);
    int rc = corio_queue_get(s->q, &it);
    corio_timeout_end();
    CHECK(rc == 0 || rc == -ECANCELED || rc == -ETIMEDOUT);
    if (rc == 0)
        s->got[ID(it)]++;
    return 0;
}

static int storm_main(void *arg)
{
    storm *s = arg;
    corio_queue_opts o = {CORIO_QUEUE_FIFO, 3, NULL};
    CHECK_EQ(corio_queue_new(&s->q, &o), 0);
    corio_task *live[64] = {0};
    int nput = 0;
    for (int round = 0; nput < 1900; round++) {
        int slot = (int)(rnd() % 64);
        if (live[slot]) {
            if (rnd() % 2)
                corio_task_cancel(live[slot]);
            CHECK_EQ(corio_task_join(live[slot], NULL), 0);
            live[slot] = NULL;
        }
        if (rnd() % 2) {
            CHECK_EQ(corio_task_spawn(&live[slot], storm_putter, s), 0);
            nput++;
        } else {
            CHECK_EQ(corio_task_spawn(&live[slot], storm_getter, s), 0);
        }
        switch (rnd() % 4) {
        case 0:
            CHECK_EQ(corio_yield(), 0);
            break;
        case 1:
            CHECK_EQ(corio_sleep(CORIO_MS), 0);
            break;
        default:
            break;
        }
    }
    for (int i = 0; i < 64; i++)
        if (live[i]) {
            corio_task_cancel(live[i]);
            CHECK_EQ(corio_task_join(live[i], NULL), 0);
        }
    void *it;
    while (corio_queue_try_get(s->q, &it) == 0)
        s->got[ID(it)]++;
    int ok = 0, failed = 0;
    for (int i = 0; i < s->next; i++) {
        CHECK_EQ(s->got[i], s->put_ok[i]);
        ok += s->put_ok[i];
        failed += !s->put_ok[i];
    }
    CHECK(ok > 100);     /* the storm did move items... */
    CHECK(failed > 100); /* ... and did interrupt putters */
    corio_queue_free(s->q);
    return 0;
}

TEST(queue, cancel_storm_conserves_items)
{
    static storm s;
    CHECK_EQ(tst_run(storm_main, &s), 0);
}

/* ---- regressions found in code review ---------------------------------- */

/* A constructor dereferenced a NULL out-parameter instead of returning
 * -EINVAL (STYLE.md: misuse returns an error, never aborts).  The check
 * comes first, in a loop or not. */
TEST(queue, new_null_out_parameter_is_einval)
{
    CHECK_EQ(corio_queue_new(NULL, NULL), -EINVAL);
}
