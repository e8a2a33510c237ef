/* progress.c — corio-fetch's progress display on stderr: the line format
 * (fetch_progress_format, pure) and the task that shows it
 * (fetch_progress_start/clear/stop).  On a terminal the bar is redrawn in
 * place at most 10 times a second ("\r" and erase-to-end-of-line), fitted
 * to the terminal's width as it is at each redraw (so a resize is followed
 * without a SIGWINCH handler); when
 * stderr is a file or a pipe a plain line is written each second instead,
 * so logs stay readable. */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REDRAW_NS (100 * CORIO_MS) /* terminal: 10 redraws a second */
#define PLAIN_NS CORIO_SECOND      /* not a terminal: a line a second */
#define MIN_CELLS 6                /* fields go before the bar is smaller */

int fetch_terminal_columns(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 0 ? n : 80;
}

static void fmt_eta(char *buf, size_t cap, double secs)
{
    long s = (long)(secs + 0.5);
    if (secs > 0 && secs < 0.5)
        snprintf(buf, cap, "<1s");
    else if (s < 60)
        snprintf(buf, cap, "%lds", s);
    else if (s < 3600)
        snprintf(buf, cap, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, cap, "%ldh%02ldm", s / 3600, s / 60 % 60);
}

/* The fields of the line, most important first; the bar drops them from
 * the end of this order when the terminal is narrow (the percentage first:
 * the bar and the count say it already).  At 40 columns the count,
 * failures, rate and ETA stay. */
enum { F_COUNT, F_FAILED, F_RATE, F_ETA, F_INFLIGHT, F_PCT, F_N };

int fetch_progress_format(char *buf, size_t cap, const struct fetch_stats *s,
                          int64_t now_ns, int bar, int columns)
{
    double secs = (double)(now_ns - s->start_ns) / CORIO_SECOND;
    double rate = secs > 0 ? (double)s->done / secs : 0;
    double frac, eta = -1;
    char f[F_N][48];
    int n;

    if (s->total) {
        size_t done = s->done < s->total ? s->done : s->total;
        frac = (double)done / (double)s->total;
        snprintf(f[F_COUNT], sizeof f[0], "%zu/%zu", s->done, s->total);
        /* When every URL left is already in flight, the end is the slowest
         * of them (a hanging one waits out its timeout): the rate says
         * nothing about it, so no ETA rather than a false "0s". */
        if (rate > 0 && (s->total - done > s->inflight || s->inflight == 0))
            eta = (double)(s->total - done) / rate;
    } else {
        /* -z: the time is the measure. */
        double d = (double)s->duration_ns / CORIO_SECOND;
        frac = d > 0 ? secs / d : 0;
        if (frac > 1)
            frac = 1;
        snprintf(f[F_COUNT], sizeof f[0], "%zu done", s->done);
        if (d > 0)
            eta = d - secs > 0 ? d - secs : 0;
    }
    snprintf(f[F_PCT], sizeof f[0], "%d%%", (int)(100 * frac));
    snprintf(f[F_FAILED], sizeof f[0], "%zu failed", s->failed);
    snprintf(f[F_RATE], sizeof f[0], "%.0f/s", rate);
    snprintf(f[F_INFLIGHT], sizeof f[0], "%zu in flight", s->inflight);
    if (eta >= 0) {
        char e[32];
        fmt_eta(e, sizeof e, eta);
        snprintf(f[F_ETA], sizeof f[0], "ETA %s", e);
    } else {
        snprintf(f[F_ETA], sizeof f[0], "ETA -");
    }

    if (!bar) {
        n = snprintf(buf, cap, "%s%s, %zu in flight, %s, %s, %s", f[F_COUNT],
                     s->total ? " done" : "", s->inflight, f[F_RATE],
                     f[F_FAILED], f[F_ETA]);
        if (n < 0)
            return 0;
        return (size_t)n >= cap && cap ? (int)cap - 1 : n;
    }

    /* Fit "[cells] fields" into columns - 1 cells: writing the last column
     * makes some terminals wrap, and a wrapped bar is redrawn on a new line
     * each time. */
    int room = columns - 1, keep = F_N, text = 0;
    for (;;) {
        text = 0;
        for (int i = 0; i < keep; i++)
            text += (int)strlen(f[i]) + (i ? 1 : 0);
        if (room - text - 3 >= MIN_CELLS || keep == 1)
            break;
        keep--;
    }
    int cells = room - text - 3; /* "[", "] " */
    char line[512];
    size_t len = 0;
    if (cells >= 3) {
        if (cells > 200)
            cells = 200;
        int full = (int)(frac * cells);
        line[len++] = '[';
        memset(line + len, '#', (size_t)full);
        memset(line + len + full, '.', (size_t)(cells - full));
        len += (size_t)cells;
        line[len++] = ']';
        line[len++] = ' ';
    }
    for (int i = 0; i < keep; i++) {
        int k =
            snprintf(line + len, sizeof line - len, "%s%s", i ? " " : "", f[i]);
        if (k > 0)
            len += (size_t)k;
        if (len >= sizeof line)
            len = sizeof line - 1;
    }
    line[len] = 0;
    if (len > (size_t)(room > 0 ? room : 0)) /* narrower than a field */
        len = (size_t)(room > 0 ? room : 0);
    line[len] = 0;
    n = snprintf(buf, cap, "%s", line);
    if (n < 0)
        return 0;
    return (size_t)n >= cap && cap ? (int)cap - 1 : n;
}

static void draw(struct fetch_progress *p)
{
    char line[512];
    int columns = p->tty ? fetch_terminal_columns(fileno(p->out)) : 0;
    fetch_progress_format(line, sizeof line, p->stats, corio_now(), p->tty,
                          columns);
    if (p->tty) {
        fprintf(p->out, "\r%s\033[K", line);
        p->drawn = 1;
    } else {
        fprintf(p->out, "progress: %s\n", line);
    }
    fflush(p->out);
}

static int progress_task(void *arg)
{
    struct fetch_progress *p = arg;
    size_t last = 0;
    for (;;) {
        /* A bar shows at once; a plain line only after a second, and only
         * when something changed, so a short run or an idle wait on a slow
         * server does not fill a log. */
        if (p->tty || p->stats->done != last) {
            draw(p);
            last = p->stats->done;
        }
        int rc = corio_sleep(p->tty ? REDRAW_NS : PLAIN_NS);
        if (rc < 0)
            return rc == -ECANCELED ? 0 : rc;
    }
}

int fetch_progress_start(struct fetch_progress *p, struct fetch_stats *s,
                         FILE *out)
{
    memset(p, 0, sizeof *p);
    p->stats = s;
    p->out = out;
    p->tty = isatty(fileno(out));
    return corio_task_spawn(&p->task, progress_task, p);
}

void fetch_progress_clear(struct fetch_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", p->out);
        p->drawn = 0;
    }
}

void fetch_progress_stop(struct fetch_progress *p)
{
    if (!p->task)
        return;
    /* Shielded: a stop while the caller is being cancelled (Ctrl-C) must
     * still reap the task. */
    corio_task_cancel(p->task);
    int shield;
    CORIO_WITH_SHIELD(shield)
    {
        CORIO_IGNORE(corio_task_join(p->task, NULL));
    }
    p->task = NULL;
    draw(p);
    if (p->tty)
        fputc('\n', p->out);
    p->drawn = 0;
}
