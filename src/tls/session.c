/* tls/session.c — a TLS session as a transport (net/transport.h) stacked
 * on another corio_stream: the filter between a socket and a protocol.
 *
 * Parts:
 *   the BIOs        OpenSSL reads ciphertext from `in` and writes it to
 *                   `out`, two memory BIOs, so it never blocks and never
 *                   sees a descriptor.  On SSL_ERROR_WANT_READ, feed()
 *                   reads the stream underneath into `in`; whatever OpenSSL
 *                   put in `out` is sent by push().
 *   push            moves `out` into the underlying stream's write buffer
 *                   through a staging buffer (obuf: the memory BIO may move
 *                   while a write is suspended) and flushes it.  Ciphertext
 *                   never leaves the session before the stream underneath
 *                   has taken it, so an interrupted push loses nothing: it
 *                   goes on at the next push.
 *   the write lock  the reading task sends what OpenSSL produces while it
 *                   reads (key updates), the writing task sends records;
 *                   both push into one underlying stream, which allows one
 *                   writer, so they take `wlock` (the reader only when it
 *                   is free: it never waits behind a writer).
 *   handshake       the same loop as a read, before the stream exists.
 *   the queries     ALPN, resumption, version, server name, last error.
 *
 * Cancel safety.  A read returns decrypted data only; a record partly
 * received stays in `in` when the read is interrupted, and SSL_read never
 * hands out part of a record without returning it.  A write makes one
 * record (16 KiB at most) at a time and pushes it; if the push is
 * interrupted, the record's ciphertext stays queued in the session, to go
 * out first at the next push.  Its plaintext is counted as written if more
 * of the call's bytes follow (the stream above keeps those).  The last
 * record of a call is *not* counted, so the stream keeps it buffered and
 * its flush reports the interruption; it is remembered in `held`, and when
 * the stream passes those bytes again the next write skips them.  So
 * nothing is lost or sent twice. */
#include "tls/tls.h"

#include "os/sys.h"
#include "stream/transport.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RECORD ((size_t)16384)       /* plaintext per record (TLS maximum) */
#define INBUF ((size_t)16384 + 512)  /* ciphertext taken per read */
#define OUTBUF ((size_t)16384 + 512) /* ciphertext staged per write */

typedef struct tls_session {
    corio__transport base;
    corio_stream *under;
    corio_tls_ctx *ctx; /* one reference */
    SSL *ssl;
    BIO *in, *out;    /* ciphertext from / to the peer */
    corio_lock wlock; /* the writing side of `under` */
    int dead;         /* a fatal error, returned from then on */
    bool server;
    bool established;         /* the handshake completed */
    bool in_eof;              /* `under` reached end of stream */
    bool got_close;           /* the peer's close_notify arrived */
    bool sent_close;          /* ours is queued */
    size_t held;              /* plaintext of a record made, not sent */
    unsigned char *held_copy; /* RECORD bytes, allocated on first use */
    size_t olen;              /* ciphertext staged in obuf */
    char *key;                /* client: session cache key */
    char *name;               /* SNI asked for (client) or received */
    char alpn[256];
    char err[CORIO__TLS_ERRLEN];
    unsigned char ibuf[INBUF];
    unsigned char obuf[OUTBUF];
} tls_session;

static const corio__transport_ops tls_ops;

/* ---- SSL ex_data: from an SSL back to its session ----------------------- */

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ex_index = -1;

