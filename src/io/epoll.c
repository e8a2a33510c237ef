/* io/epoll.c — the epoll engine.
 *
 * Descriptors are registered once, edge-triggered, for both directions
 * (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), so waiting never costs an
 * epoll_ctl: callers try the operation first and park only after EAGAIN,
 * and the next edge wakes them.  The loop's eventfd is registered
 * level-triggered.  Timeouts use epoll_pwait2 (nanoseconds, Linux >= 5.11)
 * when the kernel has it, else epoll_wait rounded up to milliseconds. */
#include "core/engine.h"
#include "io/fd.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

/* The engine's own state, behind L->engine_data (nobody else sees it).
 * The event array lives with the loop, not on the stack of whichever task
 * happens to wait: 3 KiB there would, over time, add a page to every task
 * that ever waits for the loop. */
typedef struct ep_state {
    int epfd;
    bool pwait2; /* epoll_pwait2 works (Linux >= 5.11) */
    struct epoll_event evs[MAX_EVENTS];
} ep_state;

static ep_state *state_of(corio__loop *L)
{
    return L->engine_data;
}

static int ep_init(corio__loop *L)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = L->wakefd};
    ep_state *st = corio__sys.malloc(sizeof *st);
    if (!st)
        return -ENOMEM;
    st->epfd = corio__sys.epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd < 0 ||
        corio__sys.epoll_ctl(st->epfd, EPOLL_CTL_ADD, L->wakefd, &ev) < 0) {
        int e = errno;
        if (st->epfd >= 0)
            corio__sys.close(st->epfd);
        free(st);
        return -e;
    }
    /* The probe calls the kernel directly: a fault injected here would
     * answer a different question.  (qemu-user lacks epoll_pwait2.) */
    struct timespec zero = {0, 0};
    st->pwait2 =
        epoll_pwait2(st->epfd, &ev, 1, &zero, NULL) >= 0 || errno != ENOSYS;
    L->engine_data = st;
    return 0;
}

static void ep_close(corio__loop *L)
{
    ep_state *st = state_of(L);
    corio__fd_close_all(L);
    corio__sys.close(st->epfd);
    free(st);
    L->engine_data = NULL;
}

static int ep_watch(corio__loop *L, int fd)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
    if (corio__sys.epoll_ctl(state_of(L)->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ||
        errno == EEXIST)
        return 0;
    return -errno;
}

static void ep_unwatch(corio__loop *L, int fd)
{
    corio__sys.epoll_ctl(state_of(L)->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int ep_wait(corio__loop *L, int64_t timeout_ns)
{
    ep_state *st = state_of(L);
    struct epoll_event *evs = st->evs;
    int n;
    if (st->pwait2) {
        struct timespec ts = {timeout_ns / CORIO_SECOND,
                              timeout_ns % CORIO_SECOND};
        n = corio__sys.epoll_pwait2(st->epfd, evs, MAX_EVENTS,
                                    timeout_ns < 0 ? NULL : &ts, NULL);
        if (n < 0 && errno == ENOSYS)
            st->pwait2 = false; /* seccomp or an emulator said no after all */
    }
    if (!st->pwait2) {
        int ms = timeout_ns < 0 ? -1
                 : timeout_ns > (int64_t)INT32_MAX * CORIO_MS
                     ? INT32_MAX
                     : (int)((timeout_ns + CORIO_MS - 1) / CORIO_MS);
        n = corio__sys.epoll_wait(st->epfd, evs, MAX_EVENTS, ms);
    }
    if (n < 0)
        return 0; /* EINTR: a signal; the caller re-checks everything */
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        uint32_t e = evs[i].events;
        if (fd == L->wakefd) {
            corio__loop_woken(L);
            continue;
        }
        int mask = 0;
        if (e & (EPOLLIN | EPOLLRDHUP))
            mask |= CORIO_READABLE;
        if (e & EPOLLOUT)
            mask |= CORIO_WRITABLE;
        if (e & (EPOLLHUP | EPOLLERR))
            mask |= CORIO_READABLE | CORIO_WRITABLE;
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            mask |= CORIO__FD_HUP;
        corio__fd_event(L, fd, mask);
    }
    return n;
}

const corio__engine corio__epoll_engine = {
    "epoll", ep_init, ep_close, ep_watch, ep_unwatch,
    ep_wait, NULL,    NULL,     NULL,     NULL,
};
