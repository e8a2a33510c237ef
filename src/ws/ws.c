/* ws/ws.c — a WebSocket connection after its opening handshake
 * (http/ws_handshake.c): sending messages, receiving and reassembling them,
 * pings, and the closing handshake.
 *
 * Parts:
 *   the writer     every frame goes out whole under wlock, so the pongs and
 *                  close frames the receiving task writes never land inside
 *                  a message the sending task is writing.  Small frames
 *                  (control frames) are written in one corio_stream_write,
 *                  which is all or nothing; a data frame that fails half
 *                  written cannot be taken back, so the connection is
 *                  closed.
 *   the receiver   a frame header is parsed in the stream's buffer (peek,
 *                  fill, consume only once whole), then the payload is read
 *                  straight into the message buffer (or ctrl for a control
 *                  frame), unmasked and checked for UTF-8 as it arrives.
 *                  Every step that can suspend is a cancel-safe stream read
 *                  and the state (in_frame, got, msg_len, utf8) is in the
 *                  object, so a cancelled recv loses nothing.
 *   the close      close_sent: our close frame went out (nothing but the
 *                  handshake is written after it); close_code: the peer's
 *                  close arrived.  Once both are true — or the peer broke
 *                  the protocol, or the stream ended — the writing side is
 *                  shut down and recv keeps returning the same result
 *                  (rerr).
 *
 * The connection (s) is set to NULL only when a failed data frame write
 * closes it; any call that suspended re-reads ws->s afterwards. */
#include "ws/ws.h"

#include "os/sys.h"
#include "ws/utf8.h"
#include "ws/ws_frame.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_MESSAGE ((size_t)16 << 20)
#define SCRATCH ((size_t)16 * 1024) /* client: masked payload staging */
#define GROW_STEP ((size_t)64 * 1024)

struct corio_ws {
    corio_stream *s;
    bool client;
    size_t max_message;
    char *protocol;

    corio_lock wlock;
    bool sending, receiving;
    unsigned char *scratch; /* client: payload masked before writing */

    bool close_sent; /* our close frame is out */
    int close_code;  /* the peer's (1005: none given), 0: not yet */
    int rerr;        /* sticky result of recv once the connection ended */

    /* the frame being received */
    bool in_frame;
    corio__ws_frame f;
    uint64_t got;

    /* the message being reassembled */
    int msg_type; /* CORIO_WS_TEXT / BINARY, 0: none open */
    bool delivered;
    unsigned char *msg;
    size_t msg_len, msg_cap;
    corio__utf8 utf8;

    bool pong_pending; /* a ping's answer still to write */
    unsigned char ctrl[CORIO__WS_CONTROL_MAX + 1];
    size_t pong_len;
    unsigned char pong[CORIO__WS_CONTROL_MAX];
};

int corio__ws_new(corio_ws **out, corio_stream *s, bool client,
                  const corio_ws_opts *o, const char *protocol)
{
    corio_ws *ws;

    *out = NULL;
    if (!s)
        return -EINVAL;
    ws = corio__sys.calloc(1, sizeof *ws);
    if (!ws)
        goto nomem;
    if (protocol) {
        ws->protocol = strdup(protocol);
        if (!ws->protocol)
            goto nomem;
    }
    corio_lock_init(&ws->wlock);
    ws->s = s;
    ws->client = client;
    ws->max_message =
        o && o->max_message ? o->max_message : DEFAULT_MAX_MESSAGE;
    *out = ws;
    return 0;
nomem:
    free(ws);
    return -ENOMEM;
}

/* ---- Writing ------------------------------------------------------------- */

/* Close the connection after a write that cannot be taken back. */
static void conn_drop(corio_ws *ws)
{
    corio_stream_close(ws->s);
    ws->s = NULL;
    ws->close_sent = true;
    if (!ws->rerr)
        ws->rerr = CORIO_ESHUTDOWN;
}

static void make_key(corio_ws *ws, uint8_t key[4])
{
    /* RFC 6455 §5.3: the key must be unpredictable to anyone on the path.
     * RAND_bytes fails only when the system has no entropy at all; a
     * fixed key then still makes frames the peer accepts. */
    if (ws->client && RAND_bytes(key, 4) != 1)
        memset(key, 0x5A, 4);
}

/* Write a small frame (a control frame) whole, or nothing: it stays
 * retryable after an error.  Call with wlock held. */
static int write_small(corio_ws *ws, unsigned opcode, const void *p, size_t n)
{
    uint8_t buf[CORIO__WS_HEAD_MAX + CORIO__WS_CONTROL_MAX], key[4];
    size_t h;
    int rc;

    if (!ws->s)
        return CORIO_ESHUTDOWN;
    make_key(ws, key);
    h = corio__ws_frame_encode(buf, true, opcode, n, ws->client ? key : NULL);
    if (ws->client)
        corio__ws_mask(buf + h, p, n, key, 0);
    else if (n)
        memcpy(buf + h, p, n);
    rc = corio_stream_write(ws->s, buf, h + n);
    if (rc == 0)
        rc = corio_stream_flush(ws->s);
    return rc;
}

