/* ws/ws_frame.c — WebSocket frame headers, the receive-side rules, close
 * code validity and masking (http/ws_frame.h). */
#include "ws/ws_frame.h"

#include <errno.h>
#include <string.h>

int corio__ws_frame_decode(corio__ws_frame *f, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t need = 2;

    if (n < 2)
        return -EAGAIN;
    f->fin = b[0] & 0x80;
    f->rsv = b[0] & 0x70;
    f->opcode = b[0] & 0x0F;
    f->masked = b[1] & 0x80;
    unsigned len7 = b[1] & 0x7F;
    need += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    need += f->masked ? 4 : 0;
    if (n < need)
        return -EAGAIN;
    b += 2;
    if (len7 == 126) {
        f->len = (uint64_t)b[0] << 8 | b[1];
        b += 2;
    } else if (len7 == 127) {
        f->len = 0;
        for (int i = 0; i < 8; i++)
            f->len = f->len << 8 | b[i];
        if (f->len >> 63)
            return -EPROTO;
        b += 8;
    } else {
        f->len = len7;
    }
    if (f->masked)
        memcpy(f->key, b, 4);
    return (int)need;
}

int corio__ws_frame_check(const corio__ws_frame *f, bool from_client)
{
    if (f->rsv)
        return CORIO__WS_PROTOCOL;
    if (f->masked != from_client)
        return CORIO__WS_PROTOCOL;
    switch (f->opcode) {
    case CORIO__WS_CONT:
    case CORIO__WS_TEXT:
    case CORIO__WS_BINARY:
        return 0;
    case CORIO__WS_CLOSE:
    case CORIO__WS_PING:
    case CORIO__WS_PONG:
        if (!f->fin || f->len > CORIO__WS_CONTROL_MAX)
            return CORIO__WS_PROTOCOL;
        return 0;
    default:
        return CORIO__WS_PROTOCOL;
    }
}

size_t corio__ws_frame_encode(uint8_t out[CORIO__WS_HEAD_MAX], bool fin,
                              unsigned opcode, uint64_t len, const uint8_t *key)
{
    size_t n = 2;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (key) {
        out[1] |= 0x80;
        memcpy(out + n, key, 4);
        n += 4;
    }
    return n;
}

void corio__ws_mask(void *dst, const void *src, size_t n, const uint8_t key[4],
                    uint64_t pos)
{
    uint8_t k[8];
    uint64_t k8;
    uint8_t *d = dst;
    const uint8_t *s = src;
    size_t i = 0;

    for (int j = 0; j < 8; j++)
        k[j] = key[(pos + (unsigned)j) & 3];
    memcpy(&k8, k, 8);
    /* Whole words with the key repeated twice; memcpy keeps the loads and
     * stores legal at any alignment and compiles to plain moves (the
     * compiler widens the loop to vector registers). */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        w ^= k8;
        memcpy(d + i, &w, 8);
    }
    for (; i < n; i++)
        d[i] = s[i] ^ k[i & 7];
}

bool corio__ws_close_code_valid(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}
