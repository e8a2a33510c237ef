/* ws/ws_handshake.c — the client's WebSocket opening handshake (RFC 6455
 * §4.1): corio_ws_connect and corio_ws_handshake.  The server's is in
 * http/ws_accept.c.
 *
 * Parts:
 *   keys        the random 16-byte Sec-WebSocket-Key in base64, and the
 *               Sec-WebSocket-Accept both sides derive from it:
 *               base64(SHA-1(key + the RFC's GUID)), with OpenSSL's EVP.
 *   the request the GET upgrade request, written into the stream's buffer
 *               and flushed once.
 *   the answer  read with the HTTP layer's head reader (http/msg.h) and
 *               checked: 101, Upgrade, Connection, the accept value, and no
 *               subprotocol or extension we did not offer.  Frames the
 *               server sent right after its head stay in the stream. */
#include "http/msg.h"
#include "ws/ws.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KEY_LEN 24    /* base64 of 16 bytes */
#define ACCEPT_LEN 28 /* base64 of a 20-byte SHA-1 */
#define MAX_FIELDS 64 /* response header fields the client accepts */
#define MAX_PROTOCOL 128

int corio__ws_accept_key(char out[29], const char *key, size_t klen)
{
    unsigned char buf[KEY_LEN + sizeof GUID], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (klen != KEY_LEN)
        return CORIO_EHTTP;
    memcpy(buf, key, KEY_LEN);
    memcpy(buf + KEY_LEN, GUID, sizeof GUID - 1);
    if (!EVP_Digest(buf, KEY_LEN + sizeof GUID - 1, md, &mdlen, EVP_sha1(),
                    NULL) ||
        mdlen != 20)
        return -ENOMEM; /* OpenSSL fails only when it cannot allocate */
    EVP_EncodeBlock((unsigned char *)out, md, 20);
    return 0;
}

static int put(corio_stream *s, int rc, const char *str)
{
    return rc < 0 ? rc : corio_stream_write(s, str, strlen(str));
}

/* A field name or value fit to write: no CR, LF or NUL (and for a name,
 * no colon and not empty). */
static bool field_ok(const char *v, bool name)
{
    if (!v || (name && !*v))
        return false;
    return !v[strcspn(v, name ? "\r\n:" : "\r\n")];
}

/* ---- Client -------------------------------------------------------------- */

