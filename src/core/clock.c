/* core/clock.c — time: CLOCK_MONOTONIC, or the loop's virtual clock.
 *
 * The virtual clock (corio_options.virtual_clock) only moves when every
 * task is blocked and no thread job or zero-timeout I/O is pending; it then
 * jumps straight to the next timer (core/sched.c), so a test of a 10-second
 * scenario runs in microseconds with exact corio_now() deltas. */
#include "core/loop.h"

#include <time.h>

int64_t corio__mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_SECOND + ts.tv_nsec;
}

int64_t corio__loop_now(corio__loop *L)
{
    return L->virtual_clock ? L->vnow : corio__mono();
}

int64_t corio_now(void)
{
    corio__loop *L = corio__cur;
    return L ? corio__loop_now(L) : corio__mono();
}