static void ex_init(void)
{
    ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int corio__tls_ex_index(void)
{
    pthread_once(&ex_once, ex_init);
    return ex_index;
}

const char *corio__tls_session_key(SSL *ssl)
{
    tls_session *s = SSL_get_ex_data(ssl, corio__tls_ex_index());
    return s ? s->key : NULL;
}

/* ---- errors ------------------------------------------------------------- */

/* Turn a failed SSL call into an error code and message.  Fatal errors are
 * sticky: OpenSSL allows nothing but SSL_free after them. */
static int failure(tls_session *s, int r, const char *what)
{
    int e = SSL_get_error(s->ssl, r);
    unsigned long err = ERR_peek_error();
    int reason = err ? ERR_GET_REASON(err) : 0;
    long vr = SSL_get_verify_result(s->ssl);

    if (e != SSL_ERROR_SSL && e != SSL_ERROR_SYSCALL &&
        e != SSL_ERROR_ZERO_RETURN) {
        /* WANT_WRITE and friends cannot happen over memory BIOs. */
        corio__tls_err(s->err, "%s: unexpected OpenSSL state %d", what, e);
        ERR_clear_error();
        return s->dead = CORIO_ETLS;
    }
    if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify in a handshake */
        corio__tls_err(s->err, "%s: the peer ended the TLS session", what);
        ERR_clear_error();
        return s->dead = CORIO_ETLS;
    }
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
        corio__tls_err(s->err, "certificate verify failed: %s",
                       X509_verify_cert_error_string(vr));
        ERR_clear_error();
        return s->dead = CORIO_ECERT;
    }
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        corio__tls_err(s->err, "%s: the peer sent no certificate", what);
        ERR_clear_error();
        return s->dead = CORIO_ECERT;
    }
    if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING || (s->in_eof && !err)) {
        if (s->established)
            corio__tls_err(s->err,
                           "%s: the peer closed the connection without "
                           "close_notify (truncated?)",
                           what);
        else
            corio__tls_err(s->err, "%s: the peer closed the connection", what);
        ERR_clear_error();
        return s->dead = CORIO_ETLS;
    }
    corio__tls_err_ssl(s->err, what);
    return s->dead = CORIO_ETLS;
}

/* ---- moving ciphertext -------------------------------------------------- */

static bool pending_out(const tls_session *s)
{
    return s->olen || BIO_ctrl_pending(s->out);
}

/* Send everything OpenSSL has written, and flush the stream underneath.
 * The caller holds wlock (or is the handshake).  Returns 0 or the
 * underlying stream's error; what was not taken stays queued. */
static int push(tls_session *s)
{
    for (;;) {
        if (!s->olen) {
            int n = BIO_read(s->out, s->obuf, (int)sizeof s->obuf);
            if (n <= 0)
                break;
            s->olen = (size_t)n;
        }
        /* All or nothing: an interrupted write leaves obuf staged. */
        int rc = corio_stream_write(s->under, s->obuf, s->olen);
        if (rc < 0)
            return rc;
        s->olen = 0;
    }
    return corio_stream_flush(s->under);
}

/* Read what the stream underneath has into `in`.  Returns the count, 0 at
 * its end of stream (OpenSSL then sees end of file), or its error with
 * nothing consumed. */
static ssize_t feed(tls_session *s)
{
    ssize_t n = corio_stream_read(s->under, s->ibuf, sizeof s->ibuf);
    if (n < 0)
        return n;
    if (n == 0) {
        s->in_eof = true;
        BIO_set_mem_eof_return(s->in, 0);
        return 0;
    }
    if (BIO_write(s->in, s->ibuf, (int)n) != (int)n) {
        /* The bytes are gone from the stream: the session cannot go on. */
        corio__tls_err(s->err, "out of memory for received TLS records");
        return s->dead = -ENOMEM;
    }
    return n;
}

/* ---- the transport ------------------------------------------------------ */

static ssize_t tls_read(corio__transport *t, void *buf, size_t n)
{
    tls_session *s = (tls_session *)t;

    for (;;) {
        if (s->dead)
            return s->dead;
        if (s->got_close)
            return 0;
        size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(s->ssl, buf, n, &got);
        if (r == 1)
            return (ssize_t)got;
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            s->got_close = true;
            return 0;
        }
        if (e != SSL_ERROR_WANT_READ || s->in_eof)
            return failure(s, r, "read");
        /* Answers OpenSSL made while reading (a key update) go out before
         * we wait, unless a writer is sending: it sends them too. */
        if (pending_out(s) && !s->sent_close &&
            corio_lock_try_acquire(&s->wlock) == 0) {
            int rc = push(s);
            corio_lock_release(&s->wlock);
            if (rc < 0)
                return rc;
        }
        ssize_t k = feed(s);
        if (k < 0)
            return k;
    }
}

