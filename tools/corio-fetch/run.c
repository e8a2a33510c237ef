/* run.c — the fetch itself (fetch_run_all): `concurrency` worker tasks in a
 * group take the URLs in order from a shared index (the loop is one thread,
 * so the index needs no lock), and for each URL:
 *
 *   take a token from the rate limiter (--rate) ............ corio_limiter
 *   open a timeout scope of --timeout ...................... corio_timeout_*
 *     send the request through the one shared, pooled session (its dial
 *     applies --resolve and the TLS trust options, and keeps the TLS
 *     failure's reason) .................................... corio_http_session
 *     read the body to the end (counted; kept with -o / -O)
 *   close the scope
 *   retryable failure and attempts left?  sleep the backoff (or the
 *   server's Retry-After for 429) and go again
 *
 * A URL's failure is recorded in its result and never stops the others
 * (asyncio's gather(return_exceptions=True)); only cancellation of the
 * whole run (Ctrl-C) or running out of memory does.  The number of workers
 * is the concurrency limit: the semaphore of the seeds, without a task per
 * URL waiting on it.
 *
 * Load mode (-n, -z) runs the same loop on one URL: the workers count
 * requests instead of taking URLs, keep only the statistics, and with -z a
 * timer task in the group cancels it at the deadline (the requests then in
 * flight are counted as cancelled, not as failures). */
#include "fetch.h"

#include <corio/file.h>
#include <corio/net.h>
#include <corio/tls.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Open the file a body is saved in: -o DIR/N, or with -O the URL's last
 * path segment (in -o DIR or here; N when the URL has none).  Truncated:
 * a retry starts it again. */
