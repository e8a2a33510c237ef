/* test_http_client.c — the HTTP client session (corio/http_client.h).
 *
 * Most tests run on the virtual clock against scripted servers written
 * here: a loopback listener whose connection tasks read each request head
 * with corio__http_read_head (and its body) and hand it to the test's
 * script, which writes the exact response bytes — keep-alive or not,
 * chunked, until-close, broken, stalled.  The server counts connections
 * (in all, and the most open at once) and records the last request.
 * Real peers on the real clock: openssl s_server (HTTPS with a test CA
 * made at run time) and python3 -m http.server. */
#include "os/sys.h"
#include "http/msg.h"
#include "net_util.h"
#include "tst.h"
#include "core/loop.h" /* CORIO__COOP_BUDGET */

#include <fcntl.h>
#include <corio/http_json.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <zlib.h>

/* ---- the scripted server ---------------------------------------------- */

typedef struct srv srv;

/* What a script does after answering. */
#define KEEP 0  /* read the next request */
#define CLOSE 1 /* close the connection */

/* Answer one request on s.  conn is the connection's number (from 1),
 * req the request's number on it (from 1). */
typedef int (*script_fn)(srv *v, corio_stream *s, const corio_http_head *h,
                         int conn, int req);

struct srv {
    corio_listener *l;
    int port;
    script_fn fn;
    int nconn;     /* connections accepted */
    int open, max; /* open now, most at once */
    int nreq;      /* requests read, all connections */
    int eofs;      /* connections the client closed */
    char method[16];
    char target[512];
    char head[4096]; /* the last request head, raw */
    char body[65536];
    size_t blen;
    int order[64]; /* the first path digit of each request, in order */
    int norder;
    void *arg;
};

typedef struct conn_arg {
    srv *v;
    corio_stream *s;
    int no;
} conn_arg;

static void copy_view(char *dst, size_t cap, corio_http_str v)
{
    size_t n = v.n < cap - 1 ? v.n : cap - 1;
    memcpy(dst, v.p, n);
    dst[n] = 0;
}

/* Connections open at once over every server of a test, and the most. */
static int all_open, all_max;

static int conn_task(void *arg)
{
    conn_arg *a = arg;
    srv *v = a->v;
    corio_stream *s = a->s;
    int no = a->no;
    free(a);
    v->open++;
    if (v->open > v->max)
        v->max = v->open;
    if (++all_open > all_max)
        all_max = all_open;
    for (int req = 1;; req++) {
        corio_http_header hv[64];
        corio_http_head h = {.headers = hv, .max_headers = 64};
        ssize_t n = corio__http_read_head(s, &h, true, NULL);
        if (n <= 0) {
            if (n == 0)
                v->eofs++;
            break;
        }
        v->nreq++;
        copy_view(v->method, sizeof v->method, h.method);
        copy_view(v->target, sizeof v->target, h.target);
        const void *p;
        size_t len;
        CHECK_EQ(corio_stream_peek(s, &p, &len), 0);
        size_t hl =
            (size_t)n < sizeof v->head - 1 ? (size_t)n : sizeof v->head - 1;
        memcpy(v->head, p, hl);
        v->head[hl] = 0;
        if (v->norder < 64 && h.target.n > 1)
            v->order[v->norder++] = h.target.p[1] - '0';
        /* The script reads h before the body moves the buffer. */
        corio_http_head hc = h;
        int kind = corio_http_body_kind(&h, 1, NULL);
        int64_t clen = h.content_length;
        CHECK_EQ(corio_stream_consume(s, (size_t)n), 0);
        corio__http_body b;
        corio__http_body_init(&b, s, kind, clen);
        v->blen = 0;
        for (;;) {
            ssize_t r = corio__http_body_read(&b, v->body + v->blen,
                                              sizeof v->body - v->blen);
            if (r <= 0)
                break;
            v->blen += (size_t)r;
        }
        /* hc's views may have moved with the body read; the script only
         * needs the target and method, copied above. */
        (void)hc;
        int what = v->fn(v, s, &h, no, req);
        if (corio_stream_flush(s) < 0 || what == CLOSE)
            break;
    }
    v->open--;
    all_open--;
    corio_stream_close(s);
    return 0;
}

static int accept_task(void *arg)
{
    srv *v = arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (;;) {
        corio_stream *s;
        int rc = corio_listener_accept(v->l, &s, NULL);
        if (rc < 0)
            break;
        conn_arg *a = malloc(sizeof *a);
        a->v = v;
        a->s = s;
        a->no = ++v->nconn;
        CHECK_EQ(corio_group_spawn(g, conn_task, a), 0);
    }
    corio_group_cancel(g);
    CORIO_IGNORE(corio_group_wait(g));
    return 0;
}

/* Start a server in group g (the test's). */
static void srv_start(srv *v, corio_group *g, script_fn fn)
{
    memset(v, 0, sizeof *v);
    v->fn = fn;
    CHECK_EQ(corio_tcp_listen(&v->l, "127.0.0.1", 0, NULL), 0);
    corio_addr a;
    CHECK_EQ(corio_listener_addr(v->l, &a), 0);
    v->port = corio_addr_port(&a);
    CHECK_EQ(corio_group_spawn(g, accept_task, v), 0);
}

static void srv_url(const srv *v, char *buf, size_t cap, const char *path)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", v->port, path);
}

/* Write a formatted string. */
static void out(corio_stream *s, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    CHECK(n >= 0 && (size_t)n < sizeof buf);
    CORIO_IGNORE(corio_stream_write(s, buf, (size_t)n));
}

/* A whole response with a Content-Length body. */
static void reply(corio_stream *s, int status, const char *extra,
                  const char *body)
{
    out(s, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s\r\n%s", status,
        corio_http_reason(status), strlen(body), extra ? extra : "", body);
}

/* Stop the servers: cancel the group and wait for it; close listeners. */
static void stop(corio_group *g, srv *a, srv *b)
{
    corio_group_cancel(g);
    CORIO_IGNORE(corio_group_wait(g));
    corio_listener_close(a->l);
    if (b)
        corio_listener_close(b->l);
}

static corio_http_session *session(const corio_http_session_opts *o)
{
    corio_http_session *s;
    CHECK_EQ(corio_http_session_new(&s, o), 0);
    return s;
}

static const char *get_text(corio_http_session *s, const char *url, char *buf,
                            size_t cap, int *status)
{
    corio_http_response *r;
    int rc = corio_http_session_get(s, url, &r);
    if (rc < 0)
        fprintf(stderr, "    get %s: %s\n", url, corio_strerror(rc));
    CHECK_EQ(rc, 0);
    const char *t;
    CHECK_EQ(corio_http_response_text(r, &t), 0);
    snprintf(buf, cap, "%s", t);
    if (status)
        *status = corio_http_response_status(r);
    corio_http_response_free(r);
    return buf;
}

/* ---- keep-alive, headers ---------------------------------------------- */

static int hello_script(srv *v, corio_stream *s, const corio_http_head *h,
                        int conn, int req)
{
    (void)v, (void)h;
    char body[64];
    snprintf(body, sizeof body, "hello %d/%d", conn, req);
    reply(s, 200,
          "X-Multi: one\r\nx-multi: two\r\nContent-Type: text/plain\r\n", body);
    return KEEP;
}

static int keepalive_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, hello_script);
    corio_http_session *s = session(NULL);
    char url[128], buf[128];
    srv_url(&v, url, sizeof url, "/x");
    for (int i = 1; i <= 5; i++) {
        char want[32];
        snprintf(want, sizeof want, "hello 1/%d", i);
        CHECK(strcmp(get_text(s, url, buf, sizeof buf, NULL), want) == 0);
    }
    CHECK_EQ(v.nconn, 1);
    CHECK_EQ(v.nreq, 5);
    CHECK(strstr(v.head, "GET /x HTTP/1.1\r\n") == v.head);
    CHECK(strstr(v.head, "\r\nHost: 127.0.0.1:") != NULL);
    CHECK(strstr(v.head, "\r\nUser-Agent: corio/") != NULL);
    CHECK(strstr(v.head, "\r\nAccept-Encoding: gzip, deflate\r\n") != NULL);

    /* Header lookup is case-insensitive and finds the first; iteration
     * keeps the order received. */
    corio_http_response *r;
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    CHECK_EQ(corio_http_response_status(r), 200);
    CHECK(strcmp(corio_http_response_header(r, "x-MULTI"), "one") == 0);
    CHECK(strcmp(corio_http_response_header(r, "content-type"), "text/plain") ==
          0);
    CHECK(corio_http_response_header(r, "missing") == NULL);
    CHECK_EQ(corio_http_response_nheaders(r), 4);
    const char *n, *val;
    CHECK_EQ(corio_http_response_header_at(r, 0, &n, &val), 0);
    CHECK(strcmp(n, "Content-Length") == 0);
    CHECK_EQ(corio_http_response_header_at(r, 2, &n, &val), 0);
    CHECK(strcmp(n, "x-multi") == 0 && strcmp(val, "two") == 0);
    CHECK_EQ(corio_http_response_header_at(r, 4, &n, &val), -ERANGE);
    CHECK(strcmp(corio_http_response_url(r), url) == 0);
    /* Body read twice gives the same bytes. */
    const void *b1, *b2;
    size_t l1, l2;
    CHECK_EQ(corio_http_response_body(r, &b1, &l1), 0);
    CHECK_EQ(corio_http_response_body(r, &b2, &l2), 0);
    CHECK(b1 == b2 && l1 == l2 && l1 == strlen("hello 1/6"));
    corio_http_response_free(r);
    CHECK_EQ(v.nconn, 1);

    corio_http_session_free(s);
    stop(g, &v, NULL);
    return 0;
}

