/* fetch.h — the parts of corio-fetch, a concurrent URL fetcher built on
 * corio's HTTP client session:
 *   args.c      command line and URL lists (pure: no I/O beyond a FILE *).
 *   retry.c     which failures are retried, the backoff schedule, error kinds.
 *   stats.c     results: status and error counts, exact latency percentiles,
 *               the summary.
 *   report.c    one JSON line per URL (jansson).
 *   progress.c  the progress bar (terminal) or plain progress lines.
 *   run.c       the fetch itself: workers, rate limiter, retries, one shared
 *               pooled session.
 *   demo.c      the embedded demo server and its deterministic URL mix.
 *   main.c      ties them together.
 * All but main.c are also compiled into the test runner: the pure parts
 * are checked by tests/test_fetch_tool.c, the runner and the demo server
 * end to end by tests/test_fetch_run.c; tests/check_fetch.sh runs the
 * binary. */
#ifndef CORIO_FETCH_H
#define CORIO_FETCH_H

#include <corio.h>
#include <corio/http_client.h>
#include <stdint.h>
#include <stdio.h>

/* ---- args.c ----------------------------------------------------------------
 */

/* Everything the command line says.  Times are nanoseconds. */
struct fetch_opts {
    int concurrency; /* -c N: requests in flight at most (default 10) */
    double rate;     /* --rate N/s: request starts per second (0: none) */
    int64_t
        timeout_ns; /* --timeout SECONDS: per request in all (default 30 s) */
    int retries;    /* --retries N: extra attempts when retryable (default 0) */
    int json;       /* --json: one JSON line per URL on stdout */
    int quiet;      /* -q: no progress, no per-URL failure lines */
    int verbose;    /* -v: one plain line per URL on stdout */
    int demo;       /* --demo [N]: run against the embedded server */
    int demo_count; /* N for --demo (default 1000) */
    const char *input; /* -i FILE ("-": stdin) */
    const char *outdir; /* -o DIR: bodies saved as DIR/1, DIR/2, ... */
    /* Which options were given, so --demo can pick its own defaults for the
     * others. */
    unsigned given;
    char **urls; /* URLs from the arguments (borrowed from argv) */
    int nurls;
};

#define FETCH_GIVEN_CONCURRENCY 0x1u
#define FETCH_GIVEN_RATE 0x2u
#define FETCH_GIVEN_TIMEOUT 0x4u
#define FETCH_GIVEN_RETRIES 0x8u

/* Results of fetch_args_parse besides 0. */
#define FETCH_ARGS_HELP 1 /* --help: print fetch_usage and exit 0 */

/* Parse argv into *o (urls point into argv).  Returns 0, FETCH_ARGS_HELP,
 * or -EINVAL with a message in err[0..errlen). */
int fetch_args_parse(struct fetch_opts *o, int argc, char **argv, char *err,
                     size_t errlen);

/* Print the --help text. */
void fetch_usage(FILE *out);

/* A growing list of URLs (owned copies). */
struct fetch_urls {
    char **v;
    size_t n, cap;
};

/* Append a copy of url.  Returns 0 or -ENOMEM. */
int fetch_urls_add(struct fetch_urls *l, const char *url);

/* Append every URL of in, one per line: surrounding blanks trimmed, blank
 * lines and lines starting with '#' skipped.  Returns how many were added,
 * or -ENOMEM, -EIO (a read error). */
int fetch_urls_read(struct fetch_urls *l, FILE *in);

/* Free the list's copies (the struct itself is the caller's). */
void fetch_urls_free(struct fetch_urls *l);

/* ---- retry.c ---------------------------------------------------------------
 */

/* How a URL ended, for the summary and --json. */
enum fetch_kind {
    FETCH_OK,        /* an HTTP response (any status) */
    FETCH_TIMEOUT,   /* -ETIMEDOUT */
    FETCH_REFUSED,   /* -ECONNREFUSED */
    FETCH_CONNECT,   /* other connect errors: unreachable, reset, ... */
    FETCH_DNS,       /* CORIO_ENOHOST, CORIO_EDNS */
    FETCH_TLS,       /* CORIO_ETLS, CORIO_ECERT */
    FETCH_PROTOCOL,  /* CORIO_EHTTP, CORIO_EOF, header limits, body limit */
    FETCH_REDIRECTS, /* CORIO_EREDIRECTS */
    FETCH_URL,       /* CORIO_EURL */
    FETCH_OTHER,     /* anything else (-ENOMEM, -EMFILE, ...) */
    FETCH_NKINDS
};

/* The kind of error err (< 0), or FETCH_OK for err >= 0. */
enum fetch_kind fetch_error_kind(int err);

/* The kind's name in the summary and JSON ("timeout", "refused", ...). */
const char *fetch_kind_name(enum fetch_kind k);

/* Should an attempt that ended with err (< 0) or, when err == 0, with HTTP
 * status be tried again?  Connect errors, temporary DNS failures, timeouts,
 * a connection closed mid-response, and statuses 429, 502, 503, 504. */
int fetch_retryable(int err, int status);

/* Backoff before retry number `retry` (1 for the first retry): exponential
 * from base_ns (base, 2 base, 4 base, ...) capped at cap_ns, with "equal
 * jitter": half of it fixed, the other half scaled by jitter in [0, 1).
 * So the wait is in [d/2, d) for the exponential d. */
int64_t fetch_backoff_ns(int retry, int64_t base_ns, int64_t cap_ns,
                         double jitter);

/* A Retry-After value in seconds ("120"): its nanoseconds, capped at cap_ns,
 * or -1 when v is NULL or not a number of seconds (HTTP dates are not
 * honoured; the backoff applies). */
int64_t fetch_retry_after_ns(const char *v, int64_t cap_ns);

