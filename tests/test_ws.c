/* test_ws.c — WebSocket (corio/ws.h) on the virtual clock.
 *
 * Parts:
 *   codec          frame header encode/decode at every length form, every
 *                  truncation, the 64-bit length's top bit; masking against
 *                  a byte-wise reference at every offset and alignment; the
 *                  UTF-8 validator on RFC 3629's edge cases, fed whole and
 *                  split at every byte.
 *   frames         a corio_ws over one end of a memory stream pair, and a
 *                  hand-built peer on the other that writes exact frame
 *                  bytes and reads back what corio answers: each edge case
 *                  of RFC 6455 (and Autobahn's sections 1-7) as bytes — mask
 *                  bit per side, RSV bits, reserved opcodes, fragmented or
 *                  long control frames, continuation without a start, a new
 *                  message inside a fragmented one, invalid UTF-8 whole,
 *                  split across fragments and in a close reason, 1009,
 *                  pings answered, the close handshake both ways, close
 *                  codes, cancellation in the middle of a frame, end of
 *                  stream.
 *   two tasks      a pong owed while another task is inside a large frame
 *                  waits for the frame's end; -EBUSY per direction; close
 *                  beside a receiving task; a cancelled send closes.
 *   handshake      the client handshake over a memory pair against a peer
 *                  that answers with exact bytes, good and bad; the server
 *                  side through corio_http_serve_conn, and its 400s.
 *   fault sweep    every allocation and system call of a session failed in
 *                  turn: an error, never a wrong answer, a hang or a leak.
 *   round trips    corio_ws_connect to corio_ws_accept over loopback
 *                  sockets (ws and wss), and against Python's websockets
 *                  library as a real peer on both sides. */
#include "tst.h"
#include "os/sys.h"
#include "ws/utf8.h"
#include "ws/ws.h"
#include "ws/ws_frame.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* ---- codec ------------------------------------------------------------ */

TEST(ws, frame_codec)
{
    static const uint64_t lens[] = {0,
                                    1,
                                    125,
                                    126,
                                    127,
                                    65535,
                                    65536,
                                    (uint64_t)1 << 32,
                                    ((uint64_t)1 << 63) - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (int masked = 0; masked < 2; masked++) {
            uint8_t b[CORIO__WS_HEAD_MAX], key[4] = {9, 8, 7, 6};
            corio__ws_frame f;
            size_t n = corio__ws_frame_encode(b, i & 1, CORIO__WS_BINARY,
                                              lens[i], masked ? key : NULL);
            size_t want = 2 +
                          (lens[i] < 126     ? 0
                           : lens[i] < 65536 ? 2
                                             : 8) +
                          (masked ? 4 : 0);
            CHECK_EQ(n, want);
            for (size_t k = 0; k < n; k++)
                CHECK_EQ(corio__ws_frame_decode(&f, b, k), -EAGAIN);
            CHECK_EQ(corio__ws_frame_decode(&f, b, n), (int)n);
            CHECK_EQ(f.len, lens[i]);
            CHECK_EQ(f.fin, (bool)(i & 1));
            CHECK_EQ(f.opcode, CORIO__WS_BINARY);
            CHECK_EQ(f.masked, (bool)masked);
            CHECK_EQ(f.rsv, 0);
            if (masked)
                CHECK(memcmp(f.key, key, 4) == 0);
        }
    /* RFC 6455 §5.7: a masked "Hello". */
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58};
    corio__ws_frame f;
    uint8_t out[5];
    CHECK_EQ(corio__ws_frame_decode(&f, hello, sizeof hello), 6);
    CHECK(f.fin && f.masked && f.len == 5 && f.opcode == CORIO__WS_TEXT);
    corio__ws_mask(out, hello + 6, 5, f.key, 0);
    CHECK(memcmp(out, "Hello", 5) == 0);
    /* 64-bit length with the top bit set; RSV bits are reported. */
    uint8_t big[10] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
    CHECK_EQ(corio__ws_frame_decode(&f, big, sizeof big), -EPROTO);
    uint8_t rsv[2] = {0xC1, 0};
    CHECK_EQ(corio__ws_frame_decode(&f, rsv, 2), 2);
    CHECK_EQ(f.rsv, 0x40);
    CHECK_EQ(corio__ws_frame_check(&f, false), CORIO__WS_PROTOCOL);
    /* Non-minimal length forms are accepted. */
    uint8_t wide[4] = {0x82, 126, 0, 5};
    CHECK_EQ(corio__ws_frame_decode(&f, wide, 4), 4);
    CHECK_EQ(f.len, 5);
}

TEST(ws, frame_check)
{
    corio__ws_frame f = {.fin = true, .opcode = CORIO__WS_TEXT};
    CHECK_EQ(corio__ws_frame_check(&f, false), 0);
    CHECK_EQ(corio__ws_frame_check(&f, true),
             CORIO__WS_PROTOCOL); /* unmasked */
    f.masked = true;
    CHECK_EQ(corio__ws_frame_check(&f, true), 0);
    CHECK_EQ(corio__ws_frame_check(&f, false), CORIO__WS_PROTOCOL); /* masked */
    for (unsigned op = 0; op < 16; op++) {
        f.opcode = op;
        bool known = op <= 2 || (op >= 8 && op <= 10);
        CHECK_EQ(corio__ws_frame_check(&f, true),
                 known ? 0 : CORIO__WS_PROTOCOL);
    }
    f.opcode = CORIO__WS_PING;
    f.len = 125;
    CHECK_EQ(corio__ws_frame_check(&f, true), 0);
    f.len = 126;
    CHECK_EQ(corio__ws_frame_check(&f, true), CORIO__WS_PROTOCOL);
    f.len = 0;
    f.fin = false;
    CHECK_EQ(corio__ws_frame_check(&f, true), CORIO__WS_PROTOCOL);
    f.opcode = CORIO__WS_BINARY;
    CHECK_EQ(corio__ws_frame_check(&f, true), 0); /* data may be fragmented */
    for (int c = 0; c < 6000; c++) {
        bool ok = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                  (c >= 3000 && c <= 4999);
        CHECK_EQ(corio__ws_close_code_valid(c), ok);
    }
}

TEST(ws, mask)
{
    uint8_t src[300], a[300 + 8], b[300];
    const uint8_t key[4] = {0xA1, 0x5B, 0x00, 0xFF};
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 31 + 7);
    for (size_t n = 0; n <= 70; n++)
        for (unsigned pos = 0; pos < 8; pos++)
            for (size_t off = 0; off < 8; off++) {
                for (size_t i = 0; i < n; i++)
                    b[i] = src[i] ^ key[(pos + i) % 4];
                corio__ws_mask(a + off, src + off, n, key, pos);
                for (size_t i = 0; i < n; i++)
                    CHECK_EQ(a[off + i], src[off + i] ^ key[(pos + i) % 4]);
                /* In place, in two pieces split anywhere. */
                memcpy(a, src, n);
                size_t cut = n / 3;
                corio__ws_mask(a, a, cut, key, pos);
                corio__ws_mask(a + cut, a + cut, n - cut, key, pos + cut);
                CHECK(memcmp(a, b, n) == 0);
            }
}

static int utf8_split(const char *s, size_t n)
{
    int whole = corio__utf8_valid(s, n);
    for (size_t cut = 0; cut <= n; cut++) {
        corio__utf8 u = {0};
        bool ok = corio__utf8_feed(&u, s, cut) &&
                  corio__utf8_feed(&u, s + cut, n - cut) &&
                  corio__utf8_complete(&u);
        CHECK_EQ(ok, whole);
    }
    return whole;
}

TEST(ws, utf8)
{
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"", 1},
        {"hello, world: ascii long enough for the word loop", 1},
        {"\xC2\x80", 1},                                     /* U+0080 */
        {"\xDF\xBF", 1},                                     /* U+07FF */
        {"\xE0\xA0\x80", 1},                                 /* U+0800 */
        {"\xED\x9F\xBF", 1},                                 /* U+D7FF */
        {"\xEE\x80\x80", 1},                                 /* U+E000 */
        {"\xEF\xBF\xBF", 1},                                 /* U+FFFF */
        {"\xF0\x90\x80\x80", 1},                             /* U+10000 */
        {"\xF4\x8F\xBF\xBF", 1},                             /* U+10FFFF */
        {"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", 1}, /* kosme */
        {"\x80", 0}, /* lone continuation */
        {"\xBF", 0},
        {"\xC0\x80", 0},                 /* overlong NUL */
        {"\xC1\xBF", 0},                 /* overlong */
        {"\xE0\x80\x80", 0},             /* overlong */
        {"\xE0\x9F\xBF", 0},             /* overlong U+07FF */
        {"\xF0\x80\x80\x80", 0},         /* overlong */
        {"\xF0\x8F\xBF\xBF", 0},         /* overlong U+FFFF */
        {"\xED\xA0\x80", 0},             /* U+D800 */
        {"\xED\xBF\xBF", 0},             /* U+DFFF */
        {"\xED\xA0\x80\xED\xB0\x80", 0}, /* surrogate pair */
        {"\xF4\x90\x80\x80", 0},         /* U+110000 */
        {"\xF5\x80\x80\x80", 0},
        {"\xFE", 0},
        {"\xFF", 0},
        {"\xC2", 0}, /* truncated */
        {"\xE1\x80", 0},
        {"\xF1\x80\x80", 0},
        {"\xC2\x41", 0}, /* missing continuation */
        {"\xE1\x80\x41", 0},
        {"abcdefgh\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"
         "edited",
         0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = utf8_split(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].ok)
            fprintf(stderr, "    utf8 case %zu\n", i);
        CHECK_EQ(got, cases[i].ok);
    }
    CHECK(corio__utf8_valid("a\0b", 3)); /* NUL is a code point */
    /* A truncated sequence is fine mid-stream, not at the end. */
    corio__utf8 u = {0};
    CHECK(corio__utf8_feed(&u, "\xF0\x9F", 2));
    CHECK(!corio__utf8_complete(&u));
    CHECK(corio__utf8_feed(&u, "\x98\x80", 2));
    CHECK(corio__utf8_complete(&u));
}

