/* core/turn.h — work done once per loop turn, just before the loop polls
 * for I/O or blocks: the stream layer's coalesced writes (uvloop's queued
 * writes, Redis's handleClientsWithPendingWrites in beforeSleep).
 *
 * A hook is queued at most once per turn (queueing it again before it runs
 * is a no-op) and is unlinked before its function runs, so the function may
 * queue it again for the next turn.  Hooks run in the scheduler, on the
 * stack of the task that is suspending: they must not suspend, and should
 * use little stack (a non-blocking syscall, a spawn). */
#ifndef CORIO_CORE_TURN_H
#define CORIO_CORE_TURN_H

#include "core/loop.h"

struct corio__turn_hook {
    corio__turn_hook *next, **pprev; /* pprev NULL: not queued */
    corio__loop *loop;               /* while queued */
    void (*run)(corio__turn_hook *h);
};

/* Queue h on L (no-op if already queued). */
CORIO__EXPORT void corio__turn_defer(corio__loop *L, corio__turn_hook *h);
/* Unqueue h (no-op if not queued). */
CORIO__EXPORT void corio__turn_cancel(corio__turn_hook *h);
/* sched.c: run and unqueue every hook queued on L, in queueing order. */
void corio__turn_run(corio__loop *L);

#endif
