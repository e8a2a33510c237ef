/* http/url.c — corio_url_parse: absolute http, https, ws and wss URLs
 * (RFC 3986 §3) split into the parts a client needs to connect and to
 * write a request line, as views into the caller's string.
 *
 * Refused (CORIO_EURL): another scheme, a relative reference, userinfo
 * ("user:pass@", which would leak into logs and Host fields), an empty host,
 * a port that is empty, not decimal or outside 1..65535, a query with no
 * path ("http://h?q": its request target "/?q" is not a view of the input),
 * and any byte that is a control, a space, DEL or non-ASCII (a URL is sent
 * percent-encoded). */
#include "http/chars.h"

#include <corio.h>
#include <errno.h>
#include <string.h>

static int lower_eq(const char *p, size_t n, const char *lc)
{
    if (strlen(lc) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + 32);
        if (ch != lc[i])
            return 0;
    }
    return 1;
}

/* reg-name: unreserved / pct-encoded / sub-delims. */
static int reg_name(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("-._~!$&'()*+,;=", ch))
            continue;
        if (ch == '%' && i + 2 < n && corio__http_hexval(p[i + 1]) >= 0 &&
            corio__http_hexval(p[i + 2]) >= 0) {
            i += 2;
            continue;
        }
        return 0;
    }
    return 1;
}

int corio_url_parse(corio_url *u, const char *url, size_t len)
{
    if (!u || !url)
        return -EINVAL;
    memset(u, 0, sizeof *u);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return CORIO_EURL;

    const char *sep = len >= 3 ? memmem(url, len, "://", 3) : NULL;
    if (!sep)
        return CORIO_EURL;
    size_t sn = (size_t)(sep - url);
    if (lower_eq(url, sn, "http") || lower_eq(url, sn, "ws"))
        u->port = 80;
    else if (lower_eq(url, sn, "https") || lower_eq(url, sn, "wss"))
        u->port = 443, u->tls = 1;
    else
        return CORIO_EURL;
    u->scheme = (corio_http_str){url, sn};

    /* authority = host [":" port], up to the path, query or fragment */
    size_t a = sn + 3, e = a;
    while (e < len && url[e] != '/' && url[e] != '?' && url[e] != '#')
        e++;
    if (memchr(url + a, '@', e - a))
        return CORIO_EURL;
    size_t h0 = a, h1, p = a;
    if (p < e && url[p] == '[') {
        h0 = ++p;
        while (p < e && (corio__http_hexval(url[p]) >= 0 || url[p] == ':' ||
                         url[p] == '.'))
            p++;
        if (p == e || url[p] != ']' || p == h0)
            return CORIO_EURL;
        h1 = p++;
    } else {
        while (p < e && url[p] != ':')
            p++;
        h1 = p;
        if (h1 == h0 || !reg_name(url + h0, h1 - h0))
            return CORIO_EURL;
    }
    u->host = (corio_http_str){url + h0, h1 - h0};
    if (p < e) {
        if (url[p] != ':' || ++p == e || e - p > 5)
            return CORIO_EURL;
        int port = 0;
        for (; p < e; p++) {
            if (url[p] < '0' || url[p] > '9')
                return CORIO_EURL;
            port = port * 10 + (url[p] - '0');
        }
        if (port < 1 || port > 65535)
            return CORIO_EURL;
        u->port = port;
    }

    /* path and query, without the fragment */
    size_t t1 = e;
    while (t1 < len && url[t1] != '#')
        t1++;
    if (t1 == e)
        u->target = (corio_http_str){"/", 1};
    else if (url[e] == '?')
        return CORIO_EURL;
    else
        u->target = (corio_http_str){url + e, t1 - e};
    return 0;
}
