/* http/client.c — one request on one pooled connection:
 *   write    the request head composed in a 2 KiB stack buffer (the Host
 *            value is written by http/msg.c, shared with WebSocket), a body
 *            from memory appended to it when it fits (one flush), or a body
 *            from a stream sent chunked;
 *   head     read under the read timeout, 1xx interim responses skipped;
 *   response one allocation holding the response, its header table, the
 *            header strings and the URL;
 *   retry    a reused connection that fails before any byte of a response
 *            arrived was most likely closed by the server while idle: an
 *            idempotent request with a replayable body is sent once more
 *            on a new connection. */
#include "http/session.h"

#include "os/sys.h"

#include <stdlib.h>
#include <string.h>

/* Header fields parsed into a stack array up to this many; more (a larger
 * max_headers) take an allocation per request. */
#define STACK_HEADERS 128

/* Request bytes composed on the stack before they go to the stream. */
typedef struct wbuf {
    corio_stream *s;
    size_t n;
    int err;
    char b[2048];
} wbuf;

static void put(wbuf *w, const void *p, size_t n)
{
    if (w->err)
        return;
    if (w->n + n > sizeof w->b) {
        if (w->n)
            w->err = corio_stream_write(w->s, w->b, w->n);
        w->n = 0;
        if (n > sizeof w->b) {
            if (!w->err)
                w->err = corio_stream_write(w->s, p, n);
            return;
        }
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void puts_(wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_view(wbuf *w, corio_http_str v)
{
    put(w, v.p, v.n);
}

/* Append v in decimal (printf showed in profiles of the request path). */
static void put_num(wbuf *w, uint64_t v)
{
    char d[20];
    size_t i = sizeof d;
    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10));
    put(w, d + i, sizeof d - i);
}

/* The Host field's value: the request so far goes to the stream first. */
static void put_host(wbuf *w, const corio_url *u)
{
    if (w->err)
        return;
    if (w->n)
        w->err = corio_stream_write(w->s, w->b, w->n);
    w->n = 0;
    if (!w->err)
        w->err = corio__http_write_host(w->s, u);
}

static bool has_header(const char *const *h, const char *name)
{
    for (; h && h[0]; h += 2)
        if (strcasecmp(h[0], name) == 0)
            return true;
    return false;
}

/* Send a body read from in, one chunk per read, and the last chunk.  Not
 * inlined: its buffer would otherwise enlarge every request's stack frame
 * (and the stack probes the compiler emits for it). */
static __attribute__((noinline)) int send_stream(corio_stream *st,
                                                 corio_stream *in)
{
    char buf[8192];
    for (;;) {
        ssize_t n = corio_stream_read(in, buf, sizeof buf);
        if (n < 0)
            return (int)n;
        int rc = corio__http_write_chunk(st, buf, (size_t)n);
        if (rc < 0 || n == 0)
            return rc;
    }
}

static int write_request(corio_http_session *s, corio_stream *st,
                         const corio__http_call *c)
{
    wbuf w;
    w.s = st;
    w.n = 0;
    w.err = 0;
    const corio_url *u = &c->u;
    puts_(&w, c->method);
    put(&w, " ", 1);
    put_view(&w, u->target);
    puts_(&w, " HTTP/1.1\r\nHost: ");
    put_host(&w, u);
    put(&w, "\r\n", 2);
    if (s->user_agent && !has_header(c->headers, "user-agent")) {
        puts_(&w, "User-Agent: ");
        puts_(&w, s->user_agent);
        put(&w, "\r\n", 2);
    }
    if (!has_header(c->headers, "accept"))
        puts_(&w, "Accept: */*\r\n");
    if (!(c->flags & CORIO_HTTP_NO_DECOMPRESS) &&
        !has_header(c->headers, "accept-encoding"))
        puts_(&w, "Accept-Encoding: gzip, deflate\r\n");
    for (const char *const *h = c->headers; h && h[0]; h += 2) {
        if (c->strip_credentials && (strcasecmp(h[0], "authorization") == 0 ||
                                     strcasecmp(h[0], "cookie") == 0))
            continue;
        puts_(&w, h[0]);
        put(&w, ": ", 2);
        puts_(&w, h[1]);
        put(&w, "\r\n", 2);
    }
    if (s->o.idle_timeout_ns < 0)
        puts_(&w, "Connection: close\r\n");
    if (c->body_stream) {
        puts_(&w, "Transfer-Encoding: chunked\r\n\r\n");
    } else if (c->has_body) {
        puts_(&w, "Content-Length: ");
        put_num(&w, c->body_len);
        put(&w, "\r\n\r\n", 4);
        put(&w, c->body, c->body_len);
    } else if (strcmp(c->method, "POST") == 0 ||
               strcmp(c->method, "PUT") == 0 ||
               strcmp(c->method, "PATCH") == 0) {
        /* A method that defines a body gets an explicit empty one (RFC 9110
         * §8.6; nginx answers 411 without it). */
        puts_(&w, "Content-Length: 0\r\n\r\n");
    } else {
        put(&w, "\r\n", 2);
    }
    if (!w.err && w.n)
        w.err = corio_stream_write(st, w.b, w.n);
    if (w.err)
        return w.err;
    if (c->body_stream) {
        int rc = send_stream(st, c->body_stream);
        if (rc < 0)
            return rc;
    }
    return corio_stream_flush(st);
}

/* Read the final response head (1xx interim responses are skipped) under
 * the read timeout.  Returns the head's length, or an error of
 * corio__http_read_head (0: the connection closed before any byte). */
static ssize_t read_head(corio_http_session *s, corio_stream *st,
                         corio_http_head *h)
{
    ssize_t n;
    if (s->o.read_timeout_ns > 0) {
        n = corio_timeout_begin(s->o.read_timeout_ns);
        if (n < 0)
            return n;
    }
    for (int interim = 0;; interim++) {
        n = corio__http_read_head(st, h, false, &s->o.limits);
        if (n <= 0 || h->status >= 200 || h->status == 101)
            break;
        corio_stream_consume(st, (size_t)n);
        if (interim == CORIO_HTTP_MAX_INTERIM) {
            n = CORIO_EHTTP; /* an endless stream of 1xx responses */
            break;
        }
    }
    if (s->o.read_timeout_ns > 0)
        (void)corio_timeout_end();
    return n;
}

/* Copy the head into a new response.  Returns 0 or -ENOMEM. */
static int response_make(corio_http_session *s, const corio__http_call *c,
                         const corio_http_head *h, corio_http_response **out)
{
    size_t urllen = strlen(c->url);
    size_t sz = sizeof(corio_http_response) + 2 * h->nheaders * sizeof(char *) +
                urllen + 1;
    for (size_t i = 0; i < h->nheaders; i++)
        sz += h->headers[i].name.n + h->headers[i].value.n + 2;
    corio_http_response *r = corio__sys.malloc(sz);
    if (!r)
        return -ENOMEM;
    memset(r, 0, sizeof *r);
    r->hdrs = (const char **)(r + 1);
    char *p = (char *)(r->hdrs + 2 * h->nheaders);
    for (size_t i = 0; i < h->nheaders; i++) {
        const corio_http_str *v[2] = {&h->headers[i].name,
                                      &h->headers[i].value};
        for (int k = 0; k < 2; k++) {
            memcpy(p, v[k]->p, v[k]->n);
            p[v[k]->n] = 0;
            r->hdrs[2 * i + k] = p;
            p += v[k]->n + 1;
        }
    }
    memcpy(p, c->url, urllen + 1);
    r->url = p;
    r->nheaders = h->nheaders;
    r->status = h->status;
    r->s = s;
    r->deadline = c->deadline;
    *out = r;
    return 0;
}

static bool idempotent(const char *m)
{
    static const char *const ms[] = {"GET", "HEAD",   "OPTIONS",
                                     "PUT", "DELETE", "TRACE"};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        if (strcmp(m, ms[i]) == 0)
            return true;
    return false;
}

/* Did the connection fail as one the server closed while it was idle:
 * closed or reset before a single byte of a response arrived? */
static bool looks_stale(int rc, corio_stream *st)
{
    const void *p;
    size_t len = 0;
    if (rc != 0 && rc != -ECONNRESET && rc != -EPIPE && rc != -ECONNABORTED &&
        rc != CORIO_ETLS)
        return false;
    return corio_stream_peek(st, &p, &len) == 0 && len == 0;
}

int corio__http_exchange(corio_http_session *s, const corio__http_call *c,
                         corio_http_response **out)
{
    corio__http_conn *conn;
    corio_http_header stackh[STACK_HEADERS], *hv = stackh;
    corio_http_head h;
    ssize_t n;
    *out = NULL;
    if (s->o.max_headers > STACK_HEADERS) {
        hv = corio__sys.malloc(s->o.max_headers * sizeof *hv);
        if (!hv)
            return -ENOMEM;
    }
    int rc = corio__http_pool_acquire(s, &c->u, &conn, c->detail);
    if (rc < 0)
        goto out;
    bool retry = conn->used > 0 && !c->body_stream && idempotent(c->method);
    for (;;) {
        memset(&h, 0, sizeof h);
        h.headers = hv;
        h.max_headers = s->o.max_headers;
        rc = write_request(s, conn->s, c);
        n = rc < 0 ? rc : read_head(s, conn->s, &h);
        if (n > 0)
            break;
        rc = (int)n;
        if (retry && looks_stale(rc, conn->s)) {
            retry = false;
            rc = corio__http_pool_redial(s, conn, &c->u, c->detail);
            if (rc < 0)
                goto out; /* redial released conn */
            continue;
        }
        corio__http_pool_release(s, conn, false);
        if (rc == 0)
            rc = CORIO_EOF; /* closed before answering */
        goto out;
    }
    conn->used++;
    corio_http_response *r = NULL;
    rc = response_make(s, c, &h, &r);
    int kind = corio_http_body_kind(&h, 0, c->method);
    bool decode = kind != CORIO_HTTP_BODY_NONE &&
                  !(c->flags & CORIO_HTTP_NO_DECOMPRESS) &&
                  corio_http_head_get(&h, "content-encoding");
    bool keep = !(h.flags & (CORIO_HTTP_CLOSE | CORIO_HTTP_UPGRADE)) &&
                h.status != 101 && kind != CORIO_HTTP_BODY_EOF;
    int64_t clen = h.content_length;
    /* The views in h die here: everything kept was copied. */
    corio_stream_consume(conn->s, (size_t)n);
    if (rc == 0 && decode) {
        const char *v = corio_http_response_header(r, "content-encoding");
        corio_http_str cv = {v, strlen(v)};
        int d = corio__http_decoder_new(&r->dec, cv);
        if (d < 0) {
            free(r);
            rc = d;
        }
    }
    if (rc < 0) {
        corio__http_pool_release(s, conn, false);
        goto out;
    }
    corio__http_session_ref(s);
    r->c = conn;
    r->keepalive = keep;
    corio__http_body_init(&r->body, conn->s, kind, clen);
    if (kind == CORIO_HTTP_BODY_NONE) {
        r->done = true;
        r->c = NULL;
        corio__http_pool_release(s, conn, keep);
    }
    *out = r;
out:
    if (hv != stackh)
        free(hv);
    return rc;
}
