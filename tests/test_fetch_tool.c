/* test_fetch_tool.c — the pure parts of corio-fetch (tools/corio-fetch):
 * the command line, URL lists, error kinds and retry classification, the
 * backoff schedule and Retry-After, exact percentiles and statistics, the
 * JSON lines and the progress line. */
#include "tst.h"

#include "../tools/corio-fetch/fetch.h"

#include <corio/net.h>
#include <corio/tls.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

/* Parse a command line given as a NULL-terminated list. */
static int parse(struct fetch_opts *o, char *err, const char **args)
{
    static char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"corio-fetch";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return fetch_args_parse(o, argc, argv, err, 200);
}

TEST(fetch_tool, args_defaults_and_urls)
{
    struct fetch_opts o;
    char err[200];
    CHECK_EQ(parse(&o, err, (const char *[]){"http://a/", "http://b/", NULL}),
             0);
    CHECK_EQ(o.concurrency, 10);
    CHECK_EQ(o.timeout_ns, 30 * CORIO_SECOND);
    CHECK_EQ(o.retries, 0);
    CHECK(o.rate == 0);
    CHECK_EQ(o.nurls, 2);
    CHECK(strcmp(o.urls[0], "http://a/") == 0);
    CHECK(strcmp(o.urls[1], "http://b/") == 0);
    CHECK(!o.json && !o.quiet && !o.demo && !o.input);
}

TEST(fetch_tool, args_options)
{
    struct fetch_opts o;
    char err[200];
    CHECK_EQ(parse(&o, err,
                   (const char *[]){"-c", "7", "http://a/", "--rate", "250/s",
                                    "--timeout=1.5", "--retries", "3", "--json",
                                    "-q", "http://b/", "-i", "list.txt", "--",
                                    "-weird", NULL}),
             0);
    CHECK_EQ(o.concurrency, 7);
    CHECK(o.rate == 250);
    CHECK_EQ(o.timeout_ns, 1500 * CORIO_MS);
    CHECK_EQ(o.retries, 3);
    CHECK(o.json && o.quiet);
    CHECK(strcmp(o.input, "list.txt") == 0);
    /* URLs between options are all kept, in order, and "--" ends options. */
    CHECK_EQ(o.nurls, 3);
    CHECK(strcmp(o.urls[0], "http://a/") == 0);
    CHECK(strcmp(o.urls[1], "http://b/") == 0);
    CHECK(strcmp(o.urls[2], "-weird") == 0);
    /* A rate without "/s" is the same thing. */
    CHECK_EQ(parse(&o, err, (const char *[]){"--rate=40", "x", NULL}), 0);
    CHECK(o.rate == 40);
    CHECK(o.outdir == NULL);
    CHECK_EQ(parse(&o, err, (const char *[]){"--output=bodies", "x", NULL}), 0);
    CHECK(strcmp(o.outdir, "bodies") == 0);
}

TEST(fetch_tool, args_demo_defaults)
{
    struct fetch_opts o;
    char err[200];
    CHECK_EQ(parse(&o, err, (const char *[]){"--demo", NULL}), 0);
    CHECK(o.demo);
    CHECK_EQ(o.demo_count, 1000);
    CHECK_EQ(o.concurrency, 50);
    CHECK(o.rate == 2000);
    CHECK_EQ(o.timeout_ns, 2 * CORIO_SECOND);
    CHECK_EQ(o.retries, 2);
    /* A count after --demo, and given options win over the demo's. */
    CHECK_EQ(parse(&o, err,
                   (const char *[]){"--demo", "200", "-c", "5", "--retries",
                                    "0", NULL}),
             0);
    CHECK_EQ(o.demo_count, 200);
    CHECK_EQ(o.concurrency, 5);
    CHECK_EQ(o.retries, 0);
    CHECK(o.rate == 2000);
    CHECK_EQ(o.nurls, 0);
}

