/* test_fetch_run.c — corio-fetch's runner (tools/corio-fetch/run.c) and demo
 * server (demo.c) end to end in one process, on the virtual clock: real
 * sockets on loopback, real client and server code, while timeouts,
 * backoffs, Retry-After and the rate limiter cost no real time and give
 * exact numbers.
 *   demo_mix           the demo's 200-URL mix: every URL gets the outcome its
 *                      endpoint is meant to give; counts per status and kind.
 *   retries_timeouts   a server of the test's: retries until success, a 429's
 *                      Retry-After honoured, a hang timed out every attempt,
 *                      4xx not retried, the concurrency cap seen by the server.
 *   concurrency_cap    -c 4: exactly four requests at once at the server.
 *   rate_limit         --rate spaces the requests' arrival at the server.
 *   cancel             cancelling a run stops it with -ECANCELED, no fd left.
 *   output_dir         -o DIR: each body, decoded, in DIR/N; a retry starts
 *                      the file again. */
#include "tst.h"

#include "../tools/corio-fetch/fetch.h"

#include <corio/http_server.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int parse_opts(struct fetch_opts *o, const char **args)
{
    static char *argv[32];
    char err[200];
    int argc = 0;
    argv[argc++] = (char *)"corio-fetch";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    return fetch_args_parse(o, argc, argv, err, sizeof err);
}

/* ---- demo_mix --------------------------------------------------------------
 */

static int demo_body(void *arg)
{
    (void)arg;
    struct fetch_opts o;
    struct fetch_demo *demo;
    struct fetch_urls urls = {0};
    struct fetch_run run = {0};
    char url[128];
    int fds = tst_count_fds();

    CHECK_EQ(parse_opts(&o, (const char *[]){"--demo", "200", NULL}), 0);
    CHECK_EQ(fetch_demo_start(&demo), 0);
    for (size_t i = 0; i < 200; i++) {
        fetch_demo_url(demo, i, url, sizeof url);
        CHECK_EQ(fetch_urls_add(&urls, url), 0);
    }
    struct fetch_result results[200];
    memset(results, 0, sizeof results);
    run.opts = &o;
    run.urls = urls.v;
    run.nurls = urls.n;
    run.results = results;
    int64_t start = corio_now();
    CHECK_EQ(fetch_stats_init(&run.stats, urls.n, start), 0);
    CHECK_EQ(fetch_run_all(&run), 0);
    int64_t wall = corio_now() - start;

    for (size_t i = 0; i < 200; i++)
        if (!fetch_demo_expected(i, &results[i], &o)) {
            fprintf(stderr, "    %s: status %d err %d attempts %d\n",
                    results[i].url, results[i].status, results[i].err,
                    results[i].attempts);
            CHECK(!"a demo URL did not get its intended outcome");
        }
    /* What the mix implies for 200 URLs (two of each hundred-slot cycle). */
    struct fetch_stats *s = &run.stats;
    CHECK_EQ(s->done, 200);
    CHECK_EQ(s->status_code[200], 176);
    CHECK_EQ(s->status_code[404], 8);
    CHECK_EQ(s->status_code[500], 6);
    CHECK_EQ(s->status_code[503], 4);
    CHECK_EQ(s->status_code[429], 2);
    CHECK_EQ(s->kind[FETCH_TIMEOUT], 2);
    CHECK_EQ(s->kind[FETCH_REFUSED], 2);
    CHECK_EQ(s->errors, 4);
    CHECK_EQ(s->failed, 24);
    /* 176 answers at the first attempt but 4 flaky ones; 503, 429, /hang and
     * refused take 3 each: 200 + 4 + 2 * (4 + 2 + 2 + 2) = 224. */
    CHECK_EQ(s->attempts, 224);
    /* /hang: three 2 s timeouts and two backoffs (< 100 + 200 ms), started
     * within the first 0.1 s at 2000/s. */
    CHECK(wall >= 6 * CORIO_SECOND);
    CHECK(wall < 6500 * CORIO_MS);

    fetch_stats_destroy(&run.stats);
    fetch_demo_stop(demo);
    fetch_urls_free(&urls);
    CHECK_EQ(tst_count_fds(), fds);
    return 0;
}

