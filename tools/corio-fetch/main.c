/* main.c — corio-fetch: read the command line and the URLs, run the fetch
 * on a corio loop (with the demo server in the same loop for --demo), show
 * progress (stderr), per-URL lines and the summary (stdout; stderr when
 * stdout carries --json lines), and pick the exit status: 0, 1 (a URL
 * failed), 2 (usage), 130 (Ctrl-C, the shell's 128 + SIGINT). */
#include "fetch.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FAILURE_LINES 10 /* failures listed on stderr without --json/-v */
#define EXIT_SIGINT 130

struct app {
    struct fetch_opts opts;
    struct fetch_urls urls;
    struct fetch_run run;
    struct fetch_progress progress;
    int progress_on;
    int stdout_tty; /* per-URL lines share the terminal with the bar */
    FILE *summary;  /* stdout, or stderr when stdout has --json lines */
    size_t failure_lines;
    size_t unexpected; /* --demo: URLs whose outcome was not the intended */
    int exit_status;
};

/* Called by the run as each URL finishes. */
static void on_result(struct fetch_run *run, const struct fetch_result *r)
{
    struct app *a = run->arg;
    const struct fetch_opts *o = &a->opts;
    char what[512];

    if (o->load) /* only the statistics */
        return;
    size_t index = (size_t)(r - run->results);
    if ((o->json || o->verbose) && a->stdout_tty)
        fetch_progress_clear(&a->progress);
    if (o->json)
        fetch_report_json(stdout, r, index + 1);
    else if (o->verbose) {
        fetch_describe(what, sizeof what, r);
        printf("%s %llu B %.1f ms %d attempt%s %s\n", what,
               (unsigned long long)r->bytes, (double)r->ns / CORIO_MS,
               r->attempts, fetch_plural((size_t)r->attempts), r->url);
    }
    if (o->demo && !fetch_demo_expected(index, r, o)) {
        a->unexpected++;
        if (!o->quiet) {
            fetch_describe(what, sizeof what, r);
            fetch_progress_clear(&a->progress);
            fprintf(stderr,
                    "corio-fetch: unexpected for the demo: %s after "
                    "%d attempt%s: %s\n",
                    what, r->attempts, fetch_plural((size_t)r->attempts),
                    r->url);
        }
    }
    /* Errors are logged per URL, a few of them: the summary counts all. */
    if (!o->quiet && !o->json && !o->verbose && !o->demo &&
        fetch_result_failed(r) && a->failure_lines++ < MAX_FAILURE_LINES) {
        fetch_describe(what, sizeof what, r);
        fetch_progress_clear(&a->progress);
        fprintf(stderr, "corio-fetch: %s: %s\n", r->url, what);
        if (a->failure_lines == MAX_FAILURE_LINES)
            fprintf(stderr, "corio-fetch: (further failures are only "
                            "counted; --json lists every URL)\n");
    }
}

/* After Ctrl-C: a line for every URL that was in flight, in input order. */
static void report_cancelled(struct app *a)
{
    struct fetch_run *run = &a->run;
    const struct fetch_opts *o = &a->opts;
    char what[512];
    for (size_t i = 0; i < run->nurls; i++) {
        struct fetch_result *r = &run->results[i];
        if (r->state != 1)
            continue;
        r->err = -ECANCELED;
        r->url = run->urls[i];
        if (o->json) {
            fetch_report_json(stdout, r, i + 1);
        } else if (o->verbose) {
            fetch_describe(what, sizeof what, r);
            printf("%s %llu B %.1f ms %d attempt%s %s\n", what,
                   (unsigned long long)r->bytes, (double)r->ns / CORIO_MS,
                   r->attempts, fetch_plural((size_t)r->attempts), r->url);
        }
    }
}

