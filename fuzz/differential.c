/* fuzz/differential.c — libFuzzer harness comparing corio's request and
 * response parsers with Debian's libhttp-parser (Node's classic parser,
 * 2.9) on the same bytes: an input starting "HTTP/" is a response, any
 * other a request.
 *
 * When both accept a complete head they must agree on the method and the
 * target (requests) or the status (responses), the minor version, every header
 * name and value, the head's length, the Content-Length and the chunked flag.
 * When one accepts and the other refuses (or still waits for more), the input
 * must fall under one of the deliberate differences below, each a predicate on
 * the input's head (docs/design.md lists them); anything else aborts.
 *
 *   D_LEADING_EOL  the input starts with CR or LF: http_parser skips empty
 *                  lines before a request, corio's parser leaves that to
 *                  the reader (http/msg.c skips them).
 *   D_BARE_CR      a CR not followed by LF in the head.
 *   D_CONTROL      a control byte (other than HTAB in a field line) or
 *                  DEL in the head: corio refuses them in values.
 *   D_REQUEST_LINE the request line is not exactly "METHOD SP target SP
 *                  HTTP/1.0|1.1" with a method http_parser knows and an
 *                  origin-form target of RFC 3986 characters: http_parser
 *                  knows a fixed method list and its own URL grammar,
 *                  corio takes any token method, any visible target and
 *                  treats HTTP/1.2..1.9 as 1.1, refuses other versions.
 *   D_STATUS_LINE  the status line is not "HTTP/1.0|1.1 SP [1-9]DD" followed
 *                  by the end or SP and a reason: corio refuses other
 *                  versions and codes below 100, http_parser varies.
 *   D_FIELD_SYNTAX a field line starts with whitespace (obs-fold, which
 *                  corio refuses), has no colon, or its name is empty or
 *                  holds a non-token byte (http_parser lets some through).
 *   D_FRAMING      a Transfer-Encoding field (corio refuses CL+TE, TE on
 *                  1.0 and a request TE not ending in chunked, where
 *                  http_parser varies), more than one Content-Length or a
 *                  list ("5, 5" is one value to corio), a Content-Length
 *                  that is not 1..18 plain digits or has a tab around them
 *                  (OWS to corio, an error to http_parser), more than one
 *                  Host.
 *   D_NAME_PREFIX  a field name that starts with "Transfer-Encoding",
 *                  "Content-Length", "Connection" or "Upgrade" and goes on
 *                  ("Transfer-Encodingx"): http_parser 2.9.4 matches these
 *                  names by prefix and applies their framing rules.
 *   D_OBS_TEXT     bytes >= 0x80 in the head (http_parser's handling of
 *                  obs-text differs by field and state).
 *   D_MANY_FIELDS  more fields than the harness's array (64).
 *
 * http_parser runs without its lenient flags (corio has none). */
#include <corio.h>
#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXF 64

#define MUST(c, why)                                                           \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz/differential.c:%d: %s (%s)\n", __LINE__, #c, \
                    why);                                                      \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* ---- what http_parser saw ------------------------------------------------ */

typedef struct seen {
    char url[8192];
    size_t urln;
    struct {
        char name[512], value[8192];
        size_t nn, vn;
    } f[MAXF + 1];
    size_t nf;
    int in_value;
    int done;
    int overflow;
} seen;

static int append(char *dst, size_t *n, size_t cap, const char *p, size_t k,
                  seen *s)
{
    if (*n + k > cap) {
        s->overflow = 1;
        return 0;
    }
    memcpy(dst + *n, p, k);
    *n += k;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    seen *s = p->data;
    return append(s->url, &s->urln, sizeof s->url, at, n, s);
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    seen *s = p->data;
    if (s->in_value || s->nf == 0) {
        if (s->nf == MAXF + 1) {
            s->overflow = 1;
            return 0;
        }
        s->nf++;
        s->f[s->nf - 1].nn = s->f[s->nf - 1].vn = 0;
        s->in_value = 0;
    }
    return append(s->f[s->nf - 1].name, &s->f[s->nf - 1].nn,
                  sizeof s->f[0].name, at, n, s);
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    seen *s = p->data;
    s->in_value = 1;
    if (s->nf == 0 || s->overflow)
        return 0;
    return append(s->f[s->nf - 1].value, &s->f[s->nf - 1].vn,
                  sizeof s->f[0].value, at, n, s);
}

