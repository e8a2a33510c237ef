/* corio/redis.h — a Redis client on corio streams (redis.asyncio's Redis,
 * Pipeline, PubSub and ConnectionPool).  Component corio-redis
 * (pkg-config corio-redis; links corio and Debian's hiredis, which is used
 * only to format commands and to parse RESP2 replies: all I/O is corio's,
 * so deadlines, cancellation, TLS and both I/O engines apply).
 *
 * One connection, many tasks: corio_redis_command may be called by any
 * number of tasks at once on one corio_redis.  Their commands are queued,
 * written together by the connection's writer task (one flush for all that
 * queued up meanwhile) and their replies handed back in order by its reader
 * task: automatic pipelining, with no user-visible batching.
 *
 *   task A ─┐ queue ┌────────┐ bytes ┌────────┐ replies ┌────────┐
 *   task B ─┼──────▶│ writer │──────▶│ server │────────▶│ reader │─▶ A,B,C
 *   task C ─┘ FIFO  └────────┘       └────────┘  FIFO   └────────┘
 *
 * Cancellation (the redis-py CVE-2023-28858/28859 lesson): a command whose
 * caller is cancelled, or whose timeout scope expires,
 *   - before the writer took it: is removed from the queue, never sent;
 *   - after the writer took it: stays in the connection's FIFO of replies
 *     due; its reply is read and discarded when it comes, never handed to
 *     another caller.  (A blocking command — BLPOP & co., WAIT, XREAD
 *     BLOCK — closes the connection instead, since its reply may never
 *     come: the other commands then in flight fail with -ECONNRESET.)
 * Partial writes cannot desynchronise the stream: once the writer has taken
 * a command, all of its bytes are sent (or the connection fails).
 *
 * Time limits come from the caller's scope: corio_timeout_begin(...) around
 * a command (or a connect) is its timeout.  A blocking command (BLPOP,
 * BRPOP, BLMOVE, BZPOPMIN, WAIT, XREAD BLOCK, ...) sent on a connection made
 * by corio_redis_connect runs on a connection of its own, made for it from
 * the same URL and options (AUTH and SELECT as at connect) and closed
 * after it, so it never stalls the commands other tasks share the
 * connection with; a TLS context given in the options must therefore
 * outlive the connection.  Inside MULTI, on a pooled connection (one user
 * at a time) or on one made by corio_redis_from_stream it runs where it is
 * sent.
 *
 * Errors (besides those below): every call that can suspend can return
 * -ECANCELED and -ETIMEDOUT, and -EPERM outside a task.  A connection that
 * failed (the server closed it: -ECONNRESET; a protocol error:
 * CORIO_EREDIS_PROTO; an I/O error: -errno) fails every later command with
 * the same code; close it (a pool replaces it by itself).
 *
 * Thread-safety: loop-thread only; a connection, pool or pipeline belongs
 * to the loop it was made on.  Replies and messages are plain memory and
 * may be passed to other threads. */
#ifndef CORIO_REDIS_H
#define CORIO_REDIS_H

#include "base.h"
#include "errno.h"
#include "stream.h"
#include "tls.h"

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library errors of Redis (corio/errno.h, range CORIO_ERRBASE - 200 ..
 * - 299):
 *   CORIO_EREDIS        the server answered with an error reply; its text
 *                       ("WRONGTYPE Operation against a key ...") is on the
 *                       reply (corio_redis_reply_string).
 *   CORIO_EREDIS_PROTO  the server sent something that is not RESP, or a
 *                       reply nobody asked for: the connection is failed.
 *   CORIO_EREDIS_AUTH   AUTH was refused at connect (wrong user or
 *                       password, or the server wants one: NOAUTH).
 *   CORIO_EREDIS_ABORTED  a MULTI/EXEC transaction was not run because a
 *                       WATCHed key changed (EXEC answered nil). */

typedef struct corio_redis corio_redis;
typedef struct corio_redis_reply corio_redis_reply;
typedef struct corio_redis_pipeline corio_redis_pipeline;
typedef struct corio_redis_pool corio_redis_pool;
typedef struct corio_redis_message corio_redis_message;

