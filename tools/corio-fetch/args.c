/* args.c — corio-fetch's command line (fetch_args_parse, fetch_usage),
 * times and rates with units (fetch_parse_time, fetch_parse_rate), -O's
 * file names (fetch_remote_name) and URL lists read from a file or stdin
 * (fetch_urls_*).  Nothing here touches the loop, so the test runner
 * checks it directly; the only files read are -d @FILE bodies. */
#include "fetch.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fetch_usage(FILE *out)
{
    fputs(
        "usage: corio-fetch [options] [URL...]\n"
        "       corio-fetch -n N | -z TIME [options] URL    (load mode)\n"
        "       corio-fetch --demo [N] [options]\n"
        "\n"
        "Fetch URLs concurrently through one pooled HTTP session.  URLs come\n"
        "from the arguments, from -i FILE, or from stdin when there are none\n"
        "(one per line; blank lines and lines starting with # are skipped).\n"
        "TIME is a number with ms, s, m or h (no unit: seconds); RATE is a\n"
        "number with /s, /min or /h (no unit: per second).\n"
        "\n"
        "Fetching:\n"
        "  -c, --concurrency N   requests in flight at most (default 10;\n"
        "                        load mode 50)\n"
        "      --rate RATE       start at most RATE requests (100/s, 20/min)\n"
        "      --timeout TIME    total time per request attempt (default 30s)\n"
        "      --retries N       retry connect errors, timeouts, 429, 502,\n"
        "                        503 and 504 up to N times, with exponential\n"
        "                        backoff and jitter (429: Retry-After)\n"
        "  -i, --input FILE      read URLs from FILE (- for stdin)\n"
        "Requests:\n"
        "  -X, --request METHOD  the method (default GET; POST with a body)\n"
        "  -H, --header 'N: V'   add a header (repeatable)\n"
        "  -d, --data DATA       send DATA (@FILE: the file, CR/LF removed;\n"
        "                        repeated: joined with &) as\n"
        "                        application/x-www-form-urlencoded\n"
        "      --data-binary DATA  the same, @FILE sent byte for byte\n"
        "      --json-body DATA  send DATA (or @FILE) as application/json,\n"
        "                        with Accept: application/json\n"
        "  -A, --user-agent NAME User-Agent (default corio-fetch/VERSION)\n"
        "  -L, --location        follow redirects (the default, as hey and\n"
        "                        oha do; curl needs -L)\n"
        "      --max-redirs N    follow at most N redirects (default 10; 0:\n"
        "                        return 3xx responses as they are)\n"
        "      --compressed      ask for gzip/deflate and decode (default;\n"
        "                        bytes count decoded bodies)\n"
        "      --no-compressed   send no Accept-Encoding\n"
        "TLS:\n"
        "      --cacert FILE     trust the CAs of this PEM file (instead of\n"
        "                        the system's)\n"
        "      --capath DIR      trust the CAs of this hashed directory\n"
        "  -k, --insecure        DANGEROUS: accept any certificate and name\n"
        "      --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT (the\n"
        "                        URL's name is still sent and verified)\n"
        "Output:\n"
        "  -o, --output DIR      save each body (decoded) as DIR/N, N the\n"
        "                        URL's position in the list from 1\n"
        "  -O, --remote-name     save each body under the URL's last path\n"
        "                        segment (in -o DIR, else here; none: N)\n"
        "      --create-dirs     create -o DIR (and its parents) if missing\n"
        "      --json            one JSON line per URL on stdout: index, url,\n"
        "                        status, bytes, ms, attempts, error (load\n"
        "                        mode: the summary as one JSON object)\n"
        "  -v, --verbose         one plain line per URL on stdout\n"
        "  -q, --quiet           no progress, failure lines or summary\n"
        "Load mode (hey, oha):\n"
        "  -n, --requests N      fetch the one URL N times\n"
        "  -z, --duration TIME   ... or for TIME (both: whichever ends "
        "first);\n"
        "                        a latency histogram, p50/p90/p99/p99.9/max,\n"
        "                        status counts, error kinds, requests/s\n"
        "Other:\n"
        "      --demo [N]        start a demo server on 127.0.0.1 and fetch N\n"
        "                        (default 1000, at most 100000) URLs of its\n"
        "                        mix of fast, slow, failing, hanging and\n"
        "                        redirecting endpoints\n"
        "                        (defaults -c 50 --rate 2000/s --timeout 2s\n"
        "                        --retries 2)\n"
        "      --serve-demo [PORT]  only run the demo server (until Ctrl-C)\n"
        "  -V, --version         corio-fetch's, corio's and OpenSSL's "
        "versions\n"
        "  -h, --help            this text\n"
        "\n"
        "Progress goes to stderr (a bar on a terminal, fitted to its width),\n"
        "the summary to stdout (to stderr with --json).  The latency figures\n"
        "are of responses (any status); failures without a response are\n"
        "counted by kind, with their own figures.\n"
        "Exit status: 0 every URL answered 2xx or 3xx (load mode: every\n"
        "request got a response), 1 some did not, 2 usage error, 130\n"
        "stopped by Ctrl-C.  With --demo: 0 when every URL got the outcome\n"
        "its endpoint is meant to give.  See corio-fetch(1).\n",
        out);
}

