/* http/server.c — the connection loop: corio_http_serve_conn reads request
 * heads, enforces the limits and timeouts, routes, runs the handler and
 * makes sure every request gets exactly one response; corio_http_serve
 * runs it for each connection of corio_serve.
 *
 * Parts:
 *   next_head   waits for a request head, parsing in the stream's buffer:
 *               until the first byte the idle timeout applies (the header
 *               timeout for a connection's first request), from it the
 *               header timeout (408: a slowloris cannot hold a connection
 *               by trickling bytes).  Pending responses are flushed only
 *               here, right before the loop would wait for input: when
 *               pipelined requests are already buffered, their responses
 *               go out together.
 *   serve_one   one request: take the head, refuse what the limits forbid
 *               (400, 413), route (404, 405), run the handler, answer for
 *               it if it did not (500), then drop the unread body so the
 *               next request starts at its first byte.
 *   refuse      the answer to a head that could not be read (400, 408,
 *               414, 431), after which the connection closes.
 * Shutdown: once opts.stop is set no new request is started and responses
 * carry "Connection: close"; corio_serve cancels what is still running
 * when the grace period ends. */
#include "os/sys.h"
#include "core/loop.h"
#include "http/server.h"
#include "net/net.h"
#include "stream/transport.h"

#include <string.h>

#define HEADER_TIMEOUT (10 * CORIO_SECOND)
#define IDLE_TIMEOUT (60 * CORIO_SECOND)
#define BODY_TIMEOUT (30 * CORIO_SECOND)
#define MAX_BODY ((uint64_t)1 << 20)
#define MAX_HEADERS 100
#define BODY_MIN_RATE 500 /* bytes per second, as Apache's MinRate */
#define SEND_TIMEOUT (60 * CORIO_SECOND)
#define HANDSHAKE_TIMEOUT (10 * CORIO_SECOND)
#define REFUSE_TIMEOUT (1 * CORIO_SECOND) /* to hand a refusal over */
#define LINGER_TIMEOUT (1 * CORIO_SECOND)
#define LINGER_MAX ((uint64_t)1 << 20)

void corio__http_conf_init(corio__http_conf *c, const corio_http_server_opts *o)
{
    static const corio_http_server_opts none;
    if (!o)
        o = &none;
    c->stop = o->stop;
    c->shutdown = NULL;
    c->header_timeout_ns =
        o->header_timeout_ns > 0 ? o->header_timeout_ns : HEADER_TIMEOUT;
    c->idle_timeout_ns =
        o->idle_timeout_ns > 0 ? o->idle_timeout_ns : IDLE_TIMEOUT;
    c->body_timeout_ns =
        o->body_timeout_ns > 0 ? o->body_timeout_ns : BODY_TIMEOUT;
    c->body_min_rate = o->body_min_rate < 0   ? 0
                       : o->body_min_rate > 0 ? o->body_min_rate
                                              : BODY_MIN_RATE;
    c->send_timeout_ns =
        o->send_timeout_ns > 0 ? o->send_timeout_ns : SEND_TIMEOUT;
    c->max_body = o->max_body ? o->max_body : MAX_BODY;
    c->max_headers = o->max_headers ? o->max_headers : MAX_HEADERS;
    c->limits = o->limits;
    c->max_requests = o->max_requests;
}

/* Wait for the next request head; *buf is where it starts in the stream's
 * buffer.  Returns its length, 0 when the connection should end quietly
 * (the peer closed between requests, or the idle timeout passed), or an
 * error (parser errors, CORIO_EOF inside a head, -ETIMEDOUT for the header
 * timeout, stream errors). */
