/* demo.c — `corio-fetch --demo`: an HTTP server on 127.0.0.1 (port 0), run
 * by a task of the same loop as the fetching workers, and the deterministic
 * mix of its URLs that the demo fetches (fetch_demo_url), with the outcome
 * each is meant to have (fetch_demo_expected), so the demo checks itself.
 *
 * Endpoints (a corio_http_router served with corio_http_serve):
 *   /fast/{n}       a small JSON object at once
 *   /slow/{ms}      the same after ms milliseconds
 *   /redirect/{n}   302 to /redirect/{n-1}; /redirect/0 answers 200
 *   /bytes/{n}      n bytes, streamed (Content-Length)
 *   /gzip           a JSON body sent gzip-encoded when the client accepts it
 *   /fail/{code}    that status; 429 carries "Retry-After: 1"
 *   /flaky/{id}     503 the first time an id is asked for, then 200
 *   /hang           never answers: the client's timeout ends it
 *   /echo           any method: the request's method, some headers and its
 *                   body, as JSON (what -X, -H, -d and -A sent)
 *   /files/{name}   a small text body naming the file (for -O)
 * plus one URL on a port that refuses connections (a socket bound but not
 * listening, held for the demo's lifetime so no one else can take it). */
#include "fetch.h"

#include <corio/http_server.h>
#include <corio/net.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_BYTES (1024 * 1024) /* /bytes/{n} sends at most this */
#define MAX_FLAKY                                                              \
    100000 /* /flaky ids remembered (--demo N is at most this)                 \
            */

struct fetch_demo {
    corio_listener *listener;
    corio_http_router *router;
    corio_event stop;
    corio_task *server;
    int port;
    int refused_fd; /* bound, not listening */
    int refused_port;
    unsigned char flaky_seen[MAX_FLAKY / 8];
    unsigned char gz[256]; /* the /gzip body, compressed once */
    size_t gz_len;
};

static const char gzip_text[] =
    "{\"encoding\": \"gzip\", \"text\": \"corio decodes gzip and deflate "
    "bodies with zlib; this one was compressed by the demo server\"}\n";

/* A non-negative decimal route parameter, or -1. */
static long param_num(corio_http_req *req, const char *name, long max)
{
    const char *s = corio_http_req_param(req, name);
    char *end;
    if (!s || !*s)
        return -1;
    long v = strtol(s, &end, 10);
    return *end || v < 0 || v > max ? -1 : v;
}

static int reply_json(corio_http_req *req, int status, const char *fmt, long n)
{
    char body[128];
    int len = snprintf(body, sizeof body, fmt, n);
    return corio_http_reply(req, status, "application/json", body, (size_t)len);
}

static int h_fast(corio_http_req *req, void *arg)
{
    (void)arg;
    long n = param_num(req, "n", 1L << 30);
    if (n < 0)
        return corio_http_reply(req, 400, "text/plain", "bad n\n", 6);
    return reply_json(req, 200, "{\"n\": %ld, \"ok\": true}\n", n);
}

static int h_slow(corio_http_req *req, void *arg)
{
    (void)arg;
    long ms = param_num(req, "ms", 60000);
    if (ms < 0)
        return corio_http_reply(req, 400, "text/plain", "bad ms\n", 7);
    int rc = corio_sleep(ms * CORIO_MS);
    if (rc < 0)
        return rc;
    return reply_json(req, 200, "{\"slept_ms\": %ld}\n", ms);
}

static int h_redirect(corio_http_req *req, void *arg)
{
    (void)arg;
    long n = param_num(req, "n", 100);
    if (n < 0)
        return corio_http_reply(req, 400, "text/plain", "bad n\n", 6);
    if (n == 0)
        return reply_json(req, 200, "{\"redirects_left\": %ld}\n", n);
    char loc[64];
    snprintf(loc, sizeof loc, "/redirect/%ld", n - 1);
    int rc = corio_http_reply_header(req, "Location", loc);
    if (rc < 0)
        return rc;
    return corio_http_reply(req, 302, NULL, NULL, 0);
}

