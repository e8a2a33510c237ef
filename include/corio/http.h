/* corio/http.h — HTTP/1.1 messages: the zero-copy parser, the chunked
 * decoder, header lookup and the HTTP error codes shared by the client
 * (corio/http_client.h), the server (corio/http_server.h) and WebSocket
 * (corio/ws.h).
 *
 * The parser allocates nothing and never suspends: it reads a message head
 * (start line and header fields) from the caller's buffer and fills a
 * corio_http_head whose strings are views into that buffer (pointer and
 * length, not NUL-terminated), valid as long as the buffer is.  Call it
 * again with more bytes when it says the head is incomplete; it re-parses
 * from the start (heads are small; this keeps it stateless).
 *
 * Strict where security needs it (RFC 9112):
 *   - Content-Length and Transfer-Encoding together, two different
 *     Content-Length values ("5, 5" or two equal fields count as one), a
 *     Content-Length that is not plain digits or is over 2^63-1, a
 *     Transfer-Encoding whose last coding is not "chunked" on a request,
 *     chunked applied twice, any Transfer-Encoding on HTTP/1.0, two Host
 *     fields in a request: CORIO_EHTTP (request smuggling).
 *   - A bare CR, a bare LF inside a field, NUL or other control bytes in a
 *     field value, whitespace before the colon, obsolete line folding, a
 *     field name that is not a token: CORIO_EHTTP.  A line may end in LF
 *     alone only where RFC 9112 §2.2 allows it (the parser accepts CRLF and
 *     bare LF as the line terminator, never a bare CR).
 *   - HTTP/1.2 .. HTTP/1.9 are read as HTTP/1.1 (RFC 9110 §2.5); any other
 *     version: CORIO_EHTTP.  A missing Host is left to the server.
 *   - Limits are explicit (corio_http_limits): over the start-line limit
 *     CORIO_EURITOOLONG (a server answers 414), over the head size or field
 *     count CORIO_EHEADERSTOOLARGE (431).
 *
 * Thread-safety: all functions here are pure; any thread. */
#ifndef CORIO_HTTP_H
#define CORIO_HTTP_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A view into the parsed buffer: p[0..n), not NUL-terminated. */
typedef struct corio_http_str {
    const char *p;
    size_t n;
} corio_http_str;

/* One header field: name and value as views (value without surrounding
 * whitespace). */
typedef struct corio_http_header {
    corio_http_str name;
    corio_http_str value;
} corio_http_header;

/* Flags the parser derives from the header fields. */
#define CORIO_HTTP_CHUNKED 0x1u /* Transfer-Encoding ends in chunked */
#define CORIO_HTTP_CLOSE                                                       \
    0x2u /* the connection closes after this message:                          \
            "Connection: close", or HTTP/1.0 without                           \
            "Connection: keep-alive" */
#define CORIO_HTTP_UPGRADE                                                     \
    0x4u /* "Connection: upgrade" with an Upgrade field */
#define CORIO_HTTP_CONTINUE 0x8u /* request: "Expect: 100-continue" */

/* A parsed message head.  Before parsing, set headers and max_headers to
 * the caller's array (the parser fills headers[0..nheaders)); everything
 * else is output.
 *   method, target  requests (target as sent: origin form "/path?query",
 *                   absolute form, authority form for CONNECT, or "*").
 *   status, reason  responses (status 100..999).
 *   minor_version   0 for HTTP/1.0, 1 for HTTP/1.1 (and 1.2 .. 1.9).
 *   content_length  -1 when the message has no Content-Length field.
 *   flags           CORIO_HTTP_* above. */
typedef struct corio_http_head {
    corio_http_str method;
    corio_http_str target;
    int status;
    corio_http_str reason;
    int minor_version;
    corio_http_header *headers;
    size_t max_headers;
    size_t nheaders;
    int64_t content_length;
    unsigned flags;
} corio_http_head;

/* Parser limits; zero fields take the defaults.
 *   max_start_line  bytes of the request or status line, CRLF excluded
 *                   (default 8 KiB, as nginx and Node).
 *   max_head        bytes of the whole head, blank line included
 *                   (default 64 KiB); the HTTP server also refuses (400)
 *                   more blank lines than this before a request line.
 * The number of fields is limited by max_headers of the head. */
typedef struct corio_http_limits {
    size_t max_start_line;
    size_t max_head;
} corio_http_limits;

/* Parse a request head from buf[0..len).  lim may be NULL (defaults).
 * Returns the head's length in bytes (the body, if any, starts there), or:
 *   -EAGAIN                  the head is incomplete and within limits:
 *                            read more and call again with the longer buffer.
 *   CORIO_EHTTP              malformed or forbidden (see the file comment).
 *   CORIO_EURITOOLONG        the request line is over max_start_line.
 *   CORIO_EHEADERSTOOLARGE   the head is over max_head, or has more than
 *                            max_headers fields.
 *   -EINVAL                  h or buf is NULL.
 * Views in *h point into buf.  Never suspends. */
