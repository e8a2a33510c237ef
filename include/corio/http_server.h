/* corio/http_server.h — the HTTP/1.1 server: a router of handlers, served
 * on corio_serve (one task per connection, graceful shutdown), and an
 * in-process test session that drives a router without sockets (like
 * httpx.AsyncClient(app=app)).
 *
 *   static int hello(corio_http_req *req, void *arg)
 *   {
 *       return corio_http_reply(req, 200, "text/plain", "hello\n", 6);
 *   }
 *   ...
 *   corio_http_router_add(router, "GET", "/hello", hello, NULL);
 *   corio_http_serve(listener, router, NULL);
 *
 * A connection serves its requests one after another (keep-alive; pipelined
 * requests are answered in order).  Before the next request is read, the
 * rest of the previous request's body is read and dropped.
 *
 * Limits and timeouts (corio_http_server_opts), each answered with its
 * status and then the connection is closed:
 *   request line over limits.max_start_line     414
 *   head over limits.max_head or max_headers    431
 *   malformed request (smuggling, bad chunks)   400
 *   head not complete within header_timeout_ns  408 (slowloris)
 *   body over max_body                          413 (when Content-Length says
 *                                               so, before the handler runs;
 *                                               a chunked body when it passes)
 *   unknown path 404, path known but not the method 405 (with Allow).
 * A handler that fails (returns < 0) before replying gets a 500 sent for it
 * (413, 400 or 408 when a body read failed for that reason first; nothing,
 * and the connection closed, for -ECANCELED: the server is going away);
 * one that replies nothing and returns >= 0 gets a 500 too (and a debug-mode
 * warning).  A handler that fails in the middle of a reply has its
 * connection closed.
 *
 * Thread-safety: a router must not change while served; everything else
 * belongs to the loop serving it. */
#ifndef CORIO_HTTP_SERVER_H
#define CORIO_HTTP_SERVER_H

#include "http.h"
#include "http_client.h"
#include "net.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One request being served, with the writer of its response.  Valid until
 * the handler returns. */
typedef struct corio_http_req corio_http_req;

/* Handles one request: reply with corio_http_reply (or the _begin/_write/
 * _end trio) and return >= 0, or return < 0 to have a 500 sent. */
typedef int (*corio_http_handler_fn)(corio_http_req *req, void *arg);

typedef struct corio_http_router corio_http_router;

/* Make an empty router.  Returns 0 and *out, or -ENOMEM (*out = NULL). */
CORIO_API CORIO_NODISCARD int corio_http_router_new(corio_http_router **out);

/* Free a router (NULL is a no-op).  Not while it is served. */
CORIO_API void corio_http_router_free(corio_http_router *r);

/* Route requests for method ("GET", ...; NULL: any method) and path pattern
 * to fn(req, arg).  A pattern is a path of segments; a segment "{name}"
 * matches any one segment and is read back with corio_http_req_param; a
 * last segment "*" matches the rest of the path (param "*").  Literal
 * segments win over {name}, which wins over "*"; the first route added wins
 * among equals.  The request's path is split into segments before it is
 * percent-decoded (an encoded "%2F" stays inside its segment); literal
 * segments are compared decoded and parameter values are decoded.  HEAD
 * requests go to GET routes (the body is not sent).
 * Returns 0, or -EINVAL (bad pattern: not starting with '/', an empty
 * {}, "*" not last), -EEXIST (the same method and pattern twice), -ENOMEM. */
CORIO_API CORIO_NODISCARD int
corio_http_router_add(corio_http_router *r, const char *method,
                      const char *pattern, corio_http_handler_fn fn, void *arg);