TEST(http_client, keepalive_reuse_and_headers)
{
    int fds = tst_count_fds();
    CHECK_EQ(tst_run(keepalive_main, NULL), 0);
    CHECK_EQ(tst_count_fds(), fds);
}

/* ---- limits and FIFO waiters ------------------------------------------ */

static int slow_script(srv *v, corio_stream *s, const corio_http_head *h,
                       int conn, int req)
{
    (void)v, (void)h, (void)conn, (void)req;
    corio_sleep(10 * CORIO_MS);
    reply(s, 200, NULL, "ok");
    return KEEP;
}

typedef struct worker {
    corio_http_session *s;
    char url[128];
    int rc;
} worker;

static int worker_task(void *arg)
{
    worker *w = arg;
    char buf[16];
    int st;
    CHECK(strcmp(get_text(w->s, w->url, buf, sizeof buf, &st), "ok") == 0);
    w->rc = st;
    return 0;
}

static int rt_worker(void *arg)
{
    worker *w = arg;
    char buf[16];
    CHECK(strcmp(get_text(w->s, w->url, buf, sizeof buf, &w->rc), "hello ok") ==
          0);
    return 0;
}

static int limits_main(void *arg)
{
    (void)arg;
    corio_group *g, *wg;
    srv a, b;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&a, g, slow_script);
    srv_start(&b, g, slow_script);

    /* Per host: 2 connections for 8 requests, served in FIFO order. */
    corio_http_session_opts o = {.max_per_host = 2};
    corio_http_session *s = session(&o);
    worker w[16];
    CHECK_EQ(corio_group_new(&wg), 0);
    for (int i = 0; i < 8; i++) {
        w[i].s = s;
        snprintf(w[i].url, sizeof w[i].url, "http://127.0.0.1:%d/%d", a.port,
                 i);
        CHECK_EQ(corio_group_spawn(wg, worker_task, &w[i]), 0);
    }
    CHECK_EQ(corio_group_wait(wg), 0);
    CHECK_EQ(a.max, 2);
    CHECK_EQ(a.nconn, 2);
    CHECK_EQ(a.norder, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(a.order[i], i);
    corio_http_session_free(s);

    /* In all: 3 connections over two origins; an idle connection of one
     * origin is closed to serve a waiter of the other. */
    corio_http_session_opts o2 = {.max_connections = 3};
    s = session(&o2);
    a.max = b.max = all_max = 0;
    CHECK_EQ(corio_group_new(&wg), 0);
    for (int i = 0; i < 12; i++) {
        w[i].s = s;
        snprintf(w[i].url, sizeof w[i].url, "http://127.0.0.1:%d/%d",
                 i % 2 ? b.port : a.port, i % 10);
        CHECK_EQ(corio_group_spawn(wg, worker_task, &w[i]), 0);
    }
    CHECK_EQ(corio_group_wait(wg), 0);
    CHECK_EQ(all_max, 3);
    CHECK(a.max >= 1 && b.max >= 1);
    corio_http_session_free(s);
    stop(g, &a, &b);
    return 0;
}

TEST(http_client, per_host_and_total_limits_fifo)
{
    CHECK_EQ(tst_run(limits_main, NULL), 0);
}

/* ---- idle expiry, stale connections ----------------------------------- */

static int idle_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, hello_script);
    corio_http_session_opts o = {.idle_timeout_ns = CORIO_SECOND};
    corio_http_session *s = session(&o);
    char url[128], buf[64];
    srv_url(&v, url, sizeof url, "/");
    get_text(s, url, buf, sizeof buf, NULL);
    corio_sleep(500 * CORIO_MS);
    get_text(s, url, buf, sizeof buf, NULL);
    CHECK_EQ(v.nconn, 1); /* within the idle timeout: reused */
    CHECK_EQ(v.eofs, 0);
    corio_sleep(1100 * CORIO_MS);
    /* The idle timer closed it: the server saw the end. */
    CHECK_EQ(v.eofs, 1);
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, NULL), "hello 2/1") == 0);
    corio_http_session_free(s);
    corio_sleep(CORIO_MS);
    CHECK_EQ(v.eofs, 2); /* free closed the idle one */

    /* idle_timeout_ns < 0: no pooling, "Connection: close" sent. */
    corio_http_session_opts o2 = {.idle_timeout_ns = -1};
    s = session(&o2);
    get_text(s, url, buf, sizeof buf, NULL);
    get_text(s, url, buf, sizeof buf, NULL);
    CHECK_EQ(v.nconn, 4);
    CHECK(strstr(v.head, "\r\nConnection: close\r\n") != NULL);
    corio_http_session_free(s);
    stop(g, &v, NULL);
    return 0;
}

TEST(http_client, idle_expiry)
{
    CHECK_EQ(tst_run(idle_main, NULL), 0);
}

/* Answers, then closes without saying so: the next request on that
 * connection finds it closed. */
static int drop_script(srv *v, corio_stream *s, const corio_http_head *h,
                       int conn, int req)
{
    (void)h, (void)conn, (void)req;
    char body[64];
    snprintf(body, sizeof body, "%s %zu", v->method, v->blen);
    reply(s, 200, NULL, body);
    return CLOSE;
}

static int stale_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, drop_script);
    corio_http_session *s = session(NULL);
    char url[128], buf[64];
    srv_url(&v, url, sizeof url, "/");
    get_text(s, url, buf, sizeof buf, NULL);
    corio_sleep(CORIO_MS); /* the server's FIN arrives */
    /* GET on the dead connection: retried once on a new one. */
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, NULL), "GET 0") == 0);
    CHECK_EQ(v.nconn, 2);
    CHECK_EQ(v.nreq, 2);
    corio_sleep(CORIO_MS);
    /* POST is not idempotent: the error is returned. */
    corio_http_request q = {
        .method = "POST", .url = url, .body = "abc", .body_len = 3};
    corio_http_response *r;
    CHECK_EQ(corio_http_session_send(s, &q, &r), CORIO_EOF);
    CHECK(r == NULL);
    CHECK_EQ(v.nconn, 2);
    /* A POST on a fresh connection works, with its body. */
    CHECK_EQ(corio_http_session_send(s, &q, &r), 0);
    const char *t;
    CHECK_EQ(corio_http_response_text(r, &t), 0);
    CHECK(strcmp(t, "POST 3") == 0);
    CHECK(strstr(v.head, "\r\nContent-Length: 3\r\n") != NULL);
    corio_http_response_free(r);

    /* PUT is idempotent: retried. */
    corio_sleep(CORIO_MS);
    q.method = "PUT";
    CHECK_EQ(corio_http_session_send(s, &q, &r), 0);
    CHECK_EQ(corio_http_response_text(r, &t), 0);
    CHECK(strcmp(t, "PUT 3") == 0);
    corio_http_response_free(r);
    corio_http_session_free(s);
    stop(g, &v, NULL);
    return 0;
}

TEST(http_client, stale_idle_connection_retried_for_get_not_post)
{
    CHECK_EQ(tst_run(stale_main, NULL), 0);
}

/* ---- redirects -------------------------------------------------------- */

static srv *other; /* the cross-origin server of the redirect test */

