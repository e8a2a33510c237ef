/* corio/net.h — TCP, UDP and Unix-domain sockets, DNS, and the serve
 * helper (asyncio's open_connection, start_server, getaddrinfo,
 * create_datagram_endpoint, open_unix_connection, start_unix_server).
 *
 * Connections are corio_stream objects (corio/stream.h): the stream owns
 * the socket and closes it; corio_stream_fd() gives the descriptor for
 * socket options and addresses.  Every socket corio makes is non-blocking
 * and close-on-exec, and all its I/O goes through the loop's I/O engine.
 *
 * Host names are resolved on corio's DNS thread pool (getaddrinfo, so
 * /etc/hosts, /etc/resolv.conf and nsswitch apply), separate from the file
 * and CPU pools so slow lookups cannot starve them.  Numeric addresses
 * ("127.0.0.1", "::1", "fe80::1%eth0") never leave the loop thread.
 *
 * Errors: every function returns a negative errno (-ECONNREFUSED,
 * -ENETUNREACH, -EADDRINUSE, ...) or one of the codes below; as everywhere
 * in corio, a call that can suspend can also return -ECANCELED and
 * -ETIMEDOUT (a connect or lookup timeout is the caller's timeout scope:
 * corio_timeout_begin(5 * CORIO_SECOND) around the call), and -EPERM
 * outside a task.  getaddrinfo's EAI_* codes map as follows:
 *   EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY  -> CORIO_ENOHOST
 *   EAI_AGAIN, EAI_FAIL                     -> CORIO_EDNS
 *   EAI_MEMORY -> -ENOMEM;  EAI_SYSTEM -> -errno;
 *   EAI_SERVICE, EAI_FAMILY, EAI_SOCKTYPE, EAI_BADFLAGS -> -EINVAL.
 *
 * Thread-safety: loop-thread only. */
#ifndef CORIO_NET_H
#define CORIO_NET_H

#include "base.h"
#include "stream.h"
#include "sync.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Addresses --------------------------------------------------------- */

/* A socket address of any family, by value: IPv4, IPv6 or Unix-domain.
 * `len` is the length of the part of `u` in use. */
typedef struct corio_addr {
    socklen_t len;
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
        struct sockaddr_storage ss;
    } u;
} corio_addr;

/* Longest text corio_addr_format writes, NUL included. */
#define CORIO_ADDR_STRLEN 128

/* Fill *out from a numeric IPv4 or IPv6 address ("10.0.0.1", "::1",
 * "fe80::1%eth0"; brackets around IPv6 are accepted) and a port (0..65535).
 * Never resolves names and never suspends.
 * Returns 0, or -EINVAL (not a numeric address, or a bad port). */
CORIO_API CORIO_NODISCARD int corio_addr_parse(corio_addr *out, const char *ip,
                                               int port);

/* Fill *out with a Unix-domain address.  A leading '@' names Linux's
 * abstract namespace ("@corio-test": no file is made).
 * Returns 0, or -ENAMETOOLONG (longer than sun_path), -EINVAL (empty). */
CORIO_API CORIO_NODISCARD int corio_addr_unix(corio_addr *out,
                                              const char *path);

/* Write a as text: "10.0.0.1:80", "[::1]:443", "/run/x.sock", "@name".
 * Returns the length written (without the NUL), or -ENOSPC (cap too
 * small; CORIO_ADDR_STRLEN is always enough), -EAFNOSUPPORT. */
CORIO_API int corio_addr_format(const corio_addr *a, char *buf, size_t cap);

/* The port of an IPv4/IPv6 address, else -EAFNOSUPPORT. */
CORIO_API int corio_addr_port(const corio_addr *a);

/* The local or the peer address of a socket (getsockname/getpeername).
 * An IPv4 peer of a dual-stack IPv6 socket is given as plain IPv4.
 * Returns 0 or a negative errno.  Never suspends. */
CORIO_API int corio_socket_local(int fd, corio_addr *out);
/* The peer's address of a connected socket, as corio_socket_local.
 * Returns 0 or a negative errno (-ENOTCONN).  Never suspends. */
CORIO_API int corio_socket_peer(int fd, corio_addr *out);