/* Server options; zero fields take the defaults.
 *   stop, grace_ns, max_connections   passed to corio_serve (corio/net.h).
 *   header_timeout_ns  the whole request head must arrive within this,
 *                      counted from its first byte (default 10 s) -> 408;
 *                      a new connection that sends nothing for this long
 *                      is closed quietly.
 *   idle_timeout_ns    keep-alive: wait this long for the next request's
 *                      first byte, then close quietly (default 60 s).
 *   body_timeout_ns    the longest wait for more bytes of a request body
 *                      (default 30 s; the read returns -ETIMEDOUT).
 *   body_min_rate      bytes per second a body must keep up on average
 *                      (Apache mod_reqtimeout's MinRate; default 500; < 0:
 *                      no minimum): the body's reads must end by
 *                      first read + body_timeout_ns + bytes so far / rate,
 *                      so a body trickled a byte every few seconds times
 *                      out although no single wait is long.
 *   send_timeout_ns    the longest the peer may leave the server's output
 *                      unread: each write of up to the stream's write buffer
 *                      must complete within it (nginx's send_timeout;
 *                      default 60 s), else the connection is closed.
 *   tls                a server TLS context (borrowed): serve HTTPS.  Give
 *                      it the ALPN list "http/1.1" (corio_tls_config.alpn)
 *                      so clients that offer h2 settle on HTTP/1.1.
 *   handshake_timeout_ns  the TLS handshake must end within this (default
 *                      10 s), else the connection is closed.
 *   max_body           bytes of a request body (default 1 MiB) -> 413.
 *   max_headers        fields of a request head (default 100) -> 431.
 *   limits             head limits (corio/http.h) -> 414 / 431.
 *   max_requests       requests per connection (default: no limit); the
 *                      last response says "Connection: close".
 * Buffer limits of accepted streams are the listener's
 * (corio_listen_opts.stream); the read buffer must hold a whole head. */
typedef struct corio_http_server_opts {
    corio_event *stop;
    int64_t grace_ns;
    size_t max_connections;
    int64_t header_timeout_ns;
    int64_t idle_timeout_ns;
    int64_t body_timeout_ns;
    size_t max_body;
    size_t max_headers;
    corio_http_limits limits;
    size_t max_requests;
    int64_t body_min_rate;
    int64_t send_timeout_ns;
    corio_tls_ctx *tls;
    int64_t handshake_timeout_ns;
} corio_http_server_opts;

/* Serve HTTP on l with router r until shutdown (see corio_serve for how it
 * starts and ends: o->stop, cancellation, grace period).  When shutdown
 * begins, connections waiting for a next request are closed at once;
 * requests in progress finish within the grace period, their responses
 * saying "Connection: close".  Returns as corio_serve.  Cancel-safe: yes
 * (that is how it is stopped). */
CORIO_API int corio_http_serve(corio_listener *l, corio_http_router *r,
                               const corio_http_server_opts *o);

/* corio_http_serve_conn's return when a handler took the connection with
 * corio_http_req_detach: the stream is the handler's now. */
#define CORIO_HTTP_DETACHED 1

/* Serve the requests arriving on one connection until it closes, a
 * keep-alive timeout, an error, or o->max_requests.  conn stays the
 * caller's (not closed).  Responses are flushed when the handler returns
 * (once per batch when requests arrive pipelined), by
 * corio_http_reply_end, and at once for a 1xx reply.  Once o->stop is set
 * no new request is started.  Returns 0 when the peer closed or the
 * connection was done, CORIO_HTTP_DETACHED (the caller must then leave
 * conn alone: the handler that detached it closes it), or the error that
 * ended it.  Cancel-safe: yes. */
CORIO_API int corio_http_serve_conn(corio_stream *conn, corio_http_router *r,
                                    const corio_http_server_opts *o);

/* ---- The request ----------------------------------------------------------
 */

/* The method ("GET"), NUL-terminated, owned by req.  Never suspends. */
CORIO_API const char *corio_http_req_method(const corio_http_req *req);

/* The path of the target, percent-decoded ("/a b" for "/a%20b"),
 * without the query.  Owned by req.  Never suspends. */
CORIO_API const char *corio_http_req_path(const corio_http_req *req);

/* The raw query string after '?' ("" if none).  Owned by req. */
CORIO_API const char *corio_http_req_query(const corio_http_req *req);

/* The decoded value of query parameter name (the first one), or NULL.
 * Owned by req.  Never suspends. */
CORIO_API const char *corio_http_req_query_get(corio_http_req *req,
                                               const char *name);

/* The value of the first header field named name (case-insensitive),
 * NUL-terminated and owned by req, or NULL.  Never suspends. */
CORIO_API const char *corio_http_req_header(const corio_http_req *req,
                                            const char *name);

/* The value of route parameter name ("{name}" or "*"), or NULL. */
CORIO_API const char *corio_http_req_param(const corio_http_req *req,
                                           const char *name);

/* The body length announced by Content-Length, or -1 (chunked or none). */
CORIO_API int64_t corio_http_req_content_length(const corio_http_req *req);

/* Read up to n bytes of the request body (de-chunked; "100 Continue" is sent
 * first if the client expects it).  Returns the count, 0 at the end,
 * CORIO_EBODYTOOLARGE past max_body, CORIO_EHTTP (bad chunking), CORIO_EOF
 * (the client went away), -ETIMEDOUT (body_timeout_ns).
 * Cancel-safe: no (the connection is closed after the handler). */
