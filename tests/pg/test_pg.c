/* test_pg.c — corio-pg basics against the real server: connect (trust,
 * SCRAM, md5, TLS, a refused password, a host name through corio's DNS),
 * parameters, types and NULLs in binary, errors with SQLSTATE, command
 * tags, fetchval/fetchrow, prepared statements and the statement cache. */
#include "pg_util.h"

#include <math.h>

static int connect_trust(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    CHECK(corio_pg_ok(c));
    CHECK(corio_pg_backend_pid(c) > 0);
    CHECK_EQ(pg_int(c, "SELECT 1+1"), 2);
    corio_pg_close(c);
    return 0;
}

TEST(pg, connect_trust_and_query)
{
    CHECK_EQ(pg_run(connect_trust, NULL), 0);
}

static int connect_users(void *arg)
{
    (void)arg;
    char dsn[256];
    corio_error_detail d = {""};
    char *err = d.text;
    corio_pg_opts o = {.detail = &d};
    corio_pg *c;
    /* SCRAM-SHA-256 over TCP, with TLS required. */
    snprintf(
        dsn, sizeof dsn,
        "postgresql://corio_scram:scram-pw@127.0.0.1:%d/corio?sslmode=require",
        pg_port());
    CHECK_EQ(corio_pg_connect_ex(&c, dsn, &o), 0);
    char v[64];
    CHECK(corio_pg_fetchval(c, "SELECT current_user", NULL, 0, v, sizeof v) >
          0);
    CHECK(!strcmp(v, "corio_scram"));
    CHECK(corio_pg_fetchval(
              c,
              "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
              NULL, 0, v, sizeof v) > 0);
    CHECK(!strcmp(v, "true"));
    CHECK_EQ(pg_int(c, "SELECT 40+2"), 42);
    corio_pg_close(c);
    /* md5, key=value form, TLS off, the host given as a name (corio's DNS). */
    snprintf(dsn, sizeof dsn,
             "host=localhost port=%d dbname=corio user=corio_md5 "
             "password=md5-pw sslmode=disable",
             pg_port());
    int rc = corio_pg_connect_ex(&c, dsn, &o);
    if (rc < 0)
        fprintf(stderr, "    md5: %s\n", err);
    CHECK_EQ(rc, 0);
    CHECK(corio_pg_fetchval(c, "SELECT current_user", NULL, 0, v, sizeof v) >
          0);
    CHECK(!strcmp(v, "corio_md5"));
    corio_pg_close(c);
    /* A wrong password: refused with libpq's message. */
    snprintf(dsn, sizeof dsn,
             "postgresql://corio_scram:wrong@127.0.0.1:%d/corio", pg_port());
    err[0] = 0;
    CHECK_EQ(corio_pg_connect_ex(&c, dsn, &o), CORIO_EPGCONN);
    CHECK(c == NULL);
    CHECK(strstr(err, "password authentication failed") != NULL);
    /* Nobody listening. */
    CHECK_EQ(
        corio_pg_connect_ex(&c, "postgresql://postgres@127.0.0.1:1/corio", &o),
        CORIO_EPGCONN);
    /* A name that does not resolve. */
    rc = corio_pg_connect_ex(&c, "host=no-such-host.invalid dbname=corio", &o);
    CHECK(rc == CORIO_ENOHOST || rc == CORIO_EDNS);
    /* Garbage. */
    CHECK_EQ(corio_pg_connect_ex(&c, "this is not = a conninfo '", &o),
             -EINVAL);
    return 0;
}

TEST(pg, connect_scram_md5_tls_and_failures)
{
    CHECK_EQ(pg_run(connect_users, NULL), 0);
}

