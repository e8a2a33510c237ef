/* http/msg.c — HTTP/1.1 messages on a corio_stream (http/msg.h): reading a
 * head in place in the stream's buffer, reading a body of any kind, writing
 * chunks.
 *
 * Parts:
 *   heads    peek, parse, fill until the parser has an answer; blank lines
 *            before a request are consumed; a read buffer smaller than the
 *            head limit counts as the limit.
 *   bodies   LENGTH and EOF copy from the buffer and consume what they
 *            copied; CHUNKED copies min(n, buffered) raw bytes into the
 *            caller's buffer, decodes them there and consumes only the input
 *            the decoder used, so whatever follows the body (a pipelined
 *            request, the next response) stays in the stream.
 *   chunks   the writer side of the chunked coding.
 *   origins  what the client and WebSocket both do with a parsed URL:
 *            connect to it (TCP, then TLS for https/wss) and name it in
 *            the Host field.
 *
 * Every step that waits is corio_stream_fill, which keeps the buffer intact
 * when interrupted: a cancelled read leaves the stream where it was. */
#include "http/msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Consume the blank lines (CRLF or LF) at the front of the buffer.
 * Returns 0, or 1 when a lone CR is buffered (its LF is still to come). */
static int skip_blank_lines(corio_stream *s)
{
    const void *d;
    size_t n, k = 0;
    if (corio_stream_peek(s, &d, &n) < 0)
        return 0;
    const char *p = d;
    for (;;) {
        if (k < n && p[k] == '\n')
            k += 1;
        else if (k + 1 < n && p[k] == '\r' && p[k + 1] == '\n')
            k += 2;
        else
            break;
    }
    if (k)
        corio_stream_consume(s, k);
    return k + 1 == n && p[k] == '\r';
}

bool corio__http_head_may_end(const char *d, size_t seen, size_t n)
{
    const char *q = d + (seen > 3 ? seen - 3 : 0), *end = d + n;
    while ((q = memchr(q, '\n', (size_t)(end - q)))) {
        if (q > d &&
            (q[-1] == '\n' || (q[-1] == '\r' && q - 1 > d && q[-2] == '\n')))
            return true;
        q++;
    }
    return false;
}

/* Did the buffer pass limit (max_start_line or max_head) since the last
 * parse? */
static bool crossed(size_t parsed, size_t n, size_t limit)
{
    return parsed <= limit && limit < n;
}

static ssize_t parse(const char *d, size_t n, corio_http_head *h,
                     bool is_request, const corio_http_limits *lim)
{
    return is_request ? corio_http_parse_request(h, d, n, lim)
                      : corio_http_parse_response(h, d, n, lim);
}

/* The parser starts over at each call, so a head trickling in a byte at a
 * time would cost quadratic time if each arrival were parsed.  It is parsed
 * when a blank line arrives, when the buffer passes a limit (so an endless
 * line gets its 414/431 at once), when the buffer doubled since the last
 * parse (syntax errors show up within one doubling), and once more when the
 * stream ends or the buffer is full, so results do not depend on how the
 * bytes were split. */
ssize_t corio__http_read_head(corio_stream *s, corio_http_head *h,
                              bool is_request, const corio_http_limits *lim)
{
    size_t max_line = lim && lim->max_start_line ? lim->max_start_line
                                                 : CORIO__HTTP_MAX_START_LINE;
    size_t max_head =
        lim && lim->max_head ? lim->max_head : CORIO__HTTP_MAX_HEAD;
    size_t parsed = 0, seen = 0; /* buffered bytes at the last parse, look */
    for (;;) {
        const void *d;
        size_t n;
        int partial_blank = is_request ? skip_blank_lines(s) : 0;
        int rc = corio_stream_peek(s, &d, &n);
        if (rc < 0)
            return rc;
        bool ready = n > 0 && !partial_blank;
        if (ready &&
            (parsed == 0 || n >= 2 * parsed || crossed(parsed, n, max_line) ||
             crossed(parsed, n, max_head) ||
             corio__http_head_may_end(d, seen, n))) {
            ssize_t r = parse(d, n, h, is_request, lim);
            if (r != -EAGAIN)
                return r;
            parsed = n;
        }
        seen = n;
        ssize_t f = corio_stream_fill(s);
        if (f == CORIO_ETOOLONG) {
            /* The read buffer is full and the head goes on: the buffer is
             * the limit.  Parse once more with the start line limited to
             * less than the buffer, so an unended start line says
             * CORIO_EURITOOLONG; otherwise it is the head that is too large. */
            if (n < 2)
                return CORIO_EHEADERSTOOLARGE;
            corio_http_limits l = lim ? *lim : (corio_http_limits){0};
            l.max_head = n;
            if (!l.max_start_line || l.max_start_line > n - 1)
                l.max_start_line = n - 1;
            ssize_t r = parse(d, n, h, is_request, &l);
            return r == -EAGAIN ? CORIO_EHEADERSTOOLARGE : r;
        }
        if (f == 0) {
            if (n == 0)
                return 0;
            ssize_t r = ready && parsed != n ? parse(d, n, h, is_request, lim)
                                             : -EAGAIN;
            return r == -EAGAIN ? CORIO_EOF : r;
        }
        if (f < 0)
            return f;
    }
}

