/* io/fd.c — corio_fd_*: readiness waits on descriptors, and reads and
 * writes that park on EAGAIN.
 *
 * Each descriptor the loop has seen has a record (L->fdtab->v, indexed by fd):
 * the task waiting to read, the task waiting to write, and the flags and
 * identity (device, inode) it had before corio made it non-blocking, so they
 * can be restored when the loop ends (only if the number still names the
 * same file).  Reads and writes are tried first and park only after EAGAIN;
 * the engine's next edge for that direction wakes the waiter.  One
 * exception (libuv's and Go's): on a byte stream, after a read that
 * returned less than asked (the kernel's buffer is empty), the next read
 * parks first, unless a readable edge was seen since — that saves the read
 * that could only say EAGAIN, one syscall per message under ping-pong. */
#include "io/fd.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t nfds(const corio__loop *L)
{
    return L->fdtab ? L->fdtab->n : 0;
}

static corio__fdrec *record(corio__loop *L, int fd)
{
    if (fd < 0)
        return NULL;
    size_t have = nfds(L);
    if ((size_t)fd >= have) {
        size_t n = have ? have : 64;
        while (n <= (size_t)fd)
            n *= 2;
        corio__fdtab *t =
            corio__sys.realloc(L->fdtab, sizeof *t + n * sizeof t->v[0]);
        if (!t)
            return NULL;
        memset(t->v + have, 0, (n - have) * sizeof t->v[0]);
        t->n = n;
        L->fdtab = t;
    }
    return &L->fdtab->v[fd];
}

/* A pipe, or a stream socket (not a datagram one, whose reads are one
 * datagram each, nor a terminal, whose reads are one line each). */
static bool byte_stream(int fd, const struct stat *st)
{
    int type = 0;
    socklen_t len = sizeof type;
    if (S_ISFIFO(st->st_mode))
        return true;
    return S_ISSOCK(st->st_mode) &&
           corio__sys.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
           type == SOCK_STREAM;
}

/* Make fd non-blocking and watched, once.  0 or -errno. */
static __attribute__((noinline)) int setup_slow(corio__loop *L, int fd,
                                                corio__fdrec **out)
{
    struct stat st;
    corio__fdrec *r = record(L, fd);
    if (!r)
        return fd < 0 ? -EBADF : -ENOMEM;
    *out = r;
    if (r->setup)
        return 0;
    int flags = corio__sys.fcntl(fd, F_GETFL, 0);
    if (flags < 0 || corio__sys.fstat(fd, &st) < 0)
        return -errno;
    /* Regular files and directories are always ready (and epoll refuses
     * them with EPERM anyway). */
    int rc = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)
                 ? -EPERM
                 : L->engine->watch(L, fd);
    if (rc == -EPERM) {
        r->always = 1; /* regular files and directories: always ready */
    } else if (rc < 0) {
        return rc;
    } else if (!(flags & O_NONBLOCK) &&
               corio__sys.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        rc = -errno;
        L->engine->unwatch(L, fd);
        return rc;
    }
    r->orig_flags = flags;
    r->sock = S_ISSOCK(st.st_mode);
    r->bytes = !r->always && byte_stream(fd, &st);
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    r->setup = 1;
    return 0;
}

/* setup, with the common case inline: every read and write calls it, and
 * fd was set up by an earlier one. */
static inline int setup(corio__loop *L, int fd, corio__fdrec **out)
{
    if (fd >= 0 && (size_t)fd < nfds(L) && L->fdtab->v[fd].setup) {
        *out = &L->fdtab->v[fd];
        return 0;
    }
    return setup_slow(L, fd, out);
}

/* The wait keeps the fd number, not a record pointer: the table may move when
 * another task's descriptor grows the table while this one is parked. */
typedef struct fd_wait {
    corio__wait w; /* first: the scheduler hands back &w */
    int fd;
} fd_wait;

static void unlink_waiter(corio__loop *L, corio__fdrec *r, corio_task *t)
{
    bool was = r->reader == t || r->writer == t;
    if (r->reader == t)
        r->reader = NULL;
    if (r->writer == t)
        r->writer = NULL;
    if (was)
        L->nfd_waiting--;
}

static bool fd_cancel(corio__wait *w, corio_task *t, int code)
{
    (void)code;
    unlink_waiter(t->loop, &t->loop->fdtab->v[((fd_wait *)w)->fd], t);
    return true;
}

