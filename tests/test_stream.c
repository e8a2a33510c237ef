/* test_stream.c — buffered streams (corio/stream.h) over memory pairs,
 * socketpairs and pipes, on the virtual clock.
 *
 * Parts:
 *   the read forms    read, read_exactly, read_until, read_line over every
 *                     transport, with the writer feeding 1, 2, 3... bytes
 *                     per transport write, so lines and multi-byte
 *                     delimiters arrive split; EOF in every form; too-long
 *                     lines; argument checks.
 *   random sweeps     a reader picking a random form per call (tiny read
 *                     buffers down to 1 byte) against a writer sending
 *                     random-sized pieces (tiny write buffers and memory
 *                     capacities); every byte received is checked in place.
 *   conservation      the same with every read, write and flush run inside
 *                     a timeout scope, or in a task cancelled at a random
 *                     moment: the bytes received must be exactly the bytes
 *                     the writer was told were taken, in order, none lost,
 *                     none twice.
 *   writing           buffering without suspension, flush against a slow
 *                     reader (backpressure), large direct writes, EPIPE.
 *   ends              shutdown (the peer sees EOF and can still answer),
 *                     close (EOF / EPIPE for the peer), close while another
 *                     task waits inside a call (-EBADF), -EBUSY per
 *                     direction, descriptors, allocation failures. */
#include "tst.h"
#include "os/sys.h"

#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The configuration being run, printed when a check fails. */
static char cfg[160];

#define SCHECK(c)                                                              \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "    in %s\n", cfg);                               \
            tst_fail(__FILE__, __LINE__, #c);                                  \
        }                                                                      \
    } while (0)
#define SCHECK_EQ(a, b)                                                        \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_) {                                                      \
            fprintf(stderr, "    in %s\n", cfg);                               \
            tst_fail_eq(__FILE__, __LINE__, #a, #b, va_, vb_);                 \
        }                                                                      \
    } while (0)

static uint64_t rng_state = 88172645463325252ull;

static void rng_seed(uint64_t s)
{
    rng_state = s * 2654435761u + 88172645463325252ull;
}

#define rnd() tst_rand(&rng_state)

/* ---- transports under test ---------------------------------------------- */

enum kind { MEM, SOCK, PIPE, NKINDS };
static const char *const kind_name[NKINDS] = {"mem", "sock", "pipe"};

/* A one-way connection: w writes, r reads.  capacity: the memory pair's
 * per-direction capacity, or for descriptors a small kernel buffer (the
 * kernel's minimum applies) if nonzero.  Both ends get the same limits. */
static void mk(int kind, corio_stream **w, corio_stream **r, size_t capacity,
               const corio_stream_opts *o)
{
    int fds[2];
    switch (kind) {
    case MEM:
        CHECK_EQ(corio_stream_pair_ex(w, r, capacity, o), 0);
        return;
    case SOCK:
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        if (capacity) {
            int sz = (int)capacity;
            setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
            setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        }
        CHECK_EQ(corio_stream_from_fd(w, fds[0], o), 0);
        CHECK_EQ(corio_stream_from_fd(r, fds[1], o), 0);
        return;
    default:
        CHECK_EQ(pipe2(fds, O_CLOEXEC), 0);
        if (capacity)
            CHECK(fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096);
        CHECK_EQ(corio_stream_from_fd(w, fds[1], o), 0);
        CHECK_EQ(corio_stream_from_fd(r, fds[0], o), 0);
        return;
    }
}

/* A writer task sending data in pieces of 1..chunk bytes, each flushed on
 * its own (one transport write each), with a pause after each, then
 * shutting down. */
typedef struct feed {
    corio_stream *w;
    const void *data;
    size_t len;
    size_t chunk; /* pieces of 1..chunk bytes (exactly chunk if fixed) */
    int fixed;
    int64_t gap; /* pause between pieces; 0: yield */
    int noshut;
    int rc;
} feed;

static int feeder(void *arg)
{
    feed *f = arg;
    size_t pos = 0;
    f->rc = 0;
    while (pos < f->len) {
        size_t k = f->fixed ? f->chunk : 1 + rnd() % f->chunk;
        if (k > f->len - pos)
            k = f->len - pos;
        int rc = corio_stream_write(f->w, (const char *)f->data + pos, k);
        if (rc == 0)
            rc = corio_stream_flush(f->w);
        if (rc < 0)
            return f->rc = rc;
        pos += k;
        rc = f->gap ? corio_sleep(f->gap) : corio_yield();
        if (rc < 0)
            return f->rc = rc;
    }
    if (!f->noshut)
        f->rc = corio_stream_shutdown(f->w);
    return f->rc;
}

/* ---- every read form over every transport, data split into pieces ------ */

static const char script[] = "hello\n"
                             "world\r\n"
                             "HEAD\r\n\r\n"
                             "body"
                             "12345678"
                             "tail-without-newline";

typedef struct forms_case {
    int kind;
    size_t chunk;
    size_t rbuf;
} forms_case;

static int forms_main(void *arg)
{
    forms_case *c = arg;
    corio_stream_opts o = {.read_buffer = c->rbuf};
    corio_stream *w, *r;
    char buf[64];
    mk(c->kind, &w, &r, 0, &o);
    feed f = {.w = w,
              .data = script,
              .len = strlen(script),
              .chunk = c->chunk,
              .fixed = 1};
    corio_task *ft;
    CHECK_EQ(corio_task_spawn(&ft, feeder, &f), 0);

    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 6);
    SCHECK(strcmp(buf, "hello\n") == 0);
    SCHECK_EQ(corio_stream_read_until(r, "\r\n", 2, buf, sizeof buf), 7);
    SCHECK(memcmp(buf, "world\r\n", 7) == 0);
    SCHECK_EQ(corio_stream_read_until(r, "\r\n\r\n", 4, buf, sizeof buf), 8);
    SCHECK(memcmp(buf, "HEAD\r\n\r\n", 8) == 0);
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 4), 0);
    SCHECK(memcmp(buf, "body", 4) == 0);
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 8), 0);
    SCHECK(memcmp(buf, "12345678", 8) == 0);
    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 20);
    SCHECK(strcmp(buf, "tail-without-newline") == 0);
    /* End of stream, in every form, and it stays so. */
    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 0);
    SCHECK_EQ(buf[0], 0);
    SCHECK_EQ(corio_stream_read(r, buf, sizeof buf), 0);
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 1), CORIO_EOF);
    SCHECK_EQ(corio_stream_read_until(r, "\n", 1, buf, sizeof buf), CORIO_EOF);
    SCHECK_EQ(corio_stream_read(r, buf, sizeof buf), 0);

    CHECK_EQ(corio_task_join(ft, NULL), 0);
    SCHECK_EQ(f.rc, 0);
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(stream, read_forms_every_transport_split_pieces)
{
    static const size_t chunks[] = {1, 2, 3, 5, 7, 64};
    static const size_t rbufs[] = {0, 24, 4096};
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++)
        for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++)
            for (size_t j = 0; j < sizeof rbufs / sizeof *rbufs; j++) {
                forms_case c = {k, chunks[i], rbufs[j]};
                snprintf(cfg, sizeof cfg, "%s chunk %zu read_buffer %zu",
                         kind_name[k], chunks[i], rbufs[j]);
                CHECK_EQ(tst_run(forms_main, &c), 0);
            }
    tst_leak_check();
}

