/* stream/stream.c — corio_stream: buffering, limits and the read forms (some,
 * exactly, until a delimiter, a line) on top of any transport
 * (net/transport.h), plus buffered writes, flush, shutdown and close.
 *
 * Parts:
 *   the read buffer    bytes taken from the transport and not yet given to
 *                      the reader, at rbuf[rlo, rhi).  It grows on demand
 *                      (from RCHUNK, doubling) up to the read_buffer limit,
 *                      so an idle connection holds little memory.
 *   the write buffer   bytes the writer handed over and the transport has
 *                      not taken yet, at wbuf[wlo, whi); at most
 *                      write_buffer bytes except while the unsent tail of a
 *                      large interrupted write is kept (see stream_write).
 *   the busy slots     the task inside a reading call and the task inside a
 *                      writing call (-EBUSY for a second one), which also
 *                      lets close() interrupt them and free the stream once
 *                      they have left.
 *   coalescing         flush does not write: it queues the stream on the
 *                      loop (core/turn.h), which writes the buffer with one
 *                      non-blocking transport call before it next polls, so
 *                      the replies a task produces in one turn leave in one
 *                      syscall.  What the kernel does not take then is
 *                      written by a background task (the flusher), which
 *                      holds the writer slot meanwhile; writing calls wait
 *                      for it.  Transports without try_write (TLS, memory
 *                      pairs, pipes) are flushed at once as before.
 *
 * Cancel safety comes from one rule: bytes move from the read buffer to the
 * caller only in a step that cannot fail, after every suspension of the
 * call is over; and bytes leave the write buffer only as far as the
 * transport reports them written.  A transport call that is interrupted
 * consumes nothing (read) or says how much it wrote (write). */
#include "os/sys.h"
#include "core/loop.h"
#include "core/turn.h"
#include "stream/transport.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUFFER ((size_t)64 * 1024)
#define RCHUNK ((size_t)16 * 1024) /* first read-buffer size */
#define WCHUNK ((size_t)4 * 1024)  /* first write-buffer size */

struct corio_stream {
    corio__transport *t;

    unsigned char *rbuf;
    size_t rcap, rlo, rhi;
    size_t rlimit;
    bool reof; /* the transport reported end of stream (sticky) */

    unsigned char *wbuf;
    size_t wcap, wlo, whi;
    size_t wlimit;
    bool shut; /* shutdown() succeeded: no more writes */

    corio_task *reader, *writer; /* tasks inside a call, per direction */
    bool closing;                /* close() ran while a call was inside */
    int64_t write_timeout;       /* > 0: bound on each transport write */

    corio__turn_hook turn;    /* queued: write the buffer before the poll */
    corio_task *flusher;      /* the background writer, in the writer slot */
    corio_task *flush_waiter; /* a writing call waiting for the flusher */
    int werr;                 /* a deferred send failed: the next flush
                                 writes at once (and reports it), reads
                                 that would wait return it */
};

void corio__stream_set_write_timeout(corio_stream *s, int64_t ns)
{
    s->write_timeout = ns;
}

/* One transport write, bounded by the stream's write timeout if it has
 * one: a peer that stops reading cannot hold the writer forever (nginx's
 * send_timeout). */
static ssize_t twrite(corio_stream *s, const void *buf, size_t n)
{
    if (s->write_timeout <= 0)
        return s->t->ops->write(s->t, buf, n);
    ssize_t rc = corio_timeout_begin(s->write_timeout);
    if (rc < 0)
        return rc;
    rc = s->t->ops->write(s->t, buf, n);
    (void)corio_timeout_end();
    return rc;
}

static int check_opts(const corio_stream_opts *o, size_t *rl, size_t *wl)
{
    *rl = o && o->read_buffer ? o->read_buffer : DEFAULT_BUFFER;
    *wl = o && o->write_buffer ? o->write_buffer : DEFAULT_BUFFER;
    if (*rl > CORIO_STREAM_BUFFER_MAX || *wl > CORIO_STREAM_BUFFER_MAX)
        return -EINVAL;
    return 0;
}

int corio__stream_new(corio_stream **out, corio__transport *t,
                      const corio_stream_opts *o)
{
    size_t rl, wl;
    int rc;

    if (!out || !t) {
        if (out)
            *out = NULL;
        return -EINVAL;
    }
    *out = NULL;
    rc = check_opts(o, &rl, &wl);
    if (rc < 0) {
        t->ops->close(t);
        return rc;
    }
    corio_stream *s = corio__sys.calloc(1, sizeof *s);
    if (!s) {
        t->ops->close(t);
        return -ENOMEM;
    }
    s->t = t;
    s->rlimit = rl;
    s->wlimit = wl;
    *out = s;
    return 0;
}

