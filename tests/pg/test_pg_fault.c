/* test_pg_fault.c — the fault sweep over connect and query: every system
 * call and allocation made through corio's table (corio-pg's own, and the
 * runtime's: fd waits, DNS, thread pool, stacks) is failed in turn, #1,
 * #2, ...; each run must end in an error or success, leak no descriptor
 * (nor memory, under LeakSanitizer), and the next run must work.  libpq's
 * own allocations and sockets are beyond the table's reach. */
#include "pg_util.h"

#include "os/sys.h"

static char dsn[600];

static int scenario(void *arg)
{
    (void)arg;
    corio_pg *c;
    int rc = corio_pg_connect(&c, dsn);
    if (rc < 0)
        return rc;
    const char *p[] = {"20"};
    corio_pg_result *r = NULL;
    rc = corio_pg_query(c, "SELECT $1::int + 22", p, 1, &r);
    if (rc == 0) {
        int32_t v = 0;
        rc = corio_pg_get_int32(r, 0, 0, &v);
        if (rc == 0 && v != 42)
            rc = -EPROTO;
    }
    corio_pg_result_free(r);
    if (rc == 0)
        rc = corio_pg_tx_begin(c, NULL);
    if (rc == 0)
        rc = corio_pg_exec(c, "SELECT 1", NULL, 0, NULL);
    if (rc == 0)
        rc = corio_pg_tx_commit(c);
    corio_pg_close(c);
    if (rc < 0)
        return rc;
    corio_pg_pool *pool;
    corio_pg_pool_opts o = {.max_size = 1};
    rc = corio_pg_pool_new(&pool, dsn, &o);
    if (rc < 0)
        return rc;
    rc = corio_pg_pool_query(pool, "SELECT 1", NULL, 0, &r);
    corio_pg_result_free(r);
    corio_pg_pool_free(pool);
    return rc;
}

static int run_once(void)
{
    corio_options o = {.threads = 2};
    int result = 0;
    int rc = corio_run_ex(scenario, NULL, &result, &o);
    return rc < 0 ? rc : result;
}

TEST_T(pg_fault, sweep_connect_and_query, 300)
{
    if (!pg_dsn())
        return;
    snprintf(dsn, sizeof dsn, "%s?sslmode=disable", pg_dsn());
    CHECK_EQ(run_once(), 0); /* warm up: pool threads exist from now on */
    int fds0 = tst_count_fds();
    long n;
    int failures = 0;
    n = getenv("PG_FAULT_FROM") ? atol(getenv("PG_FAULT_FROM")) : 1;
    for (;; n++) {
        if (getenv("PG_FAULT_VERBOSE"))
            fprintf(stderr, "    fault #%ld\n", n);
        corio__fault_arm(n, ENOMEM);
        int rc = run_once();
        int fired = corio__fault_fired();
        long calls = corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        failures += rc < 0;
        CHECK_EQ(tst_count_fds(), fds0);
        CHECK_EQ(run_once(), 0);
        CHECK(calls >= n);
    }
    fprintf(stderr, "    %ld calls failed in turn, %d runs ended in an error\n",
            n - 1, failures);
    CHECK(n > 20);
    CHECK(failures > 0);
    tst_leak_check();
}
