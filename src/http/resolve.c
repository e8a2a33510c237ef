/* http/resolve.c — corio__http_resolve: a redirect's Location value made
 * absolute against the URL it answered (RFC 3986 §5.2, without removing dot
 * segments, which are left to the server).  Its own file, apart from the
 * session in send.c, so the fuzz harness (fuzz/resolve.c) can build it
 * alone with the URL parser. */
#include "http/session.h"

#include "os/sys.h"

#include <stdlib.h>
#include <string.h>

/* Declared in http/session.h. */
int corio__http_resolve(const char *base, const corio_url *bu, const char *loc,
                        char **out)
{
    const char *auth = strstr(base, "://") + 3;
    size_t authend = (size_t)(auth - base) + strcspn(auth, "/?#");
    size_t pre, keep = 0, ll = strlen(loc);
    const char *tgt = bu->target.p;
    size_t tl = bu->target.n;
    const char *colon = strchr(loc, ':');
    if (colon && colon == loc + strcspn(loc, ":/?#")) {
        pre = 0; /* has a scheme: absolute */
    } else if (loc[0] == '/' && loc[1] == '/') {
        pre = (size_t)(strchr(base, ':') - base) + 1; /* "https:" */
    } else if (loc[0] == '/') {
        pre = authend;
    } else {
        /* The authority, then the target's path and query (an empty or
         * fragment-only reference: RFC 3986 §5.2.2 keeps the query), its
         * path ("?query") or its directory (a relative path). */
        pre = authend;
        if (loc[0] == '#' || !loc[0]) {
            keep = tl;
        } else {
            keep = strcspn(tgt, "?#");
            if (keep > tl)
                keep = tl;
            if (loc[0] != '?')
                while (keep && tgt[keep - 1] != '/')
                    keep--;
        }
    }
    char *s = corio__sys.malloc(pre + keep + ll + 2);
    if (!s)
        return -ENOMEM;
    memcpy(s, base, pre);
    if (keep) {
        /* The target is a view of base[] itself or of a string with the
         * same target (the URL parser only drops the fragment). */
        memcpy(s + pre, tgt, keep);
    } else if (pre == authend && loc[0] != '/') {
        s[pre] = '/';
        keep = 1;
    }
    memcpy(s + pre + keep, loc, ll + 1);
    *out = s;
    return 0;
}