static int write_request(corio_stream *s, const corio_url *u, const char *key,
                         const corio_ws_opts *o)
{
    int rc = 0;

    if (o && o->headers)
        for (const char *const *h = o->headers; *h; h += 2)
            if (!field_ok(h[0], true) || !field_ok(h[1], false))
                return -EINVAL;
    if (o && o->protocol && !field_ok(o->protocol, false))
        return -EINVAL;
    rc = put(s, rc, "GET ");
    if (rc == 0)
        rc = corio_stream_write(s, u->target.p, u->target.n);
    rc = put(s, rc, " HTTP/1.1\r\nHost: ");
    if (rc == 0)
        rc = corio__http_write_host(s, u);
    rc = put(s, rc,
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
    rc = put(s, rc, key);
    if (o && o->protocol) {
        rc = put(s, rc, "\r\nSec-WebSocket-Protocol: ");
        rc = put(s, rc, o->protocol);
    }
    if (o && o->headers)
        for (const char *const *h = o->headers; *h; h += 2) {
            rc = put(s, rc, "\r\n");
            rc = put(s, rc, h[0]);
            rc = put(s, rc, ": ");
            rc = put(s, rc, h[1]);
        }
    rc = put(s, rc, "\r\n\r\n");
    return rc < 0 ? rc : corio_stream_flush(s);
}

/* Check the response head; copy the chosen subprotocol into proto. */
static int check_response(const corio_http_head *h, const char *accept,
                          const corio_ws_opts *o, char proto[MAX_PROTOCOL])
{
    const corio_http_str *v;

    if (h->status != 101)
        return CORIO_EHTTP;
    v = corio_http_head_get(h, "Upgrade");
    if (!v || !corio__http_str_eq(*v, "websocket"))
        return CORIO_EHTTP;
    v = corio_http_head_get(h, "Connection");
    if (!v || !corio_http_str_has_token(*v, "upgrade"))
        return CORIO_EHTTP;
    v = corio_http_head_get(h, "Sec-WebSocket-Accept");
    if (!v || v->n != ACCEPT_LEN || memcmp(v->p, accept, ACCEPT_LEN) != 0)
        return CORIO_EHTTP;
    /* No extension is offered, so none may be chosen (RFC 6455 §4.1). */
    if (corio_http_head_get(h, "Sec-WebSocket-Extensions"))
        return CORIO_EHTTP;
    proto[0] = '\0';
    v = corio_http_head_get(h, "Sec-WebSocket-Protocol");
    if (v) {
        if (!o || !o->protocol || v->n >= MAX_PROTOCOL)
            return CORIO_EHTTP;
        memcpy(proto, v->p, v->n);
        proto[v->n] = '\0';
        corio_http_str offered = {o->protocol, strlen(o->protocol)};
        if (!*proto || strchr(proto, ',') ||
            !corio_http_str_has_token(offered, proto))
            return CORIO_EHTTP;
    }
    return 0;
}

/* Parse url, which must be a ws:// or wss:// URL.  Returns 0, -EINVAL
 * (NULL), CORIO_EURL or another error of corio_url_parse. */
static int parse_ws_url(corio_url *u, const char *url)
{
    if (!url)
        return -EINVAL;
    int rc = corio_url_parse(u, url, strlen(url));
    if (rc < 0)
        return rc;
    if (!corio__http_str_eq(u->scheme, "ws") &&
        !corio__http_str_eq(u->scheme, "wss"))
        return CORIO_EURL;
    return 0;
}

static int handshake(corio_ws **out, corio_stream *conn, const char *url,
                     const corio_ws_opts *o)
{
    unsigned char raw[16];
    char key[KEY_LEN + 1], accept[ACCEPT_LEN + 1], proto[MAX_PROTOCOL];
    corio_http_header fields[MAX_FIELDS];
    corio_http_head h = {.headers = fields, .max_headers = MAX_FIELDS};
    corio_url u;
    ssize_t n;
    int rc;

    rc = parse_ws_url(&u, url);
    if (rc < 0)
        return rc;
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -ENOMEM;
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    rc = corio__ws_accept_key(accept, key, KEY_LEN);
    if (rc < 0)
        return rc;
    rc = write_request(conn, &u, key, o);
    if (rc < 0)
        return rc;
    n = corio__http_read_head(conn, &h, false, NULL);
    if (n == 0)
        return CORIO_EOF;
    if (n == CORIO_EURITOOLONG || n == CORIO_EHEADERSTOOLARGE)
        return CORIO_EHTTP;
    if (n < 0)
        return (int)n;
    rc = check_response(&h, accept, o, proto);
    if (rc < 0)
        return rc;
    corio_stream_consume(conn, (size_t)n);
    return corio__ws_new(out, conn, true, o, *proto ? proto : NULL);
}

int corio_ws_handshake(corio_ws **out, corio_stream *conn, const char *url,
                       const corio_ws_opts *o)
{
    int rc;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!conn)
        return -EINVAL;
    rc = handshake(out, conn, url, o);
    if (rc < 0 && !*out)
        corio_stream_close(conn);
    return rc;
}

int corio_ws_connect(corio_ws **out, const char *url, const corio_ws_opts *o)
{
    corio_stream *conn;
    corio_url u;
    int rc;

    if (!out)
        return -EINVAL;
    *out = NULL;
    rc = parse_ws_url(&u, url);
    if (rc < 0)
        return rc;
    rc = corio__http_dial_url(&conn, &u, o ? &o->stream : NULL,
                              o ? o->tls : NULL, o ? o->detail : NULL);
    if (rc < 0)
        return rc;
    return corio_ws_handshake(out, conn, url, o);
}
