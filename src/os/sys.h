/* os/sys.h — every system call and allocation corio makes goes through
 * this table, so that tests can make any of them fail on demand (SQLite's
 * habit).  The entries are the C library's functions; a test replaces
 * entries, or calls corio__fault_arm() to fail the n-th call of any entry
 * in turn (the fault sweep).  Signal handlers and the stack-overflow report
 * call write(2) directly: they must not be failed.
 *
 * This is the bottom layer: arch/, core/ and io/ all use it. */
#ifndef CORIO_ARCH_SYS_H
#define CORIO_ARCH_SYS_H

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

typedef struct corio__sys_table {
    void *(*malloc)(size_t n);
    void *(*calloc)(size_t n, size_t size);
    void *(*realloc)(void *p, size_t n);
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*write)(int fd, const void *buf, size_t n);
    int (*close)(int fd);
    int (*fcntl)(int fd, int cmd, int arg);
    int (*fstat)(int fd, struct stat *st);
    int (*poll)(struct pollfd *fds, nfds_t n, int timeout_ms);
    int (*pipe2)(int fds[2], int flags);
    int (*eventfd)(unsigned int initval, int flags);
    int (*epoll_create1)(int flags);
    int (*epoll_ctl)(int epfd, int op, int fd, struct epoll_event *ev);
    void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
    int (*munmap)(void *addr, size_t len);
    int (*mprotect)(void *addr, size_t len, int prot);
    int (*madvise)(void *addr, size_t len, int advice);
    int (*pthread_create)(pthread_t *th, const pthread_attr_t *a,
                          void *(*fn)(void *), void *arg);
    /* sockets */
    int (*socket)(int domain, int type, int proto);
    int (*socketpair)(int domain, int type, int proto, int sv[2]);
    int (*connect)(int fd, const struct sockaddr *a, socklen_t len);
    int (*accept4)(int fd, struct sockaddr *a, socklen_t *len, int flags);
    int (*bind)(int fd, const struct sockaddr *a, socklen_t len);
    int (*listen)(int fd, int backlog);
    int (*getsockopt)(int fd, int level, int name, void *v, socklen_t *len);
    int (*setsockopt)(int fd, int level, int name, const void *v, socklen_t len);
    int (*getsockname)(int fd, struct sockaddr *a, socklen_t *len);
    int (*getpeername)(int fd, struct sockaddr *a, socklen_t *len);
    int (*shutdown)(int fd, int how);
    ssize_t (*recvfrom)(int fd, void *buf, size_t n, int flags,
                        struct sockaddr *a, socklen_t *len);
    ssize_t (*sendto)(int fd, const void *buf, size_t n, int flags,
                      const struct sockaddr *a, socklen_t len);
    ssize_t (*readv)(int fd, const struct iovec *iov, int n);
    ssize_t (*writev)(int fd, const struct iovec *iov, int n);
    int (*getaddrinfo)(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res);
    /* files */
    int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    int (*fsync)(int fd);
    /* processes and signals */
    pid_t (*fork)(void);
    int (*pidfd_open)(pid_t pid, unsigned int flags);
    int (*waitid)(idtype_t type, id_t id, siginfo_t *info, int options);
    int (*kill)(pid_t pid, int sig);
    int (*signalfd)(int fd, const sigset_t *mask, int flags);
    int (*sigprocmask)(int how, const sigset_t *set, sigset_t *old);
    /* paths (Unix-domain socket files) */
    int (*fstatat)(int dirfd, const char *path, struct stat *st, int flags);
    int (*unlinkat)(int dirfd, const char *path, int flags);
} corio__sys_table;

extern corio__sys_table corio__sys;

/* Fault sweep: from now on, calls through the table are counted and the
 * n-th one (n >= 1) fails (allocations return NULL, the others -1 with
 * errno = err).  corio__fault_disarm() restores the real entries and
 * returns how many calls were counted. */
void corio__fault_arm(long n, int err);
long corio__fault_disarm(void);
/* True once the armed fault has fired. */
int corio__fault_fired(void);

#endif