/* Write one data frame; on any error the connection is closed. */
static int write_data(corio_ws *ws, unsigned opcode, const void *p, size_t n)
{
    uint8_t head[CORIO__WS_HEAD_MAX], key[4];
    const uint8_t *src = p;
    size_t h, done = 0;
    int rc;

    make_key(ws, key);
    h = corio__ws_frame_encode(head, true, opcode, n, ws->client ? key : NULL);
    rc = corio_stream_write(ws->s, head, h);
    if (rc == 0 && !ws->client && n)
        rc = corio_stream_write(ws->s, p, n);
    while (rc == 0 && ws->client && done < n) {
        size_t k = n - done < SCRATCH ? n - done : SCRATCH;
        if (!ws->scratch && !(ws->scratch = corio__sys.malloc(SCRATCH))) {
            rc = -ENOMEM;
            break;
        }
        corio__ws_mask(ws->scratch, src + done, k, key, done);
        rc = corio_stream_write(ws->s, ws->scratch, k);
        done += k;
    }
    if (rc == 0)
        rc = corio_stream_flush(ws->s);
    if (rc < 0 && ws->s)
        conn_drop(ws);
    return rc;
}

/* Send our close frame (code 0: none), once. */
static int send_close(corio_ws *ws, int code, const char *reason, size_t rlen)
{
    uint8_t p[CORIO__WS_CONTROL_MAX];
    size_t n = 0;
    int rc;

    if (code) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        if (rlen)
            memcpy(p + 2, reason, rlen);
        n = 2 + rlen;
    }
    rc = corio_lock_acquire(&ws->wlock);
    if (rc < 0)
        return rc;
    if (!ws->close_sent) {
        rc = write_small(ws, CORIO__WS_CLOSE, p, n);
        if (rc == 0)
            ws->close_sent = true;
    }
    corio_lock_release(&ws->wlock);
    return rc;
}

/* Both sides are done writing: end ours (the peer reads end of stream). */
static void finish(corio_ws *ws, int rerr)
{
    if (!ws->rerr)
        ws->rerr = rerr;
    ws->close_sent = true;
    if (ws->s)
        corio_stream_shutdown(ws->s); /* best effort: the peer may be gone */
}

int corio_ws_send(corio_ws *ws, int type, const void *data, size_t len)
{
    int rc;

    if (!ws || (type != CORIO_WS_TEXT && type != CORIO_WS_BINARY) ||
        (!data && len))
        return -EINVAL;
    if (type == CORIO_WS_TEXT && !corio__utf8_valid(data, len))
        return -EINVAL;
    if (ws->sending)
        return -EBUSY;
    ws->sending = true;
    rc = corio_lock_acquire(&ws->wlock);
    if (rc == 0) {
        rc = ws->close_sent || !ws->s
                 ? CORIO_ESHUTDOWN
                 : write_data(ws,
                              type == CORIO_WS_TEXT ? CORIO__WS_TEXT
                                                    : CORIO__WS_BINARY,
                              data, len);
        corio_lock_release(&ws->wlock);
    }
    ws->sending = false;
    return rc;
}

int corio_ws_ping(corio_ws *ws, const void *data, size_t len)
{
    int rc;

    if (!ws || len > CORIO__WS_CONTROL_MAX || (!data && len))
        return -EINVAL;
    rc = corio_lock_acquire(&ws->wlock);
    if (rc < 0)
        return rc;
    rc = ws->close_sent ? CORIO_ESHUTDOWN
                        : write_small(ws, CORIO__WS_PING, data, len);
    corio_lock_release(&ws->wlock);
    return rc;
}

/* ---- Receiving ----------------------------------------------------------- */

/* The peer broke the protocol: send the close code RFC 6455 asks for (best
 * effort), shut the connection down, and report CORIO_EWS. */
static int fail(corio_ws *ws, int code)
{
    if (!ws->close_sent && ws->s)
        send_close(ws, code, NULL, 0);
    finish(ws, CORIO_EWS);
    return CORIO_EWS;
}

/* Parse the next frame header in the stream's buffer, reading more as
 * needed; consume it only once it is whole and valid. */
