/* http/chars.h — the byte classes of HTTP/1.1 (RFC 9110 §5.6.2, RFC 9112),
 * one table shared by the head parser (http/parse.c, which defines it), the
 * chunked decoder (http/chunked.c) and the URL parser (http/url.c).  A table
 * lookup per byte keeps the scanning loops tight: no branches per class. */
#ifndef CORIO_HTTP_CHARS_H
#define CORIO_HTTP_CHARS_H

#define CORIO__HTTP_TCHAR  1u /* token character: method, field name, coding */
#define CORIO__HTTP_VCHAR  2u /* field value byte: VCHAR, obs-text, SP, HTAB */
#define CORIO__HTTP_TARGET 4u /* request-target byte: VCHAR or obs-text */

extern const unsigned char corio__http_chars[256];

#define corio__http_is(c, cls) (corio__http_chars[(unsigned char)(c)] & (cls))

#endif