static int on_headers_complete(http_parser *p)
{
    seen *s = p->data;
    s->done = 1;
    http_parser_pause(p, 1);
    return 0;
}

/* ---- the predicates ------------------------------------------------------ */

static int tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int lower_eq(const char *p, size_t n, const char *lc)
{
    if (strlen(lc) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lc[i])
            return 0;
    }
    return 1;
}

static int known_method(const char *p, size_t n)
{
#define XX(num, name, string)                                                  \
    if (n == sizeof #string - 1 && memcmp(p, #string, n) == 0)                 \
        return 1;
    HTTP_METHOD_MAP(XX)
#undef XX
    return 0;
}

static int origin_target(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= '0' && c <= '9') ||
              ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
              strchr("-._~!$&'()*+,;=:@/?%", c)))
            return 0;
    }
    return 1;
}

/* The deliberate differences that apply to this input, as a string of
 * their names (empty: none). */
static void differences(const char *d, size_t len, int response, char *why,
                        size_t cap)
{
    why[0] = '\0';
#define ADD(name)                                                              \
    (strstr(why, name) ? 0 : (strncat(why, name " ", cap - strlen(why) - 1), 0))
    if (len && (d[0] == '\r' || d[0] == '\n'))
        ADD("D_LEADING_EOL");
    /* the head: lines up to the first empty one */
    size_t pos = 0, line = 0, ncl = 0, nhost = 0, nf = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && d[e] != '\n')
            e++;
        size_t end = e; /* line content [pos, end) without one trailing CR */
        if (end > pos && d[end - 1] == '\r')
            end--;
        for (size_t i = pos; i < end; i++) {
            unsigned char c = (unsigned char)d[i];
            if (c == '\r')
                ADD("D_BARE_CR");
            else if ((c < 0x20 && !(c == '\t' && line > 0)) || c == 0x7f)
                ADD("D_CONTROL");
            else if (c >= 0x80)
                ADD("D_OBS_TEXT");
        }
        if (e == len && end < len && d[end] == '\r')
            ADD("D_BARE_CR"); /* a CR at the very end may be either */
        const char *l = d + pos;
        size_t n = end - pos;
        if (line == 0 && response) {
            /* "HTTP/1.x SP DDD [SP reason]", reason printable ASCII */
            int ok = n >= 12 &&
                     (memcmp(l, "HTTP/1.1 ", 9) == 0 ||
                      memcmp(l, "HTTP/1.0 ", 9) == 0) &&
                     l[9] >= '1' && l[9] <= '9' && l[10] >= '0' &&
                     l[10] <= '9' && l[11] >= '0' && l[11] <= '9' &&
                     (n == 12 || l[12] == ' ');
            if (!ok)
                ADD("D_STATUS_LINE");
        } else if (line == 0) {
            const char *sp1 = memchr(l, ' ', n);
            const char *sp2 =
                sp1 ? memchr(sp1 + 1, ' ', (size_t)(l + n - sp1 - 1)) : NULL;
            if (!sp1 || !sp2 || !known_method(l, (size_t)(sp1 - l)) ||
                !origin_target(sp1 + 1, (size_t)(sp2 - sp1 - 1)) ||
                !((size_t)(l + n - sp2 - 1) == 8 &&
                  (memcmp(sp2 + 1, "HTTP/1.1", 8) == 0 ||
                   memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)))
                ADD("D_REQUEST_LINE");
        } else if (n == 0) {
            break;
        } else {
            nf++;
            const char *colon = memchr(l, ':', n);
            if (l[0] == ' ' || l[0] == '\t' || !colon || colon == l)
                ADD("D_FIELD_SYNTAX");
            else {
                size_t nn = (size_t)(colon - l);
                for (size_t i = 0; i < nn; i++)
                    if (!tchar((unsigned char)l[i]))
                        ADD("D_FIELD_SYNTAX");
                const char *v = colon + 1, *ve = l + n;
                while (v < ve && (*v == ' ' || *v == '\t'))
                    v++;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                static const char *const framing[] = {"transfer-encoding",
                                                      "content-length",
                                                      "connection", "upgrade"};
                for (size_t k = 0; k < 4; k++) {
                    size_t fl = strlen(framing[k]);
                    if (nn > fl && lower_eq(l, fl, framing[k]))
                        ADD("D_NAME_PREFIX");
                }
                if (lower_eq(l, nn, "transfer-encoding"))
                    ADD("D_FRAMING");
                if (lower_eq(l, nn, "host") && ++nhost > 1)
                    ADD("D_FRAMING");
                if (lower_eq(l, nn, "content-length")) {
                    int digits = ve > v && ve - v <= 18;
                    for (const char *q = v; q < ve; q++)
                        digits &= *q >= '0' && *q <= '9';
                    /* http_parser refuses OWS tabs around the digits */
                    if (++ncl > 1 || !digits ||
                        memchr(colon, '\t', (size_t)(l + n - colon)))
                        ADD("D_FRAMING");
                }
            }
        }
        line++;
        pos = e + 1;
    }
    if (nf > MAXF)
        ADD("D_MANY_FIELDS");