/* ---- EOF keeps what arrived --------------------------------------------- */

static int eof_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream *w, *r;
    char buf[32];
    mk(kind, &w, &r, 0, NULL);
    CHECK_EQ(corio_stream_write(w, "abcdef", 6), 0);
    CHECK_EQ(corio_stream_shutdown(w), 0);

    /* read_exactly meets EOF: CORIO_EOF, the six bytes stay buffered. */
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 10), CORIO_EOF);
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 10), CORIO_EOF);
    /* read_until meets EOF: the same. */
    SCHECK_EQ(corio_stream_read_until(r, "\n", 1, buf, sizeof buf), CORIO_EOF);
    SCHECK_EQ(corio_stream_read_until(r, "zz", 2, buf, sizeof buf), CORIO_EOF);
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 2), 0);
    SCHECK(memcmp(buf, "ab", 2) == 0);
    SCHECK_EQ(corio_stream_read(r, buf, 3), 3);
    SCHECK(memcmp(buf, "cde", 3) == 0);
    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 1);
    SCHECK(strcmp(buf, "f") == 0);
    SCHECK_EQ(corio_stream_read(r, buf, sizeof buf), 0);
    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 0);

    /* The empty stream: EOF at once in every form. */
    corio_stream_close(w);
    corio_stream_close(r);
    mk(kind, &w, &r, 0, NULL);
    CHECK_EQ(corio_stream_shutdown(w), 0);
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 1), CORIO_EOF);
    SCHECK_EQ(corio_stream_read_until(r, "\n", 1, buf, sizeof buf), CORIO_EOF);
    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 0);
    SCHECK_EQ(corio_stream_read(r, buf, sizeof buf), 0);
    SCHECK_EQ(corio_stream_read_exactly(r, buf, 0), 0); /* nothing asked */
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(stream, eof_keeps_partial_data_buffered)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        CHECK_EQ(tst_run(eof_main, &k), 0);
    }
    tst_leak_check();
}

/* ---- lines over the limit ----------------------------------------------- */

static int toolong_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream_opts o = {.read_buffer = 16};
    corio_stream *w, *r;
    char buf[64];
    mk(kind, &w, &r, 0, &o);
    const char *data = "0123456789abcdefXYZ\nshort\nabcdef\nlast";
    feed f = {
        .w = w, .data = data, .len = strlen(data), .chunk = 3, .fixed = 1};
    corio_task *ft;
    CHECK_EQ(corio_task_spawn(&ft, feeder, &f), 0);

    /* No '\n' within read_buffer (16) bytes: CORIO_ETOOLONG, and again. */
    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), CORIO_ETOOLONG);
    SCHECK_EQ(corio_stream_read_until(r, "\n", 1, buf, sizeof buf),
              CORIO_ETOOLONG);
    /* Nothing was lost: skip part of it, then the rest is a line. */
    SCHECK_EQ(corio_stream_read(r, buf, 10), 10);
    SCHECK(memcmp(buf, "0123456789", 10) == 0);
    SCHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 10);
    SCHECK(strcmp(buf, "abcdefXYZ\n") == 0);
    /* Limited by cap: "short\n" needs 6 bytes, and 7 with the NUL. */
    SCHECK_EQ(corio_stream_read_line(r, buf, 6), CORIO_ETOOLONG);
    SCHECK_EQ(corio_stream_read_until(r, "\n", 1, buf, 5), CORIO_ETOOLONG);
    SCHECK_EQ(corio_stream_read_until(r, "\n", 1, buf, 6), 6);
    SCHECK(memcmp(buf, "short\n", 6) == 0);
    /* A delimiter found, but past cap: still too long, still buffered. */
    SCHECK_EQ(corio_stream_read_until(r, "f\n", 2, buf, 6), CORIO_ETOOLONG);
    SCHECK_EQ(corio_stream_read_until(r, "f\n", 2, buf, 7), 7);
    SCHECK(memcmp(buf, "abcdef\n", 7) == 0);
    /* The last line, cut by EOF, counts as if it ended in '\n': "last"
     * needs cap 6 like "last\n" (so the answer never depends on whether
     * the EOF has arrived yet). */
    SCHECK_EQ(corio_stream_read_line(r, buf, 5), CORIO_ETOOLONG);
    SCHECK_EQ(corio_stream_read_line(r, buf, 6), 4);
    SCHECK(strcmp(buf, "last") == 0);
    SCHECK_EQ(corio_stream_read_line(r, buf, 6), 0);

    CHECK_EQ(corio_task_join(ft, NULL), 0);
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(stream, too_long_line_stays_buffered)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        CHECK_EQ(tst_run(toolong_main, &k), 0);
    }
    tst_leak_check();
}

/* ---- argument checks ---------------------------------------------------- */

static int args_main(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.read_buffer = 8};
    corio_stream *a, *b;
    char buf[16];
    CHECK_EQ(corio_stream_pair_ex(&a, &b, 0, &o), 0);
    CHECK_EQ(corio_stream_read_exactly(b, buf, 9), -EINVAL); /* > read_buffer */
    CHECK_EQ(corio_stream_read_exactly(b, NULL, 1), -EINVAL);
    CHECK_EQ(corio_stream_read_until(b, "", 0, buf, sizeof buf), -EINVAL);
    CHECK_EQ(corio_stream_read_until(b, NULL, 1, buf, sizeof buf), -EINVAL);
    CHECK_EQ(corio_stream_read_until(b, "abc", 3, buf, 2),
             -EINVAL); /* cap < dlen */
    CHECK_EQ(corio_stream_read_until(b, "123456789", 9, buf, sizeof buf),
             -EINVAL);
    CHECK_EQ(corio_stream_read_until(b, "\n", 1, NULL, 4), -EINVAL);
    CHECK_EQ(corio_stream_read_line(b, buf, 1), -EINVAL);
    CHECK_EQ(corio_stream_read_line(b, NULL, 8), -EINVAL);
    CHECK_EQ(corio_stream_read(b, NULL, 1), -EINVAL);
    CHECK_EQ(corio_stream_read(b, buf, 0), 0); /* asyncio's read(0) */
    CHECK_EQ(corio_stream_write(a, NULL, 1), -EINVAL);
    CHECK_EQ(corio_stream_write(a, buf, 0), 0);
    CHECK_EQ(corio_stream_read(NULL, buf, 1), -EINVAL);
    CHECK_EQ(corio_stream_read_exactly(NULL, buf, 1), -EINVAL);
    CHECK_EQ(corio_stream_read_until(NULL, "\n", 1, buf, 4), -EINVAL);
    CHECK_EQ(corio_stream_read_line(NULL, buf, 4), -EINVAL);
    CHECK_EQ(corio_stream_write(NULL, buf, 1), -EINVAL);
    CHECK_EQ(corio_stream_flush(NULL), -EINVAL);
    CHECK_EQ(corio_stream_shutdown(NULL), -EINVAL);
    CHECK_EQ(corio_stream_fd(NULL), -1);
    CHECK_EQ(corio_stream_fd(a), -1);
    corio_stream_close(NULL);

    corio_stream_opts big = {.write_buffer = CORIO_STREAM_BUFFER_MAX + 1};
    corio_stream *x = (corio_stream *)&x, *y = (corio_stream *)&y;
    CHECK_EQ(corio_stream_pair_ex(&x, &y, 0, &big), -EINVAL);
    CHECK(x == NULL && y == NULL);
    CHECK_EQ(corio_stream_pair(&x, &y, CORIO_STREAM_BUFFER_MAX + 1), -EINVAL);

    /* From descriptors: bad numbers and limits leave the fd open. */
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    x = (corio_stream *)&x;
    CHECK_EQ(corio_stream_from_fd(&x, -1, NULL), -EINVAL);
    CHECK(x == NULL);
    CHECK_EQ(corio_stream_from_fd(&x, p[0], &big), -EINVAL);
    CHECK(fcntl(p[0], F_GETFD) >= 0);
    close(p[0]);
    CHECK_EQ(corio_stream_from_fd(&x, p[0], NULL), -EBADF);
    CHECK_EQ(corio_stream_from_fd(&x, p[1], NULL), 0);
    CHECK_EQ(corio_stream_fd(x), p[1]);
    corio_stream_close(x);
    CHECK(fcntl(p[1], F_GETFD) < 0); /* the stream closed it */
    corio_stream_close(a);
    corio_stream_close(b);
    return 0;
}

