/* test_fd.c — waiting on file descriptors: corio_fd_wait/read/write on
 * pipes, sockets, terminals and regular files; parking and waking,
 * cancellation and timeout scopes, short writes, one waiter per direction,
 * ready masks, forget/close, flag restoration, misuse, and I/O polled once
 * per pass of the ready queue. */
#include "tst.h"
#include "core/engine.h" /* which engine a loop uses */
#include "core/loop.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void make_pipe(int p[2])
{
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
}

/* Fill the write end of a non-blocking pipe or socket until it is full;
 * returns how many bytes went in. */
static size_t fill(int fd)
{
    static char junk[65536];
    size_t total = 0;
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK_EQ(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
    for (;;) {
        ssize_t n = write(fd, junk, sizeof junk);
        if (n < 0) {
            CHECK_EQ(errno, EAGAIN);
            break;
        }
        total += (size_t)n;
    }
    return total;
}

static void drain(int fd)
{
    char buf[65536];
    int fl = fcntl(fd, F_GETFL);
    CHECK_EQ(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

/* ---- a read parks on an empty pipe and wakes when another task writes */

typedef struct rw {
    int fd;
    char buf[64];
    ssize_t rc;
    int done;
} rw;

static int reader(void *arg)
{
    rw *r = arg;
    r->rc = corio_fd_read(r->fd, r->buf, sizeof r->buf);
    r->done = 1;
    return r->rc < 0 ? (int)r->rc : 0;
}

static int writer_hello(void *arg)
{
    rw *w = arg;
    w->rc = corio_fd_write(w->fd, "hello", 5);
    w->done = 1;
    return w->rc < 0 ? (int)w->rc : 0;
}

static int read_parks_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    rw r = {.fd = p[0]}, w = {.fd = p[1]};
    corio_task *rt, *wt;
    CHECK_EQ(corio_task_spawn(&rt, reader, &r), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(r.done, 0); /* parked: the pipe is empty */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_task_spawn(&wt, writer_hello, &w), 0);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(corio_task_join(wt, NULL), 0);
    CHECK_EQ(corio_now() - t0, 0);
    CHECK_EQ(r.rc, 5);
    CHECK(memcmp(r.buf, "hello", 5) == 0);
    CHECK_EQ(w.rc, 5);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(fd, read_parks_until_another_task_writes)
{
    CHECK_EQ(tst_run(read_parks_main, NULL), 0);
}

/* ---- a write goes through a full pipe while a reader drains ------------ */

#define BIG (1024 * 1024)

typedef struct bulk {
    int fd;
    unsigned char *buf;
    ssize_t rc;
    size_t got;
    int writer_parked_seen; /* the reader ran while the writer was unfinished */
    int writer_done;
} bulk;

static int bulk_writer(void *arg)
{
    bulk *b = arg;
    b->rc = corio_fd_write(b->fd, b->buf, BIG);
    b->writer_done = 1;
    return 0;
}

static int bulk_reader(void *arg)
{
    bulk *b = arg;
    unsigned char chunk[3000]; /* not a divisor of the pipe size */
    while (b->got < BIG) {
        ssize_t n = corio_fd_read(b->fd, chunk, sizeof chunk);
        CHECK(n > 0);
        if (!b->writer_done)
            b->writer_parked_seen = 1;
        for (ssize_t i = 0; i < n; i++)
            CHECK_EQ(chunk[i], (unsigned char)((b->got + (size_t)i) * 7 % 251));
        b->got += (size_t)n;
    }
    return 0;
}

static int write_full_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
    unsigned char *buf = malloc(BIG);
    CHECK(buf != NULL);
    for (size_t i = 0; i < BIG; i++)
        buf[i] = (unsigned char)(i * 7 % 251);
    bulk w = {.fd = p[1], .buf = buf}, r = {.fd = p[0]};
    corio_task *wt, *rt;
    CHECK_EQ(corio_task_spawn(&wt, bulk_writer, &w), 0);
    CHECK_EQ(corio_task_spawn(&rt, bulk_reader, &r), 0);
    CHECK_EQ(corio_task_join(wt, NULL), 0);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(w.rc, BIG);
    CHECK_EQ(r.got, BIG);
    CHECK(r.writer_parked_seen);
    free(buf);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(fd, write_completes_through_full_pipe)
{
    CHECK_EQ(tst_run(write_full_main, NULL), 0);
}

/* ---- cancelling a parked read / write / wait ---------------------------- */

typedef struct parked {
    int fd;
    int op; /* 0 read, 1 write, 2 wait readable, 3 wait writable */
    ssize_t rc;
    int done;
} parked;

static int parked_op(void *arg)
{
    parked *p = arg;
    char c = 'x';
    switch (p->op) {
    case 0:
        p->rc = corio_fd_read(p->fd, &c, 1);
        break;
    case 1:
        p->rc = corio_fd_write(p->fd, &c, 1);
        break;
    case 2:
        p->rc = corio_fd_wait(p->fd, CORIO_READABLE);
        break;
    default:
        p->rc = corio_fd_wait(p->fd, CORIO_WRITABLE);
        break;
    }
    p->done = 1;
    return 0;
}

static int cancel_parked_main(void *arg)
{
    (void)arg;
    for (int op = 0; op < 4; op++) {
        int p[2];
        make_pipe(p);
        int writing = op == 1 || op == 3;
        int fd = writing ? p[1] : p[0];
        if (writing)
            fill(p[1]);
        parked a = {.fd = fd, .op = op};
        corio_task *t;
        CHECK_EQ(corio_task_spawn(&t, parked_op, &a), 0);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(a.done, 0);
        corio_task_cancel(t);
        int res = 1;
        CHECK_EQ(corio_task_join(t, &res), 0);
        CHECK_EQ(res, 0);
        CHECK_EQ(a.rc, -ECANCELED);

        /* The direction is free again: a new task parks on it (no -EBUSY)
         * and is woken by the peer. */
        parked b = {.fd = fd, .op = op};
        CHECK_EQ(corio_task_spawn(&t, parked_op, &b), 0);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(b.done, 0);
        if (writing)
            drain(p[0]);
        else
            CHECK_EQ(write(p[1], "y", 1), 1);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK_EQ(b.done, 1);
        if (op == 0 || op == 1)
            CHECK_EQ(b.rc, 1);
        else
            CHECK(b.rc > 0 &&
                  (b.rc & (op == 2 ? CORIO_READABLE : CORIO_WRITABLE)));
        CHECK_EQ(corio_fd_close(p[0]), 0);
        CHECK_EQ(corio_fd_close(p[1]), 0);
    }
    return 0;
}

TEST(fd, cancel_parked_read_write_wait)
{
    CHECK_EQ(tst_run(cancel_parked_main, NULL), 0);
}

/* Cancelled before it waits, a read of data already buffered succeeds. */
static int cancelled_reads_buffered(void *arg)
{
    int fd = *(int *)arg;
    corio_task_cancel(corio_task_current());
    char buf[8];
    CHECK_EQ(corio_fd_read(fd, buf, sizeof buf), 3);
    CHECK_EQ(corio_fd_read(fd, buf, sizeof buf), -ECANCELED); /* now empty */
    CHECK_EQ(corio_fd_wait(fd, CORIO_READABLE), -ECANCELED);
    return 0;
}

static int cancelled_read_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    CHECK_EQ(write(p[1], "abc", 3), 3);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, cancelled_reads_buffered, &p[0]), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(fd, cancelled_task_still_reads_buffered_data)
{
    CHECK_EQ(tst_run(cancelled_read_main, NULL), 0);
}

/* ---- a write interrupted after partial progress returns the short count */

static int short_write_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    size_t cap = fill(p[1]);
    drain(p[0]);
    /* Leave a part of the pipe free. */
    static char big[1 << 20];
    size_t pre = cap / 2;
    CHECK_EQ(write(p[1], big, pre), (ssize_t)pre);

    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(2 * CORIO_SECOND), 0);
    ssize_t n = corio_fd_write(p[1], big, sizeof big);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    CHECK(n > 0);
    CHECK(n < (ssize_t)sizeof big);
    int queued = 0;
    CHECK_EQ(ioctl(p[0], FIONREAD, &queued), 0);
    CHECK_EQ((size_t)queued, pre + (size_t)n); /* exactly what was reported */

    /* No progress at all: the error itself. */
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_fd_write(p[1], big, sizeof big), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(fd, interrupted_write_returns_short_count)
{
    CHECK_EQ(tst_run(short_write_main, NULL), 0);
}

typedef struct cw {
    int fd;
    ssize_t rc;
} cw;

static int cancelled_writer(void *arg)
{
    cw *c = arg;
    static char big[1 << 20];
    c->rc = corio_fd_write(c->fd, big, sizeof big);
    return 0;
}

static int short_write_cancel_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    cw c = {.fd = p[1]};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, cancelled_writer, &c), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    int queued = 0;
    CHECK_EQ(ioctl(p[0], FIONREAD, &queued), 0);
    CHECK(queued > 0);
    CHECK_EQ(c.rc, queued);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(fd, cancelled_write_returns_short_count)
{
    CHECK_EQ(tst_run(short_write_cancel_main, NULL), 0);
}