/* tls_write's body, under wlock. */
static ssize_t write_locked(tls_session *s, const unsigned char *p, size_t n)
{
    size_t done = 0;
    int rc = push(s); /* an interrupted record goes first */
    if (rc < 0)
        return rc;
    if (s->held) {
        /* The stream above passes the bytes of the interrupted record
         * again; they were sent just now. */
        if (n < s->held || memcmp(p, s->held_copy, s->held) != 0) {
            corio__tls_err(s->err, "write: other data passed after an "
                                   "interrupted write (its record was sent)");
            return s->dead = CORIO_ETLS;
        }
        done = s->held;
        s->held = 0;
    }
    while (done < n) {
        size_t m = n - done < RECORD ? n - done : RECORD, w = 0;
        ERR_clear_error();
        int r = SSL_write_ex(s->ssl, p + done, m, &w);
        if (r != 1) {
            rc = failure(s, r, "write");
            return done ? (ssize_t)done : rc;
        }
        rc = push(s);
        if (rc < 0) {
            /* The record goes out first at the next push.  Before the last
             * record, count it written: the stream keeps the bytes after
             * it.  The last one is held, so that the stream keeps it and
             * flush reports the interruption. */
            if (done + m < n)
                return (ssize_t)(done + m);
            if (!s->held_copy)
                s->held_copy = corio__sys.malloc(RECORD);
            if (!s->held_copy)
                return (ssize_t)(done + m);
            memcpy(s->held_copy, p + done, m);
            s->held = m;
            return done ? (ssize_t)done : rc;
        }
        done += m;
    }
    return (ssize_t)n;
}

static ssize_t tls_write(corio__transport *t, const void *buf, size_t n)
{
    tls_session *s = (tls_session *)t;

    if (s->dead)
        return s->dead;
    if (s->sent_close)
        return -EPIPE;
    int rc = corio_lock_acquire(&s->wlock);
    if (rc < 0)
        return rc;
    ssize_t put = write_locked(s, buf, n);
    corio_lock_release(&s->wlock);
    return put;
}

static int tls_shutdown(corio__transport *t)
{
    tls_session *s = (tls_session *)t;

    if (s->dead)
        return s->dead;
    int rc = corio_lock_acquire(&s->wlock);
    if (rc < 0)
        return rc;
    if (!s->sent_close) {
        ERR_clear_error();
        int r = SSL_shutdown(s->ssl); /* queues close_notify; never waits */
        if (r < 0) {
            rc = failure(s, r, "shutdown");
            corio_lock_release(&s->wlock);
            return rc;
        }
        s->sent_close = true;
    }
    rc = push(s);
    if (rc == 0)
        rc = corio_stream_shutdown(s->under);
    corio_lock_release(&s->wlock);
    return rc;
}

static void tls_close(corio__transport *t)
{
    tls_session *s = (tls_session *)t;

    /* A session that ended without close_notify is struck from the cache
     * by SSL_free; one that did nothing wrong may still be resumed. */
    if (!s->dead && s->established)
        SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_get_shutdown(s->ssl));
    SSL_free(s->ssl); /* and the BIOs */
    corio_stream_close(s->under);
    corio__tls_ctx_unref(s->ctx);
    corio_lock_destroy(&s->wlock);
    free(s->held_copy);
    free(s->key);
    free(s->name);
    free(s);
}

static int tls_fd(const corio__transport *t)
{
    return corio_stream_fd(((const tls_session *)t)->under);
}

static const corio__transport_ops tls_ops = {
    .read = tls_read,
    .write = tls_write,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .fd = tls_fd,
};

/* ---- making a session --------------------------------------------------- */

/* A session over under with ctx (whose reference it takes).  On failure
 * under is closed and the reference dropped. */