/* ---- frames over a memory pair ---------------------------------------- */

/* A corio_ws on one end of a memory pair and the raw peer on the other. */
typedef struct wsp {
    corio_ws *ws;
    corio_stream *peer;
    bool client; /* ws is the client: the peer is a server, no mask */
} wsp;

static void wsp_open(wsp *p, bool client, size_t max_message)
{
    corio_stream *a, *b;
    corio_ws_opts o = {.max_message = max_message};
    CHECK_EQ(corio_stream_pair(&a, &b, (size_t)4 << 20), 0);
    CHECK_EQ(corio__ws_new(&p->ws, a, client, &o, NULL), 0);
    p->peer = b;
    p->client = client;
}

static void wsp_close(wsp *p)
{
    corio_ws_close(p->ws);
    corio_stream_close(p->peer);
}

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Frame bytes built by hand (not with ws_frame.c): first byte b0, the mask
 * bit and key if mask, payload n bytes. */
static size_t build(uint8_t *out, uint8_t b0, bool mask, const void *pl,
                    size_t n)
{
    const uint8_t *s = pl;
    uint8_t m = mask ? 0x80 : 0;
    size_t h = 0;

    out[h++] = b0;
    if (n < 126) {
        out[h++] = (uint8_t)(m | n);
    } else if (n < 65536) {
        out[h++] = m | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    if (mask) {
        memcpy(out + h, KEY, 4);
        h += 4;
    }
    for (size_t i = 0; i < n; i++)
        out[h + i] = s[i] ^ (mask ? KEY[i % 4] : 0);
    return h + n;
}

static void peer_raw(wsp *p, const void *b, size_t n)
{
    CHECK_EQ(corio_stream_write(p->peer, b, n), 0);
    CHECK_EQ(corio_stream_flush(p->peer), 0);
}

/* The peer sends a frame, masked as its side must (a client masks). */
static void peer_frame(wsp *p, uint8_t b0, const void *pl, size_t n)
{
    uint8_t *buf = malloc(n + 14);
    CHECK(buf != NULL);
    peer_raw(p, buf, build(buf, b0, !p->client, pl, n));
    free(buf);
}

static void read_all(corio_stream *s, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = corio_stream_read(s, (char *)buf + got, n - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
}

/* The peer reads one frame corio wrote (checking its mask bit for the side)
 * into pl (unmasked); returns the payload length, *b0 the first byte. */
static size_t peer_read(wsp *p, uint8_t *b0, void *pl, size_t cap)
{
    uint8_t h[14], key[4] = {0};
    uint64_t n;

    read_all(p->peer, h, 2);
    *b0 = h[0];
    CHECK_EQ(!!(h[1] & 0x80), p->client);
    n = h[1] & 0x7F;
    if (n == 126) {
        read_all(p->peer, h, 2);
        n = (uint64_t)h[0] << 8 | h[1];
        CHECK(n >= 126);
    } else if (n == 127) {
        read_all(p->peer, h, 8);
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | h[i];
        CHECK(n >= 65536);
    }
    if (p->client)
        read_all(p->peer, key, 4);
    CHECK(n <= cap);
    read_all(p->peer, pl, (size_t)n);
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)pl)[i] ^= key[i % 4];
    return (size_t)n;
}

/* The case being run, printed when a check in a helper fails. */
static const char *cur_case = "";

