/* test_coop.c — the cooperative budget (core/loop.h, design.md): an
 * operation that completes without waiting still succeeds, but at most
 * CORIO__COOP_BUDGET in a row; the next passes a checkpoint where a pending
 * cancellation or expired deadline is delivered, or the task yields. */
#include "tst.h"
#include "core/loop.h" /* CORIO__COOP_BUDGET */

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Data always ready, a deadline already passed: the reads that need no
 * wait succeed until the budget is spent, then the deadline arrives. */
static int expired_scope_main(void *arg)
{
    int use_fd = *(int *)arg;
    corio_stream *a, *b;
    int sv[2] = {-1, -1};
    if (use_fd) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        CHECK_EQ(corio_stream_from_fd(&a, sv[0], NULL), 0);
        CHECK_EQ(corio_stream_from_fd(&b, sv[1], NULL), 0);
    } else {
        /* A one-byte read buffer: every read reaches the transport (reads
         * served from a stream's own buffer spend no budget). */
        corio_stream_opts so = {.read_buffer = 1};
        CHECK_EQ(corio_stream_pair_ex(&a, &b, 1 << 20, &so), 0);
    }
    static char big[64 << 10];
    memset(big, 'x', sizeof big);
    CHECK_EQ(corio_stream_write(b, big, sizeof big), 0);
    CHECK_EQ(corio_stream_flush(b), 0);
    /* A socket's flush is sent when the turn ends: end it. */
    CHECK_EQ(corio_sleep(1), 0);
    /* Unbuffered reads: each one reaches the transport. */
    CHECK_EQ(corio_timeout_begin_at(corio_now()), 0);
    int ok = 0, rc = 0;
    char c;
    while (ok < 10000 &&
           (rc = (int)corio_fd_read(use_fd ? sv[0] : -1, &c, 1)) == 1)
        ok++;
    if (!use_fd) { /* a memory pair: through the stream, one byte at a time */
        ok = 0;
        ssize_t n;
        while (ok < 10000 && (n = corio_stream_read(a, &c, 1)) == 1)
            ok++;
        rc = (int)n;
    }
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK(ok > 0);
    CHECK(ok < CORIO__COOP_BUDGET);
    corio_stream_close(a);
    corio_stream_close(b);
    return 0;
}

TEST(coop, ready_fd_reads_meet_an_expired_deadline)
{
    int fd = 1;
    CHECK_EQ(tst_run(expired_scope_main, &fd), 0);
}

TEST(coop, ready_memory_reads_meet_an_expired_deadline)
{
    int fd = 0;
    CHECK_EQ(tst_run(expired_scope_main, &fd), 0);
}

/* A cancellation is delivered the same way. */
static int reader_task(void *arg)
{
    corio_stream *a = arg;
    char c;
    ssize_t n;
    long ok = 0;
    while ((n = corio_stream_read(a, &c, 1)) == 1)
        ok++;
    return n == -ECANCELED && ok > 0 ? 0 : -EPROTO;
}

typedef struct fair {
    long reads_seen; /* the reader's progress when the other task ran */
    int ran;
} fair;

static corio_stream *fair_a;

static int busy_reader(void *arg)
{
    fair *f = arg;
    char c;
    for (long i = 0; i < 4096; i++) {
        if (corio_stream_read(fair_a, &c, 1) != 1)
            return -EIO;
        if (!f->ran)
            f->reads_seen = i + 1;
    }
    return 0;
}

static int other_task(void *arg)
{
    fair *f = arg;
    f->ran = 1;
    return 0;
}

/* A task whose reads never wait does not keep the loop from the others. */
static int fairness_main(void *arg)
{
    (void)arg;
    corio_stream *b;
    corio_stream_opts so = {.read_buffer = 1};
    CHECK_EQ(corio_stream_pair_ex(&fair_a, &b, 1 << 20, &so), 0);
    static char big[8192];
    memset(big, 'y', sizeof big);
    CHECK_EQ(corio_stream_write(b, big, sizeof big), 0);
    CHECK_EQ(corio_stream_flush(b), 0);
    fair f = {0, 0};
    corio_task *t[2];
    CHECK_EQ(corio_task_spawn(&t[0], busy_reader, &f), 0);
    CHECK_EQ(corio_task_spawn(&t[1], other_task, &f), 0);
    CHECK_EQ(corio_gather(t, 2, NULL), 0);
    CHECK_EQ(f.ran, 1);
    CHECK(f.reads_seen < 4096); /* it ran while the reader still read */

    corio_task *r;
    CHECK_EQ(corio_task_spawn(&r, reader_task, fair_a), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(r);
    int res = 1;
    CHECK_EQ(corio_task_join(r, &res), 0);
    CHECK_EQ(res, 0); /* the cancellation came although data was ready */
    corio_stream_close(fair_a);
    corio_stream_close(b);
    return 0;
}

TEST(coop, busy_reader_yields_and_sees_cancellation)
{
    CHECK_EQ(tst_run(fairness_main, NULL), 0);
}

/* corio_fd_wait on a descriptor that is already ready returns at once, but
 * spends the budget like a read: a task looping on it still meets an
 * expired deadline, and the other tasks still run. */
static int ready_waiter(void *arg)
{
    int fd = *(int *)arg;
    long ok = 0;
    int rc;
    while (ok < 100000 && (rc = corio_fd_wait(fd, CORIO_READABLE)) > 0)
        ok++;
    return rc == -ECANCELED && ok > 0 ? 0 : -EPROTO;
}

static int ready_wait_main(void *arg)
{
    (void)arg;
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(write(sv[1], "x", 1), 1); /* sv[0] stays readable */
    CHECK_EQ(corio_timeout_begin_at(corio_now()), 0);
    long ok = 0;
    int rc;
    while (ok < 10000 && (rc = corio_fd_wait(sv[0], CORIO_READABLE)) > 0)
        ok++;
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK(ok > 0);
    CHECK(ok < CORIO__COOP_BUDGET);

    corio_task *w;
    CHECK_EQ(corio_task_spawn(&w, ready_waiter, &sv[0]), 0);
    CHECK_EQ(corio_yield(), 0); /* it is back here only through its budget */
    corio_task_cancel(w);
    int res = 1;
    CHECK_EQ(corio_task_join(w, &res), 0);
    CHECK_EQ(res, 0);
    CHECK_EQ(corio_fd_close(sv[0]), 0);
    CHECK_EQ(close(sv[1]), 0);
    return 0;
}

TEST(coop, ready_fd_waits_meet_a_deadline_and_yield)
{
    CHECK_EQ(tst_run(ready_wait_main, NULL), 0);
}
