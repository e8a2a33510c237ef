/* http/chunked.c — the chunked transfer coding decoder (RFC 9112 §7.1),
 * corio_http_chunked_init / corio_http_chunked_decode.
 *
 * A byte-driven state machine for the framing (size line, extensions, the
 * CRLF after each chunk, the trailer section) and a memmove for the data,
 * decoding in place: the output never overtakes the input, so any split of
 * the input over calls gives the same bytes.
 *
 * Strictness (request smuggling lives in lenient chunk parsers): every line
 * of the framing ends in CRLF, never a bare LF or CR; the size is 1*HEXDIG
 * below 2^63; whitespace is allowed only where the grammar has BWS, i.e.
 * around the ';' and '=' of an extension; extensions are checked for syntax
 * (token names, token or quoted-string values) and dropped; trailer fields
 * are checked like header fields (token name, no whitespace before ':', no
 * control bytes) and dropped. */
#include "http/chars.h"

#include <corio.h>
#include <errno.h>
#include <string.h>

#define DEFAULT_MAX_LINE (4u * 1024)
#define DEFAULT_MAX_TRAILER (16u * 1024)

enum {
    S_SIZE0,    /* first hex digit of a chunk size (0: a zeroed struct works) */
    S_SIZE,     /* more hex digits */
    S_BWS,      /* whitespace after the size or a value: only ';' may follow */
    S_NAME0,    /* after ';': BWS, then an extension name */
    S_NAME,     /* in an extension name */
    S_NAME_BWS, /* whitespace after a name: '=' or ';' may follow */
    S_VAL0,     /* after '=': BWS, then a token or a quoted string */
    S_VAL,      /* in a token value */
    S_QUOTED,   /* in a quoted-string value */
    S_QESC,     /* after a backslash in a quoted string */
    S_QEND,     /* after the closing quote */
    S_SIZE_LF,  /* after the CR of a size line */
    S_DATA,     /* chunk data: remaining bytes to go */
    S_DATA_CR,  /* the CR after the data */
    S_DATA_LF,  /* the LF after the data */
    S_TR_START, /* start of a trailer line, or the final CRLF */
    S_TR_NAME,  /* in a trailer field name */
    S_TR_VAL,   /* in a trailer field value */
    S_TR_LF,    /* after the CR of a trailer line */
    S_END_LF,   /* after the CR of the final blank line */
    S_DONE,
};

void corio_http_chunked_init(corio_http_chunked *c)
{
    if (c)
        *c = (corio_http_chunked){.max_line = DEFAULT_MAX_LINE,
                                  .max_trailer = DEFAULT_MAX_TRAILER};
}