static int read_head(corio_ws *ws)
{
    for (;;) {
        const void *p;
        size_t n;
        int rc;

        if (!ws->s)
            return CORIO_ESHUTDOWN;
        rc = corio_stream_peek(ws->s, &p, &n);
        if (rc < 0)
            return rc;
        rc = corio__ws_frame_decode(&ws->f, p, n);
        if (rc == -EPROTO)
            return fail(ws, CORIO__WS_PROTOCOL);
        if (rc > 0) {
            int code = corio__ws_frame_check(&ws->f, !ws->client);
            if (code)
                return fail(ws, code);
            corio_stream_consume(ws->s, (size_t)rc);
            return 0;
        }
        ssize_t r = corio_stream_fill(ws->s);
        if (r == 0) {
            finish(ws, CORIO_EOF);
            return CORIO_EOF;
        }
        if (r < 0)
            return (int)r;
    }
}

/* Room in the message buffer for at least want more bytes and a NUL. */
static int msg_reserve(corio_ws *ws, size_t want)
{
    size_t need = ws->msg_len + want + 1, cap = ws->msg_cap;

    if (need <= cap)
        return 0;
    while (cap < need)
        cap = cap ? cap * 2 : 4096;
    unsigned char *m = corio__sys.realloc(ws->msg, cap);
    if (!m)
        return -ENOMEM;
    ws->msg = m;
    ws->msg_cap = cap;
    return 0;
}

/* A data frame header arrived: check it continues (or starts) a message
 * as it should, and fits max_message. */
static int start_data(corio_ws *ws)
{
    const corio__ws_frame *f = &ws->f;

    if (f->opcode == CORIO__WS_CONT) {
        if (!ws->msg_type)
            return fail(ws, CORIO__WS_PROTOCOL);
    } else {
        if (ws->msg_type)
            return fail(ws, CORIO__WS_PROTOCOL);
        ws->msg_type =
            f->opcode == CORIO__WS_TEXT ? CORIO_WS_TEXT : CORIO_WS_BINARY;
        ws->msg_len = 0;
        memset(&ws->utf8, 0, sizeof ws->utf8);
    }
    if (f->len > ws->max_message - ws->msg_len)
        return fail(ws, CORIO__WS_TOO_BIG);
    return 0;
}

/* Read the current frame's payload to its end. */
static int read_payload(corio_ws *ws)
{
    const corio__ws_frame *f = &ws->f;
    bool control = f->opcode & 0x8;

    while (ws->got < f->len) {
        uint64_t left = f->len - ws->got;
        unsigned char *dst;
        size_t room;

        if (!ws->s)
            return CORIO_ESHUTDOWN;
        if (control) {
            dst = ws->ctrl + ws->got;
            room = (size_t)left;
        } else {
            int rc =
                msg_reserve(ws, left < GROW_STEP ? (size_t)left : GROW_STEP);
            if (rc < 0)
                return rc;
            dst = ws->msg + ws->msg_len;
            room = ws->msg_cap - ws->msg_len - 1;
            if (room > left)
                room = (size_t)left;
        }
        ssize_t r = corio_stream_read(ws->s, dst, room);
        if (r == 0) {
            finish(ws, CORIO_EOF);
            return CORIO_EOF;
        }
        if (r < 0)
            return (int)r;
        if (f->masked)
            corio__ws_mask(dst, dst, (size_t)r, f->key, ws->got);
        ws->got += (uint64_t)r;
        if (!control) {
            ws->msg_len += (size_t)r;
            /* Fail fast on invalid text, as soon as the bad byte is in. */
            if (ws->msg_type == CORIO_WS_TEXT &&
                !corio__utf8_feed(&ws->utf8, dst, (size_t)r))
                return fail(ws, CORIO__WS_BAD_DATA);
        }
    }
    return 0;
}

/* The peer's close frame is in ctrl: check it and answer it. */
static int on_close(corio_ws *ws)
{
    size_t n = (size_t)ws->f.len;
    int code = CORIO__WS_NO_CODE;

    if (n == 1)
        return fail(ws, CORIO__WS_PROTOCOL);
    if (n >= 2) {
        code = ws->ctrl[0] << 8 | ws->ctrl[1];
        if (!corio__ws_close_code_valid(code))
            return fail(ws, CORIO__WS_PROTOCOL);
        if (!corio__utf8_valid(ws->ctrl + 2, n - 2))
            return fail(ws, CORIO__WS_BAD_DATA);
    }
    ws->close_code = code;
    return 0;
}

/* The peer has closed: echo its code if we have not sent a close yet, then
 * end our side.  Retried by the next call if the echo was interrupted. */
static int closed(corio_ws *ws)
{
    if (!ws->close_sent && ws->s) {
        int code = ws->close_code == CORIO__WS_NO_CODE ? 0 : ws->close_code;
        int rc = send_close(ws, code, NULL, 0);
        if (rc < 0 && rc != CORIO_ESHUTDOWN)
            return rc;
    }
    finish(ws, CORIO_ESHUTDOWN);
    return CORIO_ESHUTDOWN;
}