TEST(stream, argument_checks)
{
    corio_stream *a = NULL, *b = NULL;
    snprintf(cfg, sizeof cfg, "args");
    CHECK_EQ(corio_stream_pair(&a, &b, 0), -EPERM); /* outside a loop */
    CHECK(a == NULL && b == NULL);
    CHECK_EQ(tst_run(args_main, NULL), 0);
    tst_leak_check();
}

/* ---- zero-copy reading: peek, fill, consume ----------------------------- */

static int peek_main(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.read_buffer = 8};
    corio_stream *a, *b;
    const void *p;
    size_t n;
    char buf[8];
    CHECK_EQ(corio_stream_pair_ex(&a, &b, 0, &o), 0);
    CHECK_EQ(corio_stream_peek(b, &p, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(corio_stream_write(a, "hello world", 11), 0);
    CHECK_EQ(corio_stream_flush(a), 0);
    /* fill adds what the transport gives, up to the 8-byte limit. */
    size_t total = 0;
    while (total < 8) {
        ssize_t got = corio_stream_fill(b);
        CHECK(got > 0);
        total += (size_t)got;
    }
    CHECK_EQ(corio_stream_fill(b), CORIO_ETOOLONG); /* full: nothing lost */
    CHECK_EQ(corio_stream_peek(b, &p, &n), 0);
    CHECK_EQ(n, 8);
    CHECK(memcmp(p, "hello wo", 8) == 0);
    CHECK_EQ(corio_stream_consume(b, 9), -EINVAL);
    CHECK_EQ(corio_stream_consume(b, 6), 0);
    CHECK_EQ(corio_stream_read(b, buf, 2), 2);
    CHECK(memcmp(buf, "wo", 2) == 0);
    CHECK_EQ(corio_stream_shutdown(a), 0);
    CHECK_EQ(corio_stream_fill(b), 3); /* "rld" */
    CHECK_EQ(corio_stream_fill(b), 0); /* end of stream, sticky */
    CHECK_EQ(corio_stream_fill(b), 0);
    CHECK_EQ(corio_stream_peek(b, &p, &n), 0);
    CHECK(n == 3 && memcmp(p, "rld", 3) == 0);
    CHECK_EQ(corio_stream_consume(b, 3), 0);
    CHECK_EQ(corio_stream_peek(NULL, &p, &n), -EINVAL);
    CHECK_EQ(corio_stream_fill(NULL), -EINVAL);
    CHECK_EQ(corio_stream_consume(NULL, 0), -EINVAL);
    corio_stream_close(a);
    corio_stream_close(b);
    return 0;
}

TEST(stream, peek_fill_consume)
{
    snprintf(cfg, sizeof cfg, "peek");
    CHECK_EQ(tst_run(peek_main, NULL), 0);
    tst_leak_check();
}

/* ---- random read forms against random pieces, tiny buffers ------------- */

/* A reader that takes everything with randomly chosen forms and checks each
 * byte against the expected data where it lands. */
typedef struct sink {
    corio_stream *r;
    const unsigned char *want;
    size_t wantlen;
    size_t got;
    size_t rlimit;
    int eof;
    int mode;     /* 0 plain, 1 timeout scopes, 2 cancelled tasks */
    int64_t tick; /* time unit of the interruptions */
    long ok[4], interrupted[4], toolong, eofs;
} sink;

static void sink_take(sink *k, const void *p, size_t n)
{
    SCHECK(k->got + n <= k->wantlen);
    SCHECK(memcmp(p, k->want + k->got, n) == 0);
    k->got += n;
}

static const char *const delims[] = {"\n", "\r\n", "\r\n\r\n", "xyz"};

/* One read of the given form; appends what it returned.  Returns the call's
 * result for the interruption counters. */
static ssize_t sink_op(sink *k, int form)
{
    unsigned char buf[512];
    ssize_t rc;
    size_t n;
    switch (form) {
    case 0:
        n = 1 + rnd() % 300;
        rc = corio_stream_read(k->r, buf, n);
        if (rc > 0) {
            SCHECK((size_t)rc <= n);
            sink_take(k, buf, (size_t)rc);
        } else if (rc == 0) {
            k->eof = 1;
        }
        return rc;
    case 1:
        n = 1 + rnd() % (k->rlimit < 300 ? k->rlimit : 300);
        rc = corio_stream_read_exactly(k->r, buf, n);
        if (rc == 0)
            sink_take(k, buf, n);
        return rc;
    case 2: {
        const char *d = delims[rnd() % 4];
        size_t dlen = strlen(d);
        if (dlen > k->rlimit)
            d = "\n", dlen = 1;
        size_t cap = dlen + rnd() % 200;
        rc = corio_stream_read_until(k->r, d, dlen, buf, cap);
        if (rc > 0) {
            SCHECK((size_t)rc >= dlen && (size_t)rc <= cap);
            SCHECK(memcmp(buf + rc - dlen, d, dlen) == 0);
            /* The first occurrence: none ends earlier. */
            SCHECK(memmem(buf, (size_t)rc - 1, d, dlen) == NULL);
            sink_take(k, buf, (size_t)rc);
        }
        return rc;
    }
    default: {
        size_t cap = 2 + rnd() % 200;
        rc = corio_stream_read_line(k->r, (char *)buf, cap);
        if (rc > 0) {
            SCHECK((size_t)rc < cap);
            SCHECK_EQ(buf[rc], 0);
            SCHECK(memchr(buf, '\n', (size_t)rc - 1) == NULL);
            sink_take(k, buf, (size_t)rc);
            if (buf[rc - 1] != '\n')
                SCHECK_EQ(k->got, k->wantlen); /* only the last line */
        } else if (rc == 0) {
            k->eof = 1;
        }
        return rc;
    }
    }
}

typedef struct sink_call {
    sink *k;
    int form;
    ssize_t rc;
} sink_call;

static int sink_task(void *arg)
{
    sink_call *c = arg;
    c->rc = sink_op(c->k, c->form);
    return 0;
}

/* An interruption delay: 0 (expired at once), a few yields' worth (a
 * quarter tick), or whole and fractional ticks. */
static int64_t pick_delay(int64_t tick)
{
    switch (rnd() % 6) {
    case 0:
        return 0;
    case 1:
        return tick / 4;
    case 2:
        return tick;
    case 3:
        return tick + tick / 2;
    case 4:
        return 3 * tick;
    default:
        return 10 * tick;
    }
}

static int sink_run(sink *k)
{
    while (!k->eof) {
        int form = (int)(rnd() % 4);
        ssize_t rc;
        if (k->mode == 1) {
            CHECK_EQ(corio_timeout_begin(pick_delay(k->tick)), 0);
            rc = sink_op(k, form);
            int end = corio_timeout_end();
            SCHECK(end == 0 || end == -ETIMEDOUT);
            SCHECK(rc != -ETIMEDOUT || end == -ETIMEDOUT);
        } else if (k->mode == 2) {
            sink_call c = {k, form, 1};
            corio_task *t;
            CHECK_EQ(corio_task_spawn(&t, sink_task, &c), 0);
            int64_t d = pick_delay(k->tick);
            if (d)
                CHECK_EQ(corio_sleep(d), 0);
            else if (rnd() % 2)
                CHECK_EQ(corio_yield(), 0);
            corio_task_cancel(t);
            CHECK_EQ(corio_task_join(t, NULL), 0);
            rc = c.rc;
            if (rc == 1)
                rc = -ECANCELED; /* cancelled before it ran: never read */
        } else {
            rc = sink_op(k, form);
        }
        if (rc == -ETIMEDOUT || rc == -ECANCELED) {
            SCHECK(k->mode != 0);
            k->interrupted[form]++;
            continue;
        }
        if (rc == CORIO_ETOOLONG) {
            k->toolong++;
            continue; /* a read (form 0) will take it in pieces */
        }
        if (rc == CORIO_EOF) {
            k->eofs++;
            continue;
        }
        SCHECK(rc >= 0);
        k->ok[form]++;
    }
    SCHECK_EQ(k->got, k->wantlen);
    return 0;
}

/* Test data: lines of 0..max_line characters, some ending in "\r\n", some
 * runs of "\r\n\r\n", and "xyz" here and there. */
static unsigned char *make_data(size_t len, size_t max_line)
{
    unsigned char *d = malloc(len);
    CHECK(d != NULL);
    size_t i = 0;
    while (i < len) {
        size_t line = rnd() % (max_line + 1);
        for (size_t j = 0; j < line && i < len; j++) {
            unsigned v = (unsigned)(rnd() % 40);
            d[i++] = (unsigned char)(v < 26    ? 'a' + v
                                     : v < 36  ? '0' + v - 26
                                     : v == 36 ? 'x'
                                     : v == 37 ? 'y'
                                     : v == 38 ? 'z'
                                               : 0);
        }
        switch (rnd() % 4) {
        case 0:
            if (i < len)
                d[i++] = '\r';
            /* fallthrough */
        case 1:
        case 2:
            if (i < len)
                d[i++] = '\n';
            break;
        default:
            for (const char *s = "\r\n\r\n"; *s && i < len; s++)
                d[i++] = (unsigned char)*s;
        }
    }
    return d;
}

typedef struct sweep_case {
    int kind;
    size_t rbuf, wbuf, capacity, chunk, len, max_line;
    int mode;
    int64_t gap;
    uint64_t seed;
    long interrupted, toolong;
    long form_interrupted[4];
} sweep_case;

static int sweep_main(void *arg)
{
    sweep_case *c = arg;
    rng_seed(c->seed);
    corio_stream_opts o = {.read_buffer = c->rbuf, .write_buffer = c->wbuf};
    corio_stream *w, *r;
    mk(c->kind, &w, &r, c->capacity, &o);
    unsigned char *data = make_data(c->len, c->max_line);
    feed f = {
        .w = w, .data = data, .len = c->len, .chunk = c->chunk, .gap = c->gap};
    sink k = {.r = r,
              .want = data,
              .wantlen = c->len,
              .rlimit = c->rbuf ? c->rbuf : 65536,
              .mode = c->mode,
              .tick = c->gap ? c->gap : CORIO_MS};
    corio_task *ft;
    CHECK_EQ(corio_task_spawn(&ft, feeder, &f), 0);
    sink_run(&k);
    CHECK_EQ(corio_task_join(ft, NULL), 0);
    SCHECK_EQ(f.rc, 0);
    c->interrupted = 0;
    for (int i = 0; i < 4; i++) {
        c->interrupted += k.interrupted[i];
        c->form_interrupted[i] = k.interrupted[i];
    }
    c->toolong = k.toolong;
    corio_stream_close(w);
    corio_stream_close(r);
    free(data);
    return 0;
}

TEST(stream, random_forms_tiny_buffers)
{
    static const size_t rbufs[] = {1, 2, 5, 64, 0};
    static const size_t wbufs[] = {1, 3, 100, 0};
    signal(SIGPIPE, SIG_IGN);
    long toolong = 0;
    for (int kind = 0; kind < NKINDS; kind++)
        for (size_t i = 0; i < sizeof rbufs / sizeof *rbufs; i++)
            for (size_t j = 0; j < sizeof wbufs / sizeof *wbufs; j++) {
                sweep_case c = {.kind = kind,
                                .rbuf = rbufs[i],
                                .wbuf = wbufs[j],
                                .capacity = kind == MEM ? 1 + (i + j) % 7 : 0,
                                .chunk = 1 + 40 * j,
                                .len = 3000,
                                .max_line = 12,
                                .seed = 1 + i * 10 + j};
                snprintf(cfg, sizeof cfg,
                         "%s rbuf %zu wbuf %zu cap %zu chunk %zu",
                         kind_name[kind], c.rbuf, c.wbuf, c.capacity, c.chunk);
                CHECK_EQ(tst_run(sweep_main, &c), 0);
                toolong += c.toolong;
            }
    CHECK(toolong > 0); /* the tiny read buffers did meet long lines */
    tst_leak_check();
}

/* ---- conservation under timeouts and cancellation: reads --------------- */

TEST_T(stream, reads_interrupted_conserve_bytes, 120)
{
    signal(SIGPIPE, SIG_IGN);
    int slow = tst_slow_env();
    long interrupted = 0;
    for (int mode = 1; mode <= 2; mode++)
        for (int kind = 0; kind < NKINDS; kind++) {
            long per_form[4] = {0, 0, 0, 0};
            for (uint64_t seed = 1; seed <= (slow ? 3u : 8u); seed++) {
                sweep_case c = {.kind = kind,
                                .rbuf = seed % 2 ? 64 : 0,
                                .wbuf = seed % 3 ? 0 : 5,
                                .capacity = kind == MEM ? 3 + seed % 13 : 0,
                                .chunk = 1 + seed * 5,
                                .len = 4000,
                                .max_line = 40,
                                .mode = mode,
                                .gap = CORIO_MS,
                                .seed = seed};
                snprintf(cfg, sizeof cfg, "%s %s seed %llu", kind_name[kind],
                         mode == 1 ? "timeouts" : "cancel",
                         (unsigned long long)seed);
                CHECK_EQ(tst_run(sweep_main, &c), 0);
                CHECK(c.interrupted > 0);
                interrupted += c.interrupted;
                for (int i = 0; i < 4; i++)
                    per_form[i] += c.form_interrupted[i];
            }
            /* Every form was interrupted, on every transport, both ways. */
            for (int i = 0; i < 4; i++)
                CHECK(per_form[i] > 0);
        }
    CHECK(interrupted > 100);
    tst_leak_check();
}

/* ---- conservation under timeouts and cancellation: writes -------------- */

typedef struct wcase {
    int kind;
    size_t wbuf, capacity, len;
    int mode; /* 1 timeouts, 2 cancelled tasks */
    uint64_t seed;
    long wr_int, fl_int, wr_ok, big_ok;
} wcase;

typedef struct slow_reader {
    corio_stream *r;
    unsigned char *got;
    size_t n, cap;
    int64_t gap;
    int rc;
} slow_reader;

static int slow_reader_fn(void *arg)
{
    slow_reader *s = arg;
    for (;;) {
        size_t want = 1 + rnd() % 700;
        if (want > s->cap - s->n)
            want = s->cap - s->n + 1; /* one more than expected: see EOF */
        unsigned char tmp[701];
        ssize_t n = corio_stream_read(s->r, tmp, want);
        if (n <= 0) {
            s->rc = (int)n;
            return 0;
        }
        CHECK((size_t)n <= s->cap - s->n);
        memcpy(s->got + s->n, tmp, (size_t)n);
        s->n += (size_t)n;
        if (corio_sleep(s->gap) < 0)
            return 0;
    }
}

typedef struct wcall {
    corio_stream *w;
    const unsigned char *p;
    size_t n; /* 0: flush */
    int rc;
} wcall;

static int wcall_fn(void *arg)
{
    wcall *c = arg;
    c->rc =
        c->n ? corio_stream_write(c->w, c->p, c->n) : corio_stream_flush(c->w);
    return 0;
}

static int writes_main(void *arg)
{
    wcase *c = arg;
    rng_seed(c->seed);
    corio_stream_opts o = {.write_buffer = c->wbuf, .read_buffer = 512};
    corio_stream *w, *r;
    mk(c->kind, &w, &r, c->capacity, &o);
    unsigned char *data = malloc(c->len);
    CHECK(data != NULL);
    for (size_t i = 0; i < c->len; i++)
        data[i] = (unsigned char)rnd();
    slow_reader sr = {
        .r = r, .got = malloc(c->len), .cap = c->len, .gap = CORIO_MS, .rc = 1};
    CHECK(sr.got != NULL);
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, slow_reader_fn, &sr), 0);

    /* taken: bytes the stream accepted (write returned 0), in order. */
    size_t taken = 0;
    while (taken < c->len) {
        int flush = rnd() % 4 == 0;
        size_t n = 0;
        if (!flush) {
            switch (rnd() % 4) {
            case 0:
                n = 1 + rnd() % 4;
                break;
            case 1:
                n = 1 + rnd() % (c->wbuf + 1);
                break;
            case 2:
                n = c->wbuf + 1 + rnd() % (3 * c->wbuf + 1);
                break; /* direct */
            default:
                n = 1 + rnd() % 3000;
                break;
            }
            if (n > c->len - taken)
                n = c->len - taken;
        }
        int rc;
        int64_t d = pick_delay(CORIO_MS);
        if (c->mode == 1) {
            CHECK_EQ(corio_timeout_begin(d), 0);
            rc = n ? corio_stream_write(w, data + taken, n)
                   : corio_stream_flush(w);
            int end = corio_timeout_end();
            SCHECK(end == 0 || end == -ETIMEDOUT);
        } else {
            wcall call = {w, data + taken, n, 1};
            corio_task *t;
            CHECK_EQ(corio_task_spawn(&t, wcall_fn, &call), 0);
            if (d)
                CHECK_EQ(corio_sleep(d), 0);
            corio_task_cancel(t);
            CHECK_EQ(corio_task_join(t, NULL), 0);
            rc = call.rc;
            if (rc == 1)
                rc = -ECANCELED; /* cancelled before it started: nothing */
        }
        if (rc == -ETIMEDOUT || rc == -ECANCELED) {
            if (n)
                c->wr_int++;
            else
                c->fl_int++;
            continue; /* nothing of data + taken was taken */
        }
        SCHECK_EQ(rc, 0);
        if (n) {
            c->wr_ok++;
            c->big_ok += n > c->wbuf;
        }
        taken += n;
    }
    SCHECK_EQ(corio_stream_flush(w), 0);
    SCHECK_EQ(corio_stream_shutdown(w), 0);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    SCHECK_EQ(sr.rc, 0);
    SCHECK_EQ(sr.n, c->len);
    SCHECK(memcmp(sr.got, data, c->len) == 0);
    corio_stream_close(w);
    corio_stream_close(r);
    free(sr.got);
    free(data);
    return 0;
}

