/* corio/tls.h — TLS (OpenSSL 3) as a filter stacked on any corio_stream:
 * asyncio's ssl=SSLContext, server_hostname= and start_tls.
 *
 *   socket stream  ->  corio_tls_client / corio_tls_server  ->  TLS stream
 *
 * A context (corio_tls_ctx) holds what connections share: trusted CAs, the
 * own certificate and key, the ALPN list, and the client's session cache
 * for resumption.  corio_tls_client() and corio_tls_server() run the
 * handshake over an existing stream (a TCP connection, a pipe, a memory
 * pair, even another TLS stream) and return a new stream whose reads and
 * writes are decrypted and encrypted; every corio_stream call works on it.
 * The new stream owns the one underneath.  Bytes already buffered in the
 * stream underneath (read before the upgrade, as in STARTTLS) are part of
 * the handshake.
 *
 * Secure by default: a client verifies the server's certificate chain
 * against the system's CA store (or the CA file of its context) and checks
 * that the certificate names the host it asked for (DNS name or IP
 * address).  Only the explicit flag CORIO_TLS_NO_VERIFY turns that off.
 * TLS 1.2 is the minimum version; renegotiation is refused.
 *
 * Errors: CORIO_ETLS (handshake or protocol failure, a TLS alert, a bad
 * configuration), CORIO_ECERT (the peer's certificate was refused), and the
 * errors of the stream underneath.  The reason in words ("certificate
 * verify failed: certificate has expired") is on the object that failed:
 * corio_tls_error(stream) for a TLS stream, and for a handshake or a
 * context that could not be made (no object left to ask) the caller's
 * corio_error_detail passed in the options.
 *
 * Cancellation and deadlines apply to the handshake, reads, writes and
 * close_notify exactly as to the stream underneath (see corio/base.h).
 *
 * Thread-safety: a context may be shared by loops on several threads; a
 * TLS stream, like every stream, belongs to one loop thread. */
#ifndef CORIO_TLS_H
#define CORIO_TLS_H

#include "base.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_tls_ctx corio_tls_ctx;

/* Roles for corio_tls_ctx_new(). */
enum corio_tls_role { CORIO_TLS_CLIENT, CORIO_TLS_SERVER };

/* corio_tls_config.flags:
 *   CORIO_TLS_NO_VERIFY      client: accept any certificate and any name
 *                            (DANGEROUS: for tests only).
 *   CORIO_TLS_VERIFY_CLIENT  server: require a client certificate signed by
 *                            ca_file/ca_dir (mutual TLS).
 *   CORIO_TLS_RAGGED_EOF     a connection that ends without the peer's
 *                            close_notify reads as end of stream (default:
 *                            CORIO_ETLS, since it may be a truncation).
 *   CORIO_TLS_NO_TICKETS     no session resumption. */
#define CORIO_TLS_NO_VERIFY 0x1u
#define CORIO_TLS_VERIFY_CLIENT 0x2u
#define CORIO_TLS_RAGGED_EOF 0x4u
#define CORIO_TLS_NO_TICKETS 0x8u

/* Versions for corio_tls_config.min_version. */
enum corio_tls_version {
    CORIO_TLS_DEFAULT = 0, /* min: TLS 1.2; max: the newest */
    CORIO_TLS_1_2 = 0x0303,
    CORIO_TLS_1_3 = 0x0304,
};

/* What a context holds; zero or NULL fields take the defaults.  Strings
 * are copied or read by corio_tls_ctx_new (nothing stays borrowed).
 *   ca_file, ca_dir  PEM bundle / hashed directory of trusted CAs.  Either
 *                  replaces the system store (SSL_CTX_set_default_verify_
 *                  paths), which a client uses when both are NULL.
 *   cert_file      own certificate chain, PEM (leaf first): required for a
 *                  server, optional for a client (mutual TLS).
 *   key_file       its private key, PEM (default: read from cert_file).
 *   alpn           comma-separated protocol list, e.g. "h2,http/1.1": a
 *                  client offers it; a server picks the first of its list
 *                  that the client offers (no overlap: no ALPN, no error).
 *   ciphers        OpenSSL cipher list for TLS 1.2 (default: OpenSSL's).
 *   min_version    CORIO_TLS_1_2 (default) or CORIO_TLS_1_3.
 *   max_version    0 (the newest) or CORIO_TLS_1_2 / CORIO_TLS_1_3.
 *   flags          CORIO_TLS_* above.
 *   detail         NULL, or where corio_tls_ctx_new writes why it failed. */
typedef struct corio_tls_config {
    const char *ca_file;
    const char *ca_dir;
    const char *cert_file;
    const char *key_file;
    const char *alpn;
    const char *ciphers;
    enum corio_tls_version min_version;
    enum corio_tls_version max_version;
    unsigned flags;
    corio_error_detail *detail;
} corio_tls_config;

/* Make a client (CORIO_TLS_CLIENT) or server (CORIO_TLS_SERVER) context.
 * Loads the CA store, certificate and key now, so a missing or bad file is
 * reported here.  Returns 0 and *out, or:
 *   CORIO_ETLS  a file could not be loaded, the key does not match the
 *               certificate, a server has no certificate, a bad cipher
 *               list (c->detail says which).
 *   -EINVAL     bad role, version or ALPN list (a name of 0 or > 255 bytes).
 *   -ENOMEM.
 * On failure *out = NULL.  Never suspends.  Thread-safety: any thread. */
