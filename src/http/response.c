/* http/response.c — a response of the client session: status and header
 * lookup (the copies made by client.c), body reads under the read and total
 * timeouts, the buffered body, text and JSON (jansson), and freeing.
 *
 * Timeouts: each read that may wait opens one timeout scope ending at the
 * earlier of the request's total deadline (kept in the response, so it also
 * bounds reads made after corio_http_session_send returned) and now +
 * read_timeout_ns.  A read that cannot wait (a length-delimited body with
 * bytes buffered, or at its end) takes neither scope nor clock reading.
 * The connection goes back to the pool as soon as the body's end has been
 * read, not only when the response is freed; any read error closes it and
 * sticks: later reads return the same error. */
#include "http/session.h"

#include "os/sys.h"

#include <corio/http_json.h>
#include <stdlib.h>
#include <string.h>

/* A redirect's body shorter than this is read and dropped so its
 * connection can be reused; a longer one closes the connection. */
#define DISCARD_MAX (64u << 10)

/* After a body read: at the end, or on an error, the connection goes back
 * (reusable only at a clean end). */
static ssize_t finish(corio_http_response *r, ssize_t got)
{
    if (got > 0)
        return got;
    if (got == 0) {
        const void *p;
        size_t extra = 0;
        r->done = true;
        /* Bytes after the end of the body were never asked for: the next
         * response would start inside them.  Such a connection is not
         * reused. */
        CORIO_IGNORE(corio_stream_peek(r->c->s, &p, &extra));
        corio__http_pool_release(r->s, r->c, r->keepalive && !extra);
    } else {
        r->err = (int)got;
        corio__http_pool_release(r->s, r->c, false);
    }
    r->c = NULL;
    return got;
}

ssize_t corio__http_response_read(corio_http_response *r, void *buf, size_t n)
{
    if (r->err)
        return r->err;
    if (r->done || !n)
        return 0;
    corio_http_session *s = r->s;
    const void *p;
    size_t buffered;
    if (!r->dec && r->body.kind == CORIO_HTTP_BODY_LENGTH &&
        (!r->body.left ||
         (corio_stream_peek(r->body.s, &p, &buffered) == 0 && buffered))) {
        /* The read cannot wait (bytes are buffered, or the body is over):
         * no timeout scope, no clock reading — while the task's cooperative
         * budget lasts; when it is spent, the path below opens the scope
         * and passes the checkpoint, where an expired deadline is
         * delivered even though bytes are ready. */
        corio_task *self = corio__self();
        if (!self || self->coop > 1) {
            if (self)
                self->coop--;
            return finish(r, corio__http_body_read(&r->body, buf, n));
        }
    }
    int64_t now = corio_now(), until = r->deadline;
    if (s->o.read_timeout_ns > 0 && now + s->o.read_timeout_ns < until)
        until = now + s->o.read_timeout_ns;
    ssize_t got;
    if (until != INT64_MAX && (got = corio_timeout_begin_at(until)) < 0)
        return got;
    /* The checkpoint (core/loop.h): a body that is always ready (a fast
     * peer, a decompression bomb) still ends at its deadline. */
    corio_task *self = corio__self();
    got = self ? corio__coop(self) : 0;
    if (got == 0)
        got = r->dec ? corio__http_decoder_read(r->dec, &r->body, buf, n)
                     : corio__http_body_read(&r->body, buf, n);
    if (until != INT64_MAX)
        (void)corio_timeout_end();
    return finish(r, got);
}

void corio__http_response_discard(corio_http_response *r)
{
    char buf[4096];
    size_t total = 0;
    if (r->dec) { /* dropped bytes need no decoding */
        corio__http_decoder_free(r->dec);
        r->dec = NULL;
    }
    while (total <= DISCARD_MAX) {
        ssize_t n = corio__http_response_read(r, buf, sizeof buf);
        if (n <= 0)
            return;
        total += (size_t)n;
    }
}

ssize_t corio_http_response_read(corio_http_response *r, void *buf, size_t n)
{
    if (!r || (!buf && n))
        return -EINVAL;
    return corio__http_response_read(r, buf, n);
}

