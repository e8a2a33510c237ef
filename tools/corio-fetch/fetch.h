/* fetch.h — the parts of corio-fetch, a concurrent URL fetcher built on
 * corio's HTTP client session:
 *   args.c      command line and URL lists (no I/O beyond a FILE * and the
 *               files of -d @FILE / --data-binary @FILE); times and rates
 *               with units.
 *   retry.c     which failures are retried, the backoff schedule, error kinds.
 *   stats.c     results: status and error counts, exact latency percentiles
 *               of responses (failures counted apart, by kind), TLS
 *               reasons, the summary and load mode's histogram and JSON.
 *   report.c    one JSON line per URL (jansson).
 *   progress.c  the progress bar (fitted to the terminal's width, followed
 *               through resizes) or plain progress lines.
 *   run.c       the fetch itself: workers, rate limiter, retries, one shared
 *               pooled session with its own dial (--resolve, TLS trust and
 *               the TLS failure reason); load mode (-n / -z).
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
struct fetch_resolve {
    char host[256]; /* --resolve HOST:PORT:ADDR */
    int port;
    char addr[64];
};

struct fetch_opts {
    int concurrency;    /* -c N: requests in flight at most (default 10) */
    double rate;        /* --rate N[/s|/min|/h]: request starts per second */
    int64_t timeout_ns; /* --timeout TIME: per request attempt (default 30 s) */
    int retries;    /* --retries N: extra attempts when retryable (default 0) */
    int json;       /* --json: one JSON line per URL (load mode: a summary) */
    int quiet;      /* -q: no progress, no per-URL failure lines */
    int verbose;    /* -v: one plain line per URL on stdout */
    int demo;       /* --demo [N]: run against the embedded server */
    int demo_count; /* N for --demo (default 1000) */
    int serve;      /* --serve-demo [PORT]: only run the demo server */
    int serve_port;
    const char *input;  /* -i FILE ("-": stdin) */
    const char *outdir; /* -o DIR: bodies saved as DIR/1, DIR/2, ... */
    int create_dirs;    /* --create-dirs: make -o DIR (and parents) */
    int remote_name;    /* -O: save under the URL's last path segment */
    /* The request. */
    const char *method; /* -X (NULL: GET, POST with a body) */
    char **headers;     /* -H: name, value, ..., NULL (owned) */
    size_t nheaders;    /* pairs */
    char *body;         /* -d / --data-binary / --json-body (owned) */
    size_t body_len;
    int has_body;
    const char *body_type;  /* Content-Type sent unless -H gives one */
    int json_body;          /* --json-body: also Accept: application/json */
    const char *user_agent; /* -A (NULL: corio-fetch/VERSION; "": none) */
    int max_redirs;         /* --max-redirs N (default 10; 0: none) */
    int no_compressed;      /* --no-compressed: no Accept-Encoding */
    /* TLS. */
    const char *cacert;            /* --cacert FILE */
    const char *capath;            /* --capath DIR */
    int insecure;                  /* -k: no certificate verification */
    struct fetch_resolve *resolve; /* --resolve (owned) */
    int nresolve;
    /* Load mode: -n N requests and/or -z TIME against one URL. */
    long long count;
    int64_t duration_ns;
    int load;
    /* Which options were given, so --demo and load mode can pick their own
     * defaults for the others. */
    unsigned given;
    char **urls; /* URLs from the arguments (borrowed from argv) */
    int nurls;
};

#define FETCH_GIVEN_CONCURRENCY 0x1u
#define FETCH_GIVEN_RATE 0x2u
#define FETCH_GIVEN_TIMEOUT 0x4u
#define FETCH_GIVEN_RETRIES 0x8u
#define FETCH_GIVEN_CONTENT_TYPE 0x10u

/* Results of fetch_args_parse besides 0. */
#define FETCH_ARGS_HELP 1    /* --help: print fetch_usage and exit 0 */
#define FETCH_ARGS_VERSION 2 /* --version: print the versions, exit 0 */

/* Parse argv into *o (urls point into argv).  Returns 0, FETCH_ARGS_HELP,
 * or -EINVAL with a message in err[0..errlen). */
int fetch_args_parse(struct fetch_opts *o, int argc, char **argv, char *err,
                     size_t errlen);

