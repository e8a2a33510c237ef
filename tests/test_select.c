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
    cs[2] = (corio_select_case){CORIO_SELECT_JOIN, corio_task_current(), NULL, 0};
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
static const char *const kind_name[NKINDS] = {"queue-get", "queue-put",
                                              "event", "join", "chan-get"};
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
    CHECK_EQ(corio_task_spawn(w->kind == K_JOIN ? &w->joined : &srv, server, w), 0);
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
        (void)corio_timeout_end();
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
