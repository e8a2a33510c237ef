/* corio/http_client.h — the HTTP/1.1 client session (aiohttp's
 * ClientSession): a pool of keep-alive connections per origin, shared by
 * every request made through it.
 *
 *   corio_http_session *s;
 *   corio_http_response *r;
 *   corio_http_session_new(&s, NULL);
 *   if (corio_http_session_get(s, "https://example.org/", &r) == 0) {
 *       const char *text;
 *       if (corio_http_response_text(r, &text) == 0)
 *           printf("%d %s\n", corio_http_response_status(r), text);
 *       corio_http_response_free(r);
 *   }
 *   corio_http_session_free(s);
 *
 * Pool: connections are keyed by origin (scheme, host, port).  A request
 * takes an idle connection of its origin if there is one, else opens one
 * while under both limits (max_connections in all, max_per_host per
 * origin), else waits FIFO for a connection to come back.  A response
 * returns its connection to the pool when its body has been read to the
 * end and both sides allow keep-alive; freeing it earlier closes the
 * connection.  Idle connections close after idle_timeout_ns (a loop timer
 * of the session; no task is kept for it).  A request
 * whose reused connection turns out to have been closed while idle (no
 * byte of a response read) is retried once on a new connection if its
 * method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) and its
 * body can be sent again.
 *
 * Timeouts all use the task's timeout scopes (corio/scope.h), so a
 * request also ends at any deadline of the calling task:
 *   connect_timeout_ns  DNS, TCP connect and TLS handshake of a connection.
 *   read_timeout_ns     the longest wait for the next bytes of a response.
 *   timeout_ns          the whole request: connect, send, head, redirects,
 *                       and reading the body through the response calls.
 * Cancelling a request closes its connection (its state is unknown) and
 * gives the pool slot back; nothing leaks.
 *
 * Errors (besides -ECANCELED / -ETIMEDOUT): CORIO_ENOHOST / CORIO_EDNS (DNS),
 * -ECONNREFUSED and other connect errors, CORIO_ETLS / CORIO_ECERT (TLS;
 * the request's detail says why), CORIO_EHTTP (the server broke the
 * protocol), CORIO_EHEADERSTOOLARGE, CORIO_EREDIRECTS, CORIO_EURL,
 * CORIO_EBODYTOOLARGE, CORIO_EJSON, CORIO_EOF (the connection closed in the
 * middle of a response), -ENOMEM.  An HTTP error status (404, 500) is not an
 * error: the call succeeds and the response carries the status.
 *
 * Thread-safety: a session and its responses belong to one loop. */
#ifndef CORIO_HTTP_CLIENT_H
#define CORIO_HTTP_CLIENT_H

#include "http.h"
#include "stream.h"
#include "tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_http_session corio_http_session;
typedef struct corio_http_response corio_http_response;

/* Opens a connection to u's origin for the session (TLS included when
 * u->tls).  The default dials TCP with corio_tcp_connect and wraps it with
 * corio_tls_client; the in-process test session
 * (corio_http_test_session_new) dials in memory.  Returns 0 and *out, or a
 * negative error. */
typedef int (*corio_http_dial_fn)(corio_stream **out, const corio_url *u,
                                  void *arg);

/* Session options; zero fields take the defaults.
 *   max_connections     open connections in all (default 100).
 *   max_per_host        open connections per origin (default: no limit
 *                       below max_connections).
 *   idle_timeout_ns     an idle pooled connection closes after this
 *                       (default 15 s; < 0: no pooling at all).
 *   connect_timeout_ns  default 30 s; < 0: none.
 *   read_timeout_ns     default 30 s; < 0: none.
 *   timeout_ns          per request in all (default 300 s; < 0: none).
 *   max_redirects       redirects followed (default 10; < 0: none —
 *                       3xx responses are returned as they are).
 *   max_body            most bytes corio_http_response_body and friends
 *                       buffer (default 64 MiB; streaming reads are not
 *                       limited).
 *   max_headers         most response header fields (default 100; at
 *                       most 10000, else -EINVAL).
 *   limits              response head limits (corio/http.h; max_head at
 *                       most CORIO_STREAM_BUFFER_MAX).  The default dial
 *                       sizes each connection's read buffer to hold
 *                       max_head; a custom dial must do the same.
 *   tls                 client TLS context (borrowed; NULL: the shared
 *                       default — system CAs, verification on).
 *   user_agent          default "corio/<version>"; "" sends none.
 *   dial, dial_arg      how connections are opened (NULL: TCP + TLS). */
typedef struct corio_http_session_opts {
    size_t max_connections;
    size_t max_per_host;
    int64_t idle_timeout_ns;
    int64_t connect_timeout_ns;
    int64_t read_timeout_ns;
    int64_t timeout_ns;
    int max_redirects;
    size_t max_body;
    size_t max_headers;
    corio_http_limits limits;
    corio_tls_ctx *tls;
    const char *user_agent;
    corio_http_dial_fn dial;
    void *dial_arg;
} corio_http_session_opts;

/* Make a session (o may be NULL).  Returns 0 and *out, or -EINVAL (a bad
 * option), -ENOMEM; on failure *out = NULL.  Never suspends. */
CORIO_API CORIO_NODISCARD int
corio_http_session_new(corio_http_session **out,
                       const corio_http_session_opts *o);

/* Close the session's idle connections and free it (NULL is a no-op).
 * Responses still open keep what they need alive until they are freed.
 * Never suspends. */
CORIO_API void corio_http_session_free(corio_http_session *s);

