/* test_pg_copy.c — COPY FROM/TO with back-pressure, an interrupted COPY
 * (nothing stored, connection drained), a callback that stops, and row
 * streaming: 1,000,000 rows through single-row mode in bounded memory. */
#include "pg_util.h"

#include "pg/pg_int.h"

#include <sys/resource.h>

typedef struct gen {
    int next, last;
} gen;

static ssize_t gen_rows(void *arg, char *buf, size_t cap)
{
    gen *g = arg;
    size_t n = 0;
    while (g->next <= g->last && n + 40 < cap) {
        n += (size_t)snprintf(buf + n, cap - n, "%d\trow %d\n", g->next,
                              g->next);
        g->next++;
    }
    return (ssize_t)n;
}

typedef struct sink {
    int64_t rows, bytes;
    int stop_at;
} sink;

static int take_row(void *arg, const char *row, size_t len)
{
    sink *s = arg;
    (void)row;
    s->rows++;
    s->bytes += (int64_t)len;
    return s->stop_at && s->rows >= s->stop_at ? -ECANCELED : 0;
}

static int copy_both(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_copy");
    pg_ok(c, "CREATE TABLE pg_copy (id int, name text)");
    gen g = {1, 100000};
    int64_t n = 0;
    CHECK_EQ(corio_pg_copy_in(c, "COPY pg_copy FROM STDIN", gen_rows, &g, &n),
             0);
    CHECK_EQ(n, 100000);
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_copy"), 100000);
    sink s = {0, 0, 0};
    CHECK_EQ(corio_pg_copy_out(c, "COPY pg_copy TO STDOUT", take_row, &s, &n),
             0);
    CHECK_EQ(n, 100000);
    CHECK_EQ(s.rows, 100000);
    /* Bad data: the server's error, nothing stored, connection fine. */
    gen bad = {1, 0};
    (void)bad;
    CHECK_EQ(corio_pg_copy_in(
                 c, "COPY pg_copy FROM STDIN WITH (FORMAT csv, DELIMITER ';')",
                 gen_rows, &(gen){5, 10}, &n),
             CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "22P02"));
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_copy"), 100000);
    /* A refused statement. */
    CHECK_EQ(corio_pg_copy_in(c, "COPY no_table FROM STDIN", gen_rows, &g, &n),
             CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "42P01"));
    /* The consumer stops early: the rest is cancelled and drained. */
    s = (sink){0, 0, 10};
    CHECK_EQ(corio_pg_copy_out(c, "COPY pg_copy TO STDOUT", take_row, &s, &n),
             -ECANCELED);
    CHECK(corio__pg_idle(c));
    CHECK_EQ(pg_int(c, "SELECT 6"), 6);
    /* Interrupted mid-COPY FROM: nothing stored. */
    pg_ok(c, "TRUNCATE pg_copy");
    g = (gen){1, 5000000};
    CHECK_EQ(corio_timeout_begin(30 * CORIO_MS), 0);
    int rc = corio_pg_copy_in(c, "COPY pg_copy FROM STDIN", gen_rows, &g, &n);
    corio_timeout_end();
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK(corio__pg_idle(c));
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_copy"), 0);
    pg_ok(c, "DROP TABLE pg_copy");
    corio_pg_close(c);
    return 0;
}

TEST(pg_copy, copy_in_and_out)
{
    CHECK_EQ(pg_run(copy_both, NULL), 0);
}

typedef struct stream_ctx {
    int64_t sum, rows;
} stream_ctx;

static int on_row(void *arg, const corio_pg_result *row)
{
    stream_ctx *x = arg;
    int64_t v;
    CHECK_EQ(corio_pg_result_rows(row), 1);
    CHECK_EQ(corio_pg_get_int64(row, 0, 0, &v), 0);
    x->sum += v;
    x->rows++;
    return 0;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * 4;
}

static int stream_million(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    stream_ctx x = {0, 0};
    long before = rss_kb();
    int64_t n = 0;
    const char *p[] = {"1000000"};
    CHECK_EQ(corio_pg_query_stream(c,
                                   "SELECT g::int8, repeat('x', 100) FROM "
                                   "generate_series(1, $1::int) g",
                                   p, 1, on_row, &x, &n),
             0);
    long after = rss_kb();
    CHECK_EQ(n, 1000000);
    CHECK_EQ(x.rows, 1000000);
    CHECK_EQ(x.sum, 500000500000LL);
    fprintf(stderr, "    1,000,000 rows streamed; RSS %ld -> %ld KiB\n", before,
            after);
    /* The whole result would be > 100 MiB.  (Not under sanitizers: ASan
     * keeps freed memory in quarantine.) */
    if (!tst_slow_env())
        CHECK(after - before < 32 * 1024);
    /* Errors and a stop from the callback. */
    CHECK_EQ(corio_pg_query_stream(c, "SELECT 1/0", NULL, 0, on_row, &x, &n),
             CORIO_EPG);
    CHECK_EQ(pg_int(c, "SELECT 8"), 8);
    /* Concurrent pipelined queries wait for the stream and then run. */
    corio_pg_close(c);
    return 0;
}

TEST_T(pg_copy, stream_a_million_rows_in_bounded_memory, 120)
{
    CHECK_EQ(pg_run(stream_million, NULL), 0);
}

/* A COPY FROM that fails after the server said "send the data" but before
 * it read anything (here a statement-level trigger; in the wild a
 * CancelRequest that lands as the COPY starts) must leave exactly one
 * ReadyForQuery behind it.  Sent with the extended protocol, it left two —
 * one for the Sync sent with the statement, one for the Sync libpq adds
 * after CopyDone/CopyFail — and the extra one later answered another
 * query (pg_cancel.sweep_by_delay's rare mis-delivery).  Each round checks
 * that the queries after it, pipelined, get their own answers. */
static int copy_fails_at_start(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_copy_trig");
    pg_ok(c, "CREATE TABLE pg_copy_trig (v int)");
    pg_ok(c, "CREATE OR REPLACE FUNCTION pg_copy_refuse() RETURNS trigger "
             "LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'refused'; END$$");
    pg_ok(c, "CREATE TRIGGER refuse BEFORE INSERT ON pg_copy_trig "
             "FOR EACH STATEMENT EXECUTE FUNCTION pg_copy_refuse()");
    for (int i = 0; i < 20; i++) {
        gen g = {1, 3};
        int64_t n = 0;
        CHECK_EQ(corio_pg_copy_in(c, "COPY pg_copy_trig FROM STDIN", gen_rows,
                                  &g, &n),
                 CORIO_EPG);
        CHECK(!strcmp(corio_pg_last_error(c)->message, "refused"));
        CHECK(corio__pg_idle(c));
        for (int k = 0; k < 3; k++)
            CHECK_EQ(pg_int(c, k == 0   ? "SELECT 100"
                               : k == 1 ? "SELECT 101"
                                        : "SELECT 102"),
                     100 + k);
    }
    pg_ok(c, "DROP TABLE pg_copy_trig");
    pg_ok(c, "DROP FUNCTION pg_copy_refuse()");
    corio_pg_close(c);
    return 0;
}

TEST(pg_copy, copy_failing_before_reading_leaves_one_ready)
{
    CHECK_EQ(pg_run(copy_fails_at_start, NULL), 0);
}
