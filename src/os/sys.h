/* os/sys.h — every system call and allocation corio makes goes through
 * this table, so that tests can make any of them fail on demand (SQLite's
 * aSyscall[] habit).  The entries are the C library's (and liburing's)
 * functions, listed once in CORIO__SYSCALLS below, which generates the
 * table's type, the real entries and the fault sweep's counting wrappers.
 * A test replaces entries, or calls corio__fault_arm() to fail the n-th
 * call of any entry in turn (the fault sweep).  Signal handlers and the
 * stack-overflow report call write(2) directly: they must not be failed.
 *
 * This is the bottom layer (src/os): every other folder may use it. */
#ifndef CORIO_OS_SYS_H
#define CORIO_OS_SYS_H

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

/* liburing's types, by name only: the table's layout is the same with or
 * without liburing (without it the entries return -ENOSYS). */
struct io_uring;
struct io_uring_params;
struct io_uring_cqe;
struct io_uring_sqe;
struct __kernel_timespec;

/* X(return type, name, (parameters), (arguments), real function, value a
 *   failed call returns, 1 if the real call is made even when failing —
 *   close and munmap, which must never leak).  A failed call sets errno to
 *   the armed error; CORIO__FAIL_NEG is -that error (liburing's style). */
#define CORIO__SYSCALLS(X)                                                     \
    X(void *, malloc, (size_t n), (n), malloc, NULL, 0)                        \
    X(void *, calloc, (size_t n, size_t size), (n, size), calloc, NULL, 0)     \
    X(void *, realloc, (void *p, size_t n), (p, n), realloc, NULL, 0)          \
    X(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n), read, -1, 0) \
    X(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n),       \
      write, -1, 0)                                                            \
    X(int, close, (int fd), (fd), close, -1, 1)                                \
    X(int, fcntl, (int fd, int cmd, int arg), (fd, cmd, arg), fcntl3, -1, 0)   \
    X(int, fstat, (int fd, struct stat *st), (fd, st), fstat, -1, 0)           \
    X(int, poll, (struct pollfd * fds, nfds_t n, int timeout_ms),              \
      (fds, n, timeout_ms), poll, -1, 0)                                       \
    X(int, pipe2, (int fds[2], int flags), (fds, flags), pipe2, -1, 0)         \
    X(int, eventfd, (unsigned int initval, int flags), (initval, flags),       \
      eventfd, -1, 0)                                                          \
    X(int, epoll_create1, (int flags), (flags), epoll_create1, -1, 0)          \
    X(int, epoll_ctl, (int epfd, int op, int fd, struct epoll_event *ev),      \
      (epfd, op, fd, ev), epoll_ctl, -1, 0)                                    \
    X(int, epoll_wait,                                                         \
      (int epfd, struct epoll_event *evs, int n, int timeout_ms),              \
      (epfd, evs, n, timeout_ms), epoll_wait, -1, 0)                           \
    X(int, epoll_pwait2,                                                       \
      (int epfd, struct epoll_event *evs, int n, const struct timespec *t,     \
       const sigset_t *mask),                                                  \
      (epfd, evs, n, t, mask), epoll_pwait2, -1, 0)                            \
    X(void *, mmap,                                                            \
      (void *addr, size_t len, int prot, int flags, int fd, off_t off),        \
      (addr, len, prot, flags, fd, off), mmap, MAP_FAILED, 0)                  \
    X(int, munmap, (void *addr, size_t len), (addr, len), munmap, -1, 1)       \
    X(int, mprotect, (void *addr, size_t len, int prot), (addr, len, prot),    \
      mprotect, -1, 0)                                                         \
    X(int, madvise, (void *addr, size_t len, int advice), (addr, len, advice), \
      madvise, -1, 0)                                                          \
    X(int, pthread_create,                                                     \
      (pthread_t * th, const pthread_attr_t *a, void *(*fn)(void *),           \
       void *arg),                                                             \
      (th, a, fn, arg), pthread_create, EAGAIN, 0)                             \
    X(int, socket, (int domain, int type, int proto), (domain, type, proto),   \
      socket, -1, 0)                                                           \
    X(int, socketpair, (int domain, int type, int proto, int sv[2]),           \
      (domain, type, proto, sv), socketpair, -1, 0)                            \
    X(int, connect, (int fd, const struct sockaddr *a, socklen_t len),         \
      (fd, a, len), connect, -1, 0)                                            \
    X(int, accept4, (int fd, struct sockaddr *a, socklen_t *len, int flags),   \
      (fd, a, len, flags), accept4, -1, 0)                                     \
    X(int, bind, (int fd, const struct sockaddr *a, socklen_t len),            \
      (fd, a, len), bind, -1, 0)                                               \
    X(int, listen, (int fd, int backlog), (fd, backlog), listen, -1, 0)        \
    X(int, getsockopt, (int fd, int level, int name, void *v, socklen_t *len), \
      (fd, level, name, v, len), getsockopt, -1, 0)                            \
    X(int, setsockopt,                                                         \
      (int fd, int level, int name, const void *v, socklen_t len),             \
      (fd, level, name, v, len), setsockopt, -1, 0)                            \
    X(int, getsockname, (int fd, struct sockaddr *a, socklen_t *len),          \
      (fd, a, len), getsockname, -1, 0)                                        \
    X(int, getpeername, (int fd, struct sockaddr *a, socklen_t *len),          \
      (fd, a, len), getpeername, -1, 0)                                        \
    X(int, shutdown, (int fd, int how), (fd, how), shutdown, -1, 0)            \
    X(ssize_t, recvfrom,                                                       \
      (int fd, void *buf, size_t n, int flags, struct sockaddr *a,             \
       socklen_t *len),                                                        \
      (fd, buf, n, flags, a, len), recvfrom, -1, 0)                            \
    X(ssize_t, sendto,                                                         \
      (int fd, const void *buf, size_t n, int flags, const struct sockaddr *a, \
       socklen_t len),                                                         \
      (fd, buf, n, flags, a, len), sendto, -1, 0)                              \
    X(ssize_t, readv, (int fd, const struct iovec *iov, int n), (fd, iov, n),  \
      readv, -1, 0)                                                            \
    X(ssize_t, writev, (int fd, const struct iovec *iov, int n), (fd, iov, n), \
      writev, -1, 0)                                                           \
    X(int, getaddrinfo,                                                        \
      (const char *node, const char *service, const struct addrinfo *hints,    \
       struct addrinfo **res),                                                 \
      (node, service, hints, res), getaddrinfo, EAI_MEMORY, 0)                 \
    X(int, openat, (int dirfd, const char *path, int flags, mode_t mode),      \
      (dirfd, path, flags, mode), openat4, -1, 0)                              \
    X(ssize_t, pread, (int fd, void *buf, size_t n, off_t off),                \
      (fd, buf, n, off), pread, -1, 0)                                         \
    X(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off),         \
      (fd, buf, n, off), pwrite, -1, 0)                                        \
    X(int, fsync, (int fd), (fd), fsync, -1, 0)                                \
    X(pid_t, fork, (void), (), fork, -1, 0)                                    \
    X(int, pidfd_open, (pid_t pid, unsigned int flags), (pid, flags),          \
      pidfd_open2, -1, 0)                                                      \
    X(int, waitid, (idtype_t type, id_t id, siginfo_t * info, int options),    \
      (type, id, info, options), waitid, -1, 0)                                \
    X(int, kill, (pid_t pid, int sig), (pid, sig), kill, -1, 0)                \
    X(int, signalfd, (int fd, const sigset_t *mask, int flags),                \
      (fd, mask, flags), signalfd, -1, 0)                                      \
    X(int, sigprocmask, (int how, const sigset_t *set, sigset_t *old),         \
      (how, set, old), sigprocmask, -1, 0)                                     \
    X(int, fstatat, (int dirfd, const char *path, struct stat *st, int flags), \
      (dirfd, path, st, flags), fstatat, -1, 0)                                \
    X(int, unlinkat, (int dirfd, const char *path, int flags),                 \
      (dirfd, path, flags), unlinkat, -1, 0)                                   \
    X(int, uring_queue_init_params,                                            \
      (unsigned entries, struct io_uring *ring, struct io_uring_params *p),    \
      (entries, ring, p), uring_queue_init_params, CORIO__FAIL_NEG, 0)         \
    X(int, uring_submit, (struct io_uring * ring), (ring), uring_submit,       \
      CORIO__FAIL_NEG, 0)                                                      \
    X(int, uring_submit_and_wait, (struct io_uring * ring, unsigned n),        \
      (ring, n), uring_submit_and_wait, CORIO__FAIL_NEG, 0)                    \
    X(int, uring_submit_and_wait_timeout,                                      \
      (struct io_uring * ring, struct io_uring_cqe * *cqe, unsigned n,         \
       struct __kernel_timespec *ts, sigset_t *mask),                          \
      (ring, cqe, n, ts, mask), uring_submit_and_wait_timeout,                 \
      CORIO__FAIL_NEG, 0)                                                      \
    X(int, uring_submit_and_get_events, (struct io_uring * ring), (ring),      \
      uring_submit_and_get_events, CORIO__FAIL_NEG, 0)                         \
    X(struct io_uring_sqe *, uring_get_sqe, (struct io_uring * ring), (ring),  \
      uring_get_sqe, NULL, 0)