static int open_output(struct fetch_run *run, size_t i, corio_file **out)
{
    char path[4096], name[1024];
    const char *dir = run->opts->outdir ? run->opts->outdir : ".";
    name[0] = 0;
    if (run->opts->remote_name)
        fetch_remote_name(run->urls[i], name, sizeof name);
    if (!name[0])
        snprintf(name, sizeof name, "%zu", i + 1);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return -ENAMETOOLONG;
    return corio_file_open(out, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

/* The session's dial: TCP to the URL's host (or to --resolve's address for
 * its host and port), then TLS with the run's context, verifying the URL's
 * host name.  A TLS failure's reason (corio_tls_opts.detail) is kept for
 * the task that dialled: a dial function gets no corio_error_detail from
 * the request, and nothing suspends between here and
 * corio_http_session_send returning to that task, so the text cannot be
 * another task's. */
static int dial(corio_stream **out, const corio_url *u, void *arg)
{
    struct fetch_run *run = arg;
    const struct fetch_opts *o = run->opts;
    char host[256];
    const char *to = host;
    corio_stream *t;
    int rc;

    *out = NULL;
    if (u->host.n >= sizeof host)
        return CORIO_EURL;
    memcpy(host, u->host.p, u->host.n);
    host[u->host.n] = 0;
    for (int k = 0; k < o->nresolve; k++)
        if (o->resolve[k].port == u->port &&
            strcasecmp(o->resolve[k].host, host) == 0) {
            to = o->resolve[k].addr;
            break;
        }
    if ((rc = corio_tcp_connect(&t, to, u->port)) < 0)
        return rc;
    if (!u->tls) {
        *out = t;
        return 0;
    }
    corio_error_detail why;
    corio_tls_opts tl = {0};
    tl.ctx = run->tls;
    tl.server_name = host;
    tl.detail = &why;
    why.text[0] = 0;
    rc = corio_tls_client(out, t, &tl);
    if (rc == CORIO_ECERT || rc == CORIO_ETLS) {
        snprintf(run->tls_reason, sizeof run->tls_reason, "%s", why.text);
        run->tls_reason_task = corio_task_current();
    }
    return rc;
}

/* One attempt: send the request for URL i and read the whole body (saved
 * with -o or -O).  Returns 0 with *status and *bytes, or the error;
 * *retry_after_ns is the Retry-After header (or -1). */
static int attempt(struct fetch_run *run, size_t i, struct fetch_result *r,
                   int64_t *retry_after_ns)
{
    const struct fetch_opts *o = run->opts;
    corio_http_request req = {
        .method = o->method,
        .url = run->urls[i],
        .headers = run->headers,
        .body = o->has_body ? o->body : NULL,
        .body_len = o->has_body ? o->body_len : 0,
        .flags = o->no_compressed ? CORIO_HTTP_NO_DECOMPRESS : 0,
    };
    corio_http_response *resp = NULL;
    corio_file *out = NULL;
    int rc;

    r->status = 0;
    r->bytes = 0;
    r->detail = NULL;
    *retry_after_ns = -1;
    /* The scope bounds the whole attempt, body included, whatever the
     * session's own timeouts are. */
    rc = corio_timeout_begin(o->timeout_ns);
    if (rc < 0)
        return rc;
    run->tls_reason_task = NULL;
    rc = corio_http_session_send(run->session, &req, &resp);
    if ((rc == CORIO_ECERT || rc == CORIO_ETLS) &&
        run->tls_reason_task == corio_task_current() && run->tls_reason[0])
        r->detail = fetch_stats_reason(&run->stats, run->tls_reason);
    if (rc == 0) {
        r->status = corio_http_response_status(resp);
        *retry_after_ns = fetch_retry_after_ns(
            corio_http_response_header(resp, "Retry-After"),
            RETRY_AFTER_CAP_NS);
        if (o->outdir || o->remote_name)
            rc = open_output(run, i, &out);
        if (rc == 0)
            rc = drain(resp, out, &r->bytes);
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

/* Fetch URL i (attempts, backoffs) into r.  Returns 0, or -ECANCELED when
 * the run is being stopped (r is then not finished). */
static int fetch_one(struct fetch_run *run, size_t i, struct fetch_result *r)
{
    int64_t start = -1; /* not started */
    int rc = 0;

    r->url = run->urls[i];
    r->err = 0;
    r->attempts = 0;
    r->detail = NULL;
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
        rc = attempt(run, i, r, &retry_after);
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
        r->status = 0;
        r->bytes = 0;
        run->stats.cancelled++;
        return rc;
    }
    r->state = 2;
    run->stats.inflight--;
    if (fetch_stats_add(&run->stats, r) < 0)
        return -ENOMEM;
    if (run->on_result)
        run->on_result(run, r);
    return 0;
}

/* List mode: take URLs in order until none is left. */
static int worker(void *arg)
{
    struct fetch_run *run = arg;
    while (run->next < run->nurls) {
        size_t i = run->next++;
        run->results[i].state = 1;
        run->stats.inflight++;
        int rc = fetch_one(run, i, &run->results[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Load mode: the one URL again and again, -n times in all or until -z's
 * deadline (when the timer cancels the group). */
static int load_worker(void *arg)
{
    struct fetch_run *run = arg;
    const struct fetch_opts *o = run->opts;
    struct fetch_result r;
    int rc = 0;
    while (!run->deadline_hit &&
           (o->count == 0 || run->next < (size_t)o->count)) {
        run->next++;
        memset(&r, 0, sizeof r);
        r.state = 1;
        run->stats.inflight++;
        if ((rc = fetch_one(run, 0, &r)) < 0)
            break;
    }
    /* The last worker out ends a run that also has a deadline: the timer
     * is not waited out. */
    if (--run->workers_left == 0 && o->duration_ns && rc == 0) {
        run->deadline_hit = 1;
        corio_group_cancel(run->group);
    }
    return rc == -ECANCELED && run->deadline_hit ? 0 : rc;
}

static int deadline_task(void *arg)
{
    struct fetch_run *run = arg;
    int rc = corio_sleep(run->opts->duration_ns);
    if (rc < 0)
        return rc == -ECANCELED ? 0 : rc;
    run->deadline_hit = 1;
    corio_group_cancel(run->group);
    return 0;
}

/* The request's header list: -H's pairs, then Content-Type for a body
 * (unless -H gave one) and Accept for --json-body. */
static int build_headers(struct fetch_run *run)
{
    const struct fetch_opts *o = run->opts;
    size_t n = 2 * o->nheaders;
    const char **h = calloc(n + 5, sizeof *h);
    if (!h)
        return -ENOMEM;
    for (size_t k = 0; k < n; k++)
        h[k] = o->headers[k];
    if (o->has_body && o->body_type && !(o->given & FETCH_GIVEN_CONTENT_TYPE)) {
        h[n++] = "Content-Type";
        h[n++] = o->body_type;
    }
    if (o->json_body) {
        int has_accept = 0;
        for (size_t k = 0; k < 2 * o->nheaders; k += 2)
            if (strcasecmp(o->headers[k], "Accept") == 0)
                has_accept = 1;
        if (!has_accept) {
            h[n++] = "Accept";
            h[n++] = "application/json";
        }
    }
    h[n] = NULL;
    run->headers = h;
    return 0;
}

int fetch_run_all(struct fetch_run *run)
{
    const struct fetch_opts *o = run->opts;
    corio_http_session_opts so = {
        /* The pool holds one connection per worker at most. */
        .max_connections = (size_t)o->concurrency,
        .user_agent =
            o->user_agent ? o->user_agent : "corio-fetch/" CORIO_FETCH_VERSION,
        .max_redirects = o->max_redirs > 0 ? o->max_redirs : -1,
        .dial = dial,
        .dial_arg = run,
    };
    int rc;

    if (!run->backoff_base_ns)
        run->backoff_base_ns = 100 * CORIO_MS;
    if (!run->backoff_cap_ns)
        run->backoff_cap_ns = 5 * CORIO_SECOND;
    run->rng = (uint64_t)corio_now() | 1;
    run->next = 0;
    run->limiter = NULL;
    run->session = NULL;
    run->tls = NULL;
    run->headers = NULL;
    run->group = NULL;
    run->deadline_hit = 0;
    run->stats.load = o->load;
    run->stats.duration_ns = o->duration_ns;

    if ((rc = build_headers(run)) < 0)
        return rc;
    if (o->cacert || o->capath || o->insecure) {
        corio_error_detail why = {{0}};
        corio_tls_config tc = {
            .ca_file = o->cacert,
            .ca_dir = o->capath,
            .flags = o->insecure ? CORIO_TLS_NO_VERIFY : 0,
            .detail = &why,
        };
        if ((rc = corio_tls_ctx_new(&run->tls, CORIO_TLS_CLIENT, &tc)) < 0) {
            fprintf(stderr, "corio-fetch: TLS: %s\n",
                    why.text[0] ? why.text : corio_strerror(rc));
            goto out;
        }
        so.tls = run->tls;
    }
    if ((rc = corio_http_session_new(&run->session, &so)) < 0)
        goto out;
    if (o->rate > 0) {
        /* A burst of a tenth of a second's worth (at least 1) smooths the
         * start without letting the rate be exceeded over any second. */
        int64_t burst = (int64_t)(o->rate / 10);
        if ((rc = corio_limiter_new(&run->limiter, o->rate,
                                    burst < 1 ? 1 : burst)) < 0)
            goto out;
    }
    if ((rc = corio_group_new(&run->group)) < 0)
        goto out;
    size_t nworkers = (size_t)o->concurrency;
    if (!o->load && nworkers > run->nurls)
        nworkers = run->nurls;
    run->workers_left = (int)nworkers;
    for (size_t w = 0; w < nworkers && rc == 0; w++)
        rc = corio_group_spawn(run->group, o->load ? load_worker : worker, run);
    if (rc == 0 && o->load && o->duration_ns)
        rc = corio_group_spawn(run->group, deadline_task, run);
    int wrc = corio_group_wait(run->group);
    run->group = NULL;
    /* The end of -z cancels the group on purpose: not an error, unless the
     * caller itself is being cancelled (Ctrl-C), which a yield reports
     * (cancellation is level-triggered). */
    if (wrc == -ECANCELED && run->deadline_hit && corio_yield() == 0)
        wrc = 0;
    if (rc == 0)
        rc = wrc;
out:
    corio_limiter_free(run->limiter);
    run->limiter = NULL;
    corio_http_session_free(run->session);
    run->session = NULL;
    corio_tls_ctx_free(run->tls);
    run->tls = NULL;
    free(run->headers);
    run->headers = NULL;
    return rc;
}