TEST_T(fetch_run, demo_mix, 60)
{
    CHECK_EQ(tst_run(demo_body, NULL), 0);
}

/* ---- a server of the test's -------------------------------------------------
 */

struct srv {
    corio_listener *listener;
    corio_http_router *router;
    corio_event stop;
    corio_task *task;
    int port;
    int busy, max_busy;   /* /ok handlers running now, at most */
    int flaky_calls;      /* /flaky requests seen */
    int limited_calls;    /* /limited requests seen */
    int64_t arrivals[64]; /* /ok arrival times */
    int narrivals;
};

static int h_ok(corio_http_req *req, void *arg)
{
    struct srv *s = arg;
    if (s->narrivals < 64)
        s->arrivals[s->narrivals++] = corio_now();
    if (++s->busy > s->max_busy)
        s->max_busy = s->busy;
    int rc = corio_sleep(50 * CORIO_MS);
    s->busy--;
    if (rc < 0)
        return rc;
    return corio_http_reply(req, 200, "text/plain", "ok\n", 3);
}

/* 503 twice, then 200. */
static int h_flaky(corio_http_req *req, void *arg)
{
    struct srv *s = arg;
    if (++s->flaky_calls <= 2)
        return corio_http_reply(req, 503, "text/plain", "later\n", 6);
    return corio_http_reply(req, 200, "text/plain", "fine\n", 5);
}

/* 429 with Retry-After: 3, then 200. */
static int h_limited(corio_http_req *req, void *arg)
{
    struct srv *s = arg;
    if (++s->limited_calls == 1) {
        CHECK_EQ(corio_http_reply_header(req, "Retry-After", "3"), 0);
        return corio_http_reply(req, 429, "text/plain", "slow down\n", 10);
    }
    return corio_http_reply(req, 200, "text/plain", "thanks\n", 7);
}

static int h_hang(corio_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    return corio_sleep(3600 * CORIO_SECOND);
}

static int h_missing(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_reply(req, 404, "text/plain", "no\n", 3);
}

static int srv_task(void *arg)
{
    struct srv *s = arg;
    corio_http_server_opts o = {.stop = &s->stop, .grace_ns = -1};
    return corio_http_serve(s->listener, s->router, &o);
}

static void srv_start(struct srv *s)
{
    corio_addr a;
    memset(s, 0, sizeof *s);
    CHECK_EQ(corio_event_init(&s->stop), 0);
    CHECK_EQ(corio_http_router_new(&s->router), 0);
    CHECK_EQ(corio_http_router_add(s->router, "GET", "/ok/{n}", h_ok, s), 0);
    CHECK_EQ(corio_http_router_add(s->router, "GET", "/flaky", h_flaky, s), 0);
    CHECK_EQ(corio_http_router_add(s->router, "GET", "/limited", h_limited, s),
             0);
    CHECK_EQ(corio_http_router_add(s->router, "GET", "/hang", h_hang, s), 0);
    CHECK_EQ(corio_http_router_add(s->router, "GET", "/missing", h_missing, s),
             0);
    CHECK_EQ(corio_tcp_listen(&s->listener, "127.0.0.1", 0, NULL), 0);
    CHECK_EQ(corio_listener_addr(s->listener, &a), 0);
    s->port = corio_addr_port(&a);
    CHECK_EQ(corio_task_spawn(&s->task, srv_task, s), 0);
}

static void srv_stop(struct srv *s)
{
    corio_event_set(&s->stop);
    CHECK_EQ(corio_task_join(s->task, NULL), 0);
    corio_listener_close(s->listener);
    corio_http_router_free(s->router);
    corio_event_destroy(&s->stop);
}

