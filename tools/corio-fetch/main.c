/* main.c — corio-fetch: read the command line and the URLs, run the fetch
 * on a corio loop (with the demo server in the same loop for --demo), show
 * progress, per-URL lines and the summary, and pick the exit status. */
#include "fetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FAILURE_LINES 10 /* failures listed on stderr without --json/-v */

struct app {
    struct fetch_opts opts;
    struct fetch_urls urls;
    struct fetch_run run;
    struct fetch_progress progress;
    int progress_on;
    int stdout_tty; /* per-URL lines share the terminal with the bar */
    size_t failure_lines;
    size_t unexpected; /* --demo: URLs whose outcome was not the intended */
    int exit_status;
};

static void describe(char *buf, size_t cap, const struct fetch_result *r)
{
    if (r->err < 0)
        snprintf(buf, cap, "%s (%s)", fetch_kind_name(fetch_error_kind(r->err)),
                 corio_strerror(r->err));
    else
        snprintf(buf, cap, "%d", r->status);
}

/* Called by the run as each URL finishes. */
static void on_result(struct fetch_run *run, const struct fetch_result *r)
{
    struct app *a = run->arg;
    const struct fetch_opts *o = &a->opts;
    char what[160];

    if ((o->json || o->verbose) && a->stdout_tty)
        fetch_progress_clear(&a->progress);
    if (o->json)
        fetch_report_json(stdout, r);
    else if (o->verbose) {
        describe(what, sizeof what, r);
        printf("%s %llu B %.1f ms %d attempt%s %s\n", what,
               (unsigned long long)r->bytes, (double)r->ns / CORIO_MS,
               r->attempts, r->attempts == 1 ? "" : "s", r->url);
    }
    if (o->demo && !fetch_demo_expected((size_t)(r - run->results), r, o)) {
        a->unexpected++;
        if (!o->quiet) {
            describe(what, sizeof what, r);
            fetch_progress_clear(&a->progress);
            fprintf(stderr,
                    "corio-fetch: unexpected for the demo: %s after "
                    "%d attempts: %s\n",
                    what, r->attempts, r->url);
        }
    }
    /* Errors are logged per URL, a few of them: the summary counts all. */
    if (!o->quiet && !o->json && !o->verbose && !o->demo &&
        fetch_result_failed(r) && a->failure_lines++ < MAX_FAILURE_LINES) {
        describe(what, sizeof what, r);
        fetch_progress_clear(&a->progress);
        fprintf(stderr, "corio-fetch: %s: %s\n", r->url, what);
        if (a->failure_lines == MAX_FAILURE_LINES)
            fprintf(stderr, "corio-fetch: (further failures are only "
                            "counted; --json lists every URL)\n");
    }
}

static int app_main(void *arg)
{
    struct app *a = arg;
    const struct fetch_opts *o = &a->opts;
    struct fetch_run *run = &a->run;
    struct fetch_demo *demo = NULL;
    int rc;

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
                    "corio-fetch: demo server on %.*s; fetching %d URLs with "
                    "-c %d --rate %.0f/s --timeout %.3g --retries %d\n",
                    (int)(strstr(url, "/fast") - url), url, o->demo_count,
                    o->concurrency, o->rate,
                    (double)o->timeout_ns / CORIO_SECOND, o->retries);
        }
    }

    run->opts = o;
    run->urls = a->urls.v;
    run->nurls = a->urls.n;
    run->on_result = on_result;
    run->arg = a;
    run->results = calloc(run->nurls ? run->nurls : 1, sizeof *run->results);
    if (!run->results ||
        (rc = fetch_stats_init(&run->stats, run->nurls, corio_now())) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    if (!o->quiet &&
        fetch_progress_start(&a->progress, &run->stats, stderr) == 0)
        a->progress_on = 1;

    rc = fetch_run_all(run);

    if (a->progress_on)
        fetch_progress_stop(&a->progress);
    if (!o->quiet)
        fetch_stats_print(&run->stats, stderr, corio_now());
    if (rc < 0)
        fprintf(stderr, "corio-fetch: stopped: %s\n", corio_strerror(rc));
    if (o->demo) {
        a->exit_status = rc == 0 && a->unexpected == 0 ? 0 : 1;
        if (!o->quiet)
            fprintf(stderr,
                    "demo: %zu of %zu URLs got the outcome their "
                    "endpoint is meant to give\n",
                    run->stats.done - a->unexpected, run->nurls);
    } else {
        a->exit_status = rc == 0 && run->stats.failed == 0 ? 0 : 1;
    }
out:
    fetch_demo_stop(demo);
    fetch_stats_destroy(&run->stats);
    free(run->results);
    return rc;
}

int main(int argc, char **argv)
{
    static struct app a;
    char err[200];

    int rc = fetch_args_parse(&a.opts, argc, argv, err, sizeof err);
    if (rc == FETCH_ARGS_HELP) {
        fetch_usage(stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "corio-fetch: %s\n", err);
        return 2;
    }
    for (int i = 0; i < a.opts.nurls; i++)
        if (fetch_urls_add(&a.urls, a.opts.urls[i]) < 0)
            goto nomem;
    if (a.opts.input || (!a.opts.nurls && !a.opts.demo)) {
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
    if (a.opts.outdir &&
        (stat(a.opts.outdir, &st) < 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "corio-fetch: -o %s: not a directory\n", a.opts.outdir);
        return 2;
    }
    if (a.urls.n == 0 && !a.opts.demo) {
        fprintf(stderr, "corio-fetch: no URLs to fetch\n");
        return 2;
    }
    /* Lines appear as they happen even through a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    a.exit_status = 1;
    a.stdout_tty = isatty(fileno(stdout));
    int result = 0;
    rc = corio_run(app_main, &a, &result);
    if (rc == 0)
        rc = result;
    fetch_urls_free(&a.urls);
    if (rc < 0 && rc != -ECANCELED)
        fprintf(stderr, "corio-fetch: %s\n", corio_strerror(rc));
    return a.exit_status;
nomem:
    fprintf(stderr, "corio-fetch: out of memory\n");
    return 1;
}
