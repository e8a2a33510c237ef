/* pg_util.h — helpers of corio-pg's tests: the test server's DSN, a run on
 * the real clock (the server's answers take real time), and small query
 * shortcuts that CHECK their way through. */
#ifndef PG_UTIL_H
#define PG_UTIL_H

#include "tst.h"

#include <corio/pg.h>
#include <string.h>

/* The superuser URL of the throwaway server (scripts/pg-test-server.sh):
 * CORIO_PG_TEST_DSN, else the dsn file in CORIO_PG_TEST_DIR. */
static inline const char *pg_dsn(void)
{
    static char buf[512];
    const char *e = getenv("CORIO_PG_TEST_DSN");
    if (e && *e)
        return e;
    const char *dir = getenv("CORIO_PG_TEST_DIR");
    if (!dir)
        return NULL;
    char path[400];
    snprintf(path, sizeof path, "%s/dsn", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = 0;
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return buf[0] ? buf : NULL;
}

/* The server's port and directory, for DSNs of other users. */
static inline int pg_port(void)
{
    const char *d = pg_dsn();
    const char *p = d ? strrchr(d, ':') : NULL;
    return p ? atoi(p + 1) : 0;
}

static inline int pg_run(corio_fn fn, void *arg)
{
    if (!pg_dsn()) {
        fprintf(stderr,
                "    no test server (CORIO_PG_TEST_DIR / CORIO_PG_TEST_DSN)\n");
        return 1;
    }
    int result = 0;
    int rc = corio_run(fn, arg, &result);
    return rc < 0 ? rc : result;
}

static inline corio_pg *pg_connect(void)
{
    corio_pg *c = NULL;
    corio_error_detail d = {""};
    corio_pg_opts o = {.detail = &d};
    int rc = corio_pg_connect_ex(&c, pg_dsn(), &o);
    if (rc < 0)
        fprintf(stderr, "    connect: %s: %s\n", corio_strerror(rc), d.text);
    CHECK_EQ(rc, 0);
    return c;
}

static inline int64_t pg_int(corio_pg *c, const char *sql)
{
    corio_pg_result *r;
    int rc = corio_pg_query(c, sql, NULL, 0, &r);
    if (rc < 0)
        fprintf(stderr, "    %s: %s %s\n", sql, corio_strerror(rc),
                corio_pg_last_error(c)->message);
    CHECK_EQ(rc, 0);
    int64_t v = -1;
    if (corio_pg_get_int64(r, 0, 0, &v) < 0)
        fprintf(stderr, "    %s: got \"%s\", %d rows, %d columns\n", sql,
                corio_pg_result_tag(r), corio_pg_result_rows(r),
                corio_pg_result_cols(r));
    CHECK_EQ(corio_pg_get_int64(r, 0, 0, &v), 0);
    corio_pg_result_free(r);
    return v;
}

static inline void pg_ok(corio_pg *c, const char *sql)
{
    int rc = corio_pg_exec(c, sql, NULL, 0, NULL);
    if (rc < 0)
        fprintf(stderr, "    %s: %s %s\n", sql, corio_strerror(rc),
                corio_pg_last_error(c)->message);
    CHECK_EQ(rc, 0);
}

#endif
