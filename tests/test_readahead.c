/* test_readahead.c — socket streams that read ahead (io_uring's multishot
 * receive into the loop's provided buffers, io/uring_recv.c, switched on
 * here by CORIO_URING_MULTISHOT=1), and the same scenarios on every other
 * path: epoll, and io_uring's single-shot receives (CORIO_URING_MULTISHOT=0,
 * the default), where they must hold as well.
 *
 * Parts:
 *   order          every byte in order across many small reads of large
 *                  writes, then end of stream (or a reset) after the data.
 *   tiny ring      two buffers for three busy sockets (CORIO_URING_RECV_BUFS):
 *                  the ring runs dry (ENOBUFS) and nothing is lost.
 *   interruptions  readers cancelled mid-stream, and a cancel sweep over
 *                  every suspension point of a reading scenario: the bytes
 *                  stay for the next read.
 *   readiness      corio_fd_wait sees bytes read ahead.
 *   close          closing a stream whose receive is armed, with bytes
 *                  queued or not (ASan: no completion touches freed memory),
 *                  and the peer sees the close.
 *   fallback       CORIO_URING_MULTISHOT=0 forces the single-shot path. */
#include "tst.h"
#include "core/engine.h"
#include "core/loop.h"
#include "io/fd.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The byte at stream offset o. */
static unsigned char pat(size_t o)
{
    return (unsigned char)(o * 7 + o / 251);
}

/* A socketpair: *r is a stream over one end, *peer the raw other end. */
static void pair(corio_stream **r, int *peer, const corio_stream_opts *o)
{
    int fds[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    CHECK_EQ(corio_stream_from_fd(r, fds[0], o), 0);
    *peer = fds[1];
}

/* The loop reads this stream ahead: io_uring with multishot receives. */
static bool reads_ahead(corio_stream *s)
{
    corio__loop *L = corio__cur;
    int fd = corio_stream_fd(s);
    return L->fdtab && (size_t)fd < L->fdtab->n &&
           L->fdtab->v[fd].engine != NULL;
}

static bool ahead_expected(void)
{
    const char *e = getenv("CORIO_URING_MULTISHOT");
    return strcmp(corio__cur->engine->name, "io_uring") == 0 && e &&
           strcmp(e, "1") == 0;
}

/* A task writing len pattern bytes to fd in pieces of `piece`, then
 * shutting down its writing side. */
typedef struct writer {
    int fd;
    size_t len, piece;
    int rc;
} writer;

static int writer_fn(void *arg)
{
    writer *w = arg;
    unsigned char *buf = malloc(w->piece);
    size_t pos = 0;
    CHECK(buf != NULL);
    while (pos < w->len) {
        size_t k = w->len - pos < w->piece ? w->len - pos : w->piece;
        for (size_t i = 0; i < k; i++)
            buf[i] = pat(pos + i);
        ssize_t put = corio_fd_write(w->fd, buf, k);
        if (put < 0) {
            free(buf);
            return w->rc = (int)put;
        }
        pos += (size_t)put;
    }
    free(buf);
    shutdown(w->fd, SHUT_WR);
    return w->rc = 0;
}

/* Read s to its end in reads of 1..max bytes, checking every byte; the
 * count read. */
static size_t read_check(corio_stream *s, size_t from, size_t max,
                         uint64_t *rng)
{
    unsigned char buf[4096];
    size_t pos = from;
    for (;;) {
        size_t want = 1 + tst_rand(rng) % max;
        ssize_t n = corio_stream_read(s, buf, want);
        if (n <= 0) {
            CHECK_EQ(n, 0);
            CHECK_EQ(corio_stream_read(s, buf, 1), 0); /* the end stays */
            return pos - from;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pat(pos + (size_t)i))
                CHECK_EQ(buf[i], pat(pos + (size_t)i));
        pos += (size_t)n;
    }
}

/* ---- order --------------------------------------------------------------- */

static int order_main(void *arg)
{
    (void)arg;
    corio_stream *r;
    int peer;
    uint64_t rng = 42;
    size_t len = (tst_slow_env() ? 2u : 8u) << 20;
    corio_stream_opts o = {.read_buffer = 512};
    pair(&r, &peer, &o);
    writer w = {peer, len, 200 * 1024, -1};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, writer_fn, &w), 0);
    CHECK_EQ(read_check(r, 0, 97, &rng), len);
    CHECK_EQ(reads_ahead(r), ahead_expected());
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, 0);
    corio_stream_close(r);
    close(peer);
    return 0;
}

TEST(readahead, every_byte_in_order_small_reads)
{
    setenv("CORIO_URING_MULTISHOT", "1", 1);
    CHECK_EQ(tst_run(order_main, NULL), 0);
    tst_leak_check();
}