static int redirect_script(srv *v, corio_stream *s, const corio_http_head *h,
                           int conn, int req)
{
    (void)h, (void)conn, (void)req;
    const char *t = v->target;
    char loc[256];
    if (strcmp(t, "/rel/a/b") == 0) {
        reply(s, 302, "Location: c?x=1\r\n", "");
    } else if (strcmp(t, "/rel/q") == 0) {
        reply(s, 302, "Location: ?y=2\r\n", "");
    } else if (strncmp(t, "/r", 2) == 0 && strlen(t) >= 5 && t[2] != 'e') {
        /* /rNNN/rest: redirect with status NNN to "rest" ('!' for '/'). */
        int st = atoi(t + 2);
        snprintf(loc, sizeof loc, "Location: %s\r\n", t + 6);
        for (char *p = loc; *p; p++)
            if (*p == '!')
                *p = '/';
        reply(s, st, loc, "moved");
    } else if (strcmp(t, "/loop") == 0) {
        reply(s, 302, "Location: /loop\r\n", "");
    } else if (strcmp(t, "/away") == 0) {
        snprintf(loc, sizeof loc, "Location: http://127.0.0.1:%d/there\r\n",
                 other->port);
        reply(s, 302, loc, "");
    } else {
        char body[600];
        bool auth = strstr(v->head, "\r\nAuthorization:") != NULL;
        bool cookie = strstr(v->head, "\r\nCookie:") != NULL;
        snprintf(body, sizeof body, "%s %s %zu%s%s", v->method, t, v->blen,
                 auth ? " auth" : "", cookie ? " cookie" : "");
        reply(s, 200, NULL, body);
    }
    return KEEP;
}

static void send_expect(corio_http_session *s, const corio_http_request *q,
                        const char *want, const char *want_url)
{
    corio_http_response *r;
    int rc = corio_http_session_send(s, q, &r);
    if (rc < 0)
        fprintf(stderr, "    %s: %s\n", q->url, corio_strerror(rc));
    CHECK_EQ(rc, 0);
    const char *t;
    CHECK_EQ(corio_http_response_text(r, &t), 0);
    if (strcmp(t, want) != 0)
        fprintf(stderr, "    got \"%s\", want \"%s\"\n", t, want);
    CHECK(strcmp(t, want) == 0);
    if (want_url && strcmp(corio_http_response_url(r), want_url) != 0) {
        fprintf(stderr, "    url %s, want %s\n", corio_http_response_url(r),
                want_url);
        CHECK(0);
    }
    corio_http_response_free(r);
}

static int redirect_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v, w;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, redirect_script);
    srv_start(&w, g, redirect_script);
    other = &w;
    corio_http_session *s = session(NULL);
    char url[256], want_url[256];
    corio_http_request q = {
        .url = url, .method = "POST", .body = "data", .body_len = 4};

    /* 301, 302, 303: GET without a body. */
    srv_url(&v, url, sizeof url, "/r301/!done");
    srv_url(&v, want_url, sizeof want_url, "/done");
    send_expect(s, &q, "GET /done 0", want_url);
    srv_url(&v, url, sizeof url, "/r302/!done");
    send_expect(s, &q, "GET /done 0", NULL);
    srv_url(&v, url, sizeof url, "/r303/!done");
    send_expect(s, &q, "GET /done 0", NULL);
    /* 307, 308: method and body kept. */
    srv_url(&v, url, sizeof url, "/r307/!done");
    send_expect(s, &q, "POST /done 4", NULL);
    srv_url(&v, url, sizeof url, "/r308/!done");
    send_expect(s, &q, "POST /done 4", NULL);
    /* Relative Location: against the current directory; query-only;
     * absolute URL. */
    q.method = NULL;
    q.body = NULL;
    q.body_len = 0;
    srv_url(&v, url, sizeof url, "/rel/a/b");
    send_expect(s, &q, "GET /rel/a/c?x=1 0", NULL);
    srv_url(&v, url, sizeof url, "/rel/q");
    send_expect(s, &q, "GET /rel/q?y=2 0", NULL);
    char abs[128];
    snprintf(abs, sizeof abs, "/r302/http:!!127.0.0.1:%d!abs", w.port);
    srv_url(&v, url, sizeof url, abs);
    send_expect(s, &q, "GET /abs 0", NULL);
    /* Credentials: kept on the same origin, dropped across origins. */
    const char *hdrs[] = {"Authorization", "Bearer x", "Cookie", "a=b", NULL};
    q.headers = hdrs;
    srv_url(&v, url, sizeof url, "/r302/!same");
    send_expect(s, &q, "GET /same 0 auth cookie", NULL);
    srv_url(&v, url, sizeof url, "/away");
    snprintf(want_url, sizeof want_url, "http://127.0.0.1:%d/there", w.port);
    send_expect(s, &q, "GET /there 0", want_url);
    q.headers = NULL;
    /* A loop: CORIO_EREDIRECTS after max_redirects. */
    corio_http_response *r;
    srv_url(&v, url, sizeof url, "/loop");
    int before = v.nreq;
    CHECK_EQ(corio_http_session_send(s, &q, &r), CORIO_EREDIRECTS);
    CHECK(r == NULL);
    CHECK_EQ(v.nreq - before, 11); /* the first + 10 redirects followed */
    /* CORIO_HTTP_NO_REDIRECT: the 3xx as it is. */
    q.flags = CORIO_HTTP_NO_REDIRECT;
    CHECK_EQ(corio_http_session_send(s, &q, &r), 0);
    CHECK_EQ(corio_http_response_status(r), 302);
    CHECK(strcmp(corio_http_response_header(r, "location"), "/loop") == 0);
    corio_http_response_free(r);
    corio_http_session_free(s);

    /* max_redirects = 2 */
    corio_http_session_opts o = {.max_redirects = 2};
    s = session(&o);
    q.flags = 0;
    before = v.nreq;
    int conns = v.nconn;
    CHECK_EQ(corio_http_session_send(s, &q, &r), CORIO_EREDIRECTS);
    CHECK_EQ(v.nreq - before, 3);
    CHECK_EQ(v.nconn, conns + 1); /* redirect bodies drained: one connection */
    corio_http_session_free(s);
    stop(g, &v, &w);
    return 0;
}

TEST(http_client, redirects)
{
    CHECK_EQ(tst_run(redirect_main, NULL), 0);
}

/* ---- bodies: gzip, deflate, chunked, until close, limits -------------- */

static const char *text_long(void)
{
    static char t[20000];
    if (!t[0])
        for (size_t i = 0; i < sizeof t - 1; i++)
            t[i] = (char)('a' + (i * 7 + i / 13) % 26);
    return t;
}

