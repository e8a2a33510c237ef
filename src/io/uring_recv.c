/* io/uring_recv.c — read-ahead receives for socket streams on io_uring:
 * one multishot IORING_OP_RECV per socket, filling the loop's provided
 * buffer ring (kernel >= 6.0).
 *
 * Parts:
 *   the buffer ring   one per loop, made at the first read-ahead: BUFS
 *                     buffers of BUF_SIZE bytes (CORIO_URING_RECV_BUFS
 *                     overrides the count, for tests), registered as
 *                     buffer group 0.  The kernel picks a free buffer for
 *                     every receive completion; corio gives it back as soon
 *                     as a reader has copied it all out.
 *   a receive state   one per socket read this way (corio__urecv, heap,
 *                     found through the fd record): the buffers the kernel
 *                     filled and no task has read yet, in order (a list
 *                     threaded through the buffer ids), the end of stream
 *                     or error that follows them, whether the multishot is
 *                     armed, and the task parked reading.
 *
 * The io_uring cancellation rule holds without the engine's cancel
 * dance: the kernel writes only into the loop's buffers and the state's
 * CQEs only touch the state, never a task's stack, so a reader that is
 * interrupted just leaves (its bytes stay queued for the next read).  A
 * socket that is closed gets an ASYNC_CANCEL and its state lives on,
 * detached from the fd, until the receive's last CQE (no F_MORE).
 *
 * Flow control: a socket whose queue holds as many bytes as its last read
 * asked for (a stream asks for its read buffer's free space) has its
 * receive cancelled, so a peer that outruns its reader meets the socket's
 * own limits again a little later, rather than taking the whole ring; the
 * read that empties the queue arms it again.  When the
 * ring is empty anyway (ENOBUFS ends the multishot; the bytes stay in the
 * socket), the next read of that socket is a plain receive into the
 * reader's own buffer, so every socket keeps moving while buffers are
 * held elsewhere. */
#include "io/fd.h"

#ifdef CORIO_HAVE_URING
#include "io/uring.h"

#include <stdlib.h>
#include <string.h>

/* 16 MiB of address space per loop; a buffer's pages are touched only as
 * far as the kernel fills it.  4 KiB buffers cost ~12 % more CPU per
 * message in streaming (more CQEs and cap cancels per byte), and 256
 * buffers ran dry under 1,000 ping-pong connections (docs/performance.md,
 * "Multishot receives and ring sends"). */
#define BUFS 1024      /* buffers per loop ring */
#define BUF_SIZE 16384 /* one CQE's bytes at most */
#define BUFS_MAX 32768 /* the kernel's limit on a buffer ring's entries */
#define GROUP 0        /* the buffer group id */

struct corio__urbufs {
    struct io_uring_buf_ring *br; /* shared with the kernel, page-aligned */
    char *mem;                    /* count buffers of BUF_SIZE bytes */
    unsigned count;
    int32_t *next; /* per buffer id: the next queued buffer, -1 none */
    uint32_t *len; /* per buffer id: the bytes the kernel put there */
};

struct corio__urecv {
    corio__urecv *next, **pprev; /* the loop's list, for its close */
    corio_task *reader;          /* parked in corio__urecv_read */
    int fd;                      /* -1 once forgotten */
    int32_t head, tail;          /* queued buffer ids, -1: none */
    uint32_t off;                /* bytes of head already read */
    size_t queued;               /* bytes queued */
    size_t want;                 /* the last read's size: the queue's bound */
    int end;                     /* with ended: 0 end of stream, or -errno */
    bool ended;   /* end queued behind the buffers (0 stays, errors once) */
    bool armed;   /* the multishot receive is in the kernel */
    bool stopped; /* its cancel is on the way */
    bool direct;  /* the ring ran dry: next read is a plain receive */
};

static unsigned ring_count(void)
{
    const char *e = getenv("CORIO_URING_RECV_BUFS");
    unsigned n = e ? (unsigned)strtoul(e, NULL, 10) : 0;
    unsigned p = 1;
    if (n == 0)
        return BUFS;
    while (p < n && p < BUFS_MAX)
        p *= 2; /* buffer rings hold a power of two */
    return p;
}

static void give_back(corio__urbufs *b, unsigned bid, int slot)
{
    io_uring_buf_ring_add(b->br, b->mem + (size_t)bid * BUF_SIZE, BUF_SIZE,
                          (unsigned short)bid, io_uring_buf_ring_mask(b->count),
                          slot);
}