const char *fetch_plural(size_t n)
{
    return n == 1 ? "" : "s";
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
static int parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
    long long v;
    if (parse_ll(s, lo, hi, &v) < 0)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* A finite number > 0 and where its unit starts. */
static int parse_pos(const char *s, double *out, const char **unit)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v <= 0 ||
        isspace((unsigned char)*s))
        return -EINVAL;
    *out = v;
    *unit = end;
    return 0;
}

int64_t fetch_parse_time(const char *s)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"", 1e9},   {"ms", 1e6},   {"s", 1e9},
                 {"m", 60e9}, {"min", 60e9}, {"h", 3600e9}};
    double v;
    const char *u;
    if (!s || parse_pos(s, &v, &u) < 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(u, units[i].unit) != 0)
            continue;
        double ns = v * units[i].ns;
        if (ns > 366.0 * 86400 * 1e9)
            return -1;
        return ns < 1 ? 1 : (int64_t)ns;
    }
    return -1;
}

double fetch_parse_rate(const char *s)
{
    static const struct {
        const char *unit;
        double per_s;
    } units[] = {{"", 1},          {"/s", 1},          {"/sec", 1},
                 {"/m", 1 / 60.0}, {"/min", 1 / 60.0}, {"/h", 1 / 3600.0}};
    double v;
    const char *u;
    if (!s || parse_pos(s, &v, &u) < 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i].unit) == 0)
            return v * units[i].per_s;
    return -1;
}

