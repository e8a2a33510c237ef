/* test_http_server.c — the HTTP/1.1 server over loopback sockets, on the
 * virtual clock.
 *
 * Each test runs corio_http_serve in a task and talks to it with raw
 * client streams that write exact bytes, so status codes and framing are
 * checked as sent: routing (precedence, 404, 405 + Allow, HEAD),
 * keep-alive, pipelining, request bodies (length, chunked, in pieces,
 * 100-continue, max_body), every limit and timeout (400, 413, 414, 431,
 * 408 for a slowloris, the idle timeout), handler failures, streamed
 * replies, graceful shutdown, max_requests and detach.  The curl test runs
 * a real client against the server (real clock: curl is another
 * process). */
#include "os/sys.h"
#include "net_util.h"

#include <signal.h>
#include <strings.h>

/* ---- the server fixture ----------------------------------------------------
 */

typedef struct fx {
    corio_listener *l;
    int port;
    corio_event stop;
    corio_http_router *r;
    corio_http_server_opts o;
    corio_task *task;
    int rc;
    int64_t t0, ended_at;
} fx;

static int serve_task(void *arg)
{
    fx *f = arg;
    f->rc = corio_http_serve(f->l, f->r, &f->o);
    f->ended_at = corio_now() - f->t0;
    return 0;
}

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    signal(SIGPIPE, SIG_IGN);
    f->t0 = corio_now();
    CHECK_EQ(corio_tcp_listen(&f->l, "127.0.0.1", 0, NULL), 0);
    corio_addr a;
    CHECK_EQ(corio_listener_addr(f->l, &a), 0);
    f->port = corio_addr_port(&a);
    corio_event_init(&f->stop);
    f->o.stop = &f->stop;
    CHECK_EQ(corio_http_router_new(&f->r), 0);
}

static void fx_start(fx *f)
{
    CHECK_EQ(corio_task_spawn(&f->task, serve_task, f), 0);
}

static void fx_finish(fx *f)
{
    corio_event_set(&f->stop);
    CHECK_EQ(corio_task_join(f->task, NULL), 0);
    CHECK_EQ(f->rc, 0);
    corio_listener_close(f->l);
    corio_http_router_free(f->r);
}

static corio_stream *fx_connect(fx *f)
{
    corio_stream *s;
    CHECK_EQ(corio_tcp_connect(&s, "127.0.0.1", f->port), 0);
    return s;
}

static void send_str(corio_stream *s, const char *p)
{
    CHECK_EQ(corio_stream_write(s, p, strlen(p)), 0);
    CHECK_EQ(corio_stream_flush(s), 0);
}

/* ---- reading responses ------------------------------------------------------
 */

typedef struct resp {
    int status;
    char head[4096];
    char body[8192];
    size_t len;
} resp;

/* The value of field name in r->head (copied to a static buffer), or NULL. */
static const char *hdr(const resp *r, const char *name)
{
    static char v[512];
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2];
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *s = line + nl + 1;
            while (*s == ' ')
                s++;
            size_t n = (size_t)(strstr(s, "\r\n") - s);
            memcpy(v, s, n);
            v[n] = 0;
            return v;
        }
    }
    return NULL;
}

/* Read one response (no body for HEAD requests when head_req).  Returns 0,
 * or the error (0 bytes before the head: 1, the connection closed). */
