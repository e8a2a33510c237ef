/* web_service.c — the seeds' "async web service": corio's HTTP server with
 * a PostgreSQL pool behind it, the shape of a FastAPI + asyncpg app and of
 * TechEmpower's db / queries / update tests.
 *
 *   GET  /users/{id}      one query, one JSON object (404 if none), on a
 *                         shared pooled connection (corio_pg_pool_query:
 *                         concurrent requests pipeline)
 *   GET  /queries?n=20    n independent queries as one batch (one sync
 *                         group) on a shared pooled connection, a JSON
 *                         array
 *   POST /users           {"name": ..., "email": ...}: a transaction (the
 *                         user and an audit row, or neither), 201 {"id": N}
 *
 * What FastAPI writes as
 *
 *     @app.get("/users/{id}")
 *     async def get_user(id: int):
 *         row = await pool.fetchrow("SELECT ... WHERE id = $1", id)
 *
 * is a handler that takes the pool from its arg.  Every handler runs in the
 * connection's task; a client that goes away cancels it, and the pool gets
 * its connection back whatever happens (CORIO_PG_POOL_CONN, CORIO_PG_TX).
 *
 *   DATABASE_URL=postgresql://... ./web_service            self-test: the app
 *                                   driven in-process by a test session
 *   DATABASE_URL=postgresql://... ./web_service 8080       serve on :8080
 *   ... ./web_service 8080 --loops 2   serve on :8080 with 2 loops
 *                                   (corio_run_loops), each with its own
 *                                   SO_REUSEPORT listener and its own pool
 *                                   (the 4 connections split between them)
 *   ... ./web_service --loops 2     self-test of that: 40 requests on new
 *                                   connections, served by every loop
 *   --reset-all                     the pools run asyncpg's full reset on
 *                                   every release (default: only what a
 *                                   lease used, CORIO_PG_RESET_USED)
 *   --lease                         the two GETs lease a connection each
 *                                   (acquire, query, release: one request
 *                                   per connection at a time) instead of
 *                                   sharing one, for comparison */
#include <corio.h>
#include <corio/http_json.h>
#include <corio/pg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the app ----------------------------------------------------------------
 */

/* Append s to buf as a JSON string. */
static void json_str(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 < cap)
        buf[n++] = '"';
    for (; *s && n + 7 < cap; s++) {
        if (*s == '"' || *s == '\\') {
            buf[n++] = '\\';
            buf[n++] = *s;
        } else if ((unsigned char)*s < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", *s);
        } else {
            buf[n++] = *s;
        }
    }
    if (n + 1 < cap)
        buf[n++] = '"';
    buf[n] = 0;
}

/* {"id": 1, "name": "...", "email": "..."} for row `row` of r. */
static void user_json(char *buf, size_t cap, const corio_pg_result *r, int row)
{
    int32_t id = 0;
    CORIO_IGNORE(corio_pg_get_int32(r, row, 0, &id));
    snprintf(buf, cap, "{\"id\": %d, \"name\": ", id);
    json_str(buf, cap, corio_pg_get_bytes(r, row, 1, NULL));
    strncat(buf, ", \"email\": ", cap - strlen(buf) - 1);
    json_str(buf, cap, corio_pg_get_bytes(r, row, 2, NULL));
    strncat(buf, "}", cap - strlen(buf) - 1);
}

/* What a loop's handlers share: its pool (pools are per loop) and how many
 * requests it served (the self-test with several loops reads it). */
typedef struct loop_ctx {
    corio_pg_pool *pool;
    int served;
    bool lease; /* --lease: the GETs acquire a connection of their own */
} loop_ctx;

/* One query on the pool: shared (pipelined with the other requests'), or
 * with --lease on a connection acquired for it alone. */
static int pool_query(loop_ctx *lc, const char *sql, const char *const *params,
                      int nparams, corio_pg_result **r)
{
    if (!lc->lease)
        return corio_pg_pool_query(lc->pool, sql, params, nparams, r);
    CORIO_PG_POOL_CONN(pc, lc->pool);
    return pc.rc < 0 ? pc.rc : corio_pg_query(pc.c, sql, params, nparams, r);
}

