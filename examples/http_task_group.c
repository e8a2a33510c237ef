/* http_task_group.c — fetch URLs inside a task group: all results, or, when
 * one fetch fails, the others cancelled and the failure reported.
 *
 * The asyncio original (seed "Python Asyncio Best Practices", structured
 * concurrency):
 *
 *     async def fetch_multiple(urls: list[str]) -> list[Any]:
 *         async with aiohttp.ClientSession() as session:
 *             async with asyncio.TaskGroup() as tg:
 *                 tasks = [
 *                     tg.create_task(fetch_url(session, url))
 *                     for url in urls
 *                 ]
 *             return [task.result() for task in tasks]
 *
 * with fetch_url reading the body and raising for an error status
 * (response.raise_for_status()).
 *
 * `async with asyncio.TaskGroup() as tg` is corio_group_new ...
 * corio_group_wait; tg.create_task is corio_group_spawn.  The first child
 * to fail cancels its siblings (their waits return -ECANCELED) and
 * corio_group_wait returns that first error once every child has finished:
 * no task outlives the block, as with TaskGroup.  A child's result is kept
 * in its own record (task.result()).
 *
 * The URLs are served by a corio HTTP server on 127.0.0.1 (port 0) in the
 * same program (examples/demo_server.h): /users/{id} answers after 100 ms,
 * /slow after 2 s, /fail with a 500.  The first batch succeeds; in the second,
 * /fail fails at once and the 2 s fetch is cancelled instead of being waited
 * for. */
#include "demo_server.h"

#include <corio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static int user(corio_http_req *req, void *arg)
{
    (void)arg;
    char body[64];
    int rc = corio_sleep(100 * CORIO_MS);
    if (rc < 0)
        return rc;
    int len = snprintf(body, sizeof body, "{\"user\": %s}",
                       corio_http_req_param(req, "id"));
    return corio_http_reply(req, 200, "application/json", body, (size_t)len);
}

static int slow(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_sleep(2 * CORIO_SECOND);
    if (rc < 0)
        return rc;
    return corio_http_reply(req, 200, "application/json", "{\"slow\": 1}", 11);
}

static int fail(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_reply(req, 500, "text/plain", "internal error\n", 15);
}

struct fetch {
    corio_http_session *session;
    char url[96];
    const char *path;
    char result[64]; /* task.result(): the body */
    int rc;          /* how the task ended */
};

/* async def fetch_url(session, url) */
static int fetch_url(void *arg)
{
    struct fetch *f = arg;
    corio_http_response *resp;
    const char *text;

    int rc = corio_http_session_get(f->session, f->url, &resp);
    if (rc == 0) {
        rc = corio_http_response_raise_for_status(resp);
        if (rc < 0) {
            printf("  %.1f s: %s answered %d\n", elapsed(), f->path,
                   corio_http_response_status(resp));
        } else if ((rc = corio_http_response_text(resp, &text)) == 0) {
            snprintf(f->result, sizeof f->result, "%s", text);
        }
        corio_http_response_free(resp);
    }
    if (rc == -ECANCELED)
        printf("  %.1f s: %s cancelled\n", elapsed(), f->path);
    f->rc = rc;
    return rc;
}

/* async def fetch_multiple(urls) */
static int fetch_multiple(corio_http_session *session, struct fetch *f,
                          size_t n)
{
    corio_group *tg;
    int rc = corio_group_new(&tg); /* async with asyncio.TaskGroup() as tg: */
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        f[i].session = session;
        f[i].result[0] = 0;
        f[i].rc = 0;
        if (corio_group_spawn(tg, fetch_url, &f[i]) < 0)
            break; /* the group is failing already: no more children */
    }
    return corio_group_wait(tg); /* the end of the async with block */
}

static void batch(corio_http_session *session, int port, const char **paths,
                  size_t n)
{
    struct fetch f[8];
    for (size_t i = 0; i < n; i++) {
        f[i].path = paths[i];
        snprintf(f[i].url, sizeof f[i].url, "http://127.0.0.1:%d%s", port,
                 paths[i]);
    }
    start = corio_now();
    int rc = fetch_multiple(session, f, n);
    if (rc < 0) {
        printf("  %.1f s: the task group failed: %s\n", elapsed(),
               corio_strerror(rc));
        return;
    }
    /* return [task.result() for task in tasks] */
    printf("  %.1f s: [", elapsed());
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", f[i].result);
    printf("]\n");
}

static int async_main(void *arg)
{
    (void)arg;
    static const char *good[] = {"/users/1", "/users/2", "/users/3"};
    static const char *bad[] = {"/users/4", "/slow", "/fail"};
    demo_server srv;
    corio_http_session *session = NULL;
    int rc;

    if ((rc = demo_server_init(&srv)) < 0)
        goto out;
    /* No grace period at shutdown: the handler of the cancelled /slow fetch
     * is still sleeping (a server only learns that a client left when it
     * writes), and nobody waits for its answer any more. */
    srv.opts.grace_ns = -1;
    if ((rc = corio_http_router_add(srv.router, "GET", "/users/{id}", user,
                                    NULL)) < 0 ||
        (rc = corio_http_router_add(srv.router, "GET", "/slow", slow, NULL)) <
            0 ||
        (rc = corio_http_router_add(srv.router, "GET", "/fail", fail, NULL)) <
            0 ||
        (rc = demo_server_start(&srv, NULL)) < 0 ||
        (rc = corio_http_session_new(&session, NULL)) < 0)
        goto out;

    printf("fetch_multiple(/users/1, /users/2, /users/3):\n");
    batch(session, srv.port, good, 3);
    printf("fetch_multiple(/users/4, /slow, /fail):\n");
    batch(session, srv.port, bad, 3);

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
        fprintf(stderr, "http_task_group: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
