/* http/server_reply.c — the response side of corio_http_req: header fields
 * added by the handler, the response head, whole replies, streamed replies
 * (with a length or chunked) and the server's own short replies.
 *
 * Parts:
 *   the head    status line, Date (formatted once per second), the
 *               handler's fields, framing (Content-Length or
 *               Transfer-Encoding: chunked) and Connection, assembled in a
 *               stack buffer and handed to the stream in one write — with
 *               the body too when it is small, so a typical response is a
 *               single copy into the stream's write buffer.
 *   framing     HEAD, 1xx, 204 and 304 responses carry no body bytes; a
 *               streamed reply of unknown length to an HTTP/1.0 client is
 *               sent raw and ended by closing the connection.
 * Nothing here flushes except reply_end, reply_flush (a streamed reply
 * that must go out now: server-sent events) and 1xx replies: the
 * connection loop (server.c) flushes once per response, or once per batch
 * of pipelined requests. */
#include "os/sys.h"
#include "http/server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define OUT_CAP 1024

/* A response head being assembled. */
typedef struct out {
    corio_stream *s;
    size_t n;
    int rc;
    char buf[OUT_CAP];
} out;

static void out_add(out *o, const void *p, size_t n)
{
    if (o->rc < 0 || !n)
        return;
    if (n <= OUT_CAP - o->n) {
        memcpy(o->buf + o->n, p, n);
        o->n += n;
        return;
    }
    if (o->n && (o->rc = corio_stream_write(o->s, o->buf, o->n)) < 0)
        return;
    o->n = 0;
    if (n <= OUT_CAP) {
        memcpy(o->buf, p, n);
        o->n = n;
    } else {
        o->rc = corio_stream_write(o->s, p, n);
    }
}

static void out_str(out *o, const char *s)
{
    out_add(o, s, strlen(s));
}

static int out_done(out *o)
{
    if (o->rc == 0 && o->n)
        o->rc = corio_stream_write(o->s, o->buf, o->n);
    return o->rc;
}

/* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", remade once a second. */
static const char *date_line(void)
{
    static __thread time_t last;
    static __thread char line[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != last || !line[0]) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        last = ts.tv_sec;
    }
    return line;
}

/* Decimal digits of v at the end of buf[0..21): returns where they start. */
static char *put_u64(char *end, uint64_t v)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}

static bool valid_field(const char *s, bool name)
{
    if (!*s && name)
        return false;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' ||
            (name && (*s == ':' || *s == ' ' || *s == '\t')))
            return false;
    return true;
}

int corio_http_reply_header(corio_http_req *req, const char *name,
                            const char *value)
{
    if (!req || !name || !value)
        return -EINVAL;
    if (req->state != CORIO__REPLY_NONE)
        return -EALREADY;
    if (!valid_field(name, true) || !valid_field(value, false))
        return -EINVAL;
    corio_http_str nv = {name, strlen(name)};
    if (corio__http_str_eq(nv, "Content-Length") ||
        corio__http_str_eq(nv, "Transfer-Encoding") ||
        corio__http_str_eq(nv, "Connection"))
        return -EINVAL;
    size_t vl = strlen(value), need = req->hdrs_len + nv.n + vl + 4;
    if (need > req->hdrs_cap) {
        size_t cap = req->hdrs_cap ? req->hdrs_cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = corio__sys.realloc(req->hdrs, cap);
        if (!p)
            return -ENOMEM;
        req->hdrs = p;
        req->hdrs_cap = cap;
    }
    char *p = req->hdrs + req->hdrs_len;
    memcpy(p, name, nv.n);
    p += nv.n;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, vl);
    p += vl;
    *p++ = '\r';
    *p++ = '\n';
    req->hdrs_len = need;
    return 0;
}

/* Write the head.  length: >= 0 Content-Length, -1 streamed unknown
 * (chunked, or raw to an HTTP/1.0 client).  Sets the framing fields.
 * The head stays in o (the caller may add a body and call out_done). */
