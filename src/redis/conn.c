/* redis/conn.c — the multiplexed connection: requests, the writer task,
 * the reader task, and their failure.
 *
 *   callers ── queue (qhead..qtail) ──▶ writer ── stream ──▶ server
 *   callers ◀── complete() ◀── sent FIFO (shead..stail) ◀── reader ◀──┘
 *
 * A caller queues a request, wakes the writer and waits on the request's
 * event.  The writer moves requests from the queue to the sent FIFO as it
 * hands their bytes to the stream, and flushes once the queue is empty, so
 * everything queued while a flush was under way goes out in the next one.
 * The reader feeds hiredis's reader and gives each reply to the head of the
 * sent FIFO.  The FIFO's order is the stream's order, and a request leaves
 * it only when its replies have all come (or the connection fails): that is
 * what keeps replies with their own callers, whatever gets cancelled.
 *
 * Lifetime: refs counts the owner (until corio_redis_close), the two tasks
 * and every caller inside a call; the last one out frees the connection.
 * Failure (conn_fail) is sticky: the stream is closed, every request is
 * completed with the error, the tasks leave. */
#include "redis/redis.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- requests --------------------------------------------------------------
 */

static corio__redis_req *req_new(char *cmd, size_t len, size_t nreplies,
                                 int kind)
{
    corio__redis_req *r = corio__redis_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (nreplies > 1) {
        r->many = corio__redis_calloc(nreplies, sizeof *r->many);
        if (!r->many) {
            free(r);
            return NULL;
        }
    }
    r->cmd = cmd;
    r->len = len;
    r->nreplies = nreplies;
    r->kind = kind;
    r->state = REQ_QUEUED;
    corio_event_init(&r->done);
    return r;
}

static void req_free(corio__redis_req *r)
{
    free(r->cmd);
    corio_redis_reply_free(r->one);
    if (r->many) {
        for (size_t i = 0; i < r->ngot; i++)
            corio_redis_reply_free(r->many[i]);
        free(r->many);
    }
    corio_event_destroy(&r->done);
    free(r);
}

static void q_unlink(corio_redis *c, corio__redis_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->qhead = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        c->qtail = r->prev;
    r->prev = r->next = NULL;
}

static void q_push(corio_redis *c, corio__redis_req *r)
{
    r->next = NULL;
    r->prev = c->qtail;
    if (c->qtail)
        c->qtail->next = r;
    else
        c->qhead = r;
    c->qtail = r;
}

static void s_push(corio_redis *c, corio__redis_req *r)
{
    r->next = NULL;
    if (c->stail)
        c->stail->next = r;
    else
        c->shead = r;
    c->stail = r;
    c->nsent++;
}

static corio__redis_req *s_pop(corio_redis *c)
{
    corio__redis_req *r = c->shead;
    if (r) {
        c->shead = r->next;
        if (!c->shead)
            c->stail = NULL;
        r->next = NULL;
        c->nsent--;
    }
    return r;
}

/* The request's replies are all in (rc 0) or it failed: hand it to its
 * caller, or free it if the caller is gone. */
static void complete(corio__redis_req *r, int rc)
{
    r->state = REQ_DONE;
    r->rc = rc;
    if (r->abandoned)
        req_free(r);
    else
        corio_event_set(&r->done);
}

/* ---- lifetime
 * ---------------------------------------------------------------- */

static void conn_free(corio_redis *c)
{
    corio_stream_close(c->s);
    corio__redis_reader_free(c->reader);
    while (c->mhead) {
        corio__redis_msg *m = c->mhead;
        c->mhead = m->next;
        corio_redis_reply_free(m->r);
        free(m);
    }
    corio_event_destroy(&c->work);
    corio_event_destroy(&c->msg);
    free(c->url);
    free(c);
}

