/* http_shared_session.c — one client session shared by every request of a
 * batch, each answer parsed as JSON, a failure reported per URL.
 *
 * The asyncio original (seed "Best Practices for Asyncio", Example 2):
 *
 *     async def fetch_multiple_apis(urls):
 *         async with aiohttp.ClientSession() as session:
 *             tasks = []
 *             for url in urls:
 *                 tasks.append(asyncio.create_task(fetch_api(session, url)))
 *             return await asyncio.gather(*tasks, return_exceptions=True)
 *
 *     async def fetch_api(session, url):
 *         try:
 *             async with session.get(url) as response:
 *                 return await response.json()
 *         except Exception as e:
 *             print(f"Error fetching {url}: {e}")
 *             return None
 *
 *     api_urls = ["https://api.example.com/data1",
 *                 "https://api.example.com/data2",
 *                 "https://api.example.com/data3"]
 *     api_results = await fetch_multiple_apis(api_urls)
 *
 * The C twin serves api.example.com's three endpoints from a corio HTTP
 * server on 127.0.0.1 (port 0) in the same program (examples/demo_server.h),
 * plus a fourth whose body is not JSON, so the except branch runs too.
 * `async with ClientSession() as session` is corio_http_session_new ...
 * corio_http_session_free; response.json() is corio_http_response_json,
 * which hands back a jansson value.  The session's pool is what makes
 * sharing it worth it: the server counts the connections it accepted, and
 * the four requests of the second batch reuse those of the first. */
#include "demo_server.h"

#include <corio.h>
#include <corio/http_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int connections; /* accepted by the server (counted by serve_conn) */

/* The API: /data{n} is {"id": n, "name": ..., "values": [...]} for n of
 * 1 to 3; /broken is cut short, not JSON. */
static int api(corio_http_req *req, void *arg)
{
    (void)arg;
    static const char *const names[] = {"alpha", "beta", "gamma"};
    const char *name = corio_http_req_param(req, "name");
    char body[96];
    int n = 0;

    if (strcmp(name, "broken") == 0)
        return corio_http_reply(req, 200, "application/json", "{\"id\": 4,", 9);
    if (sscanf(name, "data%d", &n) != 1 || n < 1 || n > 3)
        return corio_http_reply(req, 404, "application/json",
                                "{\"error\": \"no such data\"}", 25);
    int len = snprintf(body, sizeof body,
                       "{\"id\": %d, \"name\": \"%s\", \"values\": [%d, %d]}",
                       n, names[n - 1], n * 10, n * 20);
    return corio_http_reply(req, 200, "application/json", body, (size_t)len);
}

struct fetch {
    corio_http_session *session;
    char url[96];
    const char *path; /* what the output calls it: the port changes */
    json_t *result;   /* None: NULL */
};

/* async def fetch_api(session, url) */
static int fetch_api(void *arg)
{
    struct fetch *f = arg;
    corio_http_response *resp;

    int rc = corio_http_session_get(f->session, f->url, &resp);
    if (rc == 0) {
        rc = corio_http_response_json(resp, &f->result);
        corio_http_response_free(resp);
    }
    if (rc < 0)
        printf("Error fetching %s: %s\n", f->path, corio_strerror(rc));
    return rc;
}

/* async def fetch_multiple_apis(urls): one session for the whole batch. */
static int fetch_multiple_apis(corio_http_session *session, struct fetch *f,
                               size_t n)
{
    corio_task *tasks[8];
    size_t started = 0;
    int rc = 0;

    for (; started < n; started++) {
        f[started].session = session;
        f[started].result = NULL;
        if ((rc = corio_task_spawn(&tasks[started], fetch_api, &f[started])) <
            0)
            break;
    }
    /* return await asyncio.gather(*tasks, return_exceptions=True): the
     * failures were reported by fetch_api; their results stay None. */
    CORIO_IGNORE(corio_gather(tasks, started, NULL));
    return rc;
}

/* corio_http_serve with a count of connections: the serve helper's
 * per-connection function wraps corio_http_serve_conn. */
static int serve_conn(corio_stream *conn, void *arg)
{
    connections++;
    return corio_http_serve_conn(conn, arg, NULL);
}

static int serve(void *arg)
{
    demo_server *s = arg;
    corio_serve_opts o = {.stop = &s->stop};
    return corio_serve(s->listener, serve_conn, s->router, &o);
}

static void print_results(const char *title, struct fetch *f, size_t n)
{
    printf("%s:\n", title);
    for (size_t i = 0; i < n; i++) {
        char *text =
            f[i].result ? json_dumps(f[i].result, JSON_COMPACT | JSON_SORT_KEYS)
                        : NULL;
        printf("  %s -> %s\n", f[i].path, text ? text : "None");
        free(text);
        json_decref(f[i].result);
        f[i].result = NULL;
    }
}

static int async_main(void *arg)
{
    (void)arg;
    static const char *paths[] = {"/data1", "/data2", "/data3", "/broken"};
    enum { N = sizeof paths / sizeof paths[0] };
    struct fetch fetches[N];
    demo_server srv;
    corio_http_session *session = NULL;
    int rc;

    if ((rc = demo_server_init(&srv)) < 0 ||
        (rc = corio_http_router_add(srv.router, "GET", "/{name}", api, NULL)) <
            0 ||
        (rc = demo_server_start(&srv, serve)) < 0)
        goto out;
    for (size_t i = 0; i < N; i++) {
        fetches[i].path = paths[i];
        snprintf(fetches[i].url, sizeof fetches[i].url, "http://127.0.0.1:%d%s",
                 srv.port, paths[i]);
    }

    /* async with aiohttp.ClientSession() as session: */
    if ((rc = corio_http_session_new(&session, NULL)) < 0)
        goto out;
    if ((rc = fetch_multiple_apis(session, fetches, N)) < 0)
        goto out;
    print_results("api_results", fetches, N);
    int first = connections;
    if ((rc = fetch_multiple_apis(session, fetches, N)) < 0)
        goto out;
    print_results("again, through the same session", fetches, N);
    printf("connections opened: %d for the first batch, %d for the second\n",
           first, connections - first);

out:
    corio_http_session_free(session);
    demo_server_stop(&srv);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "http_shared_session: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
