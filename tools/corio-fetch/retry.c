/* retry.c — what corio-fetch does with a failed attempt: the error kinds
 * of the summary (fetch_error_kind, fetch_kind_name), which failures are
 * worth another attempt (fetch_retryable), and how long to wait first
 * (fetch_backoff_ns, fetch_retry_after_ns). */
#include "fetch.h"

#include <corio/net.h>
#include <corio/tls.h>
#include <ctype.h>
#include <errno.h>

enum fetch_kind fetch_error_kind(int err)
{
    switch (err) {
    case -ETIMEDOUT:
        return FETCH_TIMEOUT;
    case -ECONNREFUSED:
        return FETCH_REFUSED;
    case -ECONNRESET:
    case -ECONNABORTED:
    case -EHOSTUNREACH:
    case -ENETUNREACH:
    case -EHOSTDOWN:
    case -ENETDOWN:
    case -EADDRNOTAVAIL:
    case -EPIPE:
        return FETCH_CONNECT;
    case CORIO_ENOHOST:
    case CORIO_EDNS:
        return FETCH_DNS;
    case CORIO_ETLS:
    case CORIO_ECERT:
        return FETCH_TLS;
    case CORIO_EHTTP:
    case CORIO_EOF:
    case CORIO_EHEADERSTOOLARGE:
    case CORIO_EBODYTOOLARGE:
        return FETCH_PROTOCOL;
    case CORIO_EREDIRECTS:
        return FETCH_REDIRECTS;
    case CORIO_EURL:
        return FETCH_URL;
    case -ECANCELED:
        return FETCH_CANCELLED;
    default:
        return err >= 0 ? FETCH_OK : FETCH_OTHER;
    }
}

const char *fetch_kind_name(enum fetch_kind k)
{
    static const char *const names[FETCH_NKINDS] = {
        [FETCH_OK] = "ok",
        [FETCH_TIMEOUT] = "timeout",
        [FETCH_REFUSED] = "refused",
        [FETCH_CONNECT] = "connect",
        [FETCH_DNS] = "dns",
        [FETCH_TLS] = "tls",
        [FETCH_PROTOCOL] = "protocol",
        [FETCH_REDIRECTS] = "redirects",
        [FETCH_URL] = "url",
        [FETCH_OTHER] = "other",
        [FETCH_CANCELLED] = "cancelled",
    };
    return (unsigned)k < FETCH_NKINDS ? names[k] : "other";
}

int fetch_retryable(int err, int status)
{
    if (err == 0)
        return status == 429 || status == 502 || status == 503 || status == 504;
    switch (fetch_error_kind(err)) {
    case FETCH_TIMEOUT:
    case FETCH_REFUSED:
    case FETCH_CONNECT:
        return 1;
    case FETCH_DNS:
        /* "No such host" will not change; a lookup that got no answer may. */
        return err == CORIO_EDNS;
    case FETCH_PROTOCOL:
        /* A connection closed in the middle of a response is worth one more
         * try (corio-fetch only sends GET); a malformed answer is not. */
        return err == CORIO_EOF;
    default:
        return 0;
    }
}

int64_t fetch_backoff_ns(int retry, int64_t base_ns, int64_t cap_ns,
                         double jitter)
{
    int64_t d = base_ns;
    for (int i = 1; i < retry && d < cap_ns; i++)
        d *= 2;
    if (d > cap_ns)
        d = cap_ns;
    if (jitter < 0)
        jitter = 0;
    if (jitter >= 1)
        jitter = 0.999999;
    return d / 2 + (int64_t)((double)(d - d / 2) * jitter);
}

int64_t fetch_retry_after_ns(const char *v, int64_t cap_ns)
{
    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (!isdigit((unsigned char)*v))
        return -1;
    /* Whole seconds, saturating at the cap (a huge value means "later
     * than we will wait"). */
    int64_t cap_s = cap_ns / CORIO_SECOND, secs = 0;
    for (; isdigit((unsigned char)*v); v++)
        if (secs <= cap_s)
            secs = secs * 10 + (*v - '0');
    int64_t ns = secs > cap_s ? cap_ns : secs * CORIO_SECOND;
    if (ns > cap_ns)
        ns = cap_ns;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v ? -1 : ns;
}
