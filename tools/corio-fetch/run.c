/* run.c — the fetch itself (fetch_run_all): `concurrency` worker tasks in a
 * group take the URLs in order from a shared index (the loop is one thread,
 * so the index needs no lock), and for each URL:
 *
 *   take a token from the rate limiter (--rate) ............ corio_limiter
 *   open a timeout scope of --timeout ...................... corio_timeout_*
 *     send the GET through the one shared, pooled session .. corio_http_session
 *     read the body to the end (counted, not kept)
 *   close the scope
 *   retryable failure and attempts left?  sleep the backoff (or the
 *   server's Retry-After for 429) and go again
 *
 * A URL's failure is recorded in its result and never stops the others
 * (asyncio's gather(return_exceptions=True)); only cancellation of the
 * whole run (Ctrl-C) or running out of memory does.  The number of workers
 * is the concurrency limit: the semaphore of the seeds, without a task per
 * URL waiting on it. */
#include "fetch.h"

#include <corio/file.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_AFTER_CAP_NS                                                     \
    (60 * CORIO_SECOND) /* longest Retry-After honoured */

/* xorshift64*: jitter only needs to be spread, not secret. */
static double jitter(struct fetch_run *run)
{
    uint64_t x = run->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    run->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* Read the rest of resp's body, counting it in *bytes and, when out is not
 * NULL, writing it there (on the file pool: the loop does not block on the
 * disk).  Returns 0 or the first read or write error. */
static int drain(corio_http_response *resp, corio_file *out, uint64_t *bytes)
{
    char buf[16384]; /* on this task's stack: other workers write theirs */
    ssize_t n;
    while ((n = corio_http_response_read(resp, buf, sizeof buf)) > 0) {
        *bytes += (uint64_t)n;
        if (out) {
            ssize_t w = corio_file_write(out, buf, (size_t)n);
            if (w < n) /* a short count: interrupted after some progress */
                return w < 0 ? (int)w : -EIO;
        }
    }
    return n < 0 ? (int)n : 0;
}

/* Open -o's file for URL i (truncated: a retry starts it again). */
static int open_output(struct fetch_run *run, size_t i, corio_file **out)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%zu", run->opts->outdir,
                         i + 1) >= sizeof path)
        return -ENAMETOOLONG;
    return corio_file_open(out, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

/* One attempt: GET URL i and read the whole body (saved with -o).  Returns
 * 0 with *status and *bytes, or the error; *retry_after_ns is the
 * Retry-After header (or -1). */
static int attempt(struct fetch_run *run, size_t i, int *status,
                   uint64_t *bytes, int64_t *retry_after_ns)
{
    corio_http_request req = {.url = run->urls[i]};
    corio_http_response *resp = NULL;
    corio_file *out = NULL;
    int rc;

    *status = 0;
    *bytes = 0;
    *retry_after_ns = -1;
    /* The scope bounds the whole attempt, body included, whatever the
     * session's own timeouts are. */
    rc = corio_timeout_begin(run->opts->timeout_ns);
    if (rc < 0)
        return rc;
    rc = corio_http_session_send(run->session, &req, &resp);
    if (rc == 0) {
        *status = corio_http_response_status(resp);
        *retry_after_ns = fetch_retry_after_ns(
            corio_http_response_header(resp, "Retry-After"),
            RETRY_AFTER_CAP_NS);
        if (run->opts->outdir)
            rc = open_output(run, i, &out);
        if (rc == 0)
            rc = drain(resp, out, bytes);
        if (out) {
            int crc = corio_file_close(out);
            if (rc == 0)
                rc = crc;
        }
        corio_http_response_free(resp);
    }
    int end = corio_timeout_end();
    return rc < 0 ? rc : end;
}

static int fetch_one(struct fetch_run *run, size_t i)
{
    struct fetch_result *r = &run->results[i];
    int64_t start = -1; /* not started */
    int rc = 0;

    r->url = run->urls[i];
    for (int n = 1;; n++) {
        int64_t retry_after;
        if (run->limiter && (rc = corio_limiter_acquire(run->limiter, 1)) < 0)
            break;
        /* The latency counts from the first attempt's start: waiting for the
         * rate limiter's first token is the tool's doing, not the server's;
         * backoffs and later tokens are part of what the URL cost. */
        if (n == 1)
            start = corio_now();
        r->attempts = n;
        rc = attempt(run, i, &r->status, &r->bytes, &retry_after);
        r->err = rc < 0 ? rc : 0;
        if (rc == -ECANCELED || n > run->opts->retries ||
            !fetch_retryable(rc, r->status))
            break;
        int64_t wait = fetch_backoff_ns(n, run->backoff_base_ns,
                                        run->backoff_cap_ns, jitter(run));
        if (rc == 0 && r->status == 429 && retry_after >= 0)
            wait = retry_after;
        if ((rc = corio_sleep(wait)) < 0)
            break;
    }
    r->ns = start >= 0 ? corio_now() - start : 0;
    if (rc == -ECANCELED) {
        /* The run was stopped: this URL was not finished, say so. */
        r->err = rc;
        return rc;
    }
    fetch_stats_add(&run->stats, r);
    if (run->on_result)
        run->on_result(run, r);
    return 0;
}

static int worker(void *arg)
{
    struct fetch_run *run = arg;
    while (run->next < run->nurls) {
        int rc = fetch_one(run, run->next++);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int fetch_run_all(struct fetch_run *run)
{
    const struct fetch_opts *o = run->opts;
    corio_http_session_opts so = {
        /* The pool holds one connection per worker at most. */
        .max_connections = (size_t)o->concurrency,
        .user_agent = "corio-fetch/" CORIO_FETCH_VERSION,
    };
    corio_group *g = NULL;
    int rc;

    if (!run->backoff_base_ns)
        run->backoff_base_ns = 100 * CORIO_MS;
    if (!run->backoff_cap_ns)
        run->backoff_cap_ns = 5 * CORIO_SECOND;
    run->rng = (uint64_t)corio_now() | 1;
    run->next = 0;
    run->limiter = NULL;
    run->session = NULL;

    if ((rc = corio_http_session_new(&run->session, &so)) < 0)
        return rc;
    if (o->rate > 0) {
        /* A burst of a tenth of a second's worth (at least 1) smooths the
         * start without letting the rate be exceeded over any second. */
        int64_t burst = (int64_t)(o->rate / 10);
        if ((rc = corio_limiter_new(&run->limiter, o->rate,
                                    burst < 1 ? 1 : burst)) < 0)
            goto out;
    }
    if ((rc = corio_group_new(&g)) < 0)
        goto out;
    size_t nworkers = (size_t)o->concurrency;
    if (nworkers > run->nurls)
        nworkers = run->nurls;
    for (size_t w = 0; w < nworkers && rc == 0; w++)
        rc = corio_group_spawn(g, worker, run);
    int wrc = corio_group_wait(g);
    if (rc == 0)
        rc = wrc;
out:
    corio_limiter_free(run->limiter);
    run->limiter = NULL;
    corio_http_session_free(run->session);
    run->session = NULL;
    return rc;
}