TEST(fetch_tool, args_errors)
{
    static const char *bad[][4] = {
        {"-c", "0", NULL},
        {"-c", "x", NULL},
        {"-c", NULL},
        {"--rate", "0/s", NULL},
        {"--rate", "5/fortnight", NULL},
        {"--rate", "-3/min", NULL},
        {"--timeout", "5x", NULL},
        {"--timeout", "ms", NULL},
        {"-H", "NoColon", NULL},
        {"-H", ": empty name", NULL},
        {"-H", "host: other.example", NULL},
        {"-H", "Content-Length: 5", NULL},
        {"-X", "GET /", NULL},
        {"--resolve", "host:80", NULL},
        {"--resolve", "host:99999:1.2.3.4", NULL},
        {"-n", "0", "http://x/", NULL},
        {"-n", "5", NULL},
        {"-z", "1s", "http://a/", "http://b/"},
        {"-n", "5", "-o", "d"},
        {"--create-dirs", "http://x/", NULL},
        {"-d", "@/nonexistent/file", NULL},
        {"--max-redirs", "-1", NULL},
        {"--timeout", "-1", NULL},
        {"--timeout", "nan", NULL},
        {"--retries", "101", NULL},
        {"--bogus", NULL},
        {"--demo", "http://x/", NULL},
        {"--demo=0", NULL},
        {"-i", NULL},
        {"-o", NULL},
        {"--output=", NULL},
    };
    struct fetch_opts o;
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK_EQ(parse(&o, err, bad[i]), -EINVAL);
        CHECK(err[0] != 0); /* a message for the user */
    }
    CHECK_EQ(parse(&o, err, (const char *[]){"--help", NULL}), FETCH_ARGS_HELP);
    CHECK_EQ(parse(&o, err, (const char *[]){"x", "-h", NULL}),
             FETCH_ARGS_HELP);
}

TEST(fetch_tool, urls_read_skips_blanks_and_comments)
{
    static const char text[] = "http://a/\n"
                               "\n"
                               "   # a comment\n"
                               "#another\n"
                               "  http://b/x?y=1  \r\n"
                               "\t\n"
                               "http://c/"; /* no final newline */
    FILE *in = fmemopen((void *)text, sizeof text - 1, "r");
    struct fetch_urls l = {0};
    CHECK(in != NULL);
    CHECK_EQ(fetch_urls_add(&l, "http://first/"), 0);
    CHECK_EQ(fetch_urls_read(&l, in), 3);
    fclose(in);
    CHECK_EQ(l.n, 4);
    CHECK(strcmp(l.v[0], "http://first/") == 0);
    CHECK(strcmp(l.v[1], "http://a/") == 0);
    CHECK(strcmp(l.v[2], "http://b/x?y=1") == 0);
    CHECK(strcmp(l.v[3], "http://c/") == 0);
    fetch_urls_free(&l);
    CHECK_EQ(l.n, 0);
}

TEST(fetch_tool, error_kinds)
{
    CHECK_EQ(fetch_error_kind(0), FETCH_OK);
    CHECK_EQ(fetch_error_kind(-ETIMEDOUT), FETCH_TIMEOUT);
    CHECK_EQ(fetch_error_kind(-ECONNREFUSED), FETCH_REFUSED);
    CHECK_EQ(fetch_error_kind(-ECONNRESET), FETCH_CONNECT);
    CHECK_EQ(fetch_error_kind(-ENETUNREACH), FETCH_CONNECT);
    CHECK_EQ(fetch_error_kind(CORIO_ENOHOST), FETCH_DNS);
    CHECK_EQ(fetch_error_kind(CORIO_EDNS), FETCH_DNS);
    CHECK_EQ(fetch_error_kind(CORIO_ETLS), FETCH_TLS);
    CHECK_EQ(fetch_error_kind(CORIO_ECERT), FETCH_TLS);
    CHECK_EQ(fetch_error_kind(CORIO_EHTTP), FETCH_PROTOCOL);
    CHECK_EQ(fetch_error_kind(CORIO_EOF), FETCH_PROTOCOL);
    CHECK_EQ(fetch_error_kind(CORIO_EREDIRECTS), FETCH_REDIRECTS);
    CHECK_EQ(fetch_error_kind(CORIO_EURL), FETCH_URL);
    CHECK_EQ(fetch_error_kind(-ENOMEM), FETCH_OTHER);
    CHECK(strcmp(fetch_kind_name(FETCH_TIMEOUT), "timeout") == 0);
    CHECK(strcmp(fetch_kind_name(FETCH_DNS), "dns") == 0);
    /* Every kind has a name of its own. */
    for (int a = 0; a < FETCH_NKINDS; a++)
        for (int b = a + 1; b < FETCH_NKINDS; b++)
            CHECK(strcmp(fetch_kind_name(a), fetch_kind_name(b)) != 0);
}

