/* io/uring.c — the io_uring engine (Linux >= 5.19 features probed at loop
 * start; liburing from Debian).
 *
 * Completion-based: corio_fd_read/write/wait on a socket become one SQE
 * (IORING_OP_RECV / SEND / POLL_ADD) whose user_data is a `uop` on the
 * calling task's stack; the task parks until the CQE arrives.  Pipes and
 * terminals keep O_NONBLOCK, and io_uring honours it for READ/WRITE, so on
 * them a read is tried directly and the task waits with a POLL_ADD between
 * attempts.  SQEs are batched and submitted when the loop polls.
 *
 * Cancellation must never let a completion touch freed memory (the buffer
 * and the uop live on the task's stack): an interrupted operation gets an
 * IORING_OP_ASYNC_CANCEL, and the task stays parked until the original
 * operation's own CQE has arrived.  If that CQE reports data moved (the
 * operation won the race), the call returns it; otherwise the interruption.
 *
 * The loop's wake-up eventfd is watched with a multishot POLL_ADD.  Socket
 * streams read ahead with a multishot receive into the loop's provided
 * buffers where the kernel has them (io/uring_recv.c). */
#include "io/fd.h"

#ifdef CORIO_HAVE_URING
#include "io/uring.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define RING_ENTRIES 256
/* Completions: every waiting socket may complete in the same turn (a
 * server with thousands of connections); a CQE that does not fit the CQ
 * ring waits on the kernel's overflow list until a later turn, which is
 * unfair to its task, so the CQ ring is sized for many (16 B each). */
#define CQ_ENTRIES 16384

typedef struct uop {
    corio__wait w; /* first: the scheduler hands back &w */
    corio_task *task;
    int res;
    int code; /* the interruption, once cancelled */
    bool done;
} uop;

static struct io_uring *ring_of(corio__loop *L)
{
    return &corio__uring_of(L)->ring;
}

struct io_uring_sqe *corio__uring_sqe(corio__loop *L)
{
    struct io_uring *ring = ring_of(L);
    struct io_uring_sqe *sqe = corio__sys.uring_get_sqe(ring);
    while (!sqe) { /* the SQ ring is full: hand it to the kernel first */
        corio__sys.uring_submit(ring);
        sqe = corio__sys.uring_get_sqe(ring);
    }
    return sqe;
}

static void arm_wake(corio__loop *L)
{
    struct io_uring_sqe *sqe = corio__uring_sqe(L);
    io_uring_prep_poll_multishot(sqe, L->wakefd, POLLIN);
    io_uring_sqe_set_data64(sqe, CORIO__URING_WAKE);
}

/* Read-ahead is off unless CORIO_URING_MULTISHOT=1: it measured no less
 * CPU per message than single-shot receives, and more with many streaming
 * connections (the copy out of a cache-cold ring; docs/performance.md,
 * "Multishot receives and ring sends").  Multishot receives with provided
 * buffer rings came with Linux 6.0 and have no feature bit: the release
 * decides. */
static bool multishot_ok(void)
{
    const char *e = getenv("CORIO_URING_MULTISHOT");
    struct utsname u;
    unsigned major = 0, minor = 0;
    if (!e || strcmp(e, "1") != 0)
        return false;
    if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
        return false;
    (void)minor;
    return major >= 6;
}

static int ring_init(struct io_uring *ring, unsigned flags)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    int rc = corio__sys.uring_queue_init_params(RING_ENTRIES, ring, &p);
    /* Fast poll (5.7) and multishot poll (5.13, IORING_FEAT_... has no bit:
     * the CQE flags tell) are what this engine relies on. */
    if (rc == 0 && !(p.features & IORING_FEAT_FAST_POLL)) {
        io_uring_queue_exit(ring);
        rc = -ENOSYS;
    }
    return rc;
}

