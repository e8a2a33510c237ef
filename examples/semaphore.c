/* semaphore.c — at most 10 fetches at once, with a semaphore.
 *
 * The asyncio original (seed "Rate Limiting for Controlled Concurrency",
 * and the performance tip "Limit concurrency with asyncio.Semaphore"):
 *
 *     CONCURRENCY_LIMIT = 10
 *     semaphore = asyncio.Semaphore(CONCURRENCY_LIMIT)
 *     async def fetch_data(url):
 *         async with semaphore:
 *             async with aiohttp.ClientSession() as session:
 *                 async with session.get(url) as response:
 *                     data = await response.text()
 *                     return data
 *
 * `async with semaphore:` becomes corio_sem_acquire() ... corio_sem_release().
 * We start 50 fetches at once (a sleep stands in for the HTTP request); the
 * semaphore lets ten in, and every release hands the permit straight to the
 * longest-waiting fetch (FIFO), so none starves.
 *
 * We use the bounded flavour (asyncio.BoundedSemaphore): a release without
 * a matching acquire, the classic bug, returns -EOVERFLOW instead of
 * quietly raising the limit to 11.
 *
 * Cancel safety: if a fetch is cancelled while it waits, it returns
 * -ECANCELED holding no permit, so it must not release one; a fetch that
 * was handed a permit in the same tick it was cancelled gets 0 and owns the
 * permit.  Either way no permit is lost or doubled. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

#define CONCURRENCY_LIMIT 10
#define NFETCH 50

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static corio_sem semaphore;
static int active, max_active; /* fetches holding a permit now, and at most */

struct fetch {
    int id;
    int64_t duration; /* how long the "request" takes */
    double began;     /* when it got its permit */
};

/* async def fetch_data(url) */
static int fetch_data(void *arg)
{
    struct fetch *f = arg;

    /* async with semaphore: */
    int rc = corio_sem_acquire(&semaphore);
    if (rc < 0)
        return rc; /* no permit taken: nothing to release */
    f->began = elapsed();
    if (++active > max_active)
        max_active = active;

    rc = corio_sleep(f->duration); /* await session.get(url) ... */

    active--;
    corio_sem_release(&semaphore); /* on every path, error or not */
    return rc < 0 ? rc : f->id;
}

static int async_main(void *arg)
{
    (void)arg;
    static struct fetch fetches[NFETCH];
    corio_task *tasks[NFETCH];
    int results[NFETCH];
    int64_t total = 0;
    int rc;

    start = corio_now();
    rc = corio_sem_init_bounded(&semaphore, CONCURRENCY_LIMIT);
    if (rc < 0)
        return rc;

    /* tasks = [asyncio.create_task(fetch_data(url)) for url in urls] */
    size_t n = 0;
    for (int i = 0; i < NFETCH; i++) {
        fetches[i].id = i;
        fetches[i].duration = (100 + 40 * (i % 6)) * CORIO_MS; /* 0.1-0.3 s */
        total += fetches[i].duration;
        rc = corio_task_spawn(&tasks[n], fetch_data, &fetches[i]);
        if (rc < 0)
            break;
        n++;
    }
    /* await asyncio.gather(*tasks); if a spawn failed, gather still waits
     * for those that started.  The semaphore only goes once they are done. */
    int grc = corio_gather(tasks, n, results);
    if (rc >= 0)
        rc = grc;
    corio_sem_destroy(&semaphore);
    if (rc < 0)
        return rc;

    printf("%d fetches, at most %d at once (the limit is %d)\n", NFETCH,
           max_active, CONCURRENCY_LIMIT);
    printf("fetch 0 started at %.1f s, fetch 10 at %.1f s, fetch 49 at "
           "%.1f s\n",
           fetches[0].began, fetches[10].began, fetches[49].began);
    printf("all done after %.1f s; one at a time would take %.1f s\n",
           elapsed(), (double)total / CORIO_SECOND);

    /* Asserted, not only printed: the example fails if the limit leaked. */
    if (max_active != CONCURRENCY_LIMIT) {
        fprintf(stderr, "semaphore: %d fetches ran at once\n", max_active);
        return -EPROTO;
    }
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
        fprintf(stderr, "semaphore: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