/* ---- Connections -------------------------------------------------------- */

/* Options of corio_redis_connect_ex; zero fields take the defaults.
 *   tls        rediss:// only: the TLS client context (borrowed; NULL: the
 *              system CAs).  Verification is always on unless the context
 *              says CORIO_TLS_NO_VERIFY.
 *   stream     buffer limits of the connection's stream (defaults 64 KiB).
 *   detail     NULL, or where a failed connect writes why: the server's
 *              error text for CORIO_EREDIS_AUTH / CORIO_EREDIS, the TLS
 *              reason for CORIO_ETLS / CORIO_ECERT. */
typedef struct corio_redis_opts {
    corio_tls_ctx *tls;
    corio_stream_opts stream;
    corio_error_detail *detail;
} corio_redis_opts;

/* Connect to the server at url, authenticate and select the database:
 *   redis://[[user]:password@]host[:port][/db]   TCP (port 6379)
 *   rediss://[[user]:password@]host[:port][/db]  TLS, certificate verified
 *   unix://[[user]:password@]/path/to.sock[?db=N]  Unix-domain socket
 * user and password are percent-decoded; without user, AUTH password (the
 * "default" user).  IPv6 hosts in brackets.
 * Returns 0 and *out, or (*out = NULL):
 *   -EINVAL             a malformed url (or NULL).
 *   CORIO_EREDIS_AUTH   AUTH refused (or the server needs a password).
 *   CORIO_EREDIS        SELECT refused (no such database).
 *   the errors of corio_tcp_connect / corio_unix_connect / corio_tls_client
 *   (-ECONNREFUSED, CORIO_ENOHOST, CORIO_ECERT, ...), -ENOMEM,
 *   -ECANCELED / -ETIMEDOUT (the caller's scope is the connect timeout).
 * Cancel-safe: yes; an interrupted connect leaves nothing open. */
CORIO_API CORIO_NODISCARD int corio_redis_connect(corio_redis **out,
                                                  const char *url);

/* corio_redis_connect with options (o may be NULL).  Same returns. */
CORIO_API CORIO_NODISCARD int corio_redis_connect_ex(corio_redis **out,
                                                     const char *url,
                                                     const corio_redis_opts *o);

/* Make a connection over a stream already connected to a Redis server (or
 * anything that speaks RESP: tests use a memory pair).  No AUTH or SELECT.
 * The connection owns s from then on (also on failure, when s is closed).
 * Returns 0 and *out, or -EINVAL, -ENOMEM, -EPERM (outside a loop).
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_redis_from_stream(corio_redis **out,
                                                      corio_stream *s);

/* Close c and free it (NULL is a no-op).  Commands other tasks are waiting
 * on return -EBADF; commands written but unanswered are forgotten.  Never
 * suspends. */
CORIO_API void corio_redis_close(corio_redis *c);

/* 0 while c is usable, else the error that failed it (-ECONNRESET, ...). */
CORIO_API int corio_redis_error(const corio_redis *c);

/* Commands written whose replies have not arrived yet, abandoned ones
 * included (for tests and pools: a connection with 0 is quiet). */
CORIO_API size_t corio_redis_in_flight(const corio_redis *c);

/* ---- Commands ------------------------------------------------------------ */

/* Send a command and wait for its reply.  fmt is hiredis's: words split on
 * spaces, %s a C string, %b a binary-safe buffer (pointer, size_t length),
 * %d/%lld/... numbers ("SET %s %b", key, val, len).  Any number of tasks may
 * call this at once on c: their commands are pipelined.
 * Returns 0 and the reply in *out (free it with corio_redis_reply_free), or:
 *   CORIO_EREDIS   the server answered with an error: *out is the error
 *                  reply (its text: corio_redis_reply_string).
 *   -EINVAL        a bad format, NULL arguments, c is in pub/sub mode, or
 *                  the command is SUBSCRIBE & co. or MONITOR (their replies
 *                  are not one per command: see Pub/Sub below).
 *   -EBADF         c was closed meanwhile.
 *   the connection's error (see the top), -ENOMEM, -ECANCELED / -ETIMEDOUT.
 * On other errors *out = NULL.
 * Cancel-safe: yes.  Interrupted before the command was written: it is
 * never sent.  After: the command ran or will run on the server, and its
 * reply is discarded when it comes (never given to another caller). */