/* ---- Socket options ---------------------------------------------------- */

/* TCP_NODELAY on (1) or off (0): on sends small writes at once (Nagle's
 * algorithm off).  Returns 0 or a negative errno.  Never suspends. */
CORIO_API int corio_socket_set_nodelay(int fd, int on);

/* TCP keep-alive: idle_ns > 0 turns it on, probing after idle_ns without
 * traffic and then every idle_ns (whole seconds, at least 1 s), giving up
 * after the kernel's probe count; idle_ns <= 0 turns it off.
 * Returns 0 or a negative errno.  Never suspends. */
CORIO_API int corio_socket_set_keepalive(int fd, int64_t idle_ns);

/* ---- DNS --------------------------------------------------------------- */

/* Options of corio_dns_resolve; zero fields take the defaults.
 *   family    AF_UNSPEC (default: both), AF_INET or AF_INET6.
 *   socktype  SOCK_STREAM (default) or SOCK_DGRAM. */
typedef struct corio_dns_opts {
    int family;
    int socktype;
} corio_dns_opts;

/* Resolve host into addresses with the given port, in the resolver's order
 * of preference (RFC 6724), without duplicates.  *out is an array the
 * caller frees with corio_dns_free().  A numeric host is parsed on the
 * spot; a name is looked up on the DNS pool.
 *
 * Returns the number of addresses (> 0), or:
 *   CORIO_ENOHOST  no such name, or no address of the family asked.
 *   CORIO_EDNS     the lookup failed (no answer from the servers, or a
 *                  server failure): often temporary.
 *   -EINVAL        host is NULL or empty, port outside 0..65535, bad opts.
 *   -ENOMEM, -EAGAIN (no pool thread could be started),
 *   -ECANCELED / -ETIMEDOUT, -EPERM.
 * On any error *out = NULL.
 * Cancel-safe: yes, and at once: an interrupted call returns without
 * waiting for the lookup thread (a stuck resolver cannot hold the task or
 * the loop's end); the lookup then finishes on its own and its result is
 * freed by the thread.  host is copied.  A name given to the test kit's
 * corio_test_dns_add (corio/testing.h) is answered from there. */
CORIO_API CORIO_NODISCARD ssize_t corio_dns_resolve(corio_addr **out,
                                                    const char *host, int port,
                                                    const corio_dns_opts *o);

/* Free an array from corio_dns_resolve (NULL is a no-op). */
CORIO_API void corio_dns_free(corio_addr *addrs);

/* ---- TCP client --------------------------------------------------------- */

/* Options of corio_tcp_connect_ex; zero fields take the defaults.
 *   stream      buffer limits of the stream made.
 *   family      AF_UNSPEC (default), AF_INET or AF_INET6 only.
 *   nodelay     TCP_NODELAY: 0 default (on, as asyncio), 1 on, -1 off.
 *   keepalive_ns  > 0: corio_socket_set_keepalive(fd, keepalive_ns).
 *   stagger_ns  happy eyeballs: how long an attempt runs alone before the
 *               next address is tried beside it (default 250 ms, RFC 8305's
 *               "Connection Attempt Delay"; < 0: one address at a time).
 *   local       bind to this local address first (NULL: any). */
typedef struct corio_tcp_opts {
    corio_stream_opts stream;
    int family;
    int nodelay;
    int64_t keepalive_ns;
    int64_t stagger_ns;
    const corio_addr *local;
} corio_tcp_opts;

/* Connect to host:port and return a stream over the connection.
 *
 * host is resolved (corio_dns_resolve) and the addresses are tried by
 * happy eyeballs (RFC 8305): IPv6 and IPv4 interleaved, starting with the
 * resolver's first choice; each attempt runs alone for 250 ms before the
 * next one starts beside it, and a failed attempt starts the next one at
 * once.  The first connection made wins; the other attempts are cancelled
 * and their sockets closed.
 *
 * Returns 0 and *out, or (*out = NULL):
 *   -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH, ...: every address failed;
 *                  the error is the first address's.
 *   CORIO_ENOHOST / CORIO_EDNS  the name did not resolve.
 *   -EINVAL        bad host, port or options.
 *   -ENOMEM, -EMFILE, -ECANCELED / -ETIMEDOUT (the caller's timeout scope:
 *                  that is the connect timeout), -EPERM.
 * Cancel-safe: yes; an interrupted call leaves no socket open. */
