/* test_http_msg.c — HTTP/1.1 message I/O on streams (src/http/msg.h) over
 * memory stream pairs with small capacities and read buffers, so heads and
 * bodies arrive in pieces, on the virtual clock.
 *
 * Parts:
 *   heads      a head over many fills (pieces of 1..n bytes); blank lines
 *              before a request; clean end (0) and end inside a head
 *              (CORIO_EOF); parser errors; a head over its limit, and a
 *              read buffer smaller than the head limit.
 *   pipelines  several messages in one write, bodies of every kind read in
 *              small pieces, the stream standing at the next head after each.
 *   bodies     LENGTH, CHUNKED, EOF, an early end, bad framing, skip with
 *              its limit, the chunk writer read back by the chunk reader.
 *   cancel     a timeout while waiting for a head leaves the partial head
 *              buffered: the next call completes it. */
#include "tst.h"
#include "http/msg.h"

#include <errno.h>
#include <string.h>

/* A writer sending data in pieces of `piece` bytes, each flushed, then
 * closing (close == 1) or leaving the stream open. */
typedef struct feed {
    corio_stream *w;
    const char *data;
    size_t len, piece;
    int close;
    int rc;
} feed;

static int feeder(void *arg)
{
    feed *f = arg;
    for (size_t i = 0; i < f->len; i += f->piece) {
        size_t k = f->len - i < f->piece ? f->len - i : f->piece;
        if ((f->rc = corio_stream_write(f->w, f->data + i, k)) < 0 ||
            (f->rc = corio_stream_flush(f->w)) < 0)
            return 0;
    }
    if (f->close) {
        corio_stream_close(f->w);
        f->w = NULL;
    }
    return 0;
}

/* A pair (w -> r) and a feeder task on it. */
typedef struct conn {
    corio_stream *w, *r;
    corio_task *t;
    feed f;
} conn;

static void conn_open(conn *c, const char *data, size_t len, size_t piece,
                      size_t capacity, size_t read_buffer, int close)
{
    corio_stream_opts o = {.read_buffer = read_buffer};
    CHECK_EQ(corio_stream_pair_ex(&c->w, &c->r, capacity, &o), 0);
    c->f = (feed){
        .w = c->w, .data = data, .len = len, .piece = piece, .close = close};
    CHECK_EQ(corio_task_spawn(&c->t, feeder, &c->f), 0);
}

/* Close the reader and join the feeder; all_read: it must have written
 * everything (else it may have met the closed end, -EPIPE). */
static void conn_close(conn *c, int all_read)
{
    corio_stream_close(c->r);
    CHECK_EQ(corio_task_join(c->t, NULL), 0);
    if (all_read)
        CHECK_EQ(c->f.rc, 0);
    else
        CHECK(c->f.rc == 0 || c->f.rc == -EPIPE);
    corio_stream_close(c->f.w);
}

static int str_is(corio_http_str v, const char *s)
{
    return v.n == strlen(s) && memcmp(v.p, s, v.n) == 0;
}

/* ---- heads --------------------------------------------------------------- */

static const char two_requests[] =
    "\r\n\r\n\n" /* blank lines before a request are skipped */
    "GET /first HTTP/1.1\r\nHost: a\r\nX-Long: "
    "0123456789012345678901234567890123456789\r\n\r\n"
    "\r\n"
    "GET /second HTTP/1.1\r\nHost: b\r\n\r\n";

static int heads_main(void *arg)
{
    size_t piece = *(size_t *)arg;
    for (size_t cap = 1; cap <= 16; cap *= 4) {
        conn c;
        corio_http_header hs[8];
        corio_http_head h = {.headers = hs, .max_headers = 8};
        conn_open(&c, two_requests, sizeof two_requests - 1, piece, cap, 0, 1);
        ssize_t r = corio__http_read_head(c.r, &h, true, NULL);
        CHECK(r > 0);
        CHECK(str_is(h.target, "/first"));
        CHECK_EQ(h.nheaders, 2);
        CHECK(str_is(h.headers[1].value,
                     "0123456789012345678901234567890123456789"));
        CHECK_EQ(corio_stream_consume(c.r, (size_t)r), 0);
        r = corio__http_read_head(c.r, &h, true, NULL);
        CHECK(r > 0);
        CHECK(str_is(h.target, "/second"));
        CHECK(str_is(h.headers[0].value, "b"));
        CHECK_EQ(corio_stream_consume(c.r, (size_t)r), 0);
        /* clean end, and it stays so */
        CHECK_EQ(corio__http_read_head(c.r, &h, true, NULL), 0);
        CHECK_EQ(corio__http_read_head(c.r, &h, true, NULL), 0);
        conn_close(&c, 1);
    }
    return 0;
}