CORIO_API CORIO_NODISCARD int corio_redis_command(corio_redis *c,
                                                  corio_redis_reply **out,
                                                  const char *fmt, ...);

/* corio_redis_command with a va_list. */
CORIO_API CORIO_NODISCARD int corio_redis_commandv(corio_redis *c,
                                                   corio_redis_reply **out,
                                                   const char *fmt, va_list ap);

/* corio_redis_command with the words given as argc buffers (argvlen NULL:
 * each is a C string); the reply last, as the parameter rule wants for a
 * call that is not variadic.  Same returns and cancel safety. */
CORIO_API CORIO_NODISCARD int corio_redis_command_argv(corio_redis *c, int argc,
                                                       const char **argv,
                                                       const size_t *argvlen,
                                                       corio_redis_reply **out);

/* ---- Replies ---------------------------------------------------------------
 * A reply is a tree owned by whoever received it; accessors return views
 * into it, valid until corio_redis_reply_free.  Strings always have a NUL
 * after their last byte (they may also contain NUL bytes: use the length). */

typedef enum corio_redis_type {
    CORIO_REDIS_NIL = 0,
    CORIO_REDIS_INTEGER,
    CORIO_REDIS_STRING, /* bulk string */
    CORIO_REDIS_STATUS, /* simple string: "OK", "PONG", "QUEUED" */
    CORIO_REDIS_ERROR,  /* error reply: "ERR ...", "WRONGTYPE ..." */
    CORIO_REDIS_ARRAY,  /* multi-bulk, possibly nested */
} corio_redis_type;

/* The type of r (NULL: CORIO_REDIS_NIL). */
CORIO_API corio_redis_type corio_redis_reply_type(const corio_redis_reply *r);
/* The integer of an INTEGER reply (0 for other types). */
CORIO_API long long corio_redis_reply_integer(const corio_redis_reply *r);
/* The bytes of a STRING, STATUS or ERROR reply, NUL-terminated, and their
 * count in *len (len may be NULL); NULL for other types. */
CORIO_API const char *corio_redis_reply_string(const corio_redis_reply *r,
                                               size_t *len);
/* The number of elements of an ARRAY reply (0 for other types). */
CORIO_API size_t corio_redis_reply_count(const corio_redis_reply *r);
/* Element i of an ARRAY reply (NULL when out of range or not an array).
 * Owned by r. */
CORIO_API corio_redis_reply *
corio_redis_reply_element(const corio_redis_reply *r, size_t i);
/* Free r and everything in it (NULL is a no-op). */
CORIO_API void corio_redis_reply_free(corio_redis_reply *r);

/* ---- Pipelines and transactions ------------------------------------------ */

/* corio_redis_pipeline_new flags. */
#define CORIO_REDIS_TRANSACTION 0x1u /* wrap the commands in MULTI ... EXEC */

/* An explicit batch: commands appended, then sent together by
 * corio_redis_pipeline_exec (redis.asyncio's pipeline(transaction=...)).
 * Returns 0 and *out, or -ENOMEM, -EINVAL (unknown flags).  Never suspends. */
CORIO_API CORIO_NODISCARD int
corio_redis_pipeline_new(corio_redis_pipeline **out, unsigned flags);
/* Append one command (the format of corio_redis_command).  Returns 0, or
 * -EINVAL (bad format, or SUBSCRIBE & co., MONITOR), -ENOMEM.  Never
 * suspends. */