/* ---- stats.c ---------------------------------------------------------------
 */

/* One URL's outcome. */
struct fetch_result {
    const char *url; /* borrowed from the URL list */
    int status;      /* HTTP status of the last attempt, 0 if none */
    int err;         /* 0, or the error of the last attempt */
    uint64_t bytes;  /* body bytes of the last attempt (decoded) */
    int64_t ns;      /* time from the first attempt's start to the end */
    int attempts;    /* attempts made (1 + retries) */
};

/* A failure in the sense of the exit status: an error, or a status that is
 * not 2xx or 3xx. */
int fetch_result_failed(const struct fetch_result *r);

struct fetch_stats {
    size_t total;             /* URLs to fetch */
    size_t done;              /* URLs finished */
    size_t failed;            /* of which fetch_result_failed */
    size_t errors;            /* of which ended with an error (no response) */
    size_t attempts;          /* attempts in all */
    uint64_t bytes;           /* body bytes in all */
    size_t status_class[6];   /* [1]..[5]: 1xx..5xx */
    size_t status_code[1000]; /* per status code */
    size_t kind[FETCH_NKINDS];
    int64_t *latency; /* ns of each finished URL, in finishing order */
    int64_t start_ns; /* when fetching began */
};

/* Prepare for total URLs starting at start_ns.  Returns 0 or -ENOMEM. */
int fetch_stats_init(struct fetch_stats *s, size_t total, int64_t start_ns);

/* Count one finished URL. */
void fetch_stats_add(struct fetch_stats *s, const struct fetch_result *r);

/* The exact p-th percentile (0 <= p <= 100, nearest rank) of n values
 * already sorted ascending; 0 for n == 0. */
int64_t fetch_percentile(const int64_t *sorted, size_t n, double p);

/* Print the summary (status counts, error kinds, bytes, latency
 * p50/p90/p99/max, requests per second, wall time) as of now_ns.  Sorts the
 * latencies in place. */
void fetch_stats_print(struct fetch_stats *s, FILE *out, int64_t now_ns);

void fetch_stats_destroy(struct fetch_stats *s);

/* ---- report.c --------------------------------------------------------------
 */

/* Write r as one JSON line: {"url", "status", "bytes", "ms", "attempts",
 * "error"} (status null without a response; error null, or the kind's name
 * and corio_strerror's message).  Returns 0 or -ENOMEM, -EIO. */
int fetch_report_json(FILE *out, const struct fetch_result *r);

/* ---- progress.c ------------------------------------------------------------
 */

/* Format the progress line for s as of now_ns into buf: with bar != 0 a
 * bar of `width` cells ("[#####.....] 500/1000 50% 812 req/s 3 errors"),
 * else a plain line ("500/1000 done, 812 req/s, 3 failed").  Returns the
 * length written (truncated to cap - 1). */
int fetch_progress_format(char *buf, size_t cap, const struct fetch_stats *s,
                          int64_t now_ns, int bar, int width);

/* The progress display: a task redraws the bar at most 10 times a second
 * on a terminal, or prints a plain line each second otherwise, until
 * fetch_progress_stop. */
struct fetch_progress {
    struct fetch_stats *stats;
    FILE *out;
    int tty;   /* out is a terminal: redraw in place */
    int drawn; /* a bar is on the screen (to clear before other lines) */
    corio_task *task;
};

/* Start the display on out for s.  Returns 0 or a spawn error. */
int fetch_progress_start(struct fetch_progress *p, struct fetch_stats *s,
                         FILE *out);

/* Clear the bar (if drawn) so a line can be printed above it. */
void fetch_progress_clear(struct fetch_progress *p);

/* Stop the task and draw the final state (a finished bar, or a last plain
 * line). */
void fetch_progress_stop(struct fetch_progress *p);

/* ---- run.c -----------------------------------------------------------------
 */

/* What a run needs besides the options. */
struct fetch_run {
    const struct fetch_opts *opts;
    char **urls;
    size_t nurls;
    struct fetch_result *results; /* nurls of them, filled in */
    struct fetch_stats stats;
    int64_t backoff_base_ns; /* first retry's backoff (default 100 ms) */
    int64_t backoff_cap_ns;  /* longest backoff (default 5 s) */
    /* Called after each URL finishes (NULL: nothing). */
    void (*on_result)(struct fetch_run *run, const struct fetch_result *r);
    void *arg;
    /* Private to run.c. */
    size_t next;                 /* the next URL a worker takes */
    corio_http_session *session; /* shared by every worker */
    corio_limiter *limiter;      /* --rate, or NULL */
    uint64_t rng;                /* jitter */
};

/* Fetch every URL with opts' concurrency, rate, timeout and retries through
 * one shared session; results and statistics in run.  Returns 0 (whatever
 * the URLs' outcomes) or an error that stopped the run (-ENOMEM,
 * -ECANCELED). */
int fetch_run_all(struct fetch_run *run);

/* ---- demo.c ----------------------------------------------------------------
 */

struct fetch_demo;

/* Start the demo server on 127.0.0.1 (port 0) in a task of the calling
 * loop.  Returns 0 and *out, or an error. */
int fetch_demo_start(struct fetch_demo **out);

/* The demo's i-th URL (a deterministic mix of the endpoints), written into
 * buf. */
void fetch_demo_url(const struct fetch_demo *d, size_t i, char *buf,
                    size_t cap);

/* Does result r match what the endpoint of demo URL i is meant to give
 * with options o (200 for fast ones, 404 for /fail/404, a timeout after
 * every attempt for /hang, ...)? */
int fetch_demo_expected(size_t i, const struct fetch_result *r,
                        const struct fetch_opts *o);

/* Stop the server and free d. */
void fetch_demo_stop(struct fetch_demo *d);

#endif