#define WCHECK_EQ(a, b)                                                        \
    do {                                                                       \
        long long wa_ = (long long)(a), wb_ = (long long)(b);                  \
        if (wa_ != wb_) {                                                      \
            fprintf(stderr, "    in case %s\n", cur_case);                     \
            tst_fail_eq(__FILE__, __LINE__, #a, #b, wa_, wb_);                 \
        }                                                                      \
    } while (0)

/* The peer reads a close frame with code (0: an empty close), then the end
 * of the stream. */
static void peer_expect_close(wsp *p, int code)
{
    uint8_t b0, pl[125];
    size_t n = peer_read(p, &b0, pl, sizeof pl);
    WCHECK_EQ(b0, 0x88);
    if (code) {
        WCHECK_EQ(n >= 2, 1);
        WCHECK_EQ(pl[0] << 8 | pl[1], code);
    } else {
        WCHECK_EQ(n, 0);
    }
    CHECK_EQ(corio_stream_read(p->peer, pl, 1), 0);
}

static ssize_t recv_msg(wsp *p, int *type, const void **data)
{
    *type = -1;
    *data = NULL;
    return corio_ws_recv(p->ws, type, data);
}

/* corio must fail the connection with code after what the peer sent. */
static void expect_fail(wsp *p, int code)
{
    int type;
    const void *d;
    WCHECK_EQ(recv_msg(p, &type, &d), CORIO_EWS);
    peer_expect_close(p, code);
    CHECK_EQ(recv_msg(p, &type, &d), CORIO_EWS); /* sticky */
    CHECK_EQ(corio_ws_send(p->ws, CORIO_WS_TEXT, "x", 1), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_ws_close_code(p->ws), 0);
}

static void expect_msg(wsp *p, int type, const char *s, size_t n)
{
    int t;
    const void *d;
    CHECK_EQ(recv_msg(p, &t, &d), (ssize_t)n);
    CHECK_EQ(t, type);
    CHECK(memcmp(d, s, n) == 0);
    CHECK_EQ(((const char *)d)[n], '\0');
}

static int both_sides(int (*fn)(wsp *p))
{
    for (int client = 0; client < 2; client++) {
        wsp p;
        wsp_open(&p, client, 0);
        int rc = fn(&p);
        wsp_close(&p);
        if (rc)
            return rc;
    }
    return 0;
}

static int messages_side(wsp *p)
{
    peer_frame(p, 0x81, "Hello", 5);
    peer_frame(p, 0x82, "\x00\x01\xFF", 3);
    peer_frame(p, 0x81, "", 0);
    peer_frame(p, 0x82, "", 0);
    expect_msg(p, CORIO_WS_TEXT, "Hello", 5);
    expect_msg(p, CORIO_WS_BINARY, "\x00\x01\xFF", 3);
    expect_msg(p, CORIO_WS_TEXT, "", 0);
    expect_msg(p, CORIO_WS_BINARY, "", 0);
    /* 16- and 64-bit lengths, and a long message in many fragments. */
    size_t big = 200000;
    char *m = malloc(big);
    for (size_t i = 0; i < big; i++)
        m[i] = (char)('a' + i % 26);
    peer_frame(p, 0x81, m, 300);
    peer_frame(p, 0x82, m, 70000);
    peer_frame(p, 0x01, m, 1);
    for (size_t off = 1; off < big; off += 4999) {
        size_t k = big - off < 4999 ? big - off : 4999;
        peer_frame(p, off + k == big ? 0x80 : 0x00, m + off, k);
    }
    expect_msg(p, CORIO_WS_TEXT, m, 300);
    expect_msg(p, CORIO_WS_BINARY, m, 70000);
    expect_msg(p, CORIO_WS_TEXT, m, big);
    free(m);
    /* The RFC's exact bytes, unfragmented and fragmented ("Hel" "lo"). */
    if (p->client) {
        peer_raw(p, "\x81\x05Hello", 7);
        peer_raw(p, "\x01\x03Hel\x80\x02lo", 9);
        expect_msg(p, CORIO_WS_TEXT, "Hello", 5);
        expect_msg(p, CORIO_WS_TEXT, "Hello", 5);
    }
    return 0;
}

static int messages_body(void *arg)
{
    (void)arg;
    return both_sides(messages_side);
}

TEST(ws, recv_messages)
{
    CHECK_EQ(tst_run(messages_body, NULL), 0);
}

static int send_side(wsp *p)
{
    uint8_t b0, *buf = malloc(100000);
    char *m = malloc(100000);
    for (size_t i = 0; i < 100000; i++)
        m[i] = (char)(i * 7);
    static const size_t sizes[] = {0, 5, 125, 126, 65535, 65536, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK_EQ(corio_ws_send(p->ws, CORIO_WS_BINARY, m, sizes[i]), 0);
        CHECK_EQ(peer_read(p, &b0, buf, 100000), sizes[i]);
        CHECK_EQ(b0, 0x82);
        CHECK(memcmp(buf, m, sizes[i]) == 0);
    }
    CHECK_EQ(corio_ws_send(p->ws, CORIO_WS_TEXT, "h\xC3\xA9llo", 6), 0);
    CHECK_EQ(peer_read(p, &b0, buf, 100), 6);
    CHECK_EQ(b0, 0x81);
    CHECK(memcmp(buf, "h\xC3\xA9llo", 6) == 0);
    /* Refused locally: invalid text, bad type, oversized ping. */
    CHECK_EQ(corio_ws_send(p->ws, CORIO_WS_TEXT, "\xC0\x80", 2), -EINVAL);
    CHECK_EQ(corio_ws_send(p->ws, 3, "x", 1), -EINVAL);
    CHECK_EQ(corio_ws_ping(p->ws, m, 126), -EINVAL);
    CHECK_EQ(corio_ws_ping(p->ws, "pp", 2), 0);
    CHECK_EQ(peer_read(p, &b0, buf, 100), 2);
    CHECK_EQ(b0, 0x89);
    CHECK(memcmp(buf, "pp", 2) == 0);
    free(buf);
    free(m);
    return 0;
}

static int send_body(void *arg)
{
    (void)arg;
    return both_sides(send_side);
}

TEST(ws, send_frames)
{
    CHECK_EQ(tst_run(send_body, NULL), 0);
}

/* Each case: the peer's bytes (built for the side) and the close code
 * corio must answer with. */
typedef struct bad_case {
    const char *what;
    uint8_t b0;     /* first frame's first byte */
    const char *pl; /* its payload */
    size_t n;
    int second; /* a second frame's first byte, or -1 */
    const char *pl2;
    size_t n2;
    int code;
} bad_case;

static const bad_case bad[] = {
    {"RSV1", 0xC1, "x", 1, -1, NULL, 0, 1002},
    {"RSV2", 0xA1, "x", 1, -1, NULL, 0, 1002},
    {"RSV3", 0x91, "x", 1, -1, NULL, 0, 1002},
    {"RSV on ping", 0xF9, "", 0, -1, NULL, 0, 1002},
    {"opcode 3", 0x83, "", 0, -1, NULL, 0, 1002},
    {"opcode 7", 0x87, "x", 1, -1, NULL, 0, 1002},
    {"opcode B", 0x8B, "", 0, -1, NULL, 0, 1002},
    {"opcode F", 0x8F, "x", 1, -1, NULL, 0, 1002},
    {"fragmented ping", 0x09, "a", 1, 0x80, "b", 1, 1002},
    {"fragmented close", 0x08, "", 0, -1, NULL, 0, 1002},
    {"continuation first", 0x80, "x", 1, -1, NULL, 0, 1002},
    {"unfinished continuation first", 0x00, "x", 1, -1, NULL, 0, 1002},
    {"text inside text", 0x01, "ab", 2, 0x81, "cd", 2, 1002},
    {"binary inside text", 0x01, "ab", 2, 0x02, "cd", 2, 1002},
    {"invalid text", 0x81, "\xCE\xBA\xE1\xBD\xB9\xED\xA0\x80", 8, -1, NULL, 0,
     1007},
    {"overlong", 0x81, "\xC0\xAF", 2, -1, NULL, 0, 1007},
    {"truncated at FIN", 0x81, "ab\xE2\x82", 4, -1, NULL, 0, 1007},
    {"truncated across FIN", 0x01, "ab\xE2", 3, 0x80, "\x82", 1, 1007},
    {"invalid in 2nd fragment", 0x01, "ok", 2, 0x80, "\xF4\x90\x80\x80", 4,
     1007},
    {"close 1 byte", 0x88, "\x03", 1, -1, NULL, 0, 1002},
    {"close 0", 0x88, "\x00\x00", 2, -1, NULL, 0, 1002},
    {"close 999", 0x88, "\x03\xE7", 2, -1, NULL, 0, 1002},
    {"close 1004", 0x88, "\x03\xEC", 2, -1, NULL, 0, 1002},
    {"close 1005", 0x88, "\x03\xED", 2, -1, NULL, 0, 1002},
    {"close 1006", 0x88, "\x03\xEE", 2, -1, NULL, 0, 1002},
    {"close 1016", 0x88, "\x03\xF8", 2, -1, NULL, 0, 1002},
    {"close 1015", 0x88, "\x03\xF7", 2, -1, NULL, 0, 1002},
    {"close 2999", 0x88, "\x0B\xB7", 2, -1, NULL, 0, 1002},
    {"close 5000", 0x88, "\x13\x88", 2, -1, NULL, 0, 1002},
    {"close 65535", 0x88, "\xFF\xFF", 2, -1, NULL, 0, 1002},
    {"close reason invalid", 0x88, "\x03\xE8ok\xED\xA0\x80", 7, -1, NULL, 0,
     1007},
    {"close reason truncated", 0x88, "\x03\xE8\xC3", 3, -1, NULL, 0, 1007},
};

static int bad_body(void *arg)
{
    (void)arg;
    char big[126];
    memset(big, 'p', sizeof big);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (int client = 0; client < 2; client++) {
            wsp p;
            wsp_open(&p, client, 0);
            cur_case = bad[i].what;
            peer_frame(&p, bad[i].b0, bad[i].pl, bad[i].n);
            if (bad[i].second >= 0)
                peer_frame(&p, (uint8_t)bad[i].second, bad[i].pl2, bad[i].n2);
            expect_fail(&p, bad[i].code);
            wsp_close(&p);
        }
    for (int client = 0; client < 2; client++) {
        wsp p;
        /* A control frame over 125 bytes. */
        wsp_open(&p, client, 0);
        peer_frame(&p, 0x89, big, 126);
        expect_fail(&p, 1002);
        wsp_close(&p);
        /* Masked as the other side: a server needs masks, a client
         * refuses them. */
        uint8_t buf[32];
        wsp_open(&p, client, 0);
        peer_raw(&p, buf, build(buf, 0x81, client, "Hello", 5));
        expect_fail(&p, 1002);
        wsp_close(&p);
        /* A 64-bit length with the top bit set. */
        wsp_open(&p, client, 0);
        uint8_t h[14] = {
            0x82, (uint8_t)(client ? 127 : 0xFF), 0x80, 0, 0, 0, 0, 0, 0, 1};
        peer_raw(&p, h, client ? 10 : 14);
        expect_fail(&p, 1002);
        wsp_close(&p);
    }
    return 0;
}

TEST(ws, protocol_violations)
{
    CHECK_EQ(tst_run(bad_body, NULL), 0);
}

/* Invalid UTF-8 is refused as soon as its byte arrives (Autobahn 6.4): the
 * rest of the message never comes. */
static int fail_fast_side(wsp *p)
{
    peer_frame(p, 0x01, "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", 11);
    peer_frame(p, 0x00, "\xF4\x90\x80\x80", 4); /* no FIN: more would follow */
    expect_fail(p, 1007);
    return 0;
}

static int fail_fast_body(void *arg)
{
    (void)arg;
    return both_sides(fail_fast_side);
}

TEST(ws, utf8_fails_fast)
{
    CHECK_EQ(tst_run(fail_fast_body, NULL), 0);
}

/* Valid text split anywhere across fragments, a code point included. */
static int split_side(wsp *p)
{
    static const char s[] =
        "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5 \xF0\x9F\x98\x80!";
    size_t n = sizeof s - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        peer_frame(p, 0x01, s, cut);
        peer_frame(p, 0x80, s + cut, n - cut);
        expect_msg(p, CORIO_WS_TEXT, s, n);
    }
    /* One byte per fragment. */
    for (size_t i = 0; i < n; i++)
        peer_frame(p, (uint8_t)((i ? 0x00 : 0x01) | (i == n - 1 ? 0x80 : 0)),
                   s + i, 1);
    expect_msg(p, CORIO_WS_TEXT, s, n);
    return 0;
}

static int split_body(void *arg)
{
    (void)arg;
    return both_sides(split_side);
}

TEST(ws, utf8_split_across_fragments)
{
    CHECK_EQ(tst_run(split_body, NULL), 0);
}

static int too_big_body(void *arg)
{
    (void)arg;
    char m[101];
    memset(m, 'x', sizeof m);
    for (int client = 0; client < 2; client++) {
        wsp p;
        /* Exactly the limit passes; one more in one frame fails. */
        wsp_open(&p, client, 100);
        peer_frame(&p, 0x82, m, 100);
        expect_msg(&p, CORIO_WS_BINARY, m, 100);
        peer_frame(&p, 0x82, m, 101);
        expect_fail(&p, 1009);
        wsp_close(&p);
        /* Over the limit by fragments: refused at the header. */
        wsp_open(&p, client, 100);
        peer_frame(&p, 0x01, m, 60);
        peer_frame(&p, 0x80, m, 41);
        expect_fail(&p, 1009);
        wsp_close(&p);
        /* Announced only: 1 GiB never sent. */
        wsp_open(&p, client, 0);
        uint8_t h[14];
        size_t hn = build(h, 0x82, !client, NULL, 0);
        h[1] = (uint8_t)((h[1] & 0x80) | 127);
        uint8_t w[14] = {h[0], h[1], 0, 0, 0, 0, 0x40, 0, 0, 0};
        memcpy(w + 10, KEY, 4);
        (void)hn;
        peer_raw(&p, w, client ? 10 : 14);
        expect_fail(&p, 1009);
        wsp_close(&p);
    }
    return 0;
}