static ssize_t next_head(corio_http_req *req, bool first, const char **buf)
{
    const corio__http_conf *cf = req->conf;
    int64_t idle_end = 0, head_end = 0; /* set at the first wait of each kind */
    size_t seen = 0, parsed = 0;        /* head bytes looked at, parsed */
    size_t blank = 0;                   /* blank-line bytes skipped */
    size_t max_blank =
        cf->limits.max_head ? cf->limits.max_head : CORIO__HTTP_MAX_HEAD;
    for (;;) {
        const void *d;
        size_t len, skip = 0;
        int rc = corio_stream_peek(req->s, &d, &len);
        if (rc < 0)
            return rc;
        const char *p = d;
        while (skip < len && (p[skip] == '\r' || p[skip] == '\n'))
            skip++; /* blank lines before a request (RFC 9112 §2.2) */
        if (skip) {
            /* They count toward the head's limit: a peer streaming blank
             * lines is refused (400) instead of being read forever. */
            if ((blank += skip) > max_blank)
                return CORIO_EHTTP;
            corio_stream_consume(req->s, skip);
            p += skip;
            len -= skip;
        }
        /* The parser starts over at each call, so a head trickling in a
         * byte at a time would cost quadratic time if each arrival were
         * parsed: it is parsed when a blank line arrives, or when the buffer
         * has doubled since the last parse (so the limits still apply, at
         * most one doubling late). */
        if (len && (!parsed || len >= 2 * parsed ||
                    corio__http_head_may_end(p, seen, len))) {
            req->h.headers = req->hv;
            req->h.max_headers = cf->max_headers;
            ssize_t n = corio_http_parse_request(&req->h, p, len, &cf->limits);
            if (n != -EAGAIN) {
                *buf = p;
                return n;
            }
            parsed = len;
        }
        seen = len;
        bool idle = !len;
        if (idle && corio__http_stopping(cf))
            return 0;
        /* The clock is read only here: a head already buffered whole costs
         * no time lookup.  The header timeout counts from the first wait
         * that has a byte of the head, the idle one from the first wait. */
        int64_t now = corio_now();
        if (idle && !idle_end)
            idle_end =
                now + (first ? cf->header_timeout_ns : cf->idle_timeout_ns);
        if (!idle && !head_end)
            head_end = now + cf->header_timeout_ns;
        if ((rc = corio_timeout_begin_at(idle ? idle_end : head_end)) < 0)
            return rc;
        req->idle = idle;
        ssize_t got = corio__http_req_flush(req);
        if (got == 0)
            got = corio_stream_fill(req->s);
        req->idle = false;
        bool expired = corio_timeout_end() == -ETIMEDOUT;
        if (idle && corio__http_stopping(cf))
            return 0; /* woken (or cancelled by close_idle) at shutdown */
        if (got > 0)
            continue;
        if (got == 0)
            return len ? CORIO_EOF : 0;
        if (got == -ETIMEDOUT && expired)
            return len ? -ETIMEDOUT : 0;
        if (got == CORIO_ETOOLONG) /* the read buffer is below the head limit */
            return CORIO_EHEADERSTOOLARGE;
        return got;
    }
}

/* Answer a head that could not be read, if it has an answer.  Returns
 * whether it answered. */
static bool refuse(corio_http_req *req, ssize_t err)
{
    int status = err == CORIO_EHTTP              ? 400
                 : err == CORIO_EURITOOLONG      ? 414
                 : err == CORIO_EHEADERSTOOLARGE ? 431
                 : err == -ETIMEDOUT             ? 408
                                                 : 0;
    if (!status)
        return false;
    memset(&req->h, 0, sizeof req->h);
    req->h.minor_version = 1;
    req->is_head = false;
    req->keep = false;
    corio_http_str none = {"", 0};
    req->h.method = none;
    if (corio__http_reply_simple(req, status, NULL) == 0 &&
        corio_timeout_begin(REFUSE_TIMEOUT) == 0) {
        corio__http_req_flush(req);
        corio_timeout_end();
    }
    return true;
}

/* The status that answers for a handler that failed before replying: a
 * body it could not read says why, anything else is the server's fault. */
static int failure_status(const corio_http_req *req)
{
    switch (req->body_err) {
    case CORIO_EBODYTOOLARGE:
        return 413;
    case CORIO_EHTTP:
        return 400;
    case -ETIMEDOUT:
        return 408;
    default:
        return 500;
    }
}