static int read_resp_ex(corio_stream *s, resp *r, int head_req)
{
    memset(r, 0, sizeof *r);
    ssize_t n =
        corio_stream_read_until(s, "\r\n\r\n", 4, r->head, sizeof r->head - 1);
    if (n < 0) {
        const void *d;
        size_t len;
        if (n == CORIO_EOF && corio_stream_peek(s, &d, &len) == 0 && len == 0)
            return 1;
        return (int)n;
    }
    r->head[n] = 0;
    CHECK_EQ(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    if (head_req || r->status < 200 || r->status == 204 || r->status == 304)
        return 0;
    const char *cl = hdr(r, "Content-Length"),
               *te = hdr(r, "Transfer-Encoding");
    if (cl) {
        r->len = (size_t)atol(cl);
        CHECK(r->len < sizeof r->body);
        int rc = corio_stream_read_exactly(s, r->body, r->len);
        if (rc < 0)
            return rc;
    } else if (te) {
        CHECK(!strcmp(te, "chunked"));
        for (;;) {
            char line[64];
            ssize_t ln = corio_stream_read_line(s, line, sizeof line);
            if (ln <= 0)
                return ln < 0 ? (int)ln : CORIO_EOF;
            size_t size = strtoul(line, NULL, 16);
            if (!size)
                break;
            CHECK(r->len + size < sizeof r->body);
            int rc = corio_stream_read_exactly(s, r->body + r->len, size);
            if (rc < 0)
                return rc;
            r->len += size;
            CHECK_EQ(corio_stream_read_line(s, line, sizeof line),
                     2); /* CRLF */
        }
        char crlf[3];
        CHECK_EQ(corio_stream_read_line(s, crlf, sizeof crlf), 2);
    } else {
        for (;;) { /* until the close */
            ssize_t got = corio_stream_read(s, r->body + r->len,
                                            sizeof r->body - 1 - r->len);
            if (got <= 0)
                break;
            r->len += (size_t)got;
        }
    }
    r->body[r->len] = 0;
    return 0;
}

static int read_resp(corio_stream *s, resp *r)
{
    return read_resp_ex(s, r, 0);
}

/* The connection is closed by the server: nothing more arrives. */
static void check_closed(corio_stream *s)
{
    char c;
    CHECK_EQ(corio_stream_read(s, &c, 1), 0);
}

/* Send a request, read the response, check status and body. */
static void ask(corio_stream *s, const char *req, int status, const char *body)
{
    resp r;
    send_str(s, req);
    CHECK_EQ(read_resp(s, &r), 0);
    if (r.status != status || (body && strcmp(r.body, body)))
        fprintf(stderr, "asked %s got %d [%s]\n", req, r.status, r.body);
    CHECK_EQ(r.status, status);
    if (body)
        CHECK(!strcmp(r.body, body));
}

/* ---- handlers ---------------------------------------------------------------
 */

static int h_text(corio_http_req *req, void *arg)
{
    const char *t = arg;
    return corio_http_reply(req, 200, "text/plain", t, strlen(t));
}

/* "name=value" of the parameter named by arg. */
static int h_param(corio_http_req *req, void *arg)
{
    char buf[256];
    const char *v = corio_http_req_param(req, arg);
    int n =
        snprintf(buf, sizeof buf, "%s=%s", (const char *)arg, v ? v : "(null)");
    return corio_http_reply(req, 200, "text/plain", buf, (size_t)n);
}

static int h_query(corio_http_req *req, void *arg)
{
    (void)arg;
    char buf[256];
    const char *q = corio_http_req_query_get(req, "q");
    const char *x = corio_http_req_query_get(req, "x");
    int n = snprintf(buf, sizeof buf, "q=%s x=%s raw=%s path=%s", q ? q : "-",
                     x ? x : "-", corio_http_req_query(req),
                     corio_http_req_path(req));
    return corio_http_reply(req, 200, NULL, buf, (size_t)n);
}

static int h_header(corio_http_req *req, void *arg)
{
    const char *v = corio_http_req_header(req, arg);
    CHECK_EQ(corio_http_reply_header(req, "Content-Length", "1"), -EINVAL);
    CHECK_EQ(corio_http_reply_header(req, "X-Bad", "a\r\nb"), -EINVAL);
    int rc = corio_http_reply_header(req, "X-Reply",
                                     "yes"); /* -ENOMEM in the sweep */
    if (rc < 0)
        return rc;
    return corio_http_reply(req, 200, "text/plain", v ? v : "-",
                            v ? strlen(v) : 1);
}

typedef struct counts {
    int calls;
    int reads;
    int done, cancelled;
} counts;

/* Echo the body: "<length>:<body>". */
static int h_body(corio_http_req *req, void *arg)
{
    counts *c = arg;
    const void *body;
    size_t len;
    char buf[4200];
    if (c)
        c->calls++;
    int rc = corio_http_req_body(req, &body, &len);
    if (rc < 0)
        return rc;
    CHECK_EQ(((const char *)body)[len], 0);
    int n = snprintf(buf, sizeof buf, "%zu:%s", len, (const char *)body);
    return corio_http_reply(req, 200, "text/plain", buf, (size_t)n);
}

/* Read the body 3 bytes at a time; reply with "<reads>:<body>". */
static int h_pieces(corio_http_req *req, void *arg)
{
    counts *c = arg;
    char body[1024], out[1100];
    size_t len = 0;
    int reads = 0;
    for (;;) {
        ssize_t n = corio_http_req_read(req, body + len, 3);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        CHECK(n <= 3);
        len += (size_t)n;
        reads++;
    }
    CHECK_EQ(corio_http_req_read(req, body, 3), 0); /* stays at the end */
    c->reads = reads;
    int n = snprintf(out, sizeof out, "%d:%.*s", reads, (int)len, body);
    return corio_http_reply(req, 200, "text/plain", out, (size_t)n);
}

static int h_fail(corio_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    return -EIO;
}

static int h_silent(corio_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    return 0;
}

/* Sleep ?ms= milliseconds, then reply "slept". */
static int h_sleep(corio_http_req *req, void *arg)
{
    counts *c = arg;
    const char *ms = corio_http_req_query_get(req, "ms");
    int rc = corio_sleep(atol(ms ? ms : "0") * CORIO_MS);
    if (rc < 0) {
        c->cancelled++;
        return rc;
    }
    c->done++;
    return corio_http_reply(req, 200, "text/plain", "slept", 5);
}

static int h_chunked(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_http_reply_begin(req, 200, -1);
    CHECK_EQ(corio_http_reply_begin(req, 200, -1), -EALREADY);
    CHECK_EQ(corio_http_reply(req, 200, NULL, "x", 1), -EALREADY);
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = corio_http_reply_write(req, "part;", 5);
    if (rc == 0)
        rc = corio_http_reply_end(req);
    return rc;
}

static int h_sized(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_http_reply_begin(req, 201, 10);
    if (rc == 0)
        rc = corio_http_reply_write(req, "01234", 5);
    if (rc == 0)
        rc = corio_http_reply_write(req, "56789", 5);
    if (rc == 0)
        CHECK_EQ(corio_http_reply_write(req, "x", 1), -EINVAL); /* past 10 */
    if (rc == 0)
        rc = corio_http_reply_end(req);
    return rc;
}

/* Announces 10 bytes, sends 5. */
static int h_short(corio_http_req *req, void *arg)
{
    counts *c = arg;
    int rc = corio_http_reply_begin(req, 200, 10);
    if (rc == 0)
        rc = corio_http_reply_write(req, "01234", 5);
    if (rc == 0) {
        rc = corio_http_reply_end(req);
        CHECK_EQ(rc, -EINVAL);
        c->done++;
    }
    return rc;
}

/* Switch protocols: reply 101, take the stream, answer "ping" with
 * "pong", close it. */
static int h_upgrade(corio_http_req *req, void *arg)
{
    counts *c = arg;
    char buf[4];
    CHECK_EQ(corio_http_reply_header(req, "Upgrade", "pingpong"), 0);
    CHECK_EQ(corio_http_reply(req, 101, NULL, NULL, 0), 0);
    corio_stream *s = corio_http_req_detach(req);
    CHECK(s != NULL);
    CHECK(corio_http_req_detach(req) == NULL);
    CHECK_EQ(corio_stream_read_exactly(s, buf, 4), 0);
    CHECK(!memcmp(buf, "ping", 4));
    CHECK_EQ(corio_stream_write(s, "pong", 4), 0);
    CHECK_EQ(corio_stream_flush(s), 0);
    corio_stream_close(s);
    c->done++;
    return 0;
}

/* ---- routing
 * ------------------------------------------------------------------ */

static int routing_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    corio_http_router *r = f.r;
    CHECK_EQ(corio_http_router_add(r, "GET", "/users/{id}", h_param, "id"), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/users/*", h_param, "*"), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/users/me", h_text, "me"), 0);
    CHECK_EQ(corio_http_router_add(r, "POST", "/users/me", h_text, "post-me"),
             0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/a/{x}/c", h_param, "x"), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/a/b/{y}", h_param, "y"), 0);
    CHECK_EQ(corio_http_router_add(r, NULL, "/any", h_text, "any"), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/", h_text, "root"), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/q", h_query, NULL), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/h", h_header, "x-test"), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/first", h_text, "first"), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/{v}", h_text, "second"), 0);
    /* Bad patterns and duplicates. */
    CHECK_EQ(corio_http_router_add(r, "GET", "users", h_text, ""), -EINVAL);
    CHECK_EQ(corio_http_router_add(r, "GET", "/x/{}", h_text, ""), -EINVAL);
    CHECK_EQ(corio_http_router_add(r, "GET", "/x/{a", h_text, ""), -EINVAL);
    CHECK_EQ(corio_http_router_add(r, "GET", "/*/x", h_text, ""), -EINVAL);
    CHECK_EQ(corio_http_router_add(r, "GET", "/users/{other}", h_text, ""),
             -EEXIST);
    CHECK_EQ(corio_http_router_add(r, "GET", "/users/me", h_text, ""), -EEXIST);
    CHECK_EQ(corio_http_router_add(NULL, "GET", "/", h_text, ""), -EINVAL);
    fx_start(&f);

    corio_stream *s = fx_connect(&f);
    ask(s, "GET /users/me HTTP/1.1\r\nHost: t\r\n\r\n", 200, "me");
    ask(s, "GET /users/42 HTTP/1.1\r\nHost: t\r\n\r\n", 200, "id=42");
    ask(s, "GET /users/42/x/y HTTP/1.1\r\nHost: t\r\n\r\n", 200, "*=42/x/y");
    ask(s, "GET /users/ HTTP/1.1\r\nHost: t\r\n\r\n", 200, "*=");
    ask(s, "POST /users/me HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
        200, "post-me");
    ask(s, "GET /a/b/c HTTP/1.1\r\nHost: t\r\n\r\n", 200,
        "y=c"); /* b literal wins */
    ask(s, "GET /a/z/c HTTP/1.1\r\nHost: t\r\n\r\n", 200, "x=z");
    ask(s, "PATCH /any HTTP/1.1\r\nHost: t\r\n\r\n", 200, "any");
    ask(s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 200, "root");
    ask(s, "GET /first HTTP/1.1\r\nHost: t\r\n\r\n", 200, "first");
    ask(s, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n", 200, "second");
    ask(s, "GET /users/a%20b HTTP/1.1\r\nHost: t\r\n\r\n", 200, "id=a b");
    ask(s, "GET /users/a%2Fb HTTP/1.1\r\nHost: t\r\n\r\n", 200, "id=a/b");
    ask(s, "GET /users/%6De HTTP/1.1\r\nHost: t\r\n\r\n", 200, "me");
    ask(s, "GET /users/x/a%2Fb HTTP/1.1\r\nHost: t\r\n\r\n", 200, "*=x/a/b");
    ask(s, "GET /q?x=1&q=hello+w%21 HTTP/1.1\r\nHost: t\r\n\r\n", 200,
        "q=hello w! x=1 raw=x=1&q=hello+w%21 path=/q");
    ask(s, "GET http://t/q?q=abs HTTP/1.1\r\nHost: t\r\n\r\n", 200,
        "q=abs x=- raw=q=abs path=/q");
    ask(s, "GET /h HTTP/1.1\r\nHost: t\r\nX-Test:  v1 \r\nx-test: v2\r\n\r\n",
        200, "v1");
    ask(s, "GET /nope/deeper HTTP/1.1\r\nHost: t\r\n\r\n", 404,
        "404 Not Found\n");
    /* A head larger than the connection's arena block (overflow blocks),
     * then small ones again. */
    static char big[7000], val[6001];
    memset(val, 'v', 6000);
    snprintf(big, sizeof big,
             "GET /h HTTP/1.1\r\nHost: t\r\nX-Test: %s\r\n\r\n", val);
    ask(s, big, 200, val);
    ask(s, big, 200, val);
    ask(s, "GET /users/77 HTTP/1.1\r\nHost: t\r\n\r\n", 200, "id=77");

    resp rr;
    send_str(s, "DELETE /users/me HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(read_resp(s, &rr), 0);
    CHECK_EQ(rr.status, 405);
    CHECK(!strcmp(hdr(&rr, "Allow"), "GET, HEAD, POST"));

    /* HEAD: the GET route's head, no body; the next response follows. */
    send_str(s, "HEAD /users/me HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(read_resp_ex(s, &rr, 1), 0);
    CHECK_EQ(rr.status, 200);
    CHECK(!strcmp(hdr(&rr, "Content-Length"), "2"));
    CHECK(hdr(&rr, "Date") != NULL);
    ask(s, "GET /h HTTP/1.1\r\nHost: t\r\n\r\n", 200, "-");
    CHECK(!strcmp(hdr(&rr, "Content-Type"), "text/plain"));

    /* A bad escape, and HTTP/1.1 without Host: 400 and closed. */
    ask(s, "GET /users/%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400, NULL);
    check_closed(s);
    corio_stream_close(s);
    s = fx_connect(&f);
    ask(s, "GET / HTTP/1.1\r\n\r\n", 400, NULL);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, routing)
{
    CHECK_EQ(tst_run(routing_main, NULL), 0);
}

/* ---- keep-alive, pipelining
 * ---------------------------------------------------- */

static int keepalive_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/a", h_text, "A"), 0);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/b", h_text, "BB"), 0);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/c", h_text, "CCC"), 0);
    fx_start(&f);
    int fds = tst_count_fds();

    corio_stream *s = fx_connect(&f);
    for (int i = 0; i < 5; i++)
        ask(s, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n", 200, "A");
    /* HTTP/1.0 with keep-alive gets it said back. */
    resp r;
    send_str(s, "GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK(!strcmp(r.body, "BB"));
    CHECK(!strcasecmp(hdr(&r, "Connection"), "keep-alive"));
    /* Pipelined: three requests in one write, three answers in order. */
    send_str(s, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
                "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"
                "\r\nGET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    const char *want[] = {"A", "BB", "CCC"};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(read_resp(s, &r), 0);
        CHECK_EQ(r.status, 200);
        CHECK(!strcmp(r.body, want[i]));
        CHECK(hdr(&r, "Connection") == NULL);
    }
    /* Connection: close is answered in kind, then the server closes. */
    send_str(s, "GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK(!strcmp(r.body, "CCC"));
    CHECK(!strcmp(hdr(&r, "Connection"), "close"));
    check_closed(s);
    corio_stream_close(s);
    /* HTTP/1.0 without keep-alive: one response, then closed. */
    s = fx_connect(&f);
    send_str(s, "GET /a HTTP/1.0\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK(!strcmp(hdr(&r, "Connection"), "close"));
    check_closed(s);
    corio_stream_close(s);
    fx_finish(&f);
    CHECK(tst_count_fds() <= fds);
    return 0;
}

TEST(http_server, keepalive_pipelining)
{
    CHECK_EQ(tst_run(keepalive_main, NULL), 0);
}

/* ---- bodies
 * -------------------------------------------------------------------- */

static int bodies_main(void *arg)
{
    (void)arg;
    fx f;
    counts body = {0}, pieces = {0};
    fx_init(&f);
    f.o.max_body = 20;
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/body", h_body, &body), 0);
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/pieces", h_pieces, &pieces),
             0);
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/ignore", h_text, "ignored"),
             0);
    fx_start(&f);

    corio_stream *s = fx_connect(&f);
    ask(s, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        200, "5:hello");
    ask(s,
        "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n",
        200, "7:abcdefg");
    ask(s, "POST /body HTTP/1.1\r\nHost: t\r\n\r\n", 200, "0:");
    ask(s,
        "POST /pieces HTTP/1.1\r\nHost: t\r\nContent-Length: "
        "10\r\n\r\n0123456789",
        200, "4:0123456789");
    /* A body the handler does not read is skipped: the next request is
     * read from its first byte. */
    ask(s,
        "POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nskipme",
        200, "ignored");
    ask(s,
        "POST /ignore HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "2\r\nab\r\n0\r\n\r\n",
        200, "ignored");
    ask(s, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok", 200,
        "2:ok");

    /* 100-continue: sent once, on the first read, before the body comes. */
    resp r;
    send_str(s, "POST /pieces HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n"
                "Expect: 100-continue\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK_EQ(r.status, 100);
    send_str(s, "1234567");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(!strcmp(r.body, "3:1234567"));
    CHECK_EQ(pieces.reads, 3);
    /* A handler that does not read: no 100, and the connection closes. */
    send_str(s, "POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n"
                "Expect: 100-continue\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(!strcmp(hdr(&r, "Connection"), "close"));
    check_closed(s);
    corio_stream_close(s);

    /* max_body (20): Content-Length over it is refused before the handler
     * runs; a chunked body when it passes the limit. */
    int calls = body.calls;
    s = fx_connect(&f);
    send_str(s, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 21\r\n\r\n"
                "123456789012345678901");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK_EQ(r.status, 413);
    CHECK(!strcmp(hdr(&r, "Connection"), "close"));
    check_closed(s);
    corio_stream_close(s);
    CHECK_EQ(body.calls, calls);
    s = fx_connect(&f);
    ask(s,
        "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "a\r\n0123456789\r\na\r\n0123456789\r\n1\r\nX\r\n0\r\n\r\n",
        413, NULL);
    check_closed(s);
    corio_stream_close(s);
    CHECK_EQ(body.calls, calls + 1);
    /* Exactly max_body is fine. */
    s = fx_connect(&f);
    ask(s,
        "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
        200, "20:01234567890123456789");
    /* Bad chunking: 400. */
    ask(s,
        "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
        "chunked\r\n\r\nzz\r\n",
        400, NULL);
    check_closed(s);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, bodies)
{
    CHECK_EQ(tst_run(bodies_main, NULL), 0);
}

/* ---- limits and timeouts
 * ----------------------------------------------------- */

/* Send req on a new connection: expect status, then the close. */
static void refused(fx *f, const char *req, int status)
{
    resp r;
    corio_stream *s = fx_connect(f);
    send_str(s, req);
    CHECK_EQ(read_resp(s, &r), 0);
    if (r.status != status)
        fprintf(stderr, "sent %.60s got %d\n", req, r.status);
    CHECK_EQ(r.status, status);
    CHECK(!strcmp(hdr(&r, "Connection"), "close"));
    check_closed(s);
    corio_stream_close(s);
}

static int limits_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.limits.max_start_line = 100;
    f.o.limits.max_head = 1000;
    f.o.max_headers = 5;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/*", h_text, "ok"), 0);
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/*", h_body, NULL), 0);
    fx_start(&f);
    char big[2000];

    refused(&f,
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400);
    refused(&f,
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: "
            "3\r\nContent-Length: 4\r\n\r\nabcd",
            400);
    refused(&f, "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400);
    refused(&f, "GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400);
    snprintf(big, sizeof big, "GET /%0150d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
    refused(&f, big, 414);
    refused(&f,
            "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: "
            "1\r\n\r\n",
            431);
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: t\r\nX: %01200d\r\n\r\n",
             0);
    refused(&f, big, 431);
    /* At the limits: fine. */
    corio_stream *s = fx_connect(&f);
    ask(s, "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n",
        200, "ok");
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, limits)
{
    CHECK_EQ(tst_run(limits_main, NULL), 0);
}

typedef struct loris {
    fx *f;
    corio_stream *s;
    int sent;
    int done;
    int64_t answered_at;
    int status;
} loris;

/* Reads the answer while the writer trickles. */
static int loris_reader(void *arg)
{
    loris *l = arg;
    resp r;
    CHECK_EQ(read_resp(l->s, &r), 0);
    l->status = r.status;
    l->answered_at = corio_now() - l->f->t0;
    check_closed(l->s);
    l->done = 1;
    return 0;
}

static int slowloris_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.header_timeout_ns = 5 * CORIO_SECOND;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/", h_text, "ok"), 0);
    fx_start(&f);
    loris l = {.f = &f, .s = fx_connect(&f)};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, loris_reader, &l), 0);
    const char *req =
        "GET / HTTP/1.1\r\nHost: slow.example\r\nUser-Agent: drip\r\n\r\n";
    /* One byte a second, starting at 2 s (the idle wait before the first
     * byte is not the header timeout's). */
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    while (!l.done && req[l.sent]) {
        if (corio_stream_write(l.s, req + l.sent, 1) < 0 ||
            corio_stream_flush(l.s) < 0)
            break;
        l.sent++;
        CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    }
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(l.status, 408);
    /* First byte at 2 s, 408 at 7 s: five bytes got through. */
    CHECK_EQ(l.answered_at, 7 * CORIO_SECOND);
    CHECK_EQ(l.sent, 6);
    corio_stream_close(l.s);

    /* A connection that sends nothing is closed quietly after the header
     * timeout. */
    corio_stream *s = fx_connect(&f);
    int64_t t1 = corio_now();
    check_closed(s);
    CHECK_EQ(corio_now() - t1, 5 * CORIO_SECOND);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, slowloris_408)
{
    CHECK_EQ(tst_run(slowloris_main, NULL), 0);
}

/* Blank lines before a request line are skipped (RFC 9112 §2.2), up to
 * max_head bytes of them: a peer streaming them is refused with 400 at
 * once instead of being read until its header deadline. */
static int blank_flood_main(void *arg)
{
    (void)arg;
    static char blanks[5000 + 32];
    fx f;
    fx_init(&f);
    f.o.limits.max_head = 4096;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/", h_text, "ok"), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    for (int i = 0; i < 2000; i += 2)
        memcpy(blanks + i, "\r\n", 2);
    strcpy(blanks + 2000, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    ask(s, blanks, 200, "ok"); /* 2,000 bytes of them: within the limit */
    for (int i = 0; i < 5000; i += 2)
        memcpy(blanks + i, "\r\n", 2);
    blanks[5000] = 0;
    int64_t t1 = corio_now();
    ask(s, blanks, 400, NULL);
    CHECK_EQ(corio_now(), t1); /* no deadline waited for */
    check_closed(s);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, blank_line_flood_refused)
{
    CHECK_EQ(tst_run(blank_flood_main, NULL), 0);
}

/* A head arriving a byte at a time (a read each) is still answered: the
 * server parses when a blank line arrives, wherever CR and LF fall. */
static int trickle_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.limits.max_start_line = 64;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/x", h_text, "ok"), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    const char *reqs[] = {"GET /x HTTP/1.1\r\nHost: t\r\nA: b\r\n\r\n",
                          "GET /x HTTP/1.1\nHost: t\n\n"};
    for (int i = 0; i < 2; i++) {
        for (const char *p = reqs[i]; *p; p++) {
            CHECK_EQ(corio_stream_write(s, p, 1), 0);
            CHECK_EQ(corio_stream_flush(s), 0);
            CHECK_EQ(corio_sleep(CORIO_MS), 0);
        }
        resp r;
        CHECK_EQ(read_resp(s, &r), 0);
        CHECK_EQ(r.status, 200);
    }
    /* An endless request line is still refused, at most one doubling past
     * the limit (64): by the 128th byte. */
    loris l = {.f = &f, .s = s};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, loris_reader, &l), 0);
    int64_t t1 = corio_now() - f.t0;
    for (int i = 0; i < 1000 && !l.done; i++) {
        if (corio_stream_write(s, "a", 1) < 0 || corio_stream_flush(s) < 0)
            break;
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    }
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(l.status, 414);
    CHECK(l.answered_at - t1 <= 128 * CORIO_MS);
    CHECK(l.answered_at - t1 >= 64 * CORIO_MS);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, trickled_head)
{
    CHECK_EQ(tst_run(trickle_main, NULL), 0);
}

