/* test_http_parse.c — the zero-copy HTTP/1.1 parser, the chunked decoder
 * and the URL parser (corio/http.h), table-driven.
 *
 * Parts:
 *   the guard       every input is copied to end exactly at a PROT_NONE
 *                   page, so a read past len traps; every proper prefix of
 *                   every input is parsed too (also flush against the
 *                   guard) and must give -EAGAIN, or the same answer once
 *                   it holds the whole head (or the same error).
 *   requests        valid heads with every field of corio_http_head
 *                   checked; one row per rejection class (smuggling, bare
 *                   CR, obs-fold, whitespace before ':', bad tokens, control
 *                   bytes, bad Content-Length, versions, duplicate Host).
 *   limits          start line, head size and field count, on complete
 *                   heads and on endless incomplete ones (slowloris).
 *   responses       status lines, body kinds, framing on responses.
 *   chunked         every valid body split at every byte and fed byte by
 *                   byte; extensions, trailers, the bytes after the body;
 *                   every rejection class; the limits.
 *   URLs, reasons   corio_url_parse, corio_http_reason. */
#include "tst.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- the guard page ------------------------------------------------------ */

static char *guard_base;
static size_t guard_cap;

/* Copy s[0..n) so that it ends at the first byte of a PROT_NONE page. */
static const char *guarded(const char *s, size_t n)
{
    if (!guard_base) {
        size_t pg = (size_t)sysconf(_SC_PAGESIZE);
        guard_cap = (256u * 1024 + pg - 1) / pg * pg;
        guard_base = mmap(NULL, guard_cap + pg, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(guard_base != MAP_FAILED);
        CHECK_EQ(mprotect(guard_base + guard_cap, pg, PROT_NONE), 0);
    }
    CHECK(n <= guard_cap);
    memcpy(guard_base + guard_cap - n, s, n);
    return guard_base + guard_cap - n;
}

typedef ssize_t (*parse_fn)(corio_http_head *, const char *, size_t,
                            const corio_http_limits *);

static corio_http_header hdrs[64];

/* Parse s (guarded) and every prefix of it (sampled for long inputs);
 * returns the whole input's result, h holding its head. */
static ssize_t parse_all(parse_fn fn, corio_http_head *h, const char *s,
                         size_t n, const corio_http_limits *lim,
                         size_t max_headers)
{
    corio_http_head ph = {.headers = hdrs, .max_headers = max_headers};
    ssize_t full;
    size_t step = n > 4096 ? 997 : 1;
    *h = (corio_http_head){.headers = hdrs, .max_headers = max_headers};
    full = fn(h, guarded(s, n), n, lim);
    for (size_t k = 0; k < n; k += step) {
        ssize_t r = fn(&ph, guarded(s, k), k, lim);
        if (full >= 0 && k >= (size_t)full) {
            if (r != full)
                fprintf(stderr, "    prefix %zu of %.*s\n", k,
                        (int)(n < 200 ? n : 200), s);
            CHECK_EQ(r, full);
        } else if (r != -EAGAIN && r != full) {
            fprintf(stderr, "    prefix %zu of %.*s\n", k,
                    (int)(n < 200 ? n : 200), s);
            CHECK_EQ(r, full);
        }
    }
    /* The views of the last parse point into the guarded copy. */
    return fn(h, guarded(s, n), n, lim);
}

static int str_is(corio_http_str v, const char *s)
{
    return v.n == strlen(s) && memcmp(v.p, s, v.n) == 0;
}

/* ---- requests ------------------------------------------------------------ */

typedef struct req_case {
    const char *in;
    ssize_t ret; /* -1: strlen(in) */
    const char *method, *target;
    int minor;
    size_t nheaders;
    int64_t cl;
    unsigned flags;
} req_case;

static const req_case good_requests[] = {
    {"GET / HTTP/1.1\r\n\r\n", -1, "GET", "/", 1, 0, -1, 0},
    {"GET / HTTP/1.0\r\n\r\n", -1, "GET", "/", 0, 0, -1, CORIO_HTTP_CLOSE},
    {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", -1, "GET", "/", 0, 1,
     -1, 0},
    {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", -1, "GET", "/", 1, 1, -1,
     CORIO_HTTP_CLOSE},
    {"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "
     "websocket\r\n\r\n",
     -1, "GET", "/", 1, 2, -1, CORIO_HTTP_UPGRADE},
    {"GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n", -1, "GET", "/", 1, 1, -1,
     0},
    {"POST /up HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: "
     "3\r\n\r\nabc",
     62, "POST", "/up", 1, 2, 3, CORIO_HTTP_CONTINUE},
    {"POST /x?y=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -1, "POST",
     "/x?y=1", 1, 1, -1, CORIO_HTTP_CHUNKED},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", -1, "POST",
     "/", 1, 1, -1, CORIO_HTTP_CHUNKED},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     -1, "POST", "/", 1, 2, -1, CORIO_HTTP_CHUNKED},
    {"PUT / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", -1, "PUT", "/", 1, 1, 5,
     0},
    {"PUT / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length:5\r\n\r\n", -1,
     "PUT", "/", 1, 2, 5, 0},
    {"PUT / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", -1, "PUT", "/", 1, 1, 0, 0},
    {"PUT / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", -1, "PUT",
     "/", 1, 1, INT64_MAX, 0},
    /* bare LF line ends (RFC 9112 §2.2), mixed with CRLF */
    {"GET /a HTTP/1.1\nHost: x\r\nA: b\n\n", -1, "GET", "/a", 1, 2, -1, 0},
    /* HTTP/1.2 is processed as 1.1 */
    {"GET / HTTP/1.2\r\n\r\n", -1, "GET", "/", 1, 0, -1, 0},
    {"GET http://example.com:8080/p?q HTTP/1.1\r\n\r\n", -1, "GET",
     "http://example.com:8080/p?q", 1, 0, -1, 0},
    {"CONNECT example.com:443 HTTP/1.1\r\n\r\n", -1, "CONNECT",
     "example.com:443", 1, 0, -1, 0},
    {"OPTIONS * HTTP/1.1\r\n\r\n", -1, "OPTIONS", "*", 1, 0, -1, 0},
    {"M-SEARCH /%C3%A9\xc3\xa9 HTTP/1.1\r\n\r\n", -1, "M-SEARCH",
     "/%C3%A9\xc3\xa9", 1, 0, -1, 0},
    /* body bytes after the head are not part of it */
    {"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", 18, "GET", "/", 1, 0, -1,
     0},
};

