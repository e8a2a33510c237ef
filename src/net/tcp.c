/* net/tcp.c — TCP clients: corio_tcp_connect and happy eyeballs (RFC 8305).
 *
 * corio__tcp_dial races connection attempts over a list of addresses.  The
 * list is reordered so the families alternate, starting with the family of
 * the resolver's first choice (RFC 8305 §4).  Each attempt is a task in a
 * group owned by the dialing task; it makes a socket, connects, records the
 * outcome in its slot and releases a semaphore.  The dialer waits on that
 * semaphore inside a timeout scope of one stagger delay (250 ms): expiry
 * starts the next attempt beside the ones still running; a failure starts
 * it at once; the first success wins.  Then the group is cancelled and
 * drained: the attempts still connecting see -ECANCELED and close their
 * sockets, and any that also connected in the same tick are closed by the
 * dialer, so exactly one socket survives.  A single address is connected
 * by the dialer itself, without a task. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

#define STAGGER_DEFAULT (250 * CORIO_MS)

typedef struct dial dial;

typedef struct attempt {
    dial *d;
    corio_addr addr;
    int fd; /* the connected socket (rc == 0), else -1 */
    int rc; /* 1 while running, 0 connected, < 0 failed */
} attempt;

struct dial {
    corio_sem done; /* one release per finished attempt */
    const corio_addr *local;
};

/* One socket connected to a, or a negative errno; nothing left open on
 * failure. */
static int connect_one(const corio_addr *a, const corio_addr *local)
{
    int fd = corio__socket(a->u.sa.sa_family, SOCK_STREAM);
    if (fd < 0)
        return fd;
    int rc = 0;
    if (local && corio__sys.bind(fd, &local->u.sa, local->len) < 0)
        rc = -errno;
    if (rc == 0)
        rc = corio__connect(fd, a);
    if (rc < 0) {
        corio__fd_close_any(fd);
        return rc;
    }
    return fd;
}

static int attempt_main(void *arg)
{
    attempt *a = arg;
    int fd = connect_one(&a->addr, a->d->local);
    a->fd = fd < 0 ? -1 : fd;
    a->rc = fd < 0 ? fd : 0;
    corio_sem_release(&a->d->done);
    return 0; /* never a group failure: outcomes are in the slot */
}

/* addrs reordered with the families alternating, the first address's
 * family first (stable within a family). */
static void interleave(attempt *v, const corio_addr *addrs, size_t n)
{
    int first = addrs[0].u.sa.sa_family;
    size_t i = 0, j = 0, k = 0;
    while (k < n) {
        while (i < n && addrs[i].u.sa.sa_family != first)
            i++;
        if (i < n)
            v[k++].addr = addrs[i++];
        while (j < n && addrs[j].u.sa.sa_family == first)
            j++;
        if (j < n)
            v[k++].addr = addrs[j++];
    }
}

/* Race the attempts; returns the winner's fd or an error. */
static int race(attempt *v, size_t n, int64_t stagger, dial *d)
{
    corio_group *g;
    size_t started = 0;
    int rc = corio_group_new(&g);
    if (rc < 0)
        return rc;
    rc = 1; /* undecided */
    while (rc > 0) {
        if (started < n) {
            int s = corio_group_spawn(g, attempt_main, &v[started]);
            if (s < 0) {
                rc = s;
                break;
            }
            started++;
        }
        for (;;) {
            bool timed = false;
            int w;
            if (started < n && stagger > 0) {
                w = corio_timeout_begin(stagger);
                if (w == 0) {
                    w = corio_sem_acquire(&d->done);
                    timed =
                        corio_timeout_end() == -ETIMEDOUT && w == -ETIMEDOUT;
                }
            } else {
                w = corio_sem_acquire(&d->done);
            }
            if (w < 0 && !timed) {
                rc = w; /* interrupted: the caller's cancel or deadline */
                break;
            }
            size_t failed = 0;
            for (size_t i = 0; i < started; i++) {
                if (v[i].rc == 0) {
                    rc = 0;
                    break;
                }
                failed += v[i].rc < 0;
            }
            if (rc == 0)
                break;
            if (failed == n) {
                rc = v[0].rc; /* every address failed: the first one's error */
                break;
            }
            if (started < n)
                break; /* the stagger passed, or an attempt failed: next */
        }
    }
    corio_group_cancel(g);
    CORIO_IGNORE(corio_group_wait(
        g)); /* cancelled, so -ECANCELED; drains uninterruptibly */
    int fd = -1;
    for (size_t i = 0; i < started; i++) {
        if (v[i].fd < 0)
            continue;
        if (rc == 0 && fd < 0)
            fd = v[i].fd; /* the first slot that connected */
        else
            corio__fd_close_any(v[i].fd);
    }
    return rc == 0 ? fd : rc;
}

