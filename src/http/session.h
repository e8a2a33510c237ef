/* http/session.h — the client session's internals, shared by its files:
 *   http/session.c   the session object, its options, its lifetime.
 *   http/pool.c      connections per origin: limits, FIFO waiters, idle
 *                    expiry.
 *   http/client.c    one request on one connection: write it, read the head,
 *                    make the response; the stale-connection retry.
 *   http/send.c      corio_http_session_send: the total timeout, redirects.
 *   http/response.c  the response: header lookup, body reads, body, text,
 *                    JSON.
 *   http/decode.c    gzip / deflate decoding of a body.
 *   http/resolve.c   a redirect's Location resolved against the URL.
 *
 * Lifetime: the session counts its references (itself until
 * corio_http_session_free, and each response not yet freed).  A connection
 * belongs to the pool while idle and to one response while in use; when the
 * session has been freed, connections coming back are closed instead of
 * pooled, and the last reference frees the session. */
#ifndef CORIO_HTTP_SESSION_H
#define CORIO_HTTP_SESSION_H

#include "core/loop.h"
#include "http/msg.h"
#include "sync/waitq.h"

#include <corio.h>

typedef struct corio__http_origin corio__http_origin;
typedef struct corio__http_conn corio__http_conn;
typedef struct corio__http_decoder corio__http_decoder;

/* One connection of the pool. */
struct corio__http_conn {
    corio__http_origin *o;
    corio_stream *s;
    corio__http_conn *prev, *next; /* the origin's idle list, while idle */
    int64_t expires;               /* while idle: when it closes */
    unsigned long used;            /* responses read on it (> 0: reused) */
};

/* The pool of one origin (scheme, host, port). */
struct corio__http_origin {
    corio__http_origin *next;
    corio__http_conn *idle, *idle_tail; /* most recently used first */
    size_t nopen;                       /* idle, busy, or being dialled */
    size_t nwait;                       /* tasks waiting for it */
    int port;
    bool tls;
    char host[]; /* NUL-terminated */
};

#define CORIO__HTTP_ON_FREE_MAX 4

struct corio_http_session {
    corio_http_session_opts o; /* defaults resolved */
    char *user_agent;          /* owned; NULL: send none */
    corio__http_origin *origins;
    size_t nopen;            /* connections open, all origins */
    corio__waitq waiters;    /* FIFO; each waiter's owner is its origin */
    corio__timer idle_timer; /* fires at the first idle expiry */
    corio__loop *loop;       /* the loop whose timer heap holds it */
    size_t refs;
    bool freed; /* corio_http_session_free was called */
    struct {
        void (*fn)(void *);
        void *arg;
    } on_free[CORIO__HTTP_ON_FREE_MAX];
    int non_free;
};

/* Call fn(arg) when s is finally freed (after corio_http_session_free and
 * the last response).  At most CORIO__HTTP_ON_FREE_MAX per session. */
void corio__http_session_on_free(corio_http_session *s, void (*fn)(void *),
                                 void *arg);

/* Take a reference to s / drop one (the last frees it). */
void corio__http_session_ref(corio_http_session *s);
void corio__http_session_unref(corio_http_session *s);

/* ---- pool.c ---- */

/* Get a connection to u's origin: an idle one (unless fresh), else a new
 * one under the limits (dialled under connect_timeout_ns), else wait FIFO.
 * Returns 0 and *out, or a dial error, -ECANCELED / -ETIMEDOUT, -ENOMEM. */
int corio__http_pool_acquire(corio_http_session *s, const corio_url *u,
                             corio__http_conn **out,
                             corio_error_detail *detail);

/* Replace c's stream with a new connection (the stale-connection retry:
 * the slot is kept).  On failure c is released (closed).  Returns 0 or a
 * dial error. */
int corio__http_pool_redial(corio_http_session *s, corio__http_conn *c,
                            const corio_url *u, corio_error_detail *detail);

/* Give c back: to a waiter of its origin, to the idle list (reusable), or
 * closed (not reusable; the slot goes to the first waiter it can serve).
 * Never suspends. */
void corio__http_pool_release(corio_http_session *s, corio__http_conn *c,
                              bool reusable);

/* Close every idle connection (session free).  Never suspends. */
void corio__http_pool_close_idle(corio_http_session *s);

/* Free the origins (the last reference; nothing is open). */
void corio__http_pool_free(corio_http_session *s);

/* ---- client.c ---- */

/* What one hop of a request sends (send.c fills it). */
typedef struct corio__http_call {
    const char *method;
    const char *url; /* NUL-terminated */
    corio_url u;     /* parsed url */
    const char *const *headers;
    bool strip_credentials; /* cross-origin redirect: no Authorization/Cookie */
    const void *body;
    size_t body_len;
    corio_stream *body_stream;
    bool has_body;
    unsigned flags;
    int64_t deadline;           /* INT64_MAX: none */
    corio_error_detail *detail; /* the request's, or NULL */
} corio__http_call;

/* Send c on a pooled connection and read the response head (retrying once
 * on a fresh connection when a reused one turns out to be dead).
 * Returns 0 and *out, or an error (the connection is then closed). */
int corio__http_exchange(corio_http_session *s, const corio__http_call *c,
                         corio_http_response **out);

/* ---- response.c ---- */

struct corio_http_response {
    corio_http_session *s;
    corio__http_conn *c; /* NULL once the body ended or it was closed */
    corio__http_body body;
    corio__http_decoder *dec; /* gzip/deflate, or NULL */
    int status;
    bool keepalive;   /* both sides allow reuse */
    bool done;        /* body read to the end */
    int err;          /* sticky read error */
    int64_t deadline; /* total timeout, INT64_MAX: none */
    char *data;       /* corio_http_response_body */
    size_t len, cap;
    const char *url;
    size_t nheaders;
    const char **hdrs; /* name, value, name, value, ... */
};

/* Read raw (undecoded) body bytes, or decoded ones; applies the read and
 * total timeouts and releases the connection at the end of the body. */
ssize_t corio__http_response_read(corio_http_response *r, void *buf, size_t n);

/* Drop the body of a response about to be replaced (a redirect): read it
 * to its end if it is short, so its connection can be reused. */
void corio__http_response_discard(corio_http_response *r);

/* ---- decode.c ---- */

/* Make a decoder for a Content-Encoding value (gzip, x-gzip, deflate):
 * 0 and *out, 1 when the coding is not one decoded here (*out = NULL), or
 * -ENOMEM. */
int corio__http_decoder_new(corio__http_decoder **out, corio_http_str coding);

/* Read up to n decoded bytes of b.  Returns the count, 0 at the end (the
 * body was read to its end), CORIO_EHTTP (corrupt or truncated data), or an
 * error of corio__http_body_read. */
ssize_t corio__http_decoder_read(corio__http_decoder *d, corio__http_body *b,
                                 void *buf, size_t n);

void corio__http_decoder_free(corio__http_decoder *d);

/* ---- resolve.c ---- */

/* Resolve a redirect's Location value loc against the URL base (parsed as
 * bu, whose target is a view of base or of a string with the same target),
 * as RFC 3986 §5.2.2 does but leaving dot segments to the server: absolute
 * ("scheme:..."), scheme-relative ("//host/p"), absolute-path, query-only,
 * fragment-only or empty (base's path and query kept), or relative to the
 * directory of base's path.  Returns 0 and *out (malloc'd, NUL-terminated;
 * it may not parse as a URL: the caller checks), or -ENOMEM.  Checked
 * against a reference by fuzz/resolve.c. */
int corio__http_resolve(const char *base, const corio_url *bu, const char *loc,
                        char **out);

#endif
