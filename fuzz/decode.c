/* fuzz/decode.c — libFuzzer harness for the gzip / deflate body decoder
 * (src/http/decode.c).  The decoder reads its compressed input through
 * corio__http_body_read; this file supplies that function (and
 * corio__http_body_skip) over the fuzz input instead of a stream, so the
 * decoder runs alone.  The input's first four bytes are controls: the
 * Content-Encoding (gzip, x-gzip, deflate or an unknown one), the size of
 * the caller's buffer (1..4096), how the body arrives in reads, whether
 * it ends in a stream error, and how many KiB of junk follow it; the rest
 * is the body.
 *
 * Invariants:
 *   bounded    every read returns at most the n bytes asked for, into an
 *              exact heap block (ASan traps a write past it), and leaves
 *              the bytes after its count untouched; a consumer holding at
 *              most LIMIT bytes (as corio_http_response_body does with
 *              max_body) gets the whole body or "too large", never more.
 *   results    a read returns a count, 0 at the end, CORIO_EHTTP (corrupt
 *              or truncated), CORIO_EBODYTOOLARGE (too much after the
 *              compressed stream) or the body's own error, nothing else.
 *   reference  the body read whole into a big buffer gives what zlib's
 *              inflate gives on the whole input in one call (gzip or zlib
 *              framing; raw deflate when that fails before any output and
 *              within the first 16 KiB; an empty body is an empty
 *              result), with at most 64 KiB after the compressed stream.
 *   pieces     the same body arriving in small reads, into a small buffer,
 *              gives the same result and the same bytes; on an error the
 *              bytes delivered before it are a prefix of what the reference
 *              decoded.  (One latitude, the same for both runs: when the
 *              body itself fails, the decoder reports it as soon as it
 *              asks for more input, so output zlib still held, or a data
 *              error in bits it held, may go unreported.)
 * Built by fuzz/CMakeLists.txt and, with the entry point renamed, into the
 * corpus replay (whose library's own msg.c is then not linked in). */
#include "http/session.h"

#include <zlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(c)                                                                \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz/decode.c:%d: %s\n", __LINE__, #c);           \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define LIMIT ((size_t)256 << 10) /* the consumer's max_body */
#define WINDOW 16384              /* decode.c's IN_BUF: the raw retry's */
#define TRAILING ((size_t)64 << 10)
#define BODY_ERR (-ECONNRESET)

/* ---- the body: the fuzz input, in reads ---------------------------------- */

static struct {
    const unsigned char *p;
    size_t len, junk, pos; /* len bytes, then junk zero bytes */
    unsigned seed;         /* 0: each read takes all it may */
    int fail;              /* end with BODY_ERR instead of the end */
} body;

ssize_t corio__http_body_read(corio__http_body *b, void *buf, size_t n)
{
    (void)b;
    size_t total = body.len + body.junk;
    if (body.pos == total)
        return body.fail ? BODY_ERR : 0;
    if (body.seed) {
        body.seed = body.seed * 1103515245u + 12345u;
        size_t k = 1 + (body.seed >> 16) % 97;
        if (n > k)
            n = k;
    }
    if (n > total - body.pos)
        n = total - body.pos;
    size_t k = body.pos < body.len ? body.len - body.pos : 0;
    if (k > n)
        k = n;
    memcpy(buf, body.p + body.pos, k);
    memset((unsigned char *)buf + k, 0, n - k); /* the junk */
    body.pos += n;
    return (ssize_t)n;
}

int corio__http_body_skip(corio__http_body *b, uint64_t max)
{
    char tmp[4096];
    uint64_t total = 0;
    for (;;) {
        ssize_t r = corio__http_body_read(b, tmp, sizeof tmp);
        if (r <= 0)
            return (int)r;
        total += (uint64_t)r;
        if (total > max)
            return CORIO_EBODYTOOLARGE;
    }
}

/* ---- the reference: zlib in one call --------------------------------------
 */

typedef struct result {
    int rc; /* 0, CORIO_EHTTP, CORIO_EBODYTOOLARGE, BODY_ERR */
    unsigned char *out;
    size_t n; /* bytes decoded (<= LIMIT + 1) */
} result;

static int inflate_all(const unsigned char *in, size_t len, int bits,
                       unsigned char *out, size_t *outn, size_t *used)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    MUST(inflateInit2(&z, bits) == Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)(LIMIT + 1);
    int zr = inflate(&z, Z_FINISH);
    *outn = z.total_out;
    *used = z.total_in;
    inflateEnd(&z);
    return zr;
}