TEST(fetch_tool, retryable)
{
    /* Statuses: only overload and gateway trouble. */
    CHECK(fetch_retryable(0, 429));
    CHECK(fetch_retryable(0, 502));
    CHECK(fetch_retryable(0, 503));
    CHECK(fetch_retryable(0, 504));
    CHECK(!fetch_retryable(0, 200));
    CHECK(!fetch_retryable(0, 301));
    CHECK(!fetch_retryable(0, 404));
    CHECK(!fetch_retryable(0, 500));
    CHECK(!fetch_retryable(0, 501));
    /* Errors: transient ones only. */
    CHECK(fetch_retryable(-ETIMEDOUT, 0));
    CHECK(fetch_retryable(-ECONNREFUSED, 0));
    CHECK(fetch_retryable(-ECONNRESET, 0));
    CHECK(fetch_retryable(CORIO_EDNS, 0));
    CHECK(fetch_retryable(CORIO_EOF, 0));
    CHECK(!fetch_retryable(CORIO_ENOHOST, 0));
    CHECK(!fetch_retryable(CORIO_ECERT, 0));
    CHECK(!fetch_retryable(CORIO_EHTTP, 0));
    CHECK(!fetch_retryable(CORIO_EURL, 0));
    CHECK(!fetch_retryable(CORIO_EREDIRECTS, 0));
    CHECK(!fetch_retryable(-ECANCELED, 0));
    CHECK(!fetch_retryable(-ENOMEM, 0));
}

TEST(fetch_tool, backoff_schedule)
{
    int64_t base = 100 * CORIO_MS, cap = 5 * CORIO_SECOND;
    /* Jitter 0: the lower edge, half the exponential step. */
    CHECK_EQ(fetch_backoff_ns(1, base, cap, 0), 50 * CORIO_MS);
    CHECK_EQ(fetch_backoff_ns(2, base, cap, 0), 100 * CORIO_MS);
    CHECK_EQ(fetch_backoff_ns(3, base, cap, 0), 200 * CORIO_MS);
    CHECK_EQ(fetch_backoff_ns(6, base, cap, 0), 1600 * CORIO_MS);
    /* Capped from retry 7 on (6.4 s > 5 s), also for absurd retry counts. */
    CHECK_EQ(fetch_backoff_ns(7, base, cap, 0), 2500 * CORIO_MS);
    CHECK_EQ(fetch_backoff_ns(1000, base, cap, 0), 2500 * CORIO_MS);
    /* Jitter spreads over [d/2, d). */
    CHECK_EQ(fetch_backoff_ns(3, base, cap, 0.5), 300 * CORIO_MS);
    int64_t hi = fetch_backoff_ns(3, base, cap, 0.9999);
    CHECK(hi >= 399 * CORIO_MS && hi < 400 * CORIO_MS);
    CHECK_EQ(fetch_backoff_ns(3, base, cap, 7.0),
             fetch_backoff_ns(3, base, cap, 0.999999));
    /* Monotonic in the retry number at a fixed jitter. */
    for (int r = 1; r < 20; r++)
        CHECK(fetch_backoff_ns(r, base, cap, 0.3) <=
              fetch_backoff_ns(r + 1, base, cap, 0.3));
}

TEST(fetch_tool, retry_after)
{
    int64_t cap = 60 * CORIO_SECOND;
    CHECK_EQ(fetch_retry_after_ns("1", cap), CORIO_SECOND);
    CHECK_EQ(fetch_retry_after_ns(" 120 ", 1000 * CORIO_SECOND),
             120 * CORIO_SECOND);
    CHECK_EQ(fetch_retry_after_ns("0", cap), 0);
    CHECK_EQ(fetch_retry_after_ns("120", cap), cap);
    CHECK_EQ(fetch_retry_after_ns("99999999999999999999999", cap), cap);
    CHECK_EQ(fetch_retry_after_ns(NULL, cap), -1);
    CHECK_EQ(fetch_retry_after_ns("", cap), -1);
    CHECK_EQ(fetch_retry_after_ns("-1", cap), -1);
    CHECK_EQ(fetch_retry_after_ns("1.5", cap), -1);
    CHECK_EQ(fetch_retry_after_ns("Wed, 21 Oct 2015 07:28:00 GMT", cap), -1);
}

TEST(fetch_tool, percentiles_exact)
{
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i + 1; /* 1..100 */
    CHECK_EQ(fetch_percentile(v, 100, 50), 50);
    CHECK_EQ(fetch_percentile(v, 100, 90), 90);
    CHECK_EQ(fetch_percentile(v, 100, 99), 99);
    CHECK_EQ(fetch_percentile(v, 100, 100), 100);
    CHECK_EQ(fetch_percentile(v, 100, 0), 1);
    CHECK_EQ(fetch_percentile(v, 0, 50), 0);
    /* Nearest rank on a small set: p50 of 4 values is the 2nd. */
    int64_t w[] = {10, 20, 30, 40};
    CHECK_EQ(fetch_percentile(w, 4, 50), 20);
    CHECK_EQ(fetch_percentile(w, 4, 51), 30);
    CHECK_EQ(fetch_percentile(w, 4, 99), 40);
    int64_t one[] = {7};
    CHECK_EQ(fetch_percentile(one, 1, 99), 7);
}

