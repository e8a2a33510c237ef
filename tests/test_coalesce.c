/* test_coalesce.c — write coalescing per loop turn (corio_stream_flush on
 * sockets, stream/stream.c "coalescing"), on the virtual clock.
 *
 * Parts:
 *   one send per turn   many write+flush pairs in one turn leave in one
 *                       send(2), counted through the syscall table, and
 *                       only once the task waits on something else.
 *   the flusher         what the kernel does not take at the end of the
 *                       turn is written in the background while the task
 *                       waits elsewhere; writing calls wait for it (and can
 *                       be cancelled meanwhile, losing nothing); close lets
 *                       it finish.
 *   errors              a deferred write that fails makes the next flush
 *                       report the error; a peer that resets while the
 *                       flusher writes wakes a parked reader with it.
 *   close and cancel    a close interrupts a write waiting for the
 *                       flusher, which still delivers; a cancel sweep
 *                       across write and flush: every accepted byte
 *                       arrives once and in order, or the last flush
 *                       reports an error (and a prefix arrived).
 *   the fallback        pipes (no try_write) are flushed at once, as are
 *                       streams whose buffer is past write_buffer. */
#include "tst.h"
#include "os/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sends; /* send(2) calls made through the table */
static ssize_t (*real_sendto)(int, const void *, size_t, int,
                              const struct sockaddr *, socklen_t);

static ssize_t count_sendto(int fd, const void *buf, size_t n, int flags,
                            const struct sockaddr *a, socklen_t len)
{
    sends++;
    return real_sendto(fd, buf, n, flags, a, len);
}

static void count_sends(void)
{
    real_sendto = corio__sys.sendto;
    corio__sys.sendto = count_sendto;
    sends = 0;
}

/* A socketpair: *w is a stream over one end, *peer the raw other end. */
static void sock_pair(corio_stream **w, int *peer, const corio_stream_opts *o,
                      int sndbuf)
{
    int fds[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    if (sndbuf) {
        setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf);
    }
    CHECK_EQ(corio_stream_from_fd(w, fds[0], o), 0);
    *peer = fds[1];
}

/* Read exactly n bytes from a raw descriptor with corio_fd_read. */
static void read_all(int fd, unsigned char *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = corio_fd_read(fd, buf + got, n - got);
        CHECK(k > 0);
        got += (size_t)k;
    }
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131 % 251);
}

/* ---- many flushes in one turn, one send --------------------------------- */

static int one_send_main(void *arg)
{
    (void)arg;
    corio_stream *w;
    int peer;
    unsigned char msg[512], got[10 * 512];
    sock_pair(&w, &peer, NULL, 0);
    count_sends();
    for (int i = 0; i < 10; i++) {
        memset(msg, 'a' + i, sizeof msg);
        CHECK_EQ(corio_stream_write(w, msg, sizeof msg), 0);
        CHECK_EQ(corio_stream_flush(w), 0);
    }
    CHECK_EQ(sends, 0); /* not yet: the loop writes before it polls */
    CHECK_EQ(recv(peer, got, sizeof got, MSG_DONTWAIT), -1);
    /* Waiting on something else (here the clock) ends the turn. */
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(sends, 1);
    CHECK_EQ(recv(peer, got, sizeof got, MSG_DONTWAIT), (ssize_t)sizeof got);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(got[i * 512 + 511], 'a' + i);
    /* A flush with nothing buffered writes nothing. */
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(sends, 1);
    corio_stream_close(w);
    close(peer);
    return 0;
}

TEST(coalesce, many_flushes_in_a_turn_are_one_send)
{
    CHECK_EQ(tst_run(one_send_main, NULL), 0);
    tst_leak_check();
}

/* Tasks that flush in the same turn share the turn's end: one send each,
 * all before the loop polls. */
static int replier(void *arg)
{
    corio_stream *w = arg;
    for (int i = 0; i < 3; i++)
        if (corio_stream_write(w, "x", 1) < 0 || corio_stream_flush(w) < 0)
            return -1;
    return 0;
}

