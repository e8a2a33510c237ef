/* fuzz/parse.c — libFuzzer harness for the HTTP/1.1 parsers (corio/http.h):
 * request and response heads, the chunked decoder and the URL parser on
 * arbitrary bytes, checking their invariants (abort() on a violation; ASan
 * catches any read past the input, which sits in a heap block of exactly
 * its size).
 *
 * Invariants:
 *   heads     the result is -EAGAIN, a corio error, or a length <= len;
 *             every view lies inside the input; nheaders <= max_headers;
 *             each prefix of the input gives -EAGAIN or the same result
 *             (a success reports the same length); the same under small
 *             limits, where errors must be limit errors only when the
 *             defaults accept a longer input.
 *   chunked   the input fed in one call, split in two at every point of a
 *             sample, and byte by byte decodes to the same body, the same
 *             rest and the same result.
 *   URLs      on success the views lie inside the input, the port is in
 *             1..65535, tls matches the scheme.
 *
 * Built by fuzz/CMakeLists.txt (clang, -fsanitize=fuzzer) and, with the
 * entry point renamed, into the corpus replay of the main build. */
#include <corio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(c)                                                                \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz/parse.c:%d: %s\n", __LINE__, #c);            \
            abort();                                                           \
        }                                                                      \
    } while (0)

typedef ssize_t (*parse_fn)(corio_http_head *, const char *, size_t,
                            const corio_http_limits *);

static void view_inside(corio_http_str v, const char *b, size_t len)
{
    if (v.n)
        MUST(v.p >= b && v.p + v.n <= b + len);
}

static int known_result(ssize_t r)
{
    return r >= 0 || r == -EAGAIN || r == CORIO_EHTTP ||
           r == CORIO_EURITOOLONG || r == CORIO_EHEADERSTOOLARGE;
}

static ssize_t parse_checked(parse_fn fn, const char *b, size_t len,
                             const corio_http_limits *lim, size_t max_headers)
{
    corio_http_header hs[32];
    corio_http_head h = {.headers = hs, .max_headers = max_headers};
    ssize_t r = fn(&h, b, len, lim);
    MUST(known_result(r));
    if (r >= 0) {
        MUST((size_t)r <= len);
        MUST(h.nheaders <= max_headers);
        view_inside(h.method, b, (size_t)r);
        view_inside(h.target, b, (size_t)r);
        view_inside(h.reason, b, (size_t)r);
        for (size_t i = 0; i < h.nheaders; i++) {
            view_inside(h.headers[i].name, b, (size_t)r);
            view_inside(h.headers[i].value, b, (size_t)r);
            MUST(h.headers[i].name.n > 0);
        }
        MUST(h.minor_version == 0 || h.minor_version == 1);
        MUST(h.content_length >= -1);
        if (fn == corio_http_parse_response)
            MUST(h.status >= 100 && h.status <= 999);
        if (h.flags & CORIO_HTTP_CHUNKED)
            MUST(h.content_length == -1);
        (void)corio_http_body_kind(&h, fn == corio_http_parse_request, "GET");
    }
    return r;
}

/* Parse b whole and at prefixes (all of them for short inputs, a sample for
 * long ones: each copy is its own heap block, flush against its end). */
static ssize_t parse_prefixes(parse_fn fn, const char *data, size_t len,
                              const corio_http_limits *lim, size_t max_headers)
{
    char *b = malloc(len ? len : 1);
    MUST(b);
    memcpy(b, data, len);
    ssize_t full = parse_checked(fn, b, len, lim, max_headers);
    free(b);
    size_t step = len <= 300 ? 1 : len / 97 + 1;
    for (size_t k = 0; k < len; k += step) {
        char *p = malloc(k ? k : 1);
        MUST(p);
        memcpy(p, data, k);
        ssize_t r = parse_checked(fn, p, k, lim, max_headers);
        free(p);
        if (full >= 0 && k >= (size_t)full)
            MUST(r == full);
        else
            MUST(r == -EAGAIN || r == full);
    }
    return full;
}

