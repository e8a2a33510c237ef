/* http/router.c — corio_http_router: routes of (method, pattern, handler)
 * and the match of a request against them.
 *
 * Parts:
 *   patterns   parsed once, at corio_http_router_add, into segments:
 *              literal text, {name} (one non-empty segment) or a last "*"
 *              (the rest of the path, possibly empty).
 *   matching   every route is tried against the path (routers
 *              are small; a scan of a few patterns costs less than a tree
 *              walk's pointer chasing).  Among the routes whose method
 *              fits, the most specific wins: segment by segment, literal
 *              beats {name} beats "*"; among equals the first added.  If
 *              routes match the path but none the method, the answer is
 *              405 with their methods in Allow.
 * Matching works on the path as sent, split at '/' before decoding (an
 * encoded "%2F" belongs to its segment, as in Go's ServeMux); literal
 * segments compare decoded, parameter values are decoded into the
 * request's arena — the only allocation of a match. */
#include "os/sys.h"
#include "http/server.h"

#include <stdlib.h>
#include <string.h>

enum { SEG_LIT, SEG_PARAM, SEG_WILD };

typedef struct seg {
    int kind;
    const char *text; /* literal text, or the parameter's name ("*") */
    size_t len;
} seg;

typedef struct route {
    char *method; /* NULL: any */
    corio_http_handler_fn fn;
    void *arg;
    char *pattern; /* the copy the segments point into */
    size_t nseg;
    size_t nparams;
    seg segs[];
} route;

struct corio_http_router {
    route **v;
    size_t n, cap;
};

int corio_http_router_new(corio_http_router **out)
{
    if (!out)
        return -EINVAL;
    *out = corio__sys.calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

static void route_free(route *rt)
{
    free(rt->method);
    free(rt->pattern);
    free(rt);
}

void corio_http_router_free(corio_http_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_free(r->v[i]);
    free(r->v);
    free(r);
}

/* Split pat (a private copy) into rt->segs; -EINVAL for a bad pattern. */
static int parse_pattern(route *rt, char *pat, size_t maxseg)
{
    char *p = pat + 1;
    rt->nseg = 0;
    rt->nparams = 0;
    for (;;) {
        char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        seg *sg = &rt->segs[rt->nseg++];
        if (rt->nseg > maxseg)
            return -EINVAL;
        if (len == 1 && p[0] == '*') {
            if (end)
                return -EINVAL; /* "*" must be last */
            *sg = (seg){SEG_WILD, "*", 1};
        } else if (len && p[0] == '{') {
            if (len < 3 || p[len - 1] != '}' || memchr(p + 1, '{', len - 2) ||
                memchr(p + 1, '}', len - 2))
                return -EINVAL;
            p[len - 1] = 0; /* the name, NUL-terminated in the copy */
            *sg = (seg){SEG_PARAM, p + 1, len - 2};
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len))
                return -EINVAL;
            *sg = (seg){SEG_LIT, p, len};
        }
        if (sg->kind != SEG_LIT && ++rt->nparams > CORIO__HTTP_MAX_PARAMS)
            return -EINVAL;
        if (!end)
            return 0;
        *end = 0;
        p = end + 1;
    }
}

static bool same_shape(const route *a, const route *b)
{
    if (a->nseg != b->nseg)
        return false;
    if (!a->method != !b->method || (a->method && strcmp(a->method, b->method)))
        return false;
    for (size_t i = 0; i < a->nseg; i++) {
        const seg *x = &a->segs[i], *y = &b->segs[i];
        if (x->kind != y->kind)
            return false;
        if (x->kind == SEG_LIT &&
            (x->len != y->len || memcmp(x->text, y->text, x->len)))
            return false;
    }
    return true;
}

int corio_http_router_add(corio_http_router *r, const char *method,
                          const char *pattern, corio_http_handler_fn fn,
                          void *arg)
{
    if (!r || !pattern || !fn || pattern[0] != '/' || (method && !*method))
        return -EINVAL;
    size_t maxseg = 1;
    for (const char *p = pattern; *p; p++)
        maxseg += *p == '/';
    route *rt = corio__sys.calloc(1, sizeof *rt + maxseg * sizeof(seg));
    if (!rt)
        return -ENOMEM;
    rt->fn = fn;
    rt->arg = arg;
    rt->pattern = corio__strdup(pattern);
    if (method)
        rt->method = corio__strdup(method);
    int rc = !rt->pattern || (method && !rt->method)
                 ? -ENOMEM
                 : parse_pattern(rt, rt->pattern, maxseg);
    for (size_t i = 0; rc == 0 && i < r->n; i++)
        if (same_shape(r->v[i], rt))
            rc = -EEXIST;
    if (rc == 0 && r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        route **v = corio__sys.realloc(r->v, cap * sizeof *v);
        if (!v)
            rc = -ENOMEM;
        else {
            r->v = v;
            r->cap = cap;
        }
    }
    if (rc < 0) {
        route_free(rt);
        return rc;
    }
    r->v[r->n++] = rt;
    return 0;
}

/* A parameter's value while matching: a view into the path. */
typedef struct cap {
    const char *p;
    size_t n;
} cap;