/* Serve one request whose head (len bytes at buf) was just parsed.
 * Returns 0 (req->keep says whether to go on), 1 (detached), or an error
 * that ends the connection. */
static int serve_one(corio_http_req *req, corio_http_router *r, const char *buf,
                     size_t len, bool last)
{
    int rc = corio__http_req_take_head(req, buf, len);
    corio_stream_consume(req->s, len);
    const corio_http_head *h = &req->h;
    req->keep = !(h->flags & CORIO_HTTP_CLOSE) && !last;
    int kind = corio_http_body_kind(h, 1, NULL);
    corio__http_body_init(&req->body, req->s, kind, h->content_length);
    if (rc == 0 && h->minor_version >= 1 && !corio_http_head_get(h, "Host"))
        rc = CORIO_EHTTP; /* RFC 9112 §3.2 */
    if (rc < 0) {
        req->keep = false;
        return corio__http_reply_simple(req, rc == -ENOMEM ? 500 : 400, NULL);
    }
    if (kind == CORIO_HTTP_BODY_LENGTH &&
        (uint64_t)h->content_length > req->conf->max_body) {
        req->keep = false; /* the body is not read: the connection is done */
        return corio__http_reply_simple(req, 413, NULL);
    }
    req->expect_continue =
        (h->flags & CORIO_HTTP_CONTINUE) && kind != CORIO_HTTP_BODY_NONE;

    corio_http_handler_fn fn = NULL;
    void *arg = NULL;
    const char *allow = NULL;
    int st = corio__http_route(r, req, &fn, &arg, &allow);
    if (st != 0) {
        if (st < 0)
            req->keep = false;
        rc = corio__http_reply_simple(req, st < 0 ? 500 : st, allow);
    } else {
        int hrc = fn(req, arg);
        if (req->detached)
            return 1;
        if (req->state == CORIO__REPLY_NONE) {
            if (hrc == -ECANCELED) {
                req->keep = false; /* the server is going away */
                return hrc;
            }
            if (hrc >= 0)
                CORIO__MISUSE(corio__cur,
                              "http handler for %s %s returned without a reply",
                              req->method, req->path);
            rc = corio__http_reply_simple(req, failure_status(req), NULL);
        } else if (req->state != CORIO__REPLY_DONE) {
            req->keep = false; /* a streamed reply cut short */
        }
    }
    if (rc == 0 && req->keep && corio__http_req_drain(req) < 0)
        req->keep = false;
    return rc;
}

/* The server ends the connection while the client may still be sending
 * (a refused request, an unread body, pipelined requests past the last):
 * closing a socket with unread input makes the kernel send a reset, which
 * can destroy the response before the client reads it.  So shut down the
 * sending side and read what comes until the client closes, for a short
 * while (nginx's lingering close). */
static void linger(corio_http_req *req)
{
    char buf[4096];
    uint64_t total = 0;
    if (corio_stream_shutdown(req->s) < 0 ||
        corio_timeout_begin(LINGER_TIMEOUT) < 0)
        return;
    for (;;) {
        ssize_t n = corio_stream_read(req->s, buf, sizeof buf);
        if (n <= 0 || (total += (uint64_t)n) > LINGER_MAX)
            break;
    }
    corio_timeout_end();
}

/* The connections of one corio_http_serve call, for close_idle. */
typedef struct served {
    corio_http_router *r;
    const corio_http_server_opts *o;
    corio_http_req *conns;
    bool shutdown;
} served;

