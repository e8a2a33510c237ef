/* corio/errno.h — every error code of corio's own, in one table.
 *
 * corio reports failure as a negative errno value (-ECANCELED, -ETIMEDOUT,
 * -EINVAL, ...) and never through errno.  Conditions that no errno value
 * names get a code in the reserved range below CORIO_ERRBASE, listed once
 * in CORIO_ERRNO_MAP below (libuv's UV_ERRNO_MAP): the same list makes the
 * CORIO_E* constants, corio_strerror() and corio_err_name().  Ranges:
 *   -1 .. -9     core and sync        -20 .. -29   TLS
 *   -3 .. -4     streams              -30 .. -39   DNS
 *   -40 .. -59   HTTP and WebSocket   -100 .. -199 PostgreSQL
 *   -200 .. -299 Redis
 * A code is never reused for another meaning.  Details of a failure (a TLS
 * reason, an SQLSTATE, a Redis error text) live on the object that failed,
 * never in hidden per-thread state. */
#ifndef CORIO_ERRNO_H
#define CORIO_ERRNO_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The base of corio's own codes: every CORIO_E* is below it, every -errno
 * above it. */
#define CORIO_ERRBASE (-10000)

/* X(name, offset below CORIO_ERRBASE, message) */
#define CORIO_ERRNO_MAP(X)                                                     \
    X(EABANDONED, 1,                                                           \
      "abandoned: every task was blocked and nothing could wake one")          \
    X(ESHUTDOWN, 2, "shut down: no more items will come or be taken")          \
    X(EOF, 3, "end of stream before the expected data")                        \
    X(ETOOLONG, 4, "line or field longer than its limit")                      \
    X(ETLS, 20, "TLS error")                                                   \
    X(ECERT, 21, "TLS peer certificate refused")                               \
    X(ENOHOST, 30, "no such host (or no address of the family asked)")         \
    X(EDNS, 31,                                                                \
      "name resolution failed (no answer or server failure; may be "           \
      "temporary)")                                                            \
    X(EHTTP, 40, "malformed or forbidden HTTP message")                        \
    X(EURITOOLONG, 41, "HTTP request line longer than its limit")              \
    X(EHEADERSTOOLARGE, 42, "HTTP header section larger than its limit")       \
    X(EREDIRECTS, 43, "too many HTTP redirects")                               \
    X(EBODYTOOLARGE, 44, "HTTP body larger than its limit")                    \
    X(EURL, 45, "not a valid absolute http(s) or ws(s) URL")                   \
    X(EWS, 46, "WebSocket protocol violation by the peer")                     \
    X(EJSON, 47, "body is not valid JSON")                                     \
    X(EHTTPSTATUS, 48, "HTTP error status (4xx or 5xx)")                       \
    X(EPG, 100, "the PostgreSQL server reported an error (see its SQLSTATE)")  \
    X(EPGCONN, 101, "PostgreSQL connection lost or refused")                   \
    X(EREDIS, 200, "the Redis server answered with an error reply")            \
    X(EREDIS_PROTO, 201,                                                       \
      "Redis protocol error: the server sent something unexpected")            \
    X(EREDIS_AUTH, 202, "Redis authentication refused")                        \
    X(EREDIS_ABORTED, 203, "Redis transaction aborted: a watched key changed")

/* Words about why a call failed, for failures that leave no object to ask
 * (a refused TLS handshake, a context that could not be made).  The caller
 * owns it and passes its address in the call's options; the call fills
 * `text` (NUL-terminated, "" if it has nothing to add) when it fails. */
#define CORIO_DETAIL_MAX 256
typedef struct corio_error_detail {
    char text[CORIO_DETAIL_MAX];
} corio_error_detail;

enum corio_errno {
#define CORIO__ERRNO_ENUM(name, off, msg) CORIO_##name = CORIO_ERRBASE - (off),
    CORIO_ERRNO_MAP(CORIO__ERRNO_ENUM)
#undef CORIO__ERRNO_ENUM
};

#ifdef __cplusplus
}
#endif
#endif
