/* testing/fault.c — fault injection through corio's system-call table
 * (os/sys.h), the fault sweep and the cancel sweep.
 *
 * Both sweeps run the scenario once to learn its size (calls through the
 * table; suspension points of its root task), take the counts of what the
 * process holds after that run as the baseline, then run it once per
 * call or point with that one failed, judging each run:
 *
 *   the scenario's result   0 or < 0: fine; > 0: a wrong answer
 *   what is held after      more descriptors or heap bytes than the
 *                           baseline, or LeakSanitizer's verdict: a leak
 *
 * A bad run is reported on stderr and counted; the sweep goes on, so one
 * report lists every bad call.  The cancel sweep counts suspension points
 * through core's hook (corio__suspend_hook) and cancels the root task at
 * the chosen one: from there on every wait of that task fails, as after a
 * real corio_task_cancel. */
#include "testing/kit.h"
#include "core/loop.h"
#include "os/sys.h"

#include <errno.h>

int corio_test_fail_syscall(const char *name, long nth, int err)
{
    int i = corio__sys_index(name);
    if (i < 0 || nth < 1)
        return -EINVAL;
    corio__fault_arm_only(1ull << i, nth, err);
    return 0;
}

int corio_test_fail_alloc(long nth)
{
    if (nth < 1)
        return -EINVAL;
    corio__fault_arm_only(CORIO__SYS_ALLOC, nth, ENOMEM);
    return 0;
}

int corio_test_fault_fired(void)
{
    return corio__fault_fired();
}

long corio_test_fault_clear(void)
{
    return corio__fault_disarm();
}

/* ---- The sweeps' runs ---------------------------------------------------
 * Case k of a fault sweep fails call k; of a cancel sweep, cancels the root
 * task at its k-th suspension point (0: neither, the counting run). */

static long points, cancel_at;

/* core's suspension hook: count the root task's suspension points and
 * cancel it at the chosen one. */
static void at_suspension(corio_task *t)
{
    if (t == t->loop->main && ++points == cancel_at)
        corio_task_cancel(t);
}

/* The cancel sweep's root task: the scenario inside a scope that never
 * expires, so that every suspension point of the task takes the path that
 * calls the hook (core keeps its fast path free of it). */
static int watched(void *arg);

typedef struct sweep {
    const char *name;
    int cancel; /* a cancel sweep */
    corio_fn fn;
    void *arg;
    long n;                 /* calls or points the first run made */
    corio_test_counts base; /* held after the first run */
} sweep;

/* Run case k; 0 in *fired if a fault sweep's run made fewer than k calls,
 * and in *entry which entry's call failed.  Case 0 sets sw->n. */
static int run_case(sweep *sw, long k, int *fired, int *entry)
{
    int rc;
    *fired = 1;
    *entry = -1;
    if (sw->cancel) {
        points = 0;
        cancel_at = k;
        return corio_test_run(watched, sw);
    }
    corio__fault_arm(k, ENOMEM); /* k = 0: count only */
    rc = corio_test_run(sw->fn, sw->arg);
    *fired = corio__fault_fired();
    *entry = corio__fault_entry();
    long calls = corio__fault_disarm();
    if (k == 0)
        sw->n = calls;
    return rc;
}

static int watched(void *arg)
{
    sweep *sw = arg;
    int rc = corio_timeout_begin_at(CORIO_NEVER);
    if (rc < 0)
        return rc;
    rc = sw->fn(sw->arg);
    int end = corio_timeout_end();
    return rc != 0 ? rc : end;
}

/* Judge case k, which returned rc: 1 (and a report) if it was bad.  Heap
 * growth counts as a leak only if running the case twice more grows the
 * heap both times (by the amount reported), and no thread was started
 * meanwhile: what a failure path adds once, and the thread-local storage
 * of a pool thread started because the last one was not idle yet (timing),
 * are not leaks.  Either way
 * the heap's new level becomes the baseline, so one leak is not reported
 * again by every later case. */
static int judge(sweep *sw, long k, const char *what, int rc)
{
    char leak[96];
    if (rc > 0) {
        fprintf(stderr, "%s: %s: the scenario returned %d (a wrong answer)\n",
                sw->name, what, rc);
        return 1;
    }
    int kind = corio__test_leaked(&sw->base, 1, leak, sizeof leak);
    for (int again = 0; kind == CORIO__LEAK_HEAP && again < 2; again++) {
        corio_test_counts mid, end;
        int fired, entry;
        corio_test_counts_get(&mid);
        CORIO_IGNORE(run_case(sw, k, &fired, &entry));
        corio_test_counts_get(&end);
        sw->base.heap_bytes = end.heap_bytes;
        if (end.heap_bytes <= mid.heap_bytes || end.threads > mid.threads)
            kind = 0;
        else
            snprintf(leak, sizeof leak, "leaked %lld heap bytes",
                     end.heap_bytes - mid.heap_bytes);
    }
    if (kind)
        fprintf(stderr, "%s: %s: %s\n", sw->name, what, leak);
    return kind != 0;
}

/* The first run counts the calls or points; it must succeed.  Then every
 * case.  The number of bad cases, or -EINVAL / -EPERM. */
static int run_sweep(sweep *sw)
{
    int fired, entry, bad = 0;
    if (corio__cur)
        return -EPERM;
    int rc = run_case(sw, 0, &fired, &entry);
    if (sw->cancel)
        sw->n = points;
    if (rc != 0) {
        fprintf(stderr, "%s: the scenario's first run returned %d (%s)\n",
                sw->name, rc, rc < 0 ? corio_err_name(rc) : "a wrong answer");
        return -EINVAL;
    }
    corio_test_counts_get(&sw->base);
    for (long k = 1; k <= sw->n; k++) {
        char what[96];
        corio_test_context("%s, case %ld of %ld", sw->name, k, sw->n);
        rc = run_case(sw, k, &fired, &entry);
        if (!fired)
            break; /* this run made fewer calls: none left to fail */
        if (sw->cancel)
            snprintf(what, sizeof what,
                     "cancelled at suspension point %ld of %ld", k, sw->n);
        else
            snprintf(what, sizeof what, "call %ld of %ld (%s) failed", k, sw->n,
                     corio__sys_name(entry));
        bad += judge(sw, k, what, rc);
    }
    corio_test_context(NULL);
    return bad;
}

int corio_test_sweep(corio_fn fn, void *arg)
{
    sweep sw = {.name = "corio_test_sweep", .fn = fn, .arg = arg};
    return run_sweep(&sw);
}

int corio_test_cancel_sweep(corio_fn fn, void *arg)
{
    sweep sw = {
        .name = "corio_test_cancel_sweep", .cancel = 1, .fn = fn, .arg = arg};
    points = cancel_at = 0;
    corio__suspend_hook = at_suspension;
    int rc = run_sweep(&sw);
    corio__suspend_hook = NULL;
    return rc;
}