static void destroy(corio_stream *s)
{
    corio__turn_cancel(&s->turn);
    s->t->ops->close(s->t);
    free(s->rbuf);
    free(s->wbuf);
    free(s);
}

/* ---- entering and leaving a call ---------------------------------------- */

static int enter(corio_stream *s, corio_task **slot)
{
    corio_task *self = corio__self();
    if (!self)
        return -EPERM;
    if (s->closing)
        return -EBADF;
    if (*slot)
        return -EBUSY;
    *slot = self;
    return 0;
}

#define ENTER_READ(s)                                                          \
    do {                                                                       \
        if (!(s))                                                              \
            return -EINVAL;                                                    \
        int e_ = enter((s), &(s)->reader);                                     \
        if (e_ < 0)                                                            \
            return e_;                                                         \
    } while (0)

#define ENTER_WRITE(s)                                                         \
    do {                                                                       \
        if (!(s))                                                              \
            return -EINVAL;                                                    \
        int e_ = enter_write(s);                                               \
        if (e_ < 0)                                                            \
            return e_;                                                         \
    } while (0)

/* A writing call waiting for the flusher (enter_write). */
typedef struct flusher_wait {
    corio__wait w; /* first: the scheduler hands back &w */
    corio_stream *s;
} flusher_wait;

static ssize_t leave(corio_stream *s, corio_task **slot, ssize_t rc);

/* Writing calls wait for the background flusher to finish first: it owns
 * the buffer while the transport holds a pointer into it.  The waiter has
 * a slot of its own (flush_waiter), so a close meanwhile interrupts it and
 * leaves the freeing to it. */
static int enter_write(corio_stream *s)
{
    corio_task *self = corio__self();
    if (s->flusher && self && !s->closing) {
        if (s->flush_waiter)
            return -EBUSY;
        flusher_wait fw = {{NULL, "stream flusher", INT64_MAX}, s};
        s->flush_waiter = self;
        int rc = corio__park(&fw.w);
        if (s->closing)
            rc = -EBADF;
        if (rc < 0)
            return (int)leave(s, &s->flush_waiter, rc);
        s->flush_waiter = NULL;
    }
    return enter(s, &s->writer);
}

/* Leave a call; the last call out of a stream closed meanwhile frees it.
 * Returns rc, so a call ends with `return leave(s, &s->reader, rc);`. */
static ssize_t leave(corio_stream *s, corio_task **slot, ssize_t rc)
{
    *slot = NULL;
    if (s->closing && !s->reader && !s->writer && !s->flush_waiter)
        destroy(s);
    return rc;
}

/* ---- the read buffer ---------------------------------------------------- */

static inline size_t ravail(const corio_stream *s)
{
    return s->rhi - s->rlo;
}

/* Forget the first n buffered bytes.  Cannot fail. */
static void drop(corio_stream *s, size_t n)
{
    s->rlo += n;
    if (s->rlo == s->rhi)
        s->rlo = s->rhi = 0;
}

/* Give the first n buffered bytes to the caller.  Cannot fail. */
static void take(corio_stream *s, void *buf, size_t n)
{
    if (!n)
        return;
    memcpy(buf, s->rbuf + s->rlo, n);
    drop(s, n);
}

/* Read once from the transport into the buffer, first making room for
 * `want` bytes in all (capped at the limit).  Returns the count (> 0), 0 at
 * end of stream (then reof is set), or an error with nothing consumed. */
static ssize_t refill(corio_stream *s, size_t want)
{
    size_t have = ravail(s);
    if (have >= s->rlimit)
        return CORIO_ETOOLONG; /* never: callers stop before the limit */
    if (want > s->rlimit)
        want = s->rlimit;
    if (want <= have)
        want = have + 1; /* callers only refill when they need more */
    if (s->werr)
        return s->werr;
    if (want > s->rcap) {
        size_t cap =
            s->rcap ? s->rcap : (RCHUNK < s->rlimit ? RCHUNK : s->rlimit);
        while (cap < want)
            cap = cap > s->rlimit / 2 ? s->rlimit : cap * 2;
        unsigned char *nb = corio__sys.malloc(cap);
        if (!nb)
            return -ENOMEM;
        if (have)
            memcpy(nb, s->rbuf + s->rlo, have);
        free(s->rbuf);
        s->rbuf = nb;
        s->rcap = cap;
        s->rlo = 0;
        s->rhi = have;
    } else if (s->rlo) {
        /* Slide the unread bytes to the front so the transport can fill
         * the whole free space in one read. */
        memmove(s->rbuf, s->rbuf + s->rlo, have);
        s->rlo = 0;
        s->rhi = have;
    }
    ssize_t got = s->t->ops->read(s->t, s->rbuf + s->rhi, s->rcap - s->rhi);
    if (s->closing)
        return -EBADF;
    if (got > 0)
        s->rhi += (size_t)got;
    else if (got == 0)
        s->reof = true;
    return got;
}