static int idle_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.idle_timeout_ns = 2 * CORIO_SECOND;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/", h_text, "ok"), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    ask(s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 200, "ok");
    CHECK_EQ(corio_sleep(1500 * CORIO_MS), 0); /* within: still open */
    ask(s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 200, "ok");
    int64_t t1 = corio_now();
    check_closed(s); /* no 408: just closed */
    CHECK_EQ(corio_now() - t1, 2 * CORIO_SECOND);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, idle_timeout)
{
    CHECK_EQ(tst_run(idle_main, NULL), 0);
}

/* A body that stops arriving: the read fails after body_timeout_ns and the
 * handler's failure is answered with 408. */
static int body_timeout_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.body_timeout_ns = 3 * CORIO_SECOND;
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/", h_body, NULL), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    int64_t t1 = corio_now();
    ask(s, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", 408,
        NULL);
    CHECK_EQ(corio_now() - t1, 3 * CORIO_SECOND);
    check_closed(s);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, body_timeout)
{
    CHECK_EQ(tst_run(body_timeout_main, NULL), 0);
}

/* A body trickled a byte every 2 s never trips the 3 s silence timer, but
 * falls below the minimum rate (issue 9): 408 once first read + 3 s +
 * bytes / rate has passed, not after the 100 s the trickle would take. */