TEST(fetch_tool, stats_count_and_summary)
{
    struct fetch_stats s;
    struct fetch_result r[] = {
        {.url = "u0",
         .status = 200,
         .bytes = 100,
         .ns = 3 * CORIO_MS,
         .attempts = 1},
        {.url = "u1",
         .status = 200,
         .bytes = 50,
         .ns = 1 * CORIO_MS,
         .attempts = 1},
        {.url = "u2",
         .status = 302,
         .bytes = 0,
         .ns = 2 * CORIO_MS,
         .attempts = 1},
        {.url = "u3",
         .status = 404,
         .bytes = 10,
         .ns = 5 * CORIO_MS,
         .attempts = 1},
        {.url = "u4",
         .status = 503,
         .bytes = 10,
         .ns = 9 * CORIO_MS,
         .attempts = 3},
        {.url = "u5", .err = -ETIMEDOUT, .ns = 2000 * CORIO_MS, .attempts = 3},
        {.url = "u6", .err = -ECONNREFUSED, .ns = 4 * CORIO_MS, .attempts = 3},
    };
    CHECK_EQ(fetch_stats_init(&s, 7, 0), 0);
    for (size_t i = 0; i < 7; i++)
        fetch_stats_add(&s, &r[i]);
    CHECK_EQ(s.done, 7);
    CHECK_EQ(s.failed, 4);
    CHECK_EQ(s.errors, 2);
    CHECK_EQ(s.attempts, 13);
    CHECK_EQ(s.bytes, 170);
    CHECK_EQ(s.status_class[2], 2);
    CHECK_EQ(s.status_class[3], 1);
    CHECK_EQ(s.status_class[4], 1);
    CHECK_EQ(s.status_class[5], 1);
    CHECK_EQ(s.status_code[200], 2);
    CHECK_EQ(s.status_code[503], 1);
    CHECK_EQ(s.kind[FETCH_OK], 5);
    CHECK_EQ(s.kind[FETCH_TIMEOUT], 1);
    CHECK_EQ(s.kind[FETCH_REFUSED], 1);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(out != NULL);
    fetch_stats_print(&s, out, 2 * CORIO_SECOND);
    fclose(out);
    CHECK(strstr(text, "7 of 7 URLs in 2.00 s, 3.5 URLs/s, 13 attempts"));
    CHECK(strstr(text, "2xx 2  3xx 1  4xx 1  5xx 1"));
    CHECK(strstr(text, "200 x2, 302 x1, 404 x1, 503 x1"));
    CHECK(strstr(text, "errors  2 (timeout 1, refused 1)"));
    CHECK(strstr(text, "170 B"));
    /* Latencies of the responses only, sorted: 1 2 3 5 9 ms; the two
     * errors' own (4 and 2000 ms) apart. */
    CHECK(strstr(text, "p50 3.00 ms  p90 9.00 ms  p99 9.00 ms  max 9.00 ms (5 "
                       "responses)"));
    CHECK(strstr(text, "errors  2 (timeout 1, refused 1), after p50 4.00 ms, "
                       "max 2000 ms"));
    CHECK(strstr(text, "failed  4 of 7"));
    free(text);
    fetch_stats_destroy(&s);
}

TEST(fetch_tool, json_lines)
{
    struct fetch_result ok = {.url = "http://h/\"q\"",
                              .status = 200,
                              .bytes = 1234,
                              .ns = 1500 * CORIO_US,
                              .attempts = 2};
    struct fetch_result bad = {.url = "http://h/hang",
                               .err = -ETIMEDOUT,
                               .ns = 2 * CORIO_SECOND,
                               .attempts = 3};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK_EQ(fetch_report_json(out, &ok, 1), 0);
    CHECK_EQ(fetch_report_json(out, &bad, 7), 0);
    fclose(out);

    /* Two lines, each a JSON object that parses back to what was put in. */
    char *nl = strchr(text, '\n');
    CHECK(nl != NULL && nl[1] != 0 && text[len - 1] == '\n');
    json_error_t e;
    json_t *a = json_loadb(text, (size_t)(nl - text), 0, &e);
    json_t *b = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &e);
    CHECK(a && b);
    CHECK(strcmp(json_string_value(json_object_get(a, "url")),
                 "http://h/\"q\"") == 0);
    /* The input position, as -o names files (from 1). */
    CHECK_EQ(json_integer_value(json_object_get(a, "index")), 1);
    CHECK_EQ(json_integer_value(json_object_get(b, "index")), 7);
    CHECK(strncmp(text, "{\"index\":1,\"url\":", 17) == 0);
    CHECK_EQ(json_integer_value(json_object_get(a, "status")), 200);
    CHECK_EQ(json_integer_value(json_object_get(a, "bytes")), 1234);
    CHECK(json_real_value(json_object_get(a, "ms")) == 1.5);
    CHECK_EQ(json_integer_value(json_object_get(a, "attempts")), 2);
    CHECK(json_is_null(json_object_get(a, "error")));
    CHECK(json_is_null(json_object_get(b, "status")));
    json_t *err = json_object_get(b, "error");
    CHECK(strcmp(json_string_value(json_object_get(err, "kind")), "timeout") ==
          0);
    CHECK(strcmp(json_string_value(json_object_get(err, "message")),
                 corio_strerror(-ETIMEDOUT)) == 0);
    CHECK_EQ(json_integer_value(json_object_get(b, "attempts")), 3);
    json_decref(a);
    json_decref(b);
    free(text);
}

