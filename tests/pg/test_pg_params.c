/* test_pg_params.c — typed parameters (binary int/float/bool/timestamptz/
 * bytea, text, NULL; numeric as text, uuid, arrays as typed literals)
 * round-trip exactly, share the statement cache only
 * with the same types, and a wrong binary value is the server's error; the
 * typed array getters read int2[]/int4[]/int8[]/float8[]/bool[]/text[]/
 * bytea[] with NULL elements, empty arrays, truncation and type errors. */
#include "pg_util.h"

#include "pg/pg_int.h"

static int params_round_trip(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    unsigned char blob[256];
    for (int i = 0; i < 256; i++)
        blob[i] = (unsigned char)i;
    int64_t when = INT64_C(1700000000123456000); /* 2023-11-14, exact us */
    corio_pg_param p[] = {
        corio_pg_param_int8(INT64_MIN),  corio_pg_param_int4(-7),
        corio_pg_param_int2(32767),      corio_pg_param_float8(0.1),
        corio_pg_param_float4(1.5f),     corio_pg_param_bool(true),
        corio_pg_param_bytea(blob, 256), corio_pg_param_text("12.50"),
        corio_pg_param_null(),           corio_pg_param_timestamptz(when),
        corio_pg_param_text(NULL),
    };
    corio_pg_result *r;
    CHECK_EQ(corio_pg_query_params(c,
                                   "SELECT $1, $2, $3, $4, $5, $6, $7, "
                                   "$8::numeric * 2, $9::int, $10, $11::text, "
                                   "pg_typeof($1)::text",
                                   p, 11, &r),
             0);
    int64_t i64;
    int32_t i32;
    int16_t i16;
    double d;
    float f;
    bool b;
    CHECK_EQ(corio_pg_get_int64(r, 0, 0, &i64), 0);
    CHECK(i64 == INT64_MIN);
    CHECK_EQ(corio_pg_get_int32(r, 0, 1, &i32), 0);
    CHECK_EQ(i32, -7);
    CHECK_EQ(corio_pg_get_int16(r, 0, 2, &i16), 0);
    CHECK_EQ(i16, 32767);
    CHECK_EQ(corio_pg_get_double(r, 0, 3, &d), 0);
    CHECK(d == 0.1); /* bit for bit */
    CHECK_EQ(corio_pg_get_float(r, 0, 4, &f), 0);
    CHECK(f == 1.5f);
    CHECK_EQ(corio_pg_get_bool(r, 0, 5, &b), 0);
    CHECK(b);
    size_t len = 0;
    const char *bytes = corio_pg_get_bytes(r, 0, 6, &len);
    CHECK_EQ(len, 256);
    CHECK(bytes && !memcmp(bytes, blob, 256));
    char buf[64];
    CHECK_EQ(corio_pg_get_text(r, 0, 7, buf, sizeof buf), 5);
    CHECK(!strcmp(buf, "25.00"));
    CHECK(corio_pg_isnull(r, 0, 8));
    CHECK_EQ(corio_pg_get_time(r, 0, 9, &i64), 0);
    CHECK(i64 == when);
    CHECK(corio_pg_isnull(r, 0, 10));
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 11, NULL), "bigint"));
    corio_pg_result_free(r);

    /* The same text with other declared types is another statement. */
    corio_pg_param q4[] = {corio_pg_param_int4(41)};
    corio_pg_param q8[] = {corio_pg_param_int8(INT64_C(1) << 40)};
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(corio_pg_query_params(c, "SELECT $1 + 1", q4, 1, &r), 0);
        CHECK_EQ(corio_pg_result_coltype(r, 0), 23u);
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &i64), 0);
        CHECK_EQ(i64, 42);
        corio_pg_result_free(r);
        CHECK_EQ(corio_pg_query_params(c, "SELECT $1 + 1", q8, 1, &r), 0);
        CHECK_EQ(corio_pg_result_coltype(r, 0), 20u);
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &i64), 0);
        CHECK(i64 == (INT64_C(1) << 40) + 1);
        corio_pg_result_free(r);
    }
    CHECK_EQ(c->nstmts, 3); /* the first query, and "SELECT $1 + 1" twice */

    /* Binary inserts through exec_params, read back. */
    pg_ok(c, "CREATE TEMP TABLE pg_bin (id int8, v float8, b bytea)");
    int64_t n = 0;
    for (int k = 0; k < 10; k++) {
        corio_pg_param row[] = {corio_pg_param_int8(k),
                                corio_pg_param_float8(k / 4.0),
                                corio_pg_param_bytea(blob, (size_t)k)};
        CHECK_EQ(corio_pg_exec_params(
                     c, "INSERT INTO pg_bin VALUES ($1, $2, $3)", row, 3, &n),
                 0);
        CHECK_EQ(n, 1);
    }
    CHECK_EQ(pg_int(c, "SELECT sum(length(b)) FROM pg_bin"), 45);
    CHECK_EQ(pg_int(c, "SELECT (sum(v) * 4)::int8 FROM pg_bin"), 45);

    /* A binary value that does not fit its declared type. */
    corio_pg_param bad = corio_pg_param_int8(5);
    bad.len = 3;
    CHECK_EQ(corio_pg_query_params(c, "SELECT $1", &bad, 1, &r), CORIO_EPG);
    const char *state = corio_pg_last_error(c)->sqlstate;
    CHECK(!strcmp(state, "08P01") || !strcmp(state, "22P03"));
    CHECK(r == NULL);
    CHECK_EQ(pg_int(c, "SELECT 9"), 9);
    CHECK_EQ(corio_pg_query_params(c, "SELECT 1", NULL, 1, &r), -EINVAL);
    corio_pg_close(c);
    return 0;
}