static int ur_init(corio__loop *L)
{
    corio__uring *u = corio__sys.calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    struct io_uring *ring = &u->ring;
    /* One thread submits and reaps (the loop's): let the kernel skip the
     * cross-thread machinery where it can (Linux 6.1), else run task work
     * only when the loop enters the kernel anyway (5.19), else plain. */
    int rc = ring_init(ring,
                       IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    if (rc == -EINVAL)
        rc = ring_init(ring, IORING_SETUP_COOP_TASKRUN);
    if (rc == -EINVAL)
        rc = ring_init(ring, 0);
    if (rc < 0) {
        free(u);
        return rc;
    }
    /* Every io_uring_enter then names the ring by its registered index,
     * saving the file lookup (5.18; without it, the plain fd serves). */
    (void)io_uring_register_ring_fd(ring);
    u->multishot = multishot_ok();
    L->engine_data = u;
    arm_wake(L);
    return 0;
}

static void ur_close(corio__loop *L)
{
    corio__fd_close_all(L);
    corio__urecv_close_all(L);
    io_uring_queue_exit(ring_of(L));
    free(L->engine_data);
    L->engine_data = NULL;
}

static int ur_watch(corio__loop *L, int fd)
{
    (void)L, (void)fd;
    return 0;
}

static void ur_unwatch(corio__loop *L, int fd)
{
    corio__urecv_forget(L, fd);
}

static void complete(corio__loop *L, struct io_uring_cqe *cqe)
{
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    if (tag == 0)
        return; /* a cancel request's own completion */
    if (tag == CORIO__URING_WAKE) {
        corio__loop_woken(L);
        if (!(cqe->flags & IORING_CQE_F_MORE))
            arm_wake(L); /* the multishot poll ended: re-arm it */
        return;
    }
    if (tag & CORIO__URING_RECV) {
        corio__urecv_complete(
            L, (corio__urecv *)(uintptr_t)(tag & ~(uint64_t)CORIO__URING_RECV),
            cqe);
        return;
    }
    uop *op = (uop *)(uintptr_t)tag;
    op->res = cqe->res;
    op->done = true;
    L->nfd_waiting--;
    corio__wake(op->task, 0);
}

static int ur_wait(corio__loop *L, int64_t timeout_ns)
{
    struct io_uring *ring = ring_of(L);
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts;
    int rc;
    if (timeout_ns == 0) {
        rc = corio__sys.uring_submit_and_get_events(ring);
    } else if (timeout_ns < 0) {
        rc = corio__sys.uring_submit_and_wait(ring, 1);
    } else {
        ts.tv_sec = timeout_ns / CORIO_SECOND;
        ts.tv_nsec = timeout_ns % CORIO_SECOND;
        rc = corio__sys.uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
    }
    (void)rc; /* -ETIME, -EINTR: the caller re-checks everything */
    int n = 0;
    unsigned head;
    io_uring_for_each_cqe(ring, head, cqe)
    {
        complete(L, cqe);
        n++;
    }
    io_uring_cq_advance(ring, (unsigned)n);
    return n;
}

/* The task was interrupted: ask the kernel to cancel the operation and keep
 * the task parked until the operation's own completion arrives. */
static bool uop_cancel(corio__wait *w, corio_task *t, int code)
{
    uop *op = (uop *)w;
    struct io_uring_sqe *sqe = corio__uring_sqe(t->loop);
    op->code = code;
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, 0);
    return false;
}

/* Queue sqe (prepared by the caller) for op and park until it completes. */
static int run(corio__loop *L, struct io_uring_sqe *sqe, uop *op,
               const char *what)
{
    op->w.cancel = uop_cancel;
    op->w.what = what;
    op->w.until = INT64_MAX;
    op->task = L->current;
    op->done = false;
    op->code = 0;
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op);
    L->nfd_waiting++;
    int rc = corio__park(&op->w);
    if (!op->done) {
        /* Interrupted before it parked (an expired scope): the SQE is
         * queued already, so cancel it and wait for its completion. */
        uop_cancel(&op->w, op->task, rc);
        op->task->noint++;
        while (!op->done)
            corio__park(&op->w);
        op->task->noint--;
    }
    return op->code && op->res < 0 ? op->code : op->res;
}

static int ur_poll(corio__loop *L, int fd, int events)
{
    uop op;
    /* Bytes read ahead are no longer in the socket for POLL_ADD to see. */
    if ((events & CORIO_READABLE) && corio__urecv_ready(L, fd))
        return CORIO_READABLE;
    struct io_uring_sqe *sqe;
    short ev = (short)((events & CORIO_READABLE ? POLLIN | POLLRDHUP : 0) |
                       (events & CORIO_WRITABLE ? POLLOUT : 0));
    int64_t none = INT64_MAX;
    int rc = corio__interrupt_code(L->current, &none);
    if (rc < 0)
        return rc;
    sqe = corio__uring_sqe(L);
    io_uring_prep_poll_add(sqe, fd, (unsigned)ev);
    rc = run(L, sqe, &op,
             events == CORIO_READABLE   ? "fd read"
             : events == CORIO_WRITABLE ? "fd write"
                                        : "fd");
    if (rc < 0)
        return rc;
    int m = 0;
    if (rc & (POLLIN | POLLRDHUP))
        m |= CORIO_READABLE;
    if (rc & POLLOUT)
        m |= CORIO_WRITABLE;
    if (rc & (POLLHUP | POLLERR | POLLNVAL))
        m |= CORIO_READABLE | CORIO_WRITABLE;
    return m;
}