/* The visible width of a progress line (ASCII). */
static void check_fits(const char *line, int columns)
{
    if ((int)strlen(line) > columns - 1) {
        fprintf(stderr, "    %d columns: %zu cells: %s\n", columns,
                strlen(line), line);
        CHECK(!"the bar does not fit the terminal");
    }
}

TEST(fetch_tool, progress_line)
{
    struct fetch_stats s;
    char buf[600];
    CHECK_EQ(fetch_stats_init(&s, 1000, 0), 0);
    s.done = 500;
    s.failed = 3;
    s.inflight = 50;
    /* 120 columns: every field, the bar takes the rest. */
    int n =
        fetch_progress_format(buf, sizeof buf, &s, 2 * CORIO_SECOND, 1, 120);
    CHECK_EQ(n, (int)strlen(buf));
    CHECK_EQ(n, 119);
    CHECK(strstr(buf, "] 500/1000 3 failed 250/s ETA 2s 50 in flight 50%"));
    CHECK(buf[0] == '[' && strstr(buf, "#####....."));
    /* 40 columns: the bar keeps 6 cells at least; the least useful fields
     * go first. */
    n = fetch_progress_format(buf, sizeof buf, &s, 2 * CORIO_SECOND, 1, 40);
    CHECK(n <= 39);
    CHECK(strcmp(buf, "[###...] 500/1000 3 failed 250/s ETA 2s") == 0);
    check_fits(buf, 40);
    /* Every width from 1 to 200 fits, at any stage. */
    for (int w = 1; w <= 200; w++)
        for (size_t done = 0; done <= 1000; done += 250) {
            s.done = done;
            fetch_progress_format(buf, sizeof buf, &s, 3 * CORIO_SECOND, 1, w);
            check_fits(buf, w < 2 ? 2 : w);
        }
    s.done = 500;
    /* Not a terminal: one plain line with everything. */
    fetch_progress_format(buf, sizeof buf, &s, 2 * CORIO_SECOND, 0, 0);
    CHECK(strcmp(buf, "500/1000 done, 50 in flight, 250/s, 3 failed, ETA 2s") ==
          0);
    /* -z: no total; time is the measure and the ETA. */
    s.total = 0;
    s.duration_ns = 10 * CORIO_SECOND;
    fetch_progress_format(buf, sizeof buf, &s, 4 * CORIO_SECOND, 1, 120);
    CHECK(strstr(buf, "] 500 done 3 failed 125/s ETA 6s 50 in flight 40%"));
    s.total = 1000;
    s.duration_ns = 0;
    /* ETA in minutes. */
    s.done = 10;
    fetch_progress_format(buf, sizeof buf, &s, 2 * CORIO_SECOND, 0, 0);
    CHECK(strstr(buf, "ETA 3m18s"));
    /* Every URL left in flight: no ETA from the rate (the tail may be a
     * hanging URL); under half a second: "<1s". */
    s.done = 990;
    s.inflight = 10;
    fetch_progress_format(buf, sizeof buf, &s, 2 * CORIO_SECOND, 0, 0);
    CHECK(strstr(buf, "ETA -"));
    s.done = 900;
    s.inflight = 50;
    fetch_progress_format(buf, sizeof buf, &s, 2 * CORIO_SECOND, 0, 0);
    CHECK(strstr(buf, "ETA <1s"));
    s.done = 10;
    /* Truncated to the buffer, and the length says so. */
    n = fetch_progress_format(buf, 8, &s, 4 * CORIO_SECOND, 1, 80);
    CHECK_EQ(n, 7);
    CHECK_EQ(strlen(buf), 7);
    fetch_stats_destroy(&s);
}

/* The display task on a pipe (not a terminal): plain lines, one a second
 * on the virtual clock, only when something changed (none at the start),
 * and a last line at the stop. */