int corio_http_response_body(corio_http_response *r, const void **body,
                             size_t *len)
{
    if (!r || !body || !len)
        return -EINVAL;
    size_t max = r->s->o.max_body;
    if (!r->done && !r->err && r->body.kind == CORIO_HTTP_BODY_LENGTH &&
        !r->dec && r->body.left > max) {
        /* Known to be too large: fail before reading any of it. */
        r->err = CORIO_EBODYTOOLARGE;
        corio__http_pool_release(r->s, r->c, false);
        r->c = NULL;
    }
    while (!r->done) {
        if (r->err)
            return r->err;
        if (r->cap - r->len < 2) {
            size_t cap = r->cap ? r->cap * 2 : 16384;
            if (!r->cap && r->body.kind == CORIO_HTTP_BODY_LENGTH && !r->dec &&
                r->body.left < max)
                cap = (size_t)r->body.left + 2; /* exact: no regrowth */
            if (cap > max + 2)
                cap = max + 2;
            if (cap <= r->cap) {
                /* Full at max_body + 1 bytes: one byte too many. */
                r->err = CORIO_EBODYTOOLARGE;
                corio__http_pool_release(r->s, r->c, false);
                r->c = NULL;
                return r->err;
            }
            char *d = corio__sys.realloc(r->data, cap);
            if (!d)
                return -ENOMEM;
            r->data = d;
            r->cap = cap;
        }
        ssize_t n =
            corio__http_response_read(r, r->data + r->len, r->cap - r->len - 1);
        if (n < 0)
            return (int)n;
        r->len += (size_t)n;
    }
    if (r->err)
        return r->err;
    if (!r->data) {
        r->data = corio__sys.malloc(1);
        if (!r->data)
            return -ENOMEM;
        r->cap = 1;
    }
    r->data[r->len] = 0;
    *body = r->data;
    *len = r->len;
    return 0;
}

int corio_http_response_text(corio_http_response *r, const char **text)
{
    const void *b;
    size_t n;
    if (!text)
        return -EINVAL;
    int rc = corio_http_response_body(r, &b, &n);
    *text = rc == 0 ? b : NULL;
    return rc;
}

int corio_http_response_json(corio_http_response *r, json_t **out)
{
    const void *b;
    size_t n;
    json_error_t e;
    if (!out)
        return -EINVAL;
    *out = NULL;
    int rc = corio_http_response_body(r, &b, &n);
    if (rc < 0)
        return rc;
    *out = json_loadb(b, n, JSON_DECODE_ANY, &e);
    return *out ? 0 : CORIO_EJSON;
}

int corio_http_response_status(const corio_http_response *r)
{
    return r ? r->status : -EINVAL;
}

int corio_http_response_raise_for_status(const corio_http_response *r)
{
    if (!r)
        return -EINVAL;
    return r->status >= 400 ? CORIO_EHTTPSTATUS : 0;
}

const char *corio_http_response_header(const corio_http_response *r,
                                       const char *name)
{
    if (!r || !name)
        return NULL;
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->hdrs[2 * i], name) == 0)
            return r->hdrs[2 * i + 1];
    return NULL;
}

size_t corio_http_response_nheaders(const corio_http_response *r)
{
    return r ? r->nheaders : 0;
}

int corio_http_response_header_at(const corio_http_response *r, size_t i,
                                  const char **name, const char **value)
{
    if (!r || i >= r->nheaders)
        return -ERANGE;
    if (name)
        *name = r->hdrs[2 * i];
    if (value)
        *value = r->hdrs[2 * i + 1];
    return 0;
}

const char *corio_http_response_url(const corio_http_response *r)
{
    return r ? r->url : NULL;
}

void corio_http_response_free(corio_http_response *r)
{
    if (!r)
        return;
    if (r->c) /* body not read to the end: the connection's state is
                 unknown */
        corio__http_pool_release(r->s, r->c, false);
    corio__http_decoder_free(r->dec);
    free(r->data);
    corio__http_session_unref(r->s);
    free(r);
}
