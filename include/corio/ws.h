/* corio/ws.h — WebSocket (RFC 6455) client and server over corio streams.
 *
 * Messages, not frames: corio_ws_recv returns whole messages (fragments
 * reassembled, at most max_message bytes), answers pings with pongs by
 * itself, and reports the peer's close.  Text messages are checked to be
 * valid UTF-8.  Client frames are masked with fresh random keys; a server
 * refuses unmasked frames and a client refuses masked ones.  Any protocol
 * violation by the peer (bad opcode, reserved bits, fragmented or oversized
 * control frame, invalid UTF-8, bad close code) makes the call return
 * CORIO_EWS after sending the close frame RFC 6455 asks for (1002, 1007 or
 * 1009) and closing the connection.
 *
 * Limits: messages up to max_message (1009 beyond, refused at the frame
 * header that passes it, before its payload is read); control frames and
 * pings 125 bytes; close reasons 123 bytes.  No extension (compression) is
 * negotiated, so RSV bits are always an error.  Frames are sent unfragmented
 * (one frame per message); fragmented messages are received.
 *
 * Thread-safety: one loop; one task receiving and one task sending at a
 * time (-EBUSY otherwise). */
#ifndef CORIO_WS_H
#define CORIO_WS_H

#include "http_server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_ws corio_ws;

/* Message types. */
enum corio_ws_type { CORIO_WS_TEXT = 1, CORIO_WS_BINARY = 2 };

/* Options; zero fields take the defaults.
 *   max_message  largest message received (default 16 MiB) -> close 1009.
 *   protocol     client: Sec-WebSocket-Protocol offered (comma list);
 *                server: the one chosen (NULL: none).
 *   headers      client: extra handshake fields (name, value, ..., NULL).
 *   tls          client wss:// context (borrowed; NULL: the default one).
 *   stream       buffer limits of the connection's stream.
 *   detail       client: NULL, or where a failed wss:// connect writes the
 *                TLS reason in words. */
typedef struct corio_ws_opts {
    size_t max_message;
    const char *protocol;
    const char *const *headers;
    corio_tls_ctx *tls;
    corio_stream_opts stream;
    corio_error_detail *detail;
} corio_ws_opts;

/* Connect to a ws:// or wss:// URL and do the opening handshake (checks
 * 101, Upgrade, Connection and Sec-WebSocket-Accept, and that the server
 * chose no subprotocol that was not offered and no extension).  wss uses
 * o->tls with the URL's host as the server name.  Returns 0 and *out, or
 * the connect / TLS errors of corio_tcp_connect and corio_tls_client,
 * CORIO_EURL (not a ws/wss URL), CORIO_EHTTP (handshake refused or
 * malformed), CORIO_EOF (the server closed without answering), -EINVAL (a
 * CR, LF or NUL in o->protocol or o->headers, or a colon in a header
 * name), -ENOMEM, stream errors.
 * Cancel-safe: yes (nothing is left open). */
CORIO_API CORIO_NODISCARD int corio_ws_connect(corio_ws **out, const char *url,
                                               const corio_ws_opts *o);

/* Do the client handshake for url over a stream already connected (taken:
 * closed on failure too).  As corio_ws_connect otherwise. */
CORIO_API CORIO_NODISCARD int corio_ws_handshake(corio_ws **out,
                                                 corio_stream *conn,
                                                 const char *url,
                                                 const corio_ws_opts *o);

/* From an HTTP handler: check the upgrade request, take the connection
 * (corio_http_req_detach) and write the 101 response.  o->protocol is named
 * in the 101 only if the client offered it.  Returns 0 and *out, or
 * CORIO_EHTTP after replying 400 (not a valid WebSocket upgrade: not GET,
 * no "Upgrade: websocket" or "Connection: upgrade", a key that is not 16
 * bytes in base64, version not 13 — that 400 names version 13), -ENOMEM,
 * or a write error (the connection is then closed).  Use *out within the
 * handler, which should corio_ws_close it before returning.  -EINVAL: a CR
 * or LF in o->protocol, or one over 256 bytes. */
CORIO_API CORIO_NODISCARD int
corio_ws_accept(corio_ws **out, corio_http_req *req, const corio_ws_opts *o);

/* Send one message (type CORIO_WS_TEXT or CORIO_WS_BINARY; text must be
 * UTF-8: -EINVAL otherwise) as one frame; a client masks it with a fresh
 * random key.  Returns 0, CORIO_ESHUTDOWN (a close was sent or received, or
 * the connection failed or ended), -EBUSY (another task is sending), or a
 * write error.  Cancel-safe: no (the connection is closed: a partial frame
 * cannot be taken back). */
CORIO_API CORIO_NODISCARD int corio_ws_send(corio_ws *ws, int type,
                                            const void *data, size_t len);

/* Send a ping with up to 125 bytes of payload (-EINVAL beyond).  The pong
 * is dropped by corio_ws_recv.  Returns 0, CORIO_ESHUTDOWN, or a write error.
 * Cancel-safe: yes (the frame is written whole or not at all). */
CORIO_API int corio_ws_ping(corio_ws *ws, const void *data, size_t len);

/* Receive the next message: its type in *type, its bytes in *data (owned by
 * ws, valid until the next recv, followed by a NUL byte), and returns its
 * length.  Pings are answered and pongs dropped on the way.  Returns
 * CORIO_ESHUTDOWN when the peer closed (the close was answered with the same
 * code; the code is corio_ws_close_code), CORIO_EWS (see the file
 * comment), CORIO_EOF (the connection ended without a close), -EBUSY
 * (another task is receiving), -ENOMEM, or a read error.  After
 * CORIO_ESHUTDOWN, CORIO_EWS or CORIO_EOF, later calls return the same.
 * Cancel-safe: yes, at any point: a message (or frame) partly received
 * stays buffered and the next call continues it. */
CORIO_API CORIO_NODISCARD ssize_t corio_ws_recv(corio_ws *ws, int *type,
                                                const void **data);

/* Start the closing handshake with code (1000 normal; 0: none sent, and no
 * reason) and a reason (NULL or up to 123 bytes of UTF-8), then wait for
 * the peer's close frame (messages arriving meanwhile are dropped, pings
 * are not answered).  If another task is inside corio_ws_recv, only the
 * close frame is sent and this returns 0 at once: that task's recv returns
 * CORIO_ESHUTDOWN when the peer answers.  If the peer closed first, returns
 * 0.  Returns 0, -EINVAL (a code that may not be sent: not 1000-1003,
 * 1007-1014 or 3000-4999; a reason too long or not UTF-8), CORIO_EWS,
 * CORIO_EOF, or a read / write error; the connection is shut down either
 * way.  Cancel-safe: yes (the connection is shut down). */
CORIO_API int corio_ws_close_handshake(corio_ws *ws, int code,
                                       const char *reason);

/* The close code the peer sent (1005 if its close had none, 0 if it has
 * not closed).  Never suspends. */
CORIO_API int corio_ws_close_code(const corio_ws *ws);

/* The subprotocol agreed in the handshake (owned by ws), or NULL if none.
 * Never suspends. */
CORIO_API const char *corio_ws_protocol(const corio_ws *ws);

/* Free ws and close its connection (NULL is a no-op).  Never suspends. */
CORIO_API void corio_ws_close(corio_ws *ws);

#ifdef __cplusplus
}
#endif
#endif