static int h_bytes(corio_http_req *req, void *arg)
{
    (void)arg;
    static char chunk[16384];
    long n = param_num(req, "n", MAX_BYTES);
    if (n < 0)
        return corio_http_reply(req, 400, "text/plain", "bad n\n", 6);
    if (!chunk[0])
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)('a' + i % 26);
    int rc = corio_http_reply_begin(req, 200, n);
    while (rc == 0 && n > 0) {
        size_t k = (size_t)n < sizeof chunk ? (size_t)n : sizeof chunk;
        rc = corio_http_reply_write(req, chunk, k);
        n -= (long)k;
    }
    return rc < 0 ? rc : corio_http_reply_end(req);
}

static int h_gzip(corio_http_req *req, void *arg)
{
    struct fetch_demo *d = arg;
    const char *ae = corio_http_req_header(req, "Accept-Encoding");
    if (!ae || !strstr(ae, "gzip"))
        return corio_http_reply(req, 200, "application/json", gzip_text,
                                sizeof gzip_text - 1);
    int rc = corio_http_reply_header(req, "Content-Encoding", "gzip");
    if (rc < 0)
        return rc;
    return corio_http_reply(req, 200, "application/json", d->gz, d->gz_len);
}

static int h_fail(corio_http_req *req, void *arg)
{
    (void)arg;
    long code = param_num(req, "code", 599);
    if (code < 200)
        return corio_http_reply(req, 400, "text/plain", "bad code\n", 9);
    if (code == 429) {
        int rc = corio_http_reply_header(req, "Retry-After", "1");
        if (rc < 0)
            return rc;
    }
    return reply_json(req, (int)code, "{\"status\": %ld}\n", code);
}

static int h_flaky(corio_http_req *req, void *arg)
{
    struct fetch_demo *d = arg;
    long id = param_num(req, "id", MAX_FLAKY - 1);
    if (id < 0)
        return corio_http_reply(req, 400, "text/plain", "bad id\n", 7);
    unsigned char bit = (unsigned char)(1u << (id % 8));
    if (!(d->flaky_seen[id / 8] & bit)) {
        d->flaky_seen[id / 8] |= bit;
        return reply_json(req, 503, "{\"flaky\": %ld, \"try\": \"again\"}\n",
                          id);
    }
    return reply_json(req, 200, "{\"flaky\": %ld, \"ok\": true}\n", id);
}

static int h_hang(corio_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    /* Until the server shuts down (and cancels this handler). */
    for (;;) {
        int rc = corio_sleep(3600 * CORIO_SECOND);
        if (rc < 0)
            return rc;
    }
}

static int h_echo(corio_http_req *req, void *arg)
{
    (void)arg;
    const void *body;
    size_t len;
    int rc = corio_http_req_body(req, &body, &len);
    if (rc < 0)
        return rc;
    static const char *const names[] = {"User-Agent", "Content-Type",
                                        "Accept",     "Accept-Encoding",
                                        "X-Test",     "Authorization"};
    json_t *o = json_object(), *h = json_object();
    if (!o || !h) {
        json_decref(o);
        json_decref(h);
        return -ENOMEM;
    }
    json_object_set_new(o, "method", json_string(corio_http_req_method(req)));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = corio_http_req_header(req, names[i]);
        if (v)
            json_object_set_new(h, names[i], json_string(v));
    }
    json_object_set_new(o, "headers", h);
    json_object_set_new(o, "body", json_stringn(body ? body : "", len));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return -ENOMEM;
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL: the length says where it ends */
    rc = corio_http_reply(req, 200, "application/json", text, n + 1);
    free(text);
    return rc;
}

static int h_files(corio_http_req *req, void *arg)
{
    (void)arg;
    char body[300];
    const char *name = corio_http_req_param(req, "name");
    int len = snprintf(body, sizeof body, "this is %s\n", name ? name : "?");
    return corio_http_reply(req, 200, "text/plain", body,
                            (size_t)len < sizeof body ? (size_t)len
                                                      : sizeof body - 1);
}