TEST_T(stream, writes_interrupted_conserve_bytes, 120)
{
    signal(SIGPIPE, SIG_IGN);
    int slow = tst_slow_env();
    long wr_int = 0, fl_int = 0, big = 0;
    for (int mode = 1; mode <= 2; mode++)
        for (int kind = 0; kind < NKINDS; kind++)
            for (uint64_t seed = 1; seed <= (slow ? 3u : 6u); seed++) {
                wcase c = {.kind = kind,
                           .wbuf = seed % 2 ? 16 : 1000,
                           .capacity = kind == MEM ? 1 + seed * 7 : 1,
                           .len = kind == MEM ? 30000 : 200000,
                           .mode = mode,
                           .seed = seed};
                snprintf(cfg, sizeof cfg, "%s %s seed %llu wbuf %zu",
                         kind_name[kind], mode == 1 ? "timeouts" : "cancel",
                         (unsigned long long)seed, c.wbuf);
                CHECK_EQ(tst_run(writes_main, &c), 0);
                wr_int += c.wr_int;
                fl_int += c.fl_int;
                big += c.big_ok;
            }
    CHECK(wr_int > 20);
    CHECK(fl_int > 20);
    CHECK(big > 20);
    tst_leak_check();
}

/* ---- writes buffer without suspending; flush waits for a slow reader --- */

