/* redis/redis.h — the internals of corio-redis shared by its files:
 *   the connection (conn.c): a stream, a writer task and a reader task, the
 *     queue of requests not yet written and the FIFO of requests written
 *     and awaiting replies;
 *   requests (conn.c): formatted bytes plus the number of replies they
 *     expect (1 for a command, n for a pipeline, n + 2 for a transaction);
 *   replies (reply.c): hiredis's reader builds corio_redis_reply trees;
 *   allocation (alloc.c): through corio's system table when linked
 *     statically (so the fault sweep reaches it), else the C library.
 *
 * Ownership of a request: the calling task while it waits; if the caller
 * is interrupted after the writer took the request, the connection (the
 * reader frees it when its replies have come, or conn_fail does). */
#ifndef CORIO_REDIS_INTERNAL_H
#define CORIO_REDIS_INTERNAL_H

#include <corio.h>
#include <corio/redis.h>

#include <stdbool.h>

void *corio__redis_malloc(size_t n);
void *corio__redis_calloc(size_t n, size_t size);
void *corio__redis_realloc(void *p, size_t n);

struct corio_redis_reply {
    corio_redis_type type;
    long long integer;
    size_t len; /* string bytes, or array elements */
    char *str;  /* NUL-terminated, inline after the struct */
    corio_redis_reply **element;
};

/* The hiredis reader, made with corio's reply functions. */
void *corio__redis_reader_new(void);
void corio__redis_reader_free(void *reader);
/* An ARRAY reply of n elements taken from v (ownership passes). */
corio_redis_reply *corio__redis_reply_array(corio_redis_reply **v, size_t n);

/* Request kinds, for pub/sub bookkeeping. */
enum {
    REQ_PLAIN = 0,
    REQ_SUBSCRIBE, /* replies: "subscribe" confirmations */
    REQ_PSUBSCRIBE,
    REQ_UNSUBSCRIBE,
    REQ_PUNSUBSCRIBE,
};

enum { REQ_QUEUED, REQ_SENT, REQ_DONE };

typedef struct corio__redis_req corio__redis_req;
struct corio__redis_req {
    corio__redis_req *prev, *next; /* queue (doubly) or sent FIFO (next) */
    char *cmd;                     /* formatted bytes, freed once written */
    size_t len;
    size_t nreplies; /* 0: until the pub/sub count says so */
    size_t ngot;
    corio_redis_reply *one;   /* nreplies == 1 */
    corio_redis_reply **many; /* nreplies > 1 */
    int state;
    int kind;
    int rc; /* set with REQ_DONE */
    bool abandoned;
    bool blocking; /* BLPOP & co.: close on interruption */
    corio_event done;
};

struct corio_redis {
    corio_stream *s;
    void *reader; /* hiredis redisReader */
    corio_task *writer_task, *reader_task;
    corio__redis_req *qhead, *qtail; /* not yet written */
    corio__redis_req *shead, *stail; /* written, replies due */
    size_t nsent;                    /* length of the sent FIFO */
    corio_event work;                /* set: the writer has something to do */
    int err;                         /* sticky connection error, 0 if none */
    int refs;                        /* owner + tasks + callers inside */
    bool closed;
    bool writer_started, reader_started;
    bool in_multi, watching; /* MULTI / WATCH sent, not yet ended */
    /* pub/sub */
    bool pubsub;               /* subscribe was sent */
    long nchannels, npatterns; /* as the server last counted them */
    struct corio__redis_msg *mhead, *mtail;
    corio_event msg; /* set when a message was queued */
    /* how it was made, for blocking commands' own connections */
    char *url;             /* NULL: made from a stream (no side connection) */
    corio_redis_opts opts; /* tls borrowed, detail dropped */
    bool exclusive;        /* a pooled connection: one user at a time */
    /* pool bookkeeping */
    int64_t idle_since;
    corio_redis *pool_next;
};

typedef struct corio__redis_msg {
    struct corio__redis_msg *next;
    corio_redis_reply
        *r; /* ["message", ch, data] or ["pmessage", pat, ch, data] */
} corio__redis_msg;

/* Submit bytes (taken over: freed by the connection) expecting nreplies
 * and wait.  *out gets the reply (an ARRAY of all of them if nreplies > 1).
 * *unsent (may be NULL) is set true if the failure happened before
 * anything was written.  Returns 0, CORIO_EREDIS (error reply in *out),
 * or an error. */
int corio__redis_submit(corio_redis *c, char *cmd, size_t len, size_t nreplies,
                        int kind, corio_redis_reply **out, bool *unsent);
/* Drop a reference to c (the last one frees it). */
void corio__redis_unref(corio_redis *c);
/* Format with hiredis; returns the length or -EINVAL / -ENOMEM. */
int corio__redis_format(char **out, const char *fmt, va_list ap);
int corio__redis_format_argv(char **out, int argc, const char **argv,
                             const size_t *argvlen);
/* True if the formatted command is one that may block on the server. */
bool corio__redis_is_blocking(const char *cmd, size_t len);
/* True for (P|S)(UN)SUBSCRIBE and MONITOR, whose replies are not one per
 * command: refused by corio_redis_command and pipelines. */
bool corio__redis_is_pubsub(const char *cmd, size_t len);

/* URL parsing (url.c). */
typedef struct corio__redis_url {
    int kind;   /* 0 tcp, 1 tls, 2 unix */
    char *host; /* or the socket path */
    int port;
    char *user, *password; /* NULL if absent */
    long db;               /* -1: none */
} corio__redis_url;
int corio__redis_url_parse(corio__redis_url *u, const char *url);
void corio__redis_url_free(corio__redis_url *u);

#endif