TEST(http_parse, requests_valid)
{
    for (size_t i = 0; i < sizeof good_requests / sizeof *good_requests; i++) {
        const req_case *c = &good_requests[i];
        corio_http_head h;
        size_t n = strlen(c->in);
        ssize_t r = parse_all(corio_http_parse_request, &h, c->in, n, NULL, 64);
        if (r != (c->ret < 0 ? (ssize_t)n : c->ret))
            fprintf(stderr, "    case %zu: %s\n", i, c->in);
        CHECK_EQ(r, c->ret < 0 ? (ssize_t)n : c->ret);
        CHECK(str_is(h.method, c->method));
        CHECK(str_is(h.target, c->target));
        CHECK_EQ(h.minor_version, c->minor);
        CHECK_EQ(h.nheaders, c->nheaders);
        CHECK_EQ(h.content_length, c->cl);
        CHECK_EQ(h.flags, c->flags);
        CHECK_EQ(h.status, 0);
    }
}

TEST(http_parse, request_fields)
{
    static const char in[] = "GET /p HTTP/1.1\r\n"
                             "Host: example.com\r\n"
                             "X-Empty:\r\n"
                             "X-Pad: \t padded value \t \r\n"
                             "X-Obs: caf\xc3\xa9\tx\r\n"
                             "x-dup: 1\r\n"
                             "X-DUP: 2\r\n"
                             "\r\n";
    corio_http_head h;
    ssize_t r =
        parse_all(corio_http_parse_request, &h, in, sizeof in - 1, NULL, 64);
    CHECK_EQ(r, (ssize_t)sizeof in - 1);
    CHECK_EQ(h.nheaders, 6);
    CHECK(str_is(h.headers[0].name, "Host"));
    CHECK(str_is(h.headers[0].value, "example.com"));
    CHECK(str_is(h.headers[1].name, "X-Empty"));
    CHECK_EQ(h.headers[1].value.n, 0);
    CHECK(str_is(h.headers[2].value, "padded value"));
    CHECK(str_is(h.headers[3].value, "caf\xc3\xa9\tx"));
    /* views point into the buffer given */
    CHECK(h.headers[0].name.p >= guard_base &&
          h.headers[0].name.p < guard_base + guard_cap);
    const corio_http_str *v = corio_http_head_get(&h, "x-dup");
    CHECK(v && str_is(*v, "1"));
    v = corio_http_head_get(&h, "HOST");
    CHECK(v && str_is(*v, "example.com"));
    CHECK(corio_http_head_get(&h, "missing") == NULL);
    CHECK(corio_http_head_get(&h, "Hos") == NULL);
    CHECK(corio_http_head_get(&h, "Hostx") == NULL);
}

typedef struct bad_case {
    const char *in;
    ssize_t err;
} bad_case;