static int progress_body(void *arg)
{
    (void)arg;
    struct fetch_stats s;
    struct fetch_progress p;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK_EQ(fetch_stats_init(&s, 10, corio_now()), 0);
    CHECK_EQ(fetch_progress_start(&p, &s, out), 0);
    CHECK(!p.tty);
    corio_sleep(CORIO_SECOND / 2);
    s.done = 4;
    corio_sleep(3 * CORIO_SECOND); /* one change: one more line, not three */
    s.done = 10;
    fetch_progress_stop(&p);
    fclose(out);
    if (strstr(text, "ETA 2s\nprogress") == NULL)
        fprintf(stderr, "%s", text);
    CHECK(strcmp(text, "progress: 4/10 done, 0 in flight, 4/s, 0 failed, "
                       "ETA 2s\n"
                       "progress: 10/10 done, 0 in flight, 3/s, 0 failed, "
                       "ETA 0s\n") == 0);
    free(text);
    fetch_stats_destroy(&s);
    return 0;
}

TEST(fetch_tool, progress_task_plain_lines)
{
    CHECK_EQ(tst_run(progress_body, NULL), 0);
}

TEST(fetch_tool, args_request_and_tls_options)
{
    struct fetch_opts o;
    char err[200];
    CHECK_EQ(parse(&o, err,
                   (const char *[]){"-XPUT",
                                    "-H",
                                    "X-One: 1",
                                    "--header=X-Two:2",
                                    "-d",
                                    "a=1",
                                    "--data",
                                    "b=2",
                                    "-A",
                                    "me/1",
                                    "--max-redirs",
                                    "0",
                                    "--no-compressed",
                                    "--cacert",
                                    "ca.pem",
                                    "--capath",
                                    "cadir",
                                    "-k",
                                    "--resolve",
                                    "h.test:443:127.0.0.1",
                                    "--resolve=v6.test:8443:[::1]",
                                    "-O",
                                    "-o",
                                    "out",
                                    "--create-dirs",
                                    "http://h/",
                                    NULL}),
             0);
    CHECK(strcmp(o.method, "PUT") == 0);
    CHECK_EQ(o.nheaders, 2);
    CHECK(strcmp(o.headers[0], "X-One") == 0 && strcmp(o.headers[1], "1") == 0);
    CHECK(strcmp(o.headers[2], "X-Two") == 0 && strcmp(o.headers[3], "2") == 0);
    CHECK(o.headers[4] == NULL);
    CHECK(o.has_body && o.body_len == 7 && strcmp(o.body, "a=1&b=2") == 0);
    CHECK(strcmp(o.body_type, "application/x-www-form-urlencoded") == 0);
    CHECK(strcmp(o.user_agent, "me/1") == 0);
    CHECK_EQ(o.max_redirs, 0);
    CHECK(o.no_compressed && o.insecure && o.remote_name && o.create_dirs);
    CHECK(strcmp(o.cacert, "ca.pem") == 0 && strcmp(o.capath, "cadir") == 0);
    CHECK_EQ(o.nresolve, 2);
    CHECK(strcmp(o.resolve[0].host, "h.test") == 0 &&
          o.resolve[0].port == 443 &&
          strcmp(o.resolve[0].addr, "127.0.0.1") == 0);
    CHECK(strcmp(o.resolve[1].addr, "::1") == 0 && o.resolve[1].port == 8443);
    CHECK_EQ(o.nurls, 1);
    fetch_opts_free(&o);

    /* A body makes the default method POST; --json-body sets the type;
     * -H User-Agent is -A; -H Content-Type wins over the body's type. */
    CHECK_EQ(parse(&o, err,
                   (const char *[]){"--json-body", "{\"a\":1}", "-H",
                                    "User-Agent: ua", "-L", "http://h/", NULL}),
             0);
    CHECK(strcmp(o.method, "POST") == 0 && o.json_body);
    CHECK(strcmp(o.body_type, "application/json") == 0);
    CHECK(strcmp(o.user_agent, "ua") == 0 && o.nheaders == 0);
    CHECK_EQ(o.max_redirs, 10);
    fetch_opts_free(&o);
    CHECK_EQ(parse(&o, err,
                   (const char *[]){"-H", "content-type: text/x", "-d", "x",
                                    "http://h/", NULL}),
             0);
    CHECK(o.given & FETCH_GIVEN_CONTENT_TYPE);
    fetch_opts_free(&o);

    /* @FILE: -d drops CR and LF, --data-binary keeps every byte. */
    char path[] = "/tmp/corio-fetch-body.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "x\r\ny\n", 5), 5);
    close(fd);
    char at[64];
    snprintf(at, sizeof at, "@%s", path);
    CHECK_EQ(parse(&o, err, (const char *[]){"-d", at, "http://h/", NULL}), 0);
    CHECK(o.body_len == 2 && memcmp(o.body, "xy", 2) == 0);
    fetch_opts_free(&o);
    CHECK_EQ(parse(&o, err,
                   (const char *[]){"--data-binary", at, "http://h/", NULL}),
             0);
    CHECK(o.body_len == 5 && memcmp(o.body, "x\r\ny\n", 5) == 0);
    fetch_opts_free(&o);
    unlink(path);

    /* Load mode; its default concurrency is hey's and oha's 50. */
    CHECK_EQ(parse(&o, err, (const char *[]){"-n", "1000", "http://h/", NULL}),
             0);
    CHECK(o.load && o.count == 1000 && o.concurrency == 50);
    CHECK_EQ(
        parse(&o, err,
              (const char *[]){"-z", "1.5m", "-c", "3", "http://h/", NULL}),
        0);
    CHECK(o.load && o.duration_ns == 90 * CORIO_SECOND && o.concurrency == 3);
    CHECK_EQ(parse(&o, err, (const char *[]){"--version", NULL}),
             FETCH_ARGS_VERSION);
    CHECK_EQ(parse(&o, err, (const char *[]){"-V", NULL}), FETCH_ARGS_VERSION);
}