CORIO_API CORIO_NODISCARD int corio_tcp_connect(corio_stream **out,
                                                const char *host, int port);

/* corio_tcp_connect with options (o may be NULL).  Same returns. */
CORIO_API CORIO_NODISCARD int corio_tcp_connect_ex(corio_stream **out,
                                                   const char *host, int port,
                                                   const corio_tcp_opts *o);

/* Happy eyeballs over addresses already resolved (n >= 1; addrs copied):
 * corio_tcp_connect_ex without the lookup.  Same returns (-EINVAL for
 * n == 0 or a non-IP address). */
CORIO_API CORIO_NODISCARD int corio_tcp_connect_addrs(corio_stream **out,
                                                      const corio_addr *addrs,
                                                      size_t n,
                                                      const corio_tcp_opts *o);

/* ---- Listeners (TCP and Unix-domain) ------------------------------------ */

typedef struct corio_listener corio_listener;

/* Options of corio_tcp_listen / corio_unix_listen; zero fields take the
 * defaults.
 *   backlog     length of the kernel's queue of pending connections
 *               (default SOMAXCONN).
 *   reuseport   1: SO_REUSEPORT (several listeners, even in several
 *               processes, share the port; the kernel balances them).
 *   v6only      for the IPv6 wildcard ("::" or NULL host): 0 default
 *               (dual-stack: IPv4 too), 1 IPv6 only.
 *   stream      buffer limits of the accepted streams.
 *   nodelay     accepted TCP sockets: 0 default (on), 1 on, -1 off.
 *   keepalive_ns  accepted TCP sockets: > 0 turns keep-alive on.
 *   steer_cpu   TCP with reuseport, 1: among the listeners sharing the
 *               port, this one takes the connections the kernel received
 *               on the CPU the calling thread runs on now (SO_INCOMING_CPU;
 *               Linux >= 6.2 selects by it, older kernels keep balancing by
 *               hash).  Meant for one listener per loop with the loops
 *               pinned (corio_loops_opts.cpus): a connection is then
 *               served on the CPU that received it. */
typedef struct corio_listen_opts {
    int backlog;
    int reuseport;
    int v6only;
    corio_stream_opts stream;
    int nodelay;
    int64_t keepalive_ns;
    int steer_cpu;
} corio_listen_opts;

/* Listen for TCP connections on host:port.  host NULL, "" or "::" is every
 * interface (dual-stack IPv6, or IPv4 when the host has no IPv6);
 * "0.0.0.0" is every IPv4 interface; a name is resolved and its first
 * address is used.  port 0 picks a free port (see corio_listener_addr).
 * SO_REUSEADDR is always set, so a restarted server can bind at once.
 *
 * Returns 0 and *out, or (*out = NULL): -EADDRINUSE, -EACCES (a port below
 * 1024 without the right), -EADDRNOTAVAIL, -EINVAL, -ENOMEM, -EMFILE, and
 * the errors of corio_dns_resolve for a name (only then does it suspend).
 * Cancel-safe: yes; nothing is left open. */
CORIO_API CORIO_NODISCARD int corio_tcp_listen(corio_listener **out,
                                               const char *host, int port,
                                               const corio_listen_opts *o);

/* Accept one connection, suspending until one arrives; *out is a stream
 * over it and *peer (may be NULL) its address.
 *
 * Returns 0, or (*out = NULL):
 *   -EMFILE / -ENFILE  out of descriptors, and connections were refused.
 *              The listener keeps one spare descriptor for this: it is
 *              released, the pending connections are accepted and closed at
 *              once (their clients see the connection closed) and the spare
 *              is taken again, so the next call waits for a new connection
 *              instead of spinning.  (With the table full and nothing
 *              pending, the call just waits.)  Should even the spare be
 *              gone, the call waits for a pending connection and then 100 ms
 *              before returning, leaving it queued.  Call again.
 *   -ENOBUFS / -ENOMEM  out of memory (after a 100 ms pause).  Call again.
 *   -EBUSY     another task is accepting on this listener.
 *   -EBADF, -EINVAL  l is NULL or closed.
 *   -ECANCELED / -ETIMEDOUT, -EPERM.
 * Connections aborted before they were accepted are skipped silently.
 * Cancel-safe: yes; no connection is taken by a call that fails (other
 * than those shed on -EMFILE). */