#define E CORIO_EHTTP
static const bad_case bad_requests[] = {
    /* request smuggling */
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     E},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: "
     "5\r\n\r\n",
     E},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: ,5\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
     "gzip\r\n\r\n",
     E},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", E},
    {"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", E},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", E},
    /* bare CR, obs-fold, whitespace before the colon */
    {"GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n", E},
    {"GET / HTTP/1.1\rX\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA: b\r\n\rX", E},
    {"GET / HTTP/1.1\r\nA: b\r\n continued\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA: b\r\n\tcontinued\r\n\r\n", E},
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", E},
    /* field names and values */
    {"GET / HTTP/1.1\r\n: empty\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA@b: c\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA(b): c\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA\xc3\xa9: c\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", E},
    {"GET / HTTP/1.1\r\nA: \x1b[31m\r\n\r\n", E},
    /* request line */
    {"G(T / HTTP/1.1\r\n\r\n", E},
    {"G\x01T / HTTP/1.1\r\n\r\n", E},
    {" GET / HTTP/1.1\r\n\r\n", E},
    {"\r\nGET / HTTP/1.1\r\n\r\n", E},
    {"GET  / HTTP/1.1\r\n\r\n", E},
    {"GET /  HTTP/1.1\r\n\r\n", E},
    {"GET / HTTP/1.1 \r\n\r\n", E},
    {"GET\t/ HTTP/1.1\r\n\r\n", E},
    {"GET /a\x01 HTTP/1.1\r\n\r\n", E},
    {"GET /a\x7f HTTP/1.1\r\n\r\n", E},
    {"GET / HTTP/1.1x\r\n\r\n", E},
    {"GET /\r\n\r\n", E},
    {"GET / \r\n\r\n", E},
    {"GET HTTP/1.1\r\n\r\n", E},
    {"GET / http/1.1\r\n\r\n", E},
    {"GET / HTTP/2.0\r\n\r\n", E},
    {"GET / HTTP/0.9\r\n\r\n", E},
    {"GET / HTTP/1.a\r\n\r\n", E},
    {"GET / HTTP/11\r\n\r\n", E},
    {"GET / HTTP/1.1\n\r\r\n", E},
};
#undef E

TEST(http_parse, requests_rejected)
{
    for (size_t i = 0; i < sizeof bad_requests / sizeof *bad_requests; i++) {
        const bad_case *c = &bad_requests[i];
        size_t n = strlen(c->in);
        corio_http_head h;
        ssize_t r = parse_all(corio_http_parse_request, &h, c->in, n, NULL, 64);
        if (r != c->err)
            fprintf(stderr, "    case %zu: %s\n", i, c->in);
        CHECK_EQ(r, c->err);
    }
    /* A NUL inside a value (strlen would stop at it). */
    static const char nul[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
    corio_http_head h;
    CHECK_EQ(
        parse_all(corio_http_parse_request, &h, nul, sizeof nul - 1, NULL, 64),
        CORIO_EHTTP);
}

/* ---- limits -------------------------------------------------------------- */

static char big[200 * 1024];

/* "GET /aaaa... HTTP/1.1\r\n" with a start line of exactly line bytes. */
static size_t long_request_line(size_t line)
{
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', line - 5 - 9);
    memcpy(big + line - 9, " HTTP/1.1\r\n", 11);
    return line + 2;
}

TEST(http_parse, limits_start_line)
{
    corio_http_head h;
    corio_http_limits lim = {.max_start_line = 100};
    size_t n = long_request_line(100);
    memcpy(big + n, "\r\n", 2);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n + 2, &lim, 64),
             (ssize_t)n + 2);
    n = long_request_line(101);
    memcpy(big + n, "\r\n", 2);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n + 2, &lim, 64),
             CORIO_EURITOOLONG);
    /* An endless request line: 414 as soon as it passes the limit. */
    memset(big, 'a', 5000);
    memcpy(big, "GET /", 5);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, 100, &lim, 64),
             -EAGAIN);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, 101, &lim, 64),
             CORIO_EURITOOLONG);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, 5000, &lim, 64),
             CORIO_EURITOOLONG);
    /* Even a method that never ends. */
    memset(big, 'G', 5000);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, 5000, &lim, 64),
             CORIO_EURITOOLONG);
    /* The default: 8 KiB. */
    n = long_request_line(8192);
    memcpy(big + n, "\r\n", 2);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n + 2, NULL, 64),
             (ssize_t)n + 2);
    n = long_request_line(8193);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, NULL, 64),
             CORIO_EURITOOLONG);
    /* Responses have no 414: their status line over the limit is EHTTP. */
    memcpy(big, "HTTP/1.1 200 ", 13);
    memset(big + 13, 'x', 200);
    CHECK_EQ(parse_all(corio_http_parse_response, &h, big, 213, &lim, 64),
             CORIO_EHTTP);
}