typedef struct paced {
    corio_stream *r;
    size_t got;
    size_t per_read;
    int rc;
} paced;

static int paced_reader(void *arg)
{
    paced *p = arg;
    char buf[4096];
    for (;;) {
        ssize_t n = corio_stream_read(p->r, buf, p->per_read);
        if (n <= 0) {
            p->rc = (int)n;
            return 0;
        }
        p->got += (size_t)n;
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    }
}

static int backpressure_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream_opts o = {.read_buffer = 64};
    corio_stream *w, *r;
    mk(kind, &w, &r, 16, &o);
    static char block[1 << 20];
    memset(block, 'b', sizeof block);
    size_t total = kind == MEM ? 4096 : sizeof block;

    /* Buffered writes never wait, even where any wait would fail. */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_stream_write(w, block, 1000), 0);
    CHECK_EQ(corio_stream_write(w, block, 64 * 1024 - 1000),
             0); /* exactly full */
    CHECK_EQ(corio_stream_flush(w) == -ETIMEDOUT || kind != MEM, 1);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now(), t0);

    paced p = {.r = r, .per_read = 64};
    corio_task *pt;
    CHECK_EQ(corio_task_spawn(&pt, paced_reader, &p), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    size_t first = 64 * 1024;
    if (kind == MEM) /* all but what the ring and the reader's buffer hold */
        CHECK(p.got >= first - 16 - 64);
    for (size_t off = 0; off < total; off += 777)
        CHECK_EQ(
            corio_stream_write(w, block, off + 777 > total ? total - off : 777),
            0);
    int64_t t1 = corio_now();
    CHECK_EQ(corio_stream_flush(w), 0);
    int64_t took = corio_now() - t1;
    if (kind == MEM) {
        /* The ring holds 16 bytes and the reader takes at most that per
         * millisecond: the flush had to wait for it. */
        CHECK(took >= 200 * CORIO_MS);
    } else if (kind == SOCK) {
        /* A socket's flush within write_buffer is queued for the end of
         * the turn (then written in the background): no wait. */
        CHECK_EQ(took, 0);
    } else {
        CHECK(took > 0);
    }
    CHECK_EQ(corio_stream_shutdown(w), 0); /* waits for all of it */
    CHECK_EQ(corio_task_join(pt, NULL), 0);
    CHECK_EQ(p.rc, 0);
    CHECK_EQ(p.got, first + total);
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(stream, flush_waits_for_slow_reader)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        CHECK_EQ(tst_run(backpressure_main, &k), 0);
    }
    tst_leak_check();
}