void corio__redis_unref(corio_redis *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

/* Fail c for good with err: close the stream (a task inside a call on it
 * gets -EBADF), complete every request with err, wake everyone. */
static void conn_fail(corio_redis *c, int err)
{
    if (!c->err)
        c->err = err;
    corio_stream_close(c->s);
    c->s = NULL;
    corio__redis_req *r;
    while ((r = s_pop(c)))
        complete(r, c->err);
    while ((r = c->qhead)) {
        q_unlink(c, r);
        complete(r, c->err);
    }
    corio_event_set(&c->work);
    corio_event_set(&c->msg);
}

/* ---- the writer
 * ------------------------------------------------------------------ */

static int writer_main(void *arg)
{
    corio_redis *c = arg;
    c->writer_started = true;
    while (!c->err) {
        if (!c->qhead) {
            corio_event_clear(&c->work);
            if (corio_event_wait(&c->work) < 0)
                break; /* cancelled: the connection is being closed */
            continue;
        }
        while (c->qhead && !c->err) {
            corio__redis_req *r = c->qhead;
            /* From here the request is committed: its bytes go out whole
             * (or the connection fails), and its caller, if interrupted,
             * leaves it to the reader.  The writer keeps the bytes, so it
             * never touches r again: the reply may complete r (and free
             * it) while the write is still returning. */
            char *cmd = r->cmd;
            size_t len = r->len;
            r->cmd = NULL;
            q_unlink(c, r);
            r->state = REQ_SENT;
            s_push(c, r);
            int rc = corio_stream_write(c->s, cmd, len);
            free(cmd);
            if (rc < 0 && !c->err)
                conn_fail(c, rc);
        }
        if (c->err)
            break;
        int rc = corio_stream_flush(c->s);
        if (rc < 0 && !c->err)
            conn_fail(c, rc);
    }
    corio__redis_unref(c);
    return 0;
}

/* ---- the reader
 * -------------------------------------------------------------------- */

static bool str_is(const corio_redis_reply *r, const char *s)
{
    return r &&
           (r->type == CORIO_REDIS_STRING || r->type == CORIO_REDIS_STATUS) &&
           r->len == strlen(s) && !strncasecmp(r->str, s, r->len);
}

static bool is_message(const corio_redis_reply *r)
{
    return r->type == CORIO_REDIS_ARRAY &&
           ((r->len == 3 && str_is(r->element[0], "message")) ||
            (r->len == 4 && str_is(r->element[0], "pmessage")));
}

/* A subscribe/unsubscribe confirmation: keep count of what c is subscribed
 * to (the third element is the server's total). */
static void pubsub_count(corio_redis *c, const corio_redis_reply *r)
{
    if (r->type != CORIO_REDIS_ARRAY || r->len != 3 ||
        r->element[2]->type != CORIO_REDIS_INTEGER)
        return;
    long total = (long)r->element[2]->integer;
    long delta = total - (c->nchannels + c->npatterns);
    if (str_is(r->element[0], "subscribe") ||
        str_is(r->element[0], "unsubscribe"))
        c->nchannels += delta;
    else if (str_is(r->element[0], "psubscribe") ||
             str_is(r->element[0], "punsubscribe"))
        c->npatterns += delta;
    c->pubsub = total > 0;
}

static void dispatch(corio_redis *c, corio_redis_reply *rep)
{
    if (c->pubsub && is_message(rep)) {
        corio__redis_msg *m = corio__redis_malloc(sizeof *m);
        if (!m) {
            corio_redis_reply_free(rep);
            conn_fail(c, -ENOMEM);
            return;
        }
        m->r = rep;
        m->next = NULL;
        if (c->mtail)
            c->mtail->next = m;
        else
            c->mhead = m;
        c->mtail = m;
        corio_event_set(&c->msg);
        return;
    }
    corio__redis_req *r = c->shead;
    if (!r) {
        /* A reply nobody asked for: the stream cannot be trusted. */
        corio_redis_reply_free(rep);
        conn_fail(c, CORIO_EREDIS_PROTO);
        return;
    }
    bool done;
    if (r->kind != REQ_PLAIN)
        pubsub_count(c, rep);
    if (r->nreplies == 0) {
        /* unsubscribe from all: as many confirmations as there were
         * subscriptions of the kind; the last one is kept. */
        corio_redis_reply_free(r->one);
        r->one = rep;
        r->ngot++;
        done =
            r->kind == REQ_UNSUBSCRIBE ? c->nchannels <= 0 : c->npatterns <= 0;
    } else if (r->nreplies == 1) {
        r->one = rep;
        r->ngot = 1;
        done = true;
    } else {
        r->many[r->ngot++] = rep;
        done = r->ngot == r->nreplies;
    }
    if (done) {
        s_pop(c);
        complete(r, 0);
    }
}

static int reader_main(void *arg)
{
    corio_redis *c = arg;
    char buf[16384];
    c->reader_started = true;
    while (!c->err) {
        ssize_t n = corio_stream_read(c->s, buf, sizeof buf);
        if (c->err)
            break;
        if (n <= 0) {
            conn_fail(c, n == 0 ? -ECONNRESET : (int)n);
            break;
        }
        if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
            conn_fail(c, -ENOMEM);
            break;
        }
        while (!c->err) {
            void *rep = NULL;
            if (redisReaderGetReply(c->reader, &rep) != REDIS_OK) {
                conn_fail(c, ((redisReader *)c->reader)->err == REDIS_ERR_OOM
                                 ? -ENOMEM
                                 : CORIO_EREDIS_PROTO);
                break;
            }
            if (!rep)
                break;
            dispatch(c, rep);
        }
    }
    corio__redis_unref(c);
    return 0;
}