static int many_streams_main(void *arg)
{
    (void)arg;
    enum { N = 8 };
    corio_stream *w[N];
    int peer[N];
    corio_task *t[N];
    char buf[8];
    for (int i = 0; i < N; i++)
        sock_pair(&w[i], &peer[i], NULL, 0);
    count_sends();
    for (int i = 0; i < N; i++)
        CHECK_EQ(corio_task_spawn(&t[i], replier, w[i]), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(sends, N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(recv(peer[i], buf, sizeof buf, MSG_DONTWAIT), 3);
        corio_stream_close(w[i]);
        close(peer[i]);
    }
    return 0;
}

TEST(coalesce, one_send_per_stream_per_turn)
{
    CHECK_EQ(tst_run(many_streams_main, NULL), 0);
    tst_leak_check();
}

/* ---- the flusher: the kernel buffer is full at the end of the turn ------ */

enum { BIG = 300 * 1024 };

typedef struct drain_peer {
    int fd;
    unsigned char *got;
    size_t n;
} drain_peer;

/* Reads n bytes slowly, so the writer's kernel buffer fills. */
static int slow_peer(void *arg)
{
    drain_peer *d = arg;
    for (size_t at = 0; at < d->n;) {
        if (corio_sleep(CORIO_MS) < 0)
            return -1;
        size_t k = d->n - at < 4096 ? d->n - at : 4096;
        read_all(d->fd, d->got + at, k);
        at += k;
    }
    return 0;
}

static int flusher_main(void *arg)
{
    int mode = *(int *)arg; /* 0: wait elsewhere, 1: write again, 2: close */
    corio_stream_opts o = {.write_buffer = 2 * BIG};
    corio_stream *w;
    int peer;
    unsigned char *data = malloc(2 * BIG);
    for (size_t i = 0; i < 2 * BIG; i++)
        data[i] = pattern(i);
    sock_pair(&w, &peer, &o, 4096);
    CHECK_EQ(corio_stream_write(w, data, BIG), 0);
    CHECK_EQ(corio_stream_flush(w), 0); /* queued, returns at once */
    drain_peer d = {peer, malloc(2 * BIG), mode == 1 ? 2 * BIG : BIG};
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, slow_peer, &d), 0);
    if (mode == 1) {
        /* Behind the flusher: waits for it, then goes on in order. */
        CHECK_EQ(corio_stream_write(w, data + BIG, BIG), 0);
        CHECK_EQ(corio_stream_flush(w), 0);
    }
    if (mode == 2)
        corio_stream_close(w); /* the flusher finishes, then frees it */
    /* Waiting elsewhere: everything reaches the peer meanwhile. */
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK(memcmp(d.got, data, d.n) == 0);
    if (mode == 2) {
        /* Then end of stream: the flusher closed the socket. */
        unsigned char c;
        CHECK_EQ(corio_fd_read(peer, &c, 1), 0);
    } else {
        corio_stream_close(w);
    }
    corio_fd_close(peer);
    free(d.got);
    free(data);
    return 0;
}

TEST(coalesce, flush_then_wait_elsewhere_sends_everything)
{
    int mode = 0;
    CHECK_EQ(tst_run(flusher_main, &mode), 0);
    tst_leak_check();
}

TEST(coalesce, writes_wait_for_the_flusher_in_order)
{
    int mode = 1;
    CHECK_EQ(tst_run(flusher_main, &mode), 0);
    tst_leak_check();
}

TEST(coalesce, close_lets_the_flusher_finish)
{
    int mode = 2;
    CHECK_EQ(tst_run(flusher_main, &mode), 0);
    tst_leak_check();
}

/* A writing call waiting for the flusher is cancelled (its timeout
 * expires): it returns -ETIMEDOUT having taken nothing; the flusher's data
 * and a retried write still arrive, in order. */
static int cancel_main(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.write_buffer = 2 * BIG};
    corio_stream *w;
    int peer;
    unsigned char *data = malloc(BIG + 100);
    for (size_t i = 0; i < BIG + 100; i++)
        data[i] = pattern(i);
    sock_pair(&w, &peer, &o, 4096);
    CHECK_EQ(corio_stream_write(w, data, BIG), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* the flusher starts, blocked */
    CHECK_EQ(corio_timeout_begin(10 * CORIO_MS), 0);
    CHECK_EQ(corio_stream_write(w, data + BIG, 100), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    drain_peer d = {peer, malloc(BIG + 100), BIG + 100};
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, slow_peer, &d), 0);
    CHECK_EQ(corio_stream_write(w, data + BIG, 100), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK(memcmp(d.got, data, d.n) == 0);
    corio_stream_close(w);
    corio_fd_close(peer);
    free(d.got);
    free(data);
    return 0;
}