#undef ADD
}

/* ---- the comparison ------------------------------------------------------ */

static int str_eq(corio_http_str v, const char *p, size_t n)
{
    return v.n == n && memcmp(v.p, p, n) == 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *d = (const char *)data;
    char why[256];
    char *b = malloc(size ? size : 1);
    if (!b)
        return 0;
    memcpy(b, d, size);

    corio_http_header hs[MAXF];
    corio_http_head h = {.headers = hs, .max_headers = MAXF};
    /* Input starting "HTTP/" is a response, anything else a request. */
    int response = size >= 5 && memcmp(d, "HTTP/", 5) == 0;
    ssize_t r = response ? corio_http_parse_response(&h, b, size, NULL)
                         : corio_http_parse_request(&h, b, size, NULL);

    static seen s;
    memset(&s, 0, sizeof s);
    http_parser p;
    http_parser_settings st;
    http_parser_settings_init(&st);
    st.on_url = on_url;
    st.on_header_field = on_field;
    st.on_header_value = on_value;
    st.on_headers_complete = on_headers_complete;
    http_parser_init(&p, response ? HTTP_RESPONSE : HTTP_REQUEST);
    p.data = &s;
    size_t np = http_parser_execute(&p, &st, b, size);
    enum http_errno herr = HTTP_PARSER_ERRNO(&p);
    int hp_ok = s.done && herr == HPE_PAUSED && !s.overflow;
    int hp_err = !s.done && herr != HPE_OK;

    differences(d, size, response, why, sizeof why);
    int allowed = why[0] != '\0';

    if (r >= 0 && hp_ok) {
        char msg[512];
        snprintf(
            msg, sizeof msg,
            "both accept (corio %zd bytes, http_parser %zu); differences: %s",
            r, np, why);
        if (!allowed) {
            if (response) {
                MUST(h.status == (int)p.status_code, msg);
            } else {
                const char *m = http_method_str((enum http_method)p.method);
                MUST(str_eq(h.method, m, strlen(m)), msg);
                MUST(str_eq(h.target, s.url, s.urln), msg);
            }
            MUST(h.minor_version == p.http_minor, msg);
            /* paused in on_headers_complete, http_parser has not yet
             * counted the final LF */
            MUST((size_t)r == np + 1, msg);
            MUST(h.nheaders == s.nf, msg);
            for (size_t i = 0; i < h.nheaders; i++) {
                size_t vn = s.f[i].vn;
                while (vn > 0 && (s.f[i].value[vn - 1] == ' ' ||
                                  s.f[i].value[vn - 1] == '\t'))
                    vn--; /* http_parser keeps trailing whitespace */
                MUST(str_eq(h.headers[i].name, s.f[i].name, s.f[i].nn), msg);
                MUST(str_eq(h.headers[i].value, s.f[i].value, vn), msg);
            }
            MUST(!!(h.flags & CORIO_HTTP_CHUNKED) == !!(p.flags & F_CHUNKED),
                 msg);
            if (h.content_length >= 0)
                MUST((uint64_t)h.content_length == p.content_length, msg);
        }
    } else if (r >= 0 || hp_ok) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "corio %zd, http_parser %s done=%d; differences: %s", r,
                 http_errno_name(herr), s.done, why);
        /* one accepted a complete head, the other refused or waits */
        MUST(allowed || s.overflow, msg);
    } else if (r == CORIO_EHTTP && !hp_err) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "corio refuses, http_parser waits; differences: %s", why);
        MUST(allowed, msg);
    } else if (r == -EAGAIN && hp_err) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "corio waits, http_parser refuses (%s); differences: %s",
                 http_errno_name(herr), why);
        MUST(allowed, msg);
    }
    free(b);
    return 0;
}
