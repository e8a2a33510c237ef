/* http/parse.c — the zero-copy HTTP/1.1 head parser (corio/http.h):
 * corio_http_parse_request, corio_http_parse_response, the framing rules
 * that follow from the fields (corio_http_body_kind) and field lookup
 * (corio_http_head_get, corio_http_str_has_token).
 *
 * Parts:
 *   the byte table    corio__http_chars, the classes of http/chars.h.
 *   the cursor        struct cur: the buffer, the bytes the head may use
 *                     (min(len, max_head)) and why the scan stopped; every
 *                     read is bounded by it, so nothing past len is touched.
 *   start lines       request line, status line.
 *   field lines       name ':' OWS value OWS, then the fields that decide
 *                     framing (Content-Length, Transfer-Encoding, Connection,
 *                     Upgrade, Expect, Host) are interpreted as they end.
 *   framing checks    once the head is complete: CL with TE, TE on 1.0, a
 *                     request TE not ending in chunked.
 *   lookup            corio_http_head_get, corio_http_str_has_token and
 *                     corio__http_str_eq (http/msg.h).
 *
 * The scan goes left to right once and reports the first problem at the
 * position it occurs, so parsing any prefix of an input gives either -EAGAIN
 * or the same result as the whole input (the tests check this at every split
 * point).  Limits are positions too: the head may not use byte max_head and
 * the start line may not use byte max_start_line, so an endless line is
 * refused as soon as it passes its limit, not when its end arrives. */
#include "http/chars.h"
#include "http/msg.h"

#include <errno.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Generated from the RFC 9110 grammar: bit 1 tchar, 2 field-vchar / SP /
 * HTAB, 4 request-target byte (VCHAR or obs-text). */
const unsigned char corio__http_chars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 2, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 6, 7, 6, 7, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
};

/* The input and its bounds.  end = min(len, max_head): a head byte at
 * index end or beyond is either not there yet (-EAGAIN) or over the head
 * limit (CORIO_EHEADERSTOOLARGE). */
struct cur {
    const char *b;
    size_t len, end, max_head;
};

/* The scan needs byte `end` and cannot have it. */
static ssize_t starved(const struct cur *c)
{
    return c->len > c->max_head ? CORIO_EHEADERSTOOLARGE : -EAGAIN;
}

/* Skip bytes of class cls from p up to stop (<= c->end); returns where the
 * run ends.  Field values and targets are the long runs: SSE2 tests 16 bytes
 * at a time for the common printable ASCII, the table finishes the rest. */
static size_t skip_class(const char *b, size_t p, size_t stop, unsigned cls)
{
#if defined(__SSE2__)
    if (cls != CORIO__HTTP_TCHAR) {
        /* Printable ASCII 0x21..0x7e is in both the value and the target
         * class; anything else (space, tab, controls, obs-text) falls to the
         * table below. */
        const __m128i lo = _mm_set1_epi8(0x20), hi = _mm_set1_epi8(0x7f);
        while (p + 16 <= stop) {
            __m128i x = _mm_loadu_si128((const __m128i *)(b + p));
            /* Signed compares: obs-text bytes are negative, so "<= 0x20"
             * catches them with the controls and the space. */
            __m128i bad =
                _mm_or_si128(_mm_cmplt_epi8(x, lo), _mm_cmpeq_epi8(x, lo));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, hi));
            int m = _mm_movemask_epi8(bad);
            if (m == 0) {
                p += 16;
                continue;
            }
            p += (size_t)__builtin_ctz((unsigned)m);
            if (!corio__http_is(b[p], cls))
                return p;
            p++; /* a space, tab or obs-text byte inside the run */
        }
    }
#endif
    while (p < stop && corio__http_is(b[p], cls))
        p++;
    return p;
}

/* The line terminator at p: CRLF, or LF alone (RFC 9112 §2.2); a bare CR
 * is an error.  Returns the index after it, or an error. */
static ssize_t eol(const struct cur *c, size_t p)
{
    if (p >= c->end)
        return starved(c);
    if (c->b[p] == '\n')
        return (ssize_t)p + 1;
    if (c->b[p] != '\r')
        return CORIO_EHTTP;
    if (p + 1 >= c->end)
        return starved(c);
    return c->b[p + 1] == '\n' ? (ssize_t)p + 2 : CORIO_EHTTP;
}

/* The start line ran out of bytes at p == stop: not there yet, over the
 * head limit, or over the start-line limit (the byte at the limit is still
 * part of the line: a terminator there would be a syntax error instead). */
static ssize_t line_starved(const struct cur *c, size_t p, ssize_t too_long)
{
    if (p < c->end)
        return (c->b[p] == '\r' || c->b[p] == '\n') ? CORIO_EHTTP : too_long;
    return starved(c);
}

