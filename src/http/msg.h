/* http/msg.h — reading and writing HTTP/1.1 messages on a corio_stream:
 * the part the client (http/client*.c), the server (http/server*.c) and
 * WebSocket (ws/ws.c) share.  Implemented in http/msg.c (corio__http_str_eq
 * in http/parse.c).
 *
 * Heads are parsed in place in the stream's read buffer (corio_stream_peek /
 * fill / consume): no copy until the caller keeps what it needs.  The read
 * buffer's limit (corio_stream_opts.read_buffer) must be at least the head
 * limit, or a head that fits the limit could still not fit the buffer. */
#ifndef CORIO_HTTP_MSG_H
#define CORIO_HTTP_MSG_H

#include <corio.h>
#include <stdbool.h>

/* The parser's default limits (corio_http_limits with zero fields). */
#define CORIO__HTTP_MAX_START_LINE (8u * 1024)
#define CORIO__HTTP_MAX_HEAD (64u * 1024)

/* Could a head end in d[seen - 3 .. n): is there a blank line (LF LF or
 * LF CR LF) among the bytes that arrived after the first seen?  Readers of
 * a trickling head parse only when this (or a limit, or a doubling) says
 * so, since the parser starts over at each call. */
bool corio__http_head_may_end(const char *d, size_t seen, size_t n);

/* Read a head from s into h (h->headers / max_headers set by the caller).
 * The views in h point into the stream's buffer and stay valid until the
 * caller's next call on s; the caller copies what it keeps, then calls
 * corio_stream_consume(s, returned length).  Returns the head's length, or:
 *   0               the stream ended cleanly before any byte of a head.
 *   CORIO_EOF       the stream ended inside a head.
 *   parser errors   CORIO_EHTTP, CORIO_EURITOOLONG, CORIO_EHEADERSTOOLARGE.
 *   stream errors   (-ECANCELED, -ETIMEDOUT, -ECONNRESET, ...).
 * Blank lines before a request head are skipped (RFC 9112 §2.2).  A head
 * trickling in is not re-parsed at every arrival (see msg.c): linear time.
 * Cancel-safe: yes; what arrived stays buffered (only blank lines before a
 * request may have been consumed). */
ssize_t corio__http_read_head(corio_stream *s, corio_http_head *h,
                              bool is_request, const corio_http_limits *lim);

/* A message body being read from a stream. */
typedef struct corio__http_body {
    corio_stream *s;
    int kind;              /* CORIO_HTTP_BODY_* */
    uint64_t left;         /* BODY_LENGTH: bytes still to read */
    corio_http_chunked ch; /* BODY_CHUNKED: decoder state */
    bool done;             /* the end of the body was reached */
} corio__http_body;

/* Start reading a body of kind (CORIO_HTTP_BODY_*) and, for BODY_LENGTH,
 * length bytes, from s (after the head was consumed). */
void corio__http_body_init(corio__http_body *b, corio_stream *s, int kind,
                           int64_t length);

/* Read up to n decoded body bytes.  Returns the count, 0 at the end of the
 * body (the stream then stands at the next message), CORIO_EOF (the stream
 * ended early; for BODY_EOF the end of the stream is the end of the body),
 * CORIO_EHTTP (bad chunk framing), or a stream error. */
ssize_t corio__http_body_read(corio__http_body *b, void *buf, size_t n);

/* Read and drop the rest of the body, at most max bytes of it.  Returns 0
 * at the end of the body, CORIO_EBODYTOOLARGE (more than max left), or an
 * error of corio__http_body_read. */
int corio__http_body_skip(corio__http_body *b, uint64_t max);

/* Write one chunk of a chunked body (n == 0 writes the last chunk and the
 * empty trailer).  Buffered: flush after.  Returns 0 or a write error. */
int corio__http_write_chunk(corio_stream *s, const void *p, size_t n);

/* Write the Host field's value for u (RFC 9112 §3.2): the host, in
 * brackets when it is an IPv6 literal, and ":port" unless the port is the
 * scheme's default.  Buffered like any stream write.  Returns 0 or a write
 * error. */
int corio__http_write_host(corio_stream *s, const corio_url *u);

/* Connect to u's host and port, with TLS over the connection when u->tls
 * (context ctx, may be NULL; the server name is u's host; a TLS failure's
 * reason goes to detail, may be NULL).  so (may be NULL) applies to the
 * socket's stream and to the TLS stream.  Returns 0 and *out, or (*out =
 * NULL) CORIO_EURL (a host of 256 bytes or more), a connect error, a TLS
 * error, -ECANCELED / -ETIMEDOUT. */
int corio__http_dial_url(corio_stream **out, const corio_url *u,
                         const corio_stream_opts *so, corio_tls_ctx *ctx,
                         corio_error_detail *detail);

/* Case-insensitive comparison of a view with a C string (in http/parse.c,
 * which the fuzz harnesses build without the stream layer). */
bool corio__http_str_eq(corio_http_str v, const char *s);

#endif