CORIO_API CORIO_NODISCARD ssize_t corio_http_req_read(corio_http_req *req,
                                                      void *buf, size_t n);

/* Read the whole body (at most max_body) — what corio_http_req_read has
 * not taken yet: *body (owned by req, followed by a NUL byte) and *len.
 * Calling it again returns the same bytes.  Errors as corio_http_req_read. */
CORIO_API CORIO_NODISCARD int
corio_http_req_body(corio_http_req *req, const void **body, size_t *len);

/* ---- The response ---------------------------------------------------------
 */

/* Add a header field to the response (copied).  Before the reply starts
 * only: then -EALREADY.  Content-Length, Transfer-Encoding and Connection
 * are the server's: -EINVAL (a 101 reply gets "Connection: upgrade").  A name
 * or value with CR, LF or NUL: -EINVAL. Never suspends. */
CORIO_API int corio_http_reply_header(corio_http_req *req, const char *name,
                                      const char *value);

/* Send a whole response: status, Content-Type (NULL: none) and body.
 * Returns 0, -EALREADY (a reply was already started), or a write error.
 * Cancel-safe: no (the connection is closed). */
CORIO_API int corio_http_reply(corio_http_req *req, int status,
                               const char *content_type, const void *body,
                               size_t len);

/* Start a streamed response: length >= 0 sends Content-Length and then
 * exactly that many bytes must be written; -1 sends the body chunked.
 * Returns 0, -EALREADY, or a write error. */
CORIO_API int corio_http_reply_begin(corio_http_req *req, int status,
                                     int64_t length);

/* Write body bytes of a streamed response.  Returns 0, -EINVAL (not
 * begun, or past the announced length), or a write error. */
CORIO_API int corio_http_reply_write(corio_http_req *req, const void *buf,
                                     size_t n);

/* Send what a streamed response has written so far now, rather than at
 * corio_http_reply_end or when the write buffer fills (64 KiB): for
 * server-sent events, progress reports, long polls.  The head goes out
 * with the first flush; each chunk written before it is complete on the
 * wire (a chunked body is never cut inside a chunk).  Suspends until the
 * bytes are handed to the kernel.
 * Returns 0, or:
 *   -EINVAL  the reply is not a streamed one under way (no reply_begin,
 *            or already ended).
 *   -EPIPE, -ECONNRESET, ...  the write failed: the connection will be
 *            closed.
 *   -ECANCELED / -ETIMEDOUT
 * Cancel-safe: no; as for any write of the reply, an interrupted flush
 * leaves the connection to be closed.
 * Thread-safety: the handler's task only. */
CORIO_API int corio_http_reply_flush(corio_http_req *req);

/* Finish a streamed response (the last chunk; flushes).  Returns 0,
 * -EINVAL (fewer bytes written than announced: the connection will be
 * closed), or a write error. */
CORIO_API int corio_http_reply_end(corio_http_req *req);

/* Take the connection from the server after a reply, or instead of one
 * (the caller then writes the response itself on the stream, as
 * corio_ws_accept writes its 101 with "Connection: Upgrade", a field the
 * reply functions keep for themselves), for a protocol upgrade such as
 * WebSocket (a 1xx reply is flushed at once).  Returns the
 * stream — bytes the client sent after the request head are still in it —
 * and the server will neither read, write nor close it again; the caller
 * closes it (under corio_http_serve too, even after the handler returned;
 * corio_http_serve_conn returns CORIO_HTTP_DETACHED).  NULL if the request
 * has a body not read to the end, or was detached already.  Never
 * suspends. */
CORIO_API corio_stream *corio_http_req_detach(corio_http_req *req);

/* ---- In-process testing ----------------------------------------------------
 */

/* Make a client session whose connections are in-memory stream pairs
 * served by r (with server options so, NULL for the defaults) in tasks of
 * the session: requests go through the real client and server code, without
 * sockets.  Any host and port reach r.  co may be NULL; its dial fields are
 * replaced.  Free it with corio_http_session_free; each serving task (a
 * detached task) ends when its connection's client side is closed, so it
 * may outlive the session: r must outlive the serving tasks (free it after
 * the loop has ended).  Returns 0 and *out, or -EINVAL, -ENOMEM. */
CORIO_API CORIO_NODISCARD int
corio_http_test_session_new(corio_http_session **out, corio_http_router *r,
                            const corio_http_server_opts *so,
                            const corio_http_session_opts *co);

#ifdef __cplusplus
}
#endif
#endif
