/* net/listener.c — corio_listener: a listening socket (TCP or Unix-domain)
 * and accept that survives running out of descriptors.
 *
 * When accept4 fails with EMFILE/ENFILE the pending connection stays in
 * the kernel's queue and the listener stays readable, so a naive loop would
 * spin.  Each listener therefore holds a spare descriptor (/dev/null, the
 * trick of libuv and nginx): on EMFILE it closes the spare, accepts the
 * pending connections and closes them at once (their clients see a reset
 * rather than a hang), then takes the spare again.  The queue is then
 * empty and the next accept waits: accept4 fails with EMFILE even on an
 * empty queue (it claims the descriptor first), so when the spare finds
 * nothing to shed the call waits for readability instead of returning.
 * Without a spare (it could not be reopened) the call waits for a
 * pending connection and pauses 100 ms before reporting -EMFILE. */
#include "net/net.h"

#include <sched.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define PAUSE (100 * CORIO_MS)
#define SHED_MAX 1024 /* connections shed per call */

struct corio_listener {
    int fd;
    int spare; /* held for EMFILE, or -1 */
    bool tcp;
    int nodelay;
    int64_t keepalive_ns;
    corio_stream_opts stream;
    char *path; /* Unix socket file to remove at close, or NULL */
    dev_t dev;  /* ... as long as it is still this file */
    ino_t ino;
};

static int open_spare(void)
{
    int fd = corio__sys.openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC, 0);
    return fd < 0 ? -1 : fd;
}

int corio__listener_new(corio_listener **out, int fd,
                        const corio_listen_opts *o, int tcp, const char *path)
{
    int backlog = o && o->backlog > 0 ? o->backlog : SOMAXCONN;
    *out = NULL;
    if (corio__sys.listen(fd, backlog) < 0) {
        int rc = -errno;
        corio__fd_close_any(fd);
        return rc;
    }
    size_t pl = path ? strlen(path) + 1 : 0;
    corio_listener *l = corio__sys.calloc(1, sizeof *l + pl);
    if (!l) {
        corio__fd_close_any(fd);
        return -ENOMEM;
    }
    l->fd = fd;
    l->tcp = tcp;
    if (o) {
        l->nodelay = o->nodelay;
        l->keepalive_ns = o->keepalive_ns;
        l->stream = o->stream;
    }
    if (path) {
        struct stat st;
        l->path = (char *)(l + 1);
        memcpy(l->path, path, pl);
        if (corio__sys.fstatat(AT_FDCWD, path, &st, 0) == 0) {
            l->dev = st.st_dev;
            l->ino = st.st_ino;
        } else {
            l->path = NULL; /* cannot tell it is ours later: leave it */
        }
    }
    l->spare = open_spare(); /* none: accept pauses instead on EMFILE */
    *out = l;
    return 0;
}

/* Out of descriptors: shed the pending connections with the spare, or
 * pause.  Returns err, -ECANCELED / -ETIMEDOUT from the pause, or 0 when
 * the queue turned out to be empty (accept4 claims a descriptor before it
 * looks at the queue, so a full table fails it even then): the caller then
 * waits for a connection instead. */
static int out_of_fds(corio_listener *l, int err)
{
    if (l->spare < 0)
        l->spare = open_spare(); /* descriptors may have come back */
    if (l->spare < 0) {
        int rc = corio_fd_wait(l->fd, CORIO_READABLE); /* something to refuse */
        if (rc >= 0)
            rc = corio_sleep(PAUSE);
        return rc < 0 ? rc : err;
    }
    corio__sys.close(l->spare);
    l->spare = -1;
    int shed = 0;
    while (shed < SHED_MAX) {
        int c = corio__sys.accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            break;
        corio__sys.close(c); /* never watched: a plain close */
        shed++;
    }
    l->spare = open_spare();
    return shed ? err : 0;
}

