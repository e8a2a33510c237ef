/* http/server_request.c — the request side of corio_http_req: taking a parsed
 * head into the arena, the accessors (method, path, query, headers,
 * parameters), reading the body, and the arena itself.
 *
 * Parts:
 *   the arena        corio__http_req_alloc; one kept block per connection
 *                    plus overflow blocks for an unusually large request
 *                    (see http/server.h).
 *   the head         corio__http_req_take_head copies the head out of the
 *                    stream's buffer, NUL-terminates method and header
 *                    values in the copy, and decodes the path.
 *   the body         corio_http_req_read / _body: "100 Continue" before the
 *                    first read, max_body, body_timeout_ns per wait. */
#include "os/sys.h"
#include "http/server.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_MIN 4096
#define ARENA_KEEP (64 * 1024) /* a larger arena block is not kept */
#define WHOLE_KEEP (64 * 1024) /* a larger body buffer is not kept */

void *corio__http_req_alloc(corio_http_req *req, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (req->scr_cap - req->scr_used >= n) {
        void *p = req->scr + req->scr_used;
        req->scr_used += n;
        return p;
    }
    corio__http_block *b = req->over;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_MIN ? n : ARENA_MIN;
        b = corio__sys.malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = req->over;
        req->over = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    req->over_used += n;
    return p;
}

void corio__http_req_reset(corio_http_req *req)
{
    if (req->over) {
        /* Keep a block this request would have fitted in, with room to
         * spare: requests of one connection vary a little.  A huge one
         * is not kept. */
        size_t want = 2 * (req->scr_used + req->over_used);
        if (want < ARENA_MIN)
            want = ARENA_MIN;
        while (req->over) {
            corio__http_block *b = req->over;
            req->over = b->next;
            free(b);
        }
        char *p = want <= ARENA_KEEP ? corio__sys.malloc(want) : NULL;
        if (p) {
            free(req->scr);
            req->scr = p;
            req->scr_cap = want;
        }
    }
    req->over_used = 0;
    req->scr_used = 0;
    if (req->whole_cap > WHOLE_KEEP) {
        free(req->whole);
        req->whole = NULL;
        req->whole_cap = 0;
    }
    req->whole_len = 0;
    req->whole_done = false;
    req->hdrs_len = 0;
    req->nparams = 0;
    req->state = CORIO__REPLY_NONE;
    req->status = 0;
    req->chunked = req->no_body = req->sized = false;
    req->left = 0;
    req->body_got = 0;
    req->body_start = 0;
    req->body_err = 0;
    req->expect_continue = false;
}

void corio__http_req_destroy(corio_http_req *req)
{
    corio__http_req_reset(req);
    free(req->scr);
    free(req->whole);
    free(req->hdrs);
    free(req->hv);
    req->scr = req->whole = req->hdrs = NULL;
    req->hv = NULL;
}

/* Move a view from the stream's buffer to the copy at base. */
static void rebase(corio_http_str *v, const char *buf, size_t len, char *base)
{
    if (v->p >= buf && v->p <= buf + len)
        v->p = base + (v->p - buf);
    else
        v->p = "";
}

int corio__http_pct_decode(char *dst, const char *src, size_t n,
                           bool plus_space)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            if ((hi = corio__http_hexval(src[i + 1])) < 0 ||
                (lo = corio__http_hexval(src[i + 2])) < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            if (!c)
                return -1;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        dst[j++] = c;
    }
    dst[j] = 0;
    return 0;
}

