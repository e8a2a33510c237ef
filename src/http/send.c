/* http/send.c — corio_http_session_send: checks the request, appends
 * the percent-encoded query, opens the total timeout scope, and follows
 * redirects:
 *   301, 302, 303  the next request is a GET without a body (HEAD stays
 *                  HEAD);
 *   307, 308       the method and body are kept (a streamed body cannot be
 *                  sent again: such a response is returned as it is);
 *   another origin Authorization and Cookie are no longer sent;
 *   Location       absolute, scheme-relative ("//host/p"), absolute-path,
 *                  query-only, fragment-only or relative to the current
 *                  URL's directory (dot segments are left to the server):
 *                  corio__http_resolve in resolve.c.
 * Each hop takes a connection from the pool (client.c); the body of a
 * redirect response is read and dropped when short, so its connection is
 * reused. */
#include "http/chars.h"
#include "http/session.h"

#include "os/sys.h"

#include <stdlib.h>
#include <string.h>

static bool is_token(const char *p)
{
    if (!*p)
        return false;
    for (; *p; p++)
        if (!corio__http_is(*p, CORIO__HTTP_TCHAR))
            return false;
    return true;
}

static int check_request(const corio_http_request *q, const char *method)
{
    if (!q->url || !is_token(method) || (q->body && q->body_stream) ||
        (!q->body && q->body_len))
        return -EINVAL;
    static const char *const fixed[] = {"host", "content-length",
                                        "transfer-encoding", "connection"};
    for (const char *const *h = q->headers; h && h[0]; h += 2) {
        if (!h[1] || !is_token(h[0]) || strpbrk(h[1], "\r\n"))
            return -EINVAL;
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            if (strcasecmp(h[0], fixed[i]) == 0)
                return -EINVAL;
    }
    for (const char *const *p = q->query; p && p[0]; p += 2)
        if (!p[1])
            return -EINVAL;
    return 0;
}

/* Percent-encode p into out (NULL: just count); RFC 3986 unreserved bytes
 * stay as they are.  Returns the encoded length. */
static size_t pct(char *out, const char *p)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
            ch == '~') {
            if (out)
                out[n] = (char)ch;
            n++;
        } else {
            if (out) {
                out[n] = '%';
                out[n + 1] = hex[ch >> 4];
                out[n + 2] = hex[ch & 15];
            }
            n += 3;
        }
    }
    return n;
}

/* url with the query pairs appended (the fragment dropped).  Returns 0 and
 * *out (malloc'd), or -ENOMEM. */
static int with_query(const char *url, const char *const *q, char **out)
{
    size_t base = strcspn(url, "#");
    const char *qm = memchr(url, '?', base);
    size_t n = base + 1;
    for (const char *const *p = q; p[0]; p += 2)
        n += 2 + pct(NULL, p[0]) + pct(NULL, p[1]);
    char *s = corio__sys.malloc(n + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, url, base);
    size_t k = base;
    char sep = qm ? '&' : '?';
    if (qm && (url[base - 1] == '?' || url[base - 1] == '&'))
        sep = 0;
    for (const char *const *p = q; p[0]; p += 2) {
        if (sep)
            s[k++] = sep;
        sep = '&';
        k += pct(s + k, p[0]);
        s[k++] = '=';
        k += pct(s + k, p[1]);
    }
    s[k] = 0;
    *out = s;
    return 0;
}

static bool is_redirect(int st)
{
    return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

static bool same_origin(const corio_url *a, const corio_url *b)
{
    return a->port == b->port && a->tls == b->tls && a->host.n == b->host.n &&
           strncasecmp(a->host.p, b->host.p, a->host.n) == 0;
}

static int parse_http_url(corio_url *u, const char *url)
{
    int rc = corio_url_parse(u, url, strlen(url));
    if (rc == 0 && !corio__http_str_eq(u->scheme, "http") &&
        !corio__http_str_eq(u->scheme, "https"))
        rc = CORIO_EURL;
    return rc;
}

int corio_http_session_send(corio_http_session *s,
                            const corio_http_request *req,
                            corio_http_response **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!s || !req || s->freed)
        return -EINVAL;
    corio__http_call c;
    memset(&c, 0, sizeof c);
    c.method = req->method ? req->method : "GET";
    int rc = check_request(req, c.method);
    if (rc < 0)
        return rc;
    char *owned = NULL;
    c.url = req->url;
    if (req->query && req->query[0]) {
        rc = with_query(req->url, req->query, &owned);
        if (rc < 0)
            return rc;
        c.url = owned;
    }
    c.headers = req->headers;
    c.body = req->body;
    c.body_len = req->body_len;
    c.body_stream = req->body_stream;
    c.has_body = req->body || req->body_stream || req->body_len;
    c.flags = req->flags;
    c.detail = req->detail;
    if (c.detail)
        c.detail->text[0] = '\0';
    int64_t total = req->timeout_ns ? req->timeout_ns : s->o.timeout_ns;
    c.deadline = total > 0 ? corio_now() + total : INT64_MAX;
    if (total > 0 && (rc = corio_timeout_begin_at(c.deadline)) < 0) {
        free(owned);
        return rc;
    }
    corio__http_session_ref(s);
    bool follow =
        !(req->flags & CORIO_HTTP_NO_REDIRECT) && s->o.max_redirects >= 0;
    for (int hops = 0;; hops++) {
        corio_http_response *r;
        rc = parse_http_url(&c.u, c.url);
        if (rc == 0)
            rc = corio__http_exchange(s, &c, &r);
        if (rc < 0)
            break;
        const char *loc = corio_http_response_header(r, "location");
        if (!follow || !loc || !is_redirect(r->status) ||
            (r->status >= 307 && c.body_stream)) {
            *out = r;
            break;
        }
        char *next = NULL;
        corio_url nu;
        int status = r->status;
        if (hops == s->o.max_redirects)
            rc = CORIO_EREDIRECTS;
        else if ((rc = corio__http_resolve(c.url, &c.u, loc, &next)) == 0 &&
                 (rc = parse_http_url(&nu, next)) == 0 &&
                 !same_origin(&c.u, &nu))
            c.strip_credentials = true;
        corio__http_response_discard(r);
        corio_http_response_free(r);
        if (rc < 0) {
            free(next);
            break;
        }
        if (status <= 303 && strcmp(c.method, "HEAD") != 0) {
            c.method = "GET";
            c.has_body = false;
            c.body = NULL;
            c.body_len = 0;
        }
        free(owned);
        owned = next;
        c.url = next;
    }
    corio__http_session_unref(s);
    free(owned);
    if (total > 0)
        (void)corio_timeout_end(); /* a response that arrived is kept */
    return rc;
}

int corio_http_session_get(corio_http_session *s, const char *url,
                           corio_http_response **out)
{
    corio_http_request q;
    memset(&q, 0, sizeof q);
    q.url = url;
    return corio_http_session_send(s, &q, out);
}