static void head(corio_http_req *req, out *o, int status, const char *ctype,
                 int64_t length)
{
    char line[64];
    req->status = status;
    req->no_body =
        req->is_head || status < 200 || status == 204 || status == 304;
    req->chunked = false;
    /* A client told to wait for "100 Continue" that never came may still
     * send its body or not: the connection cannot be reused. */
    if (req->expect_continue && req->body.kind != CORIO_HTTP_BODY_NONE)
        req->keep = false;
    if (corio__http_stopping(req->conf))
        req->keep = false;
    /* Hand-formatted: printf was a visible share of a small response. */
    memcpy(line, "HTTP/1.1 ", 9);
    line[9] = (char)('0' + status / 100);
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    line[12] = ' ';
    out_add(o, line, 13);
    out_str(o, corio_http_reason(status));
    out_add(o, "\r\n", 2);
    out_str(o, date_line());
    if (ctype) {
        out_str(o, "Content-Type: ");
        out_str(o, ctype);
        out_str(o, "\r\n");
    }
    out_add(o, req->hdrs, req->hdrs_len);
    if (status < 200 || status == 204 || status == 304) {
        /* no framing fields */
    } else if (length >= 0) {
        char *end = line + sizeof line, *p = put_u64(end - 2, (uint64_t)length);
        end[-2] = '\r';
        end[-1] = '\n';
        out_str(o, "Content-Length: ");
        out_add(o, p, (size_t)(end - p));
    } else if (req->h.minor_version >= 1) {
        req->chunked = true;
        out_str(o, "Transfer-Encoding: chunked\r\n");
    } else {
        req->keep = false; /* raw body ended by the close */
    }
    if (status == 101) {
        out_str(o, "Connection: upgrade\r\n"); /* Connection is ours to send */
    } else if (status >= 200) {
        if (!req->keep)
            out_str(o, "Connection: close\r\n");
        else if (req->h.minor_version == 0)
            out_str(o, "Connection: keep-alive\r\n");
    }
    out_add(o, "\r\n", 2);
}

static int broken(corio_http_req *req, int rc)
{
    if (rc < 0) {
        req->state = CORIO__REPLY_BROKEN;
        req->keep = false;
    }
    return rc;
}

static bool bad_status(int status)
{
    return status < 100 || status > 999;
}

int corio_http_reply(corio_http_req *req, int status, const char *content_type,
                     const void *body, size_t len)
{
    if (!req || bad_status(status) || (!body && len) || req->detached)
        return -EINVAL;
    if (req->state != CORIO__REPLY_NONE)
        return -EALREADY;
    if (content_type && !valid_field(content_type, false))
        return -EINVAL;
    out o = {.s = req->s};
    head(req, &o, status, content_type, (int64_t)len);
    if (!req->no_body)
        out_add(&o, body, len);
    req->state = CORIO__REPLY_DONE;
    int rc = out_done(&o);
    if (rc == 0 && status < 200)
        rc = corio_stream_flush(req->s); /* e.g. 101: the peer waits for it */
    else
        req->unflushed = true;
    return broken(req, rc);
}

int corio_http_reply_begin(corio_http_req *req, int status, int64_t length)
{
    if (!req || bad_status(status) || length < -1 || req->detached)
        return -EINVAL;
    if (req->state != CORIO__REPLY_NONE)
        return -EALREADY;
    out o = {.s = req->s};
    head(req, &o, status, NULL, length);
    req->sized = length >= 0;
    req->left = req->sized ? (uint64_t)length : 0;
    req->state = CORIO__REPLY_STREAM;
    req->unflushed = true;
    return broken(req, out_done(&o));
}

int corio_http_reply_write(corio_http_req *req, const void *buf, size_t n)
{
    if (!req || req->state != CORIO__REPLY_STREAM || (!buf && n))
        return -EINVAL;
    if (req->sized) {
        if (n > req->left)
            return -EINVAL;
        req->left -= n;
    }
    if (req->no_body || !n)
        return 0;
    int rc = req->chunked ? corio__http_write_chunk(req->s, buf, n)
                          : corio_stream_write(req->s, buf, n);
    return broken(req, rc);
}

int corio_http_reply_flush(corio_http_req *req)
{
    if (!req || req->state != CORIO__REPLY_STREAM)
        return -EINVAL;
    /* unflushed stays set: the connection loop still flushes at the end. */
    return broken(req, corio_stream_flush(req->s));
}

int corio_http_reply_end(corio_http_req *req)
{
    if (!req || req->state != CORIO__REPLY_STREAM)
        return -EINVAL;
    if (req->sized && req->left) {
        broken(req, -EINVAL);
        return -EINVAL;
    }
    int rc = 0;
    if (req->chunked && !req->no_body)
        rc = corio__http_write_chunk(req->s, NULL, 0);
    if (rc == 0)
        rc = corio_stream_flush(req->s);
    if (rc == 0) {
        req->unflushed = false;
        req->state = CORIO__REPLY_DONE;
    }
    return broken(req, rc);
}

int corio__http_reply_simple(corio_http_req *req, int status, const char *allow)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status,
                     corio_http_reason(status));
    out o = {.s = req->s};
    req->hdrs_len = 0; /* the handler's fields were for its own reply */
    req->state = CORIO__REPLY_NONE;
    if (allow && corio_http_reply_header(req, "Allow", allow) < 0)
        req->keep = false;
    head(req, &o, status, "text/plain", n);
    if (!req->no_body)
        out_add(&o, body, (size_t)n);
    req->state = CORIO__REPLY_DONE;
    req->unflushed = true;
    return broken(req, out_done(&o));
}