int corio__http_req_take_head(corio_http_req *req, const char *buf, size_t len)
{
    corio_http_head *h = &req->h;
    char *copy = corio__http_req_alloc(req, len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, buf, len);
    copy[len] = 0;

    /* Method and target are followed by a space, header values by CR, LF
     * or whitespace: NUL-terminate them in the copy. */
    rebase(&h->method, buf, len, copy);
    rebase(&h->target, buf, len, copy);
    ((char *)h->method.p)[h->method.n] = 0;
    ((char *)h->target.p)[h->target.n] = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        corio_http_header *f = &h->headers[i];
        rebase(&f->name, buf, len, copy);
        rebase(&f->value, buf, len, copy);
        if (f->value.n)
            ((char *)f->value.p)[f->value.n] = 0;
    }
    req->method = h->method.p;
    req->is_head = h->method.n == 4 && !memcmp(h->method.p, "HEAD", 4);

    /* The path: origin form "/p?q"; absolute form "http://host/p?q"
     * routes on its path; anything else ("*", authority form) is kept as
     * it is and matches no route. */
    const char *t = h->target.p, *end = t + h->target.n;
    if (*t != '/') {
        const char *sch = memchr(t, ':', h->target.n);
        if (sch && sch + 2 < end && sch[1] == '/' && sch[2] == '/') {
            const char *p = memchr(sch + 3, '/', (size_t)(end - sch - 3));
            const char *q = memchr(sch + 3, '?', (size_t)(end - sch - 3));
            t = p && (!q || p < q) ? p : "/";
            if (!p || (q && q < p)) {
                req->path = req->raw_path = "/";
                req->raw_len = 1;
                req->query = q ? q + 1 : "";
                return 0;
            }
            end = t + strlen(t);
        }
    }
    const char *q = memchr(t, '?', (size_t)(end - t));
    req->query = q ? q + 1 : "";
    size_t plen = (size_t)((q ? q : end) - t);
    char *path = corio__http_req_alloc(req, plen + 1);
    if (!path)
        return -ENOMEM;
    if (memchr(t, '%', plen)) {
        if (corio__http_pct_decode(path, t, plen, false) < 0)
            return CORIO_EHTTP;
    } else {
        memcpy(path, t, plen);
        path[plen] = 0;
    }
    req->path = path;
    req->raw_path = t;
    req->raw_len = plen;
    return 0;
}

const char *corio_http_req_method(const corio_http_req *req)
{
    return req ? req->method : NULL;
}

const char *corio_http_req_path(const corio_http_req *req)
{
    return req ? req->path : NULL;
}

const char *corio_http_req_query(const corio_http_req *req)
{
    return req ? req->query : NULL;
}

const char *corio_http_req_query_get(corio_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    size_t nl = strlen(name);
    const char *p = req->query;
    char *key = NULL;
    size_t keycap = 0;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        /* Names are compared decoded; most are plain, so decode only
         * when there is something to decode. */
        bool same;
        if (!memchr(p, '%', kl) && !memchr(p, '+', kl)) {
            same = kl == nl && !memcmp(p, name, nl);
        } else {
            if (kl + 1 > keycap) {
                key = corio__http_req_alloc(req, kl + 1);
                keycap = key ? kl + 1 : 0;
            }
            same = key && corio__http_pct_decode(key, p, kl, true) == 0 &&
                   !strcmp(key, name);
        }
        if (same) {
            size_t vl = eq ? len - kl - 1 : 0;
            char *v = corio__http_req_alloc(req, vl + 1);
            if (!v || corio__http_pct_decode(v, eq ? eq + 1 : p, vl, true) < 0)
                return NULL;
            return v;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return NULL;
}

const char *corio_http_req_header(const corio_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    const corio_http_str *v = corio_http_head_get(&req->h, name);
    return v ? (v->n ? v->p : "") : NULL;
}

const char *corio_http_req_param(const corio_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->nparams; i++)
        if (!strcmp(req->pname[i], name))
            return req->pval[i];
    return NULL;
}

int64_t corio_http_req_content_length(const corio_http_req *req)
{
    return req && !(req->h.flags & CORIO_HTTP_CHUNKED) ? req->h.content_length
                                                       : -1;
}

int corio__http_req_flush(corio_http_req *req)
{
    if (!req->unflushed)
        return 0;
    int rc = corio_stream_flush(req->s);
    if (rc == 0)
        req->unflushed = false;
    return rc;
}

/* The deadline of the next body read: body_timeout_ns of silence at most,
 * and the minimum rate on average since the body's first read. */
static int64_t body_deadline(corio_http_req *req)
{
    const corio__http_conf *cf = req->conf;
    int64_t now = corio_now();
    int64_t d = now + cf->body_timeout_ns;
    if (!req->body_start)
        req->body_start = now;
    if (cf->body_min_rate > 0) {
        uint64_t per = (uint64_t)CORIO_SECOND / (uint64_t)cf->body_min_rate;
        uint64_t got = req->body_got;
        int64_t allowed = got > (uint64_t)INT64_MAX / (per ? per : 1)
                              ? INT64_MAX
                              : (int64_t)(got * per);
        int64_t rate_d = req->body_start + cf->body_timeout_ns;
        rate_d = allowed > INT64_MAX - rate_d ? INT64_MAX : rate_d + allowed;
        if (rate_d < d)
            d = rate_d;
    }
    return d;
}