TEST(pg, typed_binary_parameters_round_trip)
{
    CHECK_EQ(pg_run(params_round_trip, NULL), 0);
}

/* numeric as exact text, uuid in binary and arrays as typed literals,
 * round-tripped through the server and used as `= ANY($1)`. */
static int more_types(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    static const unsigned char u[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
                                        0xde, 0xf0, 0x01, 0x23, 0x45, 0x67,
                                        0x89, 0xab, 0xcd, 0xef};
    const char *big = "12345678901234567890.000000000000000001";
    corio_pg_param p[] = {
        corio_pg_param_numeric(big),
        corio_pg_param_uuid(u),
        corio_pg_param_typed(CORIO_PG_INT8_ARRAY, "{9000000000,-2,NULL}"),
        corio_pg_param_typed(CORIO_PG_TEXT_ARRAY, "{a,\"b c\",NULL}"),
        corio_pg_param_numeric(NULL),
        corio_pg_param_uuid(NULL),
        corio_pg_param_typed(CORIO_PG_UUID_ARRAY,
                             "{12345678-9abc-def0-0123-456789abcdef}"),
        corio_pg_param_typed(CORIO_PG_NUMERIC_ARRAY, "{0.1,-2.5}"),
    };
    corio_pg_result *r;
    CHECK_EQ(corio_pg_query_params(
                 c,
                 "SELECT $1, $1 + 1, pg_typeof($1)::text, $2, $2::text, "
                 "pg_typeof($2)::text, $3, pg_typeof($3)::text, $4, "
                 "$5 IS NULL AND $6 IS NULL, $2 = ANY($7), "
                 "(SELECT sum(x) FROM unnest($8) x)::text",
                 p, 8, &r),
             0);
    char s[128];
    CHECK(corio_pg_get_text(r, 0, 0, s, sizeof s) > 0);
    CHECK(!strcmp(s, big));
    CHECK(corio_pg_get_text(r, 0, 1, s, sizeof s) > 0);
    CHECK(!strcmp(s, "12345678901234567891.000000000000000001"));
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 2, NULL), "numeric"));
    CHECK(corio_pg_get_text(r, 0, 3, s, sizeof s) > 0);
    CHECK(!strcmp(s, "12345678-9abc-def0-0123-456789abcdef"));
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 4, NULL),
                  "12345678-9abc-def0-0123-456789abcdef"));
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 5, NULL), "uuid"));
    int64_t i64[4];
    bool nulls[4];
    CHECK_EQ(corio_pg_get_int64_array(r, 0, 6, i64, nulls, 4), 3);
    CHECK(i64[0] == INT64_C(9000000000) && i64[1] == -2 && nulls[2]);
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 7, NULL), "bigint[]"));
    const char *v[4];
    size_t len[4];
    CHECK_EQ(corio_pg_get_bytes_array(r, 0, 8, v, len, 4), 3);
    CHECK(len[1] == 3 && !memcmp(v[1], "b c", 3) && v[2] == NULL);
    bool yes = false;
    CHECK_EQ(corio_pg_get_bool(r, 0, 9, &yes), 0);
    CHECK(yes);
    CHECK_EQ(corio_pg_get_bool(r, 0, 10, &yes), 0);
    CHECK(yes);
    CHECK(!strcmp(corio_pg_get_bytes(r, 0, 11, NULL), "-2.4"));
    corio_pg_result_free(r);

    /* An array parameter as `= ANY($1)`, through the statement cache. */
    for (int k = 0; k < 2; k++) {
        corio_pg_param in[] = {
            corio_pg_param_typed(CORIO_PG_INT4_ARRAY, k ? "{2,4,99}" : "{1}")};
        CHECK_EQ(corio_pg_query_params(c,
                                       "SELECT count(*) FROM "
                                       "generate_series(1, 5) g WHERE g = "
                                       "ANY($1)",
                                       in, 1, &r),
                 0);
        int64_t n;
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &n), 0);
        CHECK_EQ(n, k ? 2 : 1);
        corio_pg_result_free(r);
    }
    /* Malformed text is the server's error, and c goes on. */
    corio_pg_param bad[] = {corio_pg_param_numeric("12,5")};
    CHECK_EQ(corio_pg_query_params(c, "SELECT $1", bad, 1, &r), CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "22P02"));
    CHECK_EQ(pg_int(c, "SELECT 3"), 3);
    corio_pg_close(c);
    return 0;
}

