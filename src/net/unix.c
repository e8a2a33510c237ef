/* net/unix.c — Unix-domain stream sockets: connect and listen.
 *
 * A non-blocking connect(2) to a Unix socket never reports "in progress":
 * it connects at once, fails at once, or fails with EAGAIN while the
 * server's backlog is full.  Readiness says nothing useful about the last
 * case (an unconnected socket is always writable), so the connect is
 * retried after a pause that doubles from 1 ms to 100 ms. */
#include "net/net.h"

#include <fcntl.h>
#include <sys/stat.h>

#define PAUSE_MIN (1 * CORIO_MS)
#define PAUSE_MAX (100 * CORIO_MS)

int corio_unix_connect(corio_stream **out, const char *path,
                       const corio_stream_opts *o)
{
    corio_addr a;
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!corio_task_current())
        return -EPERM;
    int rc = corio_addr_unix(&a, path);
    if (rc < 0)
        return rc;
    int fd = corio__socket(AF_UNIX, SOCK_STREAM);
    if (fd < 0)
        return fd;
    int64_t pause = PAUSE_MIN;
    while ((rc = corio__connect(fd, &a)) == -EAGAIN) {
        rc = corio_sleep(pause);
        if (rc < 0)
            break;
        pause = pause * 2 > PAUSE_MAX ? PAUSE_MAX : pause * 2;
    }
    if (rc == 0)
        rc = corio_stream_from_fd(out, fd, o);
    if (rc < 0)
        corio__fd_close_any(fd);
    return rc;
}

/* A socket file at path that nobody listens on is stale: remove it.
 * 0 when path is free now, else -EADDRINUSE or -errno. */
static int clear_stale(const char *path, const corio_addr *a)
{
    struct stat st;
    if (corio__sys.fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EADDRINUSE;
    int probe = corio__socket(AF_UNIX, SOCK_STREAM);
    if (probe < 0)
        return probe;
    int rc = corio__sys.connect(probe, &a->u.sa, a->len) == 0 ? 0 : errno;
    corio__sys.close(probe); /* never watched: a plain close */
    if (rc != ECONNREFUSED)
        return -EADDRINUSE; /* someone listens (or its backlog is full) */
    if (corio__sys.unlinkat(AT_FDCWD, path, 0) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int corio_unix_listen(corio_listener **out, const char *path,
                      const corio_listen_opts *o)
{
    corio_addr a;
    if (!out)
        return -EINVAL;
    *out = NULL;
    int rc = corio_addr_unix(&a, path);
    if (rc < 0)
        return rc;
    bool abstract = path[0] == '@';
    if (!abstract && (rc = clear_stale(path, &a)) < 0)
        return rc;
    int fd = corio__socket(AF_UNIX, SOCK_STREAM);
    if (fd < 0)
        return fd;
    if (corio__sys.bind(fd, &a.u.sa, a.len) < 0) {
        rc = -errno;
        corio__fd_close_any(fd);
        return rc;
    }
    return corio__listener_new(out, fd, o, 0, abstract ? NULL : path);
}