typedef struct trickle {
    corio_stream *s;
    int n;
} trickle;

static int trickler(void *arg)
{
    trickle *t = arg;
    for (int i = 0; i < t->n; i++) {
        if (corio_stream_write(t->s, "x", 1) < 0 ||
            corio_stream_flush(t->s) < 0)
            break;
        if (corio_sleep(2 * CORIO_SECOND) < 0)
            break;
    }
    return 0;
}

static int slow_body_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.body_timeout_ns = 3 * CORIO_SECOND;
    f.o.body_min_rate = 1; /* a byte a second on average */
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/", h_body, NULL), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    send_str(s, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n");
    trickle tr = {s, 50};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, trickler, &tr), 0);
    int64_t t1 = corio_now();
    resp r;
    CHECK(read_resp(s, &r) >= 0);
    CHECK_EQ(r.status, 408);
    /* ~3 s + 1 s per byte against 2 s per byte: well before the end. */
    CHECK(corio_now() - t1 < 20 * CORIO_SECOND);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, slow_body_below_min_rate)
{
    CHECK_EQ(tst_run(slow_body_main, NULL), 0);
}

/* A client that never reads: the handler's writes time out after
 * send_timeout_ns (issue 9) and the connection is closed. */
static int send_rc = 1;

static int big_reply_rc(corio_http_req *req, void *arg)
{
    (void)arg;
    static char chunk[65536];
    memset(chunk, 'b', sizeof chunk);
    int rc = corio_http_reply_begin(req, 200, -1);
    for (int i = 0; rc == 0 && i < 1000; i++)
        rc = corio_http_reply_write(req, chunk, sizeof chunk);
    if (rc == 0)
        rc = corio_http_reply_end(req);
    send_rc = rc;
    return rc;
}

static int send_timeout_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.send_timeout_ns = 4 * CORIO_SECOND;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/big", big_reply_rc, NULL), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    send_str(s, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    int64_t t1 = corio_now();
    /* Read nothing; wait until the server gave up. */
    while (send_rc == 1)
        CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(send_rc, -ETIMEDOUT);
    /* A write that moved some bytes before it stalled counts as progress
     * (nginx's rule: the timeout runs between two writes), so the kernel's
     * buffers may take one timeout more to fill. */
    CHECK(corio_now() - t1 <= 3 * 4 * CORIO_SECOND);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, send_timeout_for_a_client_that_never_reads)
{
    CHECK_EQ(tst_run(send_timeout_main, NULL), 0);
}