CORIO_API CORIO_NODISCARD int
corio_redis_pipeline_append(corio_redis_pipeline *p, const char *fmt, ...);
/* Append one command given as words (see corio_redis_command_argv). */
CORIO_API CORIO_NODISCARD int
corio_redis_pipeline_append_argv(corio_redis_pipeline *p, int argc,
                                 const char **argv, const size_t *argvlen);
/* The number of commands appended. */
CORIO_API size_t corio_redis_pipeline_count(const corio_redis_pipeline *p);
/* Send the batch on c, all of it at once and next to each other in the
 * connection's stream, and wait for every reply.  *out is an ARRAY reply
 * with one element per command, in order (error replies included: each is
 * an ERROR element).  With CORIO_REDIS_TRANSACTION, *out is EXEC's array.
 * The pipeline is left as it was (exec it again, or free it).
 * Returns 0, or:
 *   CORIO_EREDIS_ABORTED  transaction: a WATCHed key changed, nothing ran
 *                  (*out = NULL).
 *   CORIO_EREDIS   transaction: the server refused it (EXECABORT: a
 *                  command was malformed); *out is the error reply.
 *   -EINVAL        the pipeline is empty, or c is in pub/sub mode.
 *   the errors of corio_redis_command.
 * Cancel-safe: as corio_redis_command, for the batch as a whole: all of it
 * is sent or none, and the replies of an interrupted batch are discarded.
 * Thread-safety: loop-thread only; p may be exec'd by one task at a time. */
CORIO_API CORIO_NODISCARD int
corio_redis_pipeline_exec(corio_redis_pipeline *p, corio_redis *c,
                          corio_redis_reply **out);
/* Free p (NULL is a no-op). */
CORIO_API void corio_redis_pipeline_free(corio_redis_pipeline *p);

/* WATCH needs a connection nobody else uses between WATCH and EXEC: take
 * one from a pool (corio_redis_pool_acquire) or connect one, then
 *   corio_redis_command(c, &r, "WATCH %s", key); read; build a pipeline
 *   with CORIO_REDIS_TRANSACTION; corio_redis_pipeline_exec(p, c, &r):
 * CORIO_EREDIS_ABORTED means try again. */

/* ---- Pub/Sub --------------------------------------------------------------
 * Subscribing puts a connection in pub/sub mode (as the server does): only
 * the calls of this section work on it until the last subscription is
 * gone.  Use a connection of its own for it.  Messages are queued on the
 * connection (without limit) until taken by corio_redis_message_wait. */

/* Subscribe c to a channel (psubscribe: to a glob pattern) and wait for the
 * server's confirmation.  Returns 0, or -EINVAL (NULL), the errors of
 * corio_redis_command.  Cancel-safe: as corio_redis_command (an interrupted
 * subscribe may still take effect: messages may then arrive). */
CORIO_API CORIO_NODISCARD int corio_redis_subscribe(corio_redis *c,
                                                    const char *channel);
/* Subscribe c to a glob pattern (PSUBSCRIBE) and wait for the server's
 * confirmation.  Same returns and cancel-safety as corio_redis_subscribe. */
CORIO_API CORIO_NODISCARD int corio_redis_psubscribe(corio_redis *c,
                                                     const char *pattern);
/* Unsubscribe from a channel (punsubscribe: a pattern); NULL: from all.
 * Same returns. */
CORIO_API CORIO_NODISCARD int corio_redis_unsubscribe(corio_redis *c,
                                                      const char *channel);
/* Unsubscribe c from a pattern (PUNSUBSCRIBE); NULL: from all patterns.
 * Same returns and cancel-safety as corio_redis_subscribe. */
CORIO_API CORIO_NODISCARD int corio_redis_punsubscribe(corio_redis *c,
                                                       const char *pattern);

/* Wait for the next message published to a subscription of c.
 * Returns 0 and *out (free it with corio_redis_message_free), or:
 *   -EINVAL     c is NULL or not subscribed to anything (and no message
 *               is queued).
 *   the connection's error, -EBADF, -ECANCELED / -ETIMEDOUT (*out = NULL).
 * Cancel-safe: yes; an interrupted call took no message. */