/* Run opts over the URLs of text ("%d" stands for the server's port). */
static int run_list(struct fetch_run *run, struct fetch_urls *urls,
                    const struct fetch_opts *o, int port, const char *text)
{
    char buf[4096];
    snprintf(buf, sizeof buf, text, port, port, port, port, port, port, port,
             port, port, port);
    FILE *in = fmemopen(buf, strlen(buf), "r");
    CHECK(in != NULL);
    CHECK(fetch_urls_read(urls, in) > 0);
    fclose(in);
    memset(run, 0, sizeof *run);
    run->opts = o;
    run->urls = urls->v;
    run->nurls = urls->n;
    run->results = calloc(urls->n, sizeof *run->results);
    CHECK(run->results != NULL);
    CHECK_EQ(fetch_stats_init(&run->stats, urls->n, corio_now()), 0);
    return fetch_run_all(run);
}

static int retries_body(void *arg)
{
    (void)arg;
    struct srv s;
    struct fetch_opts o;
    struct fetch_urls urls = {0};
    struct fetch_run run;
    int fds = tst_count_fds();

    srv_start(&s);
    CHECK_EQ(parse_opts(&o, (const char *[]){"-c", "3", "--timeout", "1",
                                             "--retries", "2", NULL}),
             0);
    CHECK_EQ(run_list(&run, &urls, &o, s.port,
                      "# a comment, then a blank line\n\n"
                      "http://127.0.0.1:%d/flaky\n"
                      "http://127.0.0.1:%d/limited\n"
                      "http://127.0.0.1:%d/hang\n"
                      "http://127.0.0.1:%d/missing\n"
                      "http://127.0.0.1:%d/ok/1\n"
                      "http://127.0.0.1:%d/ok/2\n"
                      "http://127.0.0.1:%d/ok/3\n"
                      "http://127.0.0.1:%d/ok/4\n"
                      "http://127.0.0.1:%d/ok/5\n"
                      "http://127.0.0.1:%d/ok/6\n"),
             0);
    struct fetch_result *r = run.results;
    /* /flaky: 503, 503, 200. */
    CHECK_EQ(r[0].status, 200);
    CHECK_EQ(r[0].attempts, 3);
    CHECK_EQ(r[0].err, 0);
    CHECK_EQ(r[0].bytes, 5);
    /* /limited: the 429's Retry-After of 3 s, not the 50-100 ms backoff. */
    CHECK_EQ(r[1].status, 200);
    CHECK_EQ(r[1].attempts, 2);
    CHECK(r[1].ns >= 3 * CORIO_SECOND && r[1].ns < 3100 * CORIO_MS);
    /* /hang: each attempt ends at the 1 s timeout, with backoffs of
     * [50, 100) and [100, 200) ms between them. */
    CHECK_EQ(r[2].err, -ETIMEDOUT);
    CHECK_EQ(r[2].status, 0);
    CHECK_EQ(r[2].attempts, 3);
    CHECK(r[2].ns >= 3150 * CORIO_MS && r[2].ns < 3300 * CORIO_MS);
    /* 404 is final. */
    CHECK_EQ(r[3].status, 404);
    CHECK_EQ(r[3].attempts, 1);
    for (int i = 4; i < 10; i++) {
        CHECK_EQ(r[i].status, 200);
        CHECK_EQ(r[i].bytes, 3);
    }
    /* Three workers: the server never saw more than three /ok at once
     * (concurrency_cap checks the cap is reached). */
    CHECK(s.max_busy >= 1 && s.max_busy <= 3);
    CHECK_EQ(run.stats.done, 10);
    CHECK_EQ(run.stats.failed, 2);
    CHECK_EQ(run.stats.kind[FETCH_TIMEOUT], 1);
    CHECK_EQ(run.stats.attempts, 3 + 2 + 3 + 1 + 6);

    free(run.results);
    fetch_stats_destroy(&run.stats);
    fetch_urls_free(&urls);
    srv_stop(&s);
    CHECK_EQ(tst_count_fds(), fds);
    return 0;
}

TEST(fetch_run, retries_timeouts)
{
    CHECK_EQ(tst_run(retries_body, NULL), 0);
}