/* ---- making and closing
 * ------------------------------------------------------------ */

int corio_redis_from_stream(corio_redis **out, corio_stream *s)
{
    if (!out) {
        corio_stream_close(s);
        return -EINVAL;
    }
    *out = NULL;
    if (!s)
        return -EINVAL;
    if (!corio_task_current()) {
        corio_stream_close(s);
        return -EPERM;
    }
    corio_redis *c = corio__redis_calloc(1, sizeof *c);
    if (!c) {
        corio_stream_close(s);
        return -ENOMEM;
    }
    c->s = s;
    corio_event_init(&c->work);
    corio_event_init(&c->msg);
    c->refs = 1;
    c->reader = corio__redis_reader_new();
    int rc = c->reader ? 0 : -ENOMEM;
    corio_task_opts to = {.name = "redis-writer", .stack_size = 64 * 1024};
    if (rc == 0)
        rc = corio_task_spawn_ex(&c->writer_task, writer_main, c, &to);
    if (rc == 0) {
        c->refs++;
        to.name = "redis-reader";
        rc = corio_task_spawn_ex(&c->reader_task, reader_main, c, &to);
        if (rc == 0)
            c->refs++;
    }
    if (rc < 0) {
        corio_redis_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void corio_redis_close(corio_redis *c)
{
    if (!c || c->closed)
        return;
    c->closed = true;
    /* Failing c closes the stream and sets the writer's event: a task that
     * has started wakes to find c->err set and leaves, dropping its
     * reference.  A task that has not started yet is cancelled instead (a
     * task cancelled before it starts never runs) and its reference is
     * dropped here; otherwise the end of corio_run, which cancels what is
     * left, could keep it from ever running. */
    conn_fail(c, -EBADF);
    if (c->writer_task) {
        if (!c->writer_started) {
            corio_task_cancel(c->writer_task);
            c->refs--;
        }
        corio_task_detach(c->writer_task);
    }
    if (c->reader_task) {
        if (!c->reader_started) {
            corio_task_cancel(c->reader_task);
            c->refs--;
        }
        corio_task_detach(c->reader_task);
    }
    corio__redis_unref(c);
}

int corio_redis_error(const corio_redis *c)
{
    return c ? c->err : -EINVAL;
}

size_t corio_redis_in_flight(const corio_redis *c)
{
    return c ? c->nsent : 0;
}

/* ---- formatting
 * ------------------------------------------------------------------------ */

/* The first word of a formatted command "*N\r\n$L\r\nWORD\r\n...". */
static bool first_word(const char *cmd, size_t len, const char **w, size_t *wl)
{
    const char *p = memchr(cmd, '\n', len);
    if (!p || (size_t)(p - cmd) + 2 >= len || p[1] != '$')
        return false;
    const char *e = p + 2, *end = cmd + len;
    size_t n = 0;
    while (e < end && *e >= '0' && *e <= '9' && n < 1000000)
        n = n * 10 + (size_t)(*e++ - '0');
    if (n == 0 || e + 2 > end || (size_t)(end - (e + 2)) < n)
        return false;
    *w = e + 2;
    *wl = (size_t)n;
    return true;
}

/* MULTI and WATCH leave state on the connection that a pool must not lend
 * on: remember them (a pipeline's MULTI...EXEC leaves none). */
static void track_state(corio_redis *c, const char *cmd, size_t len)
{
    const char *w;
    size_t wl;
    if (!first_word(cmd, len, &w, &wl))
        return;
#define IS(s) (wl == sizeof s - 1 && !strncasecmp(w, s, wl))
    if (IS("MULTI")) {
        /* a transaction pipeline ends with its EXEC: look at the end */
        c->in_multi =
            !(len >= 14 && !memcmp(cmd + len - 14, "*1\r\n$4\r\nEXEC\r\n", 14));
        if (!c->in_multi)
            c->watching = false;
    } else if (IS("WATCH")) {
        c->watching = true;
    } else if (IS("EXEC") || IS("DISCARD")) {
        c->in_multi = false;
        c->watching = false;
    } else if (IS("UNWATCH")) {
        c->watching = false;
    }
#undef IS
}

bool corio__redis_is_pubsub(const char *cmd, size_t len)
{
    static const char *const names[] = {
        "SUBSCRIBE",    "PSUBSCRIBE",   "SSUBSCRIBE", "UNSUBSCRIBE",
        "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR",
    };
    const char *w;
    size_t wl;
    if (!first_word(cmd, len, &w, &wl) || !strchr("SsPpUuMm", w[0]))
        return false;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == wl && !strncasecmp(w, names[i], wl))
            return true;
    return false;
}

bool corio__redis_is_blocking(const char *cmd, size_t len)
{
    static const char *const names[] = {
        "BLPOP",    "BRPOP",    "BRPOPLPUSH", "BLMOVE", "BLMPOP",
        "BZPOPMIN", "BZPOPMAX", "BZMPOP",     "WAIT",   "WAITAOF",
    };
    const char *w;
    size_t wl;
    if (!first_word(cmd, len, &w, &wl))
        return false;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == wl && !strncasecmp(w, names[i], wl))
            return true;
    if ((wl == 5 && !strncasecmp(w, "XREAD", 5)) ||
        (wl == 10 && !strncasecmp(w, "XREADGROUP", 10))) {
        /* blocking only with a BLOCK argument: "...\r\n$5\r\nBLOCK\r\n..." */
        for (const char *p = w; p + 9 <= cmd + len; p++)
            if (p[0] == '\r' && p[1] == '\n' &&
                !strncasecmp(p + 2, "BLOCK\r\n", 7))
                return true;
    }
    return false;
}

