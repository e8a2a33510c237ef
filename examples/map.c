/* map.c — gather over many "URLs" with at most 10 at once, in one call.
 *
 * The asyncio original (the seeds' most common pattern):
 *
 *     semaphore = asyncio.Semaphore(10)
 *     async def fetch(url):
 *         async with semaphore:
 *             return await get(url)
 *     results = await asyncio.gather(*(fetch(u) for u in urls),
 *                                    return_exceptions=True)
 *
 * corio_map(fn, items, n, stride, limit, results) does both at once: fn
 * runs on every item, at most `limit` at a time, results[i] in item order,
 * and it returns 0 or the first error by index (gather with
 * return_exceptions=True).  It uses `limit` tasks, not one per URL.  If
 * the caller is cancelled or its timeout expires, the fetches under way
 * are cancelled and awaited, and the rest never start. */
#include <corio.h>
#include <stdio.h>

#define NURLS 25
#define LIMIT 10

struct url {
    const char *host;
    int64_t latency; /* how long the "request" takes */
    int status;      /* what it answers */
};

static int in_flight, most_in_flight;

/* async def fetch(url) */
static int fetch(void *item)
{
    struct url *u = item;
    if (++in_flight > most_in_flight)
        most_in_flight = in_flight;
    int rc = corio_sleep(u->latency); /* await session.get(url) */
    in_flight--;
    if (rc < 0)
        return rc;
    return u->status == 200 ? 200 : -EIO;
}

static int main_task(void *arg)
{
    (void)arg;
    static struct url urls[NURLS];
    int results[NURLS];
    for (int i = 0; i < NURLS; i++) {
        urls[i].host = "example.org";
        urls[i].latency = (100 + 37 * (i % 7)) * CORIO_MS;
        urls[i].status = i == 13 ? 503 : 200;
    }
    int64_t t0 = corio_now();
    int rc = corio_map(fetch, urls, NURLS, sizeof urls[0], LIMIT, results);
    printf("map: %s after %.3f s, at most %d at once\n", corio_err_name(rc),
           (double)(corio_now() - t0) / CORIO_SECOND, most_in_flight);
    int ok = 0;
    for (int i = 0; i < NURLS; i++) {
        if (results[i] == 200)
            ok++;
        else
            printf("  url %d failed: %s\n", i, corio_strerror(results[i]));
    }
    printf("%d of %d fetched\n", ok, NURLS);

    /* The same under a 300 ms deadline: what had not finished is
     * cancelled and awaited, what had not started never runs. */
    rc = corio_timeout_begin(300 * CORIO_MS);
    if (rc < 0)
        return rc;
    rc = corio_map(fetch, urls, NURLS, sizeof urls[0], LIMIT, results);
    CORIO_IGNORE(corio_timeout_end());
    int done = 0, cancelled = 0;
    for (int i = 0; i < NURLS; i++) {
        done += results[i] == 200;
        cancelled += results[i] == -ECANCELED;
    }
    printf("with a 300 ms timeout: %s, %d fetched, %d cancelled or never "
           "started, %d still running\n",
           corio_err_name(rc), done, cancelled, in_flight);
    return 0;
}

int main(void)
{
    int result;
    int rc = corio_run(main_task, NULL, &result);
    return rc < 0 || result < 0;
}