/* A request with nfields fields "X-n: vvvv" of value length vlen. */
static size_t many_fields(size_t nfields, size_t vlen, int terminate)
{
    size_t n = 0;
    n += (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
    for (size_t i = 0; i < nfields; i++) {
        n += (size_t)sprintf(big + n, "X-%zu: ", i);
        memset(big + n, 'v', vlen);
        n += vlen;
        memcpy(big + n, "\r\n", 2);
        n += 2;
    }
    if (terminate) {
        memcpy(big + n, "\r\n", 2);
        n += 2;
    }
    return n;
}

TEST(http_parse, limits_head)
{
    corio_http_head h;
    size_t n = many_fields(64, 10, 1);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, NULL, 64),
             (ssize_t)n);
    CHECK_EQ(h.nheaders, 64);
    n = many_fields(65, 10, 1);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, NULL, 64),
             CORIO_EHEADERSTOOLARGE);
    /* no room for any field */
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, NULL, 0),
             CORIO_EHEADERSTOOLARGE);
    n = many_fields(0, 0, 1);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, NULL, 0),
             (ssize_t)n);

    /* max_head: the whole head, blank line included. */
    n = many_fields(10, 50, 1);
    corio_http_limits lim = {.max_head = n};
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, &lim, 64),
             (ssize_t)n);
    lim.max_head = n - 1;
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, &lim, 64),
             CORIO_EHEADERSTOOLARGE);
    /* An endless field value: 431 as soon as the head passes the limit. */
    n = many_fields(1, 100000, 0);
    lim.max_head = 1000;
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, 1000, &lim, 64),
             -EAGAIN);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, 1001, &lim, 64),
             CORIO_EHEADERSTOOLARGE);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, NULL, 64),
             CORIO_EHEADERSTOOLARGE); /* default 64 KiB */
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, 65536, NULL, 64),
             -EAGAIN);
    /* Endlessly many small fields: the count limit. */
    n = many_fields(100, 1, 0);
    CHECK_EQ(parse_all(corio_http_parse_request, &h, big, n, NULL, 64),
             CORIO_EHEADERSTOOLARGE);
}

TEST(http_parse, arguments)
{
    corio_http_head h = {0};
    CHECK_EQ(corio_http_parse_request(NULL, "x", 1, NULL), -EINVAL);
    CHECK_EQ(corio_http_parse_request(&h, NULL, 1, NULL), -EINVAL);
    CHECK_EQ(corio_http_parse_response(&h, NULL, 1, NULL), -EINVAL);
    h.max_headers = 3; /* but no array */
    CHECK_EQ(corio_http_parse_request(&h, "GET / HTTP/1.1\r\n\r\n", 18, NULL),
             -EINVAL);
    h.max_headers = 0;
    CHECK_EQ(corio_http_parse_request(&h, "", 0, NULL), -EAGAIN);
    CHECK(corio_http_head_get(NULL, "a") == NULL);
}

/* ---- responses ----------------------------------------------------------- */

typedef struct resp_case {
    const char *in;
    int status;
    const char *reason;
    int minor;
    int64_t cl;
    unsigned flags;
    int kind; /* for a GET */
} resp_case;

static const resp_case good_responses[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, "OK", 1, 5, 0,
     CORIO_HTTP_BODY_LENGTH},
    {"HTTP/1.1 404 Not Found\r\n\r\n", 404, "Not Found", 1, -1, 0,
     CORIO_HTTP_BODY_EOF},
    {"HTTP/1.1 200 \r\n\r\n", 200, "", 1, -1, 0, CORIO_HTTP_BODY_EOF},
    {"HTTP/1.1 204\r\n\r\n", 204, "", 1, -1, 0, CORIO_HTTP_BODY_NONE},
    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 304,
     "Not Modified", 1, 10, 0, CORIO_HTTP_BODY_NONE},
    {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "
     "websocket\r\n\r\n",
     101, "Switching Protocols", 1, -1, CORIO_HTTP_UPGRADE,
     CORIO_HTTP_BODY_NONE},
    {"HTTP/1.1 100 Continue\n\n", 100, "Continue", 1, -1, 0,
     CORIO_HTTP_BODY_NONE},
    {"HTTP/1.0 200 OK\r\n\r\n", 200, "OK", 0, -1, CORIO_HTTP_CLOSE,
     CORIO_HTTP_BODY_EOF},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, "OK", 1, -1,
     CORIO_HTTP_CHUNKED, CORIO_HTTP_BODY_CHUNKED},
    /* codings not ending in chunked: the body runs to the close */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 200, "OK", 1, -1, 0,
     CORIO_HTTP_BODY_EOF},
    {"HTTP/1.1 999 Whatever it is \t\xff\r\nConnection: close\r\n\r\n", 999,
     "Whatever it is \t\xff", 1, -1, CORIO_HTTP_CLOSE, CORIO_HTTP_BODY_EOF},
    {"HTTP/1.1 200 OK\r\nExpect: 100-continue\r\n\r\n", 200, "OK", 1, -1, 0,
     CORIO_HTTP_BODY_EOF},
};