static int tls_verify(void *arg)
{
    (void)arg;
    const char *dir = getenv("CORIO_PG_TEST_DIR");
    if (!dir)
        return 0; /* the CA file lives in the server's directory */
    char dsn[512];
    corio_error_detail d = {""};
    char *err = d.text;
    corio_pg_opts o = {.detail = &d};
    corio_pg *c;
    /* The right CA and host name: verified. */
    snprintf(
        dsn, sizeof dsn,
        "host=localhost port=%d dbname=corio user=postgres sslmode=verify-full "
        "sslrootcert=%s/ca.crt",
        pg_port(), dir);
    int rc = corio_pg_connect_ex(&c, dsn, &o);
    if (rc < 0)
        fprintf(stderr, "    verify-full: %s\n", err);
    CHECK_EQ(rc, 0);
    corio_pg_close(c);
    /* A name the certificate does not hold: refused. */
    snprintf(
        dsn, sizeof dsn,
        "host=127.0.0.2 hostaddr=127.0.0.1 port=%d dbname=corio user=postgres "
        "sslmode=verify-full sslrootcert=%s/ca.crt",
        pg_port(), dir);
    CHECK_EQ(corio_pg_connect_ex(&c, dsn, &o), CORIO_EPGCONN);
    CHECK(strstr(err, "does not match") != NULL);
    /* The wrong CA (the server's own certificate is not a CA). */
    snprintf(
        dsn, sizeof dsn,
        "host=localhost port=%d dbname=corio user=postgres sslmode=verify-full "
        "sslrootcert=%s/server.crt",
        pg_port(), dir);
    CHECK_EQ(corio_pg_connect_ex(&c, dsn, &o), CORIO_EPGCONN);
    CHECK(strstr(err, "certificate verify failed") != NULL);
    return 0;
}

TEST(pg, tls_verify_full)
{
    CHECK_EQ(pg_run(tls_verify, NULL), 0);
}

