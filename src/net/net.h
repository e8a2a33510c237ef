/* net/net.h — what the socket files share: making sockets, closing them,
 * non-blocking connect, address conversions, and the fd-level halves of
 * the public calls (tests use these too).
 *
 * Parts:
 *   socket.c    corio__socket, corio__connect, options
 *   addr.c      corio_addr parsing/formatting, v4-mapped conversions
 *   dns.c       corio_dns_resolve on the DNS pool
 *   tcp.c       happy eyeballs (corio__tcp_dial) and corio_tcp_connect
 *   listener.c  corio_listener: accept, the spare descriptor for EMFILE
 *   unix.c      Unix-domain connect and listen
 *   udp.c       datagrams
 *   serve.c     the accept loop with graceful shutdown */
#ifndef CORIO_NET_NET_H
#define CORIO_NET_NET_H

#include <corio.h>
#include <stdbool.h>

#include "io/fd.h"
#include "os/sys.h"

/* A non-blocking, close-on-exec socket.  The fd, or -errno. */
int corio__socket(int family, int type);
/* Connect the non-blocking socket fd to a, suspending until the handshake
 * ends.  0, or -errno of the connection, -ECANCELED / -ETIMEDOUT (fd is
 * then unusable for another connect: close it). */
int corio__connect(int fd, const corio_addr *a);
/* Apply TCP options to a connected socket (nodelay: 0 default on, 1 on,
 * -1 off; keepalive_ns > 0: on).  0 or -errno. */
int corio__tcp_setup(int fd, int nodelay, int64_t keepalive_ns);

/* addr.c: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes plain
 * IPv4, in place. */
void corio__addr_unmap(corio_addr *a);
/* addr.c: a as it must be given to a socket of `family`: an IPv4 address
 * for an AF_INET6 socket becomes IPv4-mapped.  Returns a or tmp. */
const corio_addr *corio__addr_for(const corio_addr *a, int family,
                                  corio_addr *tmp);
/* addr.c: parse a numeric host (NULL: none) with brackets allowed. */
int corio__addr_numeric(corio_addr *out, const char *host, int port);
/* addr.c: same address (family, bytes, port; scope for IPv6). */
int corio__addr_equal(const corio_addr *a, const corio_addr *b);

/* dns.c: when set, asked first by corio_dns_resolve: 1 and *out when host
 * is one of the test kit's fake names (testing/dns.c), else 0.  Loop
 * thread only; NULL outside tests. */
extern CORIO__EXPORT int (*corio__dns_fake)(const char *host, int port,
                                            corio_addr *out);

/* dns.c: map getaddrinfo's return (and errno for EAI_SYSTEM) to corio's
 * codes. */
int corio__dns_error(int eai, int err);

/* tcp.c: happy eyeballs over addrs; *fd is the connected socket (options
 * applied). */
int corio__tcp_dial(int *fd, const corio_addr *addrs, size_t n,
                    const corio_tcp_opts *o);

/* listener.c: a listener over the listening socket fd (taken; closed on
 * failure).  tcp: apply nodelay/keepalive to accepted sockets.  path: the
 * Unix socket file to remove at close (copied; NULL: none). */
int corio__listener_new(corio_listener **out, int fd,
                        const corio_listen_opts *o, int tcp, const char *path);
/* listener.c: accept one connection as a descriptor. */
int corio__listener_accept_fd(corio_listener *l, int *fd, corio_addr *peer);

#endif