CORIO_API CORIO_NODISCARD int corio_tls_ctx_new(corio_tls_ctx **out,
                                                enum corio_tls_role role,
                                                const corio_tls_config *c);

/* Drop the caller's reference to ctx (NULL is a no-op).  Streams made with
 * it keep it alive until they are closed.  Thread-safety: any thread. */
CORIO_API void corio_tls_ctx_free(corio_tls_ctx *ctx);

/* Per-connection options.
 *   ctx          the context (referenced, not copied).  NULL for a client:
 *                a shared default context (system CAs, verification on, no
 *                ALPN).  A server needs one.
 *   server_name  client: the host to reach — sent as SNI (unless an IP
 *                literal) and matched against the certificate (DNS name or
 *                IP address).  Required unless the context has
 *                CORIO_TLS_NO_VERIFY.  Ignored by a server.
 *   session_key  client: the session cache key for resumption (default:
 *                server_name); use "host:port" when one name serves several
 *                unrelated TLS servers.
 *   stream       buffer limits of the returned stream.
 *   detail       NULL, or where a failed corio_tls_client / _server writes
 *                why ("certificate verify failed: hostname mismatch"). */
typedef struct corio_tls_opts {
    corio_tls_ctx *ctx;
    const char *server_name;
    const char *session_key;
    corio_stream_opts stream;
    corio_error_detail *detail;
} corio_tls_opts;

/* Run a client handshake over `under` and return, in *out, a stream that
 * reads and writes through the TLS session.  The new stream owns `under`,
 * and on failure `under` is closed: a half-done handshake leaves nothing
 * usable.  A cached session for the key is offered for resumption, and the
 * session the server gives is cached in the context.
 * Returns 0, or:
 *   CORIO_ECERT  the server's certificate was refused: untrusted, expired,
 *                self-signed, wrong name (o->detail says which).
 *   CORIO_ETLS   the handshake failed: an alert from the server, no common
 *                version or cipher, not TLS at all, the connection closed
 *                during the handshake.
 *   -EINVAL      o or under NULL, no server_name while verifying, a server
 *                context.
 *   -errno of the stream underneath, -ENOMEM, -ECANCELED / -ETIMEDOUT, -EPERM.
 * On failure *out = NULL.
 * Cancel-safe: an interrupted handshake closes `under` and returns
 * -ECANCELED / -ETIMEDOUT; nothing else is left behind. */
CORIO_API CORIO_NODISCARD int corio_tls_client(corio_stream **out,
                                               corio_stream *under,
                                               const corio_tls_opts *o);

/* Run a server handshake over `under` with o->ctx (a server context) and
 * return the TLS stream in *out; the same ownership and errors as
 * corio_tls_client (CORIO_ECERT: a client certificate refused under
 * CORIO_TLS_VERIFY_CLIENT). */
CORIO_API CORIO_NODISCARD int corio_tls_server(corio_stream **out,
                                               corio_stream *under,
                                               const corio_tls_opts *o);

/* On a TLS stream, every corio_stream call behaves as its header says,
 * with these particulars:
 *   read        returns whole decrypted data only: a read interrupted while
 *               a record is partly received returns -ECANCELED and keeps
 *               the partial record for the next read.  End of stream (0)
 *               is the peer's close_notify; a connection that just ends
 *               without one is CORIO_ETLS unless CORIO_TLS_RAGGED_EOF.
 *   write/flush data is encrypted in records of up to 16 KiB.  An
 *               interruption after a record was made keeps that record's
 *               bytes in the stream's write buffer and its ciphertext in
 *               the session, and the next flush sends it first; so retry
 *               (flush) or close, as for any stream.
 *   shutdown    flushes, sends close_notify and shuts down the writing
 *               side of the stream underneath; reading stays possible.
 *   close       frees without close_notify (call shutdown first for a
 *               clean end; close never suspends).
 * After CORIO_ETLS or CORIO_ECERT from a read or write the session is dead:
 * every later call returns the same error; close it. */

/* The protocol ALPN agreed on ("h2"), or NULL if none (or s is not a TLS
 * stream).  Valid while s is open. */
CORIO_API const char *corio_tls_alpn(const corio_stream *s);

/* 1 if the handshake resumed an earlier session, 0 if it was a full one,
 * -EINVAL if s is not a TLS stream. */
CORIO_API int corio_tls_resumed(const corio_stream *s);

/* The protocol version, "TLSv1.3" or "TLSv1.2" (NULL: not a TLS stream). */
CORIO_API const char *corio_tls_version(const corio_stream *s);

/* The server name: on a server, the SNI name the client sent (NULL if
 * none); on a client, the name it asked for.  Valid while s is open. */
CORIO_API const char *corio_tls_server_name(const corio_stream *s);

/* Why the last TLS call on s failed, in words ("" if none, or if s is NULL
 * or not a TLS stream).  Never NULL; valid until the next call on s.  A
 * failed handshake leaves no stream: its reason is in the caller's
 * corio_tls_opts.detail. */
CORIO_API const char *corio_tls_error(const corio_stream *s);

#ifdef __cplusplus
}
#endif
#endif