static int session_new(tls_session **out, corio_stream *under,
                       corio_tls_ctx *ctx)
{
    *out = NULL;
    tls_session *s = corio__sys.malloc(sizeof *s);
    if (!s) {
        corio_stream_close(under);
        corio__tls_ctx_unref(ctx);
        return -ENOMEM;
    }
    memset(s, 0, offsetof(tls_session, ibuf)); /* the buffers need no zeroing */
    s->base.ops = &tls_ops;
    s->under = under;
    s->ctx = ctx;
    corio_lock_init(&s->wlock);
    ERR_clear_error();
    s->ssl = SSL_new(ctx->ssl);
    s->in = BIO_new(BIO_s_mem());
    s->out = BIO_new(BIO_s_mem());
    if (!s->ssl || !s->in || !s->out ||
        !SSL_set_ex_data(s->ssl, corio__tls_ex_index(), s)) {
        ERR_clear_error();
        SSL_free(s->ssl);
        BIO_free(s->in);
        BIO_free(s->out);
        corio_lock_destroy(&s->wlock);
        corio_stream_close(under);
        corio__tls_ctx_unref(ctx);
        free(s);
        return -ENOMEM;
    }
    /* An empty `in` means "no data yet", not end of file. */
    BIO_set_mem_eof_return(s->in, -1);
    SSL_set_bio(s->ssl, s->in, s->out);
    *out = s;
    return 0;
}

/* Run the handshake: the loop of a read, pushing each flight. */
static int handshake(tls_session *s)
{
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(s->ssl);
        if (r != 1 &&
            (SSL_get_error(s->ssl, r) != SSL_ERROR_WANT_READ || s->in_eof)) {
            int rc = failure(s, r, "handshake");
            if (pending_out(s) && !s->in_eof)
                (void)push(s); /* the alert telling the peer why */
            return rc;
        }
        if (pending_out(s)) {
            int rc = push(s);
            if (rc < 0)
                return rc;
        }
        if (r == 1) {
            s->established = true;
            return 0;
        }
        ssize_t k = feed(s);
        if (k < 0)
            return (int)k;
    }
}

/* After the handshake: record what the queries report, make the stream.
 * On failure the session (and under) is closed. */
static int finish(corio_stream **out, tls_session *s, const corio_tls_opts *o)
{
    const unsigned char *proto = NULL;
    unsigned plen = 0;
    SSL_get0_alpn_selected(s->ssl, &proto, &plen);
    if (proto && plen) {
        memcpy(s->alpn, proto, plen); /* plen <= 255 */
        s->alpn[plen] = '\0';
    }
    if (s->server) {
        const char *sni = SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name);
        if (sni && !(s->name = corio__strdup(sni))) {
            tls_close(&s->base);
            return -ENOMEM;
        }
    }
    return corio__stream_new(out, &s->base, &o->stream); /* closes s on error */
}

static bool is_ip_literal(const char *name)
{
    unsigned char a[16];
    return inet_pton(AF_INET, name, a) == 1 ||
           inet_pton(AF_INET6, name, a) == 1;
}

/* What corio_tls_client and _server do first: *out = NULL, and the
 * caller's detail (if any) cleared.  Returns where to write why the call
 * failed, or NULL. */
static char *begin(corio_stream **out, const corio_tls_opts *o)
{
    if (out)
        *out = NULL;
    char *why = o && o->detail ? o->detail->text : NULL;
    if (why)
        why[0] = '\0';
    return why;
}

