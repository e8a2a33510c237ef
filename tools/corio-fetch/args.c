/* args.c — corio-fetch's command line (fetch_args_parse, fetch_usage) and
 * URL lists read from a file or stdin (fetch_urls_*).  Nothing here touches
 * the loop, so the test runner checks it directly. */
#include "fetch.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void fetch_usage(FILE *out)
{
    fputs(
        "usage: corio-fetch [options] [URL...]\n"
        "       corio-fetch --demo [N] [options]\n"
        "\n"
        "Fetch URLs concurrently through one pooled HTTP session.  URLs come\n"
        "from the arguments, from -i FILE, or from stdin when there are none\n"
        "(one per line; blank lines and lines starting with # are skipped).\n"
        "\n"
        "  -c, --concurrency N   requests in flight at most (default 10)\n"
        "      --rate N[/s]      start at most N requests per second\n"
        "      --timeout SECONDS total time per request attempt (default 30)\n"
        "      --retries N       retry connect errors, timeouts, 429, 502,\n"
        "                        503 and 504 up to N times, with exponential\n"
        "                        backoff and jitter (429: Retry-After)\n"
        "  -i, --input FILE      read URLs from FILE (- for stdin)\n"
        "  -o, --output DIR      save each body (decoded) as DIR/N, N the\n"
        "                        URL's position in the list from 1\n"
        "      --json            one JSON line per URL on stdout: url, "
        "status,\n"
        "                        bytes, ms, attempts, error\n"
        "  -v, --verbose         one plain line per URL on stdout\n"
        "  -q, --quiet           nothing on stderr but fatal errors (no\n"
        "                        progress, failure lines or summary)\n"
        "      --demo [N]        start a demo server on 127.0.0.1 and fetch N\n"
        "                        (default 1000, at most 100000) URLs of its\n"
        "                        mix of fast, slow, failing, hanging and\n"
        "                        redirecting endpoints\n"
        "                        (defaults -c 50 --rate 2000/s --timeout 2\n"
        "                        --retries 2)\n"
        "  -h, --help            this text\n"
        "\n"
        "Progress goes to stderr (a bar on a terminal), then a summary.\n"
        "Exit status: 0 every URL answered 2xx or 3xx, 1 some did not,\n"
        "2 usage error.  With --demo: 0 when every URL got the outcome its\n"
        "endpoint is meant to give.\n",
        out);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A whole decimal integer in [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* A finite number > 0, optionally followed by exactly suffix ("/s"). */
static int parse_num(const char *s, const char *suffix, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v <= 0)
        return -EINVAL;
    if (*end && (!suffix || strcmp(end, suffix) != 0))
        return -EINVAL;
    *out = v;
    return 0;
}

/* The value of an option: "--name=value" or the next argument. */
static const char *value_of(int argc, char **argv, int *i, const char *eq)
{
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

int fetch_args_parse(struct fetch_opts *o, int argc, char **argv, char *err,
                     size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 10;
    o->timeout_ns = 30 * CORIO_SECOND;
    o->demo_count = 1000;
    o->urls = argv + argc; /* an empty list until the first URL */
    int only_urls = 0;

    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_urls || a[0] != '-' || a[1] == 0) {
            /* URLs are gathered in place at the front of the tail. */
            if (o->nurls == 0)
                o->urls = argv + i;
            else
                o->urls[o->nurls] = a;
            o->nurls++;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_urls = 1;
            continue;
        }
        /* Long options may carry "=value"; the name is compared without it. */
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
#define IS(name) (strlen(name) == nlen && strncmp(a, name, nlen) == 0)
        const char *v;
        if (IS("-h") || IS("--help")) {
            return FETCH_ARGS_HELP;
        } else if (IS("-q") || IS("--quiet")) {
            o->quiet = 1;
        } else if (IS("-v") || IS("--verbose")) {
            o->verbose = 1;
        } else if (IS("--json")) {
            o->json = 1;
        } else if (IS("--demo")) {
            o->demo = 1;
            /* An optional count: "--demo=N", or a next argument that is a
             * number (a URL never is). */
            if (eq) {
                if (parse_int(eq + 1, 1, 100000, &o->demo_count) < 0)
                    return fail(err, errlen, "--demo: not a count: %s", eq + 1);
            } else if (i + 1 < argc &&
                       parse_int(argv[i + 1], 1, 100000, &o->demo_count) == 0) {
                i++;
            }
        } else if (IS("-c") || IS("--concurrency")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_int(v, 1, 100000, &o->concurrency) < 0)
                return fail(err, errlen, "%.*s needs a count from 1 to 100000",
                            (int)nlen, a);
            o->given |= FETCH_GIVEN_CONCURRENCY;
        } else if (IS("--rate")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_num(v, "/s", &o->rate) < 0)
                return fail(
                    err, errlen,
                    "--rate needs requests per second > 0 (e.g. 100/s)");
            o->given |= FETCH_GIVEN_RATE;
        } else if (IS("--timeout")) {
            double s;
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_num(v, "s", &s) < 0 || s > 86400.0 * 365)
                return fail(err, errlen, "--timeout needs seconds > 0");
            o->timeout_ns = (int64_t)(s * CORIO_SECOND);
            if (o->timeout_ns < 1)
                o->timeout_ns = 1;
            o->given |= FETCH_GIVEN_TIMEOUT;
        } else if (IS("--retries")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_int(v, 0, 100, &o->retries) < 0)
                return fail(err, errlen,
                            "--retries needs a count from 0 to 100");
            o->given |= FETCH_GIVEN_RETRIES;
        } else if (IS("-i") || IS("--input")) {
            if (!(v = value_of(argc, argv, &i, eq)))
                return fail(err, errlen, "%.*s needs a file name", (int)nlen,
                            a);
            o->input = v;
        } else if (IS("-o") || IS("--output")) {
            if (!(v = value_of(argc, argv, &i, eq)) || !*v)
                return fail(err, errlen, "%.*s needs a directory", (int)nlen,
                            a);
            o->outdir = v;
        } else {
            return fail(err, errlen, "unknown option %s (see --help)", a);
        }
#undef IS
    }

    if (o->demo && (o->nurls || o->input))
        return fail(err, errlen,
                    "--demo fetches its own URLs: give no URL "
                    "and no -i");
    if (o->demo) {
        /* The demo's defaults show every pattern: a semaphore of 50, the
         * rate limiter, a timeout that ends /hang, retries. */
        if (!(o->given & FETCH_GIVEN_CONCURRENCY))
            o->concurrency = 50;
        if (!(o->given & FETCH_GIVEN_RATE))
            o->rate = 2000;
        if (!(o->given & FETCH_GIVEN_TIMEOUT))
            o->timeout_ns = 2 * CORIO_SECOND;
        if (!(o->given & FETCH_GIVEN_RETRIES))
            o->retries = 2;
    }
    return 0;
}

int fetch_urls_add(struct fetch_urls *l, const char *url)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(url);
    if (!copy)
        return -ENOMEM;
    l->v[l->n++] = copy;
    return 0;
}

int fetch_urls_read(struct fetch_urls *l, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int added = 0, rc = 0;

    while ((len = getline(&line, &cap, in)) >= 0) {
        char *s = line, *e = line + len;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        *e = 0;
        if (s == e || *s == '#')
            continue;
        if ((rc = fetch_urls_add(l, s)) < 0)
            break;
        added++;
    }
    free(line);
    if (rc == 0 && ferror(in))
        rc = -EIO;
    return rc < 0 ? rc : added;
}

void fetch_urls_free(struct fetch_urls *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
