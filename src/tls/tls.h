/* tls/tls.h — what the two halves of the TLS filter share.
 *
 *   tls/context.c  corio_tls_ctx: the SSL_CTX, its reference count, the
 *                  client's session cache, the default client context,
 *                  ALPN lists and error messages.
 *   tls/session.c  the TLS transport: one SSL object over memory BIOs,
 *                  driven by reads and writes of the stream underneath;
 *                  the handshake, corio_tls_client/server and the queries.
 *
 * OpenSSL never touches a descriptor here: it reads ciphertext from one
 * memory BIO and writes ciphertext to another, so it never blocks and every
 * suspension happens in corio's own calls on the underlying stream, under
 * the task's cancellation and deadlines. */
#ifndef CORIO_TLS_TLS_H
#define CORIO_TLS_TLS_H

#include <corio.h>
#include <corio/tls.h>

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

/* Longest error message kept (longer ones are cut). */
#define CORIO__TLS_ERRLEN CORIO_DETAIL_MAX

/* One cached client session, by key.  The cache is a small LRU list: most
 * programs talk to a handful of servers. */
typedef struct corio__tls_cached {
    char *key;
    SSL_SESSION *sess;
} corio__tls_cached;

#define CORIO__TLS_CACHE_MAX 64

struct corio_tls_ctx {
    SSL_CTX *ssl;
    int role;            /* CORIO_TLS_CLIENT or CORIO_TLS_SERVER */
    unsigned flags;      /* CORIO_TLS_* */
    atomic_int refs;     /* the creator's + one per live session */
    unsigned char *alpn; /* wire format: length-prefixed names */
    unsigned alpn_len;
    pthread_mutex_t lock; /* guards the cache: contexts cross threads */
    corio__tls_cached cache[CORIO__TLS_CACHE_MAX]; /* [0] most recent */
    int ncache;
};

/* References: a session takes one for its lifetime. */
void corio__tls_ctx_ref(corio_tls_ctx *c);
void corio__tls_ctx_unref(corio_tls_ctx *c);

/* The shared default client context (made on first use).  Returns 0 and a
 * new reference in *out, or CORIO_ETLS / -ENOMEM. */
int corio__tls_ctx_default(corio_tls_ctx **out);

/* Client session cache.  get: a new reference to the newest session for
 * key, or NULL.  put: store sess under key (takes the reference). */
SSL_SESSION *corio__tls_cache_get(corio_tls_ctx *c, const char *key);
void corio__tls_cache_put(corio_tls_ctx *c, const char *key, SSL_SESSION *sess);

/* The SSL ex_data index that points from an SSL to its session (so the
 * new-session callback finds the cache key). */
int corio__tls_ex_index(void);
/* The key the session in an SSL caches under (session.c provides it). */
const char *corio__tls_session_key(SSL *ssl);

/* Error messages: format one into dst (CORIO__TLS_ERRLEN bytes; NULL:
 * nobody asked, nothing is kept).  corio__tls_err_ssl appends the reason of
 * OpenSSL's oldest queued error (then clears the queue). */
void corio__tls_err(char *dst, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void corio__tls_err_ssl(char *dst, const char *what);

#endif
