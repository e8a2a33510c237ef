/* stream/fd_transport.c — the transport over a descriptor (socket, pipe,
 * terminal) and corio_stream_from_fd.
 *
 * Reads and writes go through io/fd.c only (corio__fd_read_ahead,
 * corio_fd_write), never read(2)/write(2) on the descriptor, so whichever
 * I/O engine the loop runs (epoll readiness or io_uring completions, with
 * its read-ahead) serves streams as well.  The
 * descriptor is closed with corio_fd_close, which also forgets the loop's
 * record of it.
 *
 * End of writing depends on what the descriptor is: a socket gets
 * shutdown(SHUT_WR) and stays open for reading; a write-only descriptor
 * (the write end of a pipe, a child's stdin) is closed, which is the only
 * way its reader sees end of file; a read-only one has nothing to end; any
 * other (a terminal, a character device opened read-write) cannot signal
 * end of stream: -EOPNOTSUPP. */
#include "os/sys.h"
#include "core/loop.h"
#include "io/fd.h"
#include "stream/transport.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct fd_transport {
    corio__transport base; /* first: the stream hands back &base */
    int fd;                /* -1 once closed by shutdown (write-only fd) */
    int accmode;           /* O_RDONLY, O_WRONLY or O_RDWR */
    bool sock;
    bool owned; /* close() closes fd (false while being built) */
} fd_transport;

static ssize_t fdt_read(corio__transport *t, void *buf, size_t n)
{
    fd_transport *f = (fd_transport *)t;
    /* The stream alone reads f->fd, so the engine may read ahead. */
    return corio__fd_read_ahead(f->fd, buf, n); /* -EBADF once fd is -1 */
}

static ssize_t fdt_write(corio__transport *t, const void *buf, size_t n)
{
    fd_transport *f = (fd_transport *)t;
    return corio_fd_write(f->fd, buf, n);
}

static int fdt_shutdown(corio__transport *t)
{
    fd_transport *f = (fd_transport *)t;
    if (f->fd < 0)
        return 0; /* already closed by an earlier shutdown */
    if (f->sock)
        return corio__sys.shutdown(f->fd, SHUT_WR) < 0 ? -errno : 0;
    switch (f->accmode) {
    case O_RDONLY:
        return 0;
    case O_WRONLY: {
        int rc = corio__fd_close_any(f->fd);
        if (rc != -EBUSY)
            f->fd = -1; /* close(2) releases the number even on error */
        return rc;
    }
    default:
        return -EOPNOTSUPP;
    }
}

static void fdt_close(corio__transport *t)
{
    fd_transport *f = (fd_transport *)t;
    if (f->owned && f->fd >= 0)
        (void)corio__fd_close_any(
            f->fd); /* -EBUSY: another task waits on fd (misuse) */
    free(f);
}

static int fdt_fd(const corio__transport *t)
{
    return ((const fd_transport *)t)->fd;
}

/* Sockets only: send(2) with MSG_DONTWAIT needs no O_NONBLOCK, which a
 * pipe would (its descriptor may not have been set up by corio yet). */
static ssize_t fdt_try_write(corio__transport *t, const void *buf, size_t n)
{
    fd_transport *f = (fd_transport *)t;
    for (;;) {
        ssize_t put = corio__sys.sendto(f->fd, buf, n,
                                        MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
        if (put >= 0)
            return put ? put : -EAGAIN;
        if (errno != EINTR)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

static const corio__transport_ops fd_ops = {
    .read = fdt_read,
    .write = fdt_write,
    .shutdown = fdt_shutdown,
    .close = fdt_close,
    .fd = fdt_fd,
};

static const corio__transport_ops sock_ops = {
    .read = fdt_read,
    .write = fdt_write,
    .try_write = fdt_try_write,
    .shutdown = fdt_shutdown,
    .close = fdt_close,
    .fd = fdt_fd,
};

int corio_stream_from_fd(corio_stream **out, int fd, const corio_stream_opts *o)
{
    struct stat st;
    corio_stream *s;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (fd < 0)
        return -EINVAL;
    if (o && (o->read_buffer > CORIO_STREAM_BUFFER_MAX ||
              o->write_buffer > CORIO_STREAM_BUFFER_MAX))
        return -EINVAL; /* checked here too, so that fd is not closed */
    int fl = corio__sys.fcntl(fd, F_GETFL, 0);
    if (fl < 0 || corio__sys.fstat(fd, &st) < 0)
        return -errno;
    fd_transport *f = corio__sys.malloc(sizeof *f);
    if (!f)
        return -ENOMEM;
    f->fd = fd;
    f->accmode = fl & O_ACCMODE;
    f->sock = S_ISSOCK(st.st_mode);
    f->base.ops = f->sock ? &sock_ops : &fd_ops;
    f->owned = false; /* a failing corio__stream_new must not close fd */
    int rc = corio__stream_new(&s, &f->base, o);
    if (rc < 0)
        return rc; /* f was freed, fd left open */
    f->owned = true;
    *out = s;
    return 0;
}
