/* fuzz/resolve.c — libFuzzer harness for redirect resolution
 * (corio__http_resolve, src/http/resolve.c) and the URL parser it leans on
 * (corio_url_parse, src/http/url.c).  The input is "base LF location"; with
 * no LF the whole input is the Location and the base is a fixed URL.  A
 * base that is not an http or https URL is skipped, as the client never
 * resolves against one.
 *
 * Invariants:
 *   reference  the result equals RFC 3986 §5.2.2 written out here (with
 *              dot segments kept, which the client leaves to the server):
 *              a reference with a scheme (a ':' before any '/', '?' or
 *              '#') as it is; "//authority..." under the base's scheme;
 *              "/path" under the base's authority; "?query" under the
 *              base's path; "#fragment" or "" under the base's path and
 *              query; anything else under the directory of the base's
 *              path.
 *   origin     when the reference has no scheme and no authority and its
 *              bytes are all visible ASCII, the result parses as a URL of
 *              the base's scheme, host and port, whose target starts with
 *              '/' (the client then connects where it already was); a
 *              scheme-relative one, when it parses, keeps the base's
 *              scheme.
 *   views      every URL parsed (the base, the result) has its views
 *              inside its string, a port in 1..65535 and a target starting
 *              with '/' and holding no '#'.
 * Built by fuzz/CMakeLists.txt and, with the entry point renamed, into the
 * corpus replay. */
#include "http/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(c)                                                                \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz/resolve.c:%d: %s\n", __LINE__, #c);          \
            abort();                                                           \
        }                                                                      \
    } while (0)

static const char default_base[] = "http://example.com:8080/dir/page?x=1#top";

static void inside(corio_http_str v, const char *s, size_t n)
{
    if (v.n)
        MUST(v.p >= s && v.p + v.n <= s + n);
}

/* Parse s as the client does (http or https only); check the views. */
static int parse(corio_url *u, const char *s)
{
    size_t n = strlen(s);
    int rc = corio_url_parse(u, s, n);
    MUST(rc == 0 || rc == CORIO_EURL);
    if (rc < 0)
        return rc;
    inside(u->scheme, s, n);
    inside(u->host, s, n);
    MUST(u->host.n > 0 && u->port >= 1 && u->port <= 65535);
    MUST(u->target.n > 0 && u->target.p[0] == '/');
    MUST(!memchr(u->target.p, '#', u->target.n));
    if (!corio__http_str_eq(u->scheme, "http") &&
        !corio__http_str_eq(u->scheme, "https"))
        return CORIO_EURL;
    return 0;
}

/* RFC 3986 §5.2.2 without remove_dot_segments, into a malloc'd string. */
static char *reference(const char *base, const char *ref)
{
    size_t rl = strlen(ref), bl = strlen(base);
    char *out = malloc(bl + rl + 2);
    MUST(out);
    const char *colon = strchr(ref, ':');
    size_t scheme_end = (size_t)(strstr(base, "://") - base); /* "http" */
    const char *auth = base + scheme_end + 3;
    size_t auth_end = scheme_end + 3 + strcspn(auth, "/?#");
    size_t path_end = auth_end + strcspn(base + auth_end, "?#");
    size_t query_end = path_end + strcspn(base + path_end, "#");
    if (colon && (size_t)(colon - ref) == strcspn(ref, ":/?#")) {
        strcpy(out, ref);
    } else if (ref[0] == '/' && ref[1] == '/') {
        sprintf(out, "%.*s:%s", (int)scheme_end, base, ref);
    } else if (ref[0] == '/') {
        sprintf(out, "%.*s%s", (int)auth_end, base, ref);
    } else if (ref[0] == '?') {
        sprintf(out, "%.*s%s%s", (int)path_end, base,
                path_end == auth_end ? "/" : "", ref);
    } else if (ref[0] == '#' || ref[0] == '\0') {
        /* the base's query kept; an empty path is "/" */
        if (path_end == auth_end)
            sprintf(out, "%.*s/%.*s%s", (int)auth_end, base,
                    (int)(query_end - path_end), base + path_end, ref);
        else
            sprintf(out, "%.*s%s", (int)query_end, base, ref);
    } else {
        size_t dir = path_end;
        while (dir > auth_end && base[dir - 1] != '/')
            dir--;
        if (dir == auth_end) /* no path: the root */
            sprintf(out, "%.*s/%s", (int)auth_end, base, ref);
        else
            sprintf(out, "%.*s%s", (int)dir, base, ref);
    }
    return out;
}

static int visible(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *in = malloc(size + 1);
    MUST(in);
    memcpy(in, data, size);
    in[size] = '\0'; /* C strings: the input stops at a NUL */
    char *lf = strchr(in, '\n');
    const char *base = default_base, *loc = in;
    if (lf) {
        *lf = '\0';
        base = in;
        loc = lf + 1;
    }
    corio_url bu;
    if (parse(&bu, base) < 0) {
        free(in);
        return 0;
    }
    char *out = NULL;
    MUST(corio__http_resolve(base, &bu, loc, &out) == 0 && out);
    char *want = reference(base, loc);
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "base %s\nlocation %s\ncorio %s\nreference %s\n", base,
                loc, out, want);
        MUST(!"the result differs from the reference");
    }
    corio_url nu;
    int rc = parse(&nu, out);
    const char *colon = strchr(loc, ':');
    int has_scheme = colon && (size_t)(colon - loc) == strcspn(loc, ":/?#");
    int has_auth = !has_scheme && loc[0] == '/' && loc[1] == '/';
    if (!has_scheme && !has_auth && visible(loc)) {
        MUST(rc == 0);
        MUST(nu.port == bu.port && nu.tls == bu.tls && nu.host.n == bu.host.n &&
             memcmp(nu.host.p, bu.host.p, bu.host.n) == 0);
    }
    if (has_auth && rc == 0)
        MUST(nu.tls == bu.tls);
    free(want);
    free(out);
    free(in);
    return 0;
}