/* ---- a large write goes out straight from the caller's buffer ----------- */

static int bigwrite_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream_opts o = {.write_buffer = 100, .read_buffer = 1000};
    corio_stream *w, *r;
    mk(kind, &w, &r, 0, &o);
    size_t len = 300000;
    unsigned char *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 31 % 253);
    slow_reader sr = {
        .r = r, .got = malloc(len), .cap = len, .gap = 0, .rc = 1};
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, slow_reader_fn, &sr), 0);
    CHECK_EQ(corio_stream_write(w, data, 50), 0); /* buffered */
    CHECK_EQ(corio_stream_write(w, data + 50, 100000),
             0); /* flush 50, direct */
    CHECK_EQ(corio_stream_write(w, data + 100050, len - 100050), 0);
    CHECK_EQ(corio_stream_shutdown(w), 0);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(sr.n, len);
    CHECK(memcmp(sr.got, data, len) == 0);
    corio_stream_close(w);
    corio_stream_close(r);
    free(sr.got);
    free(data);
    return 0;
}

TEST(stream, large_write_goes_direct)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        CHECK_EQ(tst_run(bigwrite_main, &k), 0);
    }
    tst_leak_check();
}

/* ---- shutdown: the peer sees EOF and can still answer ------------------- */

static int shutdown_main(void *arg)
{
    int kind = *(int *)arg; /* MEM or SOCK: both directions */
    corio_stream *a, *b;
    char buf[32];
    mk(kind, &a, &b, 0, NULL);
    CHECK_EQ(corio_stream_write(a, "ping\n", 5), 0);
    CHECK_EQ(corio_stream_shutdown(a), 0);
    CHECK_EQ(corio_stream_shutdown(a), 0); /* again: nothing more to do */
    CHECK_EQ(corio_stream_write(a, "x", 1), -EPIPE);
    CHECK_EQ(corio_stream_flush(a), 0);

    CHECK_EQ(corio_stream_read_line(b, buf, sizeof buf), 5);
    CHECK(strcmp(buf, "ping\n") == 0);
    CHECK_EQ(corio_stream_read_line(b, buf, sizeof buf), 0);
    CHECK_EQ(corio_stream_read(b, buf, sizeof buf), 0);
    /* b can still write back, and a still read. */
    CHECK_EQ(corio_stream_write(b, "pong\n", 5), 0);
    CHECK_EQ(corio_stream_flush(b), 0);
    CHECK_EQ(corio_stream_read_line(a, buf, sizeof buf), 5);
    CHECK(strcmp(buf, "pong\n") == 0);
    corio_stream_close(b);
    CHECK_EQ(corio_stream_read(a, buf, sizeof buf), 0);
    corio_stream_close(a);
    return 0;
}

static int pipe_shutdown_main(void *arg)
{
    (void)arg;
    corio_stream *w, *r;
    char buf[16];
    mk(PIPE, &w, &r, 0, NULL);
    int wfd = corio_stream_fd(w);
    CHECK(wfd >= 0);
    CHECK_EQ(corio_stream_write(w, "last", 4), 0);
    CHECK_EQ(corio_stream_shutdown(w), 0);
    CHECK_EQ(corio_stream_fd(w), -1); /* the write end was closed */
    CHECK(fcntl(wfd, F_GETFD) < 0);
    CHECK_EQ(corio_stream_shutdown(w), 0);
    CHECK_EQ(corio_stream_write(w, "x", 1), -EPIPE);
    CHECK_EQ(corio_stream_read(r, buf, sizeof buf), 4);
    CHECK_EQ(corio_stream_read(r, buf, sizeof buf), 0);
    CHECK_EQ(corio_stream_shutdown(r), 0); /* read-only: nothing to end */
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(stream, shutdown_peer_sees_eof_and_answers)
{
    signal(SIGPIPE, SIG_IGN);
    int kinds[] = {MEM, SOCK};
    for (int i = 0; i < 2; i++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[kinds[i]]);
        CHECK_EQ(tst_run(shutdown_main, &kinds[i]), 0);
    }
    CHECK_EQ(tst_run(pipe_shutdown_main, NULL), 0);
    tst_leak_check();
}

/* ---- close: EOF for the peer's reads, EPIPE for its writes ------------- */

static int close_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream *w, *r;
    char buf[16];
    mk(kind, &w, &r, 0, NULL);

    /* The reader closes: the writer's buffered write succeeds, its flush
     * fails with -EPIPE and keeps the data (flush again: -EPIPE again).  A
     * socket's flush is queued: its send fails at the end of the turn, and
     * the next flush reports it. */
    CHECK_EQ(corio_stream_write(w, "lost?", 5), 0);
    corio_stream_close(r);
    if (kind == SOCK) {
        CHECK_EQ(corio_stream_flush(w), 0);
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    }
    CHECK_EQ(corio_stream_flush(w), -EPIPE);
    CHECK_EQ(corio_stream_flush(w), -EPIPE);
    CHECK_EQ(corio_stream_write(w, buf, sizeof buf), 0); /* fits */
    /* A write larger than the buffer goes direct and fails whole. */
    static char big[200000];
    CHECK_EQ(corio_stream_write(w, big, sizeof big), -EPIPE);
    corio_stream_close(w); /* discards the buffered bytes, frees everything */

    /* The writer closes: the reader gets what was sent, then EOF. */
    mk(kind, &w, &r, 0, NULL);
    CHECK_EQ(corio_stream_write(w, "bye", 3), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    corio_stream_close(w);
    CHECK_EQ(corio_stream_read_exactly(r, buf, 3), 0);
    CHECK(memcmp(buf, "bye", 3) == 0);
    CHECK_EQ(corio_stream_read(r, buf, sizeof buf), 0);
    corio_stream_close(r);

    /* Unflushed data is discarded on close: the peer sees none of it. */
    mk(kind, &w, &r, 0, NULL);
    CHECK_EQ(corio_stream_write(w, "unsent", 6), 0);
    corio_stream_close(w);
    CHECK_EQ(corio_stream_read(r, buf, sizeof buf), 0);
    corio_stream_close(r);
    return 0;
}

