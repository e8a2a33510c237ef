/* tls/context.c — corio_tls_ctx: the OpenSSL context a set of connections
 * shares, reference counted so that a stream outlives its creator's
 * corio_tls_ctx_free(); the client's session cache (OpenSSL's client-side
 * cache stores but never looks up, so corio keeps the newest session per
 * server name and offers it on the next connection); the shared default
 * client context; ALPN lists in wire format; and the error messages
 * behind corio_tls_error() and corio_error_detail.
 *
 * A context may be used by loops on several threads at once: SSL_CTX is
 * thread-safe for that, the reference count is atomic, and the cache has a
 * mutex. */
#include "tls/tls.h"

#include "os/sys.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error messages ----------------------------------------------------- */

/* Details go to the object that failed or to the caller's
 * corio_error_detail; there is no per-thread copy to go stale. */
void corio__tls_err(char *dst, const char *fmt, ...)
{
    va_list ap;
    if (!dst)
        return;
    va_start(ap, fmt);
    vsnprintf(dst, CORIO__TLS_ERRLEN, fmt, ap);
    va_end(ap);
}

void corio__tls_err_ssl(char *dst, const char *what)
{
    unsigned long e = ERR_get_error(); /* the oldest: usually the cause */
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    if (e && !reason) {
        char buf[CORIO__TLS_ERRLEN];
        ERR_error_string_n(e, buf, sizeof buf);
        corio__tls_err(dst, "%s: %s", what, buf);
    } else {
        corio__tls_err(dst, "%s: %s", what, reason ? reason : "unknown error");
    }
    ERR_clear_error();
}

/* ---- references --------------------------------------------------------- */

void corio__tls_ctx_ref(corio_tls_ctx *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void destroy(corio_tls_ctx *c)
{
    for (int i = 0; i < c->ncache; i++) {
        free(c->cache[i].key);
        SSL_SESSION_free(c->cache[i].sess);
    }
    SSL_CTX_free(c->ssl);
    pthread_mutex_destroy(&c->lock);
    free(c->alpn);
    free(c);
}

void corio__tls_ctx_unref(corio_tls_ctx *c)
{
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        destroy(c);
}

void corio_tls_ctx_free(corio_tls_ctx *c)
{
    corio__tls_ctx_unref(c);
}

/* ---- the session cache -------------------------------------------------- */

SSL_SESSION *corio__tls_cache_get(corio_tls_ctx *c, const char *key)
{
    SSL_SESSION *s = NULL;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->ncache; i++) {
        if (strcmp(c->cache[i].key, key) == 0) {
            if (SSL_SESSION_is_resumable(c->cache[i].sess)) {
                s = c->cache[i].sess;
                SSL_SESSION_up_ref(s);
            }
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return s;
}

void corio__tls_cache_put(corio_tls_ctx *c, const char *key, SSL_SESSION *sess)
{
    size_t klen = strlen(key) + 1;
    char *k = corio__sys.malloc(klen);
    if (!k) {
        SSL_SESSION_free(sess); /* no room: simply not cached */
        return;
    }
    memcpy(k, key, klen);
    pthread_mutex_lock(&c->lock);
    int i;
    for (i = 0; i < c->ncache; i++)
        if (strcmp(c->cache[i].key, key) == 0)
            break;
    if (i == c->ncache && i == CORIO__TLS_CACHE_MAX)
        i--; /* full: the least recently stored entry makes way */
    if (i < c->ncache) {
        free(c->cache[i].key);
        SSL_SESSION_free(c->cache[i].sess);
    } else {
        c->ncache++;
    }
    memmove(&c->cache[1], &c->cache[0], (size_t)i * sizeof c->cache[0]);
    c->cache[0].key = k;
    c->cache[0].sess = sess;
    pthread_mutex_unlock(&c->lock);
}

/* OpenSSL hands every new client session here: the full handshake's, and
 * each TLS 1.3 ticket, which arrives after the handshake (during a read).
 * Returning 1 keeps the reference. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    corio_tls_ctx *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    const char *key = corio__tls_session_key(ssl);
    if (!c || !key || !SSL_SESSION_is_resumable(sess))
        return 0;
    corio__tls_cache_put(c, key, sess);
    return 1;
}

/* ---- ALPN --------------------------------------------------------------- */

/* "h2,http/1.1" -> "\2h2\10http/1.1".  Returns 0, -EINVAL, -ENOMEM. */
static int alpn_wire(const char *list, unsigned char **out, unsigned *outlen)
{
    size_t n = strlen(list);
    unsigned char *w = corio__sys.malloc(n + 1);
    if (!w)
        return -ENOMEM;
    size_t o = 0;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len > 255) {
            free(w);
            return -EINVAL;
        }
        w[o++] = (unsigned char)len;
        memcpy(w + o, p, len);
        o += len;
        if (!e)
            break;
        p = e + 1;
    }
    *out = w;
    *outlen = (unsigned)o;
    return 0;
}