static void heads(parse_fn fn, const char *data, size_t len)
{
    static const corio_http_limits small = {.max_start_line = 40,
                                            .max_head = 200};
    ssize_t big = parse_prefixes(fn, data, len, NULL, 32);
    ssize_t lim = parse_prefixes(fn, data, len, &small, 4);
    /* Smaller limits never accept what the defaults refuse, and when both
     * accept they agree. */
    if (big < 0 && big != -EAGAIN)
        MUST(lim < 0);
    if (big >= 0 && lim >= 0)
        MUST(big == lim);
}

/* Decode data with pieces cut at `cuts` (ascending, < len); returns the
 * result (for success: how many input bytes followed the body) and fills
 * out/outn (body), rest/restn (what followed). */
static ssize_t chunked_pieces(const char *data, size_t len, const size_t *cuts,
                              size_t ncuts, char *out, size_t *outn, char *rest,
                              size_t *restn)
{
    corio_http_chunked c;
    corio_http_chunked_init(&c);
    c.max_line = 64;
    c.max_trailer = 256;
    size_t pos = 0;
    ssize_t r = -EAGAIN;
    *outn = *restn = 0;
    for (size_t i = 0; i <= ncuts && pos < len; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end <= pos)
            continue;
        size_t k = end - pos;
        char *p = malloc(k);
        MUST(p);
        memcpy(p, data + pos, k);
        size_t n = k;
        r = corio_http_chunked_decode(&c, p, &n);
        MUST(r == -EAGAIN || r == CORIO_EHTTP ||
             (r >= 0 && (size_t)r + n <= k));
        MUST(n <= k);
        memcpy(out + *outn, p, n);
        *outn += n;
        if (r >= 0) {
            memcpy(rest, p + n, (size_t)r);
            memcpy(rest + r, data + end, len - end);
            *restn = (size_t)r + len - end;
        }
        free(p);
        pos = end;
        if (r != -EAGAIN)
            break;
    }
    /* success: the count of bytes after the body, over all the pieces */
    return r >= 0 ? (ssize_t)*restn : r;
}

static void chunked(const char *data, size_t len)
{
    char *out1 = malloc(len + 1), *rest1 = malloc(len + 1);
    char *out2 = malloc(len + 1), *rest2 = malloc(len + 1);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    MUST(out1 && rest1 && out2 && rest2 && cuts);
    size_t o1, r1, o2, r2;
    ssize_t whole = chunked_pieces(data, len, NULL, 0, out1, &o1, rest1, &r1);
    size_t step = len <= 200 ? 1 : len / 53 + 1;
    for (size_t cut = 1; cut < len; cut += step) {
        ssize_t r = chunked_pieces(data, len, &cut, 1, out2, &o2, rest2, &r2);
        MUST(r == whole);
        if (r != CORIO_EHTTP) /* on an error the output so far may differ */
            MUST(o1 == o2 && memcmp(out1, out2, o1) == 0);
        if (r >= 0)
            MUST(r1 == r2 && memcmp(rest1, rest2, r1) == 0);
    }
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    ssize_t r = chunked_pieces(data, len, cuts, len, out2, &o2, rest2, &r2);
    MUST(r == whole);
    if (r != CORIO_EHTTP)
        MUST(o1 == o2 && memcmp(out1, out2, o1) == 0);
    if (r >= 0)
        MUST(r1 == r2 && memcmp(rest1, rest2, r1) == 0);
    free(out1);
    free(rest1);
    free(out2);
    free(rest2);
    free(cuts);
}

static void url(const char *data, size_t len)
{
    char *b = malloc(len ? len : 1);
    MUST(b);
    memcpy(b, data, len);
    corio_url u;
    int r = corio_url_parse(&u, b, len);
    MUST(r == 0 || r == CORIO_EURL);
    if (r == 0) {
        view_inside(u.scheme, b, len);
        view_inside(u.host, b, len);
        MUST(u.host.n > 0);
        MUST(u.port >= 1 && u.port <= 65535);
        MUST(u.target.n > 0 && u.target.p[0] == '/');
        MUST(u.tls == (u.scheme.n == 5 || u.scheme.n == 3)); /* https, wss */
        for (size_t i = 0; i < u.target.n; i++)
            MUST(u.target.p[i] != '#');
    }
    free(b);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *d = (const char *)data;
    heads(corio_http_parse_request, d, size);
    heads(corio_http_parse_response, d, size);
    chunked(d, size);
    url(d, size);
    return 0;
}