static int serve_task(void *arg)
{
    struct fetch_demo *d = arg;
    corio_http_server_opts so = {.stop = &d->stop, .grace_ns = -1};
    return corio_http_serve(d->listener, d->router, &so);
}

static int compress_gzip(struct fetch_demo *d)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: a gzip wrapper rather than zlib's. */
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    z.next_in = (unsigned char *)gzip_text;
    z.avail_in = sizeof gzip_text - 1;
    z.next_out = d->gz;
    z.avail_out = sizeof d->gz;
    int zrc = deflate(&z, Z_FINISH);
    d->gz_len = sizeof d->gz - z.avail_out;
    deflateEnd(&z);
    return zrc == Z_STREAM_END ? 0 : -ENOBUFS;
}

/* A TCP port on 127.0.0.1 that refuses connections: bound, never listened
 * on. */
static int refusing_port(struct fetch_demo *d)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    d->refused_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->refused_fd < 0)
        return -errno;
    if (bind(d->refused_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(d->refused_fd, (struct sockaddr *)&a, &len) < 0)
        return -errno;
    d->refused_port = ntohs(a.sin_port);
    return 0;
}

int fetch_demo_start(struct fetch_demo **out)
{
    return fetch_demo_start_port(out, 0);
}

int fetch_demo_port(const struct fetch_demo *d)
{
    return d->port;
}