/* Free what fetch_args_parse allocated in o (headers, body, resolve). */
void fetch_opts_free(struct fetch_opts *o);

/* Print the --help text. */
void fetch_usage(FILE *out);

/* A time: a number with ms, s, m or h (none: seconds), > 0.  Returns its
 * nanoseconds, or -1. */
int64_t fetch_parse_time(const char *s);

/* A rate: a number > 0 with /s, /min (or /m) or /h (none: per second).
 * Returns it per second, or -1. */
double fetch_parse_rate(const char *s);

/* A file name for -O: the URL's last path segment (no query or fragment),
 * or "" when it has none, or it is "." or "..".  Written into buf. */
void fetch_remote_name(const char *url, char *buf, size_t cap);

/* "s" unless n == 1: for "%zu attempt%s". */
const char *fetch_plural(size_t n);

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
    FETCH_CANCELLED, /* -ECANCELED: stopped (Ctrl-C) while in flight */
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
    const char *url;    /* borrowed from the URL list */
    int status;         /* HTTP status of the last attempt, 0 if none */
    int err;            /* 0, or the error of the last attempt */
    uint64_t bytes;     /* body bytes of the last attempt (decoded) */
    int64_t ns;         /* time from the first attempt's start to the end */
    int attempts;       /* attempts made (1 + retries) */
    const char *detail; /* why, in words (TLS: "certificate verify failed:
                           self-signed certificate"); interned by
                           fetch_stats_reason, or NULL */
    int state;          /* 0 not taken, 1 in flight, 2 finished */
};

/* A failure in the sense of the exit status: an error, or a status that is
 * not 2xx or 3xx. */
int fetch_result_failed(const struct fetch_result *r);

struct fetch_stats {
    size_t total;             /* URLs (or -n requests) to do; 0: unknown (-z) */
    size_t done;              /* finished */
    size_t failed;            /* of which fetch_result_failed */
    size_t errors;            /* of which ended with an error (no response) */
    size_t attempts;          /* attempts in all */
    size_t inflight;          /* taken and not finished (for the bar) */
    size_t cancelled;         /* stopped in flight (Ctrl-C, end of -z) */
    uint64_t bytes;           /* body bytes in all (decoded) */
    size_t status_class[6];   /* [1]..[5]: 1xx..5xx */
    size_t status_code[1000]; /* per status code */
    size_t kind[FETCH_NKINDS];
    /* Latencies: of responses (any status), and apart, of errors. */
    int64_t *latency;
    size_t nlatency, latency_cap;
    int64_t *err_latency;
    size_t nerr_latency, err_latency_cap;
    struct fetch_reason *reasons; /* distinct failure reasons, counted */
    int64_t start_ns;             /* when fetching began */
    int64_t duration_ns;          /* -z: how long the run lasts (ETA), else 0 */
    int load;                     /* load mode: "requests", a histogram */
    int sorted;                   /* the latency arrays are sorted */
};

struct fetch_reason {
    struct fetch_reason *next;
    size_t count; /* finished results with this detail */
    char text[];
};

/* Prepare for total URLs starting at start_ns.  Returns 0 or -ENOMEM. */
int fetch_stats_init(struct fetch_stats *s, size_t total, int64_t start_ns);

/* The interned copy of text (the same pointer for the same text), owned by
 * s, or NULL (-ENOMEM). */
const char *fetch_stats_reason(struct fetch_stats *s, const char *text);

/* Count one finished URL (or request).  Returns 0 or -ENOMEM (the latency
 * is then not kept). */
int fetch_stats_add(struct fetch_stats *s, const struct fetch_result *r);

/* The exact p-th percentile (0 <= p <= 100, nearest rank) of n values
 * already sorted ascending; 0 for n == 0. */
int64_t fetch_percentile(const int64_t *sorted, size_t n, double p);

/* Print the summary (status counts, error kinds with their own latency,
 * TLS and other reasons, bytes, the latency of responses p50/p90/p99/max
 * — in load mode also p99.9 and a histogram — requests per second, wall
 * time) as of now_ns.  Sorts the latencies in place. */
void fetch_stats_print(struct fetch_stats *s, FILE *out, int64_t now_ns);

/* Load mode's --json summary: one JSON object on one line.  Sorts the
 * latencies in place.  Returns 0 or -ENOMEM, -EIO. */
