/* core/timer.h — the loop's timers: an intrusive binary min-heap ordered by
 * (deadline, arming order), so timers with equal deadlines fire in the order
 * they were armed.  Arm, disarm and re-arm are O(log n); the heap array
 * grows by doubling. */
#ifndef CORIO_CORE_TIMER_H
#define CORIO_CORE_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "os/sys.h" /* CORIO__EXPORT */

#define CORIO__NOT_ARMED SIZE_MAX

typedef struct corio__timer {
    size_t idx; /* position in the heap, CORIO__NOT_ARMED when idle */
    int64_t when;
    uint64_t seq;
    void (*fire)(struct corio__timer *t);
} corio__timer;

typedef struct corio__timer_heap {
    corio__timer **v;
    size_t n, cap;
    uint64_t seq;
} corio__timer_heap;

/* Make room for cap timers.  0 or -ENOMEM. */
int corio__timer_reserve(corio__timer_heap *h, size_t cap);
/* Arm (or re-arm) t for `when`.  0 or -ENOMEM. */
CORIO__EXPORT int corio__timer_arm(corio__timer_heap *h, corio__timer *t,
                                   int64_t when);
/* Disarm t if armed. */
CORIO__EXPORT void corio__timer_disarm(corio__timer_heap *h, corio__timer *t);
/* The earliest deadline, or INT64_MAX. */
static inline int64_t corio__timer_next(const corio__timer_heap *h)
{
    return h->n ? h->v[0]->when : INT64_MAX;
}
/* Fire (disarm, then call) every timer due at or before now. */
CORIO__EXPORT void corio__timer_run(corio__timer_heap *h, int64_t now);
void corio__timer_heap_free(corio__timer_heap *h);

#endif