static int concurrency_body(void *arg)
{
    (void)arg;
    struct srv s;
    struct fetch_opts o;
    struct fetch_urls urls = {0};
    struct fetch_run run;

    srv_start(&s);
    CHECK_EQ(parse_opts(&o, (const char *[]){"-c", "4", NULL}), 0);
    char text[2048] = "";
    for (int i = 0; i < 20; i++)
        strcat(text, "http://127.0.0.1:%1$d/ok/x\n");
    int64_t start = corio_now();
    CHECK_EQ(run_list(&run, &urls, &o, s.port, text), 0);
    /* Exactly four at once, five rounds of 50 ms. */
    CHECK_EQ(s.max_busy, 4);
    CHECK_EQ(run.stats.status_code[200], 20);
    int64_t wall = corio_now() - start;
    CHECK(wall >= 250 * CORIO_MS && wall < 300 * CORIO_MS);
    free(run.results);
    fetch_stats_destroy(&run.stats);
    fetch_urls_free(&urls);
    srv_stop(&s);
    return 0;
}

TEST(fetch_run, concurrency_cap)
{
    CHECK_EQ(tst_run(concurrency_body, NULL), 0);
}

static int rate_body(void *arg)
{
    (void)arg;
    struct srv s;
    struct fetch_opts o;
    struct fetch_urls urls = {0};
    struct fetch_run run;

    srv_start(&s);
    /* 10/s: a burst of one token, then one every 100 ms, whatever the
     * concurrency. */
    CHECK_EQ(
        parse_opts(&o, (const char *[]){"-c", "8", "--rate", "10/s", NULL}), 0);
    char text[2048] = "";
    for (int i = 0; i < 12; i++)
        strcat(text, "http://127.0.0.1:%1$d/ok/r\n");
    CHECK_EQ(run_list(&run, &urls, &o, s.port, text), 0);
    CHECK_EQ(s.narrivals, 12);
    for (int i = 1; i < 12; i++) {
        int64_t gap = s.arrivals[i] - s.arrivals[i - 1];
        CHECK(gap >= 99 * CORIO_MS && gap <= 101 * CORIO_MS);
    }
    free(run.results);
    fetch_stats_destroy(&run.stats);
    fetch_urls_free(&urls);
    srv_stop(&s);
    return 0;
}

TEST(fetch_run, rate_limit)
{
    CHECK_EQ(tst_run(rate_body, NULL), 0);
}

struct cancel_ctx {
    struct fetch_run run;
    struct fetch_urls urls;
    struct fetch_opts o;
    int port;
    int rc;
};

static int cancel_runner(void *arg)
{
    struct cancel_ctx *c = arg;
    c->rc = run_list(&c->run, &c->urls, &c->o, c->port,
                     "http://127.0.0.1:%1$d/hang\n"
                     "http://127.0.0.1:%1$d/hang\n"
                     "http://127.0.0.1:%1$d/ok/1\n");
    return 0;
}

