/* http/server.h — what the server's files share: the request record (one
 * per connection, reused for each of its requests), the router's match,
 * and the reply writer's entry points for the connection loop.
 *
 * Parts:
 *   router.c       routes, matching with {name} and "*", 404 / 405
 *   server.c       the connection loop (corio_http_serve_conn), limits,
 *                  timeouts, error replies, corio_http_serve
 *   server_request.c the accessors of corio_http_req, path decoding, query
 *                  lookup, reading the body, the scratch arena
 *   server_reply.c   response heads and bodies (whole, streamed, chunked)
 *   test_session.c corio_http_test_session_new
 *
 * Memory: a connection allocates its record's buffers once and reuses them
 * for every request, so the common request allocates nothing.  The request
 * head is copied into the scratch arena (the stream's buffer moves on when
 * the body is read), where header values and the method are NUL-terminated
 * in place; the decoded path, route parameters and decoded query values
 * are carved from the same arena.
 *
 *   scratch arena: [ head copy | decoded path | params | query values ... ]
 *                  one block kept per connection; a request that needs
 *                  more gets overflow blocks, freed when it ends, and the
 *                  kept block grows to what that request needed. */
#ifndef CORIO_HTTP_SERVER_INTERNAL_H
#define CORIO_HTTP_SERVER_INTERNAL_H

#include <corio.h>
#include <stdbool.h>

#include "http/chars.h"
#include "http/msg.h"

#define CORIO__HTTP_MAX_PARAMS 16 /* route parameters of one pattern */

/* Resolved server options: every default filled in. */
typedef struct corio__http_conf {
    corio_event *stop;
    const bool *shutdown; /* corio_http_serve's shutdown began (or NULL) */
    int64_t header_timeout_ns;
    int64_t idle_timeout_ns;
    int64_t body_timeout_ns;
    int64_t body_min_rate; /* bytes/s, 0: none */
    int64_t send_timeout_ns;
    uint64_t max_body;
    size_t max_headers;
    corio_http_limits limits;
    size_t max_requests;
} corio__http_conf;

void corio__http_conf_init(corio__http_conf *c,
                           const corio_http_server_opts *o);

/* Has shutdown begun (opts.stop set, or corio_http_serve's shutdown)? */
static inline bool corio__http_stopping(const corio__http_conf *c)
{
    return (c->stop && corio_event_is_set(c->stop)) ||
           (c->shutdown && *c->shutdown);
}

/* An overflow block of the scratch arena. */
typedef struct corio__http_block {
    struct corio__http_block *next;
    size_t cap, used;
    char data[];
} corio__http_block;

/* Reply states. */
enum {
    CORIO__REPLY_NONE,   /* nothing sent yet */
    CORIO__REPLY_STREAM, /* head sent by reply_begin, body being written */
    CORIO__REPLY_DONE,   /* the whole response is written */
    CORIO__REPLY_BROKEN  /* a write failed or the body fell short: close */
};

struct corio_http_req {
    /* The connection. */
    corio_stream *s;
    corio_task *task;            /* under corio_http_serve: its task, */
    corio_http_req *prev, *next; /* on the server's list, */
    bool idle;                   /* waiting for a next request */
    const corio__http_conf *conf;
    corio_http_header *hv; /* conf->max_headers fields */

    /* The request. */
    corio_http_head h;
    const char *method, *path, *query;
    const char *raw_path; /* the path as sent (routing splits it before */
    size_t raw_len;       /* decoding, so "%2F" stays inside a segment) */
    bool is_head;         /* HEAD: the response has no body */
    bool keep;            /* keep the connection after this response */
    bool expect_continue; /* "100 Continue" still to send before reading */
    bool detached;
    corio__http_body body;
    uint64_t body_got;  /* body bytes read so far */
    int64_t body_start; /* the time of the body's first read (0: none yet) */
    int body_err;       /* the error a body read returned, or 0 */
    char *whole;        /* corio_http_req_body's buffer (kept) */
    size_t whole_len, whole_cap;
    bool whole_done;

    /* Route parameters: names borrowed from the router, values in the
     * arena. */
    size_t nparams;
    const char *pname[CORIO__HTTP_MAX_PARAMS];
    const char *pval[CORIO__HTTP_MAX_PARAMS];

    /* The reply. */
    int state; /* CORIO__REPLY_* */
    int status;
    bool chunked;  /* streamed with chunked coding */
    bool sized;    /* streamed with a Content-Length */
    bool no_body;  /* HEAD, 1xx, 204, 304: framing but no bytes */
    uint64_t left; /* streamed with a length: bytes still owed */
    char *hdrs;    /* "Name: value\r\n" lines added by the handler */
    size_t hdrs_len, hdrs_cap;
    bool unflushed; /* a response is buffered, not yet flushed */

    /* The scratch arena. */
    char *scr;
    size_t scr_cap, scr_used;
    corio__http_block *over;
    size_t over_used; /* bytes carved from overflow blocks */
};

/* server_request.c: percent-decode src[0..n) into dst (n + 1 bytes,
 * NUL-terminated); plus_space turns '+' into ' ' (query strings).
 * Returns 0, or -1 for a bad escape or an encoded NUL. */
int corio__http_pct_decode(char *dst, const char *src, size_t n,
                           bool plus_space);
/* server_request.c: carve n bytes from the arena (NULL: out of memory). */
void *corio__http_req_alloc(corio_http_req *req, size_t n);
/* server_request.c: take the head parsed in buf[0..len) (h's views into buf):
 * copy it into the arena and fill method, path, query.  Returns 0,
 * CORIO_EHTTP (a bad target or percent-encoding), -ENOMEM. */
int corio__http_req_take_head(corio_http_req *req, const char *buf, size_t len);
/* server_request.c: end of a request: free overflow blocks, grow the kept
 * block, reset the per-request fields. */
void corio__http_req_reset(corio_http_req *req);
/* server_request.c: free everything the connection holds. */
void corio__http_req_destroy(corio_http_req *req);
/* server_request.c: read and drop the rest of the body (at most max_body in
 * all). Returns 0 or the error of the body read. */
int corio__http_req_drain(corio_http_req *req);
/* server_request.c: flush the buffered responses if any are waiting. */
int corio__http_req_flush(corio_http_req *req);

/* server_reply.c: send a complete response with a short text body ("404 Not
 * Found\n") and, for a 405, the Allow field (NULL: none), dropping the
 * fields the handler added.  Not flushed.  Returns 0 or a write error. */
int corio__http_reply_simple(corio_http_req *req, int status,
                             const char *allow);

/* router.c: find the handler for req's method and path.  Returns 0 and
 * *fn, *arg with the parameters set in req; 404 (no route matches the
 * path); 405 with *allow set to "GET, HEAD, ..." in the arena; -ENOMEM. */
int corio__http_route(corio_http_router *r, corio_http_req *req,
                      corio_http_handler_fn *fn, void **arg,
                      const char **allow);

#endif