CORIO_API ssize_t corio_http_parse_request(corio_http_head *h, const char *buf,
                                           size_t len,
                                           const corio_http_limits *lim);

/* Parse a response head from buf[0..len); as corio_http_parse_request,
 * with a status line instead (over max_start_line: CORIO_EHTTP, since a
 * response has no 414; "HTTP/1.1 204\r\n" without the space before an
 * empty reason is accepted, as servers send it).  A 1xx, 204 or 304 response
 * has no body whatever its fields say (corio_http_body_kind tells). */
CORIO_API ssize_t corio_http_parse_response(corio_http_head *h, const char *buf,
                                            size_t len,
                                            const corio_http_limits *lim);

/* How a message's body is delimited. */
enum corio_http_body {
    CORIO_HTTP_BODY_NONE,    /* no body */
    CORIO_HTTP_BODY_LENGTH,  /* exactly content_length bytes */
    CORIO_HTTP_BODY_CHUNKED, /* chunked transfer coding */
    CORIO_HTTP_BODY_EOF,     /* response: until the connection closes */
};

/* The body kind of a parsed head (RFC 9112 §6.3).  is_request says which
 * parser filled h; request_method is the method of the request a response
 * answers (a HEAD response, and a 2xx CONNECT response, have no body);
 * NULL for requests. */
CORIO_API int corio_http_body_kind(const corio_http_head *h, int is_request,
                                   const char *request_method);

/* The value of the first field named name (case-insensitive), or NULL. */
CORIO_API const corio_http_str *corio_http_head_get(const corio_http_head *h,
                                                    const char *name);

/* Does the comma-separated list in v hold token (case-insensitive)?  For
 * Connection, Transfer-Encoding, Accept-Encoding, ...  Parameters after a
 * ';' are ignored ("gzip;q=0.5" holds "gzip"); an empty token is never
 * found. */
CORIO_API int corio_http_str_has_token(corio_http_str v, const char *token);

/* Decoder state for a chunked body; zero it (or call
 * corio_http_chunked_init) before the first byte. */
typedef struct corio_http_chunked {
    uint64_t remaining; /* bytes left in the current chunk */
    int state;          /* private */
    size_t line;        /* private: bytes of the current size/trailer line */
    size_t max_line;    /* longest chunk-size or trailer line (default 4 KiB) */
    size_t max_trailer; /* most trailer bytes in all (default 16 KiB) */
    size_t trailer;     /* private */
} corio_http_chunked;

/* Reset c for a new body (limits back to their defaults). */
CORIO_API void corio_http_chunked_init(corio_http_chunked *c);

/* Decode chunked data in place: buf[0..*len) holds raw bytes as received;
 * on return buf[0..*len) holds only the body bytes decoded from them, in
 * order, and the framing is consumed.  Returns:
 *   -EAGAIN  more input is needed (all of the input was consumed).
 *   >= 0     the body ended (last chunk and trailers seen): the number of
 *            bytes of the input that followed the end of the body (they
 *            were moved to buf[*len..*len + ret) — the next message's).
 *   CORIO_EHTTP  an invalid chunk size (not hex, empty, over 2^63 - 1),
 *            missing CRLF after a chunk, a framing line ending in a bare LF
 *            or CR (every line of the framing ends in CRLF), whitespace
 *            other than around an extension's ';' and '=', an extension
 *            that is not token[=token|quoted-string], a line over max_line,
 *            trailers over max_trailer, a bad trailer field.
 *   -EINVAL  c or len is NULL, or buf is NULL with *len > 0.
 * After the end, every further byte is "after the body".  Extensions and
 * trailer fields are checked for syntax and dropped.  Never suspends. */
CORIO_API ssize_t corio_http_chunked_decode(corio_http_chunked *c, char *buf,
                                            size_t *len);

/* A parsed absolute URL, as views into the string given.
 *   scheme  "http", "https", "ws" or "wss" (lower case in the input or not).
 *   host    without brackets for an IPv6 literal.
 *   port    explicit, or the scheme's default (80 / 443).
 *   target  path and query as sent in a request line: "/" (a static
 *           string) when the URL has no path; the fragment is dropped.
 *   tls     1 for https and wss. */
typedef struct corio_url {
    corio_http_str scheme;
    corio_http_str host;
    int port;
    corio_http_str target;
    int tls;
} corio_url;

/* Parse url[0..len) (userinfo is refused: CORIO_EURL, as it would leak in
 * logs).  Returns 0, or CORIO_EURL (not an absolute http(s)/ws(s) URL, an
 * empty host, a port that is empty or outside 1..65535, a query with no
 * path ("http://h?q": write "http://h/?q"), control bytes, spaces, DEL or
 * non-ASCII bytes: percent-encode them), -EINVAL (NULL).  On an error *u
 * is zeroed.  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_url_parse(corio_url *u, const char *url,
                                              size_t len);

/* The reason phrase of a status code ("Not Found"), or "" if unknown. */
CORIO_API const char *corio_http_reason(int status);

#ifdef __cplusplus
}
#endif
#endif