static int cancel_body(void *arg)
{
    (void)arg;
    struct srv s;
    static struct cancel_ctx c;
    corio_task *t;
    int fds = tst_count_fds();

    srv_start(&s);
    c.port = s.port;
    CHECK_EQ(
        parse_opts(&c.o, (const char *[]){"-c", "2", "--retries", "5", NULL}),
        0);
    CHECK_EQ(corio_task_spawn(&t, cancel_runner, &c), 0);
    CHECK_EQ(corio_sleep(500 * CORIO_MS), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(c.rc, -ECANCELED);
    CHECK_EQ(c.run.stats.done, 0); /* nothing finished; nothing miscounted */
    free(c.run.results);
    fetch_stats_destroy(&c.run.stats);
    fetch_urls_free(&c.urls);
    srv_stop(&s);
    CHECK_EQ(tst_count_fds(), fds);
    return 0;
}

TEST(fetch_run, cancel)
{
    CHECK_EQ(tst_run(cancel_body, NULL), 0);
}

/* ---- output_dir
 * -------------------------------------------------------------- */

/* The contents of dir/name, NUL-terminated (free it), or NULL. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static int output_body(void *arg)
{
    const char *dir = arg;
    struct fetch_opts o;
    struct fetch_demo *demo;
    struct fetch_urls urls = {0};
    struct fetch_run run = {0};
    char url[128];
    int fds = tst_count_fds();

    CHECK_EQ(parse_opts(&o, (const char *[]){"-o", dir, "--retries", "1", "-c",
                                             "2", NULL}),
             0);
    CHECK(strcmp(o.outdir, dir) == 0);
    CHECK_EQ(fetch_demo_start(&demo), 0);
    /* Demo URLs 78 (/bytes/{n}), 82 (/gzip), 3 (/fast/3), 94 (/flaky/94). */
    static const size_t pick[] = {78, 82, 3, 94};
    for (size_t i = 0; i < 4; i++) {
        fetch_demo_url(demo, pick[i], url, sizeof url);
        CHECK_EQ(fetch_urls_add(&urls, url), 0);
    }
    CHECK(strstr(urls.v[0], "/bytes/") && strstr(urls.v[1], "/gzip") &&
          strstr(urls.v[2], "/fast/3") && strstr(urls.v[3], "/flaky/94"));
    struct fetch_result results[4];
    memset(results, 0, sizeof results);
    run.opts = &o;
    run.urls = urls.v;
    run.nurls = urls.n;
    run.results = results;
    CHECK_EQ(fetch_stats_init(&run.stats, urls.n, corio_now()), 0);
    CHECK_EQ(fetch_run_all(&run), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(results[i].err, 0);
        CHECK_EQ(results[i].status, 200);
    }

    size_t len;
    char *b = slurp(dir, "1", &len); /* /bytes/{n}: the alphabet repeated */
    CHECK(b != NULL);
    CHECK_EQ(len, results[0].bytes);
    CHECK_EQ(len, (78 * 7919) % 65536);
    for (size_t k = 0; k < len; k++)
        if (b[k] != (char)('a' + k % 16384 % 26))
            CHECK(!"a wrong byte in the saved /bytes body");
    free(b);
    b = slurp(dir, "2", &len); /* /gzip, decoded by the session */
    CHECK(b && strncmp(b, "{\"encoding\": \"gzip\"", 19) == 0);
    CHECK_EQ(len, results[1].bytes);
    free(b);
    b = slurp(dir, "3", &len);
    CHECK(b && strcmp(b, "{\"n\": 3, \"ok\": true}\n") == 0);
    free(b);
    /* /flaky answered 503 first: the file holds the second answer only. */
    CHECK_EQ(results[3].attempts, 2);
    b = slurp(dir, "4", &len);
    CHECK(b && strcmp(b, "{\"flaky\": 94, \"ok\": true}\n") == 0);
    free(b);

    fetch_stats_destroy(&run.stats);
    fetch_demo_stop(demo);
    fetch_urls_free(&urls);
    CHECK_EQ(tst_count_fds(), fds);
    return 0;
}

TEST(fetch_run, output_dir)
{
    char dir[] = "/tmp/corio-fetch-test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int rc = tst_run(output_body, dir);
    for (int i = 1; i <= 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s/%d", dir, i);
        unlink(path);
    }
    rmdir(dir);
    CHECK_EQ(rc, 0);
}

/* ---- load mode ------------------------------------------------------------
 * -n: exactly N requests of the one URL, statistics only; -z: until the
 * deadline, the requests then in flight counted as cancelled, not failed;
 * the latency of errors kept apart from the responses'. */

static int load_run(const char **args, const char *path, struct fetch_run *run,
                    struct fetch_opts *o, char *url, size_t cap)
{
    struct fetch_demo *demo;
    char *urls[1] = {url};
    CHECK_EQ(parse_opts(o, args), 0);
    CHECK(o->load);
    CHECK_EQ(fetch_demo_start(&demo), 0);
    snprintf(url, cap, "http://127.0.0.1:%d%s", fetch_demo_port(demo), path);
    memset(run, 0, sizeof *run);
    run->opts = o;
    run->urls = urls;
    run->nurls = 1;
    CHECK_EQ(fetch_stats_init(&run->stats, (size_t)o->count, corio_now()), 0);
    int rc = fetch_run_all(run);
    fetch_demo_stop(demo);
    return rc;
}

