/* core/debug.c — debug mode and the task dump.
 *
 * Debug mode (corio_options.debug or CORIO_DEBUG=1) adds, at the cost of a
 * clock read per switch:
 *   - slow tasks: a task that ran longer than slow_task_ns without
 *     suspending is reported when it suspends;
 *   - a watchdog thread that reports a task still running after 1 s, while
 *     it is still stuck (the loop cannot report that itself);
 *   - at the end of the run: tasks never joined nor detached, by name; what
 *     the shutdown still waits for after 1 s; the deepest stack use seen;
 *   - warnings for API misuse (CORIO__MISUSE). */
#include "core/loop.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

void corio__warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("corio: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *state_name(const corio_task *t)
{
    static const char *names[] = {"new", "ready", "running", "waiting", "done"};
    return names[t->state];
}

static void count_one(corio_task *t, void *ctx)
{
    (void)t;
    ++*(size_t *)ctx;
}

static void dump_one(corio_task *t, void *ctx)
{
    const char *what =
        t->state == CORIO__PARKED && t->wait ? t->wait->what : "";
    fprintf(ctx, "  %-6llu %-24s %-8s %s%s\n", (unsigned long long)t->id,
            corio_task_name(t), state_name(t), what,
            t->cancelled && t->state != CORIO__DONE ? " (cancelled)" : "");
}

void corio__dump(corio__loop *L, FILE *out)
{
    /* The loops of corio_run_loops dump on their own threads (a deadlock
     * across loops has each one dump): one dump at a time keeps each
     * loop's lines together. */
    static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
    size_t n = 0;
    corio__each_task(L, count_one, &n);
    pthread_mutex_lock(&one_at_a_time);
    if (L->set)
        fprintf(out, "corio: loop %zu of %zu: ", L->index, corio_loop_count());
    else
        fputs("corio: ", out);
    fprintf(out, "%zu task(s)%s\n", n,
            L->virtual_clock ? " (virtual clock)" : "");
    fprintf(out, "  %-6s %-24s %-8s %s\n", "id", "name", "state", "waiting on");
    corio__each_task(L, dump_one, out);
    fflush(out);
    pthread_mutex_unlock(&one_at_a_time);
}

void corio_task_dump(FILE *out)
{
    corio__loop *L = corio__cur;
    if (!L) {
        fprintf(out, "corio: no loop on this thread\n");
        return;
    }
    corio__dump(L, out);
}

/* " on loop i" for a loop of corio_run_loops, else "". */
static const char *loop_label(const corio__loop *L)
{
    static CORIO__TLS char label[32];
    if (!L->set)
        return "";
    snprintf(label, sizeof label, " on loop %zu", L->index);
    return label;
}

static void *watchdog(void *arg)
{
    corio__loop *L = arg;
    int64_t reported = 0;
    const struct timespec tick = {0, 100 * 1000 * 1000};
    while (!atomic_load(&L->wd_stop)) {
        nanosleep(&tick, NULL);
        int64_t start = atomic_load(&L->wd_slice);
        if (start && start != reported &&
            corio__mono() - start > CORIO_SECOND) {
            fprintf(stderr,
                    "corio: debug: task '%s'%s has been running for over "
                    "1 s without suspending\n",
                    atomic_load(&L->wd_name), loop_label(L));
            reported = start;
        }
    }
    return NULL;
}

void corio__debug_start(corio__loop *L)
{
    sigset_t all, old;
    L->slice_start = corio__mono();
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    L->has_watchdog =
        corio__sys.pthread_create(&L->watchdog, NULL, watchdog, L) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void corio__debug_suspend(corio__loop *L, corio_task *self)
{
    int64_t now = corio__mono();
    atomic_store(&L->wd_slice, 0); /* blocked in the scheduler: not stuck */
    if (self != &L->root && now - L->slice_start > L->slow_ns)
        fprintf(stderr,
                "corio: debug: task '%s'%s ran %.1f ms without "
                "suspending (slow_task_ns is %.1f ms)\n",
                corio_task_name(self), loop_label(L),
                (now - L->slice_start) / 1e6, L->slow_ns / 1e6);
}

void corio__debug_resume(corio__loop *L, corio_task *next)
{
    int64_t now = corio__mono();
    L->slice_start = now;
    if (next == &L->root)
        return;
    atomic_store(&L->wd_name, corio_task_name(next));
    atomic_store(&L->wd_slice, now);
}

void corio__debug_task_done(corio__loop *L, corio_task *t)
{
    size_t used = corio__stack_used(&t->stack);
    if (used > L->hiwater) {
        L->hiwater = used;
        L->hiwater_size = t->stack.size;
        memcpy(L->hiwater_task, corio_task_name(t), sizeof L->hiwater_task);
    }
}

void corio__debug_stopping(corio__loop *L)
{
    if (L->stop_reported || corio__mono() - L->stopping_since < CORIO_SECOND)
        return;
    L->stop_reported = true;
    fprintf(stderr,
            "corio: debug: main returned over 1 s ago; still waiting "
            "for %zu cancelled task(s):\n",
            L->nalive);
    corio__dump(L, stderr);
}

static void report_unowned(corio_task *t, void *ctx)
{
    (void)ctx;
    if (t->owner == CORIO__OWNED)
        fprintf(stderr,
                "corio: debug: task '%s' was never joined nor "
                "detached\n",
                corio_task_name(t));
}

void corio__debug_finish(corio__loop *L)
{
    if (L->has_watchdog) {
        atomic_store(&L->wd_stop, true);
        pthread_join(L->watchdog, NULL);
        L->has_watchdog = false;
    }
    corio__each_task(L, report_unowned, NULL);
    if (L->hiwater)
        fprintf(stderr,
                "corio: debug: deepest stack use %zu KiB of %zu KiB "
                "(task '%s')\n",
                L->hiwater / 1024, L->hiwater_size / 1024, L->hiwater_task);
}