/* A batch on the pool, shared or (--lease) on a connection of its own. */
static int pool_batch(loop_ctx *lc, corio_pg_batch *b)
{
    if (!lc->lease)
        return corio_pg_pool_batch_send(lc->pool, b);
    CORIO_PG_POOL_CONN(pc, lc->pool);
    return pc.rc < 0 ? pc.rc : corio_pg_batch_send(pc.c, b);
}

static int get_user(corio_http_req *req, void *arg)
{
    loop_ctx *lc = arg;
    lc->served++;
    const char *params[] = {corio_http_req_param(req, "id")};
    corio_pg_result *r;
    int rc = pool_query(
        lc, "SELECT id, name, email FROM ws_users WHERE id = $1::int", params,
        1, &r);
    if (rc == CORIO_EPG) /* not an integer */
        return corio_http_reply(req, 400, "text/plain", "bad id\n", 7);
    if (rc < 0)
        return rc;
    char body[512];
    if (corio_pg_result_rows(r) == 0) {
        corio_pg_result_free(r);
        return corio_http_reply(req, 404, "application/json",
                                "{\"detail\": \"not found\"}", 23);
    }
    user_json(body, sizeof body, r, 0);
    corio_pg_result_free(r);
    return corio_http_reply(req, 200, "application/json", body, strlen(body));
}

/* /queries: n independent reads as one batch on one pooled connection:
 * one write, one round trip, one Sync (pgx's SendBatch). */
static int get_queries(corio_http_req *req, void *arg)
{
    loop_ctx *lc = arg;
    lc->served++;
    const char *ns = corio_http_req_query_get(req, "n");
    int n = ns ? atoi(ns) : 1;
    if (n < 1)
        n = 1;
    if (n > 500)
        n = 500;
    static const char *const ids[] = {"1", "2", "3"};
    char *body = malloc((size_t)n * 256 + 4);
    corio_pg_batch *b = NULL;
    int rc = body ? corio_pg_batch_new(&b) : -ENOMEM;
    for (int i = 0; rc == 0 && i < n; i++) {
        int k = corio_pg_batch_add(
            b, "SELECT id, name, email FROM ws_users WHERE id = $1::int",
            &ids[i % 3], 1);
        rc = k < 0 ? k : 0;
    }
    if (rc == 0)
        rc = pool_batch(lc, b);
    size_t len = 0;
    if (rc == 0)
        body[len++] = '[';
    for (int i = 0; rc == 0 && i < n; i++) {
        corio_pg_result *r;
        if ((rc = corio_pg_batch_result(b, i, &r)) < 0)
            break;
        char one[256] = "null";
        if (corio_pg_result_rows(r) > 0)
            user_json(one, sizeof one, r, 0);
        corio_pg_result_free(r);
        len += (size_t)sprintf(body + len, "%s%s", i ? ", " : "", one);
    }
    if (rc == 0) {
        body[len++] = ']';
        rc = corio_http_reply(req, 200, "application/json", body, len);
    }
    corio_pg_batch_free(b);
    free(body);
    return rc;
}