ssize_t corio_stream_read(corio_stream *s, void *buf, size_t n)
{
    ssize_t rc;

    if (s && n && !buf)
        return -EINVAL;
    ENTER_READ(s);
    if (!n)
        return leave(s, &s->reader, 0);
    if (!ravail(s) && !s->reof) {
        if (n >= (RCHUNK < s->rlimit ? RCHUNK : s->rlimit)) {
            /* Nothing buffered and a large read: straight into buf, no copy.
             * A transport read that fails consumes nothing, so this is as
             * cancel-safe as going through the buffer. */
            rc = s->werr ? s->werr : s->t->ops->read(s->t, buf, n);
            if (s->closing)
                rc = -EBADF;
            else if (rc == 0)
                s->reof = true;
            return leave(s, &s->reader, rc);
        }
        rc = refill(s, 1);
        if (rc < 0)
            return leave(s, &s->reader, rc);
    }
    size_t k = ravail(s) < n ? ravail(s) : n;
    take(s, buf, k);
    return leave(s, &s->reader, (ssize_t)k);
}

int corio_stream_read_exactly(corio_stream *s, void *buf, size_t n)
{
    ssize_t rc = 0;

    if (s && n && (!buf || n > s->rlimit))
        return -EINVAL;
    ENTER_READ(s);
    while (ravail(s) < n) {
        if (s->reof) {
            rc = CORIO_EOF;
            break;
        }
        rc = refill(s, n);
        if (rc < 0)
            break;
    }
    if (rc >= 0) {
        take(s, buf, n);
        rc = 0;
    }
    return (int)leave(s, &s->reader, rc);
}

/* read_until's body, inside the reader slot.  With eof_rest, end of stream
 * before a delimiter returns whatever is buffered (read_line's last line). */
static ssize_t until(corio_stream *s, const void *delim, size_t dlen, void *buf,
                     size_t cap, bool eof_rest)
{
    size_t limit = cap < s->rlimit ? cap : s->rlimit;
    size_t from = 0; /* bytes already searched without a match */

    for (;;) {
        size_t have = ravail(s);
        if (have >= dlen) {
            const unsigned char *base = s->rbuf + s->rlo;
            const unsigned char *p =
                memmem(base + from, have - from, delim, dlen);
            if (p) {
                size_t len = (size_t)(p - base) + dlen;
                if (len > limit)
                    return CORIO_ETOOLONG;
                take(s, buf, len);
                return (ssize_t)len;
            }
            from = have - dlen + 1;
        }
        /* A delimiter arriving later would end past `have` bytes. */
        if (have >= limit)
            return CORIO_ETOOLONG;
        if (s->reof) {
            if (!eof_rest)
                return CORIO_EOF;
            take(s, buf, have); /* have < limit <= cap */
            return (ssize_t)have;
        }
        ssize_t rc = refill(s, have + 1 > limit ? limit : have + 1);
        if (rc < 0)
            return rc;
    }
}

ssize_t corio_stream_read_until(corio_stream *s, const void *delim, size_t dlen,
                                void *buf, size_t cap)
{
    if (s && (!delim || !dlen || !buf || cap < dlen || dlen > s->rlimit))
        return -EINVAL;
    ENTER_READ(s);
    ssize_t rc = until(s, delim, dlen, buf, cap, false);
    return leave(s, &s->reader, rc);
}

ssize_t corio_stream_read_line(corio_stream *s, char *buf, size_t cap)
{
    if (s && (!buf || cap < 2))
        return -EINVAL;
    ENTER_READ(s);
    ssize_t rc = until(s, "\n", 1, buf, cap - 1, true);
    if (rc >= 0)
        buf[rc] = '\0';
    return leave(s, &s->reader, rc);
}

int corio_stream_peek(corio_stream *s, const void **data, size_t *len)
{
    if (!s || !data || !len)
        return -EINVAL;
    if (s->reader)
        return -EBUSY;
    /* Before the first read there is no buffer (and NULL + 0 is undefined). */
    *data = s->rbuf ? s->rbuf + s->rlo : (const unsigned char *)"";
    *len = ravail(s);
    return 0;
}

