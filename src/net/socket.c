/* net/socket.c — making, connecting and closing sockets, and socket
 * options: the pieces tcp.c, unix.c, udp.c and listener.c share.
 *
 * A connect is a non-blocking connect(2) and then a wait for writability
 * through corio_fd_wait, so the loop's I/O engine (epoll or io_uring) does
 * the waiting; the outcome is read from SO_ERROR. */
#include "net/net.h"

#include <netinet/tcp.h>

int corio__socket(int family, int type)
{
    int fd = corio__sys.socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

int corio__connect(int fd, const corio_addr *a)
{
    if (corio__sys.connect(fd, &a->u.sa, a->len) == 0)
        return 0;
    /* EINTR: the connection goes on in the background, as EINPROGRESS. */
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    for (;;) {
        int rc = corio_fd_wait(fd, CORIO_WRITABLE);
        if (rc < 0)
            return rc;
        int err = 0;
        socklen_t len = sizeof err;
        if (corio__sys.getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            return -errno;
        if (err)
            return -err;
        /* Writable without an error means connected; a readiness report
         * that came early (nothing settled yet) shows as ENOTCONN here. */
        corio_addr peer;
        peer.len = sizeof peer.u;
        if (corio__sys.getpeername(fd, &peer.u.sa, &peer.len) == 0)
            return 0;
        if (errno != ENOTCONN)
            return -errno;
    }
}

int corio_socket_set_nodelay(int fd, int on)
{
    int v = on ? 1 : 0;
    if (corio__sys.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0)
        return -errno;
    return 0;
}

int corio_socket_set_keepalive(int fd, int64_t idle_ns)
{
    int on = idle_ns > 0;
    if (corio__sys.setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0)
        return -errno;
    if (!on)
        return 0;
    int64_t s64 = (idle_ns + CORIO_SECOND - 1) / CORIO_SECOND;
    int s = s64 > 32767 ? 32767 : (int)s64; /* the kernel's MAX_TCP_KEEPIDLE */
    if (corio__sys.setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &s, sizeof s) <
            0 ||
        corio__sys.setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &s, sizeof s) < 0)
        return -errno;
    return 0;
}

int corio__tcp_setup(int fd, int nodelay, int64_t keepalive_ns)
{
    int rc = corio_socket_set_nodelay(fd, nodelay >= 0);
    if (rc == 0 && keepalive_ns > 0)
        rc = corio_socket_set_keepalive(fd, keepalive_ns);
    return rc;
}

static int name_of(int fd, corio_addr *out, bool peer)
{
    if (!out)
        return -EINVAL;
    out->len = sizeof out->u;
    int rc = peer ? corio__sys.getpeername(fd, &out->u.sa, &out->len)
                  : corio__sys.getsockname(fd, &out->u.sa, &out->len);
    if (rc < 0)
        return -errno;
    corio__addr_unmap(out);
    return 0;
}

int corio_socket_local(int fd, corio_addr *out)
{
    return name_of(fd, out, false);
}

int corio_socket_peer(int fd, corio_addr *out)
{
    return name_of(fd, out, true);
}
