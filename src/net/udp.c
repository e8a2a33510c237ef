/* net/udp.c — UDP sockets: open (bind), connect, sendto, recvfrom.
 *
 * A socket opened on the wildcard address is dual-stack IPv6, so one
 * socket serves IPv4 and IPv6 peers; IPv4 destinations are mapped to
 * ::ffff:a.b.c.d on the way out and senders mapped back to plain IPv4 on
 * the way in, so users only ever see the address family they expect.
 * sendto and recvfrom are non-blocking calls that wait for readiness with
 * corio_fd_wait on EAGAIN. */
#include "net/net.h"

#include <stdlib.h>

struct corio_udp {
    int fd;
    int family;
};

int corio_udp_open(corio_udp **out, const char *host, int port,
                   const corio_udp_opts *o)
{
    corio_addr a;
    int one = 1, zero = 0, rc;
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (port < 0 || port > 65535)
        return -EINVAL;
    int family = o && o->family ? o->family : AF_INET6;
    bool wild = !host || !*host;
    if (family != AF_INET && family != AF_INET6)
        return -EINVAL;
    if (wild)
        rc =
            corio__addr_numeric(&a, family == AF_INET ? "0.0.0.0" : "::", port);
    else
        rc = corio__addr_numeric(&a, host, port);
    if (rc < 0)
        return rc;
    int fd = corio__socket(a.u.sa.sa_family, SOCK_DGRAM);
    if (fd == -EAFNOSUPPORT && wild && family == AF_INET6) {
        corio__addr_numeric(&a, "0.0.0.0", port);
        fd = corio__socket(AF_INET, SOCK_DGRAM);
    }
    if (fd < 0)
        return fd;
    if ((o && o->reuseport &&
         corio__sys.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) <
             0) ||
        (o && o->broadcast &&
         corio__sys.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) <
             0) ||
        (a.u.sa.sa_family == AF_INET6 &&
         corio__sys.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
                               sizeof zero) < 0) ||
        corio__sys.bind(fd, &a.u.sa, a.len) < 0) {
        rc = -errno;
        corio__fd_close_any(fd);
        return rc;
    }
    corio_udp *u = corio__sys.malloc(sizeof *u);
    if (!u) {
        corio__fd_close_any(fd);
        return -ENOMEM;
    }
    u->fd = fd;
    u->family = a.u.sa.sa_family;
    *out = u;
    return 0;
}

int corio_udp_connect(corio_udp *u, const corio_addr *peer)
{
    corio_addr tmp;
    if (!u || !peer)
        return -EINVAL;
    const corio_addr *a = corio__addr_for(peer, u->family, &tmp);
    if (corio__sys.connect(u->fd, &a->u.sa, a->len) < 0)
        return -errno;
    return 0;
}

ssize_t corio_udp_sendto(corio_udp *u, const void *buf, size_t n,
                         const corio_addr *to)
{
    corio_addr tmp;
    if (!u)
        return -EINVAL;
    const corio_addr *a = to ? corio__addr_for(to, u->family, &tmp) : NULL;
    for (;;) {
        ssize_t r = corio__sys.sendto(u->fd, buf, n, MSG_NOSIGNAL,
                                      a ? &a->u.sa : NULL, a ? a->len : 0);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = corio_fd_wait(u->fd, CORIO_WRITABLE);
        if (rc < 0)
            return rc;
    }
}

ssize_t corio_udp_recvfrom(corio_udp *u, void *buf, size_t n, corio_addr *from)
{
    if (!u)
        return -EINVAL;
    for (;;) {
        corio_addr a;
        a.len = sizeof a.u;
        ssize_t r =
            corio__sys.recvfrom(u->fd, buf, n, MSG_TRUNC, &a.u.sa, &a.len);
        if (r >= 0) {
            if (from) {
                corio__addr_unmap(&a);
                *from = a;
            }
            return (size_t)r > n ? -EMSGSIZE : r;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = corio_fd_wait(u->fd, CORIO_READABLE);
        if (rc < 0)
            return rc;
    }
}

int corio_udp_addr(const corio_udp *u, corio_addr *out)
{
    if (!u)
        return -EINVAL;
    return corio_socket_local(u->fd, out);
}

int corio_udp_fd(const corio_udp *u)
{
    return u ? u->fd : -1;
}

void corio_udp_close(corio_udp *u)
{
    if (!u)
        return;
    corio__fd_close_any(u->fd);
    free(u);
}