/* Compress text with windowBits (31 gzip, 15 zlib, -15 raw). */
static size_t zip(int bits, const char *in, unsigned char *outb, size_t cap)
{
    z_stream z = {0};
    CHECK_EQ(deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY),
             Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)strlen(in);
    z.next_out = outb;
    z.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static int body_script(srv *v, corio_stream *s, const corio_http_head *h,
                       int conn, int req)
{
    (void)h, (void)conn, (void)req;
    const char *t = v->target;
    unsigned char z[32768];
    if (strcmp(t, "/z/empty") == 0) {
        /* Some servers label an empty body with its coding. */
        out(s, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
               "Content-Length: 0\r\n\r\n");
        return KEEP;
    }
    if (strncmp(t, "/z/", 3) == 0) {
        /* /z/<enc>/<chunked?> */
        const char *enc = t + 3;
        int bits = strncmp(enc, "gzip", 4) == 0      ? 31
                   : strncmp(enc, "deflate", 7) == 0 ? 15
                                                     : -15;
        const char *name = bits == -15  ? "deflate"
                           : bits == 31 ? "gzip"
                                        : "deflate";
        size_t n = zip(bits, text_long(), z, sizeof z);
        if (strstr(t, "/chunked")) {
            out(s,
                "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                "Transfer-Encoding: chunked\r\n\r\n",
                name);
            for (size_t i = 0; i < n; i += 1000) {
                size_t k = n - i < 1000 ? n - i : 1000;
                corio__http_write_chunk(s, z + i, k);
            }
            corio__http_write_chunk(s, NULL, 0);
        } else {
            out(s,
                "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                "Content-Length: %zu\r\n\r\n",
                name, n);
            CORIO_IGNORE(corio_stream_write(s, z, n));
        }
        return KEEP;
    }
    if (strcmp(t, "/chunked") == 0) {
        out(s,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n");
        return KEEP;
    }
    if (strcmp(t, "/eof") == 0) {
        out(s, "HTTP/1.1 200 OK\r\n\r\nuntil the end");
        return CLOSE;
    }
    if (strcmp(t, "/big") == 0) {
        out(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        for (int i = 0; i < 10; i++)
            out(s, "%0100d", i);
        return KEEP;
    }
    if (strcmp(t, "/bigchunked") == 0) {
        out(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 10; i++)
            corio__http_write_chunk(s, text_long(), 100);
        corio__http_write_chunk(s, NULL, 0);
        return KEEP;
    }
    if (strcmp(t, "/json") == 0) {
        reply(s, 200, NULL, "{\"a\": [1, 9007199254740993], \"b\": \"x\"}");
        return KEEP;
    }
    if (strcmp(t, "/badjson") == 0) {
        reply(s, 200, NULL, "{\"a\": [1, 2}");
        return KEEP;
    }
    if (strcmp(t, "/broken") == 0) {
        out(s, "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n");
        return KEEP;
    }
    if (strcmp(t, "/head") == 0) {
        out(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n%s",
            strcmp(v->method, "HEAD") ? "12345" : "");
        return KEEP;
    }
    if (strcmp(t, "/interim") == 0) {
        out(s, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
        reply(s, 200, NULL, "final");
        return KEEP;
    }
    if (strcmp(t, "/fields") == 0) {
        reply(s, 200, "A: 1\r\nB: 2\r\nC: 3\r\n", "");
        return KEEP;
    }
    if (strcmp(t, "/extra") == 0) {
        out(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK");
        return KEEP;
    }
    if (strcmp(t, "/short") == 0) {
        out(s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        return CLOSE;
    }
    /* echo what was received */
    char body[600];
    snprintf(body, sizeof body, "%s %s %zu", v->method, t, v->blen);
    reply(s, 200, NULL, body);
    return KEEP;
}

static void expect_body(corio_http_session *s, const char *url, unsigned flags,
                        const char *want, size_t want_len)
{
    corio_http_request q = {.url = url, .flags = flags};
    corio_http_response *r;
    int rc = corio_http_session_send(s, &q, &r);
    if (rc < 0)
        fprintf(stderr, "    %s: %s\n", url, corio_strerror(rc));
    CHECK_EQ(rc, 0);
    const void *b;
    size_t n;
    rc = corio_http_response_body(r, &b, &n);
    if (rc < 0)
        fprintf(stderr, "    %s body: %s\n", url, corio_strerror(rc));
    CHECK_EQ(rc, 0);
    CHECK_EQ(n, want_len);
    CHECK(memcmp(b, want, n) == 0);
    corio_http_response_free(r);
}

static int bodies_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, body_script);
    corio_http_session_opts o = {.max_body = 500};
    corio_http_session *s = session(NULL);
    corio_http_session *small = session(&o);
    char url[256];
    const char *tl = text_long();
    static const char *const zs[] = {"/z/gzip",    "/z/gzip/chunked",
                                     "/z/deflate", "/z/deflate/chunked",
                                     "/z/raw",     "/z/raw/chunked"};
    for (size_t i = 0; i < 6; i++) {
        srv_url(&v, url, sizeof url, zs[i]);
        expect_body(s, url, 0, tl, strlen(tl));
    }
    /* An empty body with a coding is an empty body (it was CORIO_EHTTP,
     * "truncated", until fuzz/decode.c compared the decoder with zlib). */
    srv_url(&v, url, sizeof url, "/z/empty");
    expect_body(s, url, 0, "", 0);
    /* Read in small pieces through corio_http_response_read. */
    srv_url(&v, url, sizeof url, "/z/gzip/chunked");
    corio_http_response *r;
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    char piece[77];
    size_t got = 0;
    for (;;) {
        ssize_t n = corio_http_response_read(r, piece, sizeof piece);
        CHECK(n >= 0);
        if (n == 0)
            break;
        CHECK(memcmp(piece, tl + got, (size_t)n) == 0);
        got += (size_t)n;
    }
    CHECK_EQ(got, strlen(tl));
    corio_http_response_free(r);
    /* CORIO_HTTP_NO_DECOMPRESS: the bytes as sent. */
    unsigned char z[32768];
    size_t zn = zip(31, tl, z, sizeof z);
    srv_url(&v, url, sizeof url, "/z/gzip");
    expect_body(s, url, CORIO_HTTP_NO_DECOMPRESS, (const char *)z, zn);
    CHECK(strstr(v.head, "Accept-Encoding") == NULL);
    int conns = v.nconn;
    CHECK_EQ(conns, 1); /* every body above ended cleanly: one connection */

    srv_url(&v, url, sizeof url, "/chunked");
    expect_body(s, url, 0, "hello world", 11);
    srv_url(&v, url, sizeof url, "/interim");
    expect_body(s, url, 0, "final", 5);
    srv_url(&v, url, sizeof url, "/eof");
    expect_body(s, url, 0, "until the end", 13);
    srv_url(&v, url, sizeof url, "/eof");
    expect_body(s, url, 0, "until the end", 13);
    CHECK_EQ(v.nconn, conns + 1); /* until-close bodies are not reused */
    srv_url(&v, url, sizeof url, "/head");
    corio_http_request hq = {.method = "HEAD", .url = url};
    CHECK_EQ(corio_http_session_send(s, &hq, &r), 0);
    CHECK(strcmp(corio_http_response_header(r, "content-length"), "5") == 0);
    const void *b;
    size_t n;
    CHECK_EQ(corio_http_response_body(r, &b, &n), 0);
    CHECK_EQ(n, 0);
    corio_http_response_free(r);
    expect_body(s, url, 0, "12345", 5); /* same connection, still in step */

    /* Bytes after the body: that connection is not reused. */
    int before = v.nconn;
    srv_url(&v, url, sizeof url, "/extra");
    expect_body(s, url, 0, "ok", 2);
    srv_url(&v, url, sizeof url, "/head");
    expect_body(s, url, 0, "12345", 5);
    CHECK_EQ(v.nconn, before + 1);

    /* The connection closes mid-body: CORIO_EOF. */
    srv_url(&v, url, sizeof url, "/short");
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    CHECK_EQ(corio_http_response_body(r, &b, &n), CORIO_EOF);
    CHECK_EQ(corio_http_response_read(r, piece, 1), CORIO_EOF); /* sticky */
    corio_http_response_free(r);

    /* max_body, by length and chunked. */
    srv_url(&v, url, sizeof url, "/big");
    CHECK_EQ(corio_http_session_get(small, url, &r), 0);
    CHECK_EQ(corio_http_response_body(r, &b, &n), CORIO_EBODYTOOLARGE);
    corio_http_response_free(r);
    srv_url(&v, url, sizeof url, "/bigchunked");
    CHECK_EQ(corio_http_session_get(small, url, &r), 0);
    CHECK_EQ(corio_http_response_body(r, &b, &n), CORIO_EBODYTOOLARGE);
    corio_http_response_free(r);
    srv_url(&v, url, sizeof url, "/json");
    CHECK_EQ(corio_http_session_get(small, url, &r), 0); /* under the limit */
    CHECK_EQ(corio_http_response_body(r, &b, &n), 0);
    corio_http_response_free(r);

    /* JSON. */
    json_t *j;
    srv_url(&v, url, sizeof url, "/json");
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    CHECK_EQ(corio_http_response_json(r, &j), 0);
    CHECK(json_is_object(j));
    CHECK_EQ(json_integer_value(json_array_get(json_object_get(j, "a"), 1)),
             9007199254740993LL);
    CHECK(strcmp(json_string_value(json_object_get(j, "b")), "x") == 0);
    json_decref(j);
    corio_http_response_free(r);
    srv_url(&v, url, sizeof url, "/badjson");
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    CHECK_EQ(corio_http_response_json(r, &j), CORIO_EJSON);
    CHECK(j == NULL);
    corio_http_response_free(r);

    /* max_headers: 4 fields are too many for 3; 200 (a header table on
     * the heap) hold them. */
    corio_http_session_opts ho = {.max_headers = 3};
    corio_http_session *hs = session(&ho);
    srv_url(&v, url, sizeof url, "/fields");
    CHECK_EQ(corio_http_session_get(hs, url, &r), CORIO_EHEADERSTOOLARGE);
    corio_http_session_free(hs);
    ho.max_headers = 200;
    hs = session(&ho);
    CHECK_EQ(corio_http_session_get(hs, url, &r), 0);
    CHECK_EQ(corio_http_response_nheaders(r), 4);
    corio_http_response_free(r);
    corio_http_session_free(hs);
    ho.max_headers = 10001;
    CHECK_EQ(corio_http_session_new(&hs, &ho), -EINVAL);

    /* A malformed response head: CORIO_EHTTP. */
    srv_url(&v, url, sizeof url, "/broken");
    CHECK_EQ(corio_http_session_get(s, url, &r), CORIO_EHTTP);
    CHECK(r == NULL);

    corio_http_session_free(s);
    corio_http_session_free(small);
    stop(g, &v, NULL);
    return 0;
}

TEST(http_client, bodies_gzip_deflate_chunked_eof_limits_json)
{
    CHECK_EQ(tst_run(bodies_main, NULL), 0);
}

/* ---- request bodies, query, bad requests ------------------------------ */

static int feeder(void *arg)
{
    corio_stream *w = arg;
    for (int i = 0; i < 3; i++) {
        char piece[32];
        int n = snprintf(piece, sizeof piece, "piece %d;", i);
        CHECK_EQ(corio_stream_write(w, piece, (size_t)n), 0);
        CHECK_EQ(corio_stream_flush(w), 0);
        corio_sleep(CORIO_MS);
    }
    corio_stream_close(w);
    return 0;
}

static int request_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, body_script);
    corio_http_session *s = session(NULL);
    char url[256];

    /* A chunked body from a stream. */
    corio_stream *rd, *wr;
    CHECK_EQ(corio_stream_pair(&rd, &wr, 0), 0);
    CHECK_EQ(corio_group_spawn(g, feeder, wr), 0);
    srv_url(&v, url, sizeof url, "/upload");
    corio_http_request q = {.method = "PUT", .url = url, .body_stream = rd};
    send_expect(s, &q, "PUT /upload 24", NULL);
    CHECK(strstr(v.head, "\r\nTransfer-Encoding: chunked\r\n") != NULL);
    CHECK(memcmp(v.body, "piece 0;piece 1;piece 2;", 24) == 0);
    corio_stream_close(rd);

    /* The query: percent-encoded, appended with ? or &. */
    const char *qs[] = {"q", "a b&c=d", "x", "\xc3\xa9/~-._", NULL};
    corio_http_request qq = {.url = url, .query = qs};
    srv_url(&v, url, sizeof url, "/s#frag");
    send_expect(s, &qq, "GET /s?q=a%20b%26c%3Dd&x=%C3%A9%2F~-._ 0", NULL);
    srv_url(&v, url, sizeof url, "/s?z=1");
    send_expect(s, &qq, "GET /s?z=1&q=a%20b%26c%3Dd&x=%C3%A9%2F~-._ 0", NULL);

    /* A POST without a body says so. */
    corio_http_request e = {.method = "POST", .url = url};
    send_expect(s, &e, "POST /s?z=1 0", NULL);
    CHECK(strstr(v.head, "\r\nContent-Length: 0\r\n") != NULL);

    /* Extra headers are sent; the session's own are refused. */
    const char *hd[] = {"X-Token", "t1", "User-Agent", "mine", NULL};
    corio_http_request hq = {.url = url, .headers = hd};
    send_expect(s, &hq, "GET /s?z=1 0", NULL);
    CHECK(strstr(v.head, "\r\nX-Token: t1\r\n") != NULL);
    CHECK(strstr(v.head, "\r\nUser-Agent: mine\r\n") != NULL);
    CHECK(strstr(v.head, "corio/") == NULL);
    corio_http_response *r;
    const char *bad1[] = {"Host", "x", NULL};
    const char *bad2[] = {"X-A", "v\r\nInjected: 1", NULL};
    const char *bad3[] = {"Bad Name", "v", NULL};
    hq.headers = bad1;
    CHECK_EQ(corio_http_session_send(s, &hq, &r), -EINVAL);
    hq.headers = bad2;
    CHECK_EQ(corio_http_session_send(s, &hq, &r), -EINVAL);
    hq.headers = bad3;
    CHECK_EQ(corio_http_session_send(s, &hq, &r), -EINVAL);
    hq.headers = NULL;
    hq.body_len = 5; /* and no body */
    CHECK_EQ(corio_http_session_send(s, &hq, &r), -EINVAL);
    hq.body_len = 0;
    hq.method = "G ET";
    CHECK_EQ(corio_http_session_send(s, &hq, &r), -EINVAL);
    CHECK_EQ(corio_http_session_get(s, "ftp://127.0.0.1/", &r), CORIO_EURL);
    CHECK_EQ(corio_http_session_get(s, "ws://127.0.0.1/", &r), CORIO_EURL);
    CHECK_EQ(corio_http_session_get(s, "not a url", &r), CORIO_EURL);
    CHECK(r == NULL);
    corio_http_session_opts bo = {.user_agent = "a\r\nb"};
    corio_http_session *bs;
    CHECK_EQ(corio_http_session_new(&bs, &bo), -EINVAL);
    CHECK(bs == NULL);
    corio_http_session_free(NULL);
    corio_http_response_free(NULL);

    corio_http_session_free(s);
    stop(g, &v, NULL);
    return 0;
}

TEST(http_client, request_body_stream_query_headers)
{
    CHECK_EQ(tst_run(request_main, NULL), 0);
}

/* ---- errors: DNS, refused, timeouts, cancellation ----------------------- */

static int sleepy_dial(corio_stream **out, const corio_url *u, void *arg)
{
    (void)u, (void)arg;
    *out = NULL;
    int rc = corio_sleep(3600 * CORIO_SECOND);
    return rc < 0 ? rc : -EIO;
}

static int stall_script(srv *v, corio_stream *s, const corio_http_head *h,
                        int conn, int req)
{
    (void)h, (void)conn, (void)req;
    const char *t = v->target;
    if (strcmp(t, "/stall-head") == 0) {
        corio_sleep(3600 * CORIO_SECOND);
    } else if (strcmp(t, "/stall-body") == 0) {
        out(s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde");
        CORIO_IGNORE(corio_stream_flush(s));
        corio_sleep(3600 * CORIO_SECOND);
    } else if (strcmp(t, "/drip") == 0) {
        /* A byte a second, forever. */
        out(s, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        for (;;) {
            if (corio_stream_write(s, "x", 1) < 0 || corio_stream_flush(s) < 0)
                break;
            if (corio_sleep(CORIO_SECOND) < 0)
                break;
        }
        return CLOSE;
    } else {
        reply(s, 200, NULL, "fine");
    }
    return KEEP;
}

static int errors_main(void *arg)
{
    (void)arg;
    corio_http_session *s = session(NULL);
    corio_http_response *r = (void *)1;
    CHECK_EQ(corio_http_session_get(s, "http://no-such-host.invalid/", &r),
             CORIO_ENOHOST);
    CHECK(r == NULL);
    net_hold h = {0};
    corio_addr a;
    net_refuser(&h, "127.0.0.1", 0, &a);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", corio_addr_port(&a));
    CHECK_EQ(corio_http_session_get(s, url, &r), -ECONNREFUSED);
    net_hold_close(&h);
    corio_http_session_free(s);

    /* Connect timeout against a listener that never accepts (full
     * backlog): the SYN goes unanswered. */
    corio_http_session_opts bo = {.connect_timeout_ns = CORIO_SECOND};
    s = session(&bo);
    net_blackhole(&h, "127.0.0.1", 0, &a);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", corio_addr_port(&a));
    int64_t t1 = corio_now();
    CHECK_EQ(corio_http_session_get(s, url, &r), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t1, CORIO_SECOND);
    net_hold_close(&h);
    corio_http_session_free(s);

    /* Connect timeout: a dial that never finishes. */
    corio_http_session_opts o = {.dial = sleepy_dial,
                                 .connect_timeout_ns = 2 * CORIO_SECOND};
    s = session(&o);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_http_session_get(s, "http://example.test/", &r), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    corio_http_session_free(s);
    return 0;
}

TEST(http_client, dns_refused_connect_timeout)
{
    CHECK_EQ(tst_run(errors_main, NULL), 0);
}

static int timeouts_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, stall_script);
    corio_http_session_opts o = {.read_timeout_ns = 2 * CORIO_SECOND,
                                 .timeout_ns = 10 * CORIO_SECOND,
                                 .max_connections = 1};
    corio_http_session *s = session(&o);
    corio_http_response *r;
    char url[256];
    const void *b;
    size_t n;

    /* Read timeout on the head. */
    srv_url(&v, url, sizeof url, "/stall-head");
    int64_t t0 = corio_now();
    CHECK_EQ(corio_http_session_get(s, url, &r), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    /* Read timeout in the body; the slot comes back (max_connections 1). */
    srv_url(&v, url, sizeof url, "/stall-body");
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    t0 = corio_now();
    CHECK_EQ(corio_http_response_body(r, &b, &n), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    CHECK_EQ(corio_http_response_body(r, &b, &n), -ETIMEDOUT); /* sticky */
    corio_http_response_free(r);
    /* Total timeout: a byte a second never trips the read timeout, but
     * the request's 10 s do, counted from the send. */
    srv_url(&v, url, sizeof url, "/drip");
    t0 = corio_now();
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    CHECK_EQ(corio_http_response_body(r, &b, &n), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 10 * CORIO_SECOND);
    corio_http_response_free(r);
    /* A request's own timeout_ns. */
    corio_http_request q = {.url = url, .timeout_ns = 3 * CORIO_SECOND};
    t0 = corio_now();
    CHECK_EQ(corio_http_session_send(s, &q, &r), 0);
    CHECK_EQ(corio_http_response_body(r, &b, &n), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 3 * CORIO_SECOND);
    corio_http_response_free(r);
    /* The caller's own timeout scope bounds a request too. */
    srv_url(&v, url, sizeof url, "/stall-head");
    t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_http_session_get(s, url, &r), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    /* And after all that, the one slot still serves. */
    srv_url(&v, url, sizeof url, "/ok");
    char buf[16];
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, NULL), "fine") == 0);
    corio_http_session_free(s);
    stop(g, &v, NULL);
    return 0;
}

