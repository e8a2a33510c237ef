/* os/sys.c — the system-call table and the fault sweep's counting
 * wrappers, both generated from CORIO__SYSCALLS (see sys.h).  Counting is
 * process-wide and atomic, so calls made by pool threads count too. */
#include "os/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef CORIO_HAVE_URING
#include <liburing.h>
#endif

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

/* liburing's entry points (some are inline in its header); without
 * liburing they report -ENOSYS and the io_uring engine is never chosen. */
#ifdef CORIO_HAVE_URING
static int uring_queue_init_params(unsigned n, struct io_uring *r,
                                   struct io_uring_params *p)
{
    return io_uring_queue_init_params(n, r, p);
}
static int uring_submit(struct io_uring *r)
{
    return io_uring_submit(r);
}
static int uring_submit_and_wait(struct io_uring *r, unsigned n)
{
    return io_uring_submit_and_wait(r, n);
}
static int uring_submit_and_wait_timeout(struct io_uring *r,
                                         struct io_uring_cqe **cqe, unsigned n,
                                         struct __kernel_timespec *ts,
                                         sigset_t *mask)
{
    return io_uring_submit_and_wait_timeout(r, cqe, n, ts, mask);
}
static int uring_submit_and_get_events(struct io_uring *r)
{
    return io_uring_submit_and_get_events(r);
}
static struct io_uring_sqe *uring_get_sqe(struct io_uring *r)
{
    return io_uring_get_sqe(r);
}
#else
static int uring_queue_init_params(unsigned n, struct io_uring *r,
                                   struct io_uring_params *p)
{
    (void)n, (void)r, (void)p;
    return -ENOSYS;
}
static int uring_submit(struct io_uring *r)
{
    (void)r;
    return -ENOSYS;
}
static int uring_submit_and_wait(struct io_uring *r, unsigned n)
{
    (void)r, (void)n;
    return -ENOSYS;
}
static int uring_submit_and_wait_timeout(struct io_uring *r,
                                         struct io_uring_cqe **cqe, unsigned n,
                                         struct __kernel_timespec *ts,
                                         sigset_t *mask)
{
    (void)r, (void)cqe, (void)n, (void)ts, (void)mask;
    return -ENOSYS;
}
static int uring_submit_and_get_events(struct io_uring *r)
{
    (void)r;
    return -ENOSYS;
}
static struct io_uring_sqe *uring_get_sqe(struct io_uring *r)
{
    (void)r;
    return NULL;
}
#endif

#define REAL(ret, name, params, args, impl, fail, after) .name = impl,
static const corio__sys_table real = {CORIO__SYSCALLS(REAL)};
corio__sys_table corio__sys = {CORIO__SYSCALLS(REAL)};
#undef REAL

static atomic_long calls, target;
static atomic_int fired, fired_entry = -1;
static int fault_errno;
static unsigned long long fault_mask;

_Static_assert(CORIO__SYS_COUNT <= 64, "the fault mask has 64 bits");

#define CORIO__FAIL_NEG (-fault_errno)

/* True if this call of entry i is the one to fail. */
static int hit(int i)
{
    if (!(fault_mask >> i & 1) ||
        atomic_fetch_add(&calls, 1) + 1 != atomic_load(&target))
        return 0;
    atomic_store(&fired, 1);
    atomic_store(&fired_entry, i);
    errno = fault_errno;
    return 1;
}

/* The counting wrapper of each entry: fail the chosen call, else pass it
 * on; "after" entries make the real call first (a failed close still
 * closes, as Linux's does; a failed munmap still unmaps). */
#define WRAP(ret, name, params, args, impl, fail, after)                       \
    static ret f_##name params                                                 \
    {                                                                          \
        if (after) {                                                           \
            ret r_ = real.name args;                                           \
            return hit(CORIO__SYS_##name) ? (ret)(fail) : r_;                  \
        }                                                                      \
        return hit(CORIO__SYS_##name) ? (ret)(fail) : real.name args;          \
    }
CORIO__SYSCALLS(WRAP)
#undef WRAP

#define COUNTING(ret, name, params, args, impl, fail, after) .name = f_##name,
static const corio__sys_table counting = {CORIO__SYSCALLS(COUNTING)};
#undef COUNTING

char *corio__strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = corio__sys.malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static const char *const names[] = {
#define NAME(ret, name, params, args, impl, fail, after) #name,
    CORIO__SYSCALLS(NAME)
#undef NAME
};

int corio__sys_index(const char *name)
{
    for (int i = 0; name && i < CORIO__SYS_COUNT; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

const char *corio__sys_name(int i)
{
    return i >= 0 && i < CORIO__SYS_COUNT ? names[i] : "?";
}

void corio__fault_arm_only(unsigned long long mask, long n, int err)
{
    fault_errno = err;
    fault_mask = mask;
    atomic_store(&calls, 0);
    atomic_store(&fired, 0);
    atomic_store(&fired_entry, -1);
    atomic_store(&target, n);
    corio__sys = counting;
}

void corio__fault_arm(long n, int err)
{
    corio__fault_arm_only(CORIO__SYS_ALL, n, err);
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

int corio__fault_entry(void)
{
    return atomic_load(&fired_entry);
}
