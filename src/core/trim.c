/* core/trim.c — memory given back when a loop goes idle after a burst.
 *
 * A server that held 15,000 connections keeps 15,000 stack slots in its
 * pool (and glibc keeps their buffers in its heap) after they close.  When
 * the loop is about to sleep and a size class has more free stack slots
 * than KEEP_MIN + a quarter of the live tasks, the rest are given back to
 * the kernel (arch/stack.h), at most once per TRIM_EVERY: a loop that went
 * to sleep too soon after the last trim wakes up for the next one.  When a
 * burst's worth (MALLOC_TRIM_AFTER slots) went back, glibc's heap is
 * trimmed too.  A busy loop never sleeps, so it never pays for this; reuse
 * of a trimmed slot costs its page faults. */
#include "core/loop.h"

#include <malloc.h>

#define TRIM_EVERY CORIO_SECOND
#define KEEP_MIN 16
#define MALLOC_TRIM_AFTER 256

int64_t corio__trim_idle(corio__loop *L, int64_t now)
{
    size_t keep = KEEP_MIN + L->nalive / 4;
    if (corio__stack_untrimmed(&L->stacks) <= keep)
        return INT64_MAX;
    if (now < L->trim_at)
        return L->trim_at;
    L->trim_at = now + TRIM_EVERY;
    size_t n = corio__stack_trim(&L->stacks, keep);
#ifdef __GLIBC__
    if (n >= MALLOC_TRIM_AFTER)
        malloc_trim(0);
#else
    (void)n;
#endif
    return INT64_MAX;
}
