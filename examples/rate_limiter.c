/* rate_limiter.c — the seed's token-bucket RateLimiter, done right.
 *
 * The asyncio original (seed "Rate Limiting for Controlled Concurrency"):
 *
 *     class RateLimiter:
 *         def __init__(self, rate_limit):
 *             self.rate_limit = rate_limit
 *             self.tokens = rate_limit
 *             self._lock = asyncio.Lock()
 *         async def acquire(self):
 *             async with self._lock:
 *                 while self.tokens <= 0:
 *                     await asyncio.sleep(1)
 *                 self.tokens -= 1
 *
 * As written it never puts tokens back: after `rate_limit` calls every
 * caller waits forever, polling once a second while holding the lock.
 * corio_limiter is the token bucket it meant to be: it refills at `rate`
 * tokens per second up to `burst`, and acquire() suspends exactly until the
 * caller's tokens are there, on one timer, with no polling.  Waiters are
 * served in arrival order.
 *
 * Here 20 requests arrive at once at a limiter of 5 per second with a burst
 * of 2: two go at once, then one every 0.2 s.  Request 8 is impatient: it
 * gives up after 1.1 s (a timeout scope), 0.1 s before its turn.  Cancel
 * safety means the token it was waiting for is not lost: request 9 goes
 * exactly when request 8 would have, and the queue does not skip a beat. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

#define NREQ 20
#define RATE 5.0 /* tokens per second */
#define BURST 2
#define IMPATIENT 8 /* this request waits at most PATIENCE */
#define PATIENCE (1100 * CORIO_MS)

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static corio_limiter *limiter;

static int request(void *arg)
{
    int id = (int)(intptr_t)arg;
    int rc;

    if (id == IMPATIENT) {
        CORIO_WITH_TIMEOUT(PATIENCE, rc)
        {
            rc =
                corio_limiter_acquire(limiter, 1); /* await limiter.acquire() */
        }
        if (rc == -ETIMEDOUT) {
            printf("request %2d gave up at %.1f s (no token taken)\n", id,
                   elapsed());
            return 0;
        }
    } else {
        rc = corio_limiter_acquire(limiter, 1); /* await limiter.acquire() */
    }
    if (rc < 0)
        return rc;
    printf("request %2d goes at %.1f s\n", id, elapsed());
    return 0; /* the request itself would be sent here */
}

static int async_main(void *arg)
{
    (void)arg;
    corio_task *tasks[NREQ];
    size_t n = 0;
    int rc;

    start = corio_now();
    rc = corio_limiter_new(&limiter, RATE, BURST);
    if (rc < 0)
        return rc;
    printf("%d requests at %.0f per second, burst %d\n", NREQ, RATE, BURST);

    /* Spawned in order, they first run (and queue up) in that order. */
    for (int id = 1; id <= NREQ; id++) {
        rc = corio_task_spawn(&tasks[n], request, (void *)(intptr_t)id);
        if (rc < 0)
            break;
        n++;
    }
    int grc = corio_gather(tasks, n, NULL);
    if (rc >= 0)
        rc = grc;
    corio_limiter_free(limiter); /* nobody waits any more */
    if (rc < 0)
        return rc;
    printf("done at %.1f s: %d requests went, one every 0.2 s after the "
           "burst\n",
           elapsed(), NREQ - 1);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "rate_limiter: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