void corio__fd_event(corio__loop *L, int fd, int mask)
{
    if (fd < 0 || (size_t)fd >= nfds(L))
        return;
    corio__fdrec *r = &L->fdtab->v[fd];
    corio_task *rd = (mask & CORIO_READABLE) ? r->reader : NULL;
    corio_task *wr = (mask & CORIO_WRITABLE) ? r->writer : NULL;
    if ((mask & CORIO_READABLE) && !rd)
        r->rising = 1;
    if (mask & CORIO__FD_HUP)
        r->hup = 1;
    mask &= CORIO_READABLE | CORIO_WRITABLE;
    if (rd) {
        unlink_waiter(L, r, rd);
        corio__wake(rd, mask);
    }
    if (wr && wr != rd) {
        unlink_waiter(L, r, wr);
        corio__wake(wr, mask);
    }
}

/* Park until an edge in one of `events`.  Returns the mask or an error. */
static int park_on(corio__loop *L, int fd, int events)
{
    corio__fdrec *r = &L->fdtab->v[fd];
    corio_task *self = L->current;
    if (((events & CORIO_READABLE) && r->reader) ||
        ((events & CORIO_WRITABLE) && r->writer))
        return -EBUSY;
    fd_wait fw = {{fd_cancel,
                   events == CORIO_READABLE   ? "fd read"
                   : events == CORIO_WRITABLE ? "fd write"
                                              : "fd",
                   INT64_MAX},
                  fd};
    if (events & CORIO_READABLE)
        r->reader = self;
    if (events & CORIO_WRITABLE)
        r->writer = self;
    L->nfd_waiting++;
    int rc = corio__park(&fw.w);
    if (rc < 0)
        unlink_waiter(L, &L->fdtab->v[fd],
                      self); /* interrupted before sleeping */
    return rc;
}

/* Completion engines: one read, write or poll by the engine itself, with
 * fd's direction(s) marked busy meanwhile (the -EBUSY rule). */
static ssize_t engine_op(corio__loop *L, int fd, int dir, bool ahead, void *buf,
                         size_t n)
{
    corio__fdrec *r = &L->fdtab->v[fd];
    corio_task *self = L->current;
    if (((dir & CORIO_READABLE) && r->reader) ||
        ((dir & CORIO_WRITABLE) && r->writer))
        return -EBUSY;
    if (dir & CORIO_READABLE)
        r->reader = self;
    if (dir & CORIO_WRITABLE)
        r->writer = self;
    bool sock = r->sock;
    ahead = ahead && sock && r->bytes;
    ssize_t rc = !buf ? L->engine->poll(L, fd, dir)
                 : dir == CORIO_READABLE
                     ? L->engine->read(L, fd, sock, ahead, buf, n)
                     : L->engine->write(L, fd, sock, buf, n);
    r = &L->fdtab->v[fd]; /* the table may have moved meanwhile */
    if (dir & CORIO_READABLE)
        r->reader = NULL;
    if (dir & CORIO_WRITABLE)
        r->writer = NULL;
    return rc;
}

int corio_fd_wait(int fd, int events)
{
    corio_task *self = corio__self();
    corio__fdrec *r;
    if (!self)
        return -EPERM;
    events &= CORIO_READABLE | CORIO_WRITABLE;
    if (!events)
        return -EINVAL;
    /* A ready descriptor returns without suspending, so the wait spends
     * budget like a read: a loop of waits still meets its cancellation. */
    int rc = corio__coop(self);
    if (rc < 0)
        return rc;
    rc = setup(self->loop, fd, &r);
    if (rc < 0)
        return rc;
    if (r->always)
        return events;
    /* Edges seen while nobody waited are not kept: ask the kernel. */
    struct pollfd p = {fd,
                       (short)((events & CORIO_READABLE ? POLLIN : 0) |
                               (events & CORIO_WRITABLE ? POLLOUT : 0)),
                       0};
    if (corio__sys.poll(&p, 1, 0) == 1 && p.revents) {
        if (p.revents & POLLNVAL)
            return -EBADF;
        int m = 0;
        if (p.revents & (POLLIN | POLLRDHUP))
            m |= CORIO_READABLE;
        if (p.revents & POLLOUT)
            m |= CORIO_WRITABLE;
        if (p.revents & (POLLHUP | POLLERR))
            m |= CORIO_READABLE | CORIO_WRITABLE;
        return m;
    }
    if (self->loop->engine->poll)
        return (int)engine_op(self->loop, fd, events, false, NULL, 0);
    return park_on(self->loop, fd, events);
}

