/* testing/run.c — a body on a fresh loop (corio_test_run), the manual
 * clock (autojump threshold, advance, now) and quiescence.
 *
 * The virtual clock itself is the loop's (core/sched.c's block): it jumps
 * to the next timer once every task is blocked, after waiting the loop's
 * `autojump` of real time for I/O; CORIO_NEVER there makes it manual. */
#include "testing/kit.h"
#include "core/loop.h"
#include "core/timer.h"

int corio_test_run_ex(corio_fn fn, void *arg, const corio_options *o)
{
    int result = 0;
    int rc = corio_run_ex(fn, arg, &result, o);
    return rc < 0 ? rc : result;
}

int corio_test_run(corio_fn fn, void *arg)
{
    corio_options o = {.virtual_clock = 1};
    return corio_test_run_ex(fn, arg, &o);
}

/* The calling thread's loop if it runs the virtual clock; else NULL and
 * *rc the reason. */
static corio__loop *virtual_loop(int *rc)
{
    corio__loop *L = corio__cur;
    *rc = !L ? -EPERM : !L->virtual_clock ? -EINVAL : 0;
    return *rc ? NULL : L;
}

int corio_test_autojump(int64_t threshold)
{
    int rc;
    corio__loop *L = virtual_loop(&rc);
    if (!L)
        return rc;
    if (threshold < 0)
        return -EINVAL;
    L->autojump = threshold;
    return 0;
}

int corio_test_advance(int64_t ns)
{
    int rc;
    corio__loop *L = virtual_loop(&rc);
    if (!L)
        return rc;
    if (ns < 0 || ns > CORIO_NEVER - L->vnow)
        return -EINVAL;
    L->vnow += ns;
    corio__timer_run(&L->timers, L->vnow);
    return 0;
}

int64_t corio_test_now(void)
{
    corio__loop *L = corio__cur;
    return L ? corio__loop_now(L) - L->start : 0;
}

int corio_test_wait_all_blocked(void)
{
    corio_task *self = corio__self();
    if (!self)
        return -EPERM;
    corio__loop *L = self->loop;
    /* Each yield lets every ready task run (and the loop poll I/O and reap
     * thread jobs between passes); once a yield comes back with nothing
     * else ready and nothing pending, every other task is parked. */
    for (;;) {
        int rc = corio_yield();
        if (rc < 0)
            return rc;
        if (!L->nready && !L->jobs_pending && !atomic_load(&L->wake_armed) &&
            !atomic_load(&L->posts))
            return 0;
    }
}