TEST(http_client, read_and_total_timeouts)
{
    CHECK_EQ(tst_run(timeouts_main, NULL), 0);
}

/* Peers that always have data ready (issue 9): the request's deadline
 * still holds, and endless interim responses are refused. */
static int ready_script(srv *v, corio_stream *s, const corio_http_head *h,
                        int conn, int req)
{
    (void)h, (void)conn, (void)req;
    if (strcmp(v->target, "/interim") == 0) {
        for (int i = 0; i < CORIO_HTTP_MAX_INTERIM + 8; i++)
            out(s, "HTTP/1.1 100 Continue\r\n\r\n");
        reply(s, 200, NULL, "late");
        return KEEP;
    }
    /* /endless: a body that never ends and never makes the client wait. */
    static char chunk[4096];
    memset(chunk, 'z', sizeof chunk);
    out(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n");
    while (corio_stream_write(s, chunk, sizeof chunk) == 0)
        ;
    return CLOSE;
}

static int ready_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    srv_start(&v, g, ready_script);
    corio_http_session *s = session(NULL);
    corio_http_response *r;
    char url[256];

    srv_url(&v, url, sizeof url, "/interim");
    CHECK_EQ(corio_http_session_get(s, url, &r), CORIO_EHTTP);

    /* The total deadline passes while the body's bytes are ready (the
     * client sleeps; the server fills the socket): reads that need no
     * wait succeed only until the cooperative budget is spent. */
    srv_url(&v, url, sizeof url, "/endless");
    corio_http_request q = {.url = url, .timeout_ns = CORIO_SECOND};
    CHECK_EQ(corio_http_session_send(s, &q, &r), 0);
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    char buf[1024];
    ssize_t n;
    long reads = 0;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0 &&
           reads < 100000)
        reads++;
    CHECK_EQ(n, -ETIMEDOUT);
    CHECK(reads < 2 * CORIO__COOP_BUDGET);
    corio_http_response_free(r);
    corio_http_session_free(s);
    stop(g, &v, NULL);
    return 0;
}