TEST(ws, message_too_big)
{
    CHECK_EQ(tst_run(too_big_body, NULL), 0);
}

/* Pings inside a fragmented message are answered with their payload and
 * the message still arrives whole; pongs are dropped. */
static int ping_side(wsp *p)
{
    uint8_t b0, pl[125];
    char big[125];
    memset(big, 'q', sizeof big);
    peer_frame(p, 0x89, "ping!", 5);
    peer_frame(p, 0x01, "frag", 4);
    peer_frame(p, 0x89, big, 125);
    peer_frame(p, 0x8A, "unsolicited", 11);
    peer_frame(p, 0x89, "", 0);
    peer_frame(p, 0x80, "ment", 4);
    expect_msg(p, CORIO_WS_TEXT, "fragment", 8);
    CHECK_EQ(peer_read(p, &b0, pl, sizeof pl), 5);
    CHECK_EQ(b0, 0x8A);
    CHECK(memcmp(pl, "ping!", 5) == 0);
    CHECK_EQ(peer_read(p, &b0, pl, sizeof pl), 125);
    CHECK_EQ(b0, 0x8A);
    CHECK(memcmp(pl, big, 125) == 0);
    CHECK_EQ(peer_read(p, &b0, pl, sizeof pl), 0);
    CHECK_EQ(b0, 0x8A);
    return 0;
}

static int ping_body(void *arg)
{
    (void)arg;
    return both_sides(ping_side);
}

TEST(ws, ping_answered)
{
    CHECK_EQ(tst_run(ping_body, NULL), 0);
}

/* The peer closes: corio echoes the code and reports it. */
static int peer_close_body(void *arg)
{
    (void)arg;
    static const int codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    int type;
    const void *d;
    for (int client = 0; client < 2; client++) {
        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
            wsp p;
            char pl[32] = {(char)(codes[i] >> 8), (char)codes[i]};
            wsp_open(&p, client, 0);
            peer_frame(&p, 0x81, "last", 4);
            memcpy(pl + 2, "bye \xC3\xA9", 6);
            peer_frame(&p, 0x88, pl, 8);
            expect_msg(&p, CORIO_WS_TEXT, "last", 4);
            CHECK_EQ(corio_ws_close_code(p.ws), 0);
            CHECK_EQ(recv_msg(&p, &type, &d), CORIO_ESHUTDOWN);
            CHECK_EQ(corio_ws_close_code(p.ws), codes[i]);
            peer_expect_close(&p, codes[i]);
            CHECK_EQ(recv_msg(&p, &type, &d), CORIO_ESHUTDOWN);
            CHECK_EQ(corio_ws_send(p.ws, CORIO_WS_TEXT, "x", 1),
                     CORIO_ESHUTDOWN);
            CHECK_EQ(corio_ws_ping(p.ws, "x", 1), CORIO_ESHUTDOWN);
            CHECK_EQ(corio_ws_close_handshake(p.ws, 1000, NULL), 0);
            wsp_close(&p);
        }
        /* A close without a code: reported as 1005, echoed empty. */
        wsp p;
        wsp_open(&p, client, 0);
        peer_frame(&p, 0x88, "", 0);
        CHECK_EQ(recv_msg(&p, &type, &d), CORIO_ESHUTDOWN);
        CHECK_EQ(corio_ws_close_code(p.ws), 1005);
        peer_expect_close(&p, 0);
        wsp_close(&p);
        /* Nothing after the close frame is read. */
        wsp_open(&p, client, 0);
        peer_frame(&p, 0x88, "\x03\xE8", 2);
        peer_frame(&p, 0x81, "late", 4);
        CHECK_EQ(recv_msg(&p, &type, &d), CORIO_ESHUTDOWN);
        CHECK_EQ(recv_msg(&p, &type, &d), CORIO_ESHUTDOWN);
        peer_expect_close(&p, 1000);
        wsp_close(&p);
    }
    return 0;
}

TEST(ws, peer_closes)
{
    CHECK_EQ(tst_run(peer_close_body, NULL), 0);
}

typedef struct closer {
    wsp *p;
    int code;
    const char *reason;
    int rc;
} closer;

static int close_task(void *arg)
{
    closer *c = arg;
    c->rc = corio_ws_close_handshake(c->p->ws, c->code, c->reason);
    return 0;
}

/* We close: the close frame goes out, messages arriving before the peer's
 * close are dropped, pings are no longer answered. */
static int we_close_body(void *arg)
{
    (void)arg;
    for (int client = 0; client < 2; client++) {
        wsp p;
        uint8_t b0, pl[125];
        corio_task *t;
        wsp_open(&p, client, 0);
        closer c = {&p, 4001, "going \xE2\x9C\x93", 0};
        CHECK_EQ(corio_task_spawn(&t, close_task, &c), 0);
        CHECK_EQ(peer_read(&p, &b0, pl, sizeof pl), 11);
        CHECK_EQ(b0, 0x88);
        CHECK(memcmp(pl, "\x0F\xA1going \xE2\x9C\x93", 11) == 0);
        peer_frame(&p, 0x81, "dropped", 7);
        peer_frame(&p, 0x89, "no answer", 9);
        peer_frame(&p, 0x88, "\x03\xE8", 2);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK_EQ(c.rc, 0);
        CHECK_EQ(corio_ws_close_code(p.ws), 1000);
        CHECK_EQ(corio_stream_read(p.peer, pl, 1), 0); /* no pong, EOF */
        CHECK_EQ(corio_ws_send(p.ws, CORIO_WS_BINARY, "x", 1), CORIO_ESHUTDOWN);
        wsp_close(&p);

        /* A close with no code; the peer answers by ending the stream. */
        wsp_open(&p, client, 0);
        c = (closer){&p, 0, "ignored", 0};
        CHECK_EQ(corio_task_spawn(&t, close_task, &c), 0);
        CHECK_EQ(peer_read(&p, &b0, pl, sizeof pl), 0);
        CHECK_EQ(b0, 0x88);
        corio_stream_close(p.peer);
        p.peer = NULL;
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK_EQ(c.rc, CORIO_EOF);
        wsp_close(&p);

        /* Bad arguments. */
        wsp_open(&p, client, 0);
        char longr[124];
        memset(longr, 'r', 123);
        longr[123] = '\0';
        CHECK_EQ(corio_ws_close_handshake(p.ws, 1005, NULL), -EINVAL);
        CHECK_EQ(corio_ws_close_handshake(p.ws, 999, NULL), -EINVAL);
        CHECK_EQ(corio_ws_close_handshake(p.ws, 1000, "\xFF"), -EINVAL);
        longr[122] = 'r';
        CHECK_EQ(corio_ws_close_handshake(p.ws, 1000, "x\xC3"), -EINVAL);
        /* 123 bytes is the longest reason. */
        char l124[125];
        memset(l124, 'r', 124);
        l124[124] = '\0';
        CHECK_EQ(corio_ws_close_handshake(p.ws, 1000, l124), -EINVAL);
        c = (closer){&p, 1000, longr, 0};
        CHECK_EQ(corio_task_spawn(&t, close_task, &c), 0);
        CHECK_EQ(peer_read(&p, &b0, pl, sizeof pl), 125);
        peer_frame(&p, 0x88, "", 0);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK_EQ(c.rc, 0);
        CHECK_EQ(corio_ws_close_code(p.ws), 1005);
        wsp_close(&p);
    }
    return 0;
}

TEST(ws, we_close)
{
    CHECK_EQ(tst_run(we_close_body, NULL), 0);
}

/* A recv interrupted in the middle of a frame (and of a fragmented
 * message, and of a frame header) loses nothing. */
static int cancel_body(void *arg)
{
    (void)arg;
    for (int client = 0; client < 2; client++) {
        wsp p;
        uint8_t buf[64];
        int type;
        const void *d;
        wsp_open(&p, client, 0);
        size_t n = build(buf, 0x01, !client, "abcdef", 6);
        size_t n2 = build(buf + n, 0x80, !client, "ghij", 4);
        for (size_t i = 0; i < n + n2; i++) {
            peer_raw(&p, buf + i, 1);
            CHECK_EQ(corio_timeout_begin(CORIO_MS), 0);
            ssize_t r = recv_msg(&p, &type, &d);
            CHECK_EQ(corio_timeout_end(), i + 1 < n + n2 ? -ETIMEDOUT : 0);
            if (i + 1 < n + n2) {
                CHECK_EQ(r, -ETIMEDOUT);
            } else {
                CHECK_EQ(r, 10);
                CHECK(memcmp(d, "abcdefghij", 10) == 0);
            }
        }
        /* The end of the stream in the middle of a frame. */
        peer_raw(&p, buf, 5);
        corio_stream_shutdown(p.peer);
        CHECK_EQ(recv_msg(&p, &type, &d), CORIO_EOF);
        CHECK_EQ(recv_msg(&p, &type, &d), CORIO_EOF);
        CHECK_EQ(corio_ws_send(p.ws, CORIO_WS_TEXT, "x", 1), CORIO_ESHUTDOWN);
        wsp_close(&p);
    }
    return 0;
}

TEST(ws, recv_cancel_safe)
{
    CHECK_EQ(tst_run(cancel_body, NULL), 0);
}

/* ---- two tasks on one connection ---------------------------------------- */

