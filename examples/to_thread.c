/* to_thread.c — CPU-heavy work on a pool thread while the loop stays live.
 *
 * The asyncio originals (seed "Using ThreadPoolExecutor", and
 * "Avoid Blocking the Event Loop"):
 *
 *     result = await loop.run_in_executor(pool, cpu_bound_function, *args)
 *     blocking_result = await asyncio.to_thread(blocking_sync_function)
 *
 * A corio loop runs all its tasks on one thread, so a function that
 * computes for a second without suspending would freeze every other task
 * for that second.  corio_to_thread() runs such a function on a pool thread
 * and suspends only the calling task until it returns; meanwhile the other
 * tasks keep running.  Here a ticker task keeps printing while the primes
 * are counted.
 *
 * The function runs on another thread, so it must not call corio functions
 * that need a task; it may call corio_thread_cancelled() to notice that the
 * waiting task was cancelled or timed out, and stop early. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

#define LIMIT 3000000

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static int is_prime(int n)
{
    if (n < 2)
        return 0;
    for (int d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

/* cpu_bound_function: runs on a pool thread, never suspends. */
static int count_primes(void *arg)
{
    int limit = *(const int *)arg; /* arg is borrowed until we return */
    int count = 0;

    for (int n = 0; n < limit; n++) {
        /* Be a good citizen: stop early if nobody wants the answer. */
        if (n % 65536 == 0 && corio_thread_cancelled())
            return -ECANCELED;
        count += is_prime(n);
    }
    return count;
}

/* Another task, to show that the loop is not blocked meanwhile. */
static int ticker(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 3; i++) {
        int rc = corio_sleep(100 * CORIO_MS);
        if (rc < 0)
            return rc;
        printf("ticker: tick %d at %.1f s, the loop is not blocked\n", i,
               elapsed());
    }
    return 0;
}

static int async_main(void *arg)
{
    (void)arg;
    corio_task *tick;
    int limit = LIMIT, count, rc;

    start = corio_now();
    rc = corio_task_spawn(&tick, ticker, NULL);
    if (rc < 0)
        return rc;

    printf("main: counting the primes below %d on a pool thread\n", limit);
    /* count = await asyncio.to_thread(count_primes, limit) */
    rc = corio_to_thread(count_primes, &limit, &count);
    if (rc < 0)
        return rc; /* e.g. -ECANCELED on Ctrl-C; corio_run ends the ticker */

    /* Print the answer once the ticker is done too, so the output does not
     * depend on how fast this machine counts. */
    rc = corio_task_join(tick, NULL);
    if (rc < 0)
        return rc;
    printf("main: there are %d primes below %d\n", count, limit);
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
        fprintf(stderr, "to_thread: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