TEST(pg, numeric_uuid_and_array_parameters_round_trip)
{
    CHECK_EQ(pg_run(more_types, NULL), 0);
}

static int arrays(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    corio_pg_result *r;
    CHECK_EQ(corio_pg_query(c,
                            "SELECT '{1,-2,NULL,4}'::int4[], "
                            "'{9000000000,1}'::int8[], '{1.5,NULL,-0.25}'::"
                            "float8[], '{t,f,NULL}'::bool[], "
                            "ARRAY['a', NULL, 'long \"quoted\" text'], "
                            "'{}'::int4[], '{{1,2},{3,4}}'::int4[], "
                            "ARRAY['\\x0001'::bytea], '{7,8}'::int2[], "
                            "NULL::int4[]",
                            NULL, 0, &r),
             0);
    int32_t i32[8];
    int64_t i64[8];
    double d[8];
    bool b[8], nulls[8];
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 0, i32, nulls, 8), 4);
    CHECK(i32[0] == 1 && i32[1] == -2 && i32[3] == 4);
    CHECK(!nulls[0] && nulls[2] && i32[2] == 0);
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 0, i32, NULL, 8), -ENODATA);
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 0, i32, nulls, 2), 4); /* cut */
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 0, NULL, NULL, 0), 4); /* count */
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 1, i32, NULL, 8), -ERANGE);
    CHECK_EQ(corio_pg_get_int64_array(r, 0, 1, i64, NULL, 8), 2);
    CHECK(i64[0] == INT64_C(9000000000) && i64[1] == 1);
    CHECK_EQ(corio_pg_get_double_array(r, 0, 2, d, nulls, 8), 3);
    CHECK(d[0] == 1.5 && nulls[1] && d[2] == -0.25);
    CHECK_EQ(corio_pg_get_double_array(r, 0, 8, d, NULL, 8), 2); /* int2[] */
    CHECK(d[0] == 7 && d[1] == 8);
    CHECK_EQ(corio_pg_get_bool_array(r, 0, 3, b, nulls, 8), 3);
    CHECK(b[0] && !b[1] && nulls[2]);
    const char *v[4];
    size_t len[4];
    CHECK_EQ(corio_pg_get_bytes_array(r, 0, 4, v, len, 4), 3);
    CHECK(len[0] == 1 && !memcmp(v[0], "a", 1));
    CHECK(v[1] == NULL);
    CHECK(len[2] == 18 && !memcmp(v[2], "long \"quoted\" text", 18));
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 5, i32, NULL, 8), 0);
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 6, i32, NULL, 8), -EINVAL);
    CHECK_EQ(corio_pg_get_bytes_array(r, 0, 7, v, len, 4), 1);
    CHECK(len[0] == 2 && v[0][0] == 0 && v[0][1] == 1);
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 9, i32, nulls, 8), -ENODATA);
    /* Type errors: text[] as numbers, int4[] as views or bools, a scalar. */
    CHECK_EQ(corio_pg_get_int64_array(r, 0, 4, i64, NULL, 8), -EINVAL);
    CHECK_EQ(corio_pg_get_bytes_array(r, 0, 0, v, NULL, 4), -EINVAL);
    CHECK_EQ(corio_pg_get_bool_array(r, 0, 0, b, nulls, 8), -EINVAL);
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 20, i32, NULL, 8), -ERANGE);
    corio_pg_result_free(r);
    CHECK_EQ(corio_pg_query(c, "SELECT 1", NULL, 0, &r), 0);
    CHECK_EQ(corio_pg_get_int32_array(r, 0, 0, i32, NULL, 8), -EINVAL);
    corio_pg_result_free(r);
    corio_pg_close(c);
    return 0;
}