CORIO_API CORIO_NODISCARD int
corio_redis_message_wait(corio_redis *c, corio_redis_message **out);
/* The channel a message was published to (len may be NULL). */
CORIO_API const char *corio_redis_message_channel(const corio_redis_message *m,
                                                  size_t *len);
/* The pattern it matched (psubscribe), else NULL. */
CORIO_API const char *corio_redis_message_pattern(const corio_redis_message *m,
                                                  size_t *len);
/* Its payload (binary-safe; NUL after the last byte). */
CORIO_API const char *corio_redis_message_data(const corio_redis_message *m,
                                               size_t *len);
/* Free m (NULL is a no-op). */
CORIO_API void corio_redis_message_free(corio_redis_message *m);

/* ---- Pool -------------------------------------------------------------------
 * Connections to one server, each lent to one task at a time
 * (redis.asyncio's BlockingConnectionPool): for blocking commands, WATCH,
 * and one-command-per-connection use.  At max_connections, acquire waits
 * (FIFO) for a connection to come back; it never fails with "too many
 * connections" (redis-py #2517). */

/* Pool options; zero fields take the defaults.
 *   max_connections  connections open at most (default 10).
 *   health_check_ns  a connection idle longer than this is checked with
 *                    PING before it is lent (default 30 s; < 0: never).
 *   retry_ns         how long acquire keeps trying to connect when the
 *                    server refuses (e.g. while it restarts), with a backoff
 *                    from 10 ms doubling to 1 s (default 5 s; < 0: one try).
 *   conn             options of every connection (copied; may be NULL). */
typedef struct corio_redis_pool_opts {
    size_t max_connections;
    int64_t health_check_ns;
    int64_t retry_ns;
    const corio_redis_opts *conn;
} corio_redis_pool_opts;

/* Make a pool for url (copied; see corio_redis_connect).  No connection is
 * made yet.  Returns 0 and *out, or -EINVAL (bad url), -ENOMEM.  Never
 * suspends. */
CORIO_API CORIO_NODISCARD int
corio_redis_pool_new(corio_redis_pool **out, const char *url,
                     const corio_redis_pool_opts *o);
/* Close the idle connections and free p (NULL is a no-op).  Every
 * connection lent must have come back.  Never suspends. */
CORIO_API void corio_redis_pool_free(corio_redis_pool *p);
/* Borrow a connection for the calling task's exclusive use: an idle one
 * (most recently used first; checked with PING if idle for long; failed
 * ones are dropped), else a new one while under max_connections, else wait
 * in FIFO order.  Return it with corio_redis_pool_release.
 * Returns 0 and *out, or the errors of corio_redis_connect (after retry_ns
 * of retries for -ECONNREFUSED, -ECONNRESET, -ENOENT), -ECANCELED /
 * -ETIMEDOUT (*out = NULL).
 * Cancel-safe: yes; an interrupted call holds no connection and no slot. */
CORIO_API CORIO_NODISCARD int corio_redis_pool_acquire(corio_redis_pool *p,
                                                       corio_redis **out);
/* Give c back to p.  A connection that failed, is in pub/sub mode or in a
 * transaction, or still has commands in flight (an interrupted command) is
 * closed instead of being kept.  Never suspends. */
CORIO_API void corio_redis_pool_release(corio_redis_pool *p, corio_redis *c);
/* Acquire, run one command (as corio_redis_command), release.  A command
 * that failed before it was written, because its idle connection had
 * failed, is retried once on another connection.  Same returns as
 * corio_redis_command and corio_redis_pool_acquire. */
CORIO_API CORIO_NODISCARD int corio_redis_pool_command(corio_redis_pool *p,
                                                       corio_redis_reply **out,
                                                       const char *fmt, ...);
/* Connections open (lent and idle). */
CORIO_API size_t corio_redis_pool_size(const corio_redis_pool *p);

#ifdef __cplusplus
}
#endif
#endif
