/* redis/url.c — the connection URL: redis://, rediss:// and unix://, with
 * percent-decoded user and password, a database number in the path
 * (redis) or the query (?db=N, unix).  Pure: no I/O. */
#include "redis/redis.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* A percent-decoded copy of s[0..n), or NULL (-ENOMEM or a bad escape:
 * *rc tells). */
static char *decode(const char *s, size_t n, int *rc)
{
    char *d = corio__redis_malloc(n + 1), *o = d;
    if (!d) {
        *rc = -ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int a = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int b = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(d);
                *rc = -EINVAL;
                return NULL;
            }
            *o++ = (char)(a * 16 + b);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return d;
}

static int parse_db(const char *s, size_t n, long *db)
{
    if (n == 0) {
        *db = -1;
        return 0;
    }
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]) || v > 1000000)
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *db = v;
    return 0;
}

void corio__redis_url_free(corio__redis_url *u)
{
    free(u->host);
    free(u->user);
    free(u->password);
    memset(u, 0, sizeof *u);
}

int corio__redis_url_parse(corio__redis_url *u, const char *url)
{
    memset(u, 0, sizeof *u);
    u->db = -1;
    u->port = 6379;
    if (!url)
        return -EINVAL;
    const char *p;
    if (!strncmp(url, "redis://", 8)) {
        u->kind = 0;
        p = url + 8;
    } else if (!strncmp(url, "rediss://", 9)) {
        u->kind = 1;
        p = url + 9;
    } else if (!strncmp(url, "unix://", 7)) {
        u->kind = 2;
        p = url + 7;
    } else {
        return -EINVAL;
    }
    int rc = 0;
    /* userinfo: up to the last '@' before the path (a password may hold
     * '/' only percent-encoded, as in every URL). */
    const char *end = p + strcspn(p, u->kind == 2 ? "?" : "/?");
    if (u->kind == 2) {
        /* unix://[userinfo@]/path: the userinfo, if any, ends with "@/" */
        const char *at = strstr(p, "@/");
        end = at ? at + 1 : p;
    }
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p && !(u->user = decode(p, (size_t)(colon - p), &rc)))
                goto fail;
            if (!(u->password =
                      decode(colon + 1, (size_t)(at - colon - 1), &rc)))
                goto fail;
        } else if (at > p) {
            /* redis://password@host, as redis-py reads it */
            if (!(u->password = decode(p, (size_t)(at - p), &rc)))
                goto fail;
        }
        p = at + 1;
    }
    if (u->kind == 2) {
        size_t n = strcspn(p, "?");
        if (n == 0 || p[0] != '/')
            goto bad;
        if (!(u->host = decode(p, n, &rc)))
            goto fail;
        p += n;
        if (*p == '?') {
            p++;
            while (*p) {
                size_t m = strcspn(p, "&");
                if (m > 3 && !strncmp(p, "db=", 3)) {
                    if (parse_db(p + 3, m - 3, &u->db) < 0)
                        goto bad;
                } /* other parameters are ignored */
                p += m;
                if (*p == '&')
                    p++;
            }
        }
        return 0;
    }
    /* host[:port] */
    const char *hend;
    const char *hs = p;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend)
            goto bad;
        hs = p + 1;
        p = hend + 1;
    } else {
        p += strcspn(p, ":/?");
        hend = p;
    }
    if (hend == hs)
        goto bad;
    if (!(u->host = decode(hs, (size_t)(hend - hs), &rc)))
        goto fail;
    if (*p == ':') {
        p++;
        long port = 0;
        size_t n = strcspn(p, "/?");
        if (n == 0 || n > 5)
            goto bad;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)p[i]))
                goto bad;
            port = port * 10 + (p[i] - '0');
        }
        if (port < 1 || port > 65535)
            goto bad;
        u->port = (int)port;
        p += n;
    }
    if (*p == '/') {
        p++;
        size_t n = strcspn(p, "?");
        if (parse_db(p, n, &u->db) < 0)
            goto bad;
        p += n;
    }
    if (*p == '?') {
        p++;
        while (*p) {
            size_t m = strcspn(p, "&");
            if (m > 3 && !strncmp(p, "db=", 3) &&
                parse_db(p + 3, m - 3, &u->db) < 0)
                goto bad;
            p += m;
            if (*p == '&')
                p++;
        }
    } else if (*p) {
        goto bad;
    }
    return 0;
bad:
    rc = -EINVAL;
fail:
    corio__redis_url_free(u);
    return rc;
}