static int load_body(void *arg)
{
    (void)arg;
    struct fetch_opts o;
    struct fetch_run run;
    char url[128];
    int fds = tst_count_fds();

    /* -n 500 at -c 20: 500 responses, no more. */
    CHECK_EQ(
        load_run((const char *[]){"-n", "500", "-c", "20", "http://x/", NULL},
                 "/fast/1", &run, &o, url, sizeof url),
        0);
    CHECK_EQ(o.concurrency, 20);
    CHECK_EQ(run.stats.done, 500);
    CHECK_EQ(run.stats.nlatency, 500);
    CHECK_EQ(run.stats.status_code[200], 500);
    CHECK_EQ(run.stats.errors, 0);
    CHECK_EQ(run.stats.inflight, 0);
    fetch_stats_destroy(&run.stats);

    /* -z 1s at -c 4 on a 100 ms endpoint: 10 rounds of 4, on the virtual
     * clock; the round under way at the deadline, if any, is cancelled. */
    int64_t t0 = corio_now();
    CHECK_EQ(
        load_run((const char *[]){"-z", "1s", "-c", "4", "http://x/", NULL},
                 "/slow/100", &run, &o, url, sizeof url),
        0);
    int64_t took = corio_now() - t0;
    CHECK(took >= CORIO_SECOND && took < 1100 * CORIO_MS);
    CHECK(run.stats.done >= 36 && run.stats.done <= 40);
    CHECK(run.stats.cancelled <= 4);
    CHECK_EQ(run.stats.nlatency, run.stats.done);
    CHECK_EQ(run.stats.failed, 0);
    CHECK(fetch_percentile(run.stats.latency, run.stats.nlatency, 50) >=
          100 * CORIO_MS);
    fetch_stats_destroy(&run.stats);

    /* --rate in load mode, per minute: 600/min is 10/s, so 20 requests
     * take about 1.9 s whatever -c says. */
    t0 = corio_now();
    CHECK_EQ(load_run((const char *[]){"-n", "20", "-c", "10", "--rate",
                                       "600/min", "http://x/", NULL},
                      "/fast/1", &run, &o, url, sizeof url),
             0);
    took = corio_now() - t0;
    CHECK_EQ(run.stats.done, 20);
    CHECK(took >= 1800 * CORIO_MS && took < 2100 * CORIO_MS);
    fetch_stats_destroy(&run.stats);

    CHECK_EQ(tst_count_fds(), fds);
    return 0;
}

TEST(fetch_run, load_mode)
{
    CHECK_EQ(tst_run(load_body, NULL), 0);
}

/* Item 1 of issue 15: one slow success and five refused connections.  The
 * latency is the success's (301 ms), not a refused connection's. */
static int latency_body(void *arg)
{
    (void)arg;
    struct fetch_opts o;
    struct fetch_demo *demo;
    struct fetch_run run = {0};
    struct fetch_urls urls = {0};
    struct fetch_result results[6];
    char url[128];

    CHECK_EQ(parse_opts(&o, (const char *[]){"-c", "6", NULL}), 0);
    CHECK_EQ(fetch_demo_start(&demo), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow/301",
             fetch_demo_port(demo));
    CHECK_EQ(fetch_urls_add(&urls, url), 0);
    fetch_demo_url(demo, 97, url, sizeof url); /* the refusing port */
    CHECK(strstr(url, "/refused"));
    for (int i = 0; i < 5; i++)
        CHECK_EQ(fetch_urls_add(&urls, url), 0);
    memset(results, 0, sizeof results);
    run.opts = &o;
    run.urls = urls.v;
    run.nurls = urls.n;
    run.results = results;
    CHECK_EQ(fetch_stats_init(&run.stats, urls.n, corio_now()), 0);
    CHECK_EQ(fetch_run_all(&run), 0);
    CHECK_EQ(run.stats.nlatency, 1);
    CHECK_EQ(run.stats.nerr_latency, 5);
    CHECK_EQ(run.stats.kind[FETCH_REFUSED], 5);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fetch_stats_print(&run.stats, out, corio_now());
    fclose(out);
    CHECK(strstr(text, "latency  p50 301 ms  p90 301 ms  p99 301 ms  max 301 "
                       "ms (1 response)"));
    CHECK(strstr(text, "errors  5 (refused 5), after p50"));
    free(text);
    fetch_stats_destroy(&run.stats);
    fetch_demo_stop(demo);
    fetch_urls_free(&urls);
    return 0;
}