typedef struct bg {
    corio_ws *ws;
    const void *data;
    size_t n;
    ssize_t rc;
    int type;
} bg;

static int bg_send(void *arg)
{
    bg *b = arg;
    b->rc = corio_ws_send(b->ws, CORIO_WS_BINARY, b->data, b->n);
    return 0;
}

static int bg_recv(void *arg)
{
    bg *b = arg;
    const void *d;
    b->rc = corio_ws_recv(b->ws, &b->type, &d);
    return 0;
}

/* A pong the receiving task owes while the sending task is blocked inside
 * a large frame waits for the frame to end; a second sender or receiver
 * gets -EBUSY. */
static int two_tasks_body(void *arg)
{
    (void)arg;
    for (int client = 0; client < 2; client++) {
        corio_stream *a, *b;
        wsp p = {.client = client};
        corio_task *ts, *tr;
        size_t big = 300000;
        unsigned char *m = malloc(big), *got = malloc(big);
        uint8_t b0;
        int type;
        const void *d;
        for (size_t i = 0; i < big; i++)
            m[i] = (unsigned char)(i * 7 + 1);
        /* A small pair capacity: the big frame cannot go out at once. */
        CHECK_EQ(corio_stream_pair(&a, &b, 4096), 0);
        CHECK_EQ(corio__ws_new(&p.ws, a, client, NULL, NULL), 0);
        p.peer = b;
        bg s = {.ws = p.ws, .data = m, .n = big}, r = {.ws = p.ws};
        CHECK_EQ(corio_task_spawn(&ts, bg_send, &s), 0);
        CHECK_EQ(corio_yield(), 0); /* the sender is now blocked mid-frame */
        CHECK_EQ(corio_ws_send(p.ws, CORIO_WS_TEXT, "x", 1), -EBUSY);
        peer_frame(&p, 0x89, "ping", 4);
        CHECK_EQ(corio_task_spawn(&tr, bg_recv, &r), 0);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(recv_msg(&p, &type, &d), -EBUSY);
        CHECK_EQ(peer_read(&p, &b0, got, big), big); /* whole, then the pong */
        CHECK_EQ(b0, 0x82);
        CHECK(memcmp(got, m, big) == 0);
        CHECK_EQ(peer_read(&p, &b0, got, big), 4);
        CHECK_EQ(b0, 0x8A);
        CHECK(memcmp(got, "ping", 4) == 0);
        CHECK_EQ(corio_task_join(ts, NULL), 0);
        CHECK_EQ(s.rc, 0);
        /* close from a third task while the receiver waits: only the close
         * frame goes out; the receiver sees the peer's answer. */
        CHECK_EQ(corio_ws_close_handshake(p.ws, 1001, NULL), 0);
        CHECK_EQ(peer_read(&p, &b0, got, big), 2);
        CHECK_EQ(b0, 0x88);
        CHECK_EQ(got[0] << 8 | got[1], 1001);
        peer_frame(&p, 0x88, "\x03\xE9", 2);
        CHECK_EQ(corio_task_join(tr, NULL), 0);
        CHECK_EQ(r.rc, CORIO_ESHUTDOWN);
        CHECK_EQ(corio_ws_close_code(p.ws), 1001);
        wsp_close(&p);
        free(m);
        free(got);
    }
    return 0;
}

TEST(ws, two_tasks)
{
    CHECK_EQ(tst_run(two_tasks_body, NULL), 0);
}

/* A send interrupted half way closes the connection: the peer sees the
 * frame cut short, later sends say CORIO_ESHUTDOWN, recv the same. */
static int send_cancel_body(void *arg)
{
    (void)arg;
    for (int client = 0; client < 2; client++) {
        corio_stream *a, *b;
        wsp p = {.client = client};
        size_t big = 100000;
        char *m = calloc(1, big), *got = malloc(big);
        int type;
        const void *d;
        CHECK_EQ(corio_stream_pair(&a, &b, 4096), 0);
        CHECK_EQ(corio__ws_new(&p.ws, a, client, NULL, NULL), 0);
        p.peer = b;
        CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
        CHECK_EQ(corio_ws_send(p.ws, CORIO_WS_BINARY, m, big), -ETIMEDOUT);
        CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
        CHECK_EQ(corio_ws_send(p.ws, CORIO_WS_BINARY, m, 1), CORIO_ESHUTDOWN);
        CHECK_EQ(corio_ws_ping(p.ws, m, 1), CORIO_ESHUTDOWN);
        CHECK_EQ(recv_msg(&p, &type, &d), CORIO_ESHUTDOWN);
        size_t n = 0;
        for (ssize_t r; (r = corio_stream_read(p.peer, got, big)) > 0;)
            n += (size_t)r;
        CHECK(n > 0 && n < big);
        CHECK_EQ(corio_ws_close_handshake(p.ws, 1000, NULL), 0);
        wsp_close(&p);
        free(m);
        free(got);
    }
    return 0;
}

TEST(ws, send_cancel_closes)
{
    CHECK_EQ(tst_run(send_cancel_body, NULL), 0);
}

/* ---- the client handshake over a memory pair -------------------------- */