/* "HTTP/1.x" at p, all 8 bytes before stop.  HTTP/1.0 gives 0 and HTTP/1.1
 * gives 1; a higher 1.x is treated as 1.1 (RFC 9110 §2.5: a recipient
 * processes a higher minor version as its highest); any other major version
 * is an error. */
static ssize_t version(const struct cur *c, size_t p, size_t stop, int *minor,
                       ssize_t too_long)
{
    static const char v[] = "HTTP/1.";
    for (size_t i = 0; i < 8; i++) {
        if (p + i >= stop)
            return line_starved(c, p + i, too_long);
        char ch = c->b[p + i];
        if (i < 7 ? ch != v[i] : (ch < '0' || ch > '9'))
            return CORIO_EHTTP;
    }
    *minor = c->b[p + 7] == '0' ? 0 : 1;
    return (ssize_t)p + 8;
}

static inline char lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
}

/* Case-insensitive equality of a view and a lower-case C string of length
 * n. */
static int name_is(corio_http_str v, const char *lc, size_t n)
{
    if (v.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(v.p[i]) != lc[i])
            return 0;
    return 1;
}

/* The framing-relevant fields seen so far. */
struct seen {
    int64_t cl;     /* -1: no Content-Length */
    int te;         /* a Transfer-Encoding field was seen */
    int te_chunked; /* its last coding is chunked */
    int te_bad;     /* chunked appears before the last coding */
    int conn_close, conn_keep, conn_upgrade, upgrade, expect, host;
};

/* Content-Length: 1*DIGIT, or a list of identical ones ("5, 5": RFC 9110
 * §8.6 lets a recipient accept it as one value).  No sign, no empty
 * elements, at most INT64_MAX; another field must agree. */
static int content_length(struct seen *s, corio_http_str v)
{
    size_t i = 0;
    int64_t val = -1;
    for (;;) {
        size_t d0 = i;
        int64_t x = 0;
        while (i < v.n && v.p[i] >= '0' && v.p[i] <= '9') {
            int dig = v.p[i] - '0';
            if (x > (INT64_MAX - dig) / 10)
                return CORIO_EHTTP;
            x = x * 10 + dig;
            i++;
        }
        if (i == d0 || (val >= 0 && x != val))
            return CORIO_EHTTP;
        val = x;
        while (i < v.n && corio__http_ows(v.p[i]))
            i++;
        if (i == v.n)
            break;
        if (v.p[i] != ',')
            return CORIO_EHTTP;
        i++;
        while (i < v.n && corio__http_ows(v.p[i]))
            i++;
    }
    if (s->cl >= 0 && s->cl != val)
        return CORIO_EHTTP;
    s->cl = val;
    return 0;
}

/* Transfer-Encoding: remember whether the last coding of the last field is
 * chunked, and whether chunked came earlier (applied twice, or not last:
 * both forbidden by RFC 9112 §6.1). */
static void transfer_encoding(struct seen *s, corio_http_str v)
{
    size_t i = 0;
    s->te = 1;
    if (s->te_chunked)
        s->te_bad = 1; /* chunked, then more codings in a later field */
    s->te_chunked = 0;
    while (i < v.n) {
        while (i < v.n && (corio__http_ows(v.p[i]) || v.p[i] == ','))
            i++;
        size_t e = i;
        while (e < v.n && v.p[e] != ',')
            e++;
        size_t t = e;
        while (t > i && corio__http_ows(v.p[t - 1]))
            t--;
        if (t > i) {
            if (s->te_chunked)
                s->te_bad = 1;
            s->te_chunked =
                name_is((corio_http_str){v.p + i, t - i}, "chunked", 7);
        }
        i = e;
    }
}

/* Interpret a field that affects framing or connection handling. */
static int field(struct seen *s, const corio_http_header *f, int is_request)
{
    corio_http_str n = f->name;
    switch (n.n) {
    case 4:
        if (name_is(n, "host", 4) && is_request && s->host++)
            return CORIO_EHTTP; /* RFC 9112 §3.2: more than one Host */
        break;
    case 6:
        if (name_is(n, "expect", 6) &&
            corio__http_str_eq(f->value, "100-continue"))
            s->expect = 1;
        break;
    case 7:
        if (name_is(n, "upgrade", 7))
            s->upgrade = 1;
        break;
    case 10:
        if (name_is(n, "connection", 10)) {
            s->conn_close |= corio_http_str_has_token(f->value, "close");
            s->conn_keep |= corio_http_str_has_token(f->value, "keep-alive");
            s->conn_upgrade |= corio_http_str_has_token(f->value, "upgrade");
        }
        break;
    case 14:
        if (name_is(n, "content-length", 14))
            return content_length(s, f->value);
        break;
    case 17:
        if (name_is(n, "transfer-encoding", 17))
            transfer_encoding(s, f->value);
        break;
    default:
        break;
    }
    return 0;
}

