/* http_semaphore.c — fetch 50 URLs, never more than 10 at once, with a
 * semaphore around each request.
 *
 * The asyncio original (seed "Rate Limiting for Controlled Concurrency",
 * and the aiohttp pattern of the "Asynchronous Context Managers" seed):
 *
 *     CONCURRENCY_LIMIT = 10
 *     semaphore = asyncio.Semaphore(CONCURRENCY_LIMIT)
 *     async def fetch_data(url):
 *         async with semaphore:
 *             async with aiohttp.ClientSession() as session:
 *                 async with session.get(url) as response:
 *                     data = await response.text()
 *                     return data
 *
 * The C twin fetches from a corio HTTP server on 127.0.0.1 (port 0) in the
 * same program (examples/demo_server.h), whose handler takes 100-300 ms per
 * request and counts how many requests it is serving at once: the server, not
 * the client, testifies that the limit held.  `async with semaphore:` is
 * corio_sem_acquire ... corio_sem_release on every path; `async with
 * session.get(url) as response` is corio_http_session_get ...
 * corio_http_response_free.  All fetches share one session, whose pool keeps
 * the ten connections open between requests (a session per request, as in the
 * seed, would connect fifty times).
 *
 * On the virtual clock (as the test runs it) the times printed are exact. */
#include "demo_server.h"

#include <corio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONCURRENCY_LIMIT 10
#define NFETCH 50

static corio_sem semaphore;
static corio_http_session *session;
static int serving, max_serving; /* requests in the server's handler */

/* The remote API: /item/{n} answers after 100 + 40 * (n % 6) ms. */
static int item(corio_http_req *req, void *arg)
{
    (void)arg;
    int n = atoi(corio_http_req_param(req, "n"));
    char body[64];

    if (++serving > max_serving)
        max_serving = serving;
    int rc = corio_sleep((100 + 40 * (n % 6)) * CORIO_MS);
    serving--;
    if (rc < 0)
        return rc;
    int len = snprintf(body, sizeof body, "item %d\n", n);
    return corio_http_reply(req, 200, "text/plain", body, (size_t)len);
}

struct fetch {
    char url[96];
    size_t bytes; /* len(data) */
};

/* async def fetch_data(url) */
static int fetch_data(void *arg)
{
    struct fetch *f = arg;
    corio_http_response *resp;
    const char *data;

    /* async with semaphore: */
    int rc = corio_sem_acquire(&semaphore);
    if (rc < 0)
        return rc; /* no permit taken: nothing to release */
    rc = corio_http_session_get(session, f->url, &resp);
    if (rc == 0) {
        rc = corio_http_response_text(resp, &data);
        if (rc == 0)
            f->bytes = strlen(data);
        corio_http_response_free(resp);
    }
    corio_sem_release(&semaphore); /* on every path, error or not */
    return rc;
}

static int async_main(void *arg)
{
    (void)arg;
    static struct fetch fetches[NFETCH];
    demo_server srv;
    corio_task *tasks[NFETCH];
    int results[NFETCH], rc;
    int64_t start = corio_now();
    size_t n = 0, bytes = 0;

    if ((rc = demo_server_init(&srv)) < 0 ||
        (rc = corio_sem_init_bounded(&semaphore, CONCURRENCY_LIMIT)) < 0 ||
        (rc = corio_http_router_add(srv.router, "GET", "/item/{n}", item,
                                    NULL)) < 0 ||
        (rc = demo_server_start(&srv, NULL)) < 0 ||
        (rc = corio_http_session_new(&session, NULL)) < 0)
        goto out;

    /* tasks = [asyncio.create_task(fetch_data(url)) for url in urls] */
    for (; n < NFETCH; n++) {
        snprintf(fetches[n].url, sizeof fetches[n].url,
                 "http://127.0.0.1:%d/item/%zu", srv.port, n);
        if ((rc = corio_task_spawn(&tasks[n], fetch_data, &fetches[n])) < 0)
            break;
    }
    /* await asyncio.gather(*tasks) */
    int grc = corio_gather(tasks, n, results);
    if (rc == 0)
        rc = grc;
    if (rc < 0)
        goto out;

    for (size_t i = 0; i < n; i++)
        bytes += fetches[i].bytes;
    printf("%d fetches, %zu bytes\n", NFETCH, bytes);
    printf("the server saw at most %d requests at once (the limit is %d)\n",
           max_serving, CONCURRENCY_LIMIT);
    printf("all done after %.1f s\n",
           (double)(corio_now() - start) / CORIO_SECOND);
    /* Asserted, not only printed: the example fails if the limit leaked. */
    if (max_serving != CONCURRENCY_LIMIT) {
        fprintf(stderr, "http_semaphore: %d requests at once\n", max_serving);
        rc = -EPROTO;
    }

out:
    corio_http_session_free(session);
    demo_server_stop(&srv);
    corio_sem_destroy(&semaphore);
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
        fprintf(stderr, "http_semaphore: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