ssize_t corio_stream_fill(corio_stream *s)
{
    ENTER_READ(s);
    ssize_t rc = s->reof ? 0 : refill(s, ravail(s) + 1);
    return leave(s, &s->reader, rc);
}

int corio_stream_consume(corio_stream *s, size_t n)
{
    if (!s || n > ravail(s))
        return -EINVAL;
    if (s->reader)
        return -EBUSY;
    drop(s, n);
    return 0;
}

/* ---- the write buffer --------------------------------------------------- */

/* Append n bytes, growing the buffer to at most max(limit, need).  Returns
 * 0 or -ENOMEM (nothing appended). */
static int append(corio_stream *s, const void *buf, size_t n)
{
    size_t have = s->whi - s->wlo;
    if (s->whi + n > s->wcap) {
        if (have + n > s->wcap) {
            size_t cap =
                s->wcap ? s->wcap : (WCHUNK < s->wlimit ? WCHUNK : s->wlimit);
            while (cap < have + n) /* have + n <= wlimit: see the callers */
                cap = cap > s->wlimit / 2 ? s->wlimit : cap * 2;
            unsigned char *nb = corio__sys.malloc(cap);
            if (!nb)
                return -ENOMEM;
            if (have)
                memcpy(nb, s->wbuf + s->wlo, have);
            free(s->wbuf);
            s->wbuf = nb;
            s->wcap = cap;
        } else {
            memmove(s->wbuf, s->wbuf + s->wlo, have);
        }
        s->wlo = 0;
        s->whi = have;
    }
    memcpy(s->wbuf + s->whi, buf, n);
    s->whi += n;
    return 0;
}

/* The buffer is empty: forget it if it grew past the limit (the tail of a
 * large interrupted write), so the limit bounds memory again. */
static void wreset(corio_stream *s)
{
    s->wlo = s->whi = 0;
    if (s->wcap > s->wlimit) {
        free(s->wbuf);
        s->wbuf = NULL;
        s->wcap = 0;
    }
}

/* Write out the buffer.  What the transport did not take stays buffered. */
static int drain(corio_stream *s)
{
    while (s->whi > s->wlo) {
        ssize_t put = twrite(s, s->wbuf + s->wlo, s->whi - s->wlo);
        if (s->closing)
            return -EBADF;
        if (put < 0)
            return (int)put;
        if (put == 0)
            return -EIO; /* a transport must not take nothing and succeed */
        s->wlo += (size_t)put;
    }
    wreset(s);
    return 0;
}

int corio_stream_write(corio_stream *s, const void *buf, size_t n)
{
    int rc;

    if (s && n && !buf)
        return -EINVAL;
    ENTER_WRITE(s);
    if (s->shut)
        return (int)leave(s, &s->writer, -EPIPE);
    if (!n)
        return (int)leave(s, &s->writer, 0);
    if (s->whi - s->wlo + n <= s->wlimit)
        return (int)leave(s, &s->writer, append(s, buf, n));
    rc = drain(s);
    if (rc < 0)
        return (int)leave(s, &s->writer, rc);
    if (n <= s->wlimit)
        return (int)leave(s, &s->writer, append(s, buf, n));

    /* Larger than the whole buffer: write straight from buf.  If that is
     * interrupted part way, the unsent tail is kept in the buffer (beyond
     * the limit until flushed), so the call still takes all of buf or none
     * of it.  The room for that tail is reserved first: afterwards nothing
     * can fail.  (Large allocations are mmapped; untouched pages cost
     * nothing.) */
    unsigned char *spare = corio__sys.malloc(n);
    if (!spare)
        return (int)leave(s, &s->writer, -ENOMEM);
    free(s->wbuf);
    s->wbuf = spare;
    s->wcap = n;
    s->wlo = s->whi = 0;
    ssize_t put = twrite(s, buf, n);
    if (s->closing)
        return (int)leave(s, &s->writer, -EBADF);
    if (put <= 0) {
        wreset(s);
        return (int)leave(s, &s->writer, put < 0 ? put : -EIO);
    }
    if ((size_t)put < n) {
        memcpy(s->wbuf, (const unsigned char *)buf + put, n - (size_t)put);
        s->whi = n - (size_t)put;
        /* The interruption (or error) is reported by the next flush. */
    } else {
        wreset(s);
    }
    return (int)leave(s, &s->writer, 0);
}

