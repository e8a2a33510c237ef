/* test_select.c — corio_select: the lowest ready case is taken and the
 * others are left untouched, waits on every kind of case, deadlines and
 * polls, case errors, channels fed by other threads, a single waiter
 * interrupted at every moment around its grant, and a conservation sweep
 * (producers and consumers selecting over two queues and a channel, one of
 * them cancelled at each moment in turn: every item is received exactly
 * once or is still in a queue, never lost, never twice). */
#include "tst.h"

#include <stdbool.h>
#include <string.h>

#define P (10 * CORIO_MS)

static corio_queue *newq(size_t cap)
{
    corio_queue *q;
    corio_queue_opts o = {CORIO_QUEUE_FIFO, cap, NULL};
    if (corio_queue_new(&q, &o) < 0)
        return NULL;
    return q;
}

static char X[] = "x", Y[] = "y", Z[] = "z";

static int lowest_ready(void *arg)
{
    (void)arg;
    corio_queue *q1 = newq(0), *q2 = newq(0);
    corio_chan *c;
    corio_event e;
    size_t i;
    CHECK_EQ(corio_chan_new(&c, 4), 0);
    CHECK_EQ(corio_event_init(&e), 0);
    CHECK_EQ(corio_queue_try_put(q2, Y), 0);
    CHECK_EQ(corio_chan_try_put(c, Z), 0);
    corio_event_set(&e);
    corio_select_case cs[4] = {{CORIO_SELECT_QUEUE_GET, q1, NULL, 0},
                               {CORIO_SELECT_CHAN_GET, c, NULL, 0},
                               {CORIO_SELECT_QUEUE_GET, q2, NULL, 0},
                               {CORIO_SELECT_EVENT, &e, NULL, 0}};
    CHECK_EQ(corio_select(cs, 4, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 1);
    CHECK(cs[1].item == Z);
    CHECK_EQ(corio_queue_size(q2), 1); /* untouched */
    CHECK_EQ(corio_select(cs, 4, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 2);
    CHECK(cs[2].item == Y);
    CHECK_EQ(corio_select(cs, 4, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 3); /* the event is not consumed */
    CHECK_EQ(corio_select(cs, 4, 0, &i), 0);
    CHECK_EQ(i, 3);
    corio_event_clear(&e);
    /* Nothing ready and a passed deadline: a poll. */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_select(cs, 4, 0, &i), -ETIMEDOUT);
    CHECK_EQ(i, 4);
    CHECK_EQ(corio_now(), t0);
    /* Puts: a full queue is skipped, the first with room taken. */
    corio_queue *full = newq(1);
    CHECK_EQ(corio_queue_try_put(full, X), 0);
    corio_select_case ps[2] = {{CORIO_SELECT_QUEUE_PUT, full, Y, 0},
                               {CORIO_SELECT_CHAN_PUT, c, Z, 0}};
    CHECK_EQ(corio_select(ps, 2, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 1);
    CHECK_EQ(corio_queue_size(full), 1);
    void *it;
    CHECK_EQ(corio_chan_try_get(c, &it), 0);
    CHECK(it == Z);
    corio_queue_free(q1);
    corio_queue_free(q2);
    corio_queue_free(full);
    corio_chan_free(c);
    corio_event_destroy(&e);
    return 0;
}

TEST(select, lowest_ready_case_taken_others_untouched)
{
    CHECK_EQ(tst_run(lowest_ready, NULL), 0);
}

/* ---- waiting on each kind of case ---------------------------------------- */

typedef struct later {
    int64_t at;
    int what; /* 0 put q, 1 get q, 2 set event, 3 put chan, 4 shutdown q */
    void *obj;
    void *item;
} later;

static int do_later(void *arg)
{
    later *l = arg;
    void *it;
    CHECK_EQ(corio_sleep(l->at), 0);
    switch (l->what) {
    case 0:
        return corio_queue_put(l->obj, l->item);
    case 1:
        CHECK_EQ(corio_queue_get(l->obj, &it), 0);
        l->item = it;
        return 0;
    case 2:
        corio_event_set(l->obj);
        return 0;
    case 3:
        return corio_chan_put(l->obj, l->item);
    default:
        corio_queue_shutdown(l->obj, 0);
        return 0;
    }
}

static int waits(void *arg)
{
    (void)arg;
    corio_queue *q1 = newq(0), *q2 = newq(1);
    corio_chan *c;
    corio_event e;
    corio_task *t, *j;
    size_t i;
    int r;
    CHECK_EQ(corio_chan_new(&c, 1), 0);
    CHECK_EQ(corio_event_init(&e), 0);

    /* A get served by a put 1 s later; the other cases stay untouched. */
    later l = {CORIO_SECOND, 0, q1, X};
    CHECK_EQ(corio_task_spawn(&t, do_later, &l), 0);
    corio_select_case g[3] = {{CORIO_SELECT_CHAN_GET, c, NULL, 0},
                              {CORIO_SELECT_EVENT, &e, NULL, 0},
                              {CORIO_SELECT_QUEUE_GET, q1, NULL, 0}};
    int64_t t0 = corio_now();
    CHECK_EQ(corio_select(g, 3, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 2);
    CHECK(g[2].item == X);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 0);

    /* A put admitted when a getter frees a slot. */
    CHECK_EQ(corio_queue_try_put(q2, X), 0);
    CHECK_EQ(corio_chan_try_put(c, X), 0);
    later lg = {CORIO_SECOND, 1, q2, NULL};
    CHECK_EQ(corio_task_spawn(&t, do_later, &lg), 0);
    corio_select_case p[2] = {{CORIO_SELECT_CHAN_PUT, c, Y, 0},
                              {CORIO_SELECT_QUEUE_PUT, q2, Y, 0}};
    CHECK_EQ(corio_select(p, 2, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK(lg.item == X);
    void *it;
    CHECK_EQ(corio_queue_try_get(q2, &it), 0);
    CHECK(it == Y); /* ours went in */
    CHECK_EQ(corio_chan_try_get(c, &it), 0);
    CHECK(it == X); /* the channel kept only what it had */

    /* A channel get woken by another task's put. */
    later lc = {CORIO_SECOND, 3, c, Z};
    CHECK_EQ(corio_task_spawn(&t, do_later, &lc), 0);
    CHECK_EQ(corio_select(g, 3, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 0);
    CHECK(g[0].item == Z);
    CHECK_EQ(corio_task_join(t, NULL), 0);

    /* An event. */
    later le = {CORIO_SECOND, 2, &e, NULL};
    CHECK_EQ(corio_task_spawn(&t, do_later, &le), 0);
    CHECK_EQ(corio_select(g, 3, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_event_clear(&e);

    /* A join: the handle taken is released, the other is not. */
    later a = {2 * CORIO_SECOND, 2, &e, NULL}, b = {CORIO_SECOND, 2, &e, NULL};
    CHECK_EQ(corio_task_spawn(&t, do_later, &a), 0);
    CHECK_EQ(corio_task_spawn(&j, do_later, &b), 0);
    corio_select_case js[3] = {{CORIO_SELECT_JOIN, t, NULL, 0},
                               {CORIO_SELECT_JOIN, j, NULL, 0},
                               {CORIO_SELECT_QUEUE_GET, q1, NULL, 0}};
    CHECK_EQ(corio_select(js, 3, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 1);
    CHECK_EQ(js[1].result, 0);
    CHECK_EQ(corio_task_join(t, &r), 0); /* still ours */

    /* The deadline, on the virtual clock exactly. */
    t0 = corio_now();
    corio_event_clear(&e);
    CHECK_EQ(corio_select(g, 3, t0 + 3 * CORIO_SECOND, &i), -ETIMEDOUT);
    CHECK_EQ(i, 3);
    CHECK_EQ(corio_now() - t0, 3 * CORIO_SECOND);
    CHECK_EQ(corio_select(NULL, 0, corio_now() + CORIO_SECOND, &i), -ETIMEDOUT);

    /* A case error is a case: shutdown while waiting. */
    later ls = {CORIO_SECOND, 4, q1, NULL};
    CHECK_EQ(corio_task_spawn(&t, do_later, &ls), 0);
    CHECK_EQ(corio_select(g, 3, CORIO_NEVER, &i), CORIO_ESHUTDOWN);
    CHECK_EQ(i, 2);
    CHECK_EQ(g[2].result, CORIO_ESHUTDOWN);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    /* ... and at once for a put. */
    corio_select_case sp[1] = {{CORIO_SELECT_QUEUE_PUT, q1, X, 0}};
    CHECK_EQ(corio_select(sp, 1, CORIO_NEVER, &i), CORIO_ESHUTDOWN);
    CHECK_EQ(i, 0);

    corio_queue_free(q1);
    corio_queue_free(q2);
    corio_chan_free(c);
    corio_event_destroy(&e);
    return 0;
}

TEST(select, waits_on_every_kind_of_case)
{
    CHECK_EQ(tst_run(waits, NULL), 0);
}

static int freeing(void *arg)
{
    corio_queue *q = arg;
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_queue_free(q);
    return 0;
}

static int chan_freeing(void *arg)
{
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_chan_free(arg);
    return 0;
}

static int destroyed(void *arg)
{
    (void)arg;
    corio_queue *q = newq(0);
    corio_chan *c;
    corio_event e;
    corio_task *t;
    size_t i;
    CHECK_EQ(corio_event_init(&e), 0);
    CHECK_EQ(corio_task_spawn(&t, freeing, q), 0);
    corio_select_case cs[2] = {{CORIO_SELECT_EVENT, &e, NULL, 0},
                               {CORIO_SELECT_QUEUE_GET, q, NULL, 0}};
    CHECK_EQ(corio_select(cs, 2, CORIO_NEVER, &i), -EBADF);
    CHECK_EQ(i, 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    /* A channel freed while we wait: our call keeps its memory alive. */
    CHECK_EQ(corio_chan_new(&c, 1), 0);
    CHECK_EQ(corio_task_spawn(&t, chan_freeing, c), 0);
    corio_select_case cc[2] = {{CORIO_SELECT_EVENT, &e, NULL, 0},
                               {CORIO_SELECT_CHAN_GET, c, NULL, 0}};
    CHECK_EQ(corio_select(cc, 2, CORIO_NEVER, &i), -EBADF);
    CHECK_EQ(i, 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_event_destroy(&e);
    return 0;
}

TEST(select, objects_freed_while_waiting)
{
    CHECK_EQ(tst_run(destroyed, NULL), 0);
}

static int bad(void *arg)
{
    (void)arg;
    corio_queue *q = newq(0);
    corio_event e;
    size_t i = 77;
    memset(&e, 0, sizeof e);
    corio_select_case cs[3] = {{CORIO_SELECT_QUEUE_GET, q, NULL, 0},
                               {CORIO_SELECT_EVENT, &e, NULL, 0},
                               {99, q, NULL, 0}};
    CHECK_EQ(corio_queue_try_put(q, X), 0);
    CHECK_EQ(corio_select(cs, 3, CORIO_NEVER, &i), -EINVAL);
    CHECK_EQ(i, 1);
    CHECK_EQ(corio_queue_size(q), 1); /* nothing taken */
    CHECK_EQ(corio_event_init(&e), 0);
    CHECK_EQ(corio_select(cs, 3, CORIO_NEVER, &i), -EINVAL);
    CHECK_EQ(i, 2);
    cs[2] =
        (corio_select_case){CORIO_SELECT_JOIN, corio_task_current(), NULL, 0};
    CHECK_EQ(corio_select(cs, 3, CORIO_NEVER, &i), -EDEADLK);
    cs[2].obj = NULL;
    CHECK_EQ(corio_select(cs, 3, CORIO_NEVER, &i), -EINVAL);
    CHECK_EQ(corio_select(cs, 3, CORIO_NEVER, NULL), -EINVAL);
    CHECK_EQ(corio_select(NULL, 1, CORIO_NEVER, &i), -EINVAL);
    /* More cases than the inline records. */
    corio_select_case many[20];
    for (int k = 0; k < 20; k++)
        many[k] = (corio_select_case){CORIO_SELECT_EVENT, &e, NULL, 0};
    many[19] = (corio_select_case){CORIO_SELECT_QUEUE_GET, q, NULL, 0};
    CHECK_EQ(corio_select(many, 20, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 19);
    /* ... also while waiting (records on the heap). */
    corio_task *t;
    later l = {CORIO_SECOND, 0, q, Y};
    CHECK_EQ(corio_task_spawn(&t, do_later, &l), 0);
    CHECK_EQ(corio_select(many, 20, CORIO_NEVER, &i), 0);
    CHECK_EQ(i, 19);
    CHECK(many[19].item == Y);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_event_destroy(&e);
    corio_queue_free(q);
    return 0;
}

TEST(select, bad_cases_take_nothing)
{
    CHECK_EQ(tst_run(bad, NULL), 0);
    size_t i;
    CHECK_EQ(corio_select(NULL, 0, 0, &i), -EPERM);
}

/* ---- one waiter interrupted at every moment around its grant -------------
 *
 * The victim selects over [q1 get, event, the case under test]; at T the
 * "server" serves the case under test: puts into q2 (victim gets), gets
 * from the full q2 (victim puts), sets the event, ends the joined task,
 * puts into the channel.  The victim is interrupted at T - P/2 (queued),
 * at T by a canceller that runs before the server (same tick, first), at T
 * by one that runs after it (same tick, second) or at T + P/2 (late); or
 * by its own deadline or a timeout scope at T - P/2, T, T + P/2.
 * Interrupted first: -ECANCELED / -ETIMEDOUT and nothing taken (the item
 * stays where it was, the handle is still ours).  Served first: 0. */

enum kind { K_GET, K_PUT, K_EVENT, K_JOIN, K_CHAN, NKINDS };
static const char *const kind_name[NKINDS] = {"queue-get", "queue-put", "event",
                                              "join", "chan-get"};
enum moment { QUEUED, CANCEL_FIRST, SERVE_FIRST, LATE, NMOMENTS };
enum how { BY_CANCEL, BY_DEADLINE, BY_SCOPE, NHOWS };
#define T CORIO_SECOND

typedef struct world {
    int kind, moment, how;
    corio_queue *q1, *q2;
    corio_event ev;
    corio_chan *c;
    corio_task *victim, *joined;
    void *got; /* what the server's get took (K_PUT) */
} world;

static int64_t moment_at(int m)
{
    return m == QUEUED ? T - P / 2 : m == LATE ? T + P / 2 : T;
}

static int server(void *arg)
{
    world *w = arg;
    CHECK_EQ(corio_sleep(T), 0);
    switch (w->kind) {
    case K_GET:
        return corio_queue_put(w->q2, Y);
    case K_PUT:
        return corio_queue_get(w->q2, &w->got);
    case K_EVENT:
        corio_event_set(&w->ev);
        return 0;
    case K_JOIN:
        return 0;
    default:
        return corio_chan_put(w->c, Y);
    }
}

static int victim_canceller(void *arg)
{
    world *w = arg;
    CHECK_EQ(corio_sleep(moment_at(w->moment)), 0);
    corio_task_cancel(w->victim);
    return 0;
}

static char cfg[160];
#define SCHECK_EQ(a, b)                                                        \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_) {                                                      \
            fprintf(stderr, "    in %s\n", cfg);                               \
            tst_fail_eq(__FILE__, __LINE__, #a, #b, va_, vb_);                 \
        }                                                                      \
    } while (0)

static int one_victim(void *arg)
{
    world *w = arg;
    corio_task *srv = NULL, *can = NULL;
    w->q1 = newq(0);
    w->q2 = newq(1);
    CHECK_EQ(corio_chan_new(&w->c, 1), 0);
    CHECK_EQ(corio_event_init(&w->ev), 0);
    w->victim = corio_task_current();
    if (w->kind == K_PUT)
        CHECK_EQ(corio_queue_try_put(w->q2, X), 0); /* full */
    bool cancel = w->how == BY_CANCEL;
    if (cancel && w->moment != SERVE_FIRST)
        CHECK_EQ(corio_task_spawn(&can, victim_canceller, w), 0);
    CHECK_EQ(corio_task_spawn(w->kind == K_JOIN ? &w->joined : &srv, server, w),
             0);
    if (cancel && w->moment == SERVE_FIRST)
        CHECK_EQ(corio_task_spawn(&can, victim_canceller, w), 0);
    CHECK_EQ(corio_yield(), 0); /* their timers are armed in spawn order */
    corio_select_case cs[3] = {{CORIO_SELECT_QUEUE_GET, w->q1, NULL, 0},
                               {CORIO_SELECT_EVENT, &w->ev, NULL, 0},
                               {0, NULL, NULL, 0}};
    switch (w->kind) {
    case K_GET:
        cs[2] = (corio_select_case){CORIO_SELECT_QUEUE_GET, w->q2, NULL, 0};
        break;
    case K_PUT:
        cs[2] = (corio_select_case){CORIO_SELECT_QUEUE_PUT, w->q2, Z, 0};
        break;
    case K_EVENT:
        cs[1].op = CORIO_SELECT_QUEUE_GET; /* the event goes last */
        cs[1].obj = w->q1;
        cs[2] = (corio_select_case){CORIO_SELECT_EVENT, &w->ev, NULL, 0};
        break;
    case K_JOIN:
        cs[2] = (corio_select_case){CORIO_SELECT_JOIN, w->joined, NULL, 0};
        break;
    default:
        cs[2] = (corio_select_case){CORIO_SELECT_CHAN_GET, w->c, NULL, 0};
    }
    int64_t deadline = CORIO_NEVER;
    if (w->how == BY_DEADLINE)
        deadline = corio_now() + moment_at(w->moment);
    if (w->how == BY_SCOPE)
        CHECK_EQ(corio_timeout_begin_at(corio_now() + moment_at(w->moment)), 0);
    size_t i = 99;
    int rc = corio_select(cs, 3, deadline, &i);
    if (w->how == BY_SCOPE)
        CORIO_IGNORE(corio_timeout_end());
    int code = cancel ? -ECANCELED : -ETIMEDOUT;
    /* Which outcome the moment allows: 0 served, 1 interrupted, 2 either.
     * At T the server's timer fires first (armed before the select's).  A
     * cancel then depends on who runs first; a timeout scope interrupts
     * before the server runs; the select's own deadline only wakes it to
     * look again, and the server serves it meanwhile (a case ready at the
     * deadline is taken).  A channel kick travels by post, so a cancel
     * queued after the server may still come first. */
    int must = 0;
    if (w->moment == QUEUED)
        must = 1;
    else if (w->moment == LATE)
        must = 0;
    else if (w->how == BY_SCOPE)
        must = 1;
    else if (w->how == BY_DEADLINE)
        must = 0;
    else if (w->moment == CANCEL_FIRST)
        must = 1;
    else
        must = w->kind == K_CHAN ? 2 : 0;
    if (must == 1) {
        SCHECK_EQ(rc, code);
        SCHECK_EQ(i, 3);
    } else if (must == 0) {
        SCHECK_EQ(rc, 0);
        SCHECK_EQ(i, 2);
    } else {
        if (rc != code)
            SCHECK_EQ(rc, 0);
    }
    /* Conservation, whatever the outcome. */
    CHECK_EQ(corio_shield_begin(), 0);
    void *it = NULL;
    if (srv)
        SCHECK_EQ(corio_task_join(srv, NULL), 0);
    switch (w->kind) {
    case K_GET:
        if (rc == 0)
            SCHECK_EQ(cs[2].item == Y, 1);
        SCHECK_EQ(corio_queue_size(w->q2), rc == 0 ? 0 : 1);
        break;
    case K_PUT:
        SCHECK_EQ(w->got == X, 1);
        SCHECK_EQ(corio_queue_size(w->q2), rc == 0 ? 1 : 0);
        if (rc == 0) {
            SCHECK_EQ(corio_queue_try_get(w->q2, &it), 0);
            SCHECK_EQ(it == Z, 1);
        }
        break;
    case K_JOIN:
        if (rc == 0)
            SCHECK_EQ(cs[2].result, 0);
        else
            SCHECK_EQ(corio_task_join(w->joined, NULL), 0); /* still ours */
        break;
    case K_CHAN:
        if (rc == 0)
            SCHECK_EQ(cs[2].item == Y, 1);
        SCHECK_EQ(corio_chan_try_get(w->c, &it), rc == 0 ? -EAGAIN : 0);
        break;
    default:
        break;
    }
    SCHECK_EQ(corio_queue_size(w->q1), 0);
    if (can)
        SCHECK_EQ(corio_task_join(can, NULL), 0);
    corio_shield_end();
    corio_queue_free(w->q1);
    corio_queue_free(w->q2);
    corio_chan_free(w->c);
    corio_event_destroy(&w->ev);
    return 0;
}

TEST(select, one_waiter_interrupted_at_every_moment)
{
    static const char *const how_name[NHOWS] = {"cancel", "deadline", "scope"};
    static const char *const moment_name[NMOMENTS] = {
        "queued", "same-tick-interrupt-first", "same-tick-serve-first", "late"};
    for (int k = 0; k < NKINDS; k++)
        for (int h = 0; h < NHOWS; h++)
            for (int m = 0; m < NMOMENTS; m++) {
                world w;
                memset(&w, 0, sizeof w);
                w.kind = k;
                w.how = h;
                w.moment = m;
                snprintf(cfg, sizeof cfg, "%s, by %s, %s", kind_name[k],
                         how_name[h], moment_name[m]);
                CHECK_EQ(tst_run(one_victim, &w), 0);
            }
}

/* ---- conservation sweep --------------------------------------------------
 *
 * NP producers each offer NI distinct items through select over
 * [q1 put, chan put, q2 put] with short random deadlines (retrying the
 * same item on -ETIMEDOUT); NC consumers take through select over
 * [q2 get, chan get, q1 get], sleeping a random while between items, and
 * drop a case that reports CORIO_ESHUTDOWN.  In each run one task (each
 * in turn) is cancelled at one moment (each of a set of times on the P
 * grid, where the grants happen, and between them).  When the producers
 * are done main shuts everything down, the consumers drain and end, and
 * what is left is drained by hand.  Then every item was received exactly
 * once, or is left, or was never sent (its producer was cancelled before
 * its put was served): never lost, never twice. */

#define NP 3
#define NC 3
#define NI 12
#define NTIMES 9

typedef struct flow {
    corio_queue *q1, *q2;
    corio_chan *c;
    int sent[NP * NI], recv[NP * NI];
    uint32_t seed;
    int64_t cancel_at;
    corio_task *tasks[NP + NC];
    int victim;
} flow;

static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static intptr_t ids[NP * NI]; /* item k is &ids[k] */
/* What the sweep saw, summed over its runs (so the test can tell that it
 * exercised each path): selects cancelled, timed out, cases shut down,
 * items a cancelled producer kept, items left in a queue at the end (none
 * so far: the surviving consumers drain everything). */
static long n_cancelled, n_timedout, n_shutdown, n_kept, n_left;

typedef struct who {
    flow *f;
    int n;
    uint32_t seed;
} who;

static int producer(void *arg)
{
    who *p = arg;
    flow *f = p->f;
    for (int k = 0; k < NI; k++) {
        int id = p->n * NI + k;
        for (;;) {
            corio_select_case cs[3] = {
                {CORIO_SELECT_QUEUE_PUT, f->q1, &ids[id], 0},
                {CORIO_SELECT_CHAN_PUT, f->c, &ids[id], 0},
                {CORIO_SELECT_QUEUE_PUT, f->q2, &ids[id], 0}};
            size_t i;
            int64_t d = corio_now() + (int64_t)(rnd(&p->seed) % 4) * P / 2;
            int rc = corio_select(cs, 3, d, &i);
            if (rc == 0) {
                f->sent[id]++;
                break;
            }
            if (rc == -ETIMEDOUT) {
                n_timedout++;
                continue;
            }
            if (rc == -ECANCELED) {
                n_cancelled++;
                n_kept += NI - k;
                return 0; /* not sent: still ours */
            }
            return rc;
        }
        if (rnd(&p->seed) % 2 && corio_sleep(P / 2) < 0)
            return 0;
    }
    return 0;
}

static void count(flow *f, void *item)
{
    f->recv[(intptr_t *)item - ids]++;
}

static int consumer(void *arg)
{
    who *p = arg;
    flow *f = p->f;
    corio_select_case cs[3] = {{CORIO_SELECT_QUEUE_GET, f->q2, NULL, 0},
                               {CORIO_SELECT_CHAN_GET, f->c, NULL, 0},
                               {CORIO_SELECT_QUEUE_GET, f->q1, NULL, 0}};
    size_t n = 3;
    while (n) {
        size_t i;
        int64_t d = corio_now() + (int64_t)(rnd(&p->seed) % 5) * P / 2;
        int rc = corio_select(cs, n, d, &i);
        if (rc == 0) {
            count(f, cs[i].item);
            if (rnd(&p->seed) % 3 && corio_sleep(P) < 0)
                return 0;
        } else if (rc == CORIO_ESHUTDOWN) {
            n_shutdown++;
            cs[i] = cs[--n]; /* that source is done */
        } else if (rc == -ECANCELED) {
            n_cancelled++;
            return 0;
        } else if (rc == -ETIMEDOUT) {
            n_timedout++;
        } else {
            return rc;
        }
    }
    return 0;
}

static int flow_canceller(void *arg)
{
    flow *f = arg;
    CHECK_EQ(corio_sleep(f->cancel_at), 0);
    corio_task_cancel(f->tasks[f->victim]);
    return 0;
}

static int flow_main(void *arg)
{
    flow *f = arg;
    who ws[NP + NC];
    int res[NP + NC];
    corio_task *can;
    corio_queue_opts o1 = {CORIO_QUEUE_FIFO, 2, NULL},
                     o2 = {CORIO_QUEUE_FIFO, 1, NULL};
    CHECK_EQ(corio_queue_new(&f->q1, &o1), 0);
    CHECK_EQ(corio_queue_new(&f->q2, &o2), 0);
    CHECK_EQ(corio_chan_new(&f->c, 2), 0);
    for (int k = 0; k < NP + NC; k++) {
        ws[k] = (who){f, k < NP ? k : k - NP,
                      f->seed * 2654435761u + (uint32_t)k + 1};
        CHECK_EQ(corio_task_spawn(&f->tasks[k], k < NP ? producer : consumer,
                                  &ws[k]),
                 0);
    }
    CHECK_EQ(corio_task_spawn(&can, flow_canceller, f), 0);
    CHECK_EQ(corio_gather(f->tasks, NP, res), 0);
    corio_queue_shutdown(f->q1, 0);
    corio_queue_shutdown(f->q2, 0);
    corio_chan_shutdown(f->c);
    CHECK_EQ(corio_gather(f->tasks + NP, NC, res + NP), 0);
    CHECK_EQ(corio_task_join(can, NULL), 0);
    void *it;
    long before = 0;
    for (int id = 0; id < NP * NI; id++)
        before += f->recv[id];
    while (corio_queue_try_get(f->q1, &it) == 0)
        count(f, it);
    while (corio_queue_try_get(f->q2, &it) == 0)
        count(f, it);
    while (corio_chan_try_get(f->c, &it) == 0)
        count(f, it);
    int sent = 0;
    for (int id = 0; id < NP * NI; id++)
        n_left += f->recv[id];
    n_left -= before;
    for (int id = 0; id < NP * NI; id++) {
        SCHECK_EQ(f->sent[id] <= 1, 1);
        SCHECK_EQ(f->recv[id], f->sent[id]); /* exactly once, or never sent */
        sent += f->sent[id];
    }
    /* Only the victim, if a producer, may have kept items. */
    SCHECK_EQ(sent >= (NP - 1) * NI, 1);
    if (f->victim >= NP)
        SCHECK_EQ(sent, NP * NI);
    corio_queue_free(f->q1);
    corio_queue_free(f->q2);
    corio_chan_free(f->c);
    return 0;
}

TEST_T(select, conservation_sweep_cancel_each_task_at_each_moment, 120)
{
    int64_t times[NTIMES] = {0,     P / 4, P / 2, P,    3 * P / 2,
                             2 * P, 3 * P, 5 * P, 8 * P};
    for (uint32_t seed = 1; seed <= 4; seed++)
        for (int v = 0; v < NP + NC; v++)
            for (int t = 0; t < NTIMES; t++) {
                static flow f;
                memset(&f, 0, sizeof f);
                f.seed = seed;
                f.victim = v;
                f.cancel_at = times[t];
                snprintf(cfg, sizeof cfg, "seed %u, cancel %s %d at %lld ms",
                         seed, v < NP ? "producer" : "consumer",
                         v < NP ? v : v - NP, (long long)(times[t] / CORIO_MS));
                CHECK_EQ(tst_run(flow_main, &f), 0);
            }
    fprintf(stderr,
            "    selects cancelled %ld, timed out %ld, cases shut down "
            "%ld; items kept by a cancelled producer %ld, left over %ld\n",
            n_cancelled, n_timedout, n_shutdown, n_kept, n_left);
    CHECK(n_cancelled > 20 && n_timedout > 100 && n_shutdown > 100);
    CHECK(n_kept > 0);
}

/* ---- channels fed by other threads ----------------------------------------
 */

#define NTHREADS 2
#define PER_THREAD 2000

typedef struct feed {
    corio_chan *c;
    int base;
} feed;

static intptr_t tids[NTHREADS * PER_THREAD];

static int thread_producer(void *arg)
{
    feed *fd = arg;
    for (int k = 0; k < PER_THREAD; k++) {
        int rc = corio_chan_put(fd->c, &tids[fd->base + k]); /* blocks */
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int offload(void *arg)
{
    int r;
    int rc = corio_to_thread(thread_producer, arg, &r);
    return rc < 0 ? rc : r;
}

typedef struct sink {
    corio_chan *c;
    corio_queue *q;
    int *seen;
    int got;
} sink;

static int chan_consumer(void *arg)
{
    sink *s = arg;
    corio_select_case cs[2] = {{CORIO_SELECT_QUEUE_GET, s->q, NULL, 0},
                               {CORIO_SELECT_CHAN_GET, s->c, NULL, 0}};
    for (;;) {
        size_t i;
        int rc = corio_select(cs, 2, corio_now() + CORIO_MS, &i);
        if (rc == -ETIMEDOUT)
            continue;
        if (rc < 0)
            return rc == CORIO_ESHUTDOWN ? 0 : rc;
        s->seen[(intptr_t *)cs[i].item - tids]++;
        s->got++;
    }
}

static int threads_main(void *arg)
{
    (void)arg;
    static int seen[NTHREADS * PER_THREAD];
    corio_chan *c;
    corio_queue *q = newq(0);
    corio_task *prod[NTHREADS], *cons[3];
    feed fds[NTHREADS];
    sink sk[3];
    memset(seen, 0, sizeof seen);
    CHECK_EQ(corio_chan_new(&c, 4), 0);
    for (int k = 0; k < 3; k++) {
        sk[k] = (sink){c, q, seen, 0};
        CHECK_EQ(corio_task_spawn(&cons[k], chan_consumer, &sk[k]), 0);
    }
    for (int k = 0; k < NTHREADS; k++) {
        fds[k] = (feed){c, k * PER_THREAD};
        CHECK_EQ(corio_task_spawn(&prod[k], offload, &fds[k]), 0);
    }
    CHECK_EQ(corio_gather(prod, NTHREADS, NULL), 0);
    corio_chan_shutdown(c); /* the consumers drain, then end */
    int res[3];
    CHECK_EQ(corio_gather(cons, 3, res), 0);
    int total = 0;
    for (int k = 0; k < NTHREADS * PER_THREAD; k++)
        CHECK_EQ(seen[k], 1);
    for (int k = 0; k < 3; k++)
        total += sk[k].got;
    CHECK_EQ(total, NTHREADS * PER_THREAD);
    corio_chan_free(c);
    corio_queue_free(q);
    return 0;
}

TEST_T(select, channel_fed_by_threads_every_item_once, 120)
{
    corio_options o = {0}; /* the real clock: threads take real time */
    CHECK_EQ(tst_run_ex(&o, threads_main, NULL), 0);
}