TEST(http_msg, heads_in_pieces)
{
    for (size_t piece = 1; piece <= 40; piece += 3)
        CHECK_EQ(tst_run(heads_main, &piece), 0);
}

typedef struct end_case {
    const char *in;
    bool is_request;
    size_t read_buffer;
    corio_http_limits lim;
    ssize_t want;
} end_case;

static const end_case end_cases[] = {
    {"GET / HTTP/1.1\r\nHost: x\r\n", true, 0, {0}, CORIO_EOF},
    {"GET / HTT", true, 0, {0}, CORIO_EOF},
    {"\r\n\r", true, 0, {0}, CORIO_EOF},
    {"\r\n\r\n", true, 0, {0}, 0},
    {"", true, 0, {0}, 0},
    {"", false, 0, {0}, 0},
    {"HTTP/1.1 200 OK\r\n", false, 0, {0}, CORIO_EOF},
    {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", true, 0, {0}, CORIO_EHTTP},
    /* an error found only when the stream ends (no blank line came) */
    {"GET / HTTP/1.1\r\nBad Name: x\r\nmore: y\r\n", true, 0, {0}, CORIO_EHTTP},
    {"GET / HTTP/1.1\r\nA: x\r\nB\x01: y\r", true, 0, {0}, CORIO_EHTTP},
    {"HTTP/1.1 20 OK\r\n\r\n", false, 0, {0}, CORIO_EHTTP},
    /* responses do not skip blank lines */
    {"\r\nHTTP/1.1 200 OK\r\n\r\n", false, 0, {0}, CORIO_EHTTP},
    /* limits */
    {"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n",
     true,
     0,
     {.max_start_line = 20},
     CORIO_EURITOOLONG},
    {"GET / HTTP/1.1\r\nA: "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
     true,
     0,
     {.max_head = 40},
     CORIO_EHEADERSTOOLARGE},
    /* a read buffer smaller than the head limit is the limit */
    {"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n",
     true,
     32,
     {0},
     CORIO_EURITOOLONG},
    {"GET / HTTP/1.1\r\nA: "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
     true,
     32,
     {0},
     CORIO_EHEADERSTOOLARGE},
    {"HTTP/1.1 200 "
     "OKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
     false,
     32,
     {0},
     CORIO_EHTTP},
    /* exactly filling the read buffer still parses */
    {"GET /aaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", true, 32, {0}, 32},
};

static int ends_main(void *arg)
{
    const end_case *e = arg;
    for (size_t piece = 1; piece <= 7; piece += 3) {
        conn c;
        corio_http_header hs[8];
        corio_http_head h = {.headers = hs, .max_headers = 8};
        conn_open(&c, e->in, strlen(e->in), piece, 5, e->read_buffer, 1);
        ssize_t r = corio__http_read_head(c.r, &h, e->is_request, &e->lim);
        if (r != e->want)
            fprintf(stderr, "    %s (piece %zu)\n", e->in, piece);
        CHECK_EQ(r, e->want);
        if (r < 0) {
            /* an error consumed nothing but blank lines: the bytes are there */
            const void *d;
            size_t n;
            CHECK_EQ(corio_stream_peek(c.r, &d, &n), 0);
            CHECK(n > 0);
        }
        conn_close(&c, r >= 0);
    }
    return 0;
}

TEST(http_msg, head_ends_and_limits)
{
    for (size_t i = 0; i < sizeof end_cases / sizeof *end_cases; i++)
        CHECK_EQ(tst_run(ends_main, (void *)&end_cases[i]), 0);
}

/* ---- pipelines and bodies ------------------------------------------------ */

static const char pipeline[] =
    "POST /len HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world"
    "POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
    "GET /none HTTP/1.1\r\n\r\n"
    "POST /empty HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    "POST /last HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3\r\nend\r\n0\r\n\r\n";

static const struct {
    const char *target, *body;
} pipeline_want[] = {
    {"/len", "hello world"}, {"/chunked", "hello world"},
    {"/none", ""},           {"/empty", ""},
    {"/last", "end"},
};

typedef struct pipe_case {
    size_t piece, read_n, capacity;
} pipe_case;

static int pipeline_main(void *arg)
{
    pipe_case *pc = arg;
    conn c;
    conn_open(&c, pipeline, sizeof pipeline - 1, pc->piece, pc->capacity, 0, 1);
    for (size_t i = 0; i < sizeof pipeline_want / sizeof *pipeline_want; i++) {
        corio_http_header hs[8];
        corio_http_head h = {.headers = hs, .max_headers = 8};
        ssize_t r = corio__http_read_head(c.r, &h, true, NULL);
        CHECK(r > 0);
        CHECK(str_is(h.target, pipeline_want[i].target));
        int kind = corio_http_body_kind(&h, 1, NULL);
        int64_t cl = h.content_length;
        CHECK_EQ(corio_stream_consume(c.r, (size_t)r), 0);
        corio__http_body b;
        corio__http_body_init(&b, c.r, kind, cl);
        char body[64];
        size_t got = 0;
        for (;;) {
            ssize_t k = corio__http_body_read(&b, body + got, pc->read_n);
            CHECK(k >= 0);
            if (k == 0)
                break;
            got += (size_t)k;
            CHECK(got < sizeof body);
        }
        CHECK(b.done);
        CHECK_EQ(got, strlen(pipeline_want[i].body));
        CHECK(memcmp(body, pipeline_want[i].body, got) == 0);
        CHECK_EQ(corio__http_body_read(&b, body, 1), 0);
    }
    corio_http_header hs[2];
    corio_http_head h = {.headers = hs, .max_headers = 2};
    CHECK_EQ(corio__http_read_head(c.r, &h, true, NULL), 0);
    conn_close(&c, 1);
    return 0;
}

TEST(http_msg, pipelined_bodies)
{
    pipe_case all = {sizeof pipeline, 64, 0}; /* one write, one read */
    CHECK_EQ(tst_run(pipeline_main, &all), 0);
    for (size_t piece = 1; piece <= 13; piece += 4)
        for (size_t read_n = 1; read_n <= 9; read_n += 4) {
            pipe_case pc = {piece, read_n, piece * 2};
            CHECK_EQ(tst_run(pipeline_main, &pc), 0);
        }
}

typedef struct body_case {
    const char *in;
    int kind;
    int64_t length;
    ssize_t want_end; /* the result once the body bytes are read */
    const char *body;
} body_case;

static const body_case body_cases[] = {
    {"abc", CORIO_HTTP_BODY_EOF, -1, 0, "abc"},
    {"", CORIO_HTTP_BODY_EOF, -1, 0, ""},
    {"ab", CORIO_HTTP_BODY_LENGTH, 3, CORIO_EOF, "ab"},
    {"3\r\nabc\r\n", CORIO_HTTP_BODY_CHUNKED, -1, CORIO_EOF, "abc"},
    {"3\r\nabc\r\nz\r\n", CORIO_HTTP_BODY_CHUNKED, -1, CORIO_EHTTP, "abc"},
    {"3\r\nabcd\r\n", CORIO_HTTP_BODY_CHUNKED, -1, CORIO_EHTTP, "abc"},
    {"", CORIO_HTTP_BODY_NONE, -1, 0, ""},
};

static int bodies_main(void *arg)
{
    const body_case *bc = arg;
    conn c;
    conn_open(&c, bc->in, strlen(bc->in), 2, 3, 0, 1);
    corio__http_body b;
    corio__http_body_init(&b, c.r, bc->kind, bc->length);
    char body[32];
    size_t got = 0;
    ssize_t k;
    while ((k = corio__http_body_read(&b, body + got, 2)) > 0)
        got += (size_t)k;
    CHECK_EQ(k, bc->want_end);
    CHECK_EQ(got, strlen(bc->body));
    CHECK(memcmp(body, bc->body, got) == 0);
    conn_close(&c, bc->want_end == 0);
    return 0;
}

TEST(http_msg, body_kinds_and_errors)
{
    for (size_t i = 0; i < sizeof body_cases / sizeof *body_cases; i++)
        CHECK_EQ(tst_run(bodies_main, (void *)&body_cases[i]), 0);
}

static int skip_main(void *arg)
{
    (void)arg;
    static char data[20000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    /* LENGTH: over the limit is known at once, and nothing is read */
    conn c;
    conn_open(&c, data, sizeof data, 4096, 0, 0, 1);
    corio__http_body b;
    corio__http_body_init(&b, c.r, CORIO_HTTP_BODY_LENGTH, 15000);
    CHECK_EQ(corio__http_body_skip(&b, 14999), CORIO_EBODYTOOLARGE);
    CHECK_EQ(corio__http_body_skip(&b, 15000), 0);
    char rest[8];
    CHECK_EQ(corio_stream_read_exactly(c.r, rest, 4), 0);
    CHECK(memcmp(rest, data + 15000, 4) == 0);
    corio__http_body_init(&b, c.r, CORIO_HTTP_BODY_EOF, -1);
    CHECK_EQ(corio__http_body_skip(&b, 100), CORIO_EBODYTOOLARGE);
    conn_close(&c, 1);
    return 0;
}

TEST(http_msg, skip)
{
    CHECK_EQ(tst_run(skip_main, NULL), 0);
}

/* The chunk writer, read back by the chunk reader. */
static int chunks_main(void *arg)
{
    (void)arg;
    corio_stream *w, *r;
    CHECK_EQ(corio_stream_pair(&w, &r, 0), 0);
    static char big[5000];
    memset(big, 'x', sizeof big);
    CHECK_EQ(corio__http_write_chunk(w, "hello", 5), 0);
    CHECK_EQ(corio__http_write_chunk(w, big, sizeof big), 0);
    CHECK_EQ(corio__http_write_chunk(w, NULL, 0), 0);
    CHECK_EQ(corio_stream_write(w, "NEXT", 4), 0);
    CHECK_EQ(corio_stream_flush(w), 0);
    const void *d;
    size_t n;
    CHECK(corio_stream_fill(r) >= 19);
    CHECK_EQ(corio_stream_peek(r, &d, &n), 0);
    CHECK(memcmp(d, "5\r\nhello\r\n1388\r\nxxx", 19) == 0);
    corio__http_body b;
    corio__http_body_init(&b, r, CORIO_HTTP_BODY_CHUNKED, -1);
    static char out[6000];
    size_t got = 0;
    ssize_t k;
    while ((k = corio__http_body_read(&b, out + got, 1000)) > 0)
        got += (size_t)k;
    CHECK_EQ(k, 0);
    CHECK_EQ(got, 5005);
    CHECK(memcmp(out, "hello", 5) == 0 &&
          memcmp(out + 5, big, sizeof big) == 0);
    char next[4];
    CHECK_EQ(corio_stream_read_exactly(r, next, 4), 0);
    CHECK(memcmp(next, "NEXT", 4) == 0);
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(http_msg, write_chunk)
{
    CHECK_EQ(tst_run(chunks_main, NULL), 0);
}

TEST(http_msg, str_eq)
{
    CHECK(corio__http_str_eq((corio_http_str){"Content-Length", 14},
                             "content-length"));
    CHECK(corio__http_str_eq((corio_http_str){"", 0}, ""));
    CHECK(
        !corio__http_str_eq((corio_http_str){"Content", 7}, "content-length"));
    CHECK(
        !corio__http_str_eq((corio_http_str){"Content-Length", 14}, "content"));
    CHECK(!corio__http_str_eq((corio_http_str){"abc", 3}, "abd"));
}

/* ---- cancellation -------------------------------------------------------- */

static int cancel_main(void *arg)
{
    (void)arg;
    static const char part1[] = "GET /cancel HTTP/1.1\r\nHo";
    static const char part2[] = "st: x\r\n\r\n";
    corio_stream *w, *r;
    CHECK_EQ(corio_stream_pair_ex(&w, &r, 8, NULL), 0);
    corio_http_header hs[4];
    corio_http_head h = {.headers = hs, .max_headers = 4};
    /* part1 arrives (the pair holds 8 bytes in flight: a feeder task) */
    feed f = {.w = w, .data = part1, .len = sizeof part1 - 1, .piece = 3};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, feeder, &f), 0);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio__http_read_head(r, &h, true, NULL), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK(corio_now() - t0 >= CORIO_SECOND);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(f.rc, 0);
    /* everything received is still buffered */
    const void *d;
    size_t n;
    CHECK_EQ(corio_stream_peek(r, &d, &n), 0);
    CHECK_EQ(n, sizeof part1 - 1);
    /* the rest arrives: the head completes */
    f = (feed){.w = w, .data = part2, .len = sizeof part2 - 1, .piece = 3};
    CHECK_EQ(corio_task_spawn(&t, feeder, &f), 0);
    ssize_t rl = corio__http_read_head(r, &h, true, NULL);
    CHECK_EQ(rl, (ssize_t)(sizeof part1 + sizeof part2 - 2));
    CHECK(str_is(h.target, "/cancel"));
    CHECK(str_is(h.headers[0].name, "Host"));
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(f.rc, 0);
    corio_stream_close(w);
    corio_stream_close(r);
    return 0;
}

TEST(http_msg, cancel_keeps_buffer)
{
    CHECK_EQ(tst_run(cancel_main, NULL), 0);
}