/* The field lines from p to the blank line, then the framing checks.
 * Returns the head's length or an error. */
static ssize_t fields(const struct cur *c, size_t p, corio_http_head *h,
                      int is_request)
{
    const char *b = c->b;
    struct seen s = {.cl = -1};

    for (;;) {
        if (p >= c->end)
            return starved(c);
        if (b[p] == '\r' || b[p] == '\n') {
            ssize_t r = eol(c, p);
            if (r < 0)
                return r;
            p = (size_t)r;
            break;
        }
        if (h->nheaders == h->max_headers)
            return CORIO_EHEADERSTOOLARGE;
        /* A line starting with whitespace (obs-fold) has an empty name;
         * whitespace before the colon ends the name early: both errors. */
        size_t n0 = p;
        p = skip_class(b, p, c->end, CORIO__HTTP_TCHAR);
        if (p >= c->end)
            return starved(c);
        if (b[p] != ':' || p == n0)
            return CORIO_EHTTP;
        size_t n1 = p++;
        while (p < c->end && corio__http_ows(b[p]))
            p++;
        size_t v0 = p;
        p = skip_class(b, p, c->end, CORIO__HTTP_VCHAR);
        size_t v1 = p;
        ssize_t r = eol(c, p); /* a control byte in the value fails here */
        if (r < 0)
            return r;
        p = (size_t)r;
        while (v1 > v0 && corio__http_ows(b[v1 - 1]))
            v1--;
        corio_http_header *f = &h->headers[h->nheaders++];
        f->name = (corio_http_str){b + n0, n1 - n0};
        f->value = (corio_http_str){b + v0, v1 - v0};
        int e = field(&s, f, is_request);
        if (e < 0)
            return e;
    }

    /* RFC 9112 §6.1-6.3: a message with both framings, or a
     * Transfer-Encoding on HTTP/1.0, is a smuggling attempt or broken. */
    if (s.te && (s.cl >= 0 || h->minor_version == 0 || s.te_bad))
        return CORIO_EHTTP;
    if (s.te && is_request && !s.te_chunked)
        return CORIO_EHTTP;
    h->content_length = s.cl;
    if (s.te_chunked)
        h->flags |= CORIO_HTTP_CHUNKED;
    if (s.conn_close || (h->minor_version == 0 && !s.conn_keep))
        h->flags |= CORIO_HTTP_CLOSE;
    if (s.conn_upgrade && s.upgrade)
        h->flags |= CORIO_HTTP_UPGRADE;
    if (s.expect && is_request)
        h->flags |= CORIO_HTTP_CONTINUE;
    return (ssize_t)p;
}

/* Common set-up; returns 0 or -EINVAL. */
static int begin(struct cur *c, size_t *max_line, corio_http_head *h,
                 const char *buf, size_t len, const corio_http_limits *lim)
{
    if (!h || !buf || (!h->headers && h->max_headers))
        return -EINVAL;
    size_t ml = lim && lim->max_start_line ? lim->max_start_line
                                           : CORIO__HTTP_MAX_START_LINE;
    size_t mh = lim && lim->max_head ? lim->max_head : CORIO__HTTP_MAX_HEAD;
    *c = (struct cur){buf, len, len < mh ? len : mh, mh};
    /* The start line's bytes (terminator excluded) end at stop. */
    *max_line = ml < c->end ? ml : c->end;
    h->method = h->target = h->reason = (corio_http_str){NULL, 0};
    h->status = 0;
    h->minor_version = 0;
    h->nheaders = 0;
    h->content_length = -1;
    h->flags = 0;
    return 0;
}

ssize_t corio_http_parse_request(corio_http_head *h, const char *buf,
                                 size_t len, const corio_http_limits *lim)
{
    struct cur c;
    size_t stop, p;
    if (begin(&c, &stop, h, buf, len, lim) < 0)
        return -EINVAL;

    /* method SP request-target SP HTTP-version */
    p = skip_class(buf, 0, stop, CORIO__HTTP_TCHAR);
    if (p >= stop)
        return line_starved(&c, p, CORIO_EURITOOLONG);
    if (buf[p] != ' ' || p == 0)
        return CORIO_EHTTP;
    h->method = (corio_http_str){buf, p};
    size_t t0 = ++p;
    p = skip_class(buf, p, stop, CORIO__HTTP_TARGET);
    if (p >= stop)
        return line_starved(&c, p, CORIO_EURITOOLONG);
    if (buf[p] != ' ' || p == t0)
        return CORIO_EHTTP;
    h->target = (corio_http_str){buf + t0, p - t0};
    ssize_t r = version(&c, p + 1, stop, &h->minor_version, CORIO_EURITOOLONG);
    if (r < 0)
        return r;
    r = eol(&c, (size_t)r);
    if (r < 0)
        return r;
    return fields(&c, (size_t)r, h, 1);
}