TEST(stream, close_gives_eof_and_epipe)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        CHECK_EQ(tst_run(close_main, &k), 0);
    }
    tst_leak_check();
}

/* A parked writer is woken by its peer's close and fails with -EPIPE after
 * reporting what went through. */
typedef struct wjob {
    corio_stream *s;
    size_t n;
    int rc;
    int done;
} wjob;

static int flush_job(void *arg)
{
    wjob *j = arg;
    static char junk[100000];
    j->rc = corio_stream_write(j->s, junk, j->n);
    if (j->rc == 0)
        j->rc = corio_stream_flush(j->s);
    j->done = 1;
    return 0;
}

static int read_job(void *arg)
{
    wjob *j = arg;
    char buf[64];
    j->rc = (int)corio_stream_read(j->s, buf, sizeof buf);
    j->done = 1;
    return 0;
}

static int parked_peer_close_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream *w, *r;
    mk(kind, &w, &r, 64, NULL);
    wjob j = {.s = w, .n = 100000};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, flush_job, &j), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(j.done, 0); /* parked: nobody reads */
    corio_stream_close(r);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(j.rc, -EPIPE);
    corio_stream_close(w);

    /* A parked reader is woken by its peer's close and sees EOF. */
    mk(kind, &w, &r, 0, NULL);
    wjob rj = {.s = r};
    CHECK_EQ(corio_task_spawn(&t, read_job, &rj), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(rj.done, 0);
    corio_stream_close(w);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rj.rc, 0);
    corio_stream_close(r);
    return 0;
}

TEST(stream, peer_close_wakes_parked_calls)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        CHECK_EQ(tst_run(parked_peer_close_main, &k), 0);
    }
    tst_leak_check();
}

/* ---- close while another task waits inside a call ---------------------- */

/* The writer waits inside a direct write (n > write_buffer) or inside the
 * flush of a buffered one.  A socket's flush of a buffered write does not
 * wait: the background flusher writes, and a close lets it finish. */
static size_t own_close_n;

static int own_close_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream *w, *r;
    mk(kind, &w, &r, 64, NULL);
    int wfd = corio_stream_fd(w);
    wjob wj = {.s = w, .n = own_close_n};
    corio_task *wt;
    CHECK_EQ(corio_task_spawn(&wt, flush_job, &wj), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    bool queued = kind == SOCK && own_close_n <= 64 * 1024;
    CHECK_EQ(wj.done, queued); /* else parked: nobody reads */
    /* Close the stream the task is inside: its call returns -EBADF and the
     * stream (and its descriptor) goes once the call has left. */
    corio_stream_close(w);
    CHECK_EQ(corio_task_join(wt, NULL), 0);
    CHECK_EQ(wj.rc, queued ? 0 : -EBADF);
    if (kind != MEM && !queued)
        CHECK(fcntl(wfd, F_GETFD) < 0);
    /* The peer saw part of the data (all of it once queued), then EOF. */
    char buf[4096];
    ssize_t n, total = 0;
    while ((n = corio_stream_read(r, buf, sizeof buf)) > 0)
        total += n;
    CHECK_EQ(n, 0);
    if (queued)
        CHECK_EQ(total, own_close_n);
    else
        CHECK(total > 0 && (size_t)total < own_close_n);
    corio_stream_close(r);
    return 0;
}

static int own_close_reader_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream *w, *r;
    mk(kind, &w, &r, 0, NULL);
    wjob rj = {.s = r};
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, read_job, &rj), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(rj.done, 0);
    int rfd = corio_stream_fd(r);
    corio_stream_close(r);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(rj.rc, -EBADF);
    if (kind != MEM)
        CHECK(fcntl(rfd, F_GETFD) < 0);
    corio_stream_close(w);
    return 0;
}

TEST(stream, close_while_inside_a_call)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        own_close_n = 100000;
        CHECK_EQ(tst_run(own_close_main, &k), 0);
        own_close_n = 60000;
        CHECK_EQ(tst_run(own_close_main, &k), 0);
        CHECK_EQ(tst_run(own_close_reader_main, &k), 0);
    }
    tst_leak_check();
}

/* ---- one reader and one writer at a time -------------------------------- */