/* ---- handlers failing, streamed replies ------------------------------------
 */

static int failures_main(void *arg)
{
    (void)arg;
    fx f;
    counts c = {0};
    fx_init(&f);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/fail", h_fail, NULL), 0);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/silent", h_silent, NULL), 0);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/chunked", h_chunked, NULL), 0);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/sized", h_sized, NULL), 0);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/short", h_short, &c), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    ask(s, "GET /fail HTTP/1.1\r\nHost: t\r\n\r\n", 500,
        "500 Internal Server Error\n");
    ask(s, "GET /silent HTTP/1.1\r\nHost: t\r\n\r\n", 500,
        NULL); /* still open */
    resp r;
    send_str(s, "GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK(!strcmp(hdr(&r, "Transfer-Encoding"), "chunked"));
    CHECK(hdr(&r, "Content-Length") == NULL);
    CHECK(!strcmp(r.body, "part;part;part;"));
    send_str(s, "GET /sized HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK_EQ(r.status, 201);
    CHECK(!strcmp(hdr(&r, "Content-Length"), "10"));
    CHECK(!strcmp(r.body, "0123456789"));
    /* HEAD of a chunked reply: the head only. */
    send_str(s, "HEAD /chunked HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(read_resp_ex(s, &r, 1), 0);
    CHECK_EQ(r.status, 200);
    /* HTTP/1.0 gets a streamed reply raw, ended by the close. */
    send_str(s, "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK(hdr(&r, "Transfer-Encoding") == NULL);
    CHECK(!strcmp(hdr(&r, "Connection"), "close"));
    CHECK(!strcmp(r.body, "part;part;part;"));
    corio_stream_close(s);
    /* Announced 10, sent 5: the connection is closed after the 5. */
    s = fx_connect(&f);
    send_str(s, "GET /short HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), CORIO_EOF);
    CHECK_EQ(c.done, 1);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, failures_and_streams)
{
    CHECK_EQ(tst_run(failures_main, NULL), 0);
}

/* corio_http_serve_conn on a memory pair, cancelled inside a handler: no
 * response, -ECANCELED, and the stream is still the caller's. */
typedef struct conn_run {
    corio_stream *s;
    corio_http_router *r;
    int rc;
    int close_after; /* close s when serving ends, as corio_serve does */
} conn_run;

static int conn_task(void *arg)
{
    conn_run *cr = arg;
    cr->rc = corio_http_serve_conn(cr->s, cr->r, NULL);
    if (cr->close_after) {
        corio_stream_close(cr->s);
        cr->s = NULL;
    }
    return 0;
}

static int cancelled_main(void *arg)
{
    (void)arg;
    counts c = {0};
    conn_run cr = {0};
    corio_stream *cl;
    CHECK_EQ(corio_http_router_new(&cr.r), 0);
    CHECK_EQ(corio_http_router_add(cr.r, "GET", "/sleep", h_sleep, &c), 0);
    CHECK_EQ(corio_stream_pair(&cl, &cr.s, 0), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, conn_task, &cr), 0);
    ask(cl, "GET /sleep?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n", 200, "slept");
    send_str(cl, "GET /sleep?ms=10000 HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(cr.rc, -ECANCELED);
    CHECK_EQ(c.cancelled, 1);
    CHECK_EQ(c.done, 1);
    corio_stream_close(cr.s);
    check_closed(cl); /* nothing was sent for the cancelled request */
    corio_stream_close(cl);
    CHECK_EQ(corio_http_serve_conn(NULL, cr.r, NULL), -EINVAL);
    corio_http_router_free(cr.r);
    return 0;
}

TEST(http_server, handler_cancelled)
{
    CHECK_EQ(tst_run(cancelled_main, NULL), 0);
}

/* ---- shutdown, max_requests, detach ---------------------------------------
 */

typedef struct sclient {
    fx *f;
    const char *req;
    resp r;
    int rc;
    int64_t at;
    int stay;          /* keep the connection open after the response */
    int64_t closed_at; /* then: when the server closed it */
} sclient;

static int sclient_task(void *arg)
{
    sclient *c = arg;
    corio_stream *s = fx_connect(c->f);
    send_str(s, c->req);
    c->rc = read_resp(s, &c->r);
    c->at = corio_now() - c->f->t0;
    if (c->stay) {
        check_closed(s);
        c->closed_at = corio_now() - c->f->t0;
    }
    corio_stream_close(s);
    return 0;
}

static int shutdown_main(void *arg)
{
    (void)arg;
    fx f;
    counts c = {0};
    fx_init(&f);
    f.o.grace_ns = 3 * CORIO_SECOND;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/sleep", h_sleep, &c), 0);
    fx_start(&f);
    sclient a = {.f = &f,
                 .req = "GET /sleep?ms=2000 HTTP/1.1\r\nHost: t\r\n\r\n"};
    sclient b = {.f = &f,
                 .req = "GET /sleep?ms=10000 HTTP/1.1\r\nHost: t\r\n\r\n"};
    sclient k = {.f = &f,
                 .req = "GET /sleep?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n",
                 .stay = 1};
    corio_task *ta, *tb, *tk;
    CHECK_EQ(corio_task_spawn(&ta, sclient_task, &a), 0);
    CHECK_EQ(corio_task_spawn(&tb, sclient_task, &b), 0);
    CHECK_EQ(corio_task_spawn(&tk, sclient_task, &k), 0);
    CHECK_EQ(corio_sleep(500 * CORIO_MS), 0);
    corio_event_set(&f.stop);
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    CHECK_EQ(corio_task_join(tb, NULL), 0);
    CHECK_EQ(corio_task_join(tk, NULL), 0);
    /* k's idle keep-alive connection was closed when shutdown began. */
    CHECK_EQ(k.rc, 0);
    CHECK(hdr(&k.r, "Connection") == NULL);
    CHECK_EQ(k.closed_at, 500 * CORIO_MS);
    CHECK_EQ(corio_task_join(f.task, NULL), 0);
    CHECK_EQ(f.rc, 0);
    /* a finished inside the grace period, told the connection closes. */
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(a.r.status, 200);
    CHECK(!strcmp(hdr(&a.r, "Connection"), "close"));
    CHECK_EQ(a.at, 2 * CORIO_SECOND);
    /* b was cancelled when it ended: closed without an answer. */
    CHECK_EQ(b.rc, 1);
    CHECK_EQ(b.at, 3500 * CORIO_MS);
    CHECK_EQ(f.ended_at, 3500 * CORIO_MS);
    CHECK_EQ(c.done, 2);
    CHECK_EQ(c.cancelled, 1);
    corio_listener_close(f.l);
    corio_http_router_free(f.r);
    return 0;
}

TEST(http_server, graceful_shutdown)
{
    CHECK_EQ(tst_run(shutdown_main, NULL), 0);
}

/* Cancelling the serving task is a shutdown too: idle connections close at
 * once, the request in flight finishes (told the connection closes). */
static int shutdown_cancel_main(void *arg)
{
    (void)arg;
    fx f;
    counts c = {0};
    fx_init(&f);
    f.o.stop = NULL;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/sleep", h_sleep, &c), 0);
    fx_start(&f);
    sclient a = {.f = &f,
                 .req = "GET /sleep?ms=1000 HTTP/1.1\r\nHost: t\r\n\r\n"};
    sclient k = {.f = &f,
                 .req = "GET /sleep?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n",
                 .stay = 1};
    corio_task *ta, *tk;
    CHECK_EQ(corio_task_spawn(&ta, sclient_task, &a), 0);
    CHECK_EQ(corio_task_spawn(&tk, sclient_task, &k), 0);
    CHECK_EQ(corio_sleep(500 * CORIO_MS), 0);
    corio_task_cancel(f.task);
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    CHECK_EQ(corio_task_join(tk, NULL), 0);
    CHECK_EQ(corio_task_join(f.task, NULL), 0);
    CHECK_EQ(f.rc, -ECANCELED);
    CHECK_EQ(k.closed_at, 500 * CORIO_MS);
    CHECK_EQ(a.r.status, 200);
    CHECK(!strcmp(hdr(&a.r, "Connection"), "close"));
    CHECK_EQ(a.at, 1000 * CORIO_MS);
    CHECK_EQ(f.ended_at, 1000 * CORIO_MS);
    corio_listener_close(f.l);
    corio_http_router_free(f.r);
    return 0;
}

TEST(http_server, shutdown_by_cancel)
{
    CHECK_EQ(tst_run(shutdown_cancel_main, NULL), 0);
}

static int max_requests_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.max_requests = 2;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/", h_text, "ok"), 0);
    fx_start(&f);
    corio_stream *s = fx_connect(&f);
    resp r;
    ask(s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 200, "ok");
    /* The second and a third pipelined behind it: the third is dropped. */
    send_str(
        s,
        "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(!strcmp(hdr(&r, "Connection"), "close"));
    check_closed(s);
    corio_stream_close(s);
    fx_finish(&f);
    return 0;
}

TEST(http_server, max_requests)
{
    CHECK_EQ(tst_run(max_requests_main, NULL), 0);
}

static int detach_main(void *arg)
{
    (void)arg;
    fx f;
    counts c = {0};
    fx_init(&f);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/up", h_upgrade, &c), 0);
    fx_start(&f);
    int fds = tst_count_fds();
    corio_stream *s = fx_connect(&f);
    resp r;
    /* "ping" arrives with the head: it must stay in the stream. */
    send_str(s, "GET /up HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\n"
                "Upgrade: pingpong\r\n\r\nping");
    CHECK_EQ(read_resp(s, &r), 0);
    CHECK_EQ(r.status, 101);
    CHECK(!strcmp(hdr(&r, "Upgrade"), "pingpong"));
    CHECK(!strcmp(hdr(&r, "Connection"), "upgrade"));
    char buf[4];
    CHECK_EQ(corio_stream_read_exactly(s, buf, 4), 0);
    CHECK(!memcmp(buf, "pong", 4));
    check_closed(s);
    corio_stream_close(s);
    CHECK_EQ(c.done, 1);
    fx_finish(&f);
    CHECK(tst_count_fds() <= fds);
    tst_leak_check();
    return 0;
}

TEST(http_server, detach)
{
    CHECK_EQ(tst_run(detach_main, NULL), 0);
}

/* ---- curl, a real client
 * ------------------------------------------------------ */

/* Run curl with args (after "curl -sS"), return its stdout (static). */
static const char *curl(const char *const *args)
{
    static char out[8192];
    const char *argv[32] = {"curl", "-sS", "--max-time", "20"};
    size_t n = 4;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    corio_process_opts po = {0};
    po.stdout_mode = CORIO_STDIO_PIPE;
    corio_process *p;
    CHECK_EQ(corio_process_spawn(&p, argv, &po), 0);
    corio_process_output res;
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &res), 0);
    CHECK_EQ(res.status, 0);
    CHECK(res.out_len < sizeof out);
    memcpy(out, res.out, res.out_len);
    out[res.out_len] = 0;
    corio_process_output_destroy(&res);
    corio_process_close(p);
    return out;
}

static int curl_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/hello", h_text, "hello\n"), 0);
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/users/{id}", h_param, "id"),
             0);
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/echo", h_body, NULL), 0);
    fx_start(&f);
    char u1[128], u2[128], u3[128];
    snprintf(u1, sizeof u1, "http://127.0.0.1:%d/hello", f.port);
    snprintf(u2, sizeof u2, "http://127.0.0.1:%d/users/7", f.port);
    snprintf(u3, sizeof u3, "http://127.0.0.1:%d/echo", f.port);

    CHECK(!strcmp(curl((const char *[]){u1, NULL}), "hello\n"));
    CHECK(!strcmp(curl((const char *[]){"-d", "some body", u3, NULL}),
                  "9:some body"));
    CHECK(!strcmp(curl((const char *[]){"-H", "Transfer-Encoding: chunked",
                                        "-d", "chunks", u3, NULL}),
                  "6:chunks"));
    /* Two URLs in one invocation: the second reuses the connection. */
    const char *out = curl(
        (const char *[]){"--http1.1", "-v", "--stderr", "-", u1, u2, NULL});
    CHECK(strstr(out, "hello\n") != NULL);
    CHECK(strstr(out, "id=7") != NULL);
    CHECK(strstr(out, "Re-using existing connection") != NULL ||
          strstr(out, "Reusing existing connection") != NULL);
    CHECK(!strcmp(curl((const char *[]){"-o", "/dev/null", "-w", "%{http_code}",
                                        u3, NULL}),
                  "405"));
    fx_finish(&f);
    return 0;
}

