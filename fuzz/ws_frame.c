/* fuzz/ws_frame.c — libFuzzer harness for the WebSocket frame codec
 * (src/ws/ws_frame.c) and its use by a receiver: the input's first byte
 * picks the side (bit 0: a server, receiving masked frames from a client)
 * and how payloads are cut into reads; the rest is a stream of frames,
 * received the way src/ws/ws.c does (header, check, payload unmasked as it
 * arrives, fragments reassembled, text checked for UTF-8 across reads and
 * fragments, close frames' codes and reasons checked) until the stream
 * ends or the connection would fail.
 *
 * Invariants:
 *   decode     the result is -EAGAIN exactly when fewer bytes than the
 *              header's length (2, +2 or +8 for the length, +4 for the key)
 *              are present, -EPROTO exactly when a 64-bit length has its top
 *              bit set, else the header's length; every field equals the
 *              reference's bit extraction; each shorter prefix is -EAGAIN.
 *   encode     encoding the decoded fields gives the shortest header, which
 *              decodes to the same fields (and equals the input's header
 *              when that was shortest and had no reserved bits).
 *   check      corio__ws_frame_check agrees with RFC 6455 §5.2-5.5 written
 *              out here: 0 or 1002 (reserved bits, reserved opcodes, the
 *              mask bit for the side, fragmented or > 125-byte control).
 *   mask       unmasking in the reads' pieces (each at its offset in the
 *              payload, in place, at odd addresses) equals the bytewise
 *              XOR, and masking again gives the payload back.
 *   messages   a continuation without a message, or a new message inside
 *              one, is a protocol error (checked against ws.c's rule);
 *              feeding text fragment by fragment and read by read to the
 *              incremental validator gives the same verdict as validating
 *              the whole message at once.
 *   close      a 1-byte payload is an error; a code's validity agrees with
 *              the IANA registry (1000-1003, 1007-1014, 3000-4999) and the
 *              reason's with corio__utf8_valid.
 * Built by fuzz/CMakeLists.txt and, with the entry point renamed, into the
 * corpus replay. */
#include "ws/utf8.h"
#include "ws/ws_frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(c)                                                                \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz/ws_frame.c:%d: %s\n", __LINE__, #c);         \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* The header at p[0..n) by the book: its length (0: incomplete) and
 * fields. */
static size_t ref_header(const unsigned char *p, size_t n, corio__ws_frame *f)
{
    if (n < 2)
        return 0;
    unsigned len7 = p[1] & 0x7F;
    size_t need = 2 +
                  (len7 == 126   ? 2
                   : len7 == 127 ? 8
                                 : 0) +
                  (p[1] & 0x80 ? 4 : 0);
    if (n < need)
        return 0;
    memset(f, 0, sizeof *f);
    f->fin = p[0] >> 7;
    f->rsv = p[0] & 0x70;
    f->opcode = p[0] & 0x0F;
    f->masked = p[1] >> 7;
    size_t k = 2;
    if (len7 < 126) {
        f->len = len7;
    } else {
        int bytes = len7 == 126 ? 2 : 8;
        for (int i = 0; i < bytes; i++)
            f->len = f->len << 8 | p[k++];
    }
    if (f->masked)
        memcpy(f->key, p + k, 4);
    return need;
}

static int ref_check(const corio__ws_frame *f, int from_client)
{
    int control = f->opcode >= 8;
    if (f->rsv || f->masked != from_client)
        return 1002;
    if (f->opcode != 0 && f->opcode != 1 && f->opcode != 2 && f->opcode != 8 &&
        f->opcode != 9 && f->opcode != 10)
        return 1002;
    if (control && (!f->fin || f->len > 125))
        return 1002;
    return 0;
}

static int ref_close_code(int c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
           (c >= 3000 && c <= 4999);
}

static void same_fields(const corio__ws_frame *a, const corio__ws_frame *b)
{
    MUST(a->fin == b->fin && a->opcode == b->opcode && a->len == b->len &&
         a->masked == b->masked);
    if (a->masked)
        MUST(memcmp(a->key, b->key, 4) == 0);
}

static void decode_checked(const unsigned char *p, size_t n, int *rc,
                           corio__ws_frame *f)
{
    corio__ws_frame ref;
    size_t need = ref_header(p, n, &ref);
    /* an exact heap copy of what is there, at most one header's worth */
    size_t k = n < CORIO__WS_HEAD_MAX ? n : CORIO__WS_HEAD_MAX;
    unsigned char *b = malloc(k ? k : 1);
    MUST(b);
    memcpy(b, p, k);
    *rc = corio__ws_frame_decode(f, b, k);
    if (!need) {
        MUST(*rc == -EAGAIN);
    } else if (ref.len >> 63) {
        MUST(*rc == -EPROTO);
    } else {
        MUST(*rc == (int)need);
        same_fields(f, &ref);
        MUST(f->rsv == ref.rsv);
        for (size_t j = 0; j < need; j++) {
            corio__ws_frame g;
            MUST(corio__ws_frame_decode(&g, b, j) == -EAGAIN);
        }
    }
    free(b);
}