ssize_t corio_http_parse_response(corio_http_head *h, const char *buf,
                                  size_t len, const corio_http_limits *lim)
{
    struct cur c;
    size_t stop, p;
    if (begin(&c, &stop, h, buf, len, lim) < 0)
        return -EINVAL;

    /* HTTP-version SP 3DIGIT [SP reason-phrase]: the space before an empty
     * reason is optional here, as in every widespread client, since servers
     * omit it. */
    ssize_t r = version(&c, 0, stop, &h->minor_version, CORIO_EHTTP);
    if (r < 0)
        return r;
    p = (size_t)r;
    for (size_t i = 0; i < 4; i++) {
        if (p + i >= stop)
            return line_starved(&c, p + i, CORIO_EHTTP);
        char ch = buf[p + i];
        if (i == 0 ? ch != ' ' : (ch < '0' || ch > '9'))
            return CORIO_EHTTP;
    }
    h->status =
        (buf[p + 1] - '0') * 100 + (buf[p + 2] - '0') * 10 + (buf[p + 3] - '0');
    if (h->status < 100)
        return CORIO_EHTTP;
    p += 4;
    if (p >= stop)
        return line_starved(&c, p, CORIO_EHTTP);
    size_t r0 = p;
    if (buf[p] == ' ') {
        r0 = ++p;
        p = skip_class(buf, p, stop, CORIO__HTTP_VCHAR);
        if (p >= stop)
            return line_starved(&c, p, CORIO_EHTTP);
    }
    h->reason = (corio_http_str){buf + r0, p - r0};
    r = eol(&c, p); /* a control byte in the reason fails here */
    if (r < 0)
        return r;
    return fields(&c, (size_t)r, h, 0);
}

int corio_http_body_kind(const corio_http_head *h, int is_request,
                         const char *request_method)
{
    if (!is_request) {
        if (h->status < 200 || h->status == 204 || h->status == 304)
            return CORIO_HTTP_BODY_NONE;
        if (request_method && strcmp(request_method, "HEAD") == 0)
            return CORIO_HTTP_BODY_NONE;
        if (request_method && strcmp(request_method, "CONNECT") == 0 &&
            h->status < 300)
            return CORIO_HTTP_BODY_NONE;
    }
    if (h->flags & CORIO_HTTP_CHUNKED)
        return CORIO_HTTP_BODY_CHUNKED;
    /* A response whose codings do not end in chunked runs to the close
     * (RFC 9112 §6.3 rule 4); the parser refused such requests. */
    if (!is_request && corio_http_head_get(h, "transfer-encoding"))
        return CORIO_HTTP_BODY_EOF;
    if (h->content_length >= 0)
        return CORIO_HTTP_BODY_LENGTH;
    return is_request ? CORIO_HTTP_BODY_NONE : CORIO_HTTP_BODY_EOF;
}

/* Declared in http/msg.h; defined here so the parser (and the fuzz
 * harnesses, which build only the parser's files) stand alone. */
bool corio__http_str_eq(corio_http_str v, const char *s)
{
    size_t i = 0;
    for (; i < v.n; i++) {
        char a = v.p[i], b = s[i];
        if (b == '\0')
            return false;
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (b >= 'A' && b <= 'Z')
            b = (char)(b + 32);
        if (a != b)
            return false;
    }
    return s[i] == '\0';
}

const corio_http_str *corio_http_head_get(const corio_http_head *h,
                                          const char *name)
{
    if (!h || !name)
        return NULL;
    for (size_t i = 0; i < h->nheaders; i++)
        if (corio__http_str_eq(h->headers[i].name, name))
            return &h->headers[i].value;
    return NULL;
}

int corio_http_str_has_token(corio_http_str v, const char *token)
{
    size_t tn = strlen(token), i = 0;
    if (tn == 0)
        return 0;
    while (i < v.n) {
        while (i < v.n && (corio__http_ows(v.p[i]) || v.p[i] == ','))
            i++;
        size_t e = i;
        while (e < v.n && v.p[e] != ',' && v.p[e] != ';')
            e++;
        size_t t = e;
        while (t > i && corio__http_ows(v.p[t - 1]))
            t--;
        if (t - i == tn) {
            size_t k = 0;
            while (k < tn && lower(v.p[i + k]) == lower(token[k]))
                k++;
            if (k == tn)
                return 1;
        }
        while (e < v.n && v.p[e] != ',')
            e++; /* skip parameters */
        i = e;
    }
    return 0;
}