TEST(http_client, ready_peers_meet_deadlines_and_interim_limit)
{
    CHECK_EQ(tst_run(ready_main, NULL), 0);
}

typedef struct reader {
    corio_http_session *s;
    char url[256];
    size_t got;
    int rc;
} reader;

static int read_forever(void *arg)
{
    reader *rd = arg;
    corio_http_response *r;
    CHECK_EQ(corio_http_session_get(rd->s, rd->url, &r), 0);
    char buf[64];
    ssize_t n;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
        rd->got += (size_t)n;
    rd->rc = (int)n;
    CHECK_EQ(corio_http_response_read(r, buf, sizeof buf), -ECANCELED);
    corio_http_response_free(r);
    return 0;
}

static int wait_head(void *arg)
{
    reader *rd = arg;
    corio_http_response *r;
    rd->rc = corio_http_session_get(rd->s, rd->url, &r);
    return 0;
}

static int cancel_main(void *arg)
{
    (void)arg;
    corio_group *g;
    srv v;
    CHECK_EQ(corio_group_new(&g), 0);
    int fds = tst_count_fds();
    srv_start(&v, g, stall_script);
    corio_http_session_opts o = {.max_connections = 1};
    corio_http_session *s = session(&o);
    reader rd = {.s = s};
    srv_url(&v, rd.url, sizeof rd.url, "/drip");
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, read_forever, &rd), 0);
    corio_sleep(3500 * CORIO_MS);
    CHECK_EQ(rd.got, 4); /* bytes at 0, 1, 2, 3 s */
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rd.rc, -ECANCELED);
    /* Cancelled while waiting for the head. */
    reader rh = {.s = s};
    srv_url(&v, rh.url, sizeof rh.url, "/stall-head");
    CHECK_EQ(corio_task_spawn(&t, wait_head, &rh), 0);
    corio_sleep(CORIO_SECOND);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rh.rc, -ECANCELED);
    /* The one slot is free again. */
    char url[256], buf[16];
    srv_url(&v, url, sizeof url, "/ok");
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, NULL), "fine") == 0);
    corio_http_session_free(s);
    stop(g, &v, NULL);
    CHECK_EQ(tst_count_fds(), fds);
    return 0;
}

TEST(http_client, cancellation_returns_the_slot)
{
    CHECK_EQ(tst_run(cancel_main, NULL), 0);
    tst_leak_check();
}

/* ---- HTTPS against openssl s_server ----------------------------------- */

static char pki[64];

static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st != 0)
        fprintf(stderr, "    command failed (%d): %s\n", st, cmd);
    CHECK_EQ(st, 0);
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start a program in the PKI directory with output to log; it dies with
 * the test.  Returns its pid. */
static pid_t spawn(const char *log, const char *const *argv)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int o = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int i = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (o < 0 || i < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 ||
            dup2(o, 2) < 0 || chdir(pki) != 0)
            _exit(126);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* The port a child announced in its log after marker (it listens on
 * port 0, so no port is guessed); polls until it appears. */
static int log_port(const char *log, const char *marker)
{
    for (int i = 0; i < 1000; i++) {
        char buf[4096] = "";
        int fd = open(log, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            close(fd);
        }
        const char *p = strstr(buf, marker);
        if (p)
            return atoi(p + strlen(marker));
        msleep(10);
    }
    fprintf(stderr, "    no \"%s\" in %s\n", marker, log);
    CHECK(0);
    return -1;
}

typedef struct https_case {
    int port;
    char body[256];
} https_case;

static int https_main(void *arg)
{
    https_case *c = arg;
    char cafile[128], url[128];
    snprintf(cafile, sizeof cafile, "%s/ca.pem", pki);
    corio_tls_config tc = {.ca_file = cafile};
    corio_tls_ctx *ctx;
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &tc), 0);
    corio_http_session_opts o = {.tls = ctx};
    corio_http_session *s = session(&o);
    corio_http_response *r;
    /* The certificate names localhost and 127.0.0.1. */
    snprintf(url, sizeof url, "https://localhost:%d/hello.txt", c->port);
    corio_error_detail why;
    corio_http_request req = {.url = url, .detail = &why};
    int rc = corio_http_session_send(s, &req, &r);
    if (rc < 0)
        fprintf(stderr, "    %s: %s (%s)\n", url, corio_strerror(rc), why.text);
    CHECK_EQ(rc, 0);
    CHECK(why.text[0] == '\0');
    CHECK_EQ(corio_http_response_status(r), 200);
    const char *t;
    CHECK_EQ(corio_http_response_text(r, &t), 0);
    snprintf(c->body, sizeof c->body, "%s", t);
    corio_http_response_free(r);
    /* The default context does not trust the test CA. */
    corio_http_session *d = session(NULL);
    req.detail = &why;
    CHECK_EQ(corio_http_session_send(d, &req, &r), CORIO_ECERT);
    /* The reason is on the request the caller owns, not in thread state. */
    CHECK(strstr(why.text, "certificate verify failed") != NULL);
    corio_http_session_free(d);
    corio_http_session_free(s);
    corio_tls_ctx_free(ctx);
    return 0;
}

