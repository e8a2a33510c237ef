/* ws/utf8.c — the incremental UTF-8 validator (http/utf8.h).
 *
 * The state is what the next byte must be: a lead byte (need == 0), or a
 * continuation byte in [lo, hi].  The first continuation byte after some
 * lead bytes has a narrower range than 80..BF — that is where overlong
 * forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past
 * U+10FFFF (F4 90..BF) are refused, as in RFC 3629's table.  Runs of ASCII,
 * the common case, are skipped eight bytes at a time. */
#include "ws/utf8.h"

#include <string.h>

bool corio__utf8_feed(corio__utf8 *u, const void *p, size_t n)
{
    if (n == 0)
        return true;
    const uint8_t *s = p, *end = s + n;
    unsigned need = u->need, lo = u->lo, hi = u->hi;

    while (s < end) {
        if (need) {
            if (*s < lo || *s > hi)
                return false;
            s++;
            need--;
            lo = 0x80;
            hi = 0xBF;
            continue;
        }
        while (end - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            s += 8;
        }
        if (s == end)
            break;
        unsigned c = *s++;
        if (c < 0x80)
            continue;
        if (c < 0xC2) /* a continuation byte, or an overlong C0/C1 lead */
            return false;
        if (c < 0xE0) {
            need = 1;
            lo = 0x80;
            hi = 0xBF;
        } else if (c < 0xF0) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F: overlong */
            hi = c == 0xED ? 0x9F : 0xBF; /* ED A0..BF: surrogates */
        } else if (c < 0xF5) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80; /* F0 80..8F: overlong */
            hi = c == 0xF4 ? 0x8F : 0xBF; /* F4 90..: above U+10FFFF */
        } else {
            return false;
        }
    }
    u->need = (uint8_t)need;
    u->lo = (uint8_t)lo;
    u->hi = (uint8_t)hi;
    return true;
}

bool corio__utf8_valid(const void *p, size_t n)
{
    corio__utf8 u = {0};
    return corio__utf8_feed(&u, p, n) && corio__utf8_complete(&u);
}