/* Marks an internal (corio__) symbol that a higher component's shared
 * library calls: exported from libcorio.so, but not public API (no
 * header in include/ declares it, and it may change in any release). */
#define CORIO__EXPORT __attribute__((visibility("default")))

typedef struct corio__sys_table {
#define CORIO__SYS_FIELD(ret, name, params, args, impl, fail, after)           \
    ret(*name) params;
    CORIO__SYSCALLS(CORIO__SYS_FIELD)
#undef CORIO__SYS_FIELD
} corio__sys_table;

extern CORIO__EXPORT corio__sys_table corio__sys;

/* A copy of the string s in memory from corio__sys.malloc (so fault sweeps
 * reach it), or NULL when s is NULL or the allocation failed. */
CORIO__EXPORT char *corio__strdup(const char *s);

/* The index of each entry (CORIO__SYS_malloc, ...), in table order. */
enum {
#define CORIO__SYS_INDEX(ret, name, params, args, impl, fail, after)           \
    CORIO__SYS_##name,
    CORIO__SYSCALLS(CORIO__SYS_INDEX)
#undef CORIO__SYS_INDEX
        CORIO__SYS_COUNT
};
/* Sets of entries for corio__fault_arm_only: bit i is entry i. */
#define CORIO__SYS_ALL (~0ull)
#define CORIO__SYS_ALLOC                                                       \
    ((1ull << CORIO__SYS_malloc) | (1ull << CORIO__SYS_calloc) |               \
     (1ull << CORIO__SYS_realloc))

/* The index of the entry called name ("malloc", "connect"), or -1. */
CORIO__EXPORT int corio__sys_index(const char *name);
/* The name of entry i (0 <= i < CORIO__SYS_COUNT). */
CORIO__EXPORT const char *corio__sys_name(int i);

/* Fault sweep: from now on, calls through the table are counted and the
 * n-th one (n >= 1; 0: none, just count) fails with err (see
 * CORIO__SYSCALLS for what a failed call returns).  corio__fault_disarm()
 * restores the real entries and returns how many calls were counted.
 * corio__fault_arm_only counts (and fails) only the entries in mask. */
CORIO__EXPORT void corio__fault_arm(long n, int err);
CORIO__EXPORT void corio__fault_arm_only(unsigned long long mask, long n,
                                         int err);
CORIO__EXPORT long corio__fault_disarm(void);
/* True once the armed fault has fired. */
CORIO__EXPORT int corio__fault_fired(void);
/* The index of the entry whose call was failed, or -1. */
CORIO__EXPORT int corio__fault_entry(void);

#endif
