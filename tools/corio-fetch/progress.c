/* progress.c — corio-fetch's progress display on stderr: the line format
 * (fetch_progress_format, pure) and the task that shows it
 * (fetch_progress_start/clear/stop).  On a terminal the bar is redrawn in
 * place at most 10 times a second ("\r" and erase-to-end-of-line); when
 * stderr is a file or a pipe a plain line is written each second instead,
 * so logs stay readable. */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REDRAW_NS (100 * CORIO_MS) /* terminal: 10 redraws a second */
#define PLAIN_NS CORIO_SECOND      /* not a terminal: a line a second */
#define BAR_WIDTH 30

int fetch_progress_format(char *buf, size_t cap, const struct fetch_stats *s,
                          int64_t now_ns, int bar, int width)
{
    double secs = (double)(now_ns - s->start_ns) / CORIO_SECOND;
    double rate = secs > 0 ? (double)s->done / secs : 0;
    size_t total = s->total ? s->total : 1;
    size_t done = s->done < total ? s->done : total;
    char cells[256];
    int n;

    if (bar) {
        if (width < 1)
            width = 1;
        if ((size_t)width >= sizeof cells)
            width = sizeof cells - 1;
        int full = (int)((double)done * width / (double)total);
        memset(cells, '#', (size_t)full);
        memset(cells + full, '.', (size_t)(width - full));
        cells[width] = 0;
        n = snprintf(buf, cap, "[%s] %zu/%zu %3d%% %.0f req/s %zu failed",
                     cells, s->done, s->total, (int)(100 * done / total), rate,
                     s->failed);
    } else {
        n = snprintf(buf, cap, "%zu/%zu done, %.0f req/s, %zu failed", s->done,
                     s->total, rate, s->failed);
    }
    if (n < 0)
        return 0;
    return (size_t)n >= cap && cap ? (int)cap - 1 : n;
}

static void draw(struct fetch_progress *p)
{
    char line[512];
    fetch_progress_format(line, sizeof line, p->stats, corio_now(), p->tty,
                          BAR_WIDTH);
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
    CORIO_WITH_SHIELD(shield) {
        (void)corio_task_join(p->task, NULL);
    }
    p->task = NULL;
    draw(p);
    if (p->tty)
        fputc('\n', p->out);
    p->drawn = 0;
}