static void encode_checked(const corio__ws_frame *f, const unsigned char *in,
                           size_t inlen)
{
    unsigned char out[CORIO__WS_HEAD_MAX];
    size_t n = corio__ws_frame_encode(out, f->fin, f->opcode, f->len,
                                      f->masked ? f->key : NULL);
    size_t shortest = 2 +
                      (f->len < 126       ? 0
                       : f->len <= 0xFFFF ? 2
                                          : 8) +
                      (f->masked ? 4 : 0);
    MUST(n == shortest && n <= inlen);
    corio__ws_frame g;
    MUST(corio__ws_frame_decode(&g, out, n) == (int)n);
    same_fields(&g, f);
    MUST(g.rsv == 0);
    if (n == inlen && !f->rsv)
        MUST(memcmp(out, in, n) == 0);
}

typedef struct rx {
    int from_client;
    unsigned cuts; /* bits choosing read sizes */
    unsigned step;
    int msg_type; /* 0: none, 1 text, 2 binary */
    corio__utf8 utf8;
    int utf8_ok;
    unsigned char *msg; /* the message's unmasked bytes */
    size_t msg_len;
} rx;

static size_t next_read(rx *r)
{
    r->step++;
    return 1 + ((r->cuts >> (r->step % 5)) & 0x3F) * (r->step % 3 + 1);
}

/* Unmask the payload p[0..n) into out in reads, as ws.c does, checking each
 * against the bytewise XOR; text goes to the incremental validator. */
static void payload(rx *r, const corio__ws_frame *f, const unsigned char *p,
                    size_t n, unsigned char *out, int text)
{
    size_t got = 0;
    while (got < n) {
        size_t k = next_read(r);
        if (k > n - got)
            k = n - got;
        /* an exact heap block, at an odd offset when room allows */
        size_t off = r->step & 1;
        unsigned char *b = malloc(k + off);
        MUST(b);
        memcpy(b + off, p + got, k);
        if (f->masked)
            corio__ws_mask(b + off, b + off, k, f->key, got);
        for (size_t i = 0; i < k; i++) {
            unsigned char want = p[got + i];
            if (f->masked)
                want ^= f->key[(got + i) & 3];
            MUST(b[off + i] == want);
        }
        memcpy(out + got, b + off, k);
        if (text && r->utf8_ok)
            r->utf8_ok = corio__utf8_feed(&r->utf8, b + off, k);
        free(b);
        got += k;
    }
    if (f->masked && n) { /* masking twice is the identity */
        unsigned char *b = malloc(n);
        MUST(b);
        corio__ws_mask(b, out, n, f->key, 0);
        MUST(memcmp(b, p, n) == 0);
        free(b);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    rx r = {.from_client = data[0] & 1, .cuts = data[0] >> 1};
    const unsigned char *p = data + 1;
    size_t n = size - 1, pos = 0;
    r.msg = malloc(n + 1);
    unsigned char *ctrl = malloc(n + 1);
    MUST(r.msg && ctrl);
    for (;;) {
        corio__ws_frame f;
        int rc;
        decode_checked(p + pos, n - pos, &rc, &f);
        if (rc < 0)
            break;
        encode_checked(&f, p + pos, (size_t)rc);
        int code = corio__ws_frame_check(&f, r.from_client);
        MUST(code == ref_check(&f, r.from_client));
        if (code)
            break;
        pos += (size_t)rc;
        int control = f.opcode >= 8;
        if (!control) { /* ws.c's start_data */
            if (f.opcode == 0 && !r.msg_type)
                break; /* continuation of nothing: 1002 */
            if (f.opcode != 0 && r.msg_type)
                break; /* a new message inside one: 1002 */
            if (f.opcode != 0) {
                r.msg_type = (int)f.opcode;
                r.msg_len = 0;
                memset(&r.utf8, 0, sizeof r.utf8);
                r.utf8_ok = 1;
            }
        }
        /* the payload there is (a truncated one: what arrived) */
        size_t k = f.len < n - pos ? (size_t)f.len : n - pos;
        unsigned char *dst = control ? ctrl : r.msg + r.msg_len;
        payload(&r, &f, p + pos, k, dst, !control && r.msg_type == 1);
        pos += k;
        if (k < f.len)
            break; /* the stream ended inside the payload */
        if (control) {
            if (f.opcode != 8)
                continue;
            if (k == 1)
                break; /* 1002 */
            if (k >= 2) {
                int c = ctrl[0] << 8 | ctrl[1];
                MUST(corio__ws_close_code_valid(c) == ref_close_code(c));
                corio__utf8 u = {0};
                int ok = corio__utf8_feed(&u, ctrl + 2, k - 2) &&
                         corio__utf8_complete(&u);
                MUST(corio__utf8_valid(ctrl + 2, k - 2) == ok);
            }
            break; /* closed */
        }
        r.msg_len += k;
        if (r.msg_type == 1 && !r.utf8_ok) {
            /* failed fast: the message so far cannot begin valid text */
            MUST(!corio__utf8_valid(r.msg, r.msg_len));
            break;
        }
        if (!f.fin)
            continue;
        if (r.msg_type == 1)
            MUST(corio__utf8_valid(r.msg, r.msg_len) ==
                 corio__utf8_complete(&r.utf8));
        r.msg_type = 0;
    }
    free(r.msg);
    free(ctrl);
    return 0;
}