/* A deferred send failed (or could not be handed to a flusher): the data
 * stays buffered, the next flush writes at once and reports the error, and
 * reads that would wait fail with it (the task flushed and may now wait
 * for an answer that cannot come), the one under way at once. */
static void deferred_failed(corio_stream *s, int err)
{
    s->werr = err;
    if (s->reader && s->reader->state == CORIO__PARKED)
        corio__interrupt(s->reader, err);
}

/* The background flusher: writes what the kernel did not take at the end
 * of a turn, suspending as a writing call does, in the writer slot it was
 * given at spawn.  A close meanwhile lets it finish; the last one out
 * frees the stream. */
static int flusher_main(void *arg)
{
    corio_stream *s = arg;
    ssize_t put = 1;
    while (s->whi > s->wlo &&
           (put = twrite(s, s->wbuf + s->wlo, s->whi - s->wlo)) > 0)
        s->wlo += (size_t)put;
    s->flusher = NULL;
    if (s->whi > s->wlo)
        deferred_failed(s, put < 0 ? (int)put : -EIO);
    else
        wreset(s);
    if (s->flush_waiter)
        corio__wake(s->flush_waiter, 0);
    (void)leave(s, &s->writer, 0);
    return 0;
}

/* The loop's hook before it polls: write the buffer without suspending.
 * What the kernel does not take goes to a flusher task; an error makes the
 * next flush synchronous, so that it reports the error. */
static void turn_write(corio__turn_hook *h)
{
    corio_stream *s =
        (corio_stream *)((char *)h - offsetof(corio_stream, turn));
    if (s->writer)
        return; /* a writing call under way writes the buffer itself */
    while (s->whi > s->wlo) {
        ssize_t put =
            s->t->ops->try_write(s->t, s->wbuf + s->wlo, s->whi - s->wlo);
        if (put > 0) {
            s->wlo += (size_t)put;
            continue;
        }
        corio_task_opts o = {.name = "stream flusher"};
        corio_task *t;
        if (put == -EAGAIN && !corio__cur->stopping &&
            (put = corio__spawn(&t, &o, flusher_main, s, CORIO__DETACHED)) == 0)
            s->flusher = s->writer = t;
        else
            deferred_failed(s, (int)put);
        return;
    }
    wreset(s);
}

int corio_stream_flush(corio_stream *s)
{
    ENTER_WRITE(s);
    size_t have = s->whi - s->wlo;
    if (have && have <= s->wlimit && s->t->ops->try_write && !s->werr) {
        s->turn.run = turn_write;
        corio__turn_defer(corio__cur, &s->turn);
        return (int)leave(s, &s->writer, 0);
    }
    int rc = drain(s);
    if (rc == 0)
        s->werr = 0;
    return (int)leave(s, &s->writer, rc);
}

int corio_stream_shutdown(corio_stream *s)
{
    ENTER_WRITE(s);
    if (s->shut)
        return (int)leave(s, &s->writer, 0);
    int rc = drain(s);
    if (rc == 0) {
        rc = s->t->ops->shutdown(s->t);
        if (s->closing)
            rc = -EBADF;
        else if (rc == 0)
            s->shut = true;
    }
    return (int)leave(s, &s->writer, rc);
}

void corio_stream_close(corio_stream *s)
{
    if (!s || s->closing)
        return;
    if (s->turn.pprev) {
        /* Flushed this turn and not written yet: write it now, or leave
         * it to a flusher, which frees the stream once done. */
        corio__turn_cancel(&s->turn);
        turn_write(&s->turn);
    }
    if (!s->reader && !s->writer && !s->flush_waiter) {
        destroy(s);
        return;
    }
    /* Another task is inside a call on s (its own misuse of the handle to
     * come, unless it gets out now): interrupt it, so that call returns
     * -EBADF and the last one out frees the stream.  A task already woken
     * sees `closing` after its transport call returns. */
    s->closing = true;
    corio_task *r = s->reader, *w = s->writer, *fw = s->flush_waiter;
    if (r && r->state == CORIO__PARKED)
        corio__interrupt(r, -EBADF);
    if (w && w != r && w != s->flusher && w->state == CORIO__PARKED)
        corio__interrupt(w, -EBADF);
    if (fw && fw->state == CORIO__PARKED)
        corio__interrupt(fw, -EBADF);
}

int corio_stream_fd(const corio_stream *s)
{
    return s ? s->t->ops->fd(s->t) : -1;
}

corio__transport *corio__stream_transport(const corio_stream *s)
{
    return s ? s->t : NULL;
}