/* A reset after the data: every byte first, then the error.  (A Unix
 * socket closed with bytes unread in its own queue resets its peer.) */
static int reset_main(void *arg)
{
    (void)arg;
    corio_stream *r;
    int peer;
    unsigned char buf[8192];
    size_t len = 100 * 1000, pos = 0;
    pair(&r, &peer, NULL);
    CHECK_EQ(corio_fd_write(corio_stream_fd(r), "x", 1), 1); /* unread */
    CHECK_EQ(corio_stream_read(r, buf, 0), 0);
    writer w = {peer, len, 8192, -1};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, writer_fn, &w), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, 0);
    CHECK_EQ(close(peer), 0);
    ssize_t n;
    while ((n = corio_stream_read(r, buf, 1 + pos % 3000)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pat(pos + (size_t)i))
                CHECK_EQ(buf[i], pat(pos + (size_t)i));
        pos += (size_t)n;
    }
    CHECK_EQ(pos, len);
    CHECK_EQ(n, -ECONNRESET);
    corio_stream_close(r);
    return 0;
}

TEST(readahead, reset_comes_after_the_data)
{
    setenv("CORIO_URING_MULTISHOT", "1", 1);
    CHECK_EQ(tst_run(reset_main, NULL), 0);
    tst_leak_check();
}

/* ---- tiny ring ----------------------------------------------------------- */

typedef struct conn {
    corio_stream *r;
    uint64_t rng;
    size_t got;
} conn;

static int reader_fn(void *arg)
{
    conn *c = arg;
    c->got = read_check(c->r, 0, 3000, &c->rng);
    return 0;
}