/* Server side: the first protocol of our list that the client offers. */
static int alpn_select(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
    corio_tls_ctx *c = arg;
    (void)ssl;
    if (SSL_select_next_proto((unsigned char **)out, outlen, c->alpn,
                              c->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

/* ---- making a context --------------------------------------------------- */

static int version_ok(int v)
{
    return v == 0 || v == CORIO_TLS_1_2 || v == CORIO_TLS_1_3;
}

/* Everything that reads files or configures OpenSSL; CORIO_ETLS on failure
 * with the message set. */
static int configure(corio_tls_ctx *c, const corio_tls_config *cfg)
{
    SSL_CTX *x = c->ssl;
    int server = c->role == CORIO_TLS_SERVER;
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
    char *why = cfg->detail ? cfg->detail->text : NULL;

    if (cfg->flags & CORIO_TLS_RAGGED_EOF)
        opts |= SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (cfg->flags & CORIO_TLS_NO_TICKETS)
        opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(x, opts);
    /* Give OpenSSL's record buffers back while a connection is idle. */
    SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS);

    if (!SSL_CTX_set_min_proto_version(x, cfg->min_version ? cfg->min_version
                                                           : TLS1_2_VERSION) ||
        (cfg->max_version &&
         !SSL_CTX_set_max_proto_version(x, cfg->max_version))) {
        corio__tls_err_ssl(why, "TLS version range");
        return CORIO_ETLS;
    }
    if (cfg->ciphers && !SSL_CTX_set_cipher_list(x, cfg->ciphers)) {
        corio__tls_err_ssl(why, "cipher list");
        return CORIO_ETLS;
    }

    /* Trust: the given CAs, else (a client) the system store. */
    if (cfg->ca_file || cfg->ca_dir) {
        if (!SSL_CTX_load_verify_locations(x, cfg->ca_file, cfg->ca_dir)) {
            corio__tls_err_ssl(why, cfg->ca_file ? cfg->ca_file : cfg->ca_dir);
            return CORIO_ETLS;
        }
    } else if (!server && !(cfg->flags & CORIO_TLS_NO_VERIFY)) {
        if (!SSL_CTX_set_default_verify_paths(x)) {
            corio__tls_err_ssl(why, "system CA store");
            return CORIO_ETLS;
        }
    }
    if (server) {
        if (cfg->flags & CORIO_TLS_VERIFY_CLIENT) {
            if (!cfg->ca_file && !cfg->ca_dir) {
                corio__tls_err(
                    why, "CORIO_TLS_VERIFY_CLIENT needs ca_file or ca_dir");
                return CORIO_ETLS;
            }
            SSL_CTX_set_verify(
                x, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
            if (cfg->ca_file) {
                STACK_OF(X509_NAME) *names =
                    SSL_load_client_CA_file(cfg->ca_file);
                if (names)
                    SSL_CTX_set_client_CA_list(x, names);
            }
        } else {
            SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
        }
    } else {
        SSL_CTX_set_verify(x,
                           (cfg->flags & CORIO_TLS_NO_VERIFY) ? SSL_VERIFY_NONE
                                                              : SSL_VERIFY_PEER,
                           NULL);
    }

    /* Own certificate and key. */
    if (cfg->cert_file) {
        if (SSL_CTX_use_certificate_chain_file(x, cfg->cert_file) != 1) {
            corio__tls_err_ssl(why, cfg->cert_file);
            return CORIO_ETLS;
        }
        const char *key = cfg->key_file ? cfg->key_file : cfg->cert_file;
        if (SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1) {
            corio__tls_err_ssl(why, key);
            return CORIO_ETLS;
        }
        if (SSL_CTX_check_private_key(x) != 1) {
            corio__tls_err_ssl(why, "private key");
            return CORIO_ETLS;
        }
    } else if (server) {
        corio__tls_err(why, "a server context needs cert_file");
        return CORIO_ETLS;
    } else if (cfg->key_file) {
        corio__tls_err(why, "key_file without cert_file");
        return CORIO_ETLS;
    }

    /* ALPN. */
    if (c->alpn) {
        if (server)
            SSL_CTX_set_alpn_select_cb(x, alpn_select, c);
        else if (SSL_CTX_set_alpn_protos(x, c->alpn, c->alpn_len) != 0) {
            corio__tls_err_ssl(why, "ALPN list");
            return CORIO_ETLS;
        }
    }

    /* Sessions.  A server resumes through tickets (TLS 1.3 and 1.2) and its
     * own cache; the id context lets sessions with client certificates
     * resume.  A client caches through new_session(). */
    if (server) {
        static const unsigned char sid[] = "corio";
        SSL_CTX_set_session_id_context(x, sid, sizeof sid - 1);
        if (cfg->flags & CORIO_TLS_NO_TICKETS) {
            SSL_CTX_set_num_tickets(x, 0);
            SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
        }
    } else if (cfg->flags & CORIO_TLS_NO_TICKETS) {
        SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    } else {
        SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT |
                                              SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(x, new_session);
    }
    SSL_CTX_set_app_data(x, c);
    return 0;
}

int corio_tls_ctx_new(corio_tls_ctx **out, enum corio_tls_role role,
                      const corio_tls_config *cfg)
{
    static const corio_tls_config none;
    int rc;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!cfg)
        cfg = &none;
    char *why = cfg->detail ? cfg->detail->text : NULL;
    if (why)
        why[0] = '\0';
    if ((role != CORIO_TLS_CLIENT && role != CORIO_TLS_SERVER) ||
        !version_ok(cfg->min_version) || !version_ok(cfg->max_version) ||
        (cfg->max_version && cfg->max_version < cfg->min_version)) {
        corio__tls_err(why, "bad role or TLS version");
        return -EINVAL;
    }
    corio_tls_ctx *c = corio__sys.calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return -ENOMEM;
    }
    atomic_init(&c->refs, 1);
    c->role = role;
    c->flags = cfg->flags;
    if (cfg->alpn) {
        rc = alpn_wire(cfg->alpn, &c->alpn, &c->alpn_len);
        if (rc < 0) {
            if (rc == -EINVAL)
                corio__tls_err(why, "bad ALPN list \"%s\"", cfg->alpn);
            destroy(c);
            return rc;
        }
    }
    ERR_clear_error();
    c->ssl = SSL_CTX_new(role == CORIO_TLS_SERVER ? TLS_server_method()
                                                  : TLS_client_method());
    if (!c->ssl) {
        ERR_clear_error();
        destroy(c);
        return -ENOMEM;
    }
    rc = configure(c, cfg);
    if (rc < 0) {
        destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- the default client context ----------------------------------------- */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static corio_tls_ctx *default_ctx; /* one reference held for the process */

int corio__tls_ctx_default(corio_tls_ctx **out)
{
    int rc = 0;
    pthread_mutex_lock(&default_lock);
    if (!default_ctx)
        rc = corio_tls_ctx_new(&default_ctx, CORIO_TLS_CLIENT, NULL);
    if (rc == 0)
        corio__tls_ctx_ref(default_ctx);
    *out = default_ctx;
    pthread_mutex_unlock(&default_lock);
    return rc;
}