static void bufs_free(corio__urbufs *b)
{
    if (!b)
        return;
    free(b->br);
    free(b->mem);
    free(b->next);
    free(b->len);
    free(b);
}

static int bufs_new(corio__loop *L)
{
    corio__uring *u = corio__uring_of(L);
    corio__urbufs *b = corio__sys.calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->count = ring_count();
    void *br = NULL;
    if (posix_memalign(&br, 4096, b->count * sizeof(struct io_uring_buf)))
        br = NULL;
    b->br = br;
    b->mem = corio__sys.malloc((size_t)b->count * BUF_SIZE);
    b->next = corio__sys.calloc(b->count, sizeof *b->next);
    b->len = corio__sys.calloc(b->count, sizeof *b->len);
    if (!b->br || !b->mem || !b->next || !b->len) {
        bufs_free(b);
        return -ENOMEM;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)b->br;
    reg.ring_entries = b->count;
    reg.bgid = GROUP;
    int rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
    if (rc < 0) {
        bufs_free(b);
        u->multishot = false; /* the kernel has no buffer rings (< 5.19) */
        return rc;
    }
    io_uring_buf_ring_init(b->br);
    for (unsigned i = 0; i < b->count; i++)
        give_back(b, i, (int)i);
    io_uring_buf_ring_advance(b->br, (int)b->count);
    u->bufs = b;
    return 0;
}

static uint64_t tag_of(corio__urecv *s)
{
    return (uint64_t)(uintptr_t)s | CORIO__URING_RECV;
}

static void arm(corio__loop *L, corio__urecv *s)
{
    struct io_uring_sqe *sqe = corio__uring_sqe(L);
    io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = GROUP;
    io_uring_sqe_set_data64(sqe, tag_of(s));
    s->armed = true;
}

static void stop(corio__loop *L, corio__urecv *s)
{
    struct io_uring_sqe *sqe = corio__uring_sqe(L);
    io_uring_prep_cancel64(sqe, tag_of(s), 0);
    io_uring_sqe_set_data64(sqe, 0);
    s->stopped = true;
}

/* Give every queued buffer of s back to the ring. */
static void drop_queue(corio__urbufs *b, corio__urecv *s)
{
    int slot = 0;
    for (int32_t bid = s->head; bid >= 0; bid = b->next[bid])
        give_back(b, (unsigned)bid, slot++);
    if (slot)
        io_uring_buf_ring_advance(b->br, slot);
    s->head = s->tail = -1;
    s->off = 0;
    s->queued = 0;
}

static void state_free(corio__urecv *s)
{
    *s->pprev = s->next;
    if (s->next)
        s->next->pprev = s->pprev;
    free(s);
}

/* Copy up to n queued bytes of s into buf, giving back every buffer
 * emptied; the receive is armed again once the queue is empty. */
static size_t take(corio__loop *L, corio__urecv *s, char *buf, size_t n)
{
    corio__urbufs *b = corio__uring_of(L)->bufs;
    size_t got = 0;
    int slot = 0;
    while (got < n && s->head >= 0) {
        unsigned bid = (unsigned)s->head;
        size_t k = b->len[bid] - s->off;
        if (k > n - got)
            k = n - got;
        memcpy(buf + got, b->mem + (size_t)bid * BUF_SIZE + s->off, k);
        got += k;
        s->off += (uint32_t)k;
        s->queued -= k;
        if (s->off == b->len[bid]) {
            s->head = b->next[bid];
            if (s->head < 0)
                s->tail = -1;
            s->off = 0;
            give_back(b, bid, slot++);
        }
    }
    if (slot)
        io_uring_buf_ring_advance(b->br, slot);
    /* Armed again now, not at the next read: the bytes then arrive while
     * the task works on these. */
    if (s->head < 0 && !s->armed && !s->ended && !s->direct &&
        corio__uring_of(L)->multishot)
        arm(L, s);
    return got;
}

typedef struct recv_wait {
    corio__wait w; /* first: the scheduler hands back &w */
    corio__urecv *s;
} recv_wait;

static void unpark(corio__loop *L, corio__urecv *s)
{
    s->reader = NULL;
    L->nfd_waiting--;
}

/* The reader was interrupted: it just leaves, as nothing of its own is in
 * the kernel's hands. */
static bool recv_cancel(corio__wait *w, corio_task *t, int code)
{
    (void)code;
    unpark(t->loop, ((recv_wait *)w)->s);
    return true;
}