TEST(pg, typed_array_getters)
{
    CHECK_EQ(pg_run(arrays, NULL), 0);
}

/* The sweep: a task running typed queries on a shared connection is
 * cancelled after 0, 1, 2, ... yields, then after 0, 50, 100, ... us;
 * each interrupted call returns
 * -ECANCELED with nothing leaked, and the next query on the connection
 * gets its own answer. */
static int typed_victim(void *arg)
{
    corio_pg *c = arg;
    for (int i = 0; i < 10; i++) {
        corio_pg_param p[] = {corio_pg_param_int8(1000 + i),
                              corio_pg_param_bytea("xyz", 3)};
        corio_pg_result *r;
        /* The first round's answer comes after 1 ms (see below). */
        const char *sql = i == 0
                              ? "SELECT $1 * 2, length($2) FROM pg_sleep(0.001)"
                              : "SELECT $1 * 2, length($2)";
        int rc = corio_pg_query_params(c, sql, p, 2, &r);
        if (rc < 0)
            return rc;
        int64_t v = 0;
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &v), 0);
        CHECK_EQ(v, 2 * (1000 + i));
        corio_pg_result_free(r);
        corio_pg_param e[] = {corio_pg_param_float8(i)};
        if ((rc = corio_pg_exec_params(c, "SELECT $1", e, 1, NULL)) < 0)
            return rc;
    }
    return 0;
}

static int typed_sweep(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    int fds = tst_count_fds();
    int interrupted = 0, completed = 0;
    /* Every yield count is tried (a fast server may answer everything
     * within a few), then delays until the victim finishes 3 times. */
    for (int step = 0; (step < 20 || completed < 3) && step < 3000; step++) {
        corio_task *t;
        CHECK_EQ(corio_task_spawn(&t, typed_victim, c), 0);
        if (step < 20) { /* the first points, by the loop's turns */
            for (int i = 0; i < step; i++)
                corio_yield();
        } else { /* then every 50 us of real time */
            corio_sleep((step - 20) * 50 * CORIO_US);
        }
        corio_task_cancel(t);
        int res;
        CHECK_EQ(corio_task_join(t, &res), 0);
        CHECK(res == 0 || res == -ECANCELED);
        completed += res == 0;
        interrupted += res == -ECANCELED;
        corio_pg_param p[] = {corio_pg_param_int4(step)};
        corio_pg_result *r;
        CHECK_EQ(corio_pg_query_params(c, "SELECT $1 + 7", p, 1, &r), 0);
        int64_t v = 0;
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &v), 0);
        CHECK_EQ(v, step + 7);
        corio_pg_result_free(r);
        CHECK(corio__pg_idle(c));
        CHECK_EQ(tst_count_fds(), fds);
    }
    fprintf(stderr, "    %d interrupted, %d complete\n", interrupted,
            completed);
    /* Cancelled before it started, and at least once in flight: the
     * server sleeps 1 ms before the victim's first answer, so the victim
     * waits for it (without the sleep, a loaded machine's
     * scheduler can run the backend between the client's send and its
     * wait, and the victim finish all its queries without suspending
     * once, hence without seeing a cancellation that came later). */
    CHECK(interrupted >= 2);
    CHECK(completed >= 3);
    corio_pg_close(c);
    return 0;
}

TEST_T(pg, typed_parameters_cancel_sweep, 120)
{
    CHECK_EQ(pg_run(typed_sweep, NULL), 0);
}