TEST(coalesce, cancelled_wait_for_the_flusher_loses_nothing)
{
    CHECK_EQ(tst_run(cancel_main, NULL), 0);
    tst_leak_check();
}

/* ---- errors ---------------------------------------------------------------
 */

static int error_main(void *arg)
{
    (void)arg;
    corio_stream *w;
    int peer;
    sock_pair(&w, &peer, NULL, 0);
    close(peer);
    CHECK_EQ(corio_stream_write(w, "lost", 4), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* the deferred send fails */
    CHECK_EQ(corio_stream_flush(w), -EPIPE);
    CHECK_EQ(corio_stream_write(w, "more", 4), 0);
    CHECK_EQ(corio_stream_flush(w), -EPIPE);
    corio_stream_close(w);
    return 0;
}

TEST(coalesce, deferred_error_is_the_next_flushs)
{
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(tst_run(error_main, NULL), 0);
    tst_leak_check();
}

/* ---- the fallback: flushed at once ----------------------------------------
 */

static int fallback_main(void *arg)
{
    (void)arg;
    int fds[2];
    corio_stream *w;
    char buf[16];
    CHECK_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    CHECK_EQ(corio_stream_from_fd(&w, fds[1], NULL), 0);
    CHECK_EQ(corio_stream_write(w, "pipe", 4), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(read(fds[0], buf, sizeof buf), 4); /* no turn needed */
    corio_stream_close(w);
    close(fds[0]);

    /* A socket stream past its write_buffer (the unsent tail of a large
     * interrupted write is the only way there) is flushed at once too; a
     * plain socket flush within the limit is not. */
    int peer;
    corio_stream_opts o = {.write_buffer = 8};
    sock_pair(&w, &peer, &o, 0);
    count_sends();
    CHECK_EQ(corio_stream_write(w, "12345678", 8), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(sends, 0);
    CHECK_EQ(corio_stream_write(w, "9", 1), 0); /* drains the 8 at once */
    CHECK_EQ(recv(peer, buf, sizeof buf, MSG_DONTWAIT), 8);
    corio_stream_close(w);
    close(peer);
    return 0;
}

TEST(coalesce, pipes_and_full_buffers_flush_at_once)
{
    CHECK_EQ(tst_run(fallback_main, NULL), 0);
    tst_leak_check();
}

/* ---- a peer that resets while the flusher writes ------------------------ */

/* Parked on the stream while the flusher is blocked: the reset reaches it
 * as an error, not as a hang. */
static int reset_reader(void *arg)
{
    unsigned char c;
    return (int)corio_stream_read(arg, &c, 1);
}

static int reset_main(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.write_buffer = 2 * BIG};
    corio_stream *w;
    int peer;
    unsigned char *data = calloc(1, BIG);
    sock_pair(&w, &peer, &o, 4096);
    CHECK_EQ(corio_stream_write(w, data, BIG), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, reset_reader, w), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* the flusher is blocked now */
    /* Closing a Unix socket with unread data resets the connection. */
    CHECK_EQ(corio_fd_close(peer), 0);
    int rrc;
    CHECK_EQ(corio_task_join(rt, &rrc), 0);
    CHECK(rrc == -ECONNRESET || rrc == -EPIPE);
    /* The flusher's failure is the next writing call's. */
    int rc = corio_stream_flush(w);
    CHECK(rc == -EPIPE || rc == -ECONNRESET);
    corio_stream_close(w);
    free(data);
    return 0;
}

TEST(coalesce, peer_reset_mid_flush_is_reported_at_the_next_call)
{
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(tst_run(reset_main, NULL), 0);
    tst_leak_check();
}

/* ---- close while a writing call waits for the flusher ------------------- */

static int late_writer(void *arg)
{
    return corio_stream_write(arg, "late", 4);
}

static int close_waiter_main(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.write_buffer = 2 * BIG};
    corio_stream *w;
    int peer;
    unsigned char *data = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        data[i] = pattern(i);
    sock_pair(&w, &peer, &o, 4096);
    CHECK_EQ(corio_stream_write(w, data, BIG), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* the flusher is blocked now */
    corio_task *wt;
    CHECK_EQ(corio_task_spawn(&wt, late_writer, w), 0);
    CHECK_EQ(corio_yield(), 0); /* it waits for the flusher */
    corio_stream_close(w);
    int wrc;
    CHECK_EQ(corio_task_join(wt, &wrc), 0);
    CHECK_EQ(wrc, -EBADF); /* took nothing */
    /* The flusher still delivers what was flushed, then closes. */
    unsigned char *got = malloc(BIG + 1);
    size_t n = 0;
    ssize_t k;
    while ((k = corio_fd_read(peer, got + n, BIG + 1 - n)) > 0)
        n += (size_t)k;
    CHECK_EQ(k, 0);
    CHECK_EQ(n, (size_t)BIG);
    CHECK(memcmp(got, data, BIG) == 0);
    corio_fd_close(peer);
    free(got);
    free(data);
    return 0;
}

TEST(coalesce, close_interrupts_a_write_waiting_for_the_flusher)
{
    CHECK_EQ(tst_run(close_waiter_main, NULL), 0);
    tst_leak_check();
}

/* ---- a cancellation at every suspension point of write and flush -------- */

/* Byte i of the stream: its 4-byte offset, so a duplicated or skipped
 * piece shows as a wrong offset wherever it lands. */
static unsigned char offset_byte(size_t i)
{
    return (unsigned char)((uint32_t)(i / 4) >> (8 * (i % 4)));
}

enum { CHUNK = 3000, CHUNKS = 12 };

typedef struct sweep_peer {
    int fd;
    unsigned char got[CHUNK * CHUNKS + 1];
    size_t n;
} sweep_peer;

/* Reads slowly until end of stream, so the flusher is under way. */
static int sweep_reader(void *arg)
{
    sweep_peer *p = arg;
    ssize_t k;
    do {
        if (corio_sleep(CORIO_MS) < 0)
            return -1;
        size_t room = sizeof p->got - p->n;
        k = corio_fd_read(p->fd, p->got + p->n, room < 2048 ? room : 2048);
        if (k > 0)
            p->n += (size_t)k;
    } while (k > 0);
    return (int)k;
}

/* Write numbered chunks with a flush after each and a yield (the end of a
 * turn: the flusher takes over, the next write waits for it), until done
 * or cancelled.  Then, shielded, flush once more and close: every byte a
 * write accepted arrives in order, exactly once, unless that last flush
 * reports an error, and then what arrived is an in-order prefix. */
static int sweep_main(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.write_buffer = 8192};
    corio_stream *w;
    int fds[2], sndbuf = 4096, rc = 0, bad = 0;
    static unsigned char data[CHUNK * CHUNKS];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = offset_byte(i);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
        return -errno;
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf);
    if ((rc = corio_stream_from_fd(&w, fds[0], &o)) < 0) {
        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    sweep_peer *p = calloc(1, sizeof *p);
    p->fd = fds[1];
    corio_task *rt;
    if ((rc = corio_task_spawn(&rt, sweep_reader, p)) < 0) {
        corio_stream_close(w);
        close(fds[1]);
        free(p);
        return rc;
    }
    size_t accepted = 0;
    for (int i = 0; i < CHUNKS && rc == 0; i++) {
        rc = corio_stream_write(w, data + accepted, CHUNK);
        if (rc == 0) {
            accepted += CHUNK;
            rc = corio_stream_flush(w);
        }
        if (rc == 0)
            rc = corio_yield();
    }
    int shield_rc, last = 0, rrc = 0;
    CORIO_WITH_SHIELD(shield_rc)
    {
        last = corio_stream_flush(w);
        corio_stream_close(w);
        if (corio_task_join(rt, &rrc) < 0)
            rrc = -1;
    }
    if (shield_rc < 0 || rrc < 0 || p->n > accepted ||
        memcmp(p->got, data, p->n) != 0 || (last == 0 && p->n != accepted))
        bad = 1;
    corio_fd_close(fds[1]);
    free(p);
    return bad ? 1 : rc;
}

TEST_T(coalesce, cancel_sweep_write_and_flush_lose_and_repeat_nothing, 120)
{
    CHECK_EQ(corio_test_cancel_sweep(sweep_main, NULL), 0);
}