int corio__listener_accept_fd(corio_listener *l, int *fdp, corio_addr *peer)
{
    *fdp = -1;
    if (!l || l->fd < 0)
        return -EBADF;
    for (;;) {
        corio_addr a;
        a.len = sizeof a.u;
        int c = corio__sys.accept4(l->fd, &a.u.sa, &a.len,
                                   SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
            if (l->tcp) {
                int rc = corio__tcp_setup(c, l->nodelay, l->keepalive_ns);
                if (rc < 0) { /* the peer is already gone (EINVAL...): next */
                    corio__sys.close(c);
                    continue;
                }
            }
            corio__addr_unmap(&a);
            if (peer)
                *peer = a;
            *fdp = c;
            return 0;
        }
        int rc;
        switch (errno) {
        case EAGAIN:
            rc = corio_fd_wait(l->fd, CORIO_READABLE);
            if (rc < 0)
                return rc;
            break;
        case EINTR:
        /* The connection died before it was accepted, or (accept(2)) a
         * network error already pending on it: try the next one. */
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case EPERM: /* firewall rules */
            break;
        case EMFILE:
        case ENFILE:
            rc = out_of_fds(l, -errno);
            if (rc < 0)
                return rc;
            rc = corio_fd_wait(l->fd, CORIO_READABLE); /* queue was empty */
            if (rc < 0)
                return rc;
            break;
        case ENOBUFS:
        case ENOMEM:
            rc = -errno;
            {
                int s = corio_sleep(PAUSE);
                return s < 0 ? s : rc;
            }
        default:
            return -errno;
        }
    }
}

int corio_listener_accept(corio_listener *l, corio_stream **out,
                          corio_addr *peer)
{
    int fd;
    if (!out)
        return -EINVAL;
    *out = NULL;
    int rc = corio__listener_accept_fd(l, &fd, peer);
    if (rc < 0)
        return rc;
    rc = corio_stream_from_fd(out, fd, &l->stream);
    if (rc < 0)
        corio__fd_close_any(fd);
    return rc;
}

int corio_listener_addr(const corio_listener *l, corio_addr *out)
{
    if (!l)
        return -EINVAL;
    return corio_socket_local(l->fd, out);
}

int corio_listener_fd(const corio_listener *l)
{
    return l ? l->fd : -1;
}

void corio_listener_close(corio_listener *l)
{
    struct stat st;
    if (!l)
        return;
    corio__fd_close_any(l->fd);
    if (l->spare >= 0)
        corio__sys.close(l->spare);
    if (l->path &&
        corio__sys.fstatat(AT_FDCWD, l->path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        st.st_dev == l->dev && st.st_ino == l->ino)
        corio__sys.unlinkat(AT_FDCWD, l->path, 0);
    free(l);
}

int corio_tcp_listen(corio_listener **out, const char *host, int port,
                     const corio_listen_opts *o)
{
    corio_addr a;
    int rc, fd = -1, one = 1;
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (port < 0 || port > 65535)
        return -EINVAL;
    bool wild = !host || !*host;
    if (wild) {
        corio__addr_numeric(&a, "::", port);
    } else if (corio__addr_numeric(&a, host, port) < 0) {
        corio_addr *v;
        corio_dns_opts d = {AF_UNSPEC, SOCK_STREAM};
        ssize_t n = corio_dns_resolve(&v, host, port, &d);
        if (n < 0)
            return (int)n;
        a = v[0];
        corio_dns_free(v);
    }
    fd = corio__socket(a.u.sa.sa_family, SOCK_STREAM);
    if (fd == -EAFNOSUPPORT && wild) { /* no IPv6 on this host */
        corio__addr_numeric(&a, "0.0.0.0", port);
        fd = corio__socket(AF_INET, SOCK_STREAM);
    }
    if (fd < 0)
        return fd;
    int v6only = o && o->v6only;
    int cpu = o && o->reuseport && o->steer_cpu ? sched_getcpu() : -1;
    if (corio__sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) <
            0 ||
        (o && o->reuseport &&
         corio__sys.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) <
             0) ||
        (cpu >= 0 && corio__sys.setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU,
                                           &cpu, sizeof cpu) < 0) ||
        (a.u.sa.sa_family == AF_INET6 &&
         corio__sys.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                               sizeof v6only) < 0) ||
        corio__sys.bind(fd, &a.u.sa, a.len) < 0) {
        rc = -errno;
        corio__fd_close_any(fd);
        return rc;
    }
    return corio__listener_new(out, fd, o, 1, NULL);
}
