/* http/chars.h — the byte classes of HTTP/1.1 (RFC 9110 §5.6.2, RFC 9112),
 * one table shared by the head parser (http/parse.c, which defines it), the
 * chunked decoder (http/chunked.c), the URL parser (http/url.c), the
 * client's request checks (http/send.c) and the server's percent-decoding.
 * A table lookup per byte keeps the scanning loops tight: no branches per
 * class.  The two classes that are not in the table (optional whitespace,
 * hex digits) are here too, so each byte class has one definition. */
#ifndef CORIO_HTTP_CHARS_H
#define CORIO_HTTP_CHARS_H

#define CORIO__HTTP_TCHAR 1u  /* token character: method, field name, coding */
#define CORIO__HTTP_VCHAR 2u  /* field value byte: VCHAR, obs-text, SP, HTAB */
#define CORIO__HTTP_TARGET 4u /* request-target byte: VCHAR or obs-text */

extern const unsigned char corio__http_chars[256];

#define corio__http_is(c, cls) (corio__http_chars[(unsigned char)(c)] & (cls))

/* OWS (RFC 9110 §5.6.3): SP or HTAB. */
static inline int corio__http_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* The value of a hex digit (either case), or -1. */
static inline int corio__http_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#endif
