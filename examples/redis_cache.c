/* redis_cache.c — cache-aside with Redis in front of an HTTP fetch.
 *
 * The asyncio original (the seeds' fetch_data, with redis.asyncio):
 *
 *     r = redis.asyncio.Redis.from_url(REDIS_URL)
 *
 *     async def fetch_data(session, item):
 *         key = f"cache:data:{item}"
 *         if (cached := await r.get(key)) is not None:
 *             return cached                                # a hit
 *         async with session.get(f"{API}/data/{item}") as resp:
 *             body = await resp.read()                     # a miss
 *         await r.set(key, body, ex=60)
 *         return body
 *
 *     results = await asyncio.gather(*(fetch_data(s, i) for i in (1, 2, 1, 3,
 * 2)))
 *
 * The C twin serves the API from a corio HTTP server on 127.0.0.1 in the
 * same program (it counts the requests it gets), shares one Redis
 * connection among all the tasks (their commands are pipelined on it) and
 * reaches the server named by CORIO_REDIS_URL (default
 * redis://127.0.0.1:6379).  The first round fetches each item once from the
 * API; the second finds every item in Redis. */
#include <corio.h>
#include <corio/http_server.h>
#include <corio/redis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int api_requests;
static char prefix[64]; /* keys of this run: cache:<pid>:... */

static int api(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *id = corio_http_req_param(req, "id");
    char body[96];
    api_requests++;
    int len = snprintf(body, sizeof body, "{\"item\": %s, \"price\": %d}", id,
                       atoi(id) * 25);
    return corio_http_reply(req, 200, "application/json", body, (size_t)len);
}

struct fetch {
    corio_redis *redis;
    corio_http_session *session;
    int port;
    int item;
    char body[128];
    const char *source;
};

/* async def fetch_data(session, item) */
static int fetch_data(void *arg)
{
    struct fetch *f = arg;
    char key[96], url[96];
    corio_redis_reply *r;
    snprintf(key, sizeof key, "%s:data:%d", prefix, f->item);

    int rc = corio_redis_command(f->redis, &r, "GET %s", key);
    if (rc < 0)
        return rc;
    if (corio_redis_reply_type(r) == CORIO_REDIS_STRING) {
        snprintf(f->body, sizeof f->body, "%s",
                 corio_redis_reply_string(r, NULL));
        f->source = "Redis";
        corio_redis_reply_free(r);
        return 0;
    }
    corio_redis_reply_free(r);

    corio_http_response *resp;
    const char *text;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/data/%d", f->port, f->item);
    if ((rc = corio_http_session_get(f->session, url, &resp)) < 0)
        return rc;
    rc = corio_http_response_text(resp, &text);
    if (rc == 0)
        snprintf(f->body, sizeof f->body, "%s", text);
    corio_http_response_free(resp);
    if (rc < 0)
        return rc;
    f->source = "the API";
    /* await r.set(key, body, ex=60) */
    rc = corio_redis_command(f->redis, &r, "SET %s %s EX 60", key, f->body);
    corio_redis_reply_free(r);
    return rc;
}

struct server {
    corio_listener *listener;
    corio_http_router *router;
    corio_event stop;
};

static int serve(void *arg)
{
    struct server *s = arg;
    corio_http_server_opts o = {.stop = &s->stop};
    return corio_http_serve(s->listener, s->router, &o);
}

static int round_of_fetches(corio_redis *redis, corio_http_session *session,
                            int port)
{
    static const int items[] = {1, 2, 3, 4};
    enum { N = sizeof items / sizeof items[0] };
    struct fetch f[N];
    corio_task *t[N];
    int results[N];
    for (int i = 0; i < N; i++) {
        f[i] = (struct fetch){
            .redis = redis, .session = session, .port = port, .item = items[i]};
        if (corio_task_spawn(&t[i], fetch_data, &f[i]) < 0)
            return -ENOMEM;
    }
    int rc = corio_gather(t, N, results);
    for (int i = 0; i < N; i++) {
        if (results[i] < 0)
            printf("  item %d: error %s\n", f[i].item,
                   corio_strerror(results[i]));
        else
            printf("  item %d from %s: %s\n", f[i].item, f[i].source,
                   f[i].body);
    }
    return rc;
}

static int async_main(void *arg)
{
    (void)arg;
    const char *url = getenv("CORIO_REDIS_URL");
    struct server srv = {0};
    corio_http_session *session = NULL;
    corio_redis *redis = NULL;
    corio_task *server = NULL;
    corio_addr addr;
    int rc;

    snprintf(prefix, sizeof prefix, "cache:%ld", (long)getpid());
    corio_event_init(&srv.stop);
    if ((rc = corio_redis_connect(&redis,
                                  url ? url : "redis://127.0.0.1:6379")) < 0) {
        fprintf(stderr, "redis: %s\n", corio_strerror(rc));
        goto out;
    }
    if ((rc = corio_http_router_new(&srv.router)) < 0 ||
        (rc = corio_http_router_add(srv.router, "GET", "/data/{id}", api,
                                    NULL)) < 0 ||
        (rc = corio_tcp_listen(&srv.listener, "127.0.0.1", 0, NULL)) < 0 ||
        (rc = corio_listener_addr(srv.listener, &addr)) < 0 ||
        (rc = corio_task_spawn(&server, serve, &srv)) < 0 ||
        (rc = corio_http_session_new(&session, NULL)) < 0)
        goto out;

    printf("first round:\n");
    if ((rc = round_of_fetches(redis, session, corio_addr_port(&addr))) < 0)
        goto out;
    printf("second round:\n");
    if ((rc = round_of_fetches(redis, session, corio_addr_port(&addr))) < 0)
        goto out;
    printf("the API served %d requests for 8 fetches\n", api_requests);

    corio_redis_reply *r;
    if (corio_redis_command(redis, &r, "TTL %s:data:1", prefix) == 0)
        printf("cached for %s\n",
               corio_redis_reply_integer(r) > 0 ? "60 s at most" : "?");
    corio_redis_reply_free(r);
    for (int i = 1; i <= 4; i++) {
        if (corio_redis_command(redis, &r, "DEL %s:data:%d", prefix, i) == 0)
            corio_redis_reply_free(r);
    }
out:
    corio_http_session_free(session);
    if (server) {
        corio_event_set(&srv.stop);
        CORIO_IGNORE(corio_task_join(server, NULL)); /* shutting down */
    }
    corio_listener_close(srv.listener);
    corio_http_router_free(srv.router);
    corio_event_destroy(&srv.stop);
    corio_redis_close(redis);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int res, rc = corio_run(async_main, NULL, &res);
    if (rc == 0)
        rc = res;
    if (rc < 0) {
        fprintf(stderr, "redis_cache: %d\n", rc);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
