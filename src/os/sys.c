/* os/sys.c — the system-call table and the fault sweep's counting
 * wrappers (see sys.h).  Counting is process-wide and atomic, so calls made
 * by pool threads count too. */
#include "os/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fcntl3(int fd, int cmd, int arg)
{
    return fcntl(fd, cmd, arg);
}

static int openat4(int dirfd, const char *path, int flags, mode_t mode)
{
    return openat(dirfd, path, flags, mode);
}

/* glibc 2.36 has pidfd_open, but only from <sys/pidfd.h>; the raw call
 * works everywhere (ENOSYS before Linux 5.3). */
static int pidfd_open2(pid_t pid, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static const corio__sys_table real = {
    malloc, calloc, realloc, read, write, close, fcntl3, fstat, poll,
    pipe2, eventfd, epoll_create1, epoll_ctl, mmap, munmap, mprotect,
    madvise, pthread_create,
    socket, socketpair, connect, accept4, bind, listen, getsockopt,
    setsockopt, getsockname, getpeername, shutdown, recvfrom, sendto, readv,
    writev, getaddrinfo, openat4, pread, pwrite, fsync, fork, pidfd_open2,
    waitid, kill, signalfd, sigprocmask,
    fstatat, unlinkat,
};

corio__sys_table corio__sys = {
    malloc, calloc, realloc, read, write, close, fcntl3, fstat, poll,
    pipe2, eventfd, epoll_create1, epoll_ctl, mmap, munmap, mprotect,
    madvise, pthread_create,
    socket, socketpair, connect, accept4, bind, listen, getsockopt,
    setsockopt, getsockname, getpeername, shutdown, recvfrom, sendto, readv,
    writev, getaddrinfo, openat4, pread, pwrite, fsync, fork, pidfd_open2,
    waitid, kill, signalfd, sigprocmask,
    fstatat, unlinkat,
};

static atomic_long calls, target;
static atomic_int fired;
static int fault_errno;

/* True if this call is the one to fail. */
static int hit(void)
{
    if (atomic_fetch_add(&calls, 1) + 1 != atomic_load(&target))
        return 0;
    atomic_store(&fired, 1);
    errno = fault_errno;
    return 1;
}

static void *f_malloc(size_t n) { return hit() ? NULL : real.malloc(n); }
static void *f_calloc(size_t n, size_t s) { return hit() ? NULL : real.calloc(n, s); }
static void *f_realloc(void *p, size_t n) { return hit() ? NULL : real.realloc(p, n); }
static ssize_t f_read(int fd, void *b, size_t n) { return hit() ? -1 : real.read(fd, b, n); }
static ssize_t f_write(int fd, const void *b, size_t n) { return hit() ? -1 : real.write(fd, b, n); }
static int f_close(int fd)
{
    /* A failed close still closes (as Linux does): never leak the fd. */
    int rc = real.close(fd);
    return hit() ? -1 : rc;
}
static int f_fcntl(int fd, int c, int a) { return hit() ? -1 : real.fcntl(fd, c, a); }
static int f_fstat(int fd, struct stat *s) { return hit() ? -1 : real.fstat(fd, s); }
static int f_poll(struct pollfd *p, nfds_t n, int t) { return hit() ? -1 : real.poll(p, n, t); }
static int f_pipe2(int fds[2], int fl) { return hit() ? -1 : real.pipe2(fds, fl); }
static int f_eventfd(unsigned v, int fl) { return hit() ? -1 : real.eventfd(v, fl); }
static int f_epoll_create1(int fl) { return hit() ? -1 : real.epoll_create1(fl); }
static int f_epoll_ctl(int e, int op, int fd, struct epoll_event *ev)
{
    return hit() ? -1 : real.epoll_ctl(e, op, fd, ev);
}
static void *f_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
    return hit() ? MAP_FAILED : real.mmap(a, l, p, f, fd, o);
}
static int f_munmap(void *a, size_t l)
{
    int rc = real.munmap(a, l); /* like close: never leak the mapping */
    return hit() ? -1 : rc;
}
static int f_mprotect(void *a, size_t l, int p) { return hit() ? -1 : real.mprotect(a, l, p); }
static int f_madvise(void *a, size_t l, int adv) { return hit() ? -1 : real.madvise(a, l, adv); }
static int f_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    return hit() ? EAGAIN : real.pthread_create(t, a, fn, arg);
}