/* Does the raw (still percent-encoded) segment p[0..n) decode to
 * lit[0..litn)? */
static bool seg_eq(const char *p, size_t n, const char *lit, size_t litn)
{
    if (n == litn && !memcmp(p, lit, n))
        return true;
    size_t j = 0;
    for (size_t i = 0; i < n; i++, j++) {
        char c = p[i];
        if (c == '%' && i + 2 < n) {
            int hi = corio__http_hexval(p[i + 1]),
                lo = corio__http_hexval(p[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (j >= litn || lit[j] != c)
            return false;
    }
    return j == litn;
}

/* Does the raw path path[0..n) match rt?  Segments are split before
 * decoding, so an encoded '/' stays inside its segment.  Fills
 * caps[0..rt->nparams) with raw views. */
static bool match(const route *rt, const char *path, size_t n, cap *caps)
{
    if (!n || *path != '/')
        return false;
    const char *p = path + 1, *pend = path + n;
    size_t nc = 0;
    for (size_t i = 0; i < rt->nseg; i++) {
        const seg *sg = &rt->segs[i];
        if (!p)
            return false; /* the path ran out of segments */
        if (sg->kind == SEG_WILD) {
            caps[nc++] = (cap){p, (size_t)(pend - p)};
            return true;
        }
        const char *end = memchr(p, '/', (size_t)(pend - p));
        size_t len = (size_t)((end ? end : pend) - p);
        if (sg->kind == SEG_LIT) {
            if (!seg_eq(p, len, sg->text, sg->len))
                return false;
        } else {
            if (!len)
                return false;
            caps[nc++] = (cap){p, len};
        }
        p = end ? end + 1 : NULL;
    }
    return !p;
}

/* Is a more specific than b (segment kinds compared in order)? */
static bool better(const route *a, const route *b)
{
    for (size_t i = 0; i < a->nseg && i < b->nseg; i++)
        if (a->segs[i].kind != b->segs[i].kind)
            return a->segs[i].kind < b->segs[i].kind;
    return false;
}

static bool method_fits(const route *rt, const char *m, bool is_head)
{
    return !rt->method || !strcmp(rt->method, m) ||
           (is_head && !strcmp(rt->method, "GET"));
}

/* Allow for a 405: the methods of the routes matching the path, in the
 * order added, each once (and HEAD where GET is). */
static const char *allow_list(corio_http_router *r, corio_http_req *req)
{
    cap caps[CORIO__HTTP_MAX_PARAMS];
    size_t need = 1;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i]->method)
            need += strlen(r->v[i]->method) + 2 + 6;
    char *out = corio__http_req_alloc(req, need);
    if (!out)
        return NULL;
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = r->v[i];
        if (!rt->method || !match(rt, req->raw_path, req->raw_len, caps))
            continue;
        const char *ms[2] = {rt->method,
                             !strcmp(rt->method, "GET") ? "HEAD" : NULL};
        for (int k = 0; k < 2 && ms[k]; k++) {
            size_t ml = strlen(ms[k]);
            bool dup = false;
            for (const char *q = out; (q = strstr(q, ms[k])) && !dup; q += ml)
                dup = (q == out || q[-1] == ' ') && (q[ml] == ',' || !q[ml]);
            if (dup)
                continue;
            if (n) {
                memcpy(out + n, ", ", 2);
                n += 2;
            }
            memcpy(out + n, ms[k], ml + 1);
            n += ml;
        }
    }
    return out;
}

int corio__http_route(corio_http_router *r, corio_http_req *req,
                      corio_http_handler_fn *fn, void **arg, const char **allow)
{
    cap caps[CORIO__HTTP_MAX_PARAMS], best_caps[CORIO__HTTP_MAX_PARAMS];
    const route *best = NULL;
    bool path_known = false;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = r->v[i];
        if (best && !better(rt, best))
            continue;
        if (!match(rt, req->raw_path, req->raw_len, caps))
            continue;
        path_known = true;
        if (!method_fits(rt, req->method, req->is_head))
            continue;
        best = rt;
        memcpy(best_caps, caps, rt->nparams * sizeof *caps);
    }
    if (!best) {
        /* A path could still be known through a less specific route that
         * the shortcut above skipped: look again when it matters. */
        for (size_t i = 0; !path_known && i < r->n; i++)
            path_known = match(r->v[i], req->raw_path, req->raw_len, caps);
        if (!path_known)
            return 404;
        *allow = allow_list(r, req);
        return *allow ? 405 : -ENOMEM;
    }
    req->nparams = 0;
    size_t np = 0;
    for (size_t i = 0; i < best->nseg; i++) {
        const seg *sg = &best->segs[i];
        if (sg->kind == SEG_LIT)
            continue;
        char *v = corio__http_req_alloc(req, best_caps[np].n + 1);
        if (!v)
            return -ENOMEM;
        /* The path decoded without error, so its pieces do too. */
        corio__http_pct_decode(v, best_caps[np].p, best_caps[np].n, false);
        req->pname[np] = sg->text;
        req->pval[np] = v;
        np++;
    }
    req->nparams = np;
    *fn = best->fn;
    *arg = best->arg;
    return 0;
}