int fetch_demo_start_port(struct fetch_demo **out, int port)
{
    static const struct {
        const char *pattern;
        corio_http_handler_fn fn;
    } routes[] = {
        {"/fast/{n}", h_fast},
        {"/slow/{ms}", h_slow},
        {"/redirect/{n}", h_redirect},
        {"/bytes/{n}", h_bytes},
        {"/gzip", h_gzip},
        {"/fail/{code}", h_fail},
        {"/flaky/{id}", h_flaky},
        {"/hang", h_hang},
        {"/files/{name}", h_files},
    };
    struct fetch_demo *d = calloc(1, sizeof *d);
    corio_addr addr;
    int rc;

    *out = NULL;
    if (!d)
        return -ENOMEM;
    d->refused_fd = -1;
    if ((rc = corio_event_init(&d->stop)) < 0 || (rc = compress_gzip(d)) < 0 ||
        (rc = refusing_port(d)) < 0 ||
        (rc = corio_http_router_new(&d->router)) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if ((rc = corio_http_router_add(d->router, "GET", routes[i].pattern,
                                        routes[i].fn, d)) < 0)
            goto fail;
    if ((rc = corio_http_router_add(d->router, NULL, "/echo", h_echo, d)) < 0)
        goto fail;
    if ((rc = corio_tcp_listen(&d->listener, "127.0.0.1", port, NULL)) < 0 ||
        (rc = corio_listener_addr(d->listener, &addr)) < 0)
        goto fail;
    d->port = corio_addr_port(&addr);
    if ((rc = corio_task_spawn(&d->server, serve_task, d)) < 0)
        goto fail;
    *out = d;
    return 0;
fail:
    corio_listener_close(d->listener);
    corio_http_router_free(d->router);
    if (d->refused_fd >= 0)
        close(d->refused_fd);
    free(d);
    return rc;
}

void fetch_demo_stop(struct fetch_demo *d)
{
    if (!d)
        return;
    corio_event_set(&d->stop);
    /* Shielded so a Ctrl-C during the stop still reaps the server. */
    int shield;
    CORIO_WITH_SHIELD(shield)
    {
        CORIO_IGNORE(corio_task_join(d->server, NULL));
    }
    corio_listener_close(d->listener);
    corio_http_router_free(d->router);
    corio_event_destroy(&d->stop);
    close(d->refused_fd);
    free(d);
}

/* The mix, per hundred URLs: slot i % 100 picks the endpoint. */
enum demo_ep {
    EP_FAST,
    EP_SLOW,
    EP_REDIRECT,
    EP_BYTES,
    EP_GZIP,
    EP_404,
    EP_500,
    EP_503,
    EP_429,
    EP_FLAKY,
    EP_HANG,
    EP_REFUSED
};

static enum demo_ep endpoint(size_t i)
{
    static const struct {
        unsigned upto; /* slots below this */
        enum demo_ep ep;
    } mix[] = {
        {55, EP_FAST},  {70, EP_SLOW},  {78, EP_REDIRECT}, {82, EP_BYTES},
        {84, EP_GZIP},  {88, EP_404},   {91, EP_500},      {93, EP_503},
        {94, EP_429},   {96, EP_FLAKY}, {97, EP_HANG},     {98, EP_REFUSED},
        {100, EP_FAST},
    };
    unsigned slot = (unsigned)(i % 100);
    size_t k = 0;
    while (slot >= mix[k].upto)
        k++;
    return mix[k].ep;
}

/* /slow/{ms}: 10 to 199 ms, spread over the URLs. */
static long slow_ms(size_t i)
{
    return 10 + (long)((i * 37) % 190);
}

void fetch_demo_url(const struct fetch_demo *d, size_t i, char *buf, size_t cap)
{
    int p = d->port;
    switch (endpoint(i)) {
    case EP_FAST:
        snprintf(buf, cap, "http://127.0.0.1:%d/fast/%zu", p, i);
        break;
    case EP_SLOW:
        snprintf(buf, cap, "http://127.0.0.1:%d/slow/%ld", p, slow_ms(i));
        break;
    case EP_REDIRECT:
        snprintf(buf, cap, "http://127.0.0.1:%d/redirect/%zu", p, 1 + i % 4);
        break;
    case EP_BYTES:
        snprintf(buf, cap, "http://127.0.0.1:%d/bytes/%zu", p,
                 (i * 7919) % 65536);
        break;
    case EP_GZIP:
        snprintf(buf, cap, "http://127.0.0.1:%d/gzip", p);
        break;
    case EP_404:
        snprintf(buf, cap, "http://127.0.0.1:%d/fail/404", p);
        break;
    case EP_500:
        snprintf(buf, cap, "http://127.0.0.1:%d/fail/500", p);
        break;
    case EP_503:
        snprintf(buf, cap, "http://127.0.0.1:%d/fail/503", p);
        break;
    case EP_429:
        snprintf(buf, cap, "http://127.0.0.1:%d/fail/429", p);
        break;
    case EP_FLAKY:
        snprintf(buf, cap, "http://127.0.0.1:%d/flaky/%zu", p, i);
        break;
    case EP_HANG:
        snprintf(buf, cap, "http://127.0.0.1:%d/hang", p);
        break;
    case EP_REFUSED:
        snprintf(buf, cap, "http://127.0.0.1:%d/refused", d->refused_port);
        break;
    }
}

int fetch_demo_expected(size_t i, const struct fetch_result *r,
                        const struct fetch_opts *o)
{
    int all = o->retries + 1; /* attempts of a URL that always fails */
    int ok = r->err == 0 && r->status == 200;

    switch (endpoint(i)) {
    case EP_SLOW:
        /* A timeout shorter than the endpoint's delay ends it instead. */
        if (o->timeout_ns <= slow_ms(i) * CORIO_MS + CORIO_SECOND / 2 &&
            r->err == -ETIMEDOUT)
            return 1;
        return ok;
    case EP_FAST:
    case EP_REDIRECT:
    case EP_BYTES:
    case EP_GZIP:
        return ok;
    case EP_404:
        return r->err == 0 && r->status == 404 && r->attempts == 1;
    case EP_500:
        return r->err == 0 && r->status == 500 && r->attempts == 1;
    case EP_503:
        return r->err == 0 && r->status == 503 && r->attempts == all;
    case EP_429:
        return r->err == 0 && r->status == 429 && r->attempts == all;
    case EP_FLAKY:
        if (o->retries == 0)
            return r->err == 0 && r->status == 503;
        return ok && r->attempts == 2;
    case EP_HANG:
        return r->err == -ETIMEDOUT && r->attempts == all;
    case EP_REFUSED:
        return r->err == -ECONNREFUSED && r->attempts == all;
    }
    return 0;
}
