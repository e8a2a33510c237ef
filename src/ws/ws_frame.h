/* ws/ws_frame.h — WebSocket frames (RFC 6455 §5): the header codec, the
 * rules a received header must follow, close codes, and masking.  Pure
 * functions, no I/O; implemented in http/ws_frame.c and used by http/ws.c.
 *
 *    0               1               2               3
 *   |F|R|R|R| opcode|M| len (7)     | extended len (16 or 64 bits)  |
 *   |I|S|S|S|  (4)  |A| 126: 16-bit |  ... masking key (4 bytes, if |
 *   |N|V|V|V|       |S| 127: 64-bit |  MASK) ... payload ...        | */
#ifndef CORIO_WS_WS_FRAME_H
#define CORIO_WS_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes. */
#define CORIO__WS_CONT 0x0
#define CORIO__WS_TEXT 0x1
#define CORIO__WS_BINARY 0x2
#define CORIO__WS_CLOSE 0x8
#define CORIO__WS_PING 0x9
#define CORIO__WS_PONG 0xA

/* The longest frame header: 2 + 8 (length) + 4 (masking key). */
#define CORIO__WS_HEAD_MAX 14
/* The largest control frame payload. */
#define CORIO__WS_CONTROL_MAX 125

/* Close codes corio sends or reports. */
#define CORIO__WS_PROTOCOL 1002
#define CORIO__WS_BAD_DATA 1007 /* invalid UTF-8 */
#define CORIO__WS_TOO_BIG 1009
#define CORIO__WS_NO_CODE 1005 /* reported, never sent */

/* A decoded frame header. */
typedef struct corio__ws_frame {
    bool fin;
    unsigned rsv; /* the RSV1-3 bits (0x70 of the first byte) */
    unsigned opcode;
    bool masked;
    uint8_t key[4];
    uint64_t len; /* payload length */
} corio__ws_frame;

/* Decode the frame header at the start of p[0..n).  Returns its length
 * (2..14), -EAGAIN when p holds only part of it, or -EPROTO when the
 * 64-bit length has its most significant bit set (RFC 6455 §5.2: fail with
 * 1002).  A length encoded in more bytes than needed is accepted. */
int corio__ws_frame_decode(corio__ws_frame *f, const void *p, size_t n);

/* Check a decoded header against the protocol, as received by a server
 * (from_client: frames must be masked) or a client (must not be).
 * Returns 0, or the close code to fail the connection with: 1002 for
 * reserved bits (no extension is negotiated), a reserved opcode, a wrong
 * mask bit, a fragmented control frame or one over 125 bytes. */
int corio__ws_frame_check(const corio__ws_frame *f, bool from_client);

/* Encode a frame header into out: fin, opcode, payload length, and the
 * masking key (NULL: unmasked).  Returns its length. */
size_t corio__ws_frame_encode(uint8_t out[CORIO__WS_HEAD_MAX], bool fin,
                              unsigned opcode, uint64_t len,
                              const uint8_t *key);

/* dst[i] = src[i] ^ key[(pos + i) % 4] for i < n, where pos is the offset of
 * src[0] in the payload (so a payload can be unmasked in pieces); dst may be
 * src.  Eight bytes at a time. */
void corio__ws_mask(void *dst, const void *src, size_t n, const uint8_t key[4],
                    uint64_t pos);

/* May code appear in a close frame (1000-1003, 1007-1014, 3000-4999)? */
bool corio__ws_close_code_valid(int code);

#endif