static int tiny_main(void *arg)
{
    (void)arg;
    enum { N = 3 };
    size_t len = tst_slow_env() ? 256 * 1024 : 1024 * 1024;
    conn c[N];
    writer w[N];
    corio_task *rt[N], *wt[N];
    int peer[N];
    for (int i = 0; i < N; i++) {
        pair(&c[i].r, &peer[i], NULL);
        c[i].rng = (uint64_t)i + 1;
        w[i] = (writer){peer[i], len, 64 * 1024, -1};
        CHECK_EQ(corio_task_spawn(&rt[i], reader_fn, &c[i]), 0);
        CHECK_EQ(corio_task_spawn(&wt[i], writer_fn, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ(corio_task_join(rt[i], NULL), 0);
        CHECK_EQ(corio_task_join(wt[i], NULL), 0);
        CHECK_EQ(c[i].got, len);
        CHECK_EQ(w[i].rc, 0);
        corio_stream_close(c[i].r);
        close(peer[i]);
    }
    return 0;
}

TEST(readahead, tiny_ring_runs_dry_and_loses_nothing)
{
    setenv("CORIO_URING_MULTISHOT", "1", 1);
    setenv("CORIO_URING_RECV_BUFS", "2", 1);
    CHECK_EQ(tst_run(tiny_main, NULL), 0);
    tst_leak_check();
}

/* ---- interruptions ------------------------------------------------------- */

typedef struct partial {
    corio_stream *r;
    size_t pos; /* bytes read and checked so far */
    uint64_t rng;
    int rc;
} partial;

/* Read until interrupted; every byte must be the next one. */
static int partial_fn(void *arg)
{
    partial *p = arg;
    unsigned char buf[700];
    for (;;) {
        ssize_t n = corio_stream_read(p->r, buf, 1 + tst_rand(&p->rng) % 700);
        if (n <= 0)
            return p->rc = (int)n;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pat(p->pos + (size_t)i))
                CHECK_EQ(buf[i], pat(p->pos + (size_t)i));
        p->pos += (size_t)n;
    }
}

static int cancelled_main(void *arg)
{
    (void)arg;
    corio_stream *r;
    int peer;
    size_t len = 4 << 20;
    pair(&r, &peer, NULL);
    writer w = {peer, len, 40 * 1024, -1};
    partial p = {r, 0, 7, 1};
    corio_task *wt;
    CHECK_EQ(corio_task_spawn(&wt, writer_fn, &w), 0);
    int cancels = 0;
    while (p.rc != 0) {
        corio_task *t;
        CHECK_EQ(corio_task_spawn(&t, partial_fn, &p), 0);
        for (uint64_t k = tst_rand(&p.rng) % 5; k > 0; k--)
            CHECK_EQ(corio_yield(), 0);
        corio_task_cancel(t);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK(p.rc == 0 || p.rc == -ECANCELED);
        cancels += p.rc == -ECANCELED;
    }
    CHECK_EQ(p.pos, len);
    CHECK(cancels > 10);
    CHECK_EQ(corio_task_join(wt, NULL), 0);
    corio_stream_close(r);
    close(peer);
    return 0;
}

TEST(readahead, cancelled_reader_leaves_bytes_for_the_next)
{
    setenv("CORIO_URING_MULTISHOT", "1", 1);
    CHECK_EQ(tst_run(cancelled_main, NULL), 0);
    tst_leak_check();
}

/* One scenario of the cancel sweep: read 20 KiB the peer sent in reads of
 * 1..700 bytes; once cancelled, read the rest under a shield. */
static int sweep_scenario(void *arg)
{
    (void)arg;
    corio_stream *r;
    int peer;
    unsigned char buf[20 * 1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = pat(i);
    pair(&r, &peer, NULL);
    CHECK_EQ(write(peer, buf, sizeof buf), (ssize_t)sizeof buf);
    CHECK_EQ(shutdown(peer, SHUT_WR), 0);
    partial p = {r, 0, 3, 1};
    int rc = partial_fn(&p);
    if (rc == -ECANCELED) {
        CHECK_EQ(corio_shield_begin(), 0);
        p.rc = partial_fn(&p);
        CHECK_EQ(corio_shield_end(), 0);
    }
    CHECK(rc == 0 || rc == -ECANCELED);
    CHECK_EQ(p.rc, 0);
    CHECK_EQ(p.pos, sizeof buf);
    corio_stream_close(r);
    close(peer);
    return 0;
}

TEST(readahead, cancel_sweep_over_reads)
{
    setenv("CORIO_URING_MULTISHOT", "1", 1);
    CHECK_EQ(corio_test_cancel_sweep(sweep_scenario, NULL), 0);
    tst_leak_check();
}

/* ---- close --------------------------------------------------------------- */

static int close_main(void *arg)
{
    (void)arg;
    for (int queued = 0; queued < 2; queued++) {
        corio_stream *r;
        int peer;
        char buf[64];
        pair(&r, &peer, NULL);
        CHECK_EQ(write(peer, "ab", 2), 2);
        CHECK_EQ(corio_stream_read(r, buf, 1), 1); /* arms the receive */
        if (queued) {
            /* Bytes land in the loop's buffers while nobody reads. */
            CHECK_EQ(write(peer, buf, sizeof buf), (ssize_t)sizeof buf);
            CHECK_EQ(corio_yield(), 0);
            CHECK_EQ(corio_sleep(CORIO_MS), 0);
        }
        corio_stream_close(r); /* the receive is armed: cancelled */
        /* The peer sees the close once the kernel has the cancel (a reset
         * if bytes were left unread in the socket). */
        ssize_t n = corio_fd_read(peer, buf, sizeof buf);
        CHECK(n == 0 || n == -ECONNRESET);
        close(peer);
    }
    return 0;
}

TEST(readahead, close_with_armed_receive)
{
    setenv("CORIO_URING_MULTISHOT", "1", 1);
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(tst_run(close_main, NULL), 0);
    tst_leak_check();
}

/* ---- readiness --------------------------------------------------------- */

/* Bytes read ahead are in the loop's buffers, not in the socket, where
 * poll(2) would look: corio_fd_wait must still say readable. */
static int ready_main(void *arg)
{
    (void)arg;
    int fds[2];
    char buf[8];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    CHECK_EQ(write(fds[1], "abc", 3), 3);
    CHECK_EQ(corio__fd_read_ahead(fds[0], buf, 1), 1);
    CHECK_EQ(buf[0], 'a');
    CHECK_EQ(corio_fd_wait(fds[0], CORIO_READABLE), CORIO_READABLE);
    CHECK_EQ(corio__fd_read_ahead(fds[0], buf, sizeof buf), 2);
    CHECK_MEM(buf, "bc", 2);
    CHECK_EQ(close(fds[1]), 0);
    CHECK_EQ(corio__fd_read_ahead(fds[0], buf, sizeof buf), 0);
    CHECK_EQ(corio_fd_close(fds[0]), 0);
    return 0;
}

TEST(readahead, queued_bytes_make_the_fd_readable)
{
    setenv("CORIO_URING_MULTISHOT", "1", 1);
    CHECK_EQ(tst_run(ready_main, NULL), 0);
    tst_leak_check();
}

/* ---- fallback ------------------------------------------------------------ */

TEST(readahead, forced_fallback_single_shot)
{
    setenv("CORIO_URING_MULTISHOT", "0", 1);
    CHECK_EQ(tst_run(order_main, NULL), 0);
    CHECK_EQ(tst_run(cancelled_main, NULL), 0);
    tst_leak_check();
}