TEST(fetch_tool, times_and_rates_with_units)
{
    CHECK_EQ(fetch_parse_time("500ms"), 500 * CORIO_MS);
    CHECK_EQ(fetch_parse_time("2s"), 2 * CORIO_SECOND);
    CHECK_EQ(fetch_parse_time("2"), 2 * CORIO_SECOND);
    CHECK_EQ(fetch_parse_time("1.5m"), 90 * CORIO_SECOND);
    CHECK_EQ(fetch_parse_time("1h"), 3600 * CORIO_SECOND);
    CHECK_EQ(fetch_parse_time("0.25"), 250 * CORIO_MS);
    CHECK_EQ(fetch_parse_time("0"), -1);
    CHECK_EQ(fetch_parse_time("-1s"), -1);
    CHECK_EQ(fetch_parse_time("5 s"), -1);
    CHECK_EQ(fetch_parse_time("5sec"), -1);
    CHECK_EQ(fetch_parse_time("ms"), -1);
    CHECK(fetch_parse_rate("20/min") == 20 / 60.0);
    CHECK(fetch_parse_rate("20/m") == 20 / 60.0);
    CHECK(fetch_parse_rate("3600/h") == 1);
    CHECK(fetch_parse_rate("5/s") == 5);
    CHECK(fetch_parse_rate("5") == 5);
    CHECK(fetch_parse_rate("0.5/s") == 0.5);
    CHECK(fetch_parse_rate("5/d") < 0);
    CHECK(fetch_parse_rate("0/s") < 0);
    /* Everywhere a time or rate is taken: --timeout, -z, --rate. */
    struct fetch_opts o;
    char err[200];
    CHECK_EQ(parse(&o, err,
                   (const char *[]){"--timeout", "500ms", "--rate", "20/min",
                                    "http://h/", NULL}),
             0);
    CHECK_EQ(o.timeout_ns, 500 * CORIO_MS);
    CHECK(o.rate == 20 / 60.0);
}