/* in[0..len) is the whole body, junk included. */
static void reference(result *r, const unsigned char *in, size_t len, int fail)
{
    size_t used;
    r->rc = 0;
    if (len == 0) {
        r->n = 0;
        r->rc = fail ? BODY_ERR : 0;
        return;
    }
    int zr = inflate_all(in, len, 15 + 32, r->out, &r->n, &used);
    if (zr == Z_DATA_ERROR && r->n == 0 && used <= WINDOW)
        zr = inflate_all(in, len, -15, r->out, &r->n, &used);
    if (r->n > LIMIT) {
        r->rc = CORIO_EBODYTOOLARGE;
        return;
    }
    if (zr != Z_STREAM_END)
        r->rc = fail && zr == Z_BUF_ERROR ? BODY_ERR : CORIO_EHTTP;
    else if (len - used > TRAILING)
        r->rc = CORIO_EBODYTOOLARGE;
    else if (fail)
        r->rc = BODY_ERR;
}

/* ---- the decoder, read by a bounded consumer ------------------------------
 */

static void run(result *r, corio_http_str coding, size_t bufn, unsigned seed,
                const unsigned char *in, size_t len, size_t junk, int fail)
{
    corio__http_decoder *d;
    corio__http_body b;
    memset(&b, 0, sizeof b);
    body.p = in;
    body.len = len;
    body.junk = junk;
    body.pos = 0;
    body.seed = seed;
    body.fail = fail;
    MUST(corio__http_decoder_new(&d, coding) == 0 && d);
    unsigned char *buf = malloc(bufn);
    static unsigned char canary[65536];
    MUST(buf && bufn <= sizeof canary);
    memset(canary, 0xA5, bufn);
    r->n = 0;
    for (;;) {
        memset(buf, 0xA5, bufn);
        ssize_t got = corio__http_decoder_read(d, &b, buf, bufn);
        MUST(got <= (ssize_t)bufn);
        if (got < 0) {
            MUST(got == CORIO_EHTTP || got == CORIO_EBODYTOOLARGE ||
                 got == BODY_ERR);
            r->rc = (int)got;
            break;
        }
        MUST(memcmp(buf + got, canary, bufn - (size_t)got) == 0);
        if (got == 0) {
            r->rc = 0;
            break;
        }
        size_t keep = (size_t)got;
        if (r->n + keep > LIMIT + 1)
            keep = LIMIT + 1 - r->n;
        memcpy(r->out + r->n, buf, keep);
        r->n += keep;
        if (r->n > LIMIT) {
            r->rc = CORIO_EBODYTOOLARGE; /* the consumer stops here */
            break;
        }
    }
    free(buf);
    corio__http_decoder_free(d);
}

/* A failing body fails the decoder as soon as it asks for more input,
 * which may come before zlib has decoded all the bits it already holds: a
 * data error there may show as the body's error instead. */
static int same_rc(int got, int want, int fail)
{
    return got == want || (fail && want == CORIO_EHTTP && got == BODY_ERR);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char *const codings[] = {"gzip", "x-gzip", "deflate",
                                          "DEFLATE"};
    if (size < 4)
        return 0;
    corio__http_decoder *d;
    const char *name = codings[data[0] & 3];
    corio_http_str coding = {name, strlen(name)};
    if (data[0] & 0x80) { /* not ours: no decoder */
        corio_http_str other = {"br", 2};
        MUST(corio__http_decoder_new(&d, other) == 1 && !d);
        return 0;
    }
    int fail = (data[0] >> 2) & 1;
    size_t junk = (data[0] >> 3 & 1) ? (size_t)data[3] << 9 : 0;
    size_t bufn = 1 + ((size_t)data[1] << 4 | (data[2] & 15));
    unsigned seed = 1 + ((unsigned)data[2] << 8 | data[3]);
    const unsigned char *in = data + 4;
    size_t len = size - 4;
    unsigned char *copy = malloc(len ? len : 1);
    unsigned char *all = calloc(len + junk + 1, 1); /* the body and junk */
    MUST(copy && all);
    memcpy(copy, in, len);
    memcpy(all, in, len);

    /* the outputs: allocated once, as the fuzzer runs this a lot */
    static unsigned char *outs[3];
    for (int i = 0; i < 3; i++)
        if (!outs[i])
            MUST((outs[i] = malloc(LIMIT + 1)));
    result ref = {.out = outs[0]}, whole = {.out = outs[1]},
           pieces = {.out = outs[2]};
    reference(&ref, all, len + junk, fail);
    run(&whole, coding, 65536, 0, copy, len, junk, fail);
    run(&pieces, coding, bufn, seed, copy, len, junk, fail);

    MUST(same_rc(whole.rc, ref.rc, fail));
    if (whole.rc == 0)
        MUST(whole.n == ref.n);
    MUST(same_rc(pieces.rc, ref.rc, fail));
    if (pieces.rc == 0)
        MUST(pieces.n == ref.n && memcmp(pieces.out, ref.out, ref.n) == 0);
    else
        MUST(pieces.n <= ref.n && memcmp(pieces.out, ref.out, pieces.n) == 0);
    MUST(whole.n <= ref.n && memcmp(whole.out, ref.out, whole.n) == 0);
    free(copy);
    free(all);
    return 0;
}
