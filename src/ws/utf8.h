/* ws/utf8.h — an incremental UTF-8 validator (RFC 3629) for WebSocket
 * text messages and close reasons, which arrive in pieces: a code point may
 * be split across reads and across fragments.  Implemented in http/utf8.c. */
#ifndef CORIO_WS_UTF8_H
#define CORIO_WS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Validator state: zero it before the first byte. */
typedef struct corio__utf8 {
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo, hi; /* the range the next continuation byte must be in */
} corio__utf8;

/* Feed p[0..n).  Returns false as soon as the bytes so far cannot begin
 * valid UTF-8 (an overlong form, a surrogate, a code point above U+10FFFF,
 * a stray or missing continuation byte); the state is then meaningless. */
bool corio__utf8_feed(corio__utf8 *u, const void *p, size_t n);

/* True if the bytes fed so far end on a code point boundary. */
static inline bool corio__utf8_complete(const corio__utf8 *u)
{
    return u->need == 0;
}

/* Is p[0..n) valid UTF-8 as a whole? */
bool corio__utf8_valid(const void *p, size_t n);

#endif
