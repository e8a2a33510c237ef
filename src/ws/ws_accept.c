/* ws/ws_accept.c — the server's WebSocket opening handshake (RFC 6455
 * §4.2), corio_ws_accept, run from an HTTP handler: check the request
 * through the HTTP server's request API, answer 400 to anything that is not
 * a valid upgrade, and otherwise take the connection
 * (corio_http_req_detach) and write the 101 ourselves — the reply functions
 * own Connection and frame a body, and a 101 has neither. */
#include "ws/ws.h"

#include <openssl/evp.h>
#include <string.h>

#define KEY_LEN 24       /* base64 of 16 bytes */
#define MAX_PROTOCOL 256 /* the longest subprotocol name we send */

/* Is key the base64 form of 16 bytes? */
static bool key_valid(const char *key)
{
    unsigned char raw[KEY_LEN];

    return key && strlen(key) == KEY_LEN && key[22] == '=' && key[23] == '=' &&
           EVP_DecodeBlock(raw, (const unsigned char *)key, KEY_LEN) == 18;
}

static int refuse(corio_http_req *req, bool version)
{
    static const char msg[] = "not a WebSocket upgrade\n";

    /* RFC 6455 §4.4: tell the client the version we speak. */
    if (version)
        corio_http_reply_header(req, "Sec-WebSocket-Version", "13");
    corio_http_reply(req, 400, "text/plain", msg, sizeof msg - 1);
    return CORIO_EHTTP;
}

static bool has_token(const char *v, const char *token)
{
    return v && corio_http_str_has_token((corio_http_str){v, strlen(v)}, token);
}

int corio_ws_accept(corio_ws **out, corio_http_req *req, const corio_ws_opts *o)
{
    char accept[29], head[512];
    const char *key, *version, *proto = NULL;
    corio_stream *conn;
    int rc, n;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!req)
        return -EINVAL;
    if (o && o->protocol &&
        (strpbrk(o->protocol, "\r\n") || strlen(o->protocol) > MAX_PROTOCOL))
        return -EINVAL;
    key = corio_http_req_header(req, "Sec-WebSocket-Key");
    version = corio_http_req_header(req, "Sec-WebSocket-Version");
    if (strcmp(corio_http_req_method(req), "GET") != 0 ||
        !has_token(corio_http_req_header(req, "Upgrade"), "websocket") ||
        !has_token(corio_http_req_header(req, "Connection"), "upgrade") ||
        !key_valid(key))
        return refuse(req, false);
    if (!version || strcmp(version, "13") != 0)
        return refuse(req, true);
    /* Name the subprotocol only if the client offered it. */
    if (o && o->protocol &&
        has_token(corio_http_req_header(req, "Sec-WebSocket-Protocol"),
                  o->protocol))
        proto = o->protocol;
    rc = corio__ws_accept_key(accept, key, strlen(key));
    if (rc < 0)
        return rc;
    conn = corio_http_req_detach(req);
    if (!conn)
        return refuse(req, false); /* a body left unread: not an upgrade */
    n = snprintf(head, sizeof head,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                 "%s%s%s\r\n",
                 accept, proto ? "Sec-WebSocket-Protocol: " : "",
                 proto ? proto : "", proto ? "\r\n" : "");
    rc = corio_stream_write(conn, head, (size_t)n);
    if (rc == 0)
        rc = corio_stream_flush(conn);
    if (rc == 0)
        rc = corio__ws_new(out, conn, false, o, proto);
    if (rc < 0)
        corio_stream_close(conn);
    return rc;
}