static int busy_main(void *arg)
{
    int kind = *(int *)arg;
    corio_stream *w, *r;
    char buf[8];
    mk(kind, &w, &r, 64, NULL);
    wjob rj = {.s = r}, wj = {.s = w, .n = 100000};
    corio_task *rt, *wt;
    CHECK_EQ(corio_task_spawn(&rt, read_job, &rj), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    /* r's reader is parked: every reading call from another task is
     * refused, writing on r is not. */
    CHECK_EQ(corio_stream_read(r, buf, 1), -EBUSY);
    CHECK_EQ(corio_stream_read_exactly(r, buf, 1), -EBUSY);
    CHECK_EQ(corio_stream_read_until(r, "\n", 1, buf, 8), -EBUSY);
    CHECK_EQ(corio_stream_read_line(r, buf, 8), -EBUSY);
    CHECK_EQ(corio_stream_write(r, "x", 1), 0); /* buffered: no wait */
    CHECK_EQ(corio_stream_write(w, "a", 1), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(rj.rc, 1);

    CHECK_EQ(corio_task_spawn(&wt, flush_job, &wj), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(wj.done, 0);
    CHECK_EQ(corio_stream_write(w, "x", 1), -EBUSY);
    CHECK_EQ(corio_stream_flush(w), -EBUSY);
    CHECK_EQ(corio_stream_shutdown(w), -EBUSY);
    CHECK_EQ(corio_stream_read(w, buf, 0), 0); /* the reading slot is free */
    corio_task_cancel(wt);
    CHECK_EQ(corio_task_join(wt, NULL), 0);
    CHECK_EQ(wj.rc, -ECANCELED);
    /* The writing slot is free again: this write waits (the buffer holds
     * the cancelled write's unsent rest) rather than failing with -EBUSY. */
    CHECK_EQ(corio_timeout_begin(CORIO_MS), 0);
    CHECK_EQ(corio_stream_write(w, buf, 8), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(stream, one_reader_one_writer)
{
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NKINDS; k++) {
        snprintf(cfg, sizeof cfg, "%s", kind_name[k]);
        CHECK_EQ(tst_run(busy_main, &k), 0);
    }
    tst_leak_check();
}

/* ---- allocation failures lose nothing ----------------------------------- */

static int nomem_main(void *arg)
{
    (void)arg;
    corio_stream *w, *r;
    char buf[64];
    CHECK_EQ(corio_stream_pair(&w, &r, 0), 0);
    CHECK_EQ(corio_stream_write(w, "line one\n", 9), 0);
    CHECK_EQ(corio_stream_flush(w), 0);

    /* The read buffer's first allocation fails: -ENOMEM, nothing taken. */
    corio__fault_arm(1, ENOMEM);
    CHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), -ENOMEM);
    CHECK(corio__fault_fired());
    corio__fault_disarm();
    CHECK_EQ(corio_stream_read_line(r, buf, sizeof buf), 9);
    CHECK(strcmp(buf, "line one\n") == 0);

    /* The write buffer's first allocation fails: nothing taken either. */
    corio_stream *w2, *r2;
    CHECK_EQ(corio_stream_pair(&w2, &r2, 0), 0);
    corio__fault_arm(1, ENOMEM);
    CHECK_EQ(corio_stream_write(w2, "abc", 3), -ENOMEM);
    corio__fault_disarm();
    CHECK_EQ(corio_stream_write(w2, "def", 3), 0);
    /* A direct write's reservation fails: nothing taken, the buffered
     * bytes went out first. */
    static char big[100000];
    memset(big, 'g', sizeof big);
    corio__fault_arm(1, ENOMEM);
    CHECK_EQ(corio_stream_write(w2, big, sizeof big), -ENOMEM);
    corio__fault_disarm();
    CHECK_EQ(corio_stream_shutdown(w2), 0);
    CHECK_EQ(corio_stream_read_exactly(r2, buf, 3), 0);
    CHECK(memcmp(buf, "def", 3) == 0);
    CHECK_EQ(corio_stream_read(r2, buf, sizeof buf), 0);
    corio_stream_close(w2);
    corio_stream_close(r2);

    /* Growing the read buffer for a longer line fails: still all there. */
    static char longline[40000];
    memset(longline, 'L', sizeof longline);
    longline[sizeof longline - 1] = '\n';
    corio_task *ft;
    feed f = {.w = w,
              .data = longline,
              .len = sizeof longline,
              .chunk = 8192,
              .fixed = 1};
    CHECK_EQ(corio_task_spawn(&ft, feeder, &f), 0);
    static char got[40001];
    CHECK_EQ(corio_stream_read_exactly(r, got, 10), 0); /* buffer exists */
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_yield(), 0); /* let the feeder fill the ring */
    corio__fault_arm(1, ENOMEM);
    ssize_t n = corio_stream_read_line(r, got + 10, sizeof got - 10);
    int fired = corio__fault_fired();
    corio__fault_disarm();
    CHECK(n == -ENOMEM || !fired);
    n = corio_stream_read_line(r, got + 10, sizeof got - 10);
    CHECK_EQ(n, sizeof longline - 10);
    CHECK(memcmp(got, longline, sizeof longline) == 0);
    CHECK_EQ(corio_task_join(ft, NULL), 0);
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

static int from_fd_sweep_main(void *arg)
{
    (void)arg;
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    int failures = 0;
    for (long n = 1;; n++) {
        corio_stream *s = (corio_stream *)&s;
        corio__fault_arm(n, ENOMEM);
        int rc = corio_stream_from_fd(&s, sv[0], NULL);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            corio_stream_close(s);
            break;
        }
        CHECK(rc < 0);
        CHECK(s == NULL);
        CHECK(fcntl(sv[0], F_GETFD) >= 0); /* not closed on failure */
        failures++;
    }
    CHECK(failures >= 3); /* fcntl, fstat, the transport, the stream */
    CHECK(fcntl(sv[0], F_GETFD) < 0);
    close(sv[1]);

    /* Pair creation fails cleanly at every allocation. */
    failures = 0;
    for (long n = 1;; n++) {
        corio_stream *a = (corio_stream *)&a, *b = (corio_stream *)&b;
        corio__fault_arm(n, ENOMEM);
        int rc = corio_stream_pair(&a, &b, 0);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            corio_stream_close(a);
            corio_stream_close(b);
            break;
        }
        CHECK_EQ(rc, -ENOMEM);
        CHECK(a == NULL && b == NULL);
        failures++;
    }
    CHECK(failures >= 5);
    return 0;
}

TEST(stream, allocation_failures_lose_nothing)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(cfg, sizeof cfg, "nomem");
    CHECK_EQ(tst_run(nomem_main, NULL), 0);
    CHECK_EQ(tst_run(from_fd_sweep_main, NULL), 0);
    tst_leak_check();
}

/* ---- a whole exchange under the fault sweep ---------------------------- */

static int exchange(void *arg)
{
    int kind = *(int *)arg;
    corio_stream *a, *b;
    char buf[64];
    int rc;
    int fds[2];
    if (kind == MEM) {
        rc = corio_stream_pair(&a, &b, 16);
        if (rc < 0)
            return rc;
    } else {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
            return -errno;
        rc = corio_stream_from_fd(&a, fds[0], NULL);
        if (rc < 0) {
            close(fds[0]);
            close(fds[1]);
            return rc;
        }
        rc = corio_stream_from_fd(&b, fds[1], NULL);
        if (rc < 0) {
            corio_stream_close(a);
            close(fds[1]);
            return rc;
        }
    }
    rc = corio_stream_write(a, "hello\nworld\n", 12);
    if (rc == 0)
        rc = corio_stream_shutdown(a);
    ssize_t n = 0;
    if (rc == 0)
        n = corio_stream_read_line(b, buf, sizeof buf);
    if (rc == 0 && n == 6)
        n = corio_stream_read_until(b, "d\n", 2, buf, sizeof buf);
    if (rc == 0 && n == 6)
        n = corio_stream_read(b, buf, sizeof buf);
    if (rc == 0)
        rc = n < 0 ? (int)n : n == 0 ? 0 : -EPROTO;
    corio_stream_close(a);
    corio_stream_close(b);
    return rc;
}

TEST_T(stream, fault_sweep_exchange, 120)
{
    signal(SIGPIPE, SIG_IGN);
    corio_options o = {.virtual_clock = 1};
    for (int kind = MEM; kind <= SOCK; kind++) {
        CHECK_EQ(tst_run_ex(&o, exchange, &kind), 0);
        int failures = 0;
        long n;
        for (n = 1;; n++) {
            corio__fault_arm(n, ENOMEM);
            int rc = tst_run_ex(&o, exchange, &kind);
            int fired = corio__fault_fired();
            corio__fault_disarm();
            if (!fired) {
                CHECK_EQ(rc, 0);
                break;
            }
            failures += rc < 0;
            CHECK_EQ(tst_run_ex(&o, exchange, &kind), 0);
        }
        CHECK(n > 5);
        CHECK(failures > 0);
    }
    tst_leak_check();
}

/* ---- a regular file through a stream ----------------------------------- */

static int file_main(void *arg)
{
    (void)arg;
    char path[] = "/tmp/corio-stream-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK_EQ(write(fd, "one\ntwo\nthree", 13), 13);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    corio_stream *s;
    corio_stream_opts o = {.read_buffer = 5};
    CHECK_EQ(corio_stream_from_fd(&s, fd, &o), 0);
    char buf[16];
    CHECK_EQ(corio_stream_read_line(s, buf, sizeof buf), 4);
    CHECK(strcmp(buf, "one\n") == 0);
    CHECK_EQ(corio_stream_read_line(s, buf, sizeof buf), 4);
    CHECK_EQ(corio_stream_read_line(s, buf, sizeof buf),
             CORIO_ETOOLONG); /* "three" */
    CHECK_EQ(corio_stream_read_exactly(s, buf, 5), 0);
    CHECK_EQ(corio_stream_read_line(s, buf, sizeof buf), 0);
    CHECK_EQ(corio_stream_shutdown(s), -EOPNOTSUPP); /* O_RDWR, not a socket */
    corio_stream_close(s);
    CHECK(fcntl(fd, F_GETFD) < 0);
    return 0;
}

TEST(stream, regular_file)
{
    CHECK_EQ(tst_run(file_main, NULL), 0);
    tst_leak_check();
}
