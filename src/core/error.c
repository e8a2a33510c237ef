/* core/error.c — corio_strerror: messages for errno values and corio's own
 * codes. */
#include "core/loop.h"

#include <string.h>

const char *corio_strerror(int err)
{
    if (err >= 0)
        return "success";
    switch (err) {
    case CORIO_EDEADLOCK:
        return "deadlock: every task was blocked and nothing could wake one";
    case CORIO_ECLOSED:
        return "closed";
    case CORIO_EOF:
        return "end of stream before the expected data";
    case CORIO_ETOOLONG:
        return "line or field longer than its limit";
    case CORIO_ENOHOST:
        return "no such host (or no address of the family asked)";
    case CORIO_EDNS:
        return "name resolution failed (no answer or server failure; may be temporary)";
    case CORIO_ETLS:
        return "TLS error (corio_tls_error() says which)";
    case CORIO_ECERT:
        return "TLS peer certificate refused (corio_tls_error() says why)";
    case CORIO_EHTTP:
        return "malformed or forbidden HTTP message";
    case CORIO_EURITOOLONG:
        return "HTTP request line longer than its limit";
    case CORIO_EHEADERSTOOLARGE:
        return "HTTP header section larger than its limit";
    case CORIO_EREDIRECTS:
        return "too many HTTP redirects";
    case CORIO_EBODYTOOLARGE:
        return "HTTP body larger than its limit";
    case CORIO_EURL:
        return "not a valid absolute http(s) or ws(s) URL";
    case CORIO_EWS:
        return "WebSocket protocol violation by the peer";
    case CORIO_EJSON:
        return "body is not valid JSON";
    default:
        break;
    }
    if (err > CORIO_ERRBASE)
        return strerror(-err); /* glibc: static text for every known errno */
    return "unknown corio error";
}