TEST(http_parse, responses_valid)
{
    for (size_t i = 0; i < sizeof good_responses / sizeof *good_responses;
         i++) {
        const resp_case *c = &good_responses[i];
        corio_http_head h;
        size_t n = strlen(c->in);
        ssize_t r =
            parse_all(corio_http_parse_response, &h, c->in, n, NULL, 64);
        if (r != (ssize_t)n)
            fprintf(stderr, "    case %zu: %s\n", i, c->in);
        CHECK_EQ(r, (ssize_t)n);
        CHECK_EQ(h.status, c->status);
        CHECK(str_is(h.reason, c->reason));
        CHECK_EQ(h.minor_version, c->minor);
        CHECK_EQ(h.content_length, c->cl);
        CHECK_EQ(h.flags, c->flags);
        CHECK_EQ(h.method.n, 0);
        CHECK_EQ(corio_http_body_kind(&h, 0, "GET"), c->kind);
    }
}

#define E CORIO_EHTTP
static const bad_case bad_responses[] = {
    {"HTTP/1.1 20 OK\r\n\r\n", E},
    {"HTTP/1.1 2000 OK\r\n\r\n", E},
    {"HTTP/1.1 099 Low\r\n\r\n", E},
    {"HTTP/1.1 2x0 OK\r\n\r\n", E},
    {"HTTP/1.1  200 OK\r\n\r\n", E},
    {"HTTP/1.1 200 O\x01K\r\n\r\n", E},
    {"HTTP/1.1 200 OK\rX\r\n\r\n", E},
    {"HTTP/2 200 OK\r\n\r\n", E},
    {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     E},
    {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", E},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", E},
    {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", E},
    {"HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n", E},
    {"HTTP/1.1 200 OK\r\nA : x\r\n\r\n", E},
    {"ICY 200 OK\r\n\r\n", E},
};
#undef E

TEST(http_parse, responses_rejected)
{
    for (size_t i = 0; i < sizeof bad_responses / sizeof *bad_responses; i++) {
        corio_http_head h;
        ssize_t r =
            parse_all(corio_http_parse_response, &h, bad_responses[i].in,
                      strlen(bad_responses[i].in), NULL, 64);
        if (r != bad_responses[i].err)
            fprintf(stderr, "    case %zu: %s\n", i, bad_responses[i].in);
        CHECK_EQ(r, bad_responses[i].err);
    }
}

TEST(http_parse, body_kind)
{
    corio_http_head h;
    static const char clen[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    CHECK_EQ(parse_all(corio_http_parse_response, &h, clen, sizeof clen - 1,
                       NULL, 64),
             (ssize_t)sizeof clen - 1);
    CHECK_EQ(corio_http_body_kind(&h, 0, "HEAD"), CORIO_HTTP_BODY_NONE);
    CHECK_EQ(corio_http_body_kind(&h, 0, "CONNECT"), CORIO_HTTP_BODY_NONE);
    CHECK_EQ(corio_http_body_kind(&h, 0, NULL), CORIO_HTTP_BODY_LENGTH);
    static const char c403[] = "HTTP/1.1 403 No\r\nContent-Length: 5\r\n\r\n";
    CHECK_EQ(parse_all(corio_http_parse_response, &h, c403, sizeof c403 - 1,
                       NULL, 64),
             (ssize_t)sizeof c403 - 1);
    CHECK_EQ(corio_http_body_kind(&h, 0, "CONNECT"), CORIO_HTTP_BODY_LENGTH);

    static const char get[] = "GET / HTTP/1.1\r\n\r\n";
    CHECK_EQ(
        parse_all(corio_http_parse_request, &h, get, sizeof get - 1, NULL, 64),
        (ssize_t)sizeof get - 1);
    CHECK_EQ(corio_http_body_kind(&h, 1, NULL), CORIO_HTTP_BODY_NONE);
    static const char post[] = "POST / HTTP/1.1\r\nContent-Length: 7\r\n\r\n";
    CHECK_EQ(parse_all(corio_http_parse_request, &h, post, sizeof post - 1,
                       NULL, 64),
             (ssize_t)sizeof post - 1);
    CHECK_EQ(corio_http_body_kind(&h, 1, NULL), CORIO_HTTP_BODY_LENGTH);
    static const char chunk[] =
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK_EQ(parse_all(corio_http_parse_request, &h, chunk, sizeof chunk - 1,
                       NULL, 64),
             (ssize_t)sizeof chunk - 1);
    CHECK_EQ(corio_http_body_kind(&h, 1, NULL), CORIO_HTTP_BODY_CHUNKED);
}

TEST(http_parse, has_token)
{
    corio_http_str v = {"keep-alive, Upgrade ,gzip;q=0.5,,", 33};
    CHECK(corio_http_str_has_token(v, "upgrade"));
    CHECK(corio_http_str_has_token(v, "KEEP-ALIVE"));
    CHECK(corio_http_str_has_token(v, "gzip"));
    CHECK(!corio_http_str_has_token(v, "keep"));
    CHECK(!corio_http_str_has_token(v, "q=0.5"));
    CHECK(!corio_http_str_has_token(v, ""));
    CHECK(!corio_http_str_has_token((corio_http_str){"", 0}, "close"));
    CHECK(corio_http_str_has_token((corio_http_str){"close", 5}, "close"));
}

/* ---- chunked ------------------------------------------------------------- */

/* Decode in (guarded copies) split at `split` and fed as two calls, or fed
 * one byte per call when split is (size_t)-1.  Returns the result of the
 * call that ended the body (or the first error, or -EAGAIN); *out gets the
 * decoded body and *rest the bytes after it. */
static ssize_t chunked_run(const char *in, size_t n, size_t split,
                           const corio_http_chunked *lim, char *out,
                           size_t *outn, char *rest, size_t *restn)
{
    corio_http_chunked c;
    corio_http_chunked_init(&c);
    if (lim) {
        c.max_line = lim->max_line;
        c.max_trailer = lim->max_trailer;
    }
    size_t pos = 0;
    ssize_t r = -EAGAIN;
    *outn = *restn = 0;
    while (pos < n && r == -EAGAIN) {
        size_t k = split == (size_t)-1 ? 1
                   : pos < split       ? split - pos
                                       : n - pos;
        if (k == 0)
            k = n - pos;
        /* in place, flush against the guard page */
        char *work = (char *)guarded(in + pos, k);
        size_t len = k;
        r = corio_http_chunked_decode(&c, work, &len);
        memcpy(out + *outn, work, len);
        *outn += len;
        if (r >= 0) {
            memcpy(rest, work + len, (size_t)r);
            *restn = (size_t)r;
            CHECK((size_t)r <= k);
            /* and what follows the body is untouched further input */
            memcpy(rest + r, in + pos + k, n - pos - k);
            *restn += n - pos - k;
        }
        pos += k;
    }
    return r;
}

typedef struct chunk_case {
    const char *in;
    const char *body; /* NULL: rejected with err */
    const char *rest;
    ssize_t err;
} chunk_case;

static const chunk_case chunk_cases[] = {
    {"5\r\nhello\r\n0\r\n\r\n", "hello", "", 0},
    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT", "hello world", "NEXT", 0},
    {"A\r\n0123456789\r\n0000\r\n\r\n", "0123456789", "", 0},
    {"a\r\n0123456789\r\n0\r\n\r\n", "0123456789", "", 0},
    {"0\r\n\r\n", "", "", 0},
    {"000000000000000000000000001\r\nx\r\n0\r\n\r\n", "x", "", 0},
    /* extensions: parsed and dropped */
    {"5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello", "", 0},
    {"5 ; a = b ; c ; d=\"q \\\" ;\"\r\nhello\r\n0\r\n\r\n", "hello", "", 0},
    {"5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello", "", 0},
    /* trailers: parsed and dropped */
    {"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1 2\t3\r\n\r\nrest", "abc",
     "rest", 0},
    {"3\r\nabc\r\n0\r\nEmpty:\r\n\r\n", "abc", "", 0},
    /* rejections */
    {"\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},  /* empty size */
    {"g\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP}, /* not hex */
    {"-5\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"0x5\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"5 \r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP}, /* BWS without ext */
    {" 5\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"1 0\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"8000000000000000\r\n", NULL, NULL, CORIO_EHTTP},     /* 2^63 */
    {"10000000000000000\r\n", NULL, NULL, CORIO_EHTTP},    /* 2^64 */
    {"5\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},    /* bare LF */
    {"5\rhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},    /* bare CR */
    {"5\r\nhelloX\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP}, /* data too long */
    {"5\r\nhello\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"5\r\nhello0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"5;\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP}, /* empty ext name */
    {"5;a=\r\nhello\r\n0\r\n\r\n", NULL, NULL,
     CORIO_EHTTP}, /* empty ext value */
    {"5;a=\"x\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP}, /* open quote */
    {"5;a@b\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"5;a=b c\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"0\r\nA : b\r\n\r\n", NULL, NULL, CORIO_EHTTP}, /* trailer ws */
    {"0\r\n folded\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"0\r\nA: b\x01\r\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"0\r\nA: b\n\r\n", NULL, NULL, CORIO_EHTTP},
    {"0\r\n\n", NULL, NULL, CORIO_EHTTP},
    {"0\r\n\rX", NULL, NULL, CORIO_EHTTP},
};

TEST(http_parse, chunked_cases)
{
    char out[4096], rest[4096];
    for (size_t i = 0; i < sizeof chunk_cases / sizeof *chunk_cases; i++) {
        const chunk_case *c = &chunk_cases[i];
        size_t n = strlen(c->in);
        for (size_t split = 0; split <= n + 1; split++) {
            size_t outn, restn;
            size_t sp = split == n + 1 ? (size_t)-1 : split;
            ssize_t r =
                chunked_run(c->in, n, sp, NULL, out, &outn, rest, &restn);
            if (c->body) {
                if (r < 0 || outn != strlen(c->body) ||
                    memcmp(out, c->body, outn) != 0 ||
                    restn != strlen(c->rest) ||
                    memcmp(rest, c->rest, restn) != 0)
                    fprintf(stderr, "    case %zu split %zu: %s -> %zd\n", i,
                            split, c->in, r);
                CHECK(r >= 0);
                CHECK_EQ(outn, strlen(c->body));
                CHECK(memcmp(out, c->body, outn) == 0);
                CHECK_EQ(restn, strlen(c->rest));
                CHECK(memcmp(rest, c->rest, restn) == 0);
            } else {
                if (r != c->err)
                    fprintf(stderr, "    case %zu split %zu: %s -> %zd\n", i,
                            split, c->in, r);
                CHECK_EQ(r, c->err);
            }
        }
    }
}

TEST(http_parse, chunked_incomplete_and_limits)
{
    char out[8192], rest[8192];
    size_t outn, restn;
    /* every proper prefix of a valid body asks for more */
    static const char body[] = "5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n";
    for (size_t k = 0; k < sizeof body - 1; k++)
        CHECK_EQ(
            chunked_run(body, k, (size_t)-1, NULL, out, &outn, rest, &restn),
            -EAGAIN);
    /* a zeroed decoder works like an initialised one */
    corio_http_chunked z = {0};
    char w[] = "3\r\nabc\r\n0\r\n\r\n";
    size_t len = sizeof w - 1;
    CHECK_EQ(corio_http_chunked_decode(&z, w, &len), 0);
    CHECK_EQ(len, 3);
    CHECK(memcmp(w, "abc", 3) == 0);
    /* after the end, everything is "after the body" */
    char more[] = "GET";
    len = 3;
    CHECK_EQ(corio_http_chunked_decode(&z, more, &len), 3);
    CHECK_EQ(len, 0);
    len = 1;
    CHECK_EQ(corio_http_chunked_decode(NULL, w, &len), -EINVAL);
    CHECK_EQ(corio_http_chunked_decode(&z, NULL, &len), -EINVAL);

    /* max_line: a size line with extensions */
    corio_http_chunked lim = {.max_line = 20, .max_trailer = 29};
    static const char line20[] = "5;aaaaaaaaaaaaaaaaaa\r\nhello\r\n0\r\n\r\n";
    static const char line21[] = "5;aaaaaaaaaaaaaaaaaaa\r\nhello\r\n0\r\n\r\n";
    CHECK_EQ(chunked_run(line20, sizeof line20 - 1, 7, &lim, out, &outn, rest,
                         &restn),
             0);
    CHECK_EQ(chunked_run(line21, sizeof line21 - 1, 7, &lim, out, &outn, rest,
                         &restn),
             CORIO_EHTTP);
    /* an endless size line fails at the limit, not at its end */
    memset(big, '0', 5000);
    CHECK_EQ(chunked_run(big, 4096, 100, NULL, out, &outn, rest, &restn),
             -EAGAIN);
    CHECK_EQ(chunked_run(big, 4097, 100, NULL, out, &outn, rest, &restn),
             CORIO_EHTTP);
    CHECK_EQ(chunked_run(big, 5000, (size_t)-1, NULL, out, &outn, rest, &restn),
             CORIO_EHTTP);
    /* trailers: each line within max_line, all of them within max_trailer */
    static const char tr_ok[] =
        "0\r\nA: 123456789\r\nB: 12345678\r\n\r\n"; /* 29 */
    static const char tr_big[] = "0\r\nA: 123456789\r\nB: 123456789\r\n\r\n";
    CHECK_EQ(
        chunked_run(tr_ok, sizeof tr_ok - 1, 2, &lim, out, &outn, rest, &restn),
        0);
    CHECK_EQ(chunked_run(tr_big, sizeof tr_big - 1, 2, &lim, out, &outn, rest,
                         &restn),
             CORIO_EHTTP);
    /* large chunk sizes are fine up to 2^63 - 1 (the data just has to come) */
    static const char huge[] = "7fffffffffffffff\r\nabc";
    CHECK_EQ(
        chunked_run(huge, sizeof huge - 1, 5, NULL, out, &outn, rest, &restn),
        -EAGAIN);
    CHECK_EQ(outn, 3);
}

/* ---- URLs ---------------------------------------------------------------- */

typedef struct url_case {
    const char *in;
    const char *host, *target;
    int port, tls;
} url_case;

static const url_case good_urls[] = {
    {"http://example.com", "example.com", "/", 80, 0},
    {"http://example.com/", "example.com", "/", 80, 0},
    {"HTTPS://Example.COM/a/b?c=d#frag", "Example.COM", "/a/b?c=d", 443, 1},
    {"http://example.com#frag", "example.com", "/", 80, 0},
    {"ws://h:8080/chat", "h", "/chat", 8080, 0},
    {"wss://h:1/", "h", "/", 1, 1},
    {"http://h:65535", "h", "/", 65535, 0},
    {"http://[::1]:8443/x", "::1", "/x", 8443, 0},
    {"https://[2001:db8::7]/", "2001:db8::7", "/", 443, 1},
    {"http://127.0.0.1:80/%20x", "127.0.0.1", "/%20x", 80, 0},
    {"http://a-b.c_d~e%41/", "a-b.c_d~e%41", "/", 80, 0},
    {"http://h/p?q#f?g", "h", "/p?q", 80, 0},
};

static const char *const bad_urls[] = {
    "",
    "http",
    "http:",
    "http://",
    "http:/h/",
    "ftp://h/",
    "//h/",
    "/path",
    "httpx://h/",
    "http://user@h/",
    "http://user:pw@h/",
    "http://:80/",
    "http://h:/",
    "http://h:0/",
    "http://h:65536/",
    "http://h:123456/",
    "http://h:8x/",
    "http://h:-1/",
    "http://h :80/",
    "http://h/a b",
    "http://h/\x01",
    "http://h/\x7f",
    "http://h/\xc3\xa9",
    "http://[::1/",
    "http://[]/",
    "http://[::1]x/",
    "http://[g::1]/",
    "http://h?q",
    "http://h%zz/",
    "http://h%4/",
    "http://h<>/",
    "http://h\t/",
};

TEST(http_parse, urls)
{
    for (size_t i = 0; i < sizeof good_urls / sizeof *good_urls; i++) {
        const url_case *c = &good_urls[i];
        size_t n = strlen(c->in);
        corio_url u;
        int r = corio_url_parse(&u, guarded(c->in, n), n);
        if (r != 0)
            fprintf(stderr, "    %s\n", c->in);
        CHECK_EQ(r, 0);
        CHECK(str_is(u.host, c->host));
        CHECK(str_is(u.target, c->target));
        CHECK_EQ(u.port, c->port);
        CHECK_EQ(u.tls, c->tls);
        CHECK_EQ(u.scheme.n, strcspn(c->in, ":"));
    }
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        size_t n = strlen(bad_urls[i]);
        corio_url u;
        int r = corio_url_parse(&u, guarded(bad_urls[i], n), n);
        if (r != CORIO_EURL)
            fprintf(stderr, "    %s\n", bad_urls[i]);
        CHECK_EQ(r, CORIO_EURL);
    }
    corio_url u;
    CHECK_EQ(corio_url_parse(NULL, "http://h", 8), -EINVAL);
    CHECK_EQ(corio_url_parse(&u, NULL, 8), -EINVAL);
    /* length, not NUL, ends the URL */
    CHECK_EQ(corio_url_parse(&u, "http://h/abc", 10), 0);
    CHECK(str_is(u.target, "/a"));
}

TEST(http_parse, reasons)
{
    CHECK(strcmp(corio_http_reason(200), "OK") == 0);
    CHECK(strcmp(corio_http_reason(404), "Not Found") == 0);
    CHECK(strcmp(corio_http_reason(414), "URI Too Long") == 0);
    CHECK(strcmp(corio_http_reason(431), "Request Header Fields Too Large") ==
          0);
    CHECK(strcmp(corio_http_reason(101), "Switching Protocols") == 0);
    CHECK(strcmp(corio_http_reason(299), "") == 0);
    CHECK(strcmp(corio_http_reason(-1), "") == 0);
}
