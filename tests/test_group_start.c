/* test_group_start.c — corio_group_start / corio_task_started (Trio's
 * nursery.start): a server listening before its starter connects; a child
 * that ends before reporting (with an error, with success, cancelled before
 * it ran); the starter interrupted before, in the tick of, and after the
 * report; misuse. */
#include "tst.h"

#include <string.h>

typedef struct server {
    int port;
    int served;
} server;

static int serve_one(void *arg)
{
    server *s = arg;
    corio_listener *l;
    corio_addr a;
    corio_stream *c;
    int rc = corio_tcp_listen(&l, "127.0.0.1", 0, NULL);
    if (rc < 0)
        return rc;
    CHECK_EQ(corio_listener_addr(l, &a), 0);
    s->port = corio_addr_port(&a);
    CHECK_EQ(corio_task_started(), 0); /* listening: the starter may go on */
    CHECK_EQ(corio_task_started(), -EINVAL); /* once only */
    rc = corio_listener_accept(l, &c, NULL);
    if (rc == 0) {
        rc = corio_stream_write(c, "hi", 2);
        if (rc == 0)
            rc = corio_stream_flush(c);
        corio_stream_close(c);
        s->served++;
    }
    corio_listener_close(l);
    return rc;
}

static int server_main(void *arg)
{
    (void)arg;
    server s = {0, 0};
    corio_group *g;
    corio_stream *c;
    char buf[2];
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_group_start(g, serve_one, &s), 0);
    CHECK(s.port > 0);
    /* The listener exists now: connect without any retry or sleep. */
    CHECK_EQ(corio_tcp_connect(&c, "127.0.0.1", s.port), 0);
    CHECK_EQ(corio_stream_read_exactly(c, buf, 2), 0);
    CHECK(memcmp(buf, "hi", 2) == 0);
    corio_stream_close(c);
    CHECK_EQ(corio_group_wait(g), 0);
    CHECK_EQ(s.served, 1);
    return 0;
}

TEST(group_start, server_listens_before_start_returns)
{
    CHECK_EQ(tst_run(server_main, NULL), 0);
}

static int fail_early(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    return -EADDRINUSE;
}

static int succeed_silently(void *arg)
{
    (void)arg;
    return 3;
}

static int ends_before_report(void *arg)
{
    (void)arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_group_start(g, succeed_silently, NULL), -ECHILD);
    CHECK_EQ(corio_group_wait(g), 0);
    /* A failing child: its own error, and the group fails with it. */
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_group_start(g, fail_early, NULL), -EADDRINUSE);
    CHECK_EQ(corio_sleep(0), -ECANCELED); /* the owner is inside g */
    CHECK_EQ(corio_group_wait(g), -EADDRINUSE);
    return 0;
}

TEST(group_start, child_ending_before_it_reports)
{
    CHECK_EQ(tst_run(ends_before_report, NULL), 0);
}

typedef struct slow {
    int64_t report_at; /* when the child calls corio_task_started */
    int cleaned;       /* the child saw its cancellation */
    int reported;
} slow;

static int slow_start(void *arg)
{
    slow *s = arg;
    int rc = corio_sleep(s->report_at);
    if (rc < 0) {
        s->cleaned++;
        return rc;
    }
    s->reported++;
    CHECK_EQ(corio_task_started(), 0);
    rc = corio_sleep(CORIO_SECOND);
    if (rc < 0)
        s->cleaned++;
    return rc;
}

typedef struct interrupt {
    int64_t report_at, deadline;
    int want; /* corio_group_start's result */
    int reported, cleaned;
} interrupt;

static int interrupted(void *arg)
{
    interrupt *ic = arg;
    slow s = {ic->report_at, 0, 0};
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_timeout_begin_at(corio_now() + ic->deadline), 0);
    int rc = corio_group_start(g, slow_start, &s);
    CORIO_IGNORE(corio_timeout_end());
    CHECK_EQ(rc, ic->want);
    int w = corio_group_wait(g);
    CHECK_EQ(w, 0);
    CHECK_EQ(s.reported, ic->reported);
    CHECK_EQ(s.cleaned, ic->cleaned);
    return 0;
}

/* The child reports at 1 s.  A deadline already passed: -ETIMEDOUT, the
 * child cancelled before it ever ran.  Before: -ETIMEDOUT, the child
 * cancelled and awaited.  In the same tick: the deadline's timer (armed
 * first) interrupts the starter before the child runs, so -ETIMEDOUT too;
 * the child, whose sleep was already served, reports while cancelled (the
 * starter, draining, returns then) and fails at its next wait.  After: 0, and
 * the child goes on in the group. */
TEST(group_start, starter_interrupted_at_each_moment)
{
    interrupt cases[] = {
        {CORIO_SECOND, 0, -ETIMEDOUT, 0, 0},
        {CORIO_SECOND, CORIO_MS, -ETIMEDOUT, 0, 1},
        {CORIO_SECOND, CORIO_SECOND, -ETIMEDOUT, 1, 1},
        {CORIO_SECOND, 2 * CORIO_SECOND, 0, 1, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        CHECK_EQ(tst_run(interrupted, &cases[k]), 0);
}

static int report_then_idle(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_task_started(), 0);
    return corio_sleep(CORIO_SECOND);
}

static int canceller(void *arg)
{
    corio_task_cancel(arg);
    return 0;
}

static int report_same_tick(void *arg)
{
    (void)arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    /* The canceller is queued before the child: the starter is
     * interrupted, then the child reports in the same tick, before the
     * starter runs again: the report counts (like a hand-off). */
    CHECK_EQ(corio_task_spawn(NULL, canceller, corio_task_current()), 0);
    CHECK_EQ(corio_group_start(g, report_then_idle, NULL), 0);
    CHECK_EQ(corio_group_wait(g), -ECANCELED); /* still cancelled */
    return 0;
}

TEST(group_start, report_in_the_tick_of_the_cancel_counts)
{
    CHECK_EQ(tst_run(report_same_tick, NULL), 0);
}

static int report_then_cancel(void *arg)
{
    (void)arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    corio_task *self = corio_task_current();
    CHECK_EQ(corio_group_start(g, report_then_idle, NULL), 0);
    /* Reported first: start succeeded, the child runs on in g. */
    corio_task_cancel(self);
    CHECK_EQ(corio_group_wait(g), -ECANCELED);
    return 0;
}

TEST(group_start, report_first_then_cancel)
{
    CHECK_EQ(tst_run(report_then_cancel, NULL), 0);
}

static int cancelled_group(void *arg)
{
    (void)arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    corio_group_cancel(g);
    CHECK_EQ(corio_group_start(g, report_then_idle, NULL), -ECANCELED);
    CHECK_EQ(corio_group_wait(g), -ECANCELED);
    return 0;
}

TEST(group_start, cancelled_group_starts_nothing)
{
    CHECK_EQ(tst_run(cancelled_group, NULL), 0);
}

static int not_started(void *arg)
{
    (void)arg;
    return corio_task_started();
}

static int misuse(void *arg)
{
    (void)arg;
    corio_task *t;
    int r;
    CHECK_EQ(corio_task_spawn(&t, not_started, NULL), 0);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, -EINVAL);
    CHECK_EQ(corio_task_started(), -EINVAL);
    CHECK_EQ(corio_group_start(NULL, not_started, NULL), -EINVAL);
    return 0;
}

TEST(group_start, misuse)
{
    CHECK_EQ(tst_run(misuse, NULL), 0);
    CHECK_EQ(corio_task_started(), -EPERM);
}