static int post_user(corio_http_req *req, void *arg)
{
    loop_ctx *lc = arg;
    corio_pg_pool *pool = lc->pool;
    lc->served++;
    const void *raw;
    size_t len;
    int rc = corio_http_req_body(req, &raw, &len);
    if (rc < 0)
        return rc;
    json_t *in = json_loadb(raw, len, 0, NULL);
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *email = json_string_value(json_object_get(in, "email"));
    if (!name || !email) {
        json_decref(in);
        return corio_http_reply(req, 422, "text/plain",
                                "name and email wanted\n", 21);
    }
    CORIO_PG_POOL_CONN(pc, pool);
    if (pc.rc < 0) {
        json_decref(in);
        return pc.rc;
    }
    char body[64];
    int status = 201;
    {
        CORIO_PG_TX(tx, pc.c, NULL); /* async with conn.transaction(): */
        rc = tx.rc;
        const char *params[] = {name, email};
        corio_pg_result *r = NULL;
        if (rc == 0)
            rc = corio_pg_query(pc.c,
                                "INSERT INTO ws_users (name, email) VALUES "
                                "($1, $2) RETURNING id",
                                params, 2, &r);
        int64_t id = 0;
        if (rc == 0)
            rc = corio_pg_get_int64(r, 0, 0, &id);
        corio_pg_result_free(r);
        char ids[24];
        snprintf(ids, sizeof ids, "%lld", (long long)id);
        const char *audit[] = {ids};
        if (rc == 0)
            rc = corio_pg_exec(
                pc.c, "INSERT INTO ws_audit (user_id) VALUES ($1::int)", audit,
                1, NULL);
        if (rc == CORIO_EPG &&
            !strcmp(corio_pg_last_error(pc.c)->sqlstate, "23505"))
            status = 409; /* that email exists: the block rolls back */
        if (rc == 0)
            rc = corio_pg_tx_done(&tx);
        snprintf(body, sizeof body, "{\"id\": %lld}", (long long)id);
    }
    json_decref(in);
    if (status == 409)
        return corio_http_reply(req, 409, "application/json",
                                "{\"detail\": \"email taken\"}", 25);
    if (rc < 0)
        return rc;
    return corio_http_reply(req, 201, "application/json", body, strlen(body));
}

/* ---- running it -------------------------------------------------------------
 */

static int setup_db(corio_pg_pool *pool)
{
    static const char *const ddl[] = {
        "DROP TABLE IF EXISTS ws_audit, ws_users",
        "CREATE TABLE ws_users (id serial PRIMARY KEY, name text, email text "
        "UNIQUE)",
        "CREATE TABLE ws_audit (user_id int REFERENCES ws_users, at "
        "timestamptz DEFAULT now())",
        "INSERT INTO ws_users (name, email) VALUES ('ada', 'ada@example.com'),"
        " ('brian', 'bwk@example.com'), ('grace', 'grace@example.com')",
    };
    CORIO_PG_POOL_CONN(pc, pool);
    if (pc.rc < 0)
        return pc.rc;
    for (size_t i = 0; i < sizeof ddl / sizeof ddl[0]; i++) {
        int rc = corio_pg_exec(pc.c, ddl[i], NULL, 0, NULL);
        if (rc < 0) {
            fprintf(stderr, "setup: %s\n", corio_pg_last_error(pc.c)->message);
            return rc;
        }
    }
    return 0;
}

#define MAX_LOOPS 64

typedef struct app {
    const char *url;
    int port;     /* given, or bound by loop 0 */
    size_t loops; /* --loops N: N loops, each with its listener (0: one loop
                     and, without a port, the in-process self-test) */
    corio_event ready;     /* loop 0 made the tables and listens (loop 0's) */
    int ready_rc;          /* ... or failed */
    size_t nlistening;     /* loops listening (loop 0's count) */
    corio_event listening; /* ... all of them (loop 0's) */
    corio_event *stop[MAX_LOOPS];
    int served[MAX_LOOPS]; /* requests each loop served, written at its end */
    bool self_test;        /* --loops without a port */
    int reset;             /* the pools' corio_pg_reset_mode */
    bool lease;            /* --lease */
} app;

static void show(corio_http_session *client, const char *method,
                 const char *url, const char *json)
{
    corio_http_request rq = {.method = method,
                             .url = url,
                             .body = json,
                             .body_len = json ? strlen(json) : 0};
    corio_http_response *r;
    const char *text = "";
    int rc = corio_http_session_send(client, &rq, &r);
    if (rc < 0) {
        printf("%s %s -> %s\n", method, url + strlen("http://app"),
               corio_strerror(rc));
        return;
    }
    if (corio_http_response_text(r, &text) < 0)
        text = "(body unreadable)";
    printf("%s %s -> %d %s\n", method, url + strlen("http://app"),
           corio_http_response_status(r), text);
    corio_http_response_free(r);
}

