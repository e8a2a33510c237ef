/* web_service.c — the seeds' "async web service": corio's HTTP server with
 * a PostgreSQL pool behind it, the shape of a FastAPI + asyncpg app and of
 * TechEmpower's db / queries / update tests.
 *
 *   GET  /users/{id}      one query, one JSON object (404 if none)
 *   GET  /queries?n=20    n independent queries, pipelined on one pooled
 *                         connection, a JSON array
 *   POST /users           {"name": ..., "email": ...}: a transaction (the
 *                         user and an audit row, or neither), 201 {"id": N}
 *
 * What FastAPI writes as
 *
 *     @app.get("/users/{id}")
 *     async def get_user(id: int):
 *         async with pool.acquire() as conn:
 *             row = await conn.fetchrow("SELECT ... WHERE id = $1", id)
 *
 * is a handler that takes the pool from its arg.  Every handler runs in the
 * connection's task; a client that goes away cancels it, and the pool gets
 * its connection back whatever happens (CORIO_PG_POOL_CONN, CORIO_PG_TX).
 *
 *   DATABASE_URL=postgresql://... ./web_service            self-test: the app
 *                                   driven in-process by a test session
 *   DATABASE_URL=postgresql://... ./web_service 8080       serve on :8080 */
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

static int get_user(corio_http_req *req, void *arg)
{
    corio_pg_pool *pool = arg;
    const char *params[] = {corio_http_req_param(req, "id")};
    CORIO_PG_POOL_CONN(pc, pool);
    if (pc.rc < 0)
        return pc.rc; /* a 500 */
    corio_pg_result *r;
    int rc = corio_pg_query(
        pc.c, "SELECT id, name, email FROM ws_users WHERE id = $1::int", params,
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

/* One of /queries' n queries, a task of its own on the shared connection. */
typedef struct one_query {
    corio_pg *c;
    char id[12];
    char json[256];
} one_query;

static int run_one(void *arg)
{
    one_query *q = arg;
    const char *params[] = {q->id};
    corio_pg_result *r;
    int rc = corio_pg_query(
        q->c, "SELECT id, name, email FROM ws_users WHERE id = $1::int", params,
        1, &r);
    if (rc < 0)
        return rc;
    if (corio_pg_result_rows(r) > 0)
        user_json(q->json, sizeof q->json, r, 0);
    else
        snprintf(q->json, sizeof q->json, "null");
    corio_pg_result_free(r);
    return 0;
}

static int get_queries(corio_http_req *req, void *arg)
{
    corio_pg_pool *pool = arg;
    const char *ns = corio_http_req_query_get(req, "n");
    int n = ns ? atoi(ns) : 1;
    if (n < 1)
        n = 1;
    if (n > 500)
        n = 500;
    one_query *q = calloc((size_t)n, sizeof *q);
    corio_task **t = calloc((size_t)n, sizeof *t);
    char *body = malloc((size_t)n * 256 + 4);
    int rc = q && t && body ? 0 : -ENOMEM;
    CORIO_PG_POOL_CONN(pc, pool);
    if (rc == 0)
        rc = pc.rc;
    int spawned = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        q[i].c = pc.c;
        snprintf(q[i].id, sizeof q[i].id, "%d", i % 3 + 1);
        if ((rc = corio_task_spawn(&t[i], run_one, &q[i])) == 0)
            spawned++;
    }
    if (spawned) { /* all n queries go out together: one round trip */
        int g = corio_gather(t, (size_t)spawned, NULL);
        if (rc == 0)
            rc = g;
    }
    if (rc == 0) {
        size_t len = 0;
        body[len++] = '[';
        for (int i = 0; i < n; i++)
            len +=
                (size_t)sprintf(body + len, "%s%s", i ? ", " : "", q[i].json);
        body[len++] = ']';
        rc = corio_http_reply(req, 200, "application/json", body, len);
    }
    free(q);
    free(t);
    free(body);
    return rc;
}

static int post_user(corio_http_req *req, void *arg)
{
    corio_pg_pool *pool = arg;
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

typedef struct app {
    const char *url;
    int port;
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

static int run(void *arg)
{
    app *a = arg;
    corio_pg_pool *pool;
    corio_pg_pool_opts po = {.max_size = 4};
    int rc = corio_pg_pool_new(&pool, a->url, &po);
    if (rc < 0) {
        fprintf(stderr, "pool: %s\n", corio_strerror(rc));
        return 1;
    }
    corio_http_router *router = NULL;
    if ((rc = setup_db(pool)) == 0 &&
        (rc = corio_http_router_new(&router)) == 0 &&
        (rc = corio_http_router_add(router, "GET", "/users/{id}", get_user,
                                    pool)) == 0 &&
        (rc = corio_http_router_add(router, "GET", "/queries", get_queries,
                                    pool)) == 0)
        rc = corio_http_router_add(router, "POST", "/users", post_user, pool);
    if (rc == 0 && a->port) {
        corio_listener *l;
        rc = corio_tcp_listen(&l, "0.0.0.0", a->port, NULL);
        if (rc == 0) {
            printf("serving on :%d\n", a->port);
            rc = corio_http_serve(l, router, NULL); /* until Ctrl-C */
            corio_listener_close(l);
        }
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
    corio_pg_pool_free(pool);
    if (rc < 0 && rc != -ECANCELED)
        fprintf(stderr, "web_service: %s\n", corio_strerror(rc));
    return rc < 0 && rc != -ECANCELED ? 1 : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    app a = {getenv("DATABASE_URL"), argc > 1 ? atoi(argv[1]) : 0};
    if (!a.url) {
        fprintf(stderr, "usage: DATABASE_URL=postgresql://... %s [port]\n",
                argv[0]);
        return 2;
    }
    int result;
    int rc = corio_run(run, &a, &result);
    return rc < 0 ? 1 : result;
}
