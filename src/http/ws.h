/* http/ws.h — what http/ws_handshake.c (and the tests) need from the
 * WebSocket connection object of http/ws.c. */
#ifndef CORIO_HTTP_WS_H
#define CORIO_HTTP_WS_H

#include <corio.h>
#include <stdbool.h>

/* Make a WebSocket over s after a successful opening handshake, as the
 * client (masks what it sends, refuses masked frames) or the server.
 * protocol is the subprotocol agreed (copied; NULL: none).  Takes s: it is
 * closed on failure too.  Returns 0 and *out, -EINVAL, -ENOMEM. */
int corio__ws_new(corio_ws **out, corio_stream *s, bool client,
                  const corio_ws_opts *o, const char *protocol);

#endif