static int serve_conn(corio_stream *conn, corio_http_router *r,
                      const corio_http_server_opts *o, served *sv)
{
    corio__http_conf cf;
    corio__http_conf_init(&cf, o);
    if (sv)
        cf.shutdown = &sv->shutdown;
    corio_http_req req;
    memset(&req, 0, sizeof req);
    req.s = conn;
    req.conf = &cf;
    corio__stream_set_write_timeout(conn, cf.send_timeout_ns);
    req.hv = corio__sys.malloc(cf.max_headers * sizeof *req.hv);
    if (!req.hv)
        return -ENOMEM;
    if (sv) {
        req.task = corio_task_current();
        req.next = sv->conns;
        if (sv->conns)
            sv->conns->prev = &req;
        sv->conns = &req;
    }
    int rc = 0;
    bool closing = false; /* the server ends it, not the client */
    for (size_t nreq = 0;; nreq++) {
        if (nreq && corio__http_stopping(&cf))
            break;
        const char *buf = NULL;
        ssize_t n = next_head(&req, nreq == 0, &buf);
        if (n <= 0) {
            rc = (int)n;
            closing = refuse(&req, n);
            break;
        }
        rc = serve_one(&req, r, buf, (size_t)n,
                       cf.max_requests && nreq + 1 == cf.max_requests);
        if (rc != 0 || !req.keep) {
            closing = rc == 0;
            break;
        }
        corio__http_req_reset(&req);
    }
    if (sv) {
        if (req.prev)
            req.prev->next = req.next;
        else
            sv->conns = req.next;
        if (req.next)
            req.next->prev = req.prev;
    }
    bool detached = req.detached;
    if (!detached && req.unflushed &&
        corio_timeout_begin(cf.idle_timeout_ns) == 0) {
        int frc = corio__http_req_flush(&req); /* a client that reads nothing */
        corio_timeout_end();                   /* cannot hold the task */
        if (rc == 0)
            rc = frc;
    }
    if (closing)
        linger(&req);
    corio__http_req_destroy(&req);
    return detached ? CORIO_HTTP_DETACHED : rc;
}

int corio_http_serve_conn(corio_stream *conn, corio_http_router *r,
                          const corio_http_server_opts *o)
{
    if (!conn || !r)
        return -EINVAL;
    return serve_conn(conn, r, o, NULL);
}

/* HTTPS: the handshake under its own timeout, then HTTP over the TLS
 * stream, which owns the TCP one: corio_serve must not close that, so this
 * returns CORIO_SERVE_KEPT once it has closed (or handed over) the TLS
 * stream itself. */
static int serve_tls(corio_stream *conn, served *sv)
{
    const corio_http_server_opts *o = sv->o;
    int64_t hs = o->handshake_timeout_ns > 0 ? o->handshake_timeout_ns
                                             : HANDSHAKE_TIMEOUT;
    corio_tls_opts to = {.ctx = o->tls};
    corio_stream *ts = NULL;
    int rc;
    CORIO_WITH_TIMEOUT(hs, rc)
    {
        rc = corio_tls_server(&ts, conn, &to); /* takes conn, even failing */
    }
    if (rc < 0)
        return CORIO_SERVE_KEPT; /* conn was closed by the failed handshake */
    if (serve_conn(ts, sv->r, o, sv) != CORIO_HTTP_DETACHED)
        corio_stream_close(ts);
    return CORIO_SERVE_KEPT;
}

static int serve_fn(corio_stream *conn, void *arg)
{
    served *sv = arg;
    if (sv->o && sv->o->tls)
        return serve_tls(conn, sv);
    return serve_conn(conn, sv->r, sv->o, sv) == CORIO_HTTP_DETACHED
               ? CORIO_SERVE_KEPT
               : 0;
}

/* When shutdown begins (corio__serve's hook), end the connections waiting
 * for a next request at once (cancelling a task idle in next_head makes it
 * return quietly), so keep-alive clients do not hold the server for the
 * whole grace period; the others finish their request and stop before the
 * next one. */
static void close_idle(void *arg)
{
    served *sv = arg;
    sv->shutdown = true;
    for (corio_http_req *q = sv->conns; q; q = q->next)
        if (q->idle)
            corio_task_cancel(q->task);
}

int corio_http_serve(corio_listener *l, corio_http_router *r,
                     const corio_http_server_opts *o)
{
    if (!l || !r)
        return -EINVAL;
    served sv = {r, o, NULL, false};
    corio_serve_opts so = {.on_shutdown = close_idle};
    if (o) {
        so.stop = o->stop;
        so.grace_ns = o->grace_ns;
        so.max_connections = o->max_connections;
    }
    return corio_serve(l, serve_fn, &sv, &so);
}