int corio__tcp_dial(int *fdp, const corio_addr *addrs, size_t n,
                    const corio_tcp_opts *o)
{
    int family = o ? o->family : 0;
    const corio_addr *local = o ? o->local : NULL;
    int64_t stagger = o && o->stagger_ns ? o->stagger_ns : STAGGER_DEFAULT;
    size_t m = 0;
    int rc;

    *fdp = -1;
    if (!corio_task_current())
        return -EPERM;
    if (!addrs || !n)
        return -EINVAL;
    if (local)
        family = local->u.sa.sa_family;
    for (size_t i = 0; i < n; i++) {
        int f = addrs[i].u.sa.sa_family;
        if (f != AF_INET && f != AF_INET6)
            return -EINVAL;
        m += !family || f == family;
    }
    if (!m)
        return -EAFNOSUPPORT;

    attempt *v = corio__sys.calloc(m, sizeof *v);
    if (!v)
        return -ENOMEM;
    /* Keep the addresses of the family asked for, then interleave. */
    corio_addr *keep = corio__sys.malloc(m * sizeof *keep);
    if (!keep) {
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0, k = 0; i < n; i++)
        if (!family || addrs[i].u.sa.sa_family == family)
            keep[k++] = addrs[i];
    interleave(v, keep, m);
    free(keep);

    if (m == 1) {
        rc = connect_one(&v[0].addr, local);
    } else {
        dial d = {.local = local};
        corio_sem_init(&d.done, 0);
        for (size_t i = 0; i < m; i++) {
            v[i].d = &d;
            v[i].fd = -1;
            v[i].rc = 1;
        }
        rc = race(v, m, stagger, &d);
        corio_sem_destroy(&d.done);
    }
    free(v);
    if (rc < 0)
        return rc;
    int fd = rc;
    rc = corio__tcp_setup(fd, o ? o->nodelay : 0, o ? o->keepalive_ns : 0);
    if (rc < 0) {
        corio__fd_close_any(fd);
        return rc;
    }
    *fdp = fd;
    return 0;
}

int corio_tcp_connect_addrs(corio_stream **out, const corio_addr *addrs,
                            size_t n, const corio_tcp_opts *o)
{
    int fd;
    if (!out)
        return -EINVAL;
    *out = NULL;
    int rc = corio__tcp_dial(&fd, addrs, n, o);
    if (rc < 0)
        return rc;
    rc = corio_stream_from_fd(out, fd, o ? &o->stream : NULL);
    if (rc < 0)
        corio__fd_close_any(fd);
    return rc;
}

int corio_tcp_connect_ex(corio_stream **out, const char *host, int port,
                         const corio_tcp_opts *o)
{
    corio_addr *addrs;
    if (!out)
        return -EINVAL;
    *out = NULL;
    corio_dns_opts dopts = {o ? o->family : 0, SOCK_STREAM};
    if (o && o->local)
        dopts.family = o->local->u.sa.sa_family;
    ssize_t n = corio_dns_resolve(&addrs, host, port, &dopts);
    if (n < 0)
        return (int)n;
    int rc = corio_tcp_connect_addrs(out, addrs, (size_t)n, o);
    corio_dns_free(addrs);
    return rc;
}

int corio_tcp_connect(corio_stream **out, const char *host, int port)
{
    return corio_tcp_connect_ex(out, host, port, NULL);
}