/* ---- several loops (issue 13): one listener per loop on one port -------- */

/* On loop 0, for the other loops: the port, once the tables exist and
 * loop 0 listens. */
static int wait_ready(void *arg)
{
    app *a = arg;
    int rc = corio_event_wait(&a->ready);
    return rc < 0 ? rc : a->ready_rc < 0 ? a->ready_rc : a->port;
}

/* On loop 0: one more loop is listening. */
static void one_listening(void *arg)
{
    app *a = arg;
    if (++a->nlistening == corio_loop_count())
        corio_event_set(&a->listening);
}

static void stop_loop(void *arg)
{
    corio_event_set(arg);
}

/* GET /users/{id} on a connection of its own: 0 for a 200, else < 0. */
static int fetch_user(int port, int id)
{
    corio_stream *s;
    int rc = corio_tcp_connect(&s, "127.0.0.1", port);
    if (rc < 0)
        return rc;
    char req[96], resp[512];
    int len = snprintf(req, sizeof req,
                       "GET /users/%d HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n",
                       id);
    size_t got = 0;
    ssize_t n = 0;
    if ((rc = corio_stream_write(s, req, (size_t)len)) == 0 &&
        (rc = corio_stream_flush(s)) == 0)
        while ((n = corio_stream_read(s, resp + got, sizeof resp - 1 - got)) >
               0)
            got += (size_t)n;
    corio_stream_close(s);
    resp[got] = 0;
    return rc < 0 ? rc : n < 0 ? (int)n : strstr(resp, " 200 ") ? 0 : -EPROTO;
}

/* The self-test's client (on loop 0, once every loop listens): 40
 * requests, each on a new connection, so the kernel spreads them over the
 * loops' listeners; then every loop is told to stop. */
static int client(void *arg)
{
    app *a = arg;
    int ok = 0, rc = corio_event_wait(&a->listening);
    for (int i = 0; i < 40 && rc == 0; i++)
        if ((rc = fetch_user(a->port, i % 3 + 1)) == 0)
            ok++;
    printf("GET /users/{1,2,3} on 40 connections -> %d x 200\n", ok);
    for (size_t i = 0; i < corio_loop_count(); i++)
        CORIO_IGNORE(corio_loop_post(corio_loop_at(i), stop_loop, a->stop[i]));
    return rc;
}

/* Serve on a SO_REUSEPORT listener of this loop until stopped (or Ctrl-C);
 * loop 0 of the self-test also runs the client. */
static int serve_here(app *a, int port, corio_http_router *router,
                      corio_event *stop)
{
    size_t me = corio_loop_index();
    corio_listen_opts lo = {.reuseport = 1};
    corio_listener *l = NULL;
    int rc = corio_tcp_listen(&l, "0.0.0.0", port, &lo);
    if (me == 0) {
        corio_addr addr;
        if (rc == 0 && (rc = corio_listener_addr(l, &addr)) == 0)
            a->port = corio_addr_port(&addr);
        a->ready_rc = rc;
        corio_event_set(&a->ready);
    }
    if (rc == 0)
        rc = corio_loop_post(corio_loop_at(0), one_listening, a);
    corio_task *c = NULL;
    if (rc == 0 && me == 0 && a->self_test)
        rc = corio_task_spawn(&c, client, a);
    if (rc == 0) {
        corio_http_server_opts so = {.stop = stop};
        rc = corio_http_serve(l, router, &so);
    }
    int crc = 0;
    if (c && corio_task_join(c, &crc) == 0 && crc < 0 && rc == 0)
        rc = crc;
    corio_listener_close(l);
    return rc;
}

/* Every loop's main: its own pool (the 4 connections split over the
 * loops) and router; loop 0 makes the tables first. */