/* Most interim (1xx) responses skipped before the final one; one more is
 * CORIO_EHTTP (a server that sends 100 Continue forever). */
#define CORIO_HTTP_MAX_INTERIM 32

/* Flags of a request. */
#define CORIO_HTTP_NO_REDIRECT 0x1u   /* return 3xx responses as they are */
#define CORIO_HTTP_NO_DECOMPRESS 0x2u /* no Accept-Encoding, no decoding */

/* A request; zero fields take the defaults.  Everything is borrowed for
 * the duration of corio_http_session_send only.
 *   method      default "GET".
 *   url         absolute http:// or https:// URL.
 *   headers     NULL, or name, value, name, value, ..., NULL: added to the
 *               request (Host, Content-Length, Transfer-Encoding and
 *               Connection are set by the session and refused here).
 *   query       NULL, or name, value, ..., NULL: percent-encoded and
 *               appended to the URL's query.
 *   body, body_len   a body from memory, sent with Content-Length.
 *   body_stream a body read from this stream to its end and sent chunked
 *               (body must be NULL; such a request is never retried, and a
 *               307/308 redirect of it is returned as it is).
 *   timeout_ns  this request's total timeout (0: the session's).
 *   flags       CORIO_HTTP_NO_REDIRECT, CORIO_HTTP_NO_DECOMPRESS.
 *   detail      NULL, or where a failed send writes why in words when the
 *               code alone does not say (a refused certificate: "certificate
 *               verify failed: certificate has expired"); "" otherwise. */
typedef struct corio_http_request {
    const char *method;
    const char *url;
    const char *const *headers;
    const char *const *query;
    const void *body;
    size_t body_len;
    corio_stream *body_stream;
    int64_t timeout_ns;
    unsigned flags;
    corio_error_detail *detail;
} corio_http_request;

/* Send a request and read the response head, following redirects (301,
 * 302 and 303 turn into GET without a body, except HEAD; 307 and 308 keep
 * the method and body; a redirect to another origin drops Authorization
 * and Cookie).  gzip and deflate bodies are decoded (Accept-Encoding is
 * sent unless CORIO_HTTP_NO_DECOMPRESS).
 * Returns 0 and *out (free it with corio_http_response_free), or an error
 * from the list in the file comment, or -EINVAL (a method that is not a
 * token, a header the session sets itself, a header name that is not a
 * token or a value with CR or LF, a NULL query value, body with
 * body_stream, body_len without body); on failure *out = NULL.
 * Cancel-safe: yes; the connection is closed, nothing else is lost. */
CORIO_API CORIO_NODISCARD int
corio_http_session_send(corio_http_session *s, const corio_http_request *req,
                        corio_http_response **out);

/* corio_http_session_send with method GET and no options. */
CORIO_API CORIO_NODISCARD int corio_http_session_get(corio_http_session *s,
                                                     const char *url,
                                                     corio_http_response **out);

/* The status code (200, 404, ...).  Never suspends. */
CORIO_API int corio_http_response_status(const corio_http_response *r);

/* aiohttp's raise_for_status: 0 if the status is below 400, else
 * CORIO_EHTTPSTATUS (the status itself is corio_http_response_status, the
 * response stays usable: its body often says why).  -EINVAL for NULL.
 * Never suspends. */
CORIO_API CORIO_NODISCARD int
corio_http_response_raise_for_status(const corio_http_response *r);

/* The value of the first header field named name (case-insensitive),
 * NUL-terminated and owned by r, or NULL.  Never suspends. */
CORIO_API const char *corio_http_response_header(const corio_http_response *r,
                                                 const char *name);

/* The number of header fields of the response.  Never suspends. */
CORIO_API size_t corio_http_response_nheaders(const corio_http_response *r);

/* The i-th header field (0-based, in the order received): 0 and *name,
 * *value (NUL-terminated, owned by r), or -ERANGE.  Never suspends. */
CORIO_API int corio_http_response_header_at(const corio_http_response *r,
                                            size_t i, const char **name,
                                            const char **value);

/* The URL that answered, after redirects (owned by r).  Never suspends. */
CORIO_API const char *corio_http_response_url(const corio_http_response *r);

/* Read up to n bytes of the (decoded) body.  Returns the count, 0 at the
 * end of the body, or an error (CORIO_EHTTP, CORIO_EOF, -ETIMEDOUT for the
 * read or total timeout, ...).  Cancel-safe: no — the connection is closed
 * and later reads return -ECANCELED again. */
CORIO_API CORIO_NODISCARD ssize_t
corio_http_response_read(corio_http_response *r, void *buf, size_t n);

/* Read the rest of the body (at most max_body bytes, else
 * CORIO_EBODYTOOLARGE) and return it: *body (owned by r, followed by a NUL
 * byte) and *len.  Calling it again returns the same bytes.  Errors as
 * corio_http_response_read. */
CORIO_API CORIO_NODISCARD int corio_http_response_body(corio_http_response *r,
                                                       const void **body,
                                                       size_t *len);

/* The body as NUL-terminated text (corio_http_response_body; the bytes are
 * returned as they are, whatever the charset). */
CORIO_API CORIO_NODISCARD int corio_http_response_text(corio_http_response *r,
                                                       const char **text);

/* Free a response (NULL is a no-op): its connection goes back to the pool
 * if the body was read to the end and keep-alive holds, else it is closed.
 * Never suspends. */
CORIO_API void corio_http_response_free(corio_http_response *r);

#ifdef __cplusplus
}
#endif
#endif
