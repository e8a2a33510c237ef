/* http/decode.c — streaming gzip / deflate decoding of a response body
 * with zlib.
 *
 * inflateInit2(15 + 32) reads both gzip and zlib framing (it detects which
 * from the first bytes).  "deflate" is meant to be zlib-wrapped (RFC 9110
 * §8.4.1.2) but some servers send raw deflate: when the input is refused
 * before any output and within its first IN_BUF bytes, the decoder
 * restarts in raw mode (-15) from the body's first byte, as curl and
 * browsers do.  Until that decision is past, reads append to in[] instead
 * of overwriting it, so the answer does not depend on how the body was cut
 * into reads.  An empty body is an empty coding (no bytes at all, as some
 * servers send with Content-Length: 0).  Once the compressed stream ends,
 * whatever is left of the body (counting what was already read) is read
 * and dropped, up to TRAILING_MAX, so the connection can be reused.
 * fuzz/decode.c checks all of this against zlib in one call. */
#include "http/session.h"

#include "os/sys.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Compressed bytes read ahead of the inflater. */
#define IN_BUF 16384

/* After the compressed stream ends, at most this much trailing body is
 * dropped before the connection is given up on. */
#define TRAILING_MAX (64u << 10)

struct corio__http_decoder {
    z_stream z;
    bool raw_tried; /* restarted as raw deflate */
    bool ended;     /* Z_STREAM_END seen */
    bool in_eof;    /* the body ended */
    bool any;       /* a body byte was read */
    bool full;      /* the last inflate filled its output: it may hold more */
    int err;        /* a data error found after output: the next read's */
    size_t in_len;  /* bytes in in[]: since the first (while appending) or
                       the last refill */
    unsigned char in[IN_BUF];
};

int corio__http_decoder_new(corio__http_decoder **out, corio_http_str coding)
{
    *out = NULL;
    if (!corio__http_str_eq(coding, "gzip") &&
        !corio__http_str_eq(coding, "x-gzip") &&
        !corio__http_str_eq(coding, "deflate"))
        return 1;
    corio__http_decoder *d = corio__sys.malloc(sizeof *d);
    if (!d)
        return -ENOMEM;
    memset(&d->z, 0, sizeof d->z);
    d->raw_tried = d->ended = d->in_eof = d->any = d->full = false;
    d->err = 0;
    d->in_len = 0;
    if (inflateInit2(&d->z, 15 + 32) != Z_OK) {
        free(d);
        return -ENOMEM;
    }
    *out = d;
    return 0;
}

ssize_t corio__http_decoder_read(corio__http_decoder *d, corio__http_body *b,
                                 void *buf, size_t n)
{
    if (n > UINT_MAX)
        n = UINT_MAX;
    if (d->err)
        return d->err;
    while (!d->ended) {
        /* More input only once inflate has nothing left to give from what
         * it holds (a long match can outlast the caller's buffer): a body
         * that fails next must not hide output already decodable. */
        if (!d->z.avail_in && !d->in_eof && !d->full) {
            /* Before any output, while all that was read is in in[] (up
             * to IN_BUF), append: the raw retry below starts from it. */
            size_t at = !d->raw_tried && d->z.total_out == 0 &&
                                d->z.total_in == d->in_len &&
                                d->in_len < sizeof d->in
                            ? d->in_len
                            : 0;
            ssize_t got =
                corio__http_body_read(b, d->in + at, sizeof d->in - at);
            if (got < 0)
                return got;
            if (got == 0) {
                d->in_eof = true;
                if (!d->any) { /* an empty body */
                    d->ended = true;
                    break;
                }
            } else {
                d->any = true;
                d->in_len = at + (size_t)got;
                d->z.next_in = d->in + at;
                d->z.avail_in = (uInt)got;
            }
        }
        /* At the end of the body inflate still runs (with no input): it
         * may hold output that did not fit the last call's buffer. */
        d->z.next_out = buf;
        d->z.avail_out = (uInt)n;
        int zr = inflate(&d->z, Z_NO_FLUSH);
        if (zr == Z_DATA_ERROR && !d->raw_tried && d->z.total_out == 0 &&
            d->z.total_in <= d->in_len) {
            /* Not zlib or gzip framing: try raw deflate from the first
             * byte. */
            d->raw_tried = true;
            if (inflateReset2(&d->z, -15) != Z_OK)
                return CORIO_EHTTP;
            d->z.next_in = d->in;
            d->z.avail_in = (uInt)d->in_len;
            continue;
        }
        size_t out = n - d->z.avail_out;
        d->full = d->z.avail_out == 0;
        if (zr == Z_STREAM_END) {
            d->ended = true;
        } else if ((zr == Z_BUF_ERROR && d->in_eof) || /* truncated */
                   (zr != Z_OK && zr != Z_BUF_ERROR)) {
            /* The bytes decoded before the bad data are delivered first;
             * the error is the next read's (nothing valid is lost). */
            if (!out)
                return CORIO_EHTTP;
            d->err = CORIO_EHTTP;
        }
        if (out)
            return (ssize_t)out;
    }
    /* The bytes after the stream's end already read count as trailing. */
    int rc = corio__http_body_skip(b, TRAILING_MAX - d->z.avail_in);
    return rc < 0 ? rc : 0;
}

void corio__http_decoder_free(corio__http_decoder *d)
{
    if (!d)
        return;
    inflateEnd(&d->z);
    free(d);
}