static int params_and_types(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    corio_pg_result *r;
    const char *p[] = {"41", "hello", NULL};
    CHECK_EQ(
        corio_pg_query(
            c,
            "SELECT $1::int4 + 1 AS n, $2::text AS t, $3::text AS z, "
            "2::int2 AS s, 9000000000::int8 AS b, 1.5::float4 AS f, "
            "0.1::float8 AS d, true AS yes, "
            "'2000-01-01 00:00:01.5+00'::timestamptz AS ts, "
            "'1970-01-02'::date AS day, 12345.678900::numeric AS num, "
            "-0.001::numeric AS small, '{\"a\": 1}'::jsonb AS j, "
            "'{\"b\":2}'::json AS js, "
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, "
            "'\\xdeadbeef'::bytea AS raw, ARRAY[1,2,NULL]::int4[] AS arr, "
            "ARRAY['x y','z']::text[] AS tarr, 'infinity'::timestamp AS inf",
            p, 3, &r),
        0);
    CHECK_EQ(corio_pg_result_rows(r), 1);
    CHECK_EQ(corio_pg_result_cols(r), 19);
    CHECK(!strcmp(corio_pg_result_colname(r, 0), "n"));
    CHECK_EQ(corio_pg_result_colindex(r, "t"), 1);
    CHECK_EQ(corio_pg_result_colindex(r, "nope"), -ENOENT);
    CHECK_EQ(corio_pg_result_coltype(r, 0), 23);
    CHECK(!strcmp(corio_pg_result_tag(r), "SELECT 1"));
    int32_t i32;
    int16_t i16;
    int64_t i64;
    float f;
    double d;
    bool b;
    char buf[128];
    CHECK_EQ(corio_pg_get_int32(r, 0, 0, &i32), 0);
    CHECK_EQ(i32, 42);
    size_t len;
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 1, &len), "hello"));
    CHECK_EQ(len, 5);
    CHECK(corio_pg_isnull(r, 0, 2));
    CHECK_EQ(corio_pg_get_int32(r, 0, 2, &i32), -ENODATA);
    CHECK_EQ(corio_pg_get_text(r, 0, 2, buf, sizeof buf), -ENODATA);
    CHECK_EQ(corio_pg_get_int16(r, 0, 3, &i16), 0);
    CHECK_EQ(i16, 2);
    CHECK_EQ(corio_pg_get_int64(r, 0, 4, &i64), 0);
    CHECK_EQ(i64, 9000000000LL);
    CHECK_EQ(corio_pg_get_int32(r, 0, 4, &i32), -ERANGE);
    CHECK_EQ(corio_pg_get_float(r, 0, 5, &f), 0);
    CHECK(f == 1.5f);
    CHECK_EQ(corio_pg_get_double(r, 0, 6, &d), 0);
    CHECK(d == 0.1);
    CHECK_EQ(corio_pg_get_text(r, 0, 6, buf, sizeof buf), 3);
    CHECK(!strcmp(buf, "0.1"));
    CHECK_EQ(corio_pg_get_bool(r, 0, 7, &b), 0);
    CHECK(b);
    CHECK_EQ(corio_pg_get_int32(r, 0, 7, &i32), -EINVAL);
    CHECK_EQ(corio_pg_get_time(r, 0, 8, &i64), 0);
    CHECK_EQ(i64, 946684801500000000LL);
    CHECK(corio_pg_get_text(r, 0, 8, buf, sizeof buf) > 0);
    CHECK(!strcmp(buf, "2000-01-01 00:00:01.5+00"));
    CHECK_EQ(corio_pg_get_time(r, 0, 9, &i64), 0);
    CHECK_EQ(i64, 86400LL * 1000000000LL);
    CHECK(corio_pg_get_text(r, 0, 10, buf, sizeof buf) > 0);
    CHECK(!strcmp(buf, "12345.678900"));
    CHECK(corio_pg_get_text(r, 0, 11, buf, sizeof buf) > 0);
    CHECK(!strcmp(buf, "-0.001"));
    CHECK(corio_pg_get_text(r, 0, 12, buf, sizeof buf) > 0);
    CHECK(!strcmp(buf, "{\"a\": 1}"));
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 13, NULL), "{\"b\":2}"));
    CHECK_EQ(corio_pg_get_text(r, 0, 14, buf, sizeof buf), 36);
    CHECK(!strcmp(buf, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    const char *raw = corio_pg_get_bytes(r, 0, 15, &len);
    CHECK_EQ(len, 4);
    CHECK(!memcmp(raw, "\xde\xad\xbe\xef", 4));
    CHECK(corio_pg_get_text(r, 0, 15, buf, sizeof buf) > 0);
    CHECK(!strcmp(buf, "\\xdeadbeef"));
    CHECK(corio_pg_get_text(r, 0, 16, buf, sizeof buf) > 0);
    CHECK(!strcmp(buf, "{1,2,NULL}"));
    CHECK(corio_pg_get_text(r, 0, 17, buf, sizeof buf) > 0);
    CHECK(!strcmp(buf, "{\"x y\",z}"));
    CHECK_EQ(corio_pg_get_time(r, 0, 18, &i64), -ERANGE);
    /* Truncation reports the full length. */
    CHECK_EQ(corio_pg_get_text(r, 0, 1, buf, 3), 5);
    CHECK(!strcmp(buf, "he"));
    CHECK_EQ(corio_pg_get_int32(r, 1, 0, &i32), -ERANGE);
    corio_pg_result_free(r);
    corio_pg_result_free(NULL);

    /* Round trips of awkward values through parameters. */
    const char *vals[] = {"", "O'Reilly \"quoted\" \\ back", "ünïcødé ✓", NULL};
    for (int i = 0; i < 4; i++) {
        const char *q[] = {vals[i]};
        CHECK_EQ(corio_pg_query(c, "SELECT $1::text", q, 1, &r), 0);
        if (!vals[i]) {
            CHECK(corio_pg_isnull(r, 0, 0));
        } else {
            CHECK(!strcmp(corio_pg_get_bytes(r, 0, 0, NULL), vals[i]));
        }
        corio_pg_result_free(r);
    }
    corio_pg_close(c);
    return 0;
}

TEST(pg, params_types_and_nulls)
{
    CHECK_EQ(pg_run(params_and_types, NULL), 0);
}

static int errors(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_err");
    pg_ok(c, "CREATE TABLE pg_err (id int PRIMARY KEY, v text)");
    int64_t n = 0;
    const char *p[] = {"1", "one"};
    CHECK_EQ(corio_pg_exec(c, "INSERT INTO pg_err VALUES ($1, $2)", p, 2, &n),
             0);
    CHECK_EQ(n, 1);
    CHECK_EQ(corio_pg_exec(c, "INSERT INTO pg_err VALUES ($1, $2)", p, 2, &n),
             CORIO_EPG);
    const corio_pg_error *e = corio_pg_last_error(c);
    CHECK(!strcmp(e->sqlstate, "23505"));
    CHECK(!strcmp(e->constraint, "pg_err_pkey"));
    CHECK(!strcmp(e->table, "pg_err"));
    CHECK(strstr(e->message, "duplicate key") != NULL);
    CHECK(strstr(e->detail, "(id)=(1)") != NULL);
    CHECK(!strcmp(e->severity, "ERROR"));
    /* A syntax error has a position; the connection still works after. */
    corio_pg_result *r;
    CHECK_EQ(corio_pg_query(c, "SELECT 1 FROM FROM", NULL, 0, &r), CORIO_EPG);
    CHECK(r == NULL);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "42601"));
    CHECK(corio_pg_last_error(c)->position > 0);
    /* Twice: the failed Parse left nothing behind in the statement cache. */
    CHECK_EQ(corio_pg_query(c, "SELECT 1 FROM FROM", NULL, 0, &r), CORIO_EPG);
    CHECK_EQ(corio_pg_exec(c, "SELECT 1/0", NULL, 0, NULL), CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "22012"));
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_err"), 1);
    /* Tags and affected rows. */
    const char *u[] = {"uno"};
    CHECK_EQ(corio_pg_exec(c, "UPDATE pg_err SET v = $1", u, 1, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(corio_pg_query(c, "DELETE FROM pg_err", NULL, 0, &r), 0);
    CHECK(!strcmp(corio_pg_result_tag(r), "DELETE 1"));
    CHECK_EQ(corio_pg_result_affected(r), 1);
    corio_pg_result_free(r);
    /* fetchval: no row, NULL. */
    char buf[16];
    CHECK_EQ(
        corio_pg_fetchval(c, "SELECT 1 WHERE false", NULL, 0, buf, sizeof buf),
        -ENOENT);
    CHECK_EQ(corio_pg_fetchval(c, "SELECT NULL::int", NULL, 0, buf, sizeof buf),
             -ENODATA);
    CHECK_EQ(corio_pg_fetchval(c, "SELECT 7", NULL, 0, buf, sizeof buf), 1);
    CHECK(!strcmp(buf, "7"));
    CHECK_EQ(corio_pg_fetchrow(c, "SELECT 1 AS a, 'b' AS b", NULL, 0, &r), 0);
    CHECK_EQ(corio_pg_result_rows(r), 1);
    corio_pg_result_free(r);
    /* Misuse. */
    CHECK_EQ(corio_pg_query(NULL, "SELECT 1", NULL, 0, &r), -EINVAL);
    CHECK_EQ(corio_pg_query(c, NULL, NULL, 0, &r), -EINVAL);
    CHECK_EQ(corio_pg_query(c, "SELECT $1", NULL, 1, &r), -EINVAL);
    pg_ok(c, "DROP TABLE pg_err");
    corio_pg_close(c);
    return 0;
}

TEST(pg, errors_sqlstate_tags_fetchval)
{
    CHECK_EQ(pg_run(errors, NULL), 0);
}

static int prepared(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    CHECK_EQ(corio_pg_prepare(c, "add", "SELECT $1::int + $2::int"), 0);
    corio_pg_result *r;
    const char *p[] = {"2", "3"};
    CHECK_EQ(corio_pg_query_prepared(c, "add", p, 2, &r), 0);
    int32_t v;
    CHECK_EQ(corio_pg_get_int32(r, 0, 0, &v), 0);
    CHECK_EQ(v, 5);
    corio_pg_result_free(r);
    CHECK_EQ(corio_pg_query_prepared(c, "nope", NULL, 0, &r), CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "26000"));
    /* The automatic cache: the same text is prepared once. */
    for (int i = 0; i < 5; i++)
        CHECK_EQ(pg_int(c, "SELECT 123"), 123);
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_prepared_statements WHERE "
                       "statement = 'SELECT 123'"),
             1);
    /* Past its size (100) the least recently used are deallocated. */
    char sql[64];
    for (int i = 0; i < 150; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", 1000 + i);
        CHECK_EQ(pg_int(c, sql), 1000 + i);
    }
    int64_t n = pg_int(c, "SELECT count(*) FROM pg_prepared_statements WHERE "
                          "name LIKE 'corio_s%'");
    CHECK(n <= 101 && n >= 90);
    corio_pg_close(c);
    return 0;
}

TEST(pg, prepare_and_statement_cache)
{
    CHECK_EQ(pg_run(prepared, NULL), 0);
}
