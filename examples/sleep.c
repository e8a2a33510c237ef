/* sleep.c — a coroutine that pauses without blocking the loop.
 *
 * The asyncio original (seed "Core Concepts"):
 *
 *     async def my_coroutine():
 *         print('Coroutine started')
 *         await asyncio.sleep(1)  # Simulating an I/O operation
 *         print('Coroutine finished')
 *     asyncio.run(my_coroutine())
 *
 * corio_sleep() suspends only the calling task: while it sleeps, the loop
 * is free to run every other task (there are none here; see gather.c).
 * Blocking calls such as sleep(3) would freeze the whole loop instead, which
 * is why a corio task never calls them (see to_thread.c for the way out). */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static int my_coroutine(void *arg)
{
    (void)arg;
    printf("Coroutine started\n");
    int rc = corio_sleep(1 * CORIO_SECOND); /* simulating an I/O operation */
    if (rc < 0)
        return rc;
    printf("Coroutine finished\n");
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(my_coroutine, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "sleep: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
