/* producer_consumer.c — a queue between producers and consumers, join,
 * then cancel the consumers.
 *
 * The asyncio original (seed "Queues"):
 *
 *     queue = asyncio.Queue()
 *     async def producer():
 *         for i in range(5):
 *             await queue.put(i)
 *     async def consumer():
 *         while True:
 *             item = await queue.get()
 *             print(f"Consumed {item}")
 *             queue.task_done()
 *     async def main():
 *         producers = [asyncio.create_task(producer()) for _ in range(3)]
 *         consumers = [asyncio.create_task(consumer()) for _ in range(2)]
 *         await asyncio.gather(*producers)
 *         await queue.join()
 *         for c in consumers:
 *             c.cancel()
 *
 * A corio_queue holds void * items; the items stay the caller's.  Ours
 * point into a table, one entry per (producer, i), so that at the end we
 * can check that every item was consumed exactly once.  To make the
 * interleaving visible, producer p takes 100 + 35 * p ms to make each item
 * (the seed's producers make them instantly).
 *
 * corio_queue_join() returns once task_done() has been called for every
 * item put.  Then the consumers, waiting in corio_queue_get(), are
 * cancelled: their get returns -ECANCELED without taking anything (cancel
 * safety: a consumer handed an item in the tick it was cancelled returns 0
 * with the item, so none is lost).  Closing the queue (corio_queue_close,
 * asyncio's Queue.shutdown) would end them just as well: get drains what is
 * left and then returns CORIO_ESHUTDOWN. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

#define NPRODUCER 3
#define NCONSUMER 2
#define NITEM 5 /* per producer */

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static corio_queue *queue;

struct item {
    int producer, i;
    int consumed; /* how many times, by anyone */
};
static struct item items[NPRODUCER][NITEM];

struct consumer {
    char name;
    int count; /* items consumed */
};

static int producer(void *arg)
{
    int p = (int)(intptr_t)arg;
    for (int i = 0; i < NITEM; i++) {
        int rc = corio_sleep((100 + 35 * p) * CORIO_MS); /* making item i */
        if (rc < 0)
            return rc;
        items[p][i] = (struct item){p, i, 0};
        rc = corio_queue_put(queue, &items[p][i]); /* await queue.put(i) */
        if (rc < 0)
            return rc; /* the item was not queued */
    }
    return 0;
}

static int consumer(void *arg)
{
    struct consumer *c = arg;
    for (;;) {
        void *p;
        int rc = corio_queue_get(queue, &p); /* item = await queue.get() */
        if (rc < 0)
            return rc; /* -ECANCELED: nothing was taken */
        struct item *it = p;
        it->consumed++;
        c->count++;
        printf("consumer %c: consumed item %d of producer %d at %.3f s\n",
               c->name, it->i, it->producer, elapsed());
        corio_queue_task_done(queue);
    }
}

static int async_main(void *arg)
{
    (void)arg;
    struct consumer cons[NCONSUMER] = {{'A', 0}, {'B', 0}};
    corio_task *producers[NPRODUCER], *consumers[NCONSUMER];
    size_t np = 0, nc = 0;
    int rc;

    start = corio_now();
    rc = corio_queue_new(&queue, NULL); /* unbounded FIFO: asyncio.Queue() */
    if (rc < 0)
        return rc;

    for (int p = 0; p < NPRODUCER && rc >= 0; p++) {
        rc = corio_task_spawn(&producers[np], producer, (void *)(intptr_t)p);
        np += rc >= 0;
    }
    for (int c = 0; c < NCONSUMER && rc >= 0; c++) {
        rc = corio_task_spawn(&consumers[nc], consumer, &cons[c]);
        nc += rc >= 0;
    }

    /* await asyncio.gather(*producers) */
    int grc = corio_gather(producers, np, NULL);
    if (rc >= 0)
        rc = grc;
    /* await queue.join() */
    if (rc >= 0) {
        rc = corio_queue_join(queue);
        if (rc >= 0)
            printf("main: queue.join() returned at %.3f s\n", elapsed());
    }

    /* for c in consumers: c.cancel(), and wait for them: every task belongs
     * to someone.  This also runs when something above failed. */
    for (size_t c = 0; c < nc; c++)
        corio_task_cancel(consumers[c]);
    for (size_t c = 0; c < nc; c++) {
        int result;
        int jrc = corio_task_join(consumers[c], &result);
        if (jrc < 0 && rc >= 0)
            rc = jrc;
        if (jrc >= 0)
            printf("consumer %c: %s after %d items\n", cons[c].name,
                   result == -ECANCELED ? "cancelled" : corio_strerror(result),
                   cons[c].count);
    }
    corio_queue_free(queue);
    if (rc < 0)
        return rc;

    /* Every item consumed exactly once, asserted. */
    for (int p = 0; p < NPRODUCER; p++)
        for (int i = 0; i < NITEM; i++)
            if (items[p][i].consumed != 1) {
                fprintf(stderr, "item %d of producer %d consumed %d times\n", i,
                        p, items[p][i].consumed);
                return -EPROTO;
            }
    printf("main: all %d items consumed exactly once\n", NPRODUCER * NITEM);
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
        fprintf(stderr, "producer_consumer: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