void corio__http_body_init(corio__http_body *b, corio_stream *s, int kind,
                           int64_t length)
{
    memset(b, 0, sizeof *b);
    b->s = s;
    b->kind = kind;
    b->left =
        kind == CORIO_HTTP_BODY_LENGTH && length > 0 ? (uint64_t)length : 0;
    corio_http_chunked_init(&b->ch);
    b->done = kind == CORIO_HTTP_BODY_NONE ||
              (kind == CORIO_HTTP_BODY_LENGTH && b->left == 0);
}

/* Peek, filling once if nothing is buffered.  Returns the count buffered,
 * 0 at end of stream, or an error. */
static ssize_t buffered(corio_stream *s, const char **p)
{
    const void *d;
    size_t n;
    int rc = corio_stream_peek(s, &d, &n);
    if (rc < 0)
        return rc;
    if (n == 0) {
        ssize_t f = corio_stream_fill(s);
        if (f <= 0)
            return f;
        if ((rc = corio_stream_peek(s, &d, &n)) < 0)
            return rc;
    }
    *p = d;
    return (ssize_t)n;
}

ssize_t corio__http_body_read(corio__http_body *b, void *buf, size_t n)
{
    if (b->done || n == 0)
        return 0;
    for (;;) {
        const char *p;
        ssize_t got = buffered(b->s, &p);
        if (got < 0)
            return got;
        if (got == 0) {
            if (b->kind != CORIO_HTTP_BODY_EOF)
                return CORIO_EOF;
            b->done = true;
            return 0;
        }
        size_t m = (size_t)got < n ? (size_t)got : n;
        if (b->kind == CORIO_HTTP_BODY_LENGTH && m > b->left)
            m = (size_t)b->left;
        memcpy(buf, p, m);
        if (b->kind != CORIO_HTTP_BODY_CHUNKED) {
            corio_stream_consume(b->s, m);
            if (b->kind == CORIO_HTTP_BODY_LENGTH && (b->left -= m) == 0)
                b->done = true;
            return (ssize_t)m;
        }
        size_t out = m;
        ssize_t r = corio_http_chunked_decode(&b->ch, buf, &out);
        if (r == CORIO_EHTTP || r == -EINVAL)
            return r;
        /* -EAGAIN: all m bytes were used; >= 0: r of them follow the body. */
        corio_stream_consume(b->s, r >= 0 ? m - (size_t)r : m);
        if (r >= 0)
            b->done = true;
        if (out > 0 || b->done)
            return (ssize_t)out;
        /* framing only so far: read on */
    }
}

int corio__http_body_skip(corio__http_body *b, uint64_t max)
{
    char tmp[4096];
    uint64_t total = 0;
    if (b->kind == CORIO_HTTP_BODY_LENGTH && b->left > max)
        return CORIO_EBODYTOOLARGE;
    for (;;) {
        ssize_t r = corio__http_body_read(b, tmp, sizeof tmp);
        if (r <= 0)
            return (int)r;
        total += (uint64_t)r;
        if (total > max)
            return CORIO_EBODYTOOLARGE;
    }
}

int corio__http_write_chunk(corio_stream *s, const void *p, size_t n)
{
    char line[24];
    int rc;
    if (n == 0)
        return corio_stream_write(s, "0\r\n\r\n", 5);
    int k = snprintf(line, sizeof line, "%zx\r\n", n);
    if ((rc = corio_stream_write(s, line, (size_t)k)) < 0 ||
        (rc = corio_stream_write(s, p, n)) < 0)
        return rc;
    return corio_stream_write(s, "\r\n", 2);
}

/* ---- origins ------------------------------------------------------------- */

int corio__http_write_host(corio_stream *s, const corio_url *u)
{
    bool v6 = memchr(u->host.p, ':', u->host.n) != NULL;
    char port[8];
    int rc = 0;

    if (v6)
        rc = corio_stream_write(s, "[", 1);
    if (rc == 0)
        rc = corio_stream_write(s, u->host.p, u->host.n);
    if (rc == 0 && v6)
        rc = corio_stream_write(s, "]", 1);
    if (rc == 0 && u->port != (u->tls ? 443 : 80)) {
        int k = snprintf(port, sizeof port, ":%d", u->port);
        rc = corio_stream_write(s, port, (size_t)k);
    }
    return rc;
}

int corio__http_dial_url(corio_stream **out, const corio_url *u,
                         const corio_stream_opts *so, corio_tls_ctx *ctx,
                         corio_error_detail *detail)
{
    char host[256];
    corio_tcp_opts to = {0};
    corio_stream *t;
    int rc;

    *out = NULL;
    if (u->host.n >= sizeof host)
        return CORIO_EURL;
    memcpy(host, u->host.p, u->host.n);
    host[u->host.n] = '\0';
    if (so)
        to.stream = *so;
    rc = corio_tcp_connect_ex(&t, host, u->port, &to);
    if (rc < 0)
        return rc;
    if (!u->tls) {
        *out = t;
        return 0;
    }
    corio_tls_opts tl = {0};
    tl.ctx = ctx;
    tl.server_name = host;
    tl.stream = to.stream;
    tl.detail = detail;
    return corio_tls_client(out, t, &tl); /* takes t, closed on failure */
}