/* --serve-demo: the demo server alone, until Ctrl-C. */
static int serve_main(struct app *a)
{
    struct fetch_demo *demo;
    int rc = fetch_demo_start_port(&demo, a->opts.serve_port);
    if (rc < 0) {
        fprintf(stderr, "corio-fetch: demo server: %s\n", corio_strerror(rc));
        return rc;
    }
    printf("corio-fetch: demo server on http://127.0.0.1:%d/ (Ctrl-C ends "
           "it): /fast/N /slow/MS /redirect/N /bytes/N /gzip /fail/CODE "
           "/flaky/ID /hang /echo /files/NAME\n",
           fetch_demo_port(demo));
    fflush(stdout);
    rc = corio_sleep(INT64_MAX / 2);
    fetch_demo_stop(demo);
    a->exit_status = rc == -ECANCELED ? EXIT_SIGINT : 1;
    return 0;
}

static int app_main(void *arg)
{
    struct app *a = arg;
    const struct fetch_opts *o = &a->opts;
    struct fetch_run *run = &a->run;
    struct fetch_demo *demo = NULL;
    int rc;

    if (o->serve)
        return serve_main(a);
    if (o->demo) {
        char url[128];
        if ((rc = fetch_demo_start(&demo)) < 0) {
            fprintf(stderr, "corio-fetch: demo server: %s\n",
                    corio_strerror(rc));
            return rc;
        }
        for (size_t i = 0; i < (size_t)o->demo_count; i++) {
            fetch_demo_url(demo, i, url, sizeof url);
            if ((rc = fetch_urls_add(&a->urls, url)) < 0)
                goto out;
        }
        if (!o->quiet) {
            fetch_demo_url(demo, 0, url, sizeof url);
            fprintf(stderr,
                    "corio-fetch: demo server on %.*s; fetching %d URL%s "
                    "with -c %d --rate %.0f/s --timeout %.3gs --retries %d\n",
                    (int)(strstr(url, "/fast") - url), url, o->demo_count,
                    fetch_plural((size_t)o->demo_count), o->concurrency,
                    o->rate, (double)o->timeout_ns / CORIO_SECOND, o->retries);
        }
    }

    run->opts = o;
    run->urls = a->urls.v;
    run->nurls = a->urls.n;
    run->on_result = on_result;
    run->arg = a;
    run->results = calloc(run->nurls ? run->nurls : 1, sizeof *run->results);
    size_t total = o->load ? (size_t)o->count : run->nurls;
    if (!run->results ||
        (rc = fetch_stats_init(&run->stats, total, corio_now())) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    if (!o->quiet &&
        fetch_progress_start(&a->progress, &run->stats, stderr) == 0)
        a->progress_on = 1;

    rc = fetch_run_all(run);

    if (a->progress_on)
        fetch_progress_stop(&a->progress);
    if (rc == -ECANCELED) {
        if (!o->load)
            report_cancelled(a);
        if (!o->quiet)
            fprintf(stderr,
                    "corio-fetch: stopped by Ctrl-C: %zu finished, %zu in "
                    "flight cancelled\n",
                    run->stats.done, run->stats.cancelled);
    }
    if (o->load && o->json)
        fetch_stats_json(&run->stats, stdout, corio_now(), run->urls[0]);
    else if (!o->quiet)
        fetch_stats_print(&run->stats, a->summary, corio_now());
    if (o->insecure && !o->quiet)
        fprintf(a->summary, "  WARNING: -k/--insecure: no certificate or "
                            "host name was verified\n");
    if (rc < 0 && rc != -ECANCELED)
        fprintf(stderr, "corio-fetch: stopped: %s\n", corio_strerror(rc));
    if (rc == -ECANCELED) {
        a->exit_status = EXIT_SIGINT;
    } else if (o->demo) {
        a->exit_status = rc == 0 && a->unexpected == 0 ? 0 : 1;
        if (!o->quiet)
            fprintf(a->summary,
                    "demo: %zu of %zu URL%s got the outcome their "
                    "endpoint is meant to give\n",
                    run->stats.done - a->unexpected, run->nurls,
                    fetch_plural(run->nurls));
    } else if (o->load) {
        a->exit_status = rc == 0 && run->stats.errors == 0 ? 0 : 1;
    } else {
        a->exit_status = rc == 0 && run->stats.failed == 0 ? 0 : 1;
    }
    fflush(stdout);
out:
    fetch_demo_stop(demo);
    fetch_stats_destroy(&run->stats);
    free(run->results);
    return rc == -ECANCELED ? 0 : rc;
}

static void version(void)
{
    printf("corio-fetch %s (corio %d.%d.%d, %s)\n", CORIO_FETCH_VERSION,
           CORIO_VERSION_MAJOR, CORIO_VERSION_MINOR, CORIO_VERSION_PATCH,
           OpenSSL_version(OPENSSL_VERSION));
}

/* mkdir -p. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct app a;
    char err[300];

    int rc = fetch_args_parse(&a.opts, argc, argv, err, sizeof err);
    if (rc == FETCH_ARGS_HELP) {
        fetch_usage(stdout);
        return 0;
    }
    if (rc == FETCH_ARGS_VERSION) {
        version();
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "corio-fetch: %s\n", err);
        fetch_opts_free(&a.opts);
        return 2;
    }
    if (a.opts.insecure && !a.opts.quiet)
        fprintf(stderr,
                "corio-fetch: WARNING: -k/--insecure: certificates and host "
                "names are NOT verified; anyone on the path can read and "
                "change this traffic\n");
    for (int i = 0; i < a.opts.nurls; i++)
        if (fetch_urls_add(&a.urls, a.opts.urls[i]) < 0)
            goto nomem;
    if (!a.opts.serve && (a.opts.input || (!a.opts.nurls && !a.opts.demo))) {
        const char *path = a.opts.input ? a.opts.input : "-";
        FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
        if (!in) {
            fprintf(stderr, "corio-fetch: %s: %s\n", path, strerror(errno));
            return 2;
        }
        if (in == stdin && isatty(fileno(stdin)) && !a.opts.input) {
            fprintf(stderr, "corio-fetch: no URLs (give some, -i FILE, or "
                            "pipe them in; --help)\n");
            return 2;
        }
        rc = fetch_urls_read(&a.urls, in);
        if (in != stdin)
            fclose(in);
        if (rc == -ENOMEM)
            goto nomem;
        if (rc < 0) {
            fprintf(stderr, "corio-fetch: %s: read error\n", path);
            return 2;
        }
    }
    struct stat st;
    if (a.opts.outdir && a.opts.create_dirs &&
        (rc = make_dirs(a.opts.outdir)) < 0) {
        fprintf(stderr, "corio-fetch: --create-dirs %s: %s\n", a.opts.outdir,
                strerror(-rc));
        return 2;
    }
    if (a.opts.outdir && stat(a.opts.outdir, &st) < 0) {
        fprintf(stderr,
                "corio-fetch: -o %s: no such directory (--create-dirs makes "
                "it)\n",
                a.opts.outdir);
        return 2;
    }
    if (a.opts.outdir && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "corio-fetch: -o %s: not a directory\n", a.opts.outdir);
        return 2;
    }
    if (a.urls.n == 0 && !a.opts.demo && !a.opts.serve) {
        fprintf(stderr, "corio-fetch: no URLs to fetch\n");
        return 2;
    }
    /* Lines appear as they happen even through a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    a.exit_status = 1;
    a.stdout_tty = isatty(fileno(stdout));
    /* The summary goes with the program's output (stdout), so redirecting
     * it keeps it whole; --json lines keep stdout to themselves. */
    a.summary = a.opts.json && !a.opts.load ? stderr : stdout;
    int result = 0;
    rc = corio_run(app_main, &a, &result);
    if (rc == 0)
        rc = result;
    fetch_urls_free(&a.urls);
    fetch_opts_free(&a.opts);
    if (rc < 0 && rc != -ECANCELED)
        fprintf(stderr, "corio-fetch: %s\n", corio_strerror(rc));
    return a.exit_status;
nomem:
    fprintf(stderr, "corio-fetch: out of memory\n");
    return 1;
}