TEST(ws, accept_key)
{
    char out[29];
    /* RFC 6455 §1.3's example. */
    CHECK_EQ(corio__ws_accept_key(out, "dGhlIHNhbXBsZSBub25jZQ==", 24), 0);
    CHECK(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    CHECK_EQ(corio__ws_accept_key(out, "short", 5), CORIO_EHTTP);
}

/* A server peer that reads the upgrade request and answers with a head
 * made from fmt (its %s: the right accept value) followed by extra bytes. */
typedef struct hs_peer {
    corio_stream *s;
    const char *fmt;
    const char *extra;
    size_t extra_n;
    char req[2048]; /* the request head received */
    int eof_after;  /* what reading after the answer gave */
} hs_peer;

static const char *field(const char *head, const char *name, char *out,
                         size_t cap)
{
    const char *p = strstr(head, name);
    if (!p)
        return NULL;
    p += strlen(name);
    size_t n = strcspn(p, "\r");
    CHECK(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static int hs_peer_task(void *arg)
{
    hs_peer *h = arg;
    char key[64], accept[29], resp[1024];
    ssize_t n =
        corio_stream_read_until(h->s, "\r\n\r\n", 4, h->req, sizeof h->req - 1);
    if (n < 0)
        return (int)n;
    h->req[n] = '\0';
    if (h->fmt) {
        CHECK(field(h->req, "\r\nSec-WebSocket-Key: ", key, sizeof key));
        CHECK_EQ(corio__ws_accept_key(accept, key, strlen(key)), 0);
        int k = snprintf(resp, sizeof resp, h->fmt, accept);
        CHECK_EQ(corio_stream_write(h->s, resp, (size_t)k), 0);
        if (h->extra_n)
            CHECK_EQ(corio_stream_write(h->s, h->extra, h->extra_n), 0);
        CHECK_EQ(corio_stream_flush(h->s), 0);
    } else {
        corio_stream_shutdown(h->s); /* hang up without an answer */
    }
    char c;
    h->eof_after = (int)corio_stream_read(h->s, &c, 1);
    return 0;
}

/* Run the client handshake for url against a peer answering with fmt. */
static int hs_run(hs_peer *h, const char *url, const corio_ws_opts *o,
                  corio_ws **ws)
{
    corio_stream *a;
    corio_task *t;
    int rc;
    CHECK_EQ(corio_stream_pair(&a, &h->s, 0), 0);
    CHECK_EQ(corio_task_spawn(&t, hs_peer_task, h), 0);
    rc = corio_ws_handshake(ws, a, url, o);
    if (rc < 0) {
        CHECK(*ws == NULL);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK_EQ(h->eof_after, 0); /* the connection was closed */
    } else {
        corio_task_detach(t);
    }
    return rc;
}

#define GOOD_101                                                               \
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"               \
    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: %s\r\n"

static int handshake_body(void *arg)
{
    (void)arg;
    corio_ws *ws;
    int type;
    const void *d;
    char v[256];

    /* A good answer, with a frame in the same write as the head. */
    static const char *const extra[] = {"X-Token", "abc", "Origin",
                                        "http://example.com", NULL};
    corio_ws_opts o = {.protocol = "chat, superchat", .headers = extra};
    hs_peer h = {.fmt = GOOD_101 "Sec-WebSocket-Protocol: superchat\r\n\r\n",
                 .extra = "\x81\x02hi",
                 .extra_n = 4};
    CHECK_EQ(hs_run(&h, "ws://Example.com:8080/chat?x=1#frag", &o, &ws), 0);
    CHECK(strncmp(h.req, "GET /chat?x=1 HTTP/1.1\r\n", 24) == 0);
    CHECK(strcmp(field(h.req, "\r\nHost: ", v, sizeof v), "Example.com:8080") ==
          0);
    CHECK(strcmp(field(h.req, "\r\nUpgrade: ", v, sizeof v), "websocket") == 0);
    CHECK(strcmp(field(h.req, "\r\nConnection: ", v, sizeof v), "Upgrade") ==
          0);
    CHECK(strcmp(field(h.req, "\r\nSec-WebSocket-Version: ", v, sizeof v),
                 "13") == 0);
    CHECK(strcmp(field(h.req, "\r\nSec-WebSocket-Protocol: ", v, sizeof v),
                 "chat, superchat") == 0);
    CHECK(strcmp(field(h.req, "\r\nX-Token: ", v, sizeof v), "abc") == 0);
    CHECK(strcmp(field(h.req, "\r\nOrigin: ", v, sizeof v),
                 "http://example.com") == 0);
    CHECK_EQ(strlen(field(h.req, "\r\nSec-WebSocket-Key: ", v, sizeof v)), 24);
    CHECK(strcmp(corio_ws_protocol(ws), "superchat") == 0);
    CHECK_EQ(corio_ws_recv(ws, &type, &d), 2);
    CHECK(memcmp(d, "hi", 2) == 0);
    corio_ws_close(ws);

    /* Two handshakes use different keys. */
    char key1[64];
    strcpy(key1, v);
    h = (hs_peer){.fmt = GOOD_101 "\r\n"};
    CHECK_EQ(hs_run(&h, "wss://h.example/", NULL, &ws), 0);
    CHECK(strcmp(field(h.req, "\r\nSec-WebSocket-Key: ", v, sizeof v), key1) !=
          0);
    CHECK(strcmp(field(h.req, "\r\nHost: ", v, sizeof v), "h.example") == 0);
    CHECK(strstr(h.req, "Sec-WebSocket-Protocol") == NULL);
    CHECK(corio_ws_protocol(ws) == NULL);
    corio_ws_close(ws);

    /* An IPv6 literal is bracketed in Host. */
    h = (hs_peer){.fmt = GOOD_101 "\r\n"};
    CHECK_EQ(hs_run(&h, "ws://[::1]:9000", NULL, &ws), 0);
    CHECK(strncmp(h.req, "GET / HTTP/1.1\r\n", 16) == 0);
    CHECK(strcmp(field(h.req, "\r\nHost: ", v, sizeof v), "[::1]:9000") == 0);
    corio_ws_close(ws);

    /* Refusals: each closes the connection. */
    static const struct {
        const char *fmt;
        const char *protocol;
    } refused[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Accept: x%s\r\n\r\n",
         NULL},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Accept: "
         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Ignored: %s\r\n\r\n",
         NULL},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         NULL},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
         NULL},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Connection: keep-alive\r\nSec-WebSocket-Accept: %s\r\n\r\n",
         NULL},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         NULL},
        {GOOD_101 "Sec-WebSocket-Protocol: chat\r\n\r\n", NULL},
        {GOOD_101 "Sec-WebSocket-Protocol: other\r\n\r\n", "chat"},
        {GOOD_101 "Sec-WebSocket-Protocol: chat, x\r\n\r\n", "chat, x"},
        {GOOD_101 "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", NULL},
        {"HTTP/1.1 101 Switching Protocols\r\nBad Field: %s\r\n\r\n", NULL},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        h = (hs_peer){.fmt = refused[i].fmt};
        o = (corio_ws_opts){.protocol = refused[i].protocol};
        cur_case = refused[i].fmt;
        WCHECK_EQ(hs_run(&h, "ws://a/", &o, &ws), CORIO_EHTTP);
    }
    /* The server hangs up: end of stream. */
    h = (hs_peer){0};
    CHECK_EQ(hs_run(&h, "ws://a/", NULL, &ws), CORIO_EOF);

    /* Refused before a byte is sent; the stream is closed all the same. */
    corio_stream *a, *b;
    char c;
    static const char *const bad_hdr[] = {"X-A", "b\r\nInjected: 1", NULL};
    static const char *const bad_name[] = {"X:A", "b", NULL};
    const struct {
        const char *url;
        corio_ws_opts o;
        int rc;
    } local[] = {
        {"http://a/", {0}, CORIO_EURL},
        {"ws://a b/", {0}, CORIO_EURL},
        {"ws://a/", {.headers = bad_hdr}, -EINVAL},
        {"ws://a/", {.headers = bad_name}, -EINVAL},
        {"ws://a/", {.protocol = "chat\n"}, -EINVAL},
    };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
        CHECK_EQ(corio_ws_handshake(&ws, a, local[i].url, &local[i].o),
                 local[i].rc);
        CHECK(ws == NULL);
        CHECK_EQ(corio_stream_read(b, &c, 1), 0);
        corio_stream_close(b);
    }
    CHECK_EQ(corio_ws_handshake(&ws, NULL, "ws://a/", NULL), -EINVAL);
    return 0;
}

TEST(ws, client_handshake)
{
    CHECK_EQ(tst_run(handshake_body, NULL), 0);
}

/* ---- the server: corio_ws_accept in an HTTP handler --------------------- */

/* Echo every message; "bye" makes the server close with 4001. */
static int echo_handler(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_ws *ws;
    corio_ws_opts o = {.protocol = "chat", .max_message = (size_t)2 << 20};
    int rc = corio_ws_accept(&ws, req, &o);
    if (rc == CORIO_EHTTP)
        return 0; /* refused with a 400 */
    if (rc < 0)
        return rc;
    for (;;) {
        int type;
        const void *d;
        ssize_t n = corio_ws_recv(ws, &type, &d);
        if (n < 0)
            break;
        if (n == 3 && memcmp(d, "bye", 3) == 0) {
            corio_ws_close_handshake(ws, 4001, "server bye");
            break;
        }
        if (corio_ws_send(ws, type, d, (size_t)n) < 0)
            break;
    }
    corio_ws_close(ws);
    return 0;
}

static corio_http_router *echo_router(void)
{
    corio_http_router *r;
    CHECK_EQ(corio_http_router_new(&r), 0);
    CHECK_EQ(corio_http_router_add(r, NULL, "/ws", echo_handler, NULL), 0);
    return r;
}

typedef struct conn_server {
    corio_stream *s;
    corio_http_router *r;
    int rc;
} conn_server;

static int serve_conn_task(void *arg)
{
    conn_server *c = arg;
    c->rc = corio_http_serve_conn(c->s, c->r, NULL);
    if (c->rc != CORIO_HTTP_DETACHED)
        corio_stream_close(c->s);
    return 0;
}

/* Run the echo server on one end of a memory pair; returns the other. */
static corio_stream *serve_pair(conn_server *c, corio_task **t)
{
    corio_stream *a;
    CHECK_EQ(corio_stream_pair(&a, &c->s, (size_t)4 << 20), 0);
    c->r = echo_router();
    CHECK_EQ(corio_task_spawn(t, serve_conn_task, c), 0);
    return a;
}

static void expect_echo(corio_ws *ws, int type, const void *m, size_t n)
{
    int t;
    const void *d;
    CHECK_EQ(corio_ws_send(ws, type, m, n), 0);
    CHECK_EQ(corio_ws_recv(ws, &t, &d), (ssize_t)n);
    CHECK_EQ(t, type);
    CHECK(memcmp(d, m, n) == 0);
}

static int accept_body(void *arg)
{
    (void)arg;
    conn_server c = {0};
    corio_task *t;
    corio_ws *ws;
    int type;
    const void *d;

    /* Upgrade through the real server code; the client offers two
     * subprotocols and the server picks its own. */
    corio_stream *a = serve_pair(&c, &t);
    corio_ws_opts o = {.protocol = "superchat, chat"};
    CHECK_EQ(corio_ws_handshake(&ws, a, "ws://example.com/ws", &o), 0);
    CHECK(strcmp(corio_ws_protocol(ws), "chat") == 0);
    expect_echo(ws, CORIO_WS_TEXT, "over the server", 15);
    expect_echo(ws, CORIO_WS_BINARY, "\x00\xFF", 2);
    CHECK_EQ(corio_ws_send(ws, CORIO_WS_TEXT, "bye", 3), 0);
    CHECK_EQ(corio_ws_recv(ws, &type, &d), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_ws_close_code(ws), 4001);
    corio_ws_close(ws);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(c.rc, CORIO_HTTP_DETACHED);
    corio_http_router_free(c.r);

    /* Not offered: no subprotocol named. */
    a = serve_pair(&c, &t);
    CHECK_EQ(corio_ws_handshake(&ws, a, "ws://example.com/ws", NULL), 0);
    CHECK(corio_ws_protocol(ws) == NULL);
    CHECK_EQ(corio_ws_close_handshake(ws, 1000, NULL), 0);
    CHECK_EQ(corio_ws_close_code(ws), 1000);
    corio_ws_close(ws);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_http_router_free(c.r);
    return 0;
}

TEST(ws, server_accepts)
{
    CHECK_EQ(tst_run(accept_body, NULL), 0);
}

#define UPGRADE_OK(k)                                                          \
    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"                 \
    "Sec-WebSocket-Key: " k "\r\n"