/* One body read under body_deadline; errors end keep-alive. */
static ssize_t body_read(corio_http_req *req, void *buf, size_t n)
{
    int rc = corio__http_req_flush(req); /* a pipelined answer may wait */
    if (rc < 0)
        return rc;
    if ((rc = corio_timeout_begin_at(body_deadline(req))) < 0)
        return rc;
    ssize_t r = corio__http_body_read(&req->body, buf, n);
    corio_timeout_end();
    return r;
}

ssize_t corio_http_req_read(corio_http_req *req, void *buf, size_t n)
{
    if (!req || (!buf && n))
        return -EINVAL;
    if (req->detached)
        return -EINVAL;
    if (req->body_err)
        return req->body_err;
    if (req->body.done || req->body.kind == CORIO_HTTP_BODY_NONE || !n)
        return 0;
    if (req->expect_continue) {
        req->expect_continue = false;
        if (req->state == CORIO__REPLY_NONE) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            int rc = corio_stream_write(req->s, cont, sizeof cont - 1);
            if (rc == 0)
                rc = corio_stream_flush(req->s);
            if (rc < 0) {
                req->body_err = rc;
                req->keep = false;
                return rc;
            }
        }
    }
    /* Ask for at most one byte past max_body, to see it passed. */
    uint64_t room = req->conf->max_body - req->body_got;
    if (n > room + 1)
        n = (size_t)room + 1;
    ssize_t r = body_read(req, buf, n);
    if (r > 0 && (req->body_got += (uint64_t)r) > req->conf->max_body)
        r = CORIO_EBODYTOOLARGE;
    if (r < 0) {
        req->body_err = (int)r;
        req->keep = false;
    }
    return r;
}

int corio_http_req_body(corio_http_req *req, const void **body, size_t *len)
{
    if (!req || !body || !len)
        return -EINVAL;
    while (!req->whole_done) {
        if (req->whole_cap - req->whole_len < 2) {
            int64_t cl = corio_http_req_content_length(req);
            size_t cap = req->whole_cap ? 2 * req->whole_cap : 4096;
            if (cl >= 0 && !req->whole_cap &&
                (uint64_t)cl < req->conf->max_body)
                cap = (size_t)cl + 2;
            if (cap > req->conf->max_body + 2)
                cap = (size_t)req->conf->max_body + 2;
            char *p = corio__sys.realloc(req->whole, cap);
            if (!p)
                return -ENOMEM;
            req->whole = p;
            req->whole_cap = cap;
        }
        ssize_t r = corio_http_req_read(req, req->whole + req->whole_len,
                                        req->whole_cap - req->whole_len - 1);
        if (r < 0)
            return (int)r;
        if (r == 0)
            req->whole_done = true;
        req->whole_len += (size_t)r;
    }
    if (!req->whole) /* no body at all */
        *body = "";
    else {
        req->whole[req->whole_len] = 0;
        *body = req->whole;
    }
    *len = req->whole_len;
    return 0;
}

int corio__http_req_drain(corio_http_req *req)
{
    if (req->body_err)
        return req->body_err;
    if (req->body.done || req->body.kind == CORIO_HTTP_BODY_NONE)
        return 0;
    if (req->expect_continue)
        return CORIO_EHTTP; /* the client waits to be asked: don't */
    int rc = corio__http_req_flush(req);
    if (rc < 0)
        return rc;
    if ((rc = corio_timeout_begin_at(body_deadline(req))) < 0)
        return rc;
    rc = corio__http_body_skip(&req->body, req->conf->max_body - req->body_got);
    corio_timeout_end();
    return rc;
}

corio_stream *corio_http_req_detach(corio_http_req *req)
{
    if (!req || req->detached)
        return NULL;
    if (req->body.kind != CORIO_HTTP_BODY_NONE && !req->body.done)
        return NULL;
    req->detached = true;
    req->keep = false;
    return req->s;
}