/* The state after one framing byte, or -1 for a syntax error. */
static int step(corio_http_chunked *c, unsigned char ch)
{
    int d;
    switch (c->state) {
    case S_SIZE0:
        if ((d = corio__http_hexval(ch)) < 0)
            return -1;
        c->remaining = (uint64_t)d;
        return S_SIZE;
    case S_SIZE:
        if ((d = corio__http_hexval(ch)) >= 0) {
            if (c->remaining > ((uint64_t)INT64_MAX - (uint64_t)d) / 16)
                return -1; /* over 2^63 - 1 */
            c->remaining = c->remaining * 16 + (uint64_t)d;
            return S_SIZE;
        }
        return ch == '\r'            ? S_SIZE_LF
               : ch == ';'           ? S_NAME0
               : corio__http_ows(ch) ? S_BWS
                                     : -1;
    case S_BWS:
        return corio__http_ows(ch) ? S_BWS : ch == ';' ? S_NAME0 : -1;
    case S_NAME0:
        return corio__http_ows(ch)                     ? S_NAME0
               : corio__http_is(ch, CORIO__HTTP_TCHAR) ? S_NAME
                                                       : -1;
    case S_NAME:
        if (corio__http_is(ch, CORIO__HTTP_TCHAR))
            return S_NAME;
        /* what may follow a name: */
        __attribute__((fallthrough));
    case S_NAME_BWS:
        return corio__http_ows(ch) ? S_NAME_BWS
               : ch == '='         ? S_VAL0
               : ch == ';'         ? S_NAME0
               : ch == '\r'        ? S_SIZE_LF
                                   : -1;
    case S_VAL0:
        return corio__http_ows(ch)                     ? S_VAL0
               : ch == '"'                             ? S_QUOTED
               : corio__http_is(ch, CORIO__HTTP_TCHAR) ? S_VAL
                                                       : -1;
    case S_VAL:
        if (corio__http_is(ch, CORIO__HTTP_TCHAR))
            return S_VAL;
        /* what may follow a value: */
        __attribute__((fallthrough));
    case S_QEND:
        return corio__http_ows(ch) ? S_BWS
               : ch == ';'         ? S_NAME0
               : ch == '\r'        ? S_SIZE_LF
                                   : -1;
    case S_QUOTED:
        return ch == '"'                               ? S_QEND
               : ch == '\\'                            ? S_QESC
               : corio__http_is(ch, CORIO__HTTP_VCHAR) ? S_QUOTED
                                                       : -1;
    case S_QESC:
        return corio__http_is(ch, CORIO__HTTP_VCHAR) ? S_QUOTED : -1;
    case S_SIZE_LF:
        if (ch != '\n')
            return -1;
        c->line = 0;
        return c->remaining ? S_DATA : S_TR_START;
    case S_DATA_CR:
        return ch == '\r' ? S_DATA_LF : -1;
    case S_DATA_LF:
        return ch == '\n' ? S_SIZE0 : -1;
    case S_TR_START:
        return ch == '\r'                              ? S_END_LF
               : corio__http_is(ch, CORIO__HTTP_TCHAR) ? S_TR_NAME
                                                       : -1;
    case S_TR_NAME:
        return ch == ':'                               ? S_TR_VAL
               : corio__http_is(ch, CORIO__HTTP_TCHAR) ? S_TR_NAME
                                                       : -1;
    case S_TR_VAL:
        return ch == '\r'                              ? S_TR_LF
               : corio__http_is(ch, CORIO__HTTP_VCHAR) ? S_TR_VAL
                                                       : -1;
    case S_TR_LF:
        c->line = 0;
        return ch == '\n' ? S_TR_START : -1;
    case S_END_LF:
        return ch == '\n' ? S_DONE : -1;
    default:
        return -1;
    }
}

ssize_t corio_http_chunked_decode(corio_http_chunked *c, char *buf, size_t *len)
{
    if (!c || !len || (!buf && *len))
        return -EINVAL;
    size_t n = *len, i = 0, o = 0;
    size_t max_line = c->max_line ? c->max_line : DEFAULT_MAX_LINE;
    size_t max_trailer = c->max_trailer ? c->max_trailer : DEFAULT_MAX_TRAILER;

    while (i < n && c->state != S_DONE) {
        if (c->state == S_DATA) {
            size_t k = n - i;
            if (k > c->remaining)
                k = (size_t)c->remaining;
            memmove(buf + o, buf + i, k);
            o += k;
            i += k;
            c->remaining -= k;
            if (c->remaining == 0)
                c->state = S_DATA_CR;
            continue;
        }
        int in_trailer = c->state >= S_TR_START;
        int s = step(c, (unsigned char)buf[i++]);
        if (s < 0)
            return CORIO_EHTTP;
        if (in_trailer && ++c->trailer > max_trailer)
            return CORIO_EHTTP;
        /* Bytes of a size or trailer line before its CR count against
         * max_line (the counter restarts on each LF). */
        if (((s >= S_SIZE && s <= S_QEND) || s == S_TR_NAME || s == S_TR_VAL) &&
            ++c->line > max_line)
            return CORIO_EHTTP;
        c->state = s;
    }
    if (c->state != S_DONE) {
        *len = o;
        return -EAGAIN;
    }
    memmove(buf + o, buf + i, n - i);
    *len = o;
    return (ssize_t)(n - i);
}