static int https_wrong_name(void *arg)
{
    https_case *c = arg;
    char cafile[128], url[128];
    snprintf(cafile, sizeof cafile, "%s/ca.pem", pki);
    corio_tls_config tc = {.ca_file = cafile};
    corio_tls_ctx *ctx;
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &tc), 0);
    corio_http_session_opts o = {.tls = ctx};
    corio_http_session *s = session(&o);
    corio_http_response *r;
    snprintf(url, sizeof url, "https://127.0.0.1:%d/hello.txt", c->port);
    corio_error_detail why;
    corio_http_request req = {.url = url, .detail = &why};
    CHECK_EQ(corio_http_session_send(s, &req, &r), CORIO_ECERT);
    CHECK(strstr(why.text, "mismatch") != NULL);
    corio_http_session_free(s);
    corio_tls_ctx_free(ctx);
    return 0;
}

static int real_clock(corio_fn fn, void *arg)
{
    corio_options o = {0};
    return tst_run_ex(&o, fn, arg);
}

static void leaf(const char *name, const char *san, int serial)
{
    sh("cd %s && openssl req -new -newkey ec -pkeyopt "
       "ec_paramgen_curve:prime256v1 -nodes -keyout %s.key -out %s.csr "
       "-subj /CN=%s 2>/dev/null && printf 'subjectAltName=%s\\n' > %s.ext "
       "&& openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
       "-set_serial %d -days 2 -extfile %s.ext -out %s.pem 2>/dev/null",
       pki, name, name, name, san, name, name, serial, name, name);
}

/* A test CA and two server certificates: good (localhost) and wrong
 * (wrong.example). */
static void pki_make(void)
{
    signal(SIGPIPE, SIG_IGN);
    strcpy(pki, "/tmp/corio-http-XXXXXX");
    CHECK(mkdtemp(pki) != NULL);
    sh("cd %s && openssl req -x509 -newkey ec -pkeyopt "
       "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
       "-subj '/CN=corio http test CA' -days 2 2>/dev/null",
       pki);
    leaf("good", "DNS:localhost", 2);
    leaf("wrong", "DNS:wrong.example", 3);
    sh("printf 'hello over https\\n' > %s/hello.txt", pki);
}

TEST_T(http_client, https_against_openssl_s_server, 60)
{
    pki_make();

    https_case c;
    char log[128];
    snprintf(log, sizeof log, "%s/s_server.log", pki);
    pid_t p =
        spawn(log, (const char *const[]){"openssl", "s_server", "-accept",
                                         "127.0.0.1:0", "-cert", "good.pem",
                                         "-key", "good.key", "-WWW", NULL});
    c.port = log_port(log, "ACCEPT 127.0.0.1:");
    CHECK_EQ(real_clock(https_main, &c), 0);
    CHECK(strcmp(c.body, "hello over https\n") == 0);
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);

    snprintf(log, sizeof log, "%s/s_server2.log", pki);
    p = spawn(log, (const char *const[]){"openssl", "s_server", "-accept",
                                         "127.0.0.1:0", "-cert", "wrong.pem",
                                         "-key", "wrong.key", "-WWW", NULL});
    c.port = log_port(log, "ACCEPT 127.0.0.1:");
    CHECK_EQ(real_clock(https_wrong_name, &c), 0);
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
    sh("rm -rf %s", pki);
}

/* ---- python3 -m http.server as a real peer ---------------------------- */

static int python_main(void *arg)
{
    int port = *(int *)arg;
    corio_http_session *s = session(NULL);
    char url[128], buf[256];
    int st;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/page.txt", port);
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, &st), "from python\n") == 0);
    CHECK_EQ(st, 200);
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, &st), "from python\n") == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/missing", port);
    get_text(s, url, buf, sizeof buf, &st);
    CHECK_EQ(st, 404);
    corio_http_session_free(s);
    return 0;
}

TEST_T(http_client, python_http_server_peer, 60)
{
    strcpy(pki, "/tmp/corio-http-XXXXXX");
    CHECK(mkdtemp(pki) != NULL);
    sh("printf 'from python\\n' > %s/page.txt", pki);
    char log[128];
    snprintf(log, sizeof log, "%s/py.log", pki);
    pid_t p =
        spawn(log, (const char *const[]){"python3", "-u", "-m", "http.server",
                                         "--bind", "127.0.0.1", "0", NULL});
    int port = log_port(log, " port ");
    CHECK_EQ(real_clock(python_main, &port), 0);
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
    sh("rm -rf %s", pki);
}

/* ---- round trip through corio's own server ---------------------------- */

static int rt_hello(corio_http_req *req, void *arg)
{
    (void)arg;
    char body[128];
    const char *q = corio_http_req_query_get(req, "name");
    snprintf(body, sizeof body, "hello %s", q ? q : "?");
    return corio_http_reply(req, 200, "text/plain", body, strlen(body));
}

static int rt_echo(corio_http_req *req, void *arg)
{
    (void)arg;
    const void *b;
    size_t n;
    int rc = corio_http_req_body(req, &b, &n);
    if (rc < 0)
        return rc;
    return corio_http_reply(req, 200, "application/octet-stream", b, n);
}

static int rt_json(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *j = "{\"ok\": true, \"n\": 42}";
    return corio_http_reply(req, 200, "application/json", j, strlen(j));
}

static int rt_moved(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_reply_header(req, "Location", "/hello?name=moved");
    return corio_http_reply(req, 302, "text/plain", "", 0);
}

typedef struct rt_server {
    corio_listener *l;
    corio_http_router *r;
} rt_server;

static int rt_serve(void *arg)
{
    rt_server *v = arg;
    int rc = corio_http_serve(v->l, v->r, NULL);
    return rc == -ECANCELED ? 0 : rc;
}

static int roundtrip_main(void *arg)
{
    (void)arg;
    rt_server v;
    CHECK_EQ(corio_http_router_new(&v.r), 0);
    CHECK_EQ(corio_http_router_add(v.r, "GET", "/hello", rt_hello, NULL), 0);
    CHECK_EQ(corio_http_router_add(v.r, "POST", "/echo", rt_echo, NULL), 0);
    CHECK_EQ(corio_http_router_add(v.r, "GET", "/json", rt_json, NULL), 0);
    CHECK_EQ(corio_http_router_add(v.r, "GET", "/moved", rt_moved, NULL), 0);
    CHECK_EQ(corio_tcp_listen(&v.l, "127.0.0.1", 0, NULL), 0);
    corio_addr a;
    CHECK_EQ(corio_listener_addr(v.l, &a), 0);
    int port = corio_addr_port(&a);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, rt_serve, &v), 0);

    corio_http_session *s = session(NULL);
    char url[128], buf[128];
    int st;
    const char *qs[] = {"name", "a b", NULL};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", port);
    corio_http_request q = {.url = url, .query = qs};
    send_expect(s, &q, "hello a b", NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/moved", port);
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, &st), "hello moved") == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nope", port);
    get_text(s, url, buf, sizeof buf, &st);
    CHECK_EQ(st, 404);
    /* A body from memory, then one streamed (chunked). */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/echo", port);
    corio_http_request p = {
        .method = "POST", .url = url, .body = "ping", .body_len = 4};
    send_expect(s, &p, "ping", NULL);
    corio_stream *rd, *wr;
    CHECK_EQ(corio_stream_pair(&rd, &wr, 0), 0);
    corio_task *f;
    CHECK_EQ(corio_task_spawn(&f, feeder, wr), 0);
    p.body = NULL;
    p.body_len = 0;
    p.body_stream = rd;
    send_expect(s, &p, "piece 0;piece 1;piece 2;", NULL);
    CHECK_EQ(corio_task_join(f, NULL), 0);
    corio_stream_close(rd);
    /* JSON. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/json", port);
    corio_http_response *r;
    json_t *j;
    CHECK_EQ(corio_http_session_get(s, url, &r), 0);
    CHECK(strcmp(corio_http_response_header(r, "content-type"),
                 "application/json") == 0);
    CHECK_EQ(corio_http_response_json(r, &j), 0);
    CHECK_EQ(json_integer_value(json_object_get(j, "n")), 42);
    json_decref(j);
    corio_http_response_free(r);
    /* Many requests, a few at a time, over a small pool. */
    corio_http_session_opts o = {.max_per_host = 3};
    corio_http_session *s2 = session(&o);
    worker w[20];
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 20; i++) {
        w[i].s = s2;
        snprintf(w[i].url, sizeof w[i].url, "http://127.0.0.1:%d/hello?name=ok",
                 port);
        CHECK_EQ(corio_group_spawn(g, rt_worker, &w[i]), 0);
    }
    CHECK_EQ(corio_group_wait(g), 0);
    for (int i = 0; i < 20; i++)
        CHECK_EQ(w[i].rc, 200);
    corio_http_session_free(s2);
    corio_http_session_free(s);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_listener_close(v.l);
    corio_http_router_free(v.r);
    return 0;
}