TEST(http_server, curl)
{
    corio_options o = {0}; /* real clock: curl runs in real time */
    CHECK_EQ(tst_run_ex(&o, curl_main, NULL), 0);
}

/* ---- HTTPS through corio_http_serve (issue 9) ------------------------------
 */

static char tls_dir[64];

static void tls_cert(void)
{
    snprintf(tls_dir, sizeof tls_dir, "/tmp/corio-https-XXXXXX");
    CHECK(mkdtemp(tls_dir) != NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out "
             "cert.pem -days 2 -subj /CN=localhost -addext "
             "subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null",
             tls_dir);
    CHECK_EQ(system(cmd), 0);
}

static void tls_cert_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tls_dir);
    CHECK_EQ(system(cmd), 0);
}

static corio_tls_ctx *https_ctx(void)
{
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/cert.pem", tls_dir);
    snprintf(key, sizeof key, "%s/key.pem", tls_dir);
    corio_tls_config c = {
        .cert_file = cert, .key_file = key, .alpn = "http/1.1"};
    corio_tls_ctx *ctx;
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_SERVER, &c), 0);
    return ctx;
}

static int https_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.tls = https_ctx();
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/hello", h_text, "hello\n"), 0);
    CHECK_EQ(corio_http_router_add(f.r, "POST", "/echo", h_body, NULL), 0);
    fx_start(&f);
    char u1[128], u2[128], ca[128];
    snprintf(u1, sizeof u1, "https://localhost:%d/hello", f.port);
    snprintf(u2, sizeof u2, "https://localhost:%d/echo", f.port);
    snprintf(ca, sizeof ca, "%s/cert.pem", tls_dir);
    CHECK(!strcmp(curl((const char *[]){"--cacert", ca, u1, NULL}), "hello\n"));
    CHECK(!strcmp(
        curl((const char *[]){"--cacert", ca, "-d", "over tls", u2, NULL}),
        "8:over tls"));
    /* Keep-alive over TLS, and ALPN settled on http/1.1. */
    const char *out = curl(
        (const char *[]){"--cacert", ca, "-v", "--stderr", "-", u1, u1, NULL});
    CHECK(strstr(out, "ALPN: server accepted http/1.1") != NULL ||
          strstr(out, "ALPN, server accepted to use http/1.1") != NULL);
    CHECK(strstr(out, "Re-using existing connection") != NULL ||
          strstr(out, "Reusing existing connection") != NULL);
    /* openssl s_client too. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "printf 'GET /hello HTTP/1.1\\r\\nHost: x\\r\\nConnection: "
             "close\\r\\n\\r\\n' | openssl s_client -quiet -connect "
             "127.0.0.1:%d -CAfile %s -verify_return_error 2>/dev/null",
             f.port, ca);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    corio_process_opts po = {.stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    CHECK_EQ(corio_process_spawn(&p, argv, &po), 0);
    corio_process_output res;
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &res), 0);
    CHECK(res.out && strstr(res.out, "HTTP/1.1 200") != NULL);
    CHECK(strstr(res.out, "hello") != NULL);
    corio_process_output_destroy(&res);
    corio_process_close(p);
    fx_finish(&f);
    corio_tls_ctx_free(f.o.tls);
    return 0;
}

TEST_T(http_server, https_with_curl_and_s_client, 60)
{
    tls_cert();
    corio_options o = {0}; /* real clock: curl runs in real time */
    CHECK_EQ(tst_run_ex(&o, https_main, NULL), 0);
    tls_cert_remove();
}