TEST(fetch_tool, remote_names_and_plurals)
{
    char b[64];
    fetch_remote_name("http://h/a/b/file.tar.gz?x=1#f", b, sizeof b);
    CHECK(strcmp(b, "file.tar.gz") == 0);
    fetch_remote_name("http://h/a/", b, sizeof b);
    CHECK(strcmp(b, "") == 0);
    fetch_remote_name("http://h", b, sizeof b);
    CHECK(strcmp(b, "") == 0);
    fetch_remote_name("http://h/..", b, sizeof b);
    CHECK(strcmp(b, "") == 0);
    fetch_remote_name("http://h/x?a/b", b, sizeof b);
    CHECK(strcmp(b, "x") == 0);
    CHECK(strcmp(fetch_plural(1), "") == 0);
    CHECK(strcmp(fetch_plural(0), "s") == 0);
    CHECK(strcmp(fetch_plural(2), "s") == 0);
    /* The summary of one URL with one attempt says so in the singular. */
    struct fetch_stats s;
    struct fetch_result r = {
        .url = "u", .status = 200, .ns = CORIO_MS, .attempts = 1};
    CHECK_EQ(fetch_stats_init(&s, 1, 0), 0);
    CHECK_EQ(fetch_stats_add(&s, &r), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fetch_stats_print(&s, out, CORIO_SECOND);
    fclose(out);
    CHECK(strstr(text, "1 of 1 URL in 1.00 s, 1.0 URLs/s, 1 attempt\n"));
    CHECK(strstr(text, "(1 response)"));
    free(text);
    fetch_stats_destroy(&s);
}

TEST(fetch_tool, tls_reason_in_line_json_and_summary)
{
    struct fetch_stats s;
    CHECK_EQ(fetch_stats_init(&s, 3, 0), 0);
    const char *why = fetch_stats_reason(&s, "certificate verify failed: "
                                             "certificate has expired");
    CHECK(why != NULL);
    CHECK(fetch_stats_reason(&s, why) == why); /* interned */
    struct fetch_result r = {.url = "https://h/",
                             .err = CORIO_ECERT,
                             .ns = CORIO_MS,
                             .attempts = 1,
                             .detail = why};
    CHECK_EQ(fetch_stats_add(&s, &r), 0);
    CHECK_EQ(fetch_stats_add(&s, &r), 0);
    char line[300];
    fetch_describe(line, sizeof line, &r);
    CHECK(strcmp(line, "tls (certificate refused: certificate verify failed: "
                       "certificate has expired)") == 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fetch_report_json(out, &r, 3);
    fetch_stats_print(&s, out, CORIO_SECOND);
    fclose(out);
    CHECK(strstr(text, "\"error\":{\"kind\":\"tls\",\"message\":\"certificate "
                       "refused: certificate verify failed: certificate has "
                       "expired\"}"));
    CHECK(strstr(text, "  reason  certificate verify failed: certificate has "
                       "expired (2)\n"));
    CHECK(strstr(text, "corio_tls_error") == NULL); /* no library hint */
    free(text);
    /* A cancelled URL: its own kind. */
    struct fetch_result c = {.url = "u", .err = -ECANCELED};
    fetch_describe(line, sizeof line, &c);
    CHECK(strncmp(line, "cancelled (", 11) == 0);
    fetch_stats_destroy(&s);
}

TEST(fetch_tool, load_summary_histogram_and_json)
{
    struct fetch_stats s;
    CHECK_EQ(fetch_stats_init(&s, 0, 0), 0);
    s.load = 1;
    for (int i = 1; i <= 1000; i++) {
        struct fetch_result r = {.url = "u",
                                 .status = i % 10 ? 200 : 503,
                                 .ns = i * CORIO_US,
                                 .bytes = 10,
                                 .attempts = 1};
        CHECK_EQ(fetch_stats_add(&s, &r), 0);
    }
    struct fetch_result e = {.url = "u", .err = -ECONNREFUSED, .attempts = 1};
    CHECK_EQ(fetch_stats_add(&s, &e), 0);
    /* Histogram: 10 buckets over 1..1000 us (logarithmic: max > 4 min),
     * every response in one, the last bound the maximum. */
    int64_t upto[10];
    size_t count[10], sum = 0;
    CHECK_EQ(fetch_histogram(s.latency, s.nlatency, 10, upto, count), 10);
    for (int b = 0; b < 10; b++)
        sum += count[b];
    CHECK_EQ(sum, 1000);
    CHECK_EQ(upto[9], 1000 * CORIO_US);
    CHECK(upto[0] < upto[1]);
    /* All equal: one bucket. */
    int64_t same[3] = {5, 5, 5};
    CHECK_EQ(fetch_histogram(same, 3, 10, upto, count), 1);
    CHECK_EQ(count[0], 3);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fetch_stats_print(&s, out, 2 * CORIO_SECOND);
    fetch_stats_json(&s, out, 2 * CORIO_SECOND, "http://h/");
    fclose(out);
    CHECK(strstr(text, "summary: 1001 requests in 2.00 s, 500.5 requests/s\n"));
    CHECK(strstr(text, "p50 0.500 ms  p90 0.900 ms  p99 0.990 ms  p99.9 0.999 "
                       "ms  max 1.00 ms (1000 responses)"));
    CHECK(strstr(text, "codes   200 x900, 503 x100"));
    CHECK(strstr(text, "errors  1 (refused 1)"));
    CHECK(strstr(text, "histogram"));
    CHECK(strstr(text, "|########################################\n"));
    char *js = strstr(text, "{\"url\"");
    CHECK(js != NULL);
    json_error_t je;
    json_t *j = json_loads(js, 0, &je);
    CHECK(j != NULL);
    CHECK_EQ(json_integer_value(json_object_get(j, "requests")), 1001);
    CHECK_EQ(json_integer_value(json_object_get(j, "responses")), 1000);
    CHECK_EQ(json_integer_value(json_object_get(j, "errors")), 1);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(j, "status"), "503")),
             100);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(j, "error_kinds"), "refused")),
             1);
    json_t *lat = json_object_get(j, "latency_ms");
    CHECK(json_real_value(json_object_get(lat, "p99.9")) == 0.999);
    CHECK(json_real_value(json_object_get(lat, "max")) == 1.0);
    CHECK_EQ(json_array_size(json_object_get(j, "histogram")), 10);
    json_decref(j);
    free(text);
    fetch_stats_destroy(&s);
}