static int refuse_body(void *arg)
{
    (void)arg;
    static const struct {
        const char *req;
        bool version; /* the 400 names version 13 */
    } cases[] = {
        {"POST /ws HTTP/1.1\r\n" UPGRADE_OK(
             "dGhlIHNhbXBsZSBub25jZQ==") "Sec-WebSocket-Version: "
                                         "13\r\nContent-Length: 0\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: "
         "Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
         "Connection: keep-alive\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\n" UPGRADE_OK(
             "short==") "Sec-WebSocket-Version: 13\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\n" UPGRADE_OK(
             "dGhlIHNhbXBsZSBub25jZQ") "Sec-WebSocket-Version: 13\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\n" UPGRADE_OK(
             "dGhlIHNhbXBsZSBub25j!Q==") "Sec-WebSocket-Version: 13\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
         false},
        {"GET /ws HTTP/1.1\r\n" UPGRADE_OK(
             "dGhlIHNhbXBsZSBub25jZQ==") "Sec-WebSocket-Version: 8\r\n\r\n",
         true},
        {"GET /ws HTTP/1.1\r\n" UPGRADE_OK("dGhlIHNhbXBsZSBub25jZQ==") "\r\n",
         true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conn_server c = {0};
        corio_task *t;
        char resp[1024];
        corio_stream *a = serve_pair(&c, &t);
        cur_case = cases[i].req;
        CHECK_EQ(corio_stream_write(a, cases[i].req, strlen(cases[i].req)), 0);
        CHECK_EQ(corio_stream_flush(a), 0);
        ssize_t n =
            corio_stream_read_until(a, "\r\n\r\n", 4, resp, sizeof resp - 1);
        CHECK(n > 0);
        resp[n] = '\0';
        WCHECK_EQ(strncmp(resp, "HTTP/1.1 400 ", 13), 0);
        WCHECK_EQ(strstr(resp, "Sec-WebSocket-Version: 13\r\n") != NULL,
                  cases[i].version);
        /* The connection goes on as plain HTTP. */
        corio_stream_close(a);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK(c.rc != CORIO_HTTP_DETACHED);
        corio_http_router_free(c.r);
    }
    return 0;
}

TEST(ws, server_refuses_bad_upgrades)
{
    CHECK_EQ(tst_run(refuse_body, NULL), 0);
}

/* ---- fault sweep ------------------------------------------------------- */

/* A handshake through corio's server over a memory pair, two echoes (one
 * of 100 KB) and the closing handshake, every allocation and system call of
 * which can fail: returns 0 or the first error, -EPROTO for a wrong
 * answer, and always cleans up. */
static int sweep_scenario(void *arg)
{
    (void)arg;
    conn_server c = {0};
    corio_task *t = NULL;
    corio_stream *a = NULL;
    corio_ws *ws = NULL;
    size_t big = 100000;
    char *m = malloc(big);
    int type, rc;
    const void *d;

    for (size_t i = 0; i < big; i++)
        m[i] = (char)(i % 251);
    rc = corio_http_router_new(&c.r);
    if (rc == 0)
        rc = corio_http_router_add(c.r, NULL, "/ws", echo_handler, NULL);
    if (rc == 0)
        rc = corio_stream_pair(&a, &c.s, 0);
    if (rc == 0 && (rc = corio_task_spawn(&t, serve_conn_task, &c)) < 0) {
        corio_stream_close(a);
        corio_stream_close(c.s);
    }
    if (rc == 0)
        rc = corio_ws_handshake(&ws, a, "ws://x/ws", NULL);
    for (int i = 0; rc == 0 && i < 2; i++) {
        size_t n = i ? big : 5;
        rc = corio_ws_send(ws, i ? CORIO_WS_BINARY : CORIO_WS_TEXT, m, n);
        ssize_t r = rc < 0 ? rc : corio_ws_recv(ws, &type, &d);
        if (r >= 0 && ((size_t)r != n || memcmp(d, m, n) != 0))
            rc = -EPROTO;
        else if (r < 0)
            rc = (int)r;
    }
    if (rc == 0)
        rc = corio_ws_close_handshake(ws, 1000, NULL);
    corio_ws_close(ws);
    if (t)
        CORIO_IGNORE(corio_task_join(t, NULL));
    corio_http_router_free(c.r);
    free(m);
    return rc;
}

TEST_T(ws, fault_sweep, 300)
{
    corio_options o = {.virtual_clock = 1};
    CHECK_EQ(tst_run_ex(&o, sweep_scenario, NULL), 0);
    long n;
    int failures = 0;
    for (n = 1;; n++) {
        corio__fault_arm(n, ENOMEM);
        int rc = tst_run_ex(&o, sweep_scenario, NULL);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK(rc != -EPROTO);          /* an error, never a wrong answer */
        CHECK(rc != CORIO_EABANDONED); /* and nothing left hanging */
        failures += rc < 0;
    }
    CHECK(n > 30);
    CHECK(failures > 0);
    tst_leak_check();
}

/* ---- round trips over loopback sockets ---------------------------------- */

typedef struct http_fx {
    corio_listener *l;
    corio_http_router *r;
    corio_event stop;
    corio_task *task;
    int port, rc;
} http_fx;

static int http_serve_task(void *arg)
{
    http_fx *f = arg;
    corio_http_server_opts o = {.stop = &f->stop};
    f->rc = corio_http_serve(f->l, f->r, &o);
    return 0;
}

static void http_fx_start(http_fx *f)
{
    corio_addr a;
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(corio_tcp_listen(&f->l, "127.0.0.1", 0, NULL), 0);
    CHECK_EQ(corio_listener_addr(f->l, &a), 0);
    f->port = corio_addr_port(&a);
    corio_event_init(&f->stop);
    f->r = echo_router();
    CHECK_EQ(corio_task_spawn(&f->task, http_serve_task, f), 0);
}

static void http_fx_finish(http_fx *f)
{
    corio_event_set(&f->stop);
    CHECK_EQ(corio_task_join(f->task, NULL), 0);
    CHECK_EQ(f->rc, 0);
    corio_listener_close(f->l);
    corio_http_router_free(f->r);
}

/* Text, binary, empty and 1 MiB messages both ways, then the closing
 * handshake from each side in turn. */
static void round_trip(const char *url, const corio_ws_opts *o)
{
    corio_ws *ws;
    int type;
    const void *d;
    size_t big = (size_t)1 << 20;
    unsigned char *m = malloc(big);

    for (size_t i = 0; i < big; i++)
        m[i] = (unsigned char)(i * 131 + (i >> 12));
    CHECK_EQ(corio_ws_connect(&ws, url, o), 0);
    expect_echo(ws, CORIO_WS_TEXT, "hello \xE2\x9C\x93", 9);
    expect_echo(ws, CORIO_WS_BINARY, "\x00\x01\x02\xFF", 4);
    expect_echo(ws, CORIO_WS_TEXT, "", 0);
    expect_echo(ws, CORIO_WS_BINARY, m, big);
    CHECK_EQ(corio_ws_ping(ws, "ping", 4), 0);
    expect_echo(ws, CORIO_WS_TEXT, m, 0);
    CHECK_EQ(corio_ws_close_handshake(ws, 1000, "done"), 0);
    CHECK_EQ(corio_ws_close_code(ws), 1000);
    corio_ws_close(ws);

    CHECK_EQ(corio_ws_connect(&ws, url, o), 0);
    expect_echo(ws, CORIO_WS_BINARY, m, 70000);
    CHECK_EQ(corio_ws_send(ws, CORIO_WS_TEXT, "bye", 3), 0);
    CHECK_EQ(corio_ws_recv(ws, &type, &d), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_ws_close_code(ws), 4001);
    CHECK_EQ(corio_ws_close_handshake(ws, 1000, NULL), 0);
    corio_ws_close(ws);
    free(m);
}

static int loopback_body(void *arg)
{
    (void)arg;
    http_fx f = {0};
    char url[64];
    int fds = tst_count_fds();
    http_fx_start(&f);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", f.port);
    round_trip(url, NULL);
    /* A refused handshake (no route) and a server that is not there. */
    corio_ws *ws;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/nope", f.port);
    CHECK_EQ(corio_ws_connect(&ws, url, NULL), CORIO_EHTTP);
    CHECK(ws == NULL);
    http_fx_finish(&f);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", f.port);
    CHECK_EQ(corio_ws_connect(&ws, url, NULL), -ECONNREFUSED);
    CHECK_EQ(corio_ws_connect(&ws, "https://127.0.0.1/", NULL), CORIO_EURL);
    CHECK_EQ(tst_count_fds(), fds);
    return 0;
}

TEST(ws, loopback_round_trip)
{
    CHECK_EQ(tst_run(loopback_body, NULL), 0);
}

/* wss: a TLS listener in front of corio_http_serve_conn, a test CA. */
static char pki[64];

static void sh(const char *cmd)
{
    char full[1024];
    snprintf(full, sizeof full, "cd %s && %s 2>/dev/null", pki, cmd);
    CHECK_EQ(system(full), 0);
}

static void pki_make(void)
{
    strcpy(pki, "/tmp/corio-ws-XXXXXX");
    CHECK(mkdtemp(pki) != NULL);
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
       "-nodes -keyout ca.key -out ca.pem -subj '/CN=corio ws test CA' -days "
       "2");
    sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
       "-nodes -keyout server.key -out server.csr -subj /CN=localhost");
    sh("printf 'basicConstraints=CA:FALSE\\nsubjectAltName=DNS:localhost,"
       "IP:127.0.0.1\\n' > server.ext");
    sh("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
       "-set_serial 2 -days 2 -extfile server.ext -out server.pem");
}

static void pki_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
    CHECK_EQ(system(cmd), 0);
}

typedef struct tls_fx {
    corio_listener *l;
    corio_tls_ctx *ctx;
    corio_http_router *r;
    int conns;
} tls_fx;