/* A connection that never completes its handshake is closed at the
 * handshake timeout; the server keeps serving meanwhile. */
static int stalled_handshake_main(void *arg)
{
    (void)arg;
    fx f;
    fx_init(&f);
    f.o.tls = https_ctx();
    f.o.handshake_timeout_ns = 2 * CORIO_SECOND;
    CHECK_EQ(corio_http_router_add(f.r, "GET", "/hello", h_text, "hello\n"), 0);
    fx_start(&f);
    corio_stream *s[20];
    for (int i = 0; i < 20; i++)
        s[i] = fx_connect(&f); /* and say nothing */
    int64_t t1 = corio_now();
    for (int i = 0; i < 20; i++) {
        check_closed(s[i]);
        corio_stream_close(s[i]);
    }
    CHECK_EQ(corio_now() - t1, 2 * CORIO_SECOND);
    fx_finish(&f);
    corio_tls_ctx_free(f.o.tls);
    return 0;
}

TEST(http_server, https_handshake_timeout)
{
    tls_cert();
    CHECK_EQ(tst_run(stalled_handshake_main, NULL), 0);
    tls_cert_remove();
}

/* ---- the in-process test session
 * --------------------------------------------- */

static int h_json(corio_http_req *req, void *arg)
{
    (void)arg;
    static const char j[] = "{\"key\": \"value\", \"n\": 3}";
    return corio_http_reply(req, 200, "application/json", j, sizeof j - 1);
}

/* Reply with the request's path, a parameter, a header and the body. */
static int h_mirror(corio_http_req *req, void *arg)
{
    (void)arg;
    const void *body;
    size_t len;
    char out[512];
    int rc = corio_http_req_body(req, &body, &len);
    if (rc < 0)
        return rc;
    const char *id = corio_http_req_param(req, "id"),
               *h = corio_http_req_header(req, "X-Who");
    int n = snprintf(out, sizeof out, "%s %s id=%s who=%s body=%.*s",
                     corio_http_req_method(req), corio_http_req_path(req),
                     id ? id : "-", h ? h : "-", (int)len, (const char *)body);
    return corio_http_reply(req, 200, "text/plain", out, (size_t)n);
}

static int session_main(void *arg)
{
    (void)arg;
    corio_http_router *r;
    counts c = {0};
    CHECK_EQ(corio_http_router_new(&r), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/data", h_json, NULL), 0);
    CHECK_EQ(corio_http_router_add(r, NULL, "/items/{id}", h_mirror, NULL), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/chunked", h_chunked, NULL), 0);
    CHECK_EQ(corio_http_router_add(r, "GET", "/sleep", h_sleep, &c), 0);
    corio_http_server_opts so = {.max_body = 8};
    corio_http_session *s;
    CHECK_EQ(corio_http_test_session_new(NULL, r, NULL, NULL), -EINVAL);
    CHECK_EQ(corio_http_test_session_new(&s, NULL, NULL, NULL), -EINVAL);
    CHECK(s == NULL);
    CHECK_EQ(corio_http_test_session_new(&s, r, &so, NULL), 0);

    corio_http_response *res;
    const char *text;
    /* Any host and port reach the router. */
    CHECK_EQ(corio_http_session_get(s, "http://api.example.com/data", &res), 0);
    CHECK_EQ(corio_http_response_status(res), 200);
    CHECK_EQ(corio_http_response_raise_for_status(res), 0);
    CHECK(!strcmp(corio_http_response_header(res, "Content-Type"),
                  "application/json"));
    CHECK_EQ(corio_http_response_text(res, &text), 0);
    CHECK(strstr(text, "\"key\"") != NULL);
    corio_http_response_free(res);

    const char *hdrs[] = {"X-Who", "tester", NULL};
    corio_http_request rq = {.method = "PUT",
                             .url = "https://other:8443/items/a%2Fb",
                             .headers = hdrs,
                             .body = "payload",
                             .body_len = 7};
    CHECK_EQ(corio_http_session_send(s, &rq, &res), 0);
    CHECK_EQ(corio_http_response_status(res), 200);
    CHECK_EQ(corio_http_response_text(res, &text), 0);
    /* %2F stays inside its segment for routing; the value is decoded. */
    CHECK(!strcmp(text, "PUT /items/a/b id=a/b who=tester body=payload"));
    corio_http_response_free(res);
    CHECK_EQ(corio_http_session_get(s, "http://x/items/42", &res), 0);
    CHECK_EQ(corio_http_response_text(res, &text), 0);
    CHECK(!strcmp(text, "GET /items/42 id=42 who=- body="));
    corio_http_response_free(res);

    /* Server options apply: max_body 8. */
    rq = (corio_http_request){.method = "POST",
                              .url = "http://x/items/1",
                              .body = "123456789",
                              .body_len = 9};
    CHECK_EQ(corio_http_session_send(s, &rq, &res), 0);
    CHECK_EQ(corio_http_response_status(res), 413);
    CHECK_EQ(corio_http_response_raise_for_status(res), CORIO_EHTTPSTATUS);
    CHECK_EQ(corio_http_response_raise_for_status(NULL), -EINVAL);
    corio_http_response_free(res);

    /* Chunked replies, 404, 405 through the real client. */
    CHECK_EQ(corio_http_session_get(s, "http://x/chunked", &res), 0);
    CHECK_EQ(corio_http_response_text(res, &text), 0);
    CHECK(!strcmp(text, "part;part;part;"));
    corio_http_response_free(res);
    CHECK_EQ(corio_http_session_get(s, "http://x/none", &res), 0);
    CHECK_EQ(corio_http_response_status(res), 404);
    corio_http_response_free(res);
    rq = (corio_http_request){.method = "DELETE", .url = "http://x/data"};
    CHECK_EQ(corio_http_session_send(s, &rq, &res), 0);
    CHECK_EQ(corio_http_response_status(res), 405);
    CHECK(!strcmp(corio_http_response_header(res, "Allow"), "GET, HEAD"));
    corio_http_response_free(res);

    /* Virtual time: a handler that sleeps 20 s costs nothing. */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_http_session_get(s, "http://x/sleep?ms=20000", &res), 0);
    CHECK_EQ(corio_http_response_status(res), 200);
    CHECK_EQ(corio_now() - t0, 20 * CORIO_SECOND);
    corio_http_response_free(res);
    CHECK_EQ(c.done, 1);

    /* Freeing the session ends its serving tasks (their clients close). */
    corio_http_session_free(s);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    corio_http_router_free(r);
    tst_leak_check();
    return 0;
}

TEST(http_server, test_session)
{
    CHECK_EQ(tst_run(session_main, NULL), 0);
}

/* ---- fault sweep ------------------------------------------------------------
 */

/* One exchange on a memory pair: send req, expect status and body.  A
 * failure is an error (the connection closes, or the server answers 500
 * for lack of memory), never a wrong answer (-EPROTO) nor a hang. */
static int sweep_ask(corio_stream *c, const char *req, int status,
                     const char *body)
{
    resp r;
    int rc = corio_stream_write(c, req, strlen(req));
    if (rc == 0)
        rc = corio_stream_flush(c);
    if (rc == 0)
        rc = read_resp(c, &r);
    if (rc == 1)
        return -ECONNRESET; /* closed before an answer */
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "%.20s: hung\n", req);
        return -EPROTO; /* the server hung */
    }
    if (rc < 0)
        return rc;
    if (r.status == 500 && status != 500)
        return -ENOMEM;
    if (r.status != status || (body && strcmp(r.body, body))) {
        fprintf(stderr, "%.20s: got %d [%s]\n", req, r.status, r.body);
        return -EPROTO;
    }
    return 0;
}

