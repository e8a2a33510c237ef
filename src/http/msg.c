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

ssize_t corio__http_read_head(corio_stream *s, corio_http_head *h,
                              bool is_request, const corio_http_limits *lim)
{
    for (;;) {
        const void *d;
        size_t n;
        int partial_blank = is_request ? skip_blank_lines(s) : 0;
        int rc = corio_stream_peek(s, &d, &n);
        if (rc < 0)
            return rc;
        if (n > 0 && !partial_blank) {
            ssize_t r = is_request ? corio_http_parse_request(h, d, n, lim)
                                   : corio_http_parse_response(h, d, n, lim);
            if (r != -EAGAIN)
                return r;
        }
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
            ssize_t r = is_request ? corio_http_parse_request(h, d, n, &l)
                                   : corio_http_parse_response(h, d, n, &l);
            return r == -EAGAIN ? CORIO_EHEADERSTOOLARGE : r;
        }
        if (f == 0)
            return n == 0 ? 0 : CORIO_EOF;
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
    b->left = kind == CORIO_HTTP_BODY_LENGTH && length > 0 ? (uint64_t)length : 0;
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