/* An SQE's length is 32 bits and a CQE's result an int: clamp as read(2)
 * does (MAX_RW_COUNT), or 4 GiB would become 0. */
#define MAX_IO 0x7ffff000u

static ssize_t ur_read(corio__loop *L, int fd, bool sock, bool ahead, void *buf,
                       size_t n)
{
    if (n > MAX_IO)
        n = MAX_IO;
    if (ahead) {
        ssize_t got = corio__urecv_read(L, fd, buf, n);
        if (got != -ENOTSUP)
            return got;
    }
    for (;;) {
        if (!sock) {
            ssize_t got = corio__sys.read(fd, buf, n);
            if (got >= 0 || errno != EAGAIN)
                return got >= 0 ? got : -errno;
            int rc = ur_poll(L, fd, CORIO_READABLE);
            if (rc < 0)
                return rc;
            continue;
        }
        int64_t none = INT64_MAX;
        int rc = corio__interrupt_code(L->current, &none);
        if (rc < 0) {
            /* Level-triggered cancellation, but data already there is
             * still returned: try once without waiting. */
            ssize_t got =
                corio__sys.recvfrom(fd, buf, n, MSG_DONTWAIT, NULL, NULL);
            return got >= 0 ? got : rc;
        }
        uop op;
        struct io_uring_sqe *sqe = corio__uring_sqe(L);
        io_uring_prep_recv(sqe, fd, buf, n, 0);
        return run(L, sqe, &op, "fd read");
    }
}

static ssize_t ur_write(corio__loop *L, int fd, bool sock, const void *buf,
                        size_t n)
{
    if (n > MAX_IO)
        n = MAX_IO;
    for (;;) {
        if (!sock) {
            ssize_t put = corio__sys.write(fd, buf, n);
            if (put >= 0 || errno != EAGAIN)
                return put >= 0 ? put : -errno;
            int rc = ur_poll(L, fd, CORIO_WRITABLE);
            if (rc < 0)
                return rc;
            continue;
        }
        int64_t none = INT64_MAX;
        int rc = corio__interrupt_code(L->current, &none);
        if (rc < 0)
            return rc;
        uop op;
        struct io_uring_sqe *sqe = corio__uring_sqe(L);
        io_uring_prep_send(sqe, fd, buf, n, MSG_NOSIGNAL);
        return run(L, sqe, &op, "fd write");
    }
}

/* Files: READ / WRITE / FSYNC on the ring (the kernel runs what would
 * block on its own workers) in place of a file-pool thread and its
 * hand-off.  Cancellation as for sockets: the task stays parked until the
 * operation's own completion, so bytes moved are returned, never lost. */
static ssize_t ur_file(corio__loop *L, int op, int fd, void *buf, size_t n,
                       off_t off)
{
    int64_t none = INT64_MAX;
    int rc = corio__interrupt_code(L->current, &none);
    if (rc < 0)
        return rc;
    if (n > MAX_IO)
        n = MAX_IO;
    uop uo;
    struct io_uring_sqe *sqe = corio__uring_sqe(L);
    uint64_t at =
        off < 0 ? (uint64_t)-1 : (uint64_t)off; /* -1: the file position */
    if (op == CORIO__FILE_READ)
        io_uring_prep_read(sqe, fd, buf, (unsigned)n, at);
    else if (op == CORIO__FILE_WRITE)
        io_uring_prep_write(sqe, fd, buf, (unsigned)n, at);
    else
        io_uring_prep_fsync(sqe, fd, 0);
    /* Work under way, not a wait for the outside world: like a pool job,
     * it keeps the virtual clock from jumping and the loop from calling
     * the tasks deadlocked. */
    L->jobs_pending++;
    ssize_t res = run(L, sqe, &uo, "file");
    L->jobs_pending--;
    return res;
}

const corio__engine corio__uring_engine = {
    "io_uring", ur_init, ur_close, ur_watch, ur_unwatch,
    ur_wait,    ur_read, ur_write, ur_poll,  ur_file,
};
#else
const corio__engine corio__uring_engine = {"io_uring (not built)",
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL};
#endif