static int run(void *arg)
{
    app *a = arg;
    size_t me = corio_loop_index(), n = corio_loop_count();
    loop_ctx lc = {NULL, 0, a->lease};
    corio_event stop;
    corio_event_init(&stop);
    a->stop[me] = &stop;
    corio_pg_pool_opts po = {.max_size = n >= 4 ? 1 : (int)(4 / n),
                             .reset = a->reset};
    int rc = corio_pg_pool_new(&lc.pool, a->url, &po);
    if (rc < 0)
        fprintf(stderr, "pool: %s\n", corio_strerror(rc));
    corio_http_router *router = NULL;
    if (rc == 0 && me == 0)
        rc = setup_db(lc.pool);
    if (rc < 0 && me == 0) { /* the other loops wait for loop 0 */
        a->ready_rc = rc;
        corio_event_set(&a->ready);
    }
    int port = a->port;
    if (rc == 0 && me != 0 &&
        (rc = corio_loop_call(corio_loop_at(0), wait_ready, a, &port)) == 0)
        rc = port < 0 ? port : 0;
    if (rc == 0 && (rc = corio_http_router_new(&router)) == 0 &&
        (rc = corio_http_router_add(router, "GET", "/users/{id}", get_user,
                                    &lc)) == 0 &&
        (rc = corio_http_router_add(router, "GET", "/queries", get_queries,
                                    &lc)) == 0)
        rc = corio_http_router_add(router, "POST", "/users", post_user, &lc);
    if (rc == 0 && (a->port || a->loops)) {
        if (me == 0 && a->port)
            printf("serving on :%d with %zu loop(s)\n", a->port, n);
        rc = serve_here(a, port, router, &stop); /* until Ctrl-C */
    } else if (rc == 0) {
        corio_http_session *client;
        rc = corio_http_test_session_new(&client, router, NULL, NULL);
        if (rc == 0) {
            show(client, "GET", "http://app/users/2", NULL);
            show(client, "GET", "http://app/users/42", NULL);
            show(client, "GET", "http://app/queries?n=5", NULL);
            show(client, "POST", "http://app/users",
                 "{\"name\": \"ken\", \"email\": \"ken@example.com\"}");
            show(client, "POST", "http://app/users",
                 "{\"name\": \"kenny\", \"email\": \"ken@example.com\"}");
            show(client, "GET", "http://app/users/4", NULL);
            corio_http_session_free(client);
        }
    }
    corio_http_router_free(router);
    corio_pg_pool_free(lc.pool);
    corio_event_destroy(&stop);
    a->served[me] = lc.served;
    if (rc < 0 && rc != -ECANCELED)
        fprintf(stderr, "web_service: %s\n", corio_strerror(rc));
    return rc < 0 && rc != -ECANCELED ? rc : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static app a;
    a.url = getenv("DATABASE_URL");
    /* The handlers change no session state (no SET, LISTEN, cursor or
     * PREPARE; transactions through corio_pg_tx), so resetting only what a
     * lease used costs the server nothing per request; --reset-all runs
     * asyncpg's full reset on every release instead. */
    a.reset = CORIO_PG_RESET_USED;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--loops") && i + 1 < argc)
            a.loops = (size_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reset-all"))
            a.reset = CORIO_PG_RESET_ALL;
        else if (!strcmp(argv[i], "--lease"))
            a.lease = true;
        else
            a.port = atoi(argv[i]);
    }
    if (!a.url || a.loops > MAX_LOOPS) {
        fprintf(stderr,
                "usage: DATABASE_URL=postgresql://... %s [port] [--loops N] "
                "[--reset-all] [--lease]\n",
                argv[0]);
        return 2;
    }
    a.self_test = a.loops && !a.port;
    corio_event_init(&a.ready);
    corio_event_init(&a.listening);
    int result = 0;
    int rc = a.loops ? corio_run_loops(a.loops, NULL, run, &a, &result)
                     : corio_run(run, &a, &result);
    corio_event_destroy(&a.ready);
    corio_event_destroy(&a.listening);
    if (rc < 0 || result < 0)
        return 1;
    if (a.self_test) {
        bool every = true;
        for (size_t i = 0; i < a.loops; i++)
            every &= a.served[i] > 0;
        printf("every one of the %zu loops served some: %s\n", a.loops,
               every ? "yes" : "no");
    }
    return 0;
}