TEST(http_client, round_trip_through_corio_http_serve)
{
    int fds = tst_count_fds();
    CHECK_EQ(tst_run(roundtrip_main, NULL), 0);
    CHECK_EQ(tst_count_fds(), fds);
    tst_leak_check();
}

/* ---- fault sweep ------------------------------------------------------ */

static unsigned char sweep_gz[256];
static size_t sweep_gzn;

static int rt_gzip(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_http_reply_header(req, "Content-Encoding", "gzip");
    return rc < 0
               ? rc
               : corio_http_reply(req, 200, "text/plain", sweep_gz, sweep_gzn);
}

/* Requests through corio's server, every allocation and system call of
 * which can fail: returns 0 or the first error, and always cleans up. */
static int sweep_scenario(void *arg)
{
    (void)arg;
    rt_server v = {0};
    corio_task *t = NULL;
    corio_http_session *s = NULL;
    corio_http_response *r = NULL;
    corio_addr a;
    char url[128];
    const char *text;
    json_t *j = NULL;
    int rc = corio_http_router_new(&v.r);
    if (rc == 0)
        rc = corio_http_router_add(v.r, "GET", "/hello", rt_hello, NULL);
    if (rc == 0)
        rc = corio_http_router_add(v.r, "GET", "/moved", rt_moved, NULL);
    if (rc == 0)
        rc = corio_http_router_add(v.r, "GET", "/json", rt_json, NULL);
    if (rc == 0)
        rc = corio_http_router_add(v.r, "GET", "/gz", rt_gzip, NULL);
    if (rc == 0)
        rc = corio_tcp_listen(&v.l, "127.0.0.1", 0, NULL);
    if (rc == 0)
        rc = corio_listener_addr(v.l, &a);
    if (rc == 0)
        rc = corio_task_spawn(&t, rt_serve, &v);
    if (rc == 0)
        rc = corio_http_session_new(&s, NULL);
    static const char *const paths[] = {"/moved", "/hello?name=x", "/gz",
                                        "/json"};
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", corio_addr_port(&a),
                 paths[i]);
        rc = corio_http_session_get(s, url, &r);
        if (rc == 0 && i == 3)
            rc = corio_http_response_json(r, &j);
        else if (rc == 0)
            rc = corio_http_response_text(r, &text);
        if (rc == 0 && i == 2 && strcmp(text, "zipped") != 0)
            rc = -EPROTO;
        corio_http_response_free(r);
        r = NULL;
    }
    if (j) {
        if (json_integer_value(json_object_get(j, "n")) != 42)
            rc = -EPROTO;
        json_decref(j);
    }
    corio_http_session_free(s);
    if (t) {
        corio_task_cancel(t);
        CORIO_IGNORE(corio_task_join(t, NULL));
    }
    corio_listener_close(v.l);
    corio_http_router_free(v.r);
    return rc;
}

TEST_T(http_client, fault_sweep, 300)
{
    sweep_gzn = zip(31, "zipped", sweep_gz, sizeof sweep_gz);
    corio_options o = {.virtual_clock = 1};
    CHECK_EQ(tst_run_ex(&o, sweep_scenario, NULL), 0);
    int fds0 = tst_count_fds();
    long n;
    int failures = 0;
    for (n = 1;; n++) {
        corio__fault_arm(n, ENOMEM);
        int rc = tst_run_ex(&o, sweep_scenario, NULL);
        int fired = corio__fault_fired();
        long calls = corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK(rc != -EPROTO); /* a failure is an error, never a wrong answer */
        failures += rc < 0;
        CHECK_EQ(tst_count_fds(), fds0);
        CHECK(calls >= n);
    }
    CHECK(n > 50);
    CHECK(failures > 0);
    tst_leak_check();
}

/* ---- HTTPS keep-alive through corio's TLS server ----------------------- */

typedef struct tls_srv {
    corio_listener *l;
    corio_http_router *r;
    corio_tls_ctx *ctx;
    int accepted;
} tls_srv;

typedef struct tls_conn_arg {
    tls_srv *v;
    corio_stream *c;
} tls_conn_arg;

static int tls_conn(void *arg)
{
    tls_conn_arg *a = arg;
    tls_srv *v = a->v;
    corio_stream *c = a->c, *t;
    free(a);
    corio_tls_opts o = {.ctx = v->ctx};
    if (corio_tls_server(&t, c, &o) < 0)
        return 0; /* c was closed */
    /* Idle keep-alive connections close after 1 s, as servers do. */
    corio_http_server_opts so = {.idle_timeout_ns = CORIO_SECOND};
    corio_http_serve_conn(t, v->r, &so);
    corio_stream_close(t); /* and c under it */
    return 0;
}

/* Accept TCP connections; each is served over TLS by a task of the group
 * (corio_serve would close the TCP stream the TLS stream owns). */
static int tls_serve(void *arg)
{
    tls_srv *v = arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (;;) {
        tls_conn_arg *a = malloc(sizeof *a);
        a->v = v;
        if (corio_listener_accept(v->l, &a->c, NULL) < 0) {
            free(a);
            break;
        }
        v->accepted++;
        CHECK_EQ(corio_group_spawn(g, tls_conn, a), 0);
    }
    corio_group_cancel(g);
    CORIO_IGNORE(corio_group_wait(g));
    return 0;
}

static int tls_keepalive_main(void *arg)
{
    (void)arg;
    tls_srv v = {0};
    char cert[128], key[128], ca[128], url[128], buf[64];
    snprintf(cert, sizeof cert, "%s/good.pem", pki);
    snprintf(key, sizeof key, "%s/good.key", pki);
    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    corio_tls_config sc = {.cert_file = cert, .key_file = key};
    CHECK_EQ(corio_tls_ctx_new(&v.ctx, CORIO_TLS_SERVER, &sc), 0);
    CHECK_EQ(corio_http_router_new(&v.r), 0);
    CHECK_EQ(corio_http_router_add(v.r, "GET", "/hello", rt_hello, NULL), 0);
    CHECK_EQ(corio_tcp_listen(&v.l, "127.0.0.1", 0, NULL), 0);
    corio_addr a;
    CHECK_EQ(corio_listener_addr(v.l, &a), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, tls_serve, &v), 0);

    corio_tls_config cc = {.ca_file = ca};
    corio_tls_ctx *cctx;
    CHECK_EQ(corio_tls_ctx_new(&cctx, CORIO_TLS_CLIENT, &cc), 0);
    corio_http_session_opts o = {.tls = cctx};
    corio_http_session *s = session(&o);
    snprintf(url, sizeof url, "https://localhost:%d/hello?name=tls",
             corio_addr_port(&a));
    for (int i = 0; i < 5; i++)
        CHECK(strcmp(get_text(s, url, buf, sizeof buf, NULL), "hello tls") ==
              0);
    CHECK_EQ(v.accepted, 1); /* one TLS connection for five requests */
    /* The server closes the idle connection (without close_notify): a GET
     * finds it dead and is retried on a new one; a POST is not. */
    corio_sleep(2 * CORIO_SECOND);
    CHECK(strcmp(get_text(s, url, buf, sizeof buf, NULL), "hello tls") == 0);
    CHECK_EQ(v.accepted, 2);
    corio_sleep(2 * CORIO_SECOND);
    corio_http_request q = {.method = "POST", .url = url};
    corio_http_response *r;
    int rc = corio_http_session_send(s, &q, &r);
    CHECK(rc == CORIO_ETLS || rc == CORIO_EOF || rc == -ECONNRESET);
    CHECK_EQ(v.accepted, 2);
    corio_http_session_free(s);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_listener_close(v.l);
    corio_http_router_free(v.r);
    corio_tls_ctx_free(v.ctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST_T(http_client, https_keepalive_through_corio_tls_server, 60)
{
    pki_make();
    int fds = tst_count_fds();
    CHECK_EQ(tst_run(tls_keepalive_main, NULL), 0);
    CHECK_EQ(tst_count_fds(), fds);
    sh("rm -rf %s", pki);
    tst_leak_check();
}