/* ---- submitting
 * ---------------------------------------------------------------------- */

/* A blocking command (BLPOP & co.) on a shared connection would hold back
 * every other task's command behind it: it runs on a connection of its own,
 * made from the same URL and options (AUTH and SELECT included), for its
 * time only.  Its time limit is the caller's scope, as always. */
static int on_own_connection(corio_redis *c, char *cmd, size_t len,
                             size_t nreplies, int kind, corio_redis_reply **out,
                             bool *unsent)
{
    corio_redis *own;
    int rc = corio_redis_connect_ex(&own, c->url, &c->opts);
    if (rc < 0) {
        free(cmd);
        return rc;
    }
    own->exclusive = true;
    rc = corio__redis_submit(own, cmd, len, nreplies, kind, out, unsent);
    corio_redis_close(own);
    return rc;
}

int corio__redis_submit(corio_redis *c, char *cmd, size_t len, size_t nreplies,
                        int kind, corio_redis_reply **out, bool *unsent)
{
    bool dummy;
    if (!unsent)
        unsent = &dummy;
    *out = NULL;
    *unsent = true;
    if (!c) {
        free(cmd);
        return -EINVAL;
    }
    if (c->err) {
        free(cmd);
        return c->err;
    }
    if (!corio_task_current()) {
        free(cmd);
        return -EPERM;
    }
    /* Only commands starting with these letters can block or leave state:
     * the hot path (GET, SET, ...) skips both looks. */
    bool blocking = false;
    const char *w;
    size_t wl;
    if (first_word(cmd, len, &w, &wl) && strchr("BbWwXxMmEeDdUu", w[0])) {
        blocking = corio__redis_is_blocking(cmd, len);
        if (blocking && c->url && !c->exclusive && !c->in_multi)
            return on_own_connection(c, cmd, len, nreplies, kind, out, unsent);
        track_state(c, cmd, len);
    }
    corio__redis_req *r = req_new(cmd, len, nreplies, kind);
    if (!r) {
        free(cmd);
        return -ENOMEM;
    }
    r->blocking = blocking;
    c->refs++;
    q_push(c, r);
    corio_event_set(&c->work);
    int rc = corio_event_wait(&r->done);
    if (r->state == REQ_DONE) {
        /* Done, even if an interruption came in the same tick: the reply
         * is this caller's own. */
        rc = r->rc;
        *unsent = false;
        if (rc == 0) {
            if (r->nreplies > 1) {
                corio_redis_reply *a =
                    corio__redis_reply_array(r->many, r->nreplies);
                if (a) {
                    r->many = NULL;
                    r->ngot = 0;
                    *out = a;
                } else {
                    rc = -ENOMEM;
                }
            } else {
                *out = r->one;
                r->one = NULL;
            }
        } else if (r->ngot == 0 && r->cmd) {
            *unsent = true; /* failed before the writer took it */
        }
        req_free(r);
    } else if (r->state == REQ_QUEUED) {
        /* Interrupted before the writer took it: never sent. */
        q_unlink(c, r);
        req_free(r);
    } else {
        /* Written: its replies will be read and dropped. */
        *unsent = false;
        r->abandoned = true;
        if (r->blocking && !c->err)
            conn_fail(c, -ECONNRESET);
    }
    corio__redis_unref(c);
    return rc < 0 ? rc : 0;
}