static int sweep_scenario(void *arg)
{
    (void)arg;
    conn_run cr = {.close_after = 1};
    corio_stream *cl = NULL;
    corio_task *t = NULL;
    int rc = corio_http_router_new(&cr.r);
    if (rc == 0)
        rc = corio_http_router_add(cr.r, "GET", "/users/{id}", h_param, "id");
    if (rc == 0)
        rc = corio_http_router_add(cr.r, "GET", "/q", h_query, NULL);
    if (rc == 0)
        rc = corio_http_router_add(cr.r, "POST", "/body", h_body, NULL);
    if (rc == 0)
        rc = corio_http_router_add(cr.r, "GET", "/h", h_header, "x-test");
    if (rc == 0)
        rc = corio_http_router_add(cr.r, "GET", "/chunked", h_chunked, NULL);
    if (rc == 0)
        rc = corio_stream_pair(&cl, &cr.s, 0);
    if (rc == 0)
        rc = corio_task_spawn(&t, conn_task, &cr);
    if (rc == 0)
        rc = corio_timeout_begin(60 * CORIO_SECOND);
    if (rc == 0) {
        rc = sweep_ask(cl, "GET /users/a%20b HTTP/1.1\r\nHost: t\r\n\r\n", 200,
                       "id=a b");
        if (rc == 0)
            rc = sweep_ask(cl, "GET /q?q=x%21&x=2 HTTP/1.1\r\nHost: t\r\n\r\n",
                           200, "q=x! x=2 raw=q=x%21&x=2 path=/q");
        if (rc == 0)
            rc = sweep_ask(cl,
                           "POST /body HTTP/1.1\r\nHost: "
                           "t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n0\r\n\r\n",
                           200, "3:abc");
        if (rc == 0)
            rc =
                sweep_ask(cl, "GET /h HTTP/1.1\r\nHost: t\r\nX-Test: v\r\n\r\n",
                          200, "v");
        if (rc == 0)
            rc = sweep_ask(cl, "GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n", 200,
                           "part;part;part;");
        if (rc == 0)
            rc = sweep_ask(cl, "DELETE /q HTTP/1.1\r\nHost: t\r\n\r\n", 405,
                           NULL);
        if (corio_timeout_end() == -ETIMEDOUT)
            rc = -EPROTO;
    }
    corio_stream_close(cl); /* end of stream: the server's loop ends */
    if (t) {
        CORIO_IGNORE(corio_task_join(t, NULL));
        if (cr.rc > 0)
            rc = -EPROTO;
    }
    corio_stream_close(cr.s);
    corio_http_router_free(cr.r);
    return rc;
}

/* Every allocation and system call of the scenario failed in turn. */
TEST_T(http_server, fault_sweep, 300)
{
    corio_options o = {.virtual_clock = 1};
    CHECK_EQ(tst_run_ex(&o, sweep_scenario, NULL), 0);
    int fds0 = tst_count_fds();
    long n;
    int failures = 0;
    for (n = 1;; n++) {
        corio__fault_arm(n, ENOMEM);
        int rc = tst_run_ex(&o, sweep_scenario, NULL);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        if (rc == -EPROTO)
            fprintf(stderr, "fault %ld: a wrong answer or a hang\n", n);
        CHECK(rc != -EPROTO);
        failures += rc < 0;
        CHECK_EQ(tst_count_fds(), fds0);
    }
    CHECK(n > 20);
    CHECK(failures > 0);
    tst_leak_check();
}

/* ---- mutated requests -------------------------------------------------------
 */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

#define rng() ((uint32_t)tst_rand(&rng_state))

typedef struct mut_case {
    corio_http_router *r;
    char in[2048];
    size_t len;
    char out[16384];
    size_t outlen;
} mut_case;

/* Serve m->in on a memory pair; collect everything the server sent. */
static int mut_run(void *arg)
{
    mut_case *m = arg;
    conn_run cr = {.r = m->r, .close_after = 1};
    corio_stream *cl;
    CHECK_EQ(corio_stream_pair(&cl, &cr.s, 1 << 20), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, conn_task, &cr), 0);
    CHECK_EQ(corio_stream_write(cl, m->in, m->len), 0);
    CHECK_EQ(corio_stream_shutdown(cl), 0); /* then end of stream */
    m->outlen = 0;
    for (;;) {
        char buf[4096];
        ssize_t n = corio_stream_read(cl, buf, sizeof buf);
        if (n <= 0)
            break;
        size_t take = (size_t)n < sizeof m->out - m->outlen
                          ? (size_t)n
                          : sizeof m->out - m->outlen;
        memcpy(m->out + m->outlen, buf, take);
        m->outlen += take;
    }
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK(cr.rc <= 0);
    corio_stream_close(cl);
    return 0;
}

/* Valid requests mutated at random (flipped, inserted, deleted bytes,
 * pipelined): the server never crashes or hangs, and whatever it sends is
 * a sequence of well-formed responses. */
TEST_T(http_server, mutated_requests, 120)
{
    static const char *const base[] = {
        "GET /users/42 HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /q?q=a%20b&x=1 HTTP/1.1\r\nHost: t\r\nConnection: "
        "keep-alive\r\n\r\n",
        "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
        "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "GET /chunked HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n",
        "GET /users/%7e HTTP/1.0\r\n\r\n",
        "GET http://h/users/x?y HTTP/1.1\r\nHost: h\r\n\r\n",
    };
    const size_t nbase = sizeof base / sizeof *base;
    mut_case *m = calloc(1, sizeof *m);
    CHECK(m != NULL);
    CHECK_EQ(corio_http_router_new(&m->r), 0);
    CHECK_EQ(corio_http_router_add(m->r, "GET", "/users/{id}", h_param, "id"),
             0);
    CHECK_EQ(corio_http_router_add(m->r, "GET", "/q", h_query, NULL), 0);
    CHECK_EQ(corio_http_router_add(m->r, "POST", "/body", h_body, NULL), 0);
    CHECK_EQ(corio_http_router_add(m->r, "GET", "/chunked", h_chunked, NULL),
             0);
    int cases = tst_slow_env() ? 300 : 2000;
    for (int i = 0; i < cases; i++) {
        m->len = 0;
        for (uint32_t k = 0, nreq = 1 + rng() % 3; k < nreq; k++) {
            const char *b = base[rng() % nbase];
            size_t bl = strlen(b);
            memcpy(m->in + m->len, b, bl);
            m->len += bl;
        }
        for (uint32_t k = 0, nmut = rng() % 5; k < nmut && m->len > 1; k++) {
            size_t at = rng() % m->len;
            switch (rng() % 3) {
            case 0:
                m->in[at] = (char)rng();
                break;
            case 1:
                if (m->len < sizeof m->in) {
                    memmove(m->in + at + 1, m->in + at, m->len - at);
                    m->in[at] = "\r\n :%0a\t"[rng() % 8];
                    m->len++;
                }
                break;
            default:
                memmove(m->in + at, m->in + at + 1, m->len - at - 1);
                m->len--;
            }
        }
        CHECK_EQ(tst_run(mut_run, m), 0);
        /* Each response: a status line, a head that parses, its body. */
        size_t off = 0;
        while (off < m->outlen) {
            corio_http_header hv[32];
            corio_http_head h = {.headers = hv, .max_headers = 32};
            ssize_t n = corio_http_parse_response(&h, m->out + off,
                                                  m->outlen - off, NULL);
            if (n <= 0)
                fprintf(stderr, "case %d: bad response at %zu: %.40s\n", i, off,
                        m->out + off);
            CHECK(n > 0);
            CHECK(h.status >= 100 && h.status <= 599);
            off += (size_t)n;
            if (h.status < 200)
                continue;
            if (h.content_length >= 0)
                off += (size_t)h.content_length;
            else if (h.flags & CORIO_HTTP_CHUNKED) {
                const char *end =
                    memmem(m->out + off, m->outlen - off, "\r\n0\r\n\r\n", 7);
                CHECK(end != NULL || !memcmp(m->out + off, "0\r\n\r\n", 5));
                off = end ? (size_t)(end - m->out) + 7 : off + 5;
            } else {
                break; /* ended by the close */
            }
        }
    }
    corio_http_router_free(m->r);
    free(m);
}