int fetch_stats_json(struct fetch_stats *s, FILE *out, int64_t now_ns,
                     const char *url);

/* The histogram's buckets: nb (<= 64) upper bounds in ns and counts over
 * the sorted latencies lat[0..n), from lat[0] to lat[n-1]: evenly spaced,
 * or logarithmically when the maximum is over 4 times the minimum (one
 * bucket when they are all equal).  Returns the bucket count. */
size_t fetch_histogram(const int64_t *lat, size_t n, size_t nb, int64_t *upto,
                       size_t *count);

void fetch_stats_destroy(struct fetch_stats *s);

/* ---- report.c --------------------------------------------------------------
 */

/* Write r, the URL at input position index (from 1, as -o names files),
 * as one JSON line: {"index", "url", "status", "bytes", "ms", "attempts",
 * "error"} (status null without a response; error null, or {"kind",
 * "message"}: the kind's name and corio_strerror's message, followed by
 * r->detail when there is one).  Returns 0 or -ENOMEM, -EIO. */
int fetch_report_json(FILE *out, const struct fetch_result *r, size_t index);

/* One line of text for r ("404", "tls (TLS peer certificate refused:
 * certificate verify failed: self-signed certificate)"). */
void fetch_describe(char *buf, size_t cap, const struct fetch_result *r);

/* ---- progress.c ------------------------------------------------------------
 */

/* Format the progress line for s as of now_ns into buf.  With bar != 0:
 * "[#####.....] 500/1000 3 failed 812/s ETA 1s 50 in flight 50%", fitted
 * into columns - 1 cells (the bar shrinks first, then the least useful
 * fields go), so the terminal never wraps it; else a plain line
 * ("500/1000 done, 50 in flight, 812/s, 3 failed, ETA 1s").  Returns the
 * length written (truncated to cap - 1). */
int fetch_progress_format(char *buf, size_t cap, const struct fetch_stats *s,
                          int64_t now_ns, int bar, int columns);

/* The width of the terminal on fd: its window size, else $COLUMNS, else
 * 80. */
int fetch_terminal_columns(int fd);

/* The progress display: a task redraws the bar at most 10 times a second
 * on a terminal (asking the terminal's width each time, so a resize is
 * followed at the next redraw), or prints a plain line each second
 * otherwise, until fetch_progress_stop. */
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
    struct fetch_result *results; /* nurls of them, filled in (not in load
                                     mode) */
    struct fetch_stats stats;
    int64_t backoff_base_ns; /* first retry's backoff (default 100 ms) */
    int64_t backoff_cap_ns;  /* longest backoff (default 5 s) */
    /* Called after each URL finishes (NULL: nothing). */
    void (*on_result)(struct fetch_run *run, const struct fetch_result *r);
    void *arg;
    /* Private to run.c. */
    size_t next;                 /* the next URL a worker takes */
    corio_http_session *session; /* shared by every worker */
    corio_tls_ctx *tls;          /* --cacert, --capath, -k; or NULL */
    corio_limiter *limiter;      /* --rate, or NULL */
    const char **headers;        /* the request's header list */
    corio_group *group;
    int deadline_hit, workers_left;
    char tls_reason[256]; /* the last dial's TLS failure, and whose */
    corio_task *tls_reason_task;
    uint64_t rng; /* jitter */
};

/* Fetch every URL with opts' concurrency, rate, timeout and retries through
 * one shared session; results and statistics in run.  In load mode (-n,
 * -z) the one URL is fetched count times, or until duration_ns has passed,
 * and only the statistics are kept.  Returns 0 (whatever the URLs'
 * outcomes), or an error that stopped the run: -ECANCELED (Ctrl-C; the
 * URLs then in flight have state 1), -ENOMEM, or a TLS configuration
 * error (CORIO_ETLS, message on stderr). */
int fetch_run_all(struct fetch_run *run);

/* ---- demo.c ----------------------------------------------------------------
 */

struct fetch_demo;

/* Start the demo server on 127.0.0.1 (port 0) in a task of the calling
 * loop.  Returns 0 and *out, or an error. */
int fetch_demo_start(struct fetch_demo **out);

/* The same on 127.0.0.1:port (0: any). */
int fetch_demo_start_port(struct fetch_demo **out, int port);

/* The port the demo server listens on. */
int fetch_demo_port(const struct fetch_demo *d);

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