static int send_pong(corio_ws *ws)
{
    int rc = corio_lock_acquire(&ws->wlock);
    if (rc < 0)
        return rc;
    if (!ws->close_sent)
        rc = write_small(ws, CORIO__WS_PONG, ws->pong, ws->pong_len);
    corio_lock_release(&ws->wlock);
    if (rc == 0)
        ws->pong_pending = false;
    return rc;
}

/* Read frames until a whole message (returns its length), the peer's
 * close, or an error. */
static ssize_t next_message(corio_ws *ws)
{
    for (;;) {
        int rc;

        if (ws->close_code)
            return closed(ws);
        if (ws->rerr)
            return ws->rerr;
        if (ws->pong_pending && (rc = send_pong(ws)) < 0)
            return rc;
        if (!ws->in_frame) {
            rc = read_head(ws);
            if (rc < 0)
                return rc;
            if (!(ws->f.opcode & 0x8) && (rc = start_data(ws)) < 0)
                return rc;
            ws->in_frame = true;
            ws->got = 0;
        }
        rc = read_payload(ws);
        if (rc < 0)
            return rc;
        ws->in_frame = false;
        switch (ws->f.opcode) {
        case CORIO__WS_CLOSE:
            if ((rc = on_close(ws)) < 0)
                return rc;
            continue;
        case CORIO__WS_PING:
            /* Only the latest ping needs its answer (RFC 6455 §5.5.3). */
            memcpy(ws->pong, ws->ctrl, (size_t)ws->f.len);
            ws->pong_len = (size_t)ws->f.len;
            ws->pong_pending = !ws->close_sent;
            continue;
        case CORIO__WS_PONG:
            continue;
        }
        if (!ws->f.fin)
            continue;
        if (ws->msg_type == CORIO_WS_TEXT && !corio__utf8_complete(&ws->utf8))
            return fail(ws, CORIO__WS_BAD_DATA);
        if (ws->close_sent) { /* closing: messages are dropped */
            ws->msg_type = 0;
            ws->msg_len = 0;
            continue;
        }
        if (ws->msg)
            ws->msg[ws->msg_len] = '\0';
        ws->delivered = true;
        return (ssize_t)ws->msg_len;
    }
}

ssize_t corio_ws_recv(corio_ws *ws, int *type, const void **data)
{
    ssize_t r;

    if (!ws || !type || !data)
        return -EINVAL;
    if (ws->receiving)
        return -EBUSY;
    ws->receiving = true;
    if (ws->delivered) {
        ws->delivered = false;
        ws->msg_type = 0;
        ws->msg_len = 0;
    }
    r = next_message(ws);
    if (r < 0 && !ws->s) /* a failed send closed the connection meanwhile */
        r = ws->rerr;
    if (r >= 0) {
        *type = ws->msg_type;
        *data = ws->msg ? (const void *)ws->msg : ""; /* "" : empty so far */
    }
    ws->receiving = false;
    return r;
}

/* ---- Closing ------------------------------------------------------------- */

int corio_ws_close_handshake(corio_ws *ws, int code, const char *reason)
{
    size_t rlen = reason && code ? strlen(reason) : 0;
    int rc = 0;

    if (!ws || (code && !corio__ws_close_code_valid(code)) ||
        rlen > CORIO__WS_CONTROL_MAX - 2 || !corio__utf8_valid(reason, rlen))
        return -EINVAL;
    if (!ws->close_sent && ws->s && !ws->close_code) {
        rc = send_close(ws, code, reason, rlen);
        if (rc < 0 && rc != CORIO_ESHUTDOWN) {
            finish(ws, CORIO_ESHUTDOWN);
            return rc;
        }
    }
    if (ws->receiving) /* that task will see the answer */
        return 0;
    ws->receiving = true;
    if (ws->delivered) {
        ws->delivered = false;
        ws->msg_type = 0;
        ws->msg_len = 0;
    }
    /* close_sent is set: next_message drops messages, returns only at the
     * end (or on an error). */
    while (rc >= 0)
        rc = (int)next_message(ws);
    ws->receiving = false;
    if (rc == CORIO_ESHUTDOWN)
        return 0;
    finish(ws, CORIO_ESHUTDOWN);
    return rc;
}

int corio_ws_close_code(const corio_ws *ws)
{
    return ws ? ws->close_code : 0;
}

const char *corio_ws_protocol(const corio_ws *ws)
{
    return ws ? ws->protocol : NULL;
}

void corio_ws_close(corio_ws *ws)
{
    if (!ws)
        return;
    corio_stream_close(ws->s);
    corio_lock_destroy(&ws->wlock);
    free(ws->protocol);
    free(ws->scratch);
    free(ws->msg);
    free(ws);
}
