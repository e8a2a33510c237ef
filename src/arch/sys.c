/* arch/sys.c — the system-call table and the fault sweep's counting
 * wrappers (see sys.h).  Counting is process-wide and atomic, so calls made
 * by pool threads count too. */
#include "arch/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

static int fcntl3(int fd, int cmd, int arg)
{
    return fcntl(fd, cmd, arg);
}

static const corio__sys_table real = {
    malloc, calloc, realloc, read, write, close, fcntl3, fstat, poll,
    pipe2, eventfd, epoll_create1, epoll_ctl, mmap, munmap, mprotect,
    madvise, pthread_create,
};

corio__sys_table corio__sys = {
    malloc, calloc, realloc, read, write, close, fcntl3, fstat, poll,
    pipe2, eventfd, epoll_create1, epoll_ctl, mmap, munmap, mprotect,
    madvise, pthread_create,
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

static const corio__sys_table counting = {
    f_malloc, f_calloc, f_realloc, f_read, f_write, f_close, f_fcntl,
    f_fstat, f_poll, f_pipe2, f_eventfd, f_epoll_create1, f_epoll_ctl,
    f_mmap, f_munmap, f_mprotect, f_madvise, f_pthread_create,
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
