/* test_pg_notify.c — LISTEN/NOTIFY: a waiter gets a notification sent by
 * another connection; notifications that arrive while the connection runs
 * other queries are queued, not lost; a timed-out wait takes nothing. */
#include "pg_util.h"

static int notify(void *arg)
{
    (void)arg;
    corio_pg *l = pg_connect();
    corio_pg *s = pg_connect();
    pg_ok(l, "LISTEN corio_ev");
    /* Nothing yet: a short wait times out and takes nothing. */
    char *ch = NULL, *pl = NULL;
    CHECK_EQ(corio_timeout_begin(20 * CORIO_MS), 0);
    CHECK_EQ(corio_pg_notify_wait(l, &ch, &pl), -ETIMEDOUT);
    corio_timeout_end();
    CHECK(ch == NULL && pl == NULL);
    pg_ok(s, "NOTIFY corio_ev, 'one'");
    int pid = corio_pg_notify_wait(l, &ch, &pl);
    CHECK_EQ(pid, corio_pg_backend_pid(s));
    CHECK(!strcmp(ch, "corio_ev"));
    CHECK(!strcmp(pl, "one"));
    free(ch);
    free(pl);
    /* Three while l is busy with queries: all kept, in order. */
    pg_ok(s, "NOTIFY corio_ev, 'a'");
    CHECK_EQ(pg_int(l, "SELECT 1 FROM pg_sleep(0.05)"), 1);
    pg_ok(s, "NOTIFY corio_ev, 'b'");
    pg_ok(s, "SELECT pg_notify('corio_ev', 'c')");
    CHECK_EQ(pg_int(l, "SELECT 2 FROM pg_sleep(0.05)"), 2);
    const char *want[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(corio_timeout_begin(2 * CORIO_SECOND), 0);
        CHECK(corio_pg_notify_wait(l, NULL, &pl) > 0);
        corio_timeout_end();
        CHECK(!strcmp(pl, want[i]));
        free(pl);
    }
    corio_pg_close(s);
    corio_pg_close(l);
    return 0;
}

TEST(pg_notify, listen_notify_queued_during_queries)
{
    CHECK_EQ(pg_run(notify, NULL), 0);
}