static corio__urecv *state_of(corio__loop *L, int fd)
{
    corio__uring *u = corio__uring_of(L);
    corio__fdrec *r = &L->fdtab->v[fd];
    if (r->engine || !u->multishot || (!u->bufs && bufs_new(L) < 0))
        return r->engine;
    corio__urecv *s = corio__sys.calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = fd;
    s->head = s->tail = -1;
    s->next = u->recvs;
    if (s->next)
        s->next->pprev = &s->next;
    s->pprev = &u->recvs;
    u->recvs = s;
    r->engine = s;
    return s;
}

ssize_t corio__urecv_read(corio__loop *L, int fd, void *buf, size_t n)
{
    corio__urecv *s = state_of(L, fd);
    if (!s)
        return -ENOTSUP; /* off, or no memory for it: a plain receive */
    s->want = n;
    for (;;) {
        if (s->head >= 0)
            return (ssize_t)take(L, s, buf, n);
        if (s->ended) {
            s->ended = s->end == 0; /* an error is reported once */
            return s->end;
        }
        if (s->direct || !corio__uring_of(L)->multishot) {
            s->direct = false;
            return -ENOTSUP;
        }
        int64_t none = INT64_MAX;
        int rc = corio__interrupt_code(L->current, &none);
        if (rc < 0) /* bytes already in the socket are still returned */
            return s->armed ? rc : -ENOTSUP;
        if (!s->armed)
            arm(L, s);
        recv_wait rw = {{recv_cancel, "fd read", INT64_MAX}, s};
        s->reader = L->current;
        L->nfd_waiting++;
        rc = corio__park(&rw.w);
        if (rc < 0) {
            if (s->reader == L->current) /* interrupted before it slept */
                unpark(L, s);
            return rc;
        }
    }
}

bool corio__urecv_ready(corio__loop *L, int fd)
{
    corio__urecv *s = L->fdtab->v[fd].engine;
    return s && (s->head >= 0 || s->ended);
}

void corio__urecv_complete(corio__loop *L, corio__urecv *s,
                           const struct io_uring_cqe *cqe)
{
    corio__uring *u = corio__uring_of(L);
    corio__urbufs *b = u->bufs;
    int res = cqe->res;
    if (!(cqe->flags & IORING_CQE_F_MORE))
        s->armed = s->stopped = false;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (res > 0 && s->fd >= 0) {
            b->len[bid] = (uint32_t)res;
            b->next[bid] = -1;
            if (s->tail >= 0)
                b->next[s->tail] = (int32_t)bid;
            else
                s->head = (int32_t)bid;
            s->tail = (int32_t)bid;
            s->queued += (size_t)res;
        } else {
            give_back(b, bid, 0);
            io_uring_buf_ring_advance(b->br, 1);
        }
    }
    if (res == -ENOBUFS) {
        s->direct = true;
    } else if (res == -EINVAL) {
        u->multishot = false; /* a kernel without multishot receives */
    } else if (res <= 0 && res != -ECANCELED && s->fd >= 0) {
        s->ended = true;
        s->end = res;
    }
    if (s->fd < 0) {
        if (!s->armed)
            state_free(s); /* forgotten, and this was its last CQE */
        return;
    }
    if (s->armed && !s->stopped && s->queued >= s->want)
        stop(L, s);
    if (s->reader) {
        corio_task *t = s->reader;
        unpark(L, s);
        corio__wake(t, 0);
    }
}

void corio__urecv_forget(corio__loop *L, int fd)
{
    corio__fdrec *r = &L->fdtab->v[fd];
    corio__urecv *s = r->engine;
    if (!s)
        return;
    r->engine = NULL;
    drop_queue(corio__uring_of(L)->bufs, s);
    s->fd = -1;
    if (!s->armed)
        state_free(s);
    else if (!s->stopped)
        stop(L, s);
}

void corio__urecv_close_all(corio__loop *L)
{
    corio__uring *u = corio__uring_of(L);
    /* Receives may still be armed: once the group is unregistered none
     * can pick one of these buffers, so they can be freed before the
     * ring's own teardown cancels the receives. */
    if (u->bufs)
        (void)io_uring_unregister_buf_ring(&u->ring, GROUP);
    while (u->recvs)
        state_free(u->recvs);
    bufs_free(u->bufs);
    u->bufs = NULL;
}
#endif