void fetch_remote_name(const char *url, char *buf, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t end = strcspn(p, "?#");
    const char *path = memchr(p, '/', end);
    buf[0] = 0;
    if (!path || cap == 0)
        return;
    const char *stop = p + end, *seg = stop;
    while (seg > path && seg[-1] != '/')
        seg--;
    size_t n = (size_t)(stop - seg);
    if (n == 0 || n >= cap || (n == 1 && seg[0] == '.') ||
        (n == 2 && seg[0] == '.' && seg[1] == '.'))
        return;
    memcpy(buf, seg, n);
    buf[n] = 0;
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

/* The whole of file path into *out (owned, NUL-terminated) and *len. */
static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    int rc = 0;
    while (b) {
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
        }
        size_t k = fread(b + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    if (!b)
        rc = -ENOMEM;
    else if (ferror(f))
        rc = -EIO;
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

/* Add DATA (or @FILE's bytes) to the body: -d joins parts with '&' and
 * drops CR and LF from files, as curl does; --data-binary and --json-body
 * take the bytes as they are. */
static int add_body(struct fetch_opts *o, const char *v, int binary, char *err,
                    size_t errlen)
{
    char *part = NULL;
    size_t len = 0;
    int from_file = v[0] == '@';
    if (from_file) {
        int rc = read_file(v + 1, &part, &len);
        if (rc < 0)
            return fail(err, errlen, "%s: %s", v + 1, strerror(-rc));
        if (!binary) {
            size_t k = 0;
            for (size_t i = 0; i < len; i++)
                if (part[i] != '\r' && part[i] != '\n')
                    part[k++] = part[i];
            len = k;
        }
    } else {
        part = (char *)v;
        len = strlen(v);
    }
    size_t sep = o->has_body && !binary ? 1 : 0;
    char *b = realloc(o->body, o->body_len + sep + len + 1);
    if (!b) {
        if (from_file)
            free(part);
        return fail(err, errlen, "out of memory");
    }
    if (sep)
        b[o->body_len] = '&';
    memcpy(b + o->body_len + sep, part, len);
    o->body_len += sep + len;
    b[o->body_len] = 0;
    o->body = b;
    o->has_body = 1;
    if (from_file)
        free(part);
    return 0;
}

/* -H 'Name: value' as a copied pair; User-Agent goes to -A. */
static int add_header(struct fetch_opts *o, const char *v, char *err,
                      size_t errlen)
{
    const char *colon = strchr(v, ':');
    if (!colon || colon == v)
        return fail(err, errlen, "-H needs 'Name: value', not %s", v);
    size_t nlen = (size_t)(colon - v);
    const char *val = colon + 1;
    while (*val == ' ' || *val == '\t')
        val++;
    if (nlen == 10 && strncasecmp(v, "User-Agent", 10) == 0) {
        o->user_agent = val;
        return 0;
    }
    static const char *const own[] = {"Host", "Content-Length",
                                      "Transfer-Encoding", "Connection"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strlen(own[i]) == nlen && strncasecmp(v, own[i], nlen) == 0)
            return fail(err, errlen,
                        "-H %s: the session sets it (for another host, "
                        "see --resolve)",
                        own[i]);
    if (nlen == 12 && strncasecmp(v, "Content-Type", 12) == 0)
        o->given |= FETCH_GIVEN_CONTENT_TYPE;
    char **h = realloc(o->headers, (2 * o->nheaders + 3) * sizeof *h);
    if (!h)
        return fail(err, errlen, "out of memory");
    o->headers = h;
    h[2 * o->nheaders] = strndup(v, nlen);
    h[2 * o->nheaders + 1] = strdup(val);
    h[2 * o->nheaders + 2] = NULL;
    if (!h[2 * o->nheaders] || !h[2 * o->nheaders + 1])
        return fail(err, errlen, "out of memory");
    o->nheaders++;
    return 0;
}

/* --resolve HOST:PORT:ADDR (ADDR may be [v6]). */
static int add_resolve(struct fetch_opts *o, const char *v, char *err,
                       size_t errlen)
{
    const char *c1 = strchr(v, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    struct fetch_resolve r = {0};
    char port[8];
    if (!c1 || !c2 || c1 == v || (size_t)(c1 - v) >= sizeof r.host ||
        (size_t)(c2 - c1 - 1) >= sizeof port || !c2[1])
        return fail(err, errlen, "--resolve needs HOST:PORT:ADDR, not %s", v);
    memcpy(r.host, v, (size_t)(c1 - v));
    memcpy(port, c1 + 1, (size_t)(c2 - c1 - 1));
    port[c2 - c1 - 1] = 0;
    const char *a = c2 + 1;
    size_t alen = strlen(a);
    if (a[0] == '[' && alen > 2 && a[alen - 1] == ']') {
        a++;
        alen -= 2;
    }
    if (parse_int(port, 1, 65535, &r.port) < 0 || alen >= sizeof r.addr)
        return fail(err, errlen, "--resolve needs HOST:PORT:ADDR, not %s", v);
    memcpy(r.addr, a, alen);
    struct fetch_resolve *n =
        realloc(o->resolve, (size_t)(o->nresolve + 1) * sizeof *n);
    if (!n)
        return fail(err, errlen, "out of memory");
    n[o->nresolve++] = r;
    o->resolve = n;
    return 0;
}

void fetch_opts_free(struct fetch_opts *o)
{
    for (size_t i = 0; o->headers && i < 2 * o->nheaders; i++)
        free(o->headers[i]);
    free(o->headers);
    free(o->body);
    free(o->resolve);
    o->headers = NULL;
    o->body = NULL;
    o->resolve = NULL;
    o->nheaders = 0;
    o->nresolve = 0;
}

int fetch_args_parse(struct fetch_opts *o, int argc, char **argv, char *err,
                     size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 10;
    o->timeout_ns = 30 * CORIO_SECOND;
    o->demo_count = 1000;
    o->max_redirs = 10;
    o->urls = argv + argc; /* an empty list until the first URL */
    int only_urls = 0, rc;

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
        /* Long options may carry "=value"; the name is compared without it.
         * Short ones may carry their value attached ("-c10", "-XPUT"). */
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        char shortopt[3] = {0};
        if (a[1] != '-' && nlen > 2 && strchr("cXHdAoinz", a[1])) {
            shortopt[0] = '-';
            shortopt[1] = a[1];
            eq = a + 1; /* the value starts at a + 2 */
            nlen = 2;
        }
#define IS(name) (strlen(name) == nlen && strncmp(a, name, nlen) == 0)
        const char *v;
        const char *oname = shortopt[0] ? shortopt : a;
        if (IS("-h") || IS("--help")) {
            return FETCH_ARGS_HELP;
        } else if (IS("-V") || IS("--version")) {
            return FETCH_ARGS_VERSION;
        } else if (IS("-q") || IS("--quiet")) {
            o->quiet = 1;
        } else if (IS("-v") || IS("--verbose")) {
            o->verbose = 1;
        } else if (IS("--json")) {
            o->json = 1;
        } else if (IS("--demo") || IS("--serve-demo")) {
            int serve = IS("--serve-demo");
            int *n = serve ? &o->serve_port : &o->demo_count;
            long hi = serve ? 65535 : 100000, lo = serve ? 0 : 1;
            if (serve)
                o->serve = 1;
            else
                o->demo = 1;
            /* An optional count: "--demo=N", or a next argument that is a
             * number (a URL never is). */
            if (eq) {
                if (parse_int(eq + 1, lo, hi, n) < 0)
                    return fail(err, errlen, "%.*s: not a %s: %s", (int)nlen, a,
                                serve ? "port" : "count", eq + 1);
            } else if (i + 1 < argc && parse_int(argv[i + 1], lo, hi, n) == 0) {
                i++;
            }
        } else if (IS("-c") || IS("--concurrency")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_int(v, 1, 100000, &o->concurrency) < 0)
                return fail(err, errlen, "%s needs a count from 1 to 100000",
                            oname);
            o->given |= FETCH_GIVEN_CONCURRENCY;
        } else if (IS("--rate")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                (o->rate = fetch_parse_rate(v)) <= 0)
                return fail(err, errlen,
                            "--rate needs a rate > 0: 100, 100/s, 20/min, "
                            "500/h");
            o->given |= FETCH_GIVEN_RATE;
        } else if (IS("--timeout")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                (o->timeout_ns = fetch_parse_time(v)) < 0)
                return fail(err, errlen,
                            "--timeout needs a time > 0: 500ms, 2s, 2, 1.5m");
            o->given |= FETCH_GIVEN_TIMEOUT;
        } else if (IS("--retries")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_int(v, 0, 100, &o->retries) < 0)
                return fail(err, errlen,
                            "--retries needs a count from 0 to 100");
            o->given |= FETCH_GIVEN_RETRIES;
        } else if (IS("-i") || IS("--input")) {
            if (!(v = value_of(argc, argv, &i, eq)))
                return fail(err, errlen, "%s needs a file name", oname);
            o->input = v;
        } else if (IS("-o") || IS("--output")) {
            if (!(v = value_of(argc, argv, &i, eq)) || !*v)
                return fail(err, errlen, "%s needs a directory", oname);
            o->outdir = v;
        } else if (IS("-O") || IS("--remote-name")) {
            o->remote_name = 1;
        } else if (IS("--create-dirs")) {
            o->create_dirs = 1;
        } else if (IS("-X") || IS("--request")) {
            if (!(v = value_of(argc, argv, &i, eq)) || !*v)
                return fail(err, errlen, "%s needs a method", oname);
            for (const char *p = v; *p; p++)
                if (!isalnum((unsigned char)*p) &&
                    !strchr("!#$%&'*+-.^_`|~", *p))
                    return fail(err, errlen, "%s: not a method: %s", oname, v);
            o->method = v;
        } else if (IS("-H") || IS("--header")) {
            if (!(v = value_of(argc, argv, &i, eq)))
                return fail(err, errlen, "%s needs 'Name: value'", oname);
            if ((rc = add_header(o, v, err, errlen)) < 0)
                return rc;
        } else if (IS("-d") || IS("--data") || IS("--data-binary") ||
                   IS("--json-body")) {
            int binary = !IS("-d") && !IS("--data");
            int json = IS("--json-body");
            if (!(v = value_of(argc, argv, &i, eq)))
                return fail(err, errlen, "%s needs data or @FILE", oname);
            if ((rc = add_body(o, v, binary, err, errlen)) < 0)
                return rc;
            if (json)
                o->json_body = 1;
            o->body_type = o->json_body ? "application/json"
                                        : "application/x-www-form-urlencoded";
        } else if (IS("-A") || IS("--user-agent")) {
            if (!(v = value_of(argc, argv, &i, eq)))
                return fail(err, errlen, "%s needs a name", oname);
            o->user_agent = v;
        } else if (IS("-L") || IS("--location")) {
            /* Already the default; kept for curl's users. */
        } else if (IS("--max-redirs")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_int(v, 0, 1000, &o->max_redirs) < 0)
                return fail(err, errlen,
                            "--max-redirs needs a count from 0 to 1000");
        } else if (IS("--compressed")) {
            o->no_compressed = 0;
        } else if (IS("--no-compressed")) {
            o->no_compressed = 1;
        } else if (IS("--cacert") || IS("--capath")) {
            if (!(v = value_of(argc, argv, &i, eq)) || !*v)
                return fail(err, errlen, "%.*s needs a %s", (int)nlen, a,
                            IS("--cacert") ? "file" : "directory");
            if (IS("--cacert"))
                o->cacert = v;
            else
                o->capath = v;
        } else if (IS("-k") || IS("--insecure")) {
            o->insecure = 1;
        } else if (IS("--resolve")) {
            if (!(v = value_of(argc, argv, &i, eq)))
                return fail(err, errlen, "--resolve needs HOST:PORT:ADDR");
            if ((rc = add_resolve(o, v, err, errlen)) < 0)
                return rc;
        } else if (IS("-n") || IS("--requests")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                parse_ll(v, 1, 1000000000LL, &o->count) < 0)
                return fail(err, errlen,
                            "%s needs a count from 1 to 1000000000", oname);
            o->load = 1;
        } else if (IS("-z") || IS("--duration")) {
            if (!(v = value_of(argc, argv, &i, eq)) ||
                (o->duration_ns = fetch_parse_time(v)) < 0)
                return fail(err, errlen, "%s needs a time > 0: 10s, 500ms, 2m",
                            oname);
            o->load = 1;
        } else {
            return fail(err, errlen, "unknown option %s (see --help)", a);
        }
#undef IS
    }

    if (o->demo && (o->nurls || o->input))
        return fail(err, errlen,
                    "--demo fetches its own URLs: give no URL "
                    "and no -i");
    if (o->load && (o->nurls != 1 || o->input || o->demo))
        return fail(err, errlen,
                    "load mode (-n, -z) takes exactly one URL (and no -i or "
                    "--demo)");
    if (o->load && (o->outdir || o->remote_name))
        return fail(err, errlen, "load mode keeps no bodies: no -o or -O");
    if (o->create_dirs && !o->outdir)
        return fail(err, errlen, "--create-dirs needs -o DIR");
    if (o->has_body && !o->method)
        o->method = "POST";
    if (o->load && !(o->given & FETCH_GIVEN_CONCURRENCY))
        o->concurrency = 50;
    if (o->load && o->count && o->count < o->concurrency)
        o->concurrency = (int)o->count;
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