static ssize_t fd_read(int fd, void *buf, size_t n, bool ahead)
{
    corio_task *self = corio__self();
    corio__fdrec *r;
    if (!self)
        return -EPERM;
    int rc = setup(self->loop, fd, &r);
    if (rc < 0)
        return rc;
    bool always = r->always; /* r may move while parked */
    if ((rc = corio__coop(self)) < 0)
        return rc;
    if (self->loop->engine->read && !always)
        return engine_op(self->loop, fd, CORIO_READABLE, ahead, buf, n);
    r = &self->loop->fdtab->v[fd]; /* the coop checkpoint may have moved it */
    if (r->drained && !r->rising && !r->hup &&
        (rc = park_on(self->loop, fd, CORIO_READABLE)) < 0)
        return rc;
    for (;;) {
        /* Edges from here on are new data: the read below may miss them. */
        r = &self->loop->fdtab->v[fd];
        r->rising = 0;
        /* Sockets: recv(2) goes straight to the socket layer, where
         * read(2) first passes the VFS (file position lock, permission
         * and notification hooks, an indirect call): a few percent of a
         * small message's round trip. */
        ssize_t got = r->sock ? corio__sys.recvfrom(fd, buf, n, 0, NULL, NULL)
                              : corio__sys.read(fd, buf, n);
        r->drained = r->bytes && got > 0 && (size_t)got < n;
        if (got >= 0)
            return got;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || always)
            return -errno;
        rc = park_on(self->loop, fd, CORIO_READABLE);
        if (rc < 0)
            return rc;
    }
}

ssize_t corio_fd_read(int fd, void *buf, size_t n)
{
    return fd_read(fd, buf, n, false);
}

ssize_t corio__fd_read_ahead(int fd, void *buf, size_t n)
{
    return fd_read(fd, buf, n, true);
}

ssize_t corio_fd_write(int fd, const void *buf, size_t n)
{
    corio_task *self = corio__self();
    corio__fdrec *r;
    size_t done = 0;
    if (!self)
        return -EPERM;
    int rc = setup(self->loop, fd, &r);
    if (rc < 0)
        return rc;
    bool always = r->always, sock = r->sock; /* r may move while parked */
    if ((rc = corio__coop(self)) < 0)
        return rc;
    while (done < n && self->loop->engine->write && !always) {
        ssize_t put = engine_op(self->loop, fd, CORIO_WRITABLE, false,
                                (char *)buf + done, n - done);
        if (put < 0)
            return done ? (ssize_t)done : put;
        done += (size_t)put;
    }
    while (done < n) {
        /* Sockets: send with MSG_NOSIGNAL, so a peer that went away is
         * -EPIPE here rather than a SIGPIPE that kills the process. */
        ssize_t put =
            sock ? corio__sys.sendto(fd, (const char *)buf + done, n - done,
                                     MSG_NOSIGNAL, NULL, 0)
                 : corio__sys.write(fd, (const char *)buf + done, n - done);
        if (put >= 0) {
            done += (size_t)put;
            continue;
        }
        if (errno == EINTR)
            continue;
        rc = -errno;
        if (errno == EAGAIN && !always)
            rc = park_on(self->loop, fd, CORIO_WRITABLE);
        if (rc < 0)
            return done ? (ssize_t)done : rc;
    }
    return (ssize_t)n;
}

static void restore(corio__fdrec *r, int fd)
{
    struct stat st;
    if (!(r->orig_flags & O_NONBLOCK) && !r->always &&
        corio__sys.fstat(fd, &st) == 0 && st.st_dev == r->dev &&
        st.st_ino == r->ino) {
        int flags = corio__sys.fcntl(fd, F_GETFL, 0);
        if (flags >= 0)
            corio__sys.fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    }
    memset(r, 0, sizeof *r);
}

int corio_fd_forget(int fd)
{
    corio__loop *L = corio__cur;
    if (!L)
        return -EPERM;
    if (fd < 0 || (size_t)fd >= nfds(L) || !L->fdtab->v[fd].setup)
        return 0;
    corio__fdrec *r = &L->fdtab->v[fd];
    if (r->reader || r->writer)
        return -EBUSY;
    if (!r->always)
        L->engine->unwatch(L, fd);
    restore(r, fd);
    return 0;
}

int corio_fd_close(int fd)
{
    int rc = corio_fd_forget(fd);
    if (rc < 0)
        return rc; /* -EBUSY, -EPERM: nothing was closed */
    return corio__sys.close(fd) < 0 ? -errno : 0;
}

int corio__fd_close_any(int fd)
{
    int rc = corio_fd_close(fd);
    if (rc == -EPERM)
        rc = corio__sys.close(fd) < 0 ? -errno : 0;
    return rc;
}

void corio__fd_close_all(corio__loop *L)
{
    for (size_t fd = 0; fd < nfds(L); fd++)
        if (L->fdtab->v[fd].setup)
            restore(&L->fdtab->v[fd], (int)fd);
    free(L->fdtab);
    L->fdtab = NULL;
}