/* ---- one waiter per direction ------------------------------------------ */

static int busy_main(void *arg)
{
    (void)arg;
    int s[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
    parked a = {.fd = s[0], .op = 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, parked_op, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(a.done, 0);
    char c;
    CHECK_EQ(corio_fd_read(s[0], &c, 1), -EBUSY);
    CHECK_EQ(corio_fd_wait(s[0], CORIO_READABLE), -EBUSY);

    /* The other direction of the same fd is free: a writer parks beside
     * the reader, and a second writer is refused. */
    fill(s[0]);
    /* Both directions asked while one is taken (and nothing is ready). */
    CHECK_EQ(corio_fd_wait(s[0], CORIO_READABLE | CORIO_WRITABLE), -EBUSY);
    parked w = {.fd = s[0], .op = 1};
    corio_task *wt;
    CHECK_EQ(corio_task_spawn(&wt, parked_op, &w), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(w.done, 0);
    CHECK_EQ(corio_fd_write(s[0], "z", 1), -EBUSY);
    CHECK_EQ(corio_fd_wait(s[0], CORIO_WRITABLE), -EBUSY);

    /* The peer writes and drains: both wake. */
    CHECK_EQ(write(s[1], "q", 1), 1);
    drain(s[1]);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_task_join(wt, NULL), 0);
    CHECK_EQ(a.rc, 1);
    CHECK_EQ(w.rc, 1);
    corio_fd_close(s[0]);
    corio_fd_close(s[1]);
    return 0;
}

TEST(fd, second_waiter_same_direction_gets_ebusy)
{
    CHECK_EQ(tst_run(busy_main, NULL), 0);
}

/* ---- corio_fd_wait returns the ready mask ------------------------------- */

static int mask_main(void *arg)
{
    (void)arg;
    int p[2], s[2];
    make_pipe(p);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);

    /* An empty pipe's write end is writable. */
    CHECK_EQ(corio_fd_wait(p[1], CORIO_WRITABLE), CORIO_WRITABLE);
    /* Data in the pipe: the read end is readable. */
    CHECK_EQ(write(p[1], "a", 1), 1);
    CHECK_EQ(corio_fd_wait(p[0], CORIO_READABLE), CORIO_READABLE);
    /* A socket with data and room reports both when both are asked... */
    CHECK_EQ(write(s[1], "b", 1), 1);
    CHECK_EQ(corio_fd_wait(s[0], CORIO_READABLE | CORIO_WRITABLE),
             CORIO_READABLE | CORIO_WRITABLE);
    /* ...and with nothing to read, only writable. */
    int s2[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s2), 0);
    CHECK_EQ(corio_fd_wait(s2[0], CORIO_READABLE | CORIO_WRITABLE),
             CORIO_WRITABLE);
    CHECK_EQ(corio_fd_wait(s2[0], 0), -EINVAL);

    /* A wait that parks returns the mask it was woken with. */
    parked a = {.fd = s2[0], .op = 2};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, parked_op, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(a.done, 0);
    CHECK_EQ(write(s2[1], "c", 1), 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK(a.rc > 0);
    CHECK(a.rc & CORIO_READABLE);
    CHECK_EQ(a.rc & ~(CORIO_READABLE | CORIO_WRITABLE), 0);

    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    corio_fd_close(s[0]);
    corio_fd_close(s[1]);
    corio_fd_close(s2[0]);
    corio_fd_close(s2[1]);
    return 0;
}

TEST(fd, wait_returns_ready_mask)
{
    CHECK_EQ(tst_run(mask_main, NULL), 0);
}

static int closer(void *arg)
{
    int fd = *(int *)arg;
    CHECK_EQ(close(fd), 0);
    return 0;
}

static int hangup_main(void *arg)
{
    (void)arg;
    /* Already hung up: ready at once. */
    int p[2];
    make_pipe(p);
    CHECK_EQ(close(p[1]), 0);
    int m = corio_fd_wait(p[0], CORIO_READABLE);
    CHECK(m > 0 && (m & CORIO_READABLE));
    char c;
    CHECK_EQ(corio_fd_read(p[0], &c, 1), 0); /* end of file */
    corio_fd_close(p[0]);

    /* Hung up while parked: the reader wakes. */
    make_pipe(p);
    parked a = {.fd = p[0], .op = 2};
    corio_task *t, *ct;
    CHECK_EQ(corio_task_spawn(&t, parked_op, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(a.done, 0);
    CHECK_EQ(corio_task_spawn(&ct, closer, &p[1]), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_task_join(ct, NULL), 0);
    CHECK(a.rc > 0 && (a.rc & CORIO_READABLE));
    corio_fd_close(p[0]);

    /* The reader goes away while a writer waits on a full pipe: the writer
     * wakes (error condition: both directions ready) and its write fails
     * with -EPIPE. */
    make_pipe(p);
    fill(p[1]);
    parked w = {.fd = p[1], .op = 3};
    CHECK_EQ(corio_task_spawn(&t, parked_op, &w), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(w.done, 0);
    CHECK_EQ(corio_task_spawn(&ct, closer, &p[0]), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_task_join(ct, NULL), 0);
    CHECK(w.rc > 0 && (w.rc & CORIO_WRITABLE));
    CHECK_EQ(corio_fd_write(p[1], "x", 1), -EPIPE);
    corio_fd_close(p[1]);

    /* Socket peer closed: both directions report ready. */
    int s[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
    CHECK_EQ(close(s[1]), 0);
    m = corio_fd_wait(s[0], CORIO_READABLE);
    CHECK(m & CORIO_READABLE);
    corio_fd_close(s[0]);
    return 0;
}

TEST(fd, hangup_reports_ready)
{
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(tst_run(hangup_main, NULL), 0);
}

/* ---- regular files: plain calls, always ready ---------------------------- */

static int file_main(void *arg)
{
    FILE *f = arg;
    int fd = fileno(f);
    int fl0 = fcntl(fd, F_GETFL);
    static char out[200000], in[200000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i % 253);
    CHECK_EQ(corio_fd_wait(fd, CORIO_READABLE), CORIO_READABLE);
    CHECK_EQ(corio_fd_wait(fd, CORIO_WRITABLE), CORIO_WRITABLE);
    CHECK_EQ(corio_fd_wait(fd, CORIO_READABLE | CORIO_WRITABLE),
             CORIO_READABLE | CORIO_WRITABLE);
    CHECK_EQ(corio_fd_write(fd, out, sizeof out), (ssize_t)sizeof out);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    size_t got = 0;
    for (;;) {
        ssize_t n = corio_fd_read(fd, in + got, sizeof in - got);
        CHECK(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    CHECK_EQ(got, sizeof out);
    CHECK(memcmp(in, out, sizeof out) == 0);
    /* At end of file a read returns 0 at once, it does not park. */
    CHECK_EQ(corio_fd_read(fd, in, 10), 0);
    /* Regular files are not switched to non-blocking. */
    CHECK_EQ(fcntl(fd, F_GETFL), fl0);
    CHECK_EQ(corio_fd_forget(fd), 0);
    return 0;
}

TEST(fd, regular_file_read_write_always_ready)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK_EQ(tst_run(file_main, f), 0);
    fclose(f);
}

/* ---- terminals ----------------------------------------------------------- */

typedef struct tty {
    int master, slave;
    char got[16];
    ssize_t rc;
} tty;

static int tty_reader(void *arg)
{
    tty *t = arg;
    size_t got = 0;
    while (got < 3) {
        ssize_t n = corio_fd_read(t->slave, t->got + got, sizeof t->got - got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    t->rc = (ssize_t)got;
    return 0;
}

static int tty_main(void *arg)
{
    tty *t = arg;
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, tty_reader, t), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(t->rc, 0); /* parked on the silent terminal */
    CHECK(fcntl(t->slave, F_GETFL) & O_NONBLOCK);
    CHECK_EQ(corio_fd_write(t->master, "abc", 3), 3);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(t->rc, 3);
    CHECK(memcmp(t->got, "abc", 3) == 0);

    /* The other way: the slave writes, the master reads (parks first). */
    char buf[16];
    size_t got = 0;
    CHECK_EQ(corio_fd_write(t->slave, "xyz", 3), 3);
    while (got < 3) {
        ssize_t n = corio_fd_read(t->master, buf + got, sizeof buf - got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    CHECK(memcmp(buf, "xyz", 3) == 0);
    return 0;
}

TEST(fd, terminal_read_write)
{
    tty t = {0};
    t.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(t.master >= 0);
    CHECK_EQ(grantpt(t.master), 0);
    CHECK_EQ(unlockpt(t.master), 0);
    const char *name = ptsname(t.master);
    CHECK(name != NULL);
    t.slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(t.slave >= 0);
    struct termios tio;
    CHECK_EQ(tcgetattr(t.slave, &tio), 0);
    cfmakeraw(&tio); /* no echo, no line buffering */
    CHECK_EQ(tcsetattr(t.slave, TCSANOW, &tio), 0);
    CHECK_EQ(tst_run(tty_main, &t), 0);
    /* Both were blocking before the run, and are again. */
    CHECK_EQ(fcntl(t.slave, F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(fcntl(t.master, F_GETFL) & O_NONBLOCK, 0);
    close(t.slave);
    close(t.master);
}

/* ---- socketpair -----------------------------------------------------------
 */

typedef struct sock_side {
    int fd;
    size_t n;
    unsigned char seed;
} sock_side;

/* Each side writes n bytes and reads n bytes concurrently, through a
 * reader task and a writer task on the same descriptor. */
static int sock_write(void *arg)
{
    sock_side *s = arg;
    unsigned char *buf = malloc(s->n);
    CHECK(buf != NULL);
    for (size_t i = 0; i < s->n; i++)
        buf[i] = (unsigned char)(s->seed + i);
    CHECK_EQ(corio_fd_write(s->fd, buf, s->n), (ssize_t)s->n);
    free(buf);
    return 0;
}

static int sock_read(void *arg)
{
    sock_side *s = arg;
    unsigned char buf[4096];
    size_t got = 0;
    while (got < s->n) {
        ssize_t n = corio_fd_read(s->fd, buf, sizeof buf);
        CHECK(n > 0);
        for (ssize_t i = 0; i < n; i++)
            CHECK_EQ(buf[i], (unsigned char)(s->seed + got + (size_t)i));
        got += (size_t)n;
    }
    return 0;
}

static int socketpair_main(void *arg)
{
    (void)arg;
    int s[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
    const size_t n = 4 * 1024 * 1024; /* far beyond the socket buffers */
    sock_side w0 = {s[0], n, 11}, r1 = {s[1], n, 11};
    sock_side w1 = {s[1], n, 99}, r0 = {s[0], n, 99};
    corio_task *t[4];
    CHECK_EQ(corio_task_spawn(&t[0], sock_write, &w0), 0);
    CHECK_EQ(corio_task_spawn(&t[1], sock_write, &w1), 0);
    CHECK_EQ(corio_task_spawn(&t[2], sock_read, &r0), 0);
    CHECK_EQ(corio_task_spawn(&t[3], sock_read, &r1), 0);
    int res[4];
    CHECK_EQ(corio_gather(t, 4, res), 0);
    corio_fd_close(s[0]);
    corio_fd_close(s[1]);
    return 0;
}

TEST(fd, socketpair_both_directions)
{
    CHECK_EQ(tst_run(socketpair_main, NULL), 0);
}

/* ---- a deadline around a wait on a silent peer ----------------------------
 */

/* On the virtual clock nothing from outside the loop moves time, so a wait
 * on a peer that stays silent times out at once, however long the deadline
 * (documented behaviour: the virtual clock is for tests). */
static int silent_peer_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    int64_t r0 = tst_real_ns();
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(3600 * CORIO_SECOND), 0);
    CHECK_EQ(corio_fd_wait(p[0], CORIO_READABLE), -ETIMEDOUT);
    char c;
    CHECK_EQ(corio_fd_read(p[0], &c, 1), -ETIMEDOUT); /* level-triggered */
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 3600 * CORIO_SECOND);
    CHECK(tst_real_ns() - r0 <
          600 * CORIO_SECOND); /* not an hour of real time */
    /* After the scope the fd works normally again. */
    CHECK_EQ(write(p[1], "k", 1), 1);
    CHECK_EQ(corio_fd_read(p[0], &c, 1), 1);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(fd, silent_peer_times_out_at_once_on_virtual_clock)
{
    CHECK_EQ(tst_run(silent_peer_main, NULL), 0);
}

/* Ready I/O holds the virtual clock: a reader whose data is already there
 * wakes before time jumps to the next timer. */
typedef struct vio {
    int fd;
    int64_t t0, woke_at;
} vio;

static int vio_reader(void *arg)
{
    vio *v = arg;
    char c;
    CHECK_EQ(corio_fd_read(v->fd, &c, 1), 1);
    v->woke_at = corio_now();
    return 0;
}

static int vio_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    vio v = {.fd = p[0]};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, vio_reader, &v), 0);
    CHECK_EQ(corio_yield(), 0); /* the reader parks */
    v.t0 = corio_now();
    CHECK_EQ(write(p[1], "r", 1), 1);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(corio_now() - v.t0, CORIO_SECOND);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(v.woke_at - v.t0, 0); /* not after the 1 s jump */
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(fd, ready_io_holds_the_virtual_clock)
{
    CHECK_EQ(tst_run(vio_main, NULL), 0);
}

/* ---- corio_fd_forget / corio_fd_close -------------------------------------
 */

static int forget_main(void *arg)
{
    (void)arg;
    int p[2];
    make_pipe(p);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    parked a = {.fd = p[0], .op = 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, parked_op, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK); /* switched while watched */

    CHECK_EQ(corio_fd_forget(p[0]), -EBUSY);
    CHECK_EQ(corio_fd_close(p[0]), -EBUSY);
    CHECK(fcntl(p[0], F_GETFD) >= 0); /* not closed */

    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);

    CHECK_EQ(corio_fd_forget(p[0]), 0);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0); /* restored */
    CHECK_EQ(corio_fd_forget(p[0]), 0);             /* not watched: no-op */
    CHECK_EQ(corio_fd_forget(p[1]), 0);             /* never watched */

    /* Forgotten, the fd can be used again. */
    CHECK_EQ(write(p[1], "m", 1), 1);
    char c;
    CHECK_EQ(corio_fd_read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'm');

    CHECK_EQ(corio_fd_close(p[0]), 0);
    CHECK(fcntl(p[0], F_GETFD) < 0 && errno == EBADF);
    CHECK_EQ(corio_fd_close(p[0]), -EBADF);

    /* A new descriptor given the same number is watched afresh. */
    int q[2];
    make_pipe(q);
    CHECK_EQ(q[0], p[0]);
    parked b = {.fd = q[0], .op = 0};
    CHECK_EQ(corio_task_spawn(&t, parked_op, &b), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(b.done, 0);
    CHECK_EQ(write(q[1], "n", 1), 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(b.rc, 1);

    CHECK_EQ(corio_fd_close(q[0]), 0);
    CHECK_EQ(corio_fd_close(q[1]), 0);
    CHECK_EQ(corio_fd_close(p[1]), 0);
    return 0;
}

TEST(fd, forget_and_close)
{
    CHECK_EQ(tst_run(forget_main, NULL), 0);
}

/* ---- descriptors with large numbers, while another task is parked -------- */

/* The loop keeps per-descriptor records in an array indexed by fd that grows
 * on demand; a task parked on a low fd must survive that growth: it can be
 * cancelled cleanly (the direction is free again afterwards) and woken. */
static int high_fd(void)
{
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 5000 && rl.rlim_max >= 5000) {
        rl.rlim_cur = 5000;
        CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    return rl.rlim_cur >= 5000 ? 4900 : (int)rl.rlim_cur - 1;
}

static int growth_main(void *arg)
{
    (void)arg;
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    int hi = high_fd();
    CHECK(hi > 256);

    /* A parks on p[0]; the record array then grows for fd `hi`. */
    parked a = {.fd = p[0], .op = 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, parked_op, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(a.done, 0);
    CHECK_EQ(dup3(q[1], hi, O_CLOEXEC), hi);
    CHECK_EQ(corio_fd_wait(hi, CORIO_WRITABLE), CORIO_WRITABLE);
    CHECK_EQ(corio_fd_write(hi, "h", 1), 1);
    char c;
    CHECK_EQ(corio_fd_read(q[0], &c, 1), 1);

    /* Cancelled after the growth: the read direction of p[0] is free. */
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    parked b = {.fd = p[0], .op = 0};
    CHECK_EQ(corio_task_spawn(&t, parked_op, &b), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(b.rc, 0); /* not -EBUSY */
    CHECK_EQ(b.done, 0);
    CHECK_EQ(corio_fd_forget(p[0]), -EBUSY); /* b is parked on it */

    /* Woken after another growth. */
    int hi2 = hi + 50 < 5000 ? hi + 50 : hi - 1;
    CHECK_EQ(dup3(q[1], hi2, O_CLOEXEC), hi2);
    CHECK_EQ(corio_fd_wait(hi2, CORIO_WRITABLE), CORIO_WRITABLE);
    CHECK_EQ(write(p[1], "w", 1), 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(b.rc, 1);
    CHECK_EQ(corio_fd_forget(p[0]), 0); /* nobody waits any more */

    corio_fd_close(hi);
    corio_fd_close(hi2);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    corio_fd_close(q[0]);
    corio_fd_close(q[1]);
    return 0;
}

TEST(fd, parked_task_survives_record_growth)
{
    CHECK_EQ(tst_run(growth_main, NULL), 0);
}

/* A writer that parks, is woken, and parks again on the same fd after the
 * record array grew in between.  A deadline (virtual: it fires at once if
 * everything is stuck) turns a lost wake-up into a failure, not a hang. */
static int growth_write_main(void *arg)
{
    (void)arg;
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
    int hi = high_fd();
    unsigned char *buf = calloc(1, BIG);
    CHECK(buf != NULL);
    bulk w = {.fd = p[1], .buf = buf};
    corio_task *wt;
    CHECK_EQ(corio_task_spawn(&wt, bulk_writer, &w), 0);
    CHECK_EQ(corio_yield(), 0); /* the writer fills the pipe and parks */
    CHECK_EQ(w.writer_done, 0);
    CHECK_EQ(dup3(q[1], hi, O_CLOEXEC), hi);
    CHECK_EQ(corio_fd_wait(hi, CORIO_WRITABLE), CORIO_WRITABLE); /* growth */

    CHECK_EQ(corio_timeout_begin(60 * CORIO_SECOND), 0);
    static unsigned char chunk[8192];
    size_t got = 0;
    while (got < BIG) {
        ssize_t n = corio_fd_read(p[0], chunk, sizeof chunk);
        CHECK_EQ(n > 0 ? 1 : n, 1); /* -ETIMEDOUT: the writer was lost */
        got += (size_t)n;
    }
    CHECK_EQ(corio_timeout_end(), 0);
    CHECK_EQ(corio_task_join(wt, NULL), 0);
    CHECK_EQ(w.rc, BIG);
    free(buf);
    corio_fd_close(hi);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    corio_fd_close(q[0]);
    corio_fd_close(q[1]);
    return 0;
}

TEST(fd, parked_writer_survives_record_growth)
{
    CHECK_EQ(tst_run(growth_write_main, NULL), 0);
}

/* ---- O_NONBLOCK is restored after the run ----------------------------------
 */

static int touch_fds(void *arg)
{
    int *fds = arg;
    char c;
    CHECK_EQ(corio_fd_write(fds[1], "a", 1), 1);
    CHECK_EQ(corio_fd_read(fds[0], &c, 1), 1);
    CHECK_EQ(corio_fd_write(fds[3], "b", 1), 1);
    CHECK_EQ(corio_fd_read(fds[2], &c, 1), 1);
    for (int i = 0; i < 4; i++)
        CHECK(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
    return 0;
}

TEST(fd, nonblock_restored_after_run)
{
    int fds[4];
    CHECK_EQ(pipe2(fds, O_CLOEXEC), 0);                  /* blocking */
    CHECK_EQ(pipe2(fds + 2, O_CLOEXEC | O_NONBLOCK), 0); /* non-blocking */
    CHECK_EQ(tst_run(touch_fds, fds), 0);
    CHECK_EQ(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
    CHECK(fcntl(fds[2], F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(fds[3], F_GETFL) & O_NONBLOCK);
    /* The descriptor works as a plain blocking pipe again. */
    CHECK_EQ(write(fds[1], "z", 1), 1);
    char c;
    CHECK_EQ(read(fds[0], &c, 1), 1);
}

/* A descriptor left parked when main returns is restored too. */
static int leave_parked(void *arg)
{
    int *p = arg;
    parked *a = malloc(sizeof *a);
    *a = (parked){.fd = p[0], .op = 0};
    CHECK_EQ(corio_task_spawn(NULL, parked_op, a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    return 0;
}

TEST(fd, nonblock_restored_when_waiter_cancelled_at_exit)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(tst_run(leave_parked, p), 0);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

/* ---- misuse
 * ------------------------------------------------------------------ */

static int bad_fd_main(void *arg)
{
    (void)arg;
    char c;
    CHECK_EQ(corio_fd_read(-1, &c, 1), -EBADF);
    CHECK_EQ(corio_fd_write(-1, &c, 1), -EBADF);
    CHECK_EQ(corio_fd_wait(-1, CORIO_READABLE), -EBADF);
    CHECK_EQ(corio_fd_wait(1000, CORIO_READABLE), -EBADF); /* not open */
    return 0;
}

TEST(fd, bad_descriptor)
{
    CHECK_EQ(tst_run(bad_fd_main, NULL), 0);
}

TEST(fd, eperm_outside_loop)
{
    int p[2];
    char c = 'x';
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(corio_fd_read(p[0], &c, 1), -EPERM);
    CHECK_EQ(corio_fd_write(p[1], &c, 1), -EPERM);
    CHECK_EQ(corio_fd_wait(p[0], CORIO_READABLE), -EPERM);
    CHECK_EQ(corio_fd_forget(p[0]), -EPERM);
    /* Nothing was done to the descriptors. */
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    int queued = -1;
    CHECK_EQ(ioctl(p[0], FIONREAD, &queued), 0);
    CHECK_EQ(queued, 0);
}

/* ---- I/O is polled at least once per pass
 * ------------------------------------ */

#define YIELD_LIMIT 1000000

typedef struct starve {
    int p[2];
    int woken;
    long yields_at_wake;
    int yielder_done;
    long yields;
} starve;

static int st_yielder(void *arg)
{
    starve *s = arg;
    while (!s->woken) {
        CHECK(s->yields < YIELD_LIMIT); /* I/O was starved */
        CHECK_EQ(corio_yield(), 0);
        s->yields++;
    }
    s->yielder_done = 1;
    return 0;
}

static int st_waiter(void *arg)
{
    starve *s = arg;
    char c;
    CHECK_EQ(corio_fd_read(s->p[0], &c, 1), 1);
    s->woken = 1;
    s->yields_at_wake = s->yields;
    CHECK_EQ(s->yielder_done, 0);
    return 0;
}

static int st_writer(void *arg)
{
    starve *s = arg;
    CHECK_EQ(corio_yield(), 0); /* the waiter has parked by now */
    CHECK_EQ(corio_fd_write(s->p[1], "w", 1), 1);
    return 0;
}

static int starve_main(void *arg)
{
    (void)arg;
    starve s = {0};
    make_pipe(s.p);
    corio_task *t[3];
    CHECK_EQ(corio_task_spawn(&t[0], st_waiter, &s), 0);
    CHECK_EQ(corio_task_spawn(&t[1], st_yielder, &s), 0);
    CHECK_EQ(corio_task_spawn(&t[2], st_writer, &s), 0);
    CHECK_EQ(corio_gather(t, 3, NULL), 0);
    CHECK(s.woken);
    CHECK(s.yields_at_wake < YIELD_LIMIT);
    corio_fd_close(s.p[0]);
    corio_fd_close(s.p[1]);
    return 0;
}

TEST(fd, io_polled_while_a_task_keeps_yielding)
{
    CHECK_EQ(tst_run(starve_main, NULL), 0);
}

/* The same on the real clock. */
TEST(fd, io_polled_while_yielding_real_clock)
{
    corio_options o = {.virtual_clock = 0};
    CHECK_EQ(tst_run_ex(&o, starve_main, NULL), 0);
}

/* ---- regressions found in code review ---------------------------------- */

/* io_uring engine: a socket read or write of n >= 4 GiB.  The SQE's
 * length is 32 bits (io_uring_prep_recv/send take an unsigned), so
 * n = 4 GiB becomes 0: the read returns 0, which reads as end of file
 * although data is waiting, and corio_fd_write's loop sends 0 bytes
 * forever without ever suspending (nor seeing its deadline).  read(2) and
 * write(2) clamp the count instead; so must the engine (to INT_MAX). */

static int huge_io_main(void *arg)
{
    (void)arg;
    if (strcmp(corio__cur->engine->name, "io_uring") != 0)
        return 0; /* epoll: plain read(2)/write(2) clamp the count */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    size_t big = (size_t)1 << 32;
    char *buf = mmap(NULL, big, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(buf != MAP_FAILED);
    CHECK_EQ(corio_fd_write(sv[0], "hello", 5), 5);
    CHECK_EQ(corio_fd_read(sv[1], buf, big), 5); /* not 0 ("end of file") */
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    ssize_t put = corio_fd_write(sv[0], buf, big); /* fills the socket */
    corio_timeout_end();
    CHECK(put > 0 && (size_t)put < big);
    munmap(buf, big);
    corio_fd_close(sv[0]);
    corio_fd_close(sv[1]);
    return 0;
}

TEST_T(fd, uring_socket_io_of_4_gib_is_clamped, 10)
{
    CHECK_EQ(tst_run(huge_io_main, NULL), 0);
}

/* ---- epoll: after a short read, the next read parks first --------------- */

/* Calls on the descriptor under test through the syscall table: read(2)
 * and recv(2) (sockets are read with recv, which skips the VFS). */
static int counted_fd = -1, reads, recvs;
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
                                socklen_t *);

static ssize_t count_read(int fd, void *buf, size_t n)
{
    reads += fd == counted_fd;
    return real_read(fd, buf, n);
}

static ssize_t count_recvfrom(int fd, void *buf, size_t n, int flags,
                              struct sockaddr *a, socklen_t *len)
{
    recvs += fd == counted_fd;
    return real_recvfrom(fd, buf, n, flags, a, len);
}

typedef struct talker {
    int fd;
    int n; /* messages, each after a millisecond */
} talker;

static int talk(void *arg)
{
    talker *t = arg;
    for (int i = 0; i < t->n; i++) {
        if (corio_sleep(CORIO_MS) < 0 || write(t->fd, "ping", 4) != 4)
            return -1;
    }
    return 0;
}

static int drained_main(void *arg)
{
    int kind = *(int *)arg; /* 0: socketpair, 1: pipe, 2: datagram */
    int sv[2];
    char buf[64];
    if (kind == 1)
        make_pipe(sv);
    else
        CHECK_EQ(socketpair(AF_UNIX,
                            (kind ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0,
                            sv),
                 0);
    int rd = sv[0], wr = sv[1];
    real_read = corio__sys.read;
    real_recvfrom = corio__sys.recvfrom;
    corio__sys.read = count_read;
    corio__sys.recvfrom = count_recvfrom;
    counted_fd = rd;
    reads = recvs = 0;
    talker t = {wr, 10};
    corio_task *tt;
    CHECK_EQ(corio_task_spawn(&tt, talk, &t), 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(corio_fd_read(rd, buf, sizeof buf), 4);
    CHECK_EQ(corio_task_join(tt, NULL), 0);
    /* A byte stream: one read per message, none that says EAGAIN (the
     * first read of all finds nothing yet).  Datagrams: every read is
     * tried first. */
    if (kind == 2)
        CHECK_EQ(reads + recvs, 20);
    else
        CHECK_EQ(reads + recvs, 11);
    /* Sockets are read with recv(2), a pipe with read(2). */
    CHECK_EQ(kind == 1 ? recvs : reads, 0);

    /* An edge that comes while nobody waits is kept: the message written
     * while this task sleeps (the loop polls meanwhile) is read at once. */
    CHECK_EQ(write(wr, "late", 4), 4);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(corio_fd_read(rd, buf, sizeof buf), 4);
    /* Two messages at once, read one byte at a time: full reads, then the
     * short one parks the next. */
    CHECK_EQ(write(wr, "ab", 2), 2);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    if (kind != 2) {
        CHECK_EQ(corio_fd_read(rd, buf, 1), 1);
        CHECK_EQ(corio_fd_read(rd, buf, 1), 1);
    } else {
        CHECK_EQ(corio_fd_read(rd, buf, sizeof buf), 2);
    }
    /* The peer writes and hangs up while nobody waits: the short read of
     * the last bytes is followed by end of stream, which brings no further
     * edge, so the next read must not park first. */
    CHECK_EQ(write(wr, "x", 1), 1);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    close(wr);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(corio_fd_read(rd, buf, sizeof buf), 1);
    if (kind != 2) /* a datagram pair's end is not end of file */
        CHECK_EQ(corio_fd_read(rd, buf, sizeof buf), 0);
    corio__sys.read = real_read;
    corio__sys.recvfrom = real_recvfrom;
    corio_fd_close(rd);
    return 0;
}

TEST(fd, epoll_short_read_parks_before_the_next)
{
    setenv("CORIO_ENGINE", "epoll", 1);
    for (int kind = 0; kind < 3; kind++)
        CHECK_EQ(tst_run(drained_main, &kind), 0);
}

/* ---- wake-ups: deadlines disarmed, many tasks ready at once ------------- */

typedef struct dl_reader {
    int fd;
    int64_t timeout; /* 0: no deadline */
    ssize_t got;
} dl_reader;

static int dl_read(void *arg)
{
    dl_reader *d = arg;
    char c;
    if (d->timeout)
        CHECK(corio_timeout_begin(d->timeout) >= 0);
    d->got = corio_fd_read(d->fd, &c, 1);
    if (d->timeout)
        (void)corio_timeout_end();
    return 0;
}

/* A wake-up disarms the deadline of the wait it ends, also when that is
 * the loop's only timer (the wake skips the disarm only when no timer is
 * armed at all), and leaves other tasks' deadlines armed. */
static int dl_main(void *arg)
{
    (void)arg;
    int p1[2], p2[2];
    make_pipe(p1);
    make_pipe(p2);
    dl_reader a = {p1[0], CORIO_SECOND, 0}, b = {p2[0], 0, 0};
    corio_task *ta, *tb;
    CHECK_EQ(corio_task_spawn(&ta, dl_read, &a), 0);
    CHECK_EQ(corio_task_spawn(&tb, dl_read, &b), 0);
    CHECK_EQ(corio_yield(), 0); /* both park */
    CHECK_EQ(corio__cur->timers.n, 1u);
    CHECK_EQ(write(p2[1], "b", 1), 1);
    CHECK_EQ(corio_task_join(tb, NULL), 0);
    CHECK_EQ(b.got, 1);
    CHECK_EQ(corio__cur->timers.n, 1u); /* a's deadline stays armed */
    CHECK_EQ(write(p1[1], "a", 1), 1);
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    CHECK_EQ(a.got, 1);
    CHECK_EQ(corio__cur->timers.n, 0u); /* disarmed by the wake-up */
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    for (int i = 0; i < 2; i++) {
        corio_fd_close(p1[i]);
        corio_fd_close(p2[i]);
    }
    return 0;
}

TEST(fd, wake_disarms_the_deadline_of_its_wait)
{
    CHECK_EQ(tst_run(dl_main, NULL), 0);
}

/* Many tasks woken by one poll, each parking again while dozens are ready
 * (the park then prefetches the tasks that run next): every one gets its
 * own bytes back, round after round. */
#define MANY_PAIRS 64
#define MANY_ROUNDS 5

static int many_echo(void *arg)
{
    int fd = *(int *)arg;
    unsigned char c;
    for (int i = 0; i < MANY_ROUNDS; i++) {
        if (corio_fd_read(fd, &c, 1) != 1)
            return -1;
        c ^= 0xff;
        if (corio_fd_write(fd, &c, 1) != 1)
            return -1;
    }
    return 0;
}

static int many_main(void *arg)
{
    (void)arg;
    int sv[MANY_PAIRS][2];
    corio_task *t[MANY_PAIRS];
    for (int i = 0; i < MANY_PAIRS; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
        CHECK_EQ(corio_task_spawn(&t[i], many_echo, &sv[i][0]), 0);
    }
    for (int r = 0; r < MANY_ROUNDS; r++) {
        CHECK_EQ(corio_yield(), 0); /* every echo task parks in its read */
        for (int i = 0; i < MANY_PAIRS; i++) {
            unsigned char c = (unsigned char)(i * 7 + r);
            CHECK_EQ(write(sv[i][1], &c, 1), 1);
        }
        for (int i = 0; i < MANY_PAIRS; i++) {
            unsigned char c;
            CHECK_EQ(corio_fd_read(sv[i][1], &c, 1), 1);
            CHECK_EQ(c, (unsigned char)((i * 7 + r) ^ 0xff));
        }
    }
    for (int i = 0; i < MANY_PAIRS; i++) {
        int res = -1;
        CHECK_EQ(corio_task_join(t[i], &res), 0);
        CHECK_EQ(res, 0);
        corio_fd_close(sv[i][0]);
        corio_fd_close(sv[i][1]);
    }
    return 0;
}

TEST(fd, many_tasks_woken_at_once_each_get_their_bytes)
{
    CHECK_EQ(tst_run(many_main, NULL), 0);
}
