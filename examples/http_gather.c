/* http_gather.c — fetch several URLs at once with gather; every failure is
 * logged against its URL and stops nothing else.
 *
 * The asyncio original (seed "Best Practices for Asyncio", gather):
 *
 *     async def fetch_data(url):
 *         async with aiohttp.ClientSession() as session:
 *             async with session.get(url) as response:
 *                 if response.status == 200:
 *                     return len(await response.text())
 *                 else:
 *                     logging.error(f"Error fetching {url}: {response.status}")
 *                     return None
 *
 *     async def main():
 *         urls = ["https://www.google.com/", "https://www.bing.com/"]
 *         tasks = [asyncio.create_task(fetch_data(url)) for url in urls]
 *         results = await asyncio.gather(*tasks, return_exceptions=True)
 *         for i, result in enumerate(results):
 *             if isinstance(result, Exception):
 *                 logging.error(f"Error processing {urls[i]}: {result}")
 *             else:
 *                 print(f"{urls[i]} - Response content length: {result}")
 *
 * The C twin runs without a network: a corio HTTP server on 127.0.0.1
 * (port 0) in the same program (examples/demo_server.h, shared by the HTTP
 * examples) stands in for the sites, with a page that
 * is missing (404: logged, a result of "None") and a port that refuses
 * connections (an "exception" for gather to return).  A task returns 0 or
 * an error code, which corio_gather collects per task like
 * return_exceptions=True; the length (or None) is in the task's record.
 *
 * Unlike the seed, the tasks share one session: a session per request, as
 * written there, opens a new connection each time and defeats the pool. */
#include "demo_server.h"

#include <corio.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static corio_http_session *session;

/* The stand-in sites: a page of a known length per name, 404 otherwise. */
static int site(corio_http_req *req, void *arg)
{
    (void)arg;
    static const char google[] = "<!doctype html><title>Google</title>\n";
    static const char bing[] = "<!doctype html><title>Bing</title>"
                               "<p>search</p>\n";
    const char *name = corio_http_req_param(req, "site");
    if (strcmp(name, "www.google.com") == 0)
        return corio_http_reply(req, 200, "text/html", google,
                                sizeof google - 1);
    if (strcmp(name, "www.bing.com") == 0)
        return corio_http_reply(req, 200, "text/html", bing, sizeof bing - 1);
    return corio_http_reply(req, 404, "text/plain", "not found\n", 10);
}

struct fetch {
    char url[128];
    const char *name; /* what the output calls it: the port changes */
    int length;       /* the result: the text's length, -1 for None */
};

/* async def fetch_data(url) */
static int fetch_data(void *arg)
{
    struct fetch *f = arg;
    corio_http_response *resp;
    const char *text;

    f->length = -1;
    int rc = corio_http_session_get(session, f->url, &resp);
    if (rc < 0)
        return rc; /* an exception: gather hands it to main */
    int status = corio_http_response_status(resp);
    if (status == 200) {
        rc = corio_http_response_text(resp, &text);
        if (rc == 0)
            f->length = (int)strlen(text);
    } else {
        printf("ERROR:root:Error fetching %s: %d\n", f->name, status);
    }
    corio_http_response_free(resp);
    return rc;
}

/* A port that refuses connections: a socket bound but not listening. */
static int refusing_socket(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int async_main(void *arg)
{
    (void)arg;
    static const char *names[] = {"www.google.com", "www.bing.com",
                                  "www.example.com", "refused.example"};
    enum { N = sizeof names / sizeof names[0] };
    demo_server srv;
    struct fetch fetches[N];
    corio_task *tasks[N];
    int results[N], rc, refused_port, refused_fd = -1;
    size_t n = 0;

    if ((rc = demo_server_init(&srv)) < 0 ||
        (rc = corio_http_router_add(srv.router, "GET", "/{site}", site, NULL)) <
            0 ||
        (rc = demo_server_start(&srv, NULL)) < 0)
        goto out;
    if ((refused_fd = refusing_socket(&refused_port)) < 0) {
        rc = -EADDRNOTAVAIL;
        goto out;
    }
    if ((rc = corio_http_session_new(&session, NULL)) < 0)
        goto out;

    /* tasks = [asyncio.create_task(fetch_data(url)) for url in urls] */
    for (; n < N; n++) {
        fetches[n].name = names[n];
        int port = n == N - 1 ? refused_port : srv.port;
        snprintf(fetches[n].url, sizeof fetches[n].url,
                 "http://127.0.0.1:%d/%s", port, names[n]);
        if ((rc = corio_task_spawn(&tasks[n], fetch_data, &fetches[n])) < 0)
            break;
    }
    /* results = await asyncio.gather(*tasks, return_exceptions=True) */
    CORIO_IGNORE(corio_gather(tasks, n, results));

    /* Process the results */
    int valid = 0;
    for (size_t i = 0; i < n; i++) {
        if (results[i] < 0) {
            printf("ERROR:root:Error processing %s: %s\n", names[i],
                   corio_strerror(results[i]));
            continue;
        }
        if (fetches[i].length < 0)
            printf("%s - Response content length: None\n", names[i]);
        else
            printf("%s - Response content length: %d\n", names[i],
                   fetches[i].length);
        valid++; /* valid_results.append(result), None included */
    }
    printf("%d valid results of %zu\n", valid, n);

out:
    corio_http_session_free(session);
    demo_server_stop(&srv);
    if (refused_fd >= 0)
        close(refused_fd);
    return rc < 0 ? rc : 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "http_gather: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