/* ---- commands
 * ----------------------------------------------------------------------------
 */

static int finish(int rc, corio_redis_reply **out)
{
    if (rc == 0 && *out && (*out)->type == CORIO_REDIS_ERROR)
        return CORIO_EREDIS;
    return rc;
}

int corio_redis_commandv(corio_redis *c, corio_redis_reply **out,
                         const char *fmt, va_list ap)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!c)
        return -EINVAL;
    if (c->pubsub || c->nchannels || c->npatterns)
        return -EINVAL;
    char *cmd;
    int n = corio__redis_format(&cmd, fmt, ap);
    if (n < 0)
        return n;
    if (corio__redis_is_pubsub(cmd, (size_t)n)) {
        free(cmd); /* its replies are not one per command: use pubsub.c's calls
                    */
        return -EINVAL;
    }
    return finish(
        corio__redis_submit(c, cmd, (size_t)n, 1, REQ_PLAIN, out, NULL), out);
}

int corio_redis_command(corio_redis *c, corio_redis_reply **out,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = corio_redis_commandv(c, out, fmt, ap);
    va_end(ap);
    return rc;
}

int corio_redis_command_argv(corio_redis *c, int argc, const char **argv,
                             const size_t *argvlen, corio_redis_reply **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!c || c->pubsub || c->nchannels || c->npatterns)
        return -EINVAL;
    char *cmd;
    int n = corio__redis_format_argv(&cmd, argc, argv, argvlen);
    if (n < 0)
        return n;
    if (corio__redis_is_pubsub(cmd, (size_t)n)) {
        free(cmd); /* its replies are not one per command: use pubsub.c's calls
                    */
        return -EINVAL;
    }
    return finish(
        corio__redis_submit(c, cmd, (size_t)n, 1, REQ_PLAIN, out, NULL), out);
}