CORIO_API CORIO_NODISCARD int
corio_listener_accept(corio_listener *l, corio_stream **out, corio_addr *peer);

/* The address l is bound to (the port picked for port 0).  Returns 0 or a
 * negative errno. */
CORIO_API int corio_listener_addr(const corio_listener *l, corio_addr *out);

/* The listening descriptor (still owned by l). */
CORIO_API int corio_listener_fd(const corio_listener *l);

/* Stop listening and free l (NULL is a no-op); pending connections not
 * yet accepted are reset.  A Unix-domain listener removes its socket file
 * if the file is still the one it made.  Never suspends.  No task may be
 * accepting on l (close it from the accepting task, or cancel that task
 * first). */
CORIO_API void corio_listener_close(corio_listener *l);

/* ---- Unix-domain sockets ------------------------------------------------ */

/* Connect to the Unix-domain stream socket at path ('@' for the abstract
 * namespace) and return a stream over it (opts may be NULL).  While the
 * server's backlog is full the call retries with a growing pause (1 ms to
 * 100 ms).
 * Returns 0 and *out, or -ENOENT (no such socket), -ECONNREFUSED (nobody
 * listens), -ENAMETOOLONG, -EACCES, -ENOMEM, -EMFILE, -ECANCELED /
 * -ETIMEDOUT, -EPERM (*out = NULL).
 * Cancel-safe: yes; nothing is left open. */
CORIO_API CORIO_NODISCARD int corio_unix_connect(corio_stream **out,
                                                 const char *path,
                                                 const corio_stream_opts *o);

/* Listen on the Unix-domain stream socket path ('@': abstract).  A stale
 * socket file at path (one nobody listens on) is removed first, as
 * asyncio does; any other existing file gives -EADDRINUSE.  Accept with
 * corio_listener_accept.  Returns 0 and *out, or -EADDRINUSE,
 * -ENAMETOOLONG, -EACCES, -ENOENT, -ENOMEM, -EMFILE.  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_unix_listen(corio_listener **out,
                                                const char *path,
                                                const corio_listen_opts *o);

/* ---- UDP ---------------------------------------------------------------- */

typedef struct corio_udp corio_udp;

/* Options of corio_udp_open; zero fields take the defaults.
 *   family     for a NULL host: AF_INET6 (default: dual-stack, so IPv4
 *              peers work too, or IPv4 when the host has no IPv6) or
 *              AF_INET.
 *   reuseport  1: SO_REUSEPORT.
 *   broadcast  1: SO_BROADCAST. */
typedef struct corio_udp_opts {
    int family;
    int reuseport;
    int broadcast;
} corio_udp_opts;

/* Open a UDP socket bound to host:port (host NULL: every interface; port
 * 0: a free port).  host must be numeric: resolve names with
 * corio_dns_resolve.  Returns 0 and *out, or -EADDRINUSE, -EINVAL,
 * -ENOMEM, -EMFILE, ... (*out = NULL).  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_udp_open(corio_udp **out, const char *host,
                                             int port, const corio_udp_opts *o);

/* Set the default destination (asyncio's remote_addr): datagrams from
 * other addresses are then no longer received, and corio_udp_sendto
 * accepts to == NULL.  Returns 0 or a negative errno.  Never suspends. */
CORIO_API int corio_udp_connect(corio_udp *u, const corio_addr *peer);

/* Send one datagram of n bytes to `to` (NULL: the connected peer),
 * suspending while the socket's buffer is full.  IPv4 destinations work on
 * dual-stack sockets.
 * Returns n, or -EMSGSIZE (too big for one datagram), -EDESTADDRREQ (to is
 * NULL and not connected), -ECONNREFUSED (a connected peer's port was
 * closed: reported by a later call), -ENETUNREACH, ..., -ECANCELED /
 * -ETIMEDOUT, -EBUSY (another task is sending), -EPERM.
 * Cancel-safe: yes; a datagram is sent whole or not at all. */