TEST(fetch_run, latency_of_responses_only)
{
    CHECK_EQ(tst_run(latency_body, NULL), 0);
}

/* Everything the pty's master has to read: the kernel passes a slave's
 * writes on asynchronously, so wait until nothing more comes for 100 ms. */
static ssize_t drain_pty(int master, char *buf, size_t cap)
{
    size_t n = 0;
    struct pollfd pfd = {.fd = master, .events = POLLIN};
    while (n + 1 < cap && poll(&pfd, 1, 100) == 1) {
        ssize_t k = read(master, buf + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = 0;
    return (ssize_t)n;
}

/* The bar in a pseudo-terminal: 120 columns, then resized to 40 while
 * running; every redraw fits the width the terminal had then. */
static int pty_body(void *arg)
{
    int master = *(int *)arg;
    struct fetch_stats s;
    struct fetch_progress p;
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    CHECK(slave >= 0);
    FILE *out = fdopen(slave, "w");
    struct winsize ws = {.ws_row = 24, .ws_col = 120};
    CHECK_EQ(ioctl(master, TIOCSWINSZ, &ws), 0);
    CHECK_EQ(fetch_stats_init(&s, 1000, corio_now()), 0);
    s.total = 1000;
    CHECK_EQ(fetch_progress_start(&p, &s, out), 0);
    CHECK(p.tty);
    for (int i = 0; i < 10; i++) {
        s.done += 40;
        s.inflight = 7;
        corio_sleep(100 * CORIO_MS);
    }
    /* Drain what the 120-column bars wrote, then resize. */
    static char buf[1 << 18];
    ssize_t n = drain_pty(master, buf, sizeof buf);
    CHECK(n > 0);
    buf[n] = 0;
    int wide = 0;
    for (char *seg = strtok(buf, "\r\n"); seg; seg = strtok(NULL, "\r\n")) {
        char *esc = strstr(seg, "\033[K");
        size_t len = esc ? (size_t)(esc - seg) : strlen(seg);
        CHECK(len <= 119);
        if (len >= 100)
            wide++;
    }
    if (wide < 5)
        fprintf(stderr, "    %d wide bars in: %s\n", wide, buf);
    CHECK(wide >= 5);
    ws.ws_col = 40;
    CHECK_EQ(ioctl(master, TIOCSWINSZ, &ws), 0);
    for (int i = 0; i < 10; i++) {
        s.done += 40;
        corio_sleep(100 * CORIO_MS);
    }
    fetch_progress_stop(&p);
    fflush(out);
    n = drain_pty(master, buf, sizeof buf);
    CHECK(n > 0);
    buf[n] = 0;
    int narrow = 0;
    for (char *seg = strtok(buf, "\r\n"); seg; seg = strtok(NULL, "\r\n")) {
        char *esc = strstr(seg, "\033[K");
        size_t len = esc ? (size_t)(esc - seg) : strlen(seg);
        if (len == 0)
            continue;
        CHECK(len <= 39);
        CHECK(seg[0] == '[');
        narrow++;
    }
    CHECK(narrow >= 5);
    fclose(out);
    fetch_stats_destroy(&s);
    return 0;
}

TEST(fetch_run, progress_bar_follows_terminal_resize)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(master >= 0);
    CHECK_EQ(grantpt(master), 0);
    CHECK_EQ(unlockpt(master), 0);
    CHECK_EQ(tst_run(pty_body, &master), 0);
    close(master);
}