/* Serve conns connections one after another, each over TLS. */
static int tls_serve_task(void *arg)
{
    tls_fx *f = arg;
    for (int i = 0; i < f->conns; i++) {
        corio_stream *tcp, *tls;
        CHECK_EQ(corio_listener_accept(f->l, &tcp, NULL), 0);
        corio_tls_opts to = {.ctx = f->ctx};
        if (corio_tls_server(&tls, tcp, &to) < 0)
            continue; /* the client refused us */
        if (corio_http_serve_conn(tls, f->r, NULL) != CORIO_HTTP_DETACHED)
            corio_stream_close(tls);
    }
    return 0;
}

static int wss_body(void *arg)
{
    (void)arg;
    char path[128], url[64];
    tls_fx f = {.conns = 3};
    corio_task *t;
    corio_addr a;
    corio_tls_ctx *cctx;

    signal(SIGPIPE, SIG_IGN);
    snprintf(path, sizeof path, "%s/ca.pem", pki);
    corio_tls_config cc = {.ca_file = path};
    CHECK_EQ(corio_tls_ctx_new(&cctx, CORIO_TLS_CLIENT, &cc), 0);
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/server.pem", pki);
    snprintf(key, sizeof key, "%s/server.key", pki);
    corio_tls_config sc = {.cert_file = cert, .key_file = key};
    CHECK_EQ(corio_tls_ctx_new(&f.ctx, CORIO_TLS_SERVER, &sc), 0);
    CHECK_EQ(corio_tcp_listen(&f.l, "127.0.0.1", 0, NULL), 0);
    CHECK_EQ(corio_listener_addr(f.l, &a), 0);
    f.r = echo_router();
    CHECK_EQ(corio_task_spawn(&t, tls_serve_task, &f), 0);

    snprintf(url, sizeof url, "wss://localhost:%d/ws", corio_addr_port(&a));
    corio_ws_opts o = {.tls = cctx};
    round_trip(url, &o);
    /* Without the test CA the certificate is refused. */
    corio_ws *ws;
    CHECK_EQ(corio_ws_connect(&ws, url, NULL), CORIO_ECERT);
    CHECK(ws == NULL);

    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_listener_close(f.l);
    corio_http_router_free(f.r);
    corio_tls_ctx_free(f.ctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(ws, wss_round_trip)
{
    pki_make();
    int rc = tst_run(wss_body, NULL);
    pki_remove();
    CHECK_EQ(rc, 0);
}

/* ---- Python's websockets library as a real peer ------------------------ */

/* Debian's python3-websockets (scripts/deps.sh build) under Debian's
 * Python, whatever python3 comes first in PATH. */
#define PYTHON "/usr/bin/python3"

/* A websockets server on 127.0.0.1: echoes every message; "frag-me" is
 * answered with a fragmented text message, "close-me" with a close 4000.
 * Prints its port; stops when its stdin ends. */
static const char py_server[] =
    "import asyncio, sys, websockets\n"
    "async def handler(ws, path):\n"
    "    async for m in ws:\n"
    "        if m == 'close-me':\n"
    "            await ws.close(4000, 'bye')\n"
    "            return\n"
    "        if m == 'frag-me':\n"
    "            await ws.send(['frag', 'ment', 'ed \\u00e9'])\n"
    "            continue\n"
    "        await ws.send(m)\n"
    "async def main():\n"
    "    async with websockets.serve(handler, '127.0.0.1', 0, max_size=None,\n"
    "            ping_interval=None, subprotocols=['chat']) as srv:\n"
    "        print(srv.sockets[0].getsockname()[1], flush=True)\n"
    "        await asyncio.get_running_loop().run_in_executor(None, "
    "sys.stdin.read)\n"
    "asyncio.run(main())\n";

static int py_server_body(void *arg)
{
    (void)arg;
    const char *argv[] = {PYTHON, "-c", py_server, NULL};
    corio_process_opts po = {.stdin_mode = CORIO_STDIO_PIPE,
                             .stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    char line[64], url[128];
    int type, status;
    const void *d;
    corio_ws *ws;

    CHECK_EQ(corio_process_spawn(&p, argv, &po), 0);
    CHECK(corio_stream_read_line(corio_process_stdout(p), line, sizeof line) >
          0);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", atoi(line));

    corio_ws_opts o = {.protocol = "superchat, chat"};
    CHECK_EQ(corio_ws_connect(&ws, url, &o), 0);
    CHECK(strcmp(corio_ws_protocol(ws), "chat") == 0);
    expect_echo(ws, CORIO_WS_TEXT, "hello \xE2\x9C\x93", 9);
    expect_echo(ws, CORIO_WS_BINARY, "\x00\x01\x02\xFF", 4);
    expect_echo(ws, CORIO_WS_TEXT, "", 0);
    size_t big = (size_t)1 << 20;
    unsigned char *m = malloc(big);
    for (size_t i = 0; i < big; i++)
        m[i] = (unsigned char)(i * 131 + (i >> 12));
    expect_echo(ws, CORIO_WS_BINARY, m, big);
    free(m);
    CHECK_EQ(corio_ws_ping(ws, "are you there", 13), 0);
    CHECK_EQ(corio_ws_send(ws, CORIO_WS_TEXT, "frag-me", 7), 0);
    CHECK_EQ(corio_ws_recv(ws, &type, &d), 13);
    CHECK(memcmp(d, "fragmented \xC3\xA9", 13) == 0);
    CHECK_EQ(corio_ws_close_handshake(ws, 1000, "done"), 0);
    CHECK_EQ(corio_ws_close_code(ws), 1000);
    corio_ws_close(ws);

    /* The server closes. */
    CHECK_EQ(corio_ws_connect(&ws, url, NULL), 0);
    CHECK(corio_ws_protocol(ws) == NULL);
    CHECK_EQ(corio_ws_send(ws, CORIO_WS_TEXT, "close-me", 8), 0);
    CHECK_EQ(corio_ws_recv(ws, &type, &d), CORIO_ESHUTDOWN);
    CHECK_EQ(corio_ws_close_code(ws), 4000);
    CHECK_EQ(corio_ws_close_handshake(ws, 1000, NULL), 0);
    corio_ws_close(ws);

    CHECK_EQ(corio_stream_shutdown(corio_process_stdin(p)), 0);
    CHECK_EQ(corio_process_wait(p, &status), 0);
    CHECK_EQ(status, 0);
    corio_process_close(p);
    return 0;
}

TEST(ws, client_against_python_websockets)
{
    CHECK_EQ(tst_run(py_server_body, NULL), 0);
}

/* A websockets client: checks the echo of text, binary, a fragmented
 * message and 1 MiB, pings, then closes with 1000 and prints the code the
 * corio server answered with. */
static const char py_client[] =
    "import asyncio, sys, websockets\n"
    "async def main(url):\n"
    "    async with websockets.connect(url, max_size=None, "
    "ping_interval=None,\n"
    "            subprotocols=['chat']) as ws:\n"
    "        assert ws.subprotocol == 'chat'\n"
    "        await ws.send('h\\u00e9llo')\n"
    "        assert await ws.recv() == 'h\\u00e9llo'\n"
    "        await ws.send(b'\\x00\\x01\\xff')\n"
    "        assert await ws.recv() == b'\\x00\\x01\\xff'\n"
    "        await ws.send(['frag', 'ment', 'ed \\u00e9'])\n"
    "        assert await ws.recv() == 'fragmented \\u00e9'\n"
    "        big = bytes(range(256)) * 4096\n"
    "        await ws.send(big)\n"
    "        assert await ws.recv() == big\n"
    "        await (await ws.ping(b'pp'))\n"
    "        await ws.close(1000, 'done')\n"
    "        print('closed', ws.close_code, flush=True)\n"
    "    async with websockets.connect(url) as ws:\n"
    "        await ws.send('bye')\n"
    "        try:\n"
    "            await ws.recv()\n"
    "        except websockets.ConnectionClosed as e:\n"
    "            print('server closed', e.rcvd.code, e.rcvd.reason, "
    "flush=True)\n"
    "asyncio.run(main(sys.argv[1]))\n";

static int py_client_body(void *arg)
{
    (void)arg;
    http_fx f = {0};
    char url[64];
    corio_process *p;
    corio_process_output out;
    http_fx_start(&f);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", f.port);
    const char *argv[] = {PYTHON, "-c", py_client, url, NULL};
    corio_process_opts po = {.stdout_mode = CORIO_STDIO_PIPE,
                             .stderr_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(corio_process_spawn(&p, argv, &po), 0);
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), 0);
    if (out.status != 0)
        fprintf(stderr, "    python: %.*s\n", (int)out.err_len, out.err);
    CHECK_EQ(out.status, 0);
    CHECK_EQ(out.out_len,
             strlen("closed 1000\nserver closed 4001 server bye\n"));
    CHECK(memcmp(out.out, "closed 1000\nserver closed 4001 server bye\n",
                 out.out_len) == 0);
    corio_process_output_destroy(&out);
    corio_process_close(p);
    http_fx_finish(&f);
    return 0;
}

/* On the real clock: the server's header timeout must not jump ahead
 * while the Python process, which runs in real time, is starting. */
TEST(ws, server_against_python_websockets)
{
    corio_options o = {0};
    CHECK_EQ(tst_run_ex(&o, py_client_body, NULL), 0);
}