CORIO_API CORIO_NODISCARD ssize_t corio_udp_sendto(corio_udp *u,
                                                   const void *buf, size_t n,
                                                   const corio_addr *to);

/* Receive one datagram into buf, suspending until one arrives; *from (may
 * be NULL) gets its sender (an IPv4 sender of a dual-stack socket as plain
 * IPv4).
 * Returns its length (0 for an empty datagram), or:
 *   -EMSGSIZE  the datagram was longer than n: its first n bytes are in
 *              buf and the rest is lost (64 KiB always suffices).
 *   -ECONNREFUSED  (connected sockets) an earlier datagram was refused.
 *   -ECANCELED / -ETIMEDOUT, -EBUSY (another task is receiving), -EPERM.
 * Cancel-safe: yes; a call that fails with -ECANCELED/-ETIMEDOUT took no
 * datagram. */
CORIO_API CORIO_NODISCARD ssize_t corio_udp_recvfrom(corio_udp *u, void *buf,
                                                     size_t n,
                                                     corio_addr *from);

/* The address u is bound to.  Returns 0 or a negative errno. */
CORIO_API int corio_udp_addr(const corio_udp *u, corio_addr *out);

/* The descriptor (still owned by u). */
CORIO_API int corio_udp_fd(const corio_udp *u);

/* Close u and free it (NULL is a no-op).  Never suspends; no task may be
 * waiting on u. */
CORIO_API void corio_udp_close(corio_udp *u);

/* ---- Serving connections --------------------------------------------------
 */

/* Serves one connection.  The stream belongs to corio_serve, which closes
 * it after fn returns (flush first what must be sent) — unless fn returns
 * CORIO_SERVE_KEPT: fn took the stream over (handed it to another owner,
 * which closes it).  Any other return value is ignored: one connection's
 * failure never stops the server. */
typedef int (*corio_serve_fn)(corio_stream *conn, void *arg);
#define CORIO_SERVE_KEPT                                                       \
    0x4b455054 /* "KEPT": no count or error looks like it */

/* Options of corio_serve; zero fields take the defaults.
 *   stop       set this event to begin a graceful shutdown (borrowed; NULL:
 *              only cancelling the corio_serve call stops it).
 *   grace_ns   how long connections still running may take to finish once
 *              shutdown began, before they are cancelled (default 5 s;
 *              < 0: cancel them at once).
 *   max_connections  > 0: at most this many at a time; accepting pauses at
 *              the limit (the kernel's backlog holds the rest).
 *   on_shutdown  NULL, or called with fn's arg once when shutdown begins,
 *              before the grace period, whatever began it; it must not
 *              suspend (e.g. cancel connections idle between requests, as
 *              the HTTP server does with its keep-alive ones). */
typedef struct corio_serve_opts {
    corio_event *stop;
    int64_t grace_ns;
    size_t max_connections;
    void (*on_shutdown)(void *arg);
} corio_serve_opts;

/* Accept connections on l and run fn(conn, arg) for each in its own task
 * (asyncio's start_server + serve_forever), until shutdown, then shut down
 * gracefully: stop accepting, give the connections still running grace_ns
 * to finish, cancel those left (their waits return -ECANCELED) and wait
 * for them.  No task outlives the call.  l stays open (close it after).
 *
 * Shutdown begins when o->stop is set, when the calling task is cancelled
 * or its timeout scope expires (the grace period still applies), or when
 * accepting fails for good (-EBADF, -EINVAL, ...).  Running out of
 * descriptors or memory does not stop the server (see
 * corio_listener_accept).
 *
 * Returns 0 after a shutdown requested through o->stop, or:
 *   -ECANCELED / -ETIMEDOUT  the call was interrupted (after the graceful
 *              shutdown).
 *   the accept error that stopped the server.
 *   -EINVAL    l or fn is NULL.  -ENOMEM.  -EPERM.
 * Cancel-safe: yes (that is how it is stopped). */
CORIO_API int corio_serve(corio_listener *l, corio_serve_fn fn, void *arg,
                          const corio_serve_opts *o);

#ifdef __cplusplus
}
#endif
#endif