static int f_socket(int d, int t, int p) { return hit() ? -1 : real.socket(d, t, p); }
static int f_socketpair(int d, int t, int p, int sv[2]) { return hit() ? -1 : real.socketpair(d, t, p, sv); }
static int f_connect(int fd, const struct sockaddr *a, socklen_t l) { return hit() ? -1 : real.connect(fd, a, l); }
static int f_accept4(int fd, struct sockaddr *a, socklen_t *l, int fl) { return hit() ? -1 : real.accept4(fd, a, l, fl); }
static int f_bind(int fd, const struct sockaddr *a, socklen_t l) { return hit() ? -1 : real.bind(fd, a, l); }
static int f_listen(int fd, int b) { return hit() ? -1 : real.listen(fd, b); }
static int f_getsockopt(int fd, int lv, int n, void *v, socklen_t *l) { return hit() ? -1 : real.getsockopt(fd, lv, n, v, l); }
static int f_setsockopt(int fd, int lv, int n, const void *v, socklen_t l) { return hit() ? -1 : real.setsockopt(fd, lv, n, v, l); }
static int f_getsockname(int fd, struct sockaddr *a, socklen_t *l) { return hit() ? -1 : real.getsockname(fd, a, l); }
static int f_getpeername(int fd, struct sockaddr *a, socklen_t *l) { return hit() ? -1 : real.getpeername(fd, a, l); }
static int f_shutdown(int fd, int how) { return hit() ? -1 : real.shutdown(fd, how); }
static ssize_t f_recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *l)
{
    return hit() ? -1 : real.recvfrom(fd, b, n, fl, a, l);
}
static ssize_t f_sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a, socklen_t l)
{
    return hit() ? -1 : real.sendto(fd, b, n, fl, a, l);
}
static ssize_t f_readv(int fd, const struct iovec *v, int n) { return hit() ? -1 : real.readv(fd, v, n); }
static ssize_t f_writev(int fd, const struct iovec *v, int n) { return hit() ? -1 : real.writev(fd, v, n); }
static int f_getaddrinfo(const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r)
{
    return hit() ? EAI_MEMORY : real.getaddrinfo(n, s, h, r);
}
static int f_openat(int d, const char *p, int fl, mode_t m) { return hit() ? -1 : real.openat(d, p, fl, m); }
static ssize_t f_pread(int fd, void *b, size_t n, off_t o) { return hit() ? -1 : real.pread(fd, b, n, o); }
static ssize_t f_pwrite(int fd, const void *b, size_t n, off_t o) { return hit() ? -1 : real.pwrite(fd, b, n, o); }
static int f_fsync(int fd) { return hit() ? -1 : real.fsync(fd); }
static pid_t f_fork(void) { return hit() ? -1 : real.fork(); }
static int f_pidfd_open(pid_t p, unsigned fl) { return hit() ? -1 : real.pidfd_open(p, fl); }
static int f_waitid(idtype_t t, id_t id, siginfo_t *i, int o) { return hit() ? -1 : real.waitid(t, id, i, o); }
static int f_kill(pid_t p, int sig) { return hit() ? -1 : real.kill(p, sig); }
static int f_signalfd(int fd, const sigset_t *m, int fl) { return hit() ? -1 : real.signalfd(fd, m, fl); }
static int f_sigprocmask(int h, const sigset_t *s, sigset_t *o) { return hit() ? -1 : real.sigprocmask(h, s, o); }
static int f_fstatat(int d, const char *p, struct stat *s, int fl) { return hit() ? -1 : real.fstatat(d, p, s, fl); }
static int f_unlinkat(int d, const char *p, int fl) { return hit() ? -1 : real.unlinkat(d, p, fl); }

static const corio__sys_table counting = {
    f_malloc, f_calloc, f_realloc, f_read, f_write, f_close, f_fcntl,
    f_fstat, f_poll, f_pipe2, f_eventfd, f_epoll_create1, f_epoll_ctl,
    f_mmap, f_munmap, f_mprotect, f_madvise, f_pthread_create,
    f_socket, f_socketpair, f_connect, f_accept4, f_bind, f_listen,
    f_getsockopt, f_setsockopt, f_getsockname, f_getpeername, f_shutdown,
    f_recvfrom, f_sendto, f_readv, f_writev, f_getaddrinfo, f_openat,
    f_pread, f_pwrite, f_fsync, f_fork, f_pidfd_open, f_waitid, f_kill,
    f_signalfd, f_sigprocmask, f_fstatat, f_unlinkat,
};

void corio__fault_arm(long n, int err)
{
    fault_errno = err;
    atomic_store(&calls, 0);
    atomic_store(&fired, 0);
    atomic_store(&target, n);
    corio__sys = counting;
}

long corio__fault_disarm(void)
{
    corio__sys = real;
    atomic_store(&target, 0);
    return atomic_load(&calls);
}

int corio__fault_fired(void)
{
    return atomic_load(&fired);
}