int corio_tls_client(corio_stream **out, corio_stream *under,
                     const corio_tls_opts *o)
{
    corio_tls_ctx *ctx;
    tls_session *s;
    int rc;

    char *why = begin(out, o);
    if (!out || !under || !o || (o->ctx && o->ctx->role != CORIO_TLS_CLIENT)) {
        corio__tls_err(why, "corio_tls_client: bad arguments");
        corio_stream_close(under);
        return -EINVAL;
    }
    if (o->ctx) {
        ctx = o->ctx;
        corio__tls_ctx_ref(ctx);
    } else if ((rc = corio__tls_ctx_default(&ctx)) < 0) {
        corio_stream_close(under);
        return rc;
    }
    bool verify = !(ctx->flags & CORIO_TLS_NO_VERIFY);
    const char *name =
        o->server_name && *o->server_name ? o->server_name : NULL;
    if (verify && !name) {
        corio__tls_err(why, "corio_tls_client: server_name is needed to verify "
                            "the certificate");
        corio__tls_ctx_unref(ctx);
        corio_stream_close(under);
        return -EINVAL;
    }
    rc = session_new(&s, under, ctx);
    if (rc < 0)
        return rc;
    SSL_set_connect_state(s->ssl);

    if (name) {
        bool ip = is_ip_literal(name);
        int ok = (s->name = corio__strdup(name)) != NULL;
        /* SNI carries host names only (RFC 6066). */
        if (ok && !ip)
            ok = SSL_set_tlsext_host_name(s->ssl, name) == 1;
        if (ok && verify) {
            if (ip) {
                ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl),
                                                   name) == 1;
            } else {
                SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                ok = SSL_set1_host(s->ssl, name) == 1;
            }
        }
        if (!ok) {
            ERR_clear_error();
            tls_close(&s->base);
            return -ENOMEM;
        }
    }
    const char *key = o->session_key ? o->session_key : name;
    if (key && !(ctx->flags & CORIO_TLS_NO_TICKETS)) {
        if (!(s->key = corio__strdup(key))) {
            tls_close(&s->base);
            return -ENOMEM;
        }
        SSL_SESSION *cached = corio__tls_cache_get(ctx, key);
        if (cached) {
            SSL_set_session(s->ssl, cached);
            SSL_SESSION_free(cached);
        }
    }

    rc = handshake(s);
    if (rc < 0) {
        if (why)
            memcpy(why, s->err, CORIO__TLS_ERRLEN);
        tls_close(&s->base);
        return rc;
    }
    return finish(out, s, o);
}

int corio_tls_server(corio_stream **out, corio_stream *under,
                     const corio_tls_opts *o)
{
    tls_session *s;
    int rc;

    char *why = begin(out, o);
    if (!out || !under || !o || !o->ctx || o->ctx->role != CORIO_TLS_SERVER) {
        corio__tls_err(why, "corio_tls_server: bad arguments (a server context "
                            "is needed)");
        corio_stream_close(under);
        return -EINVAL;
    }
    corio__tls_ctx_ref(o->ctx);
    rc = session_new(&s, under, o->ctx);
    if (rc < 0)
        return rc;
    s->server = true;
    SSL_set_accept_state(s->ssl);
    rc = handshake(s);
    if (rc < 0) {
        if (why)
            memcpy(why, s->err, CORIO__TLS_ERRLEN);
        tls_close(&s->base);
        return rc;
    }
    return finish(out, s, o);
}

/* ---- queries ------------------------------------------------------------ */

static tls_session *tls_of(const corio_stream *st)
{
    corio__transport *t = st ? corio__stream_transport(st) : NULL;
    return t && t->ops == &tls_ops ? (tls_session *)t : NULL;
}

const char *corio_tls_alpn(const corio_stream *st)
{
    tls_session *s = tls_of(st);
    return s && s->alpn[0] ? s->alpn : NULL;
}

int corio_tls_resumed(const corio_stream *st)
{
    tls_session *s = tls_of(st);
    return s ? SSL_session_reused(s->ssl) == 1 : -EINVAL;
}

const char *corio_tls_version(const corio_stream *st)
{
    tls_session *s = tls_of(st);
    return s ? SSL_get_version(s->ssl) : NULL;
}

const char *corio_tls_server_name(const corio_stream *st)
{
    tls_session *s = tls_of(st);
    return s ? s->name : NULL;
}

const char *corio_tls_error(const corio_stream *st)
{
    tls_session *s = tls_of(st);
    return s ? s->err : "";
}
