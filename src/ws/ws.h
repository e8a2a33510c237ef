/* ws/ws.h — what the two halves of WebSocket share (and the tests use):
 * the connection object of http/ws.c, made by http/ws_handshake.c, and the
 * accept value the handshake derives. */
#ifndef CORIO_WS_WS_H
#define CORIO_WS_WS_H

#include <corio.h>
#include <stdbool.h>

/* Make a WebSocket over s after a successful opening handshake, as the
 * client (masks what it sends, refuses masked frames) or the server.
 * protocol is the subprotocol agreed (copied; NULL: none).  Takes s on
 * success; on failure s stays the caller's.  Returns 0 and *out, -EINVAL,
 * -ENOMEM. */
int corio__ws_new(corio_ws **out, corio_stream *s, bool client,
                  const corio_ws_opts *o, const char *protocol);

/* The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64 of the
 * SHA-1 of key and the RFC's GUID, 28 characters and a NUL.  Returns 0,
 * CORIO_EHTTP (klen is not 24), -ENOMEM. */
int corio__ws_accept_key(char out[29], const char *key, size_t klen);

#endif
