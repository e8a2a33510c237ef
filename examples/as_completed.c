/* as_completed.c — handle results in the order tasks finish.
 *
 * The asyncio original:
 *
 *     tasks = [asyncio.create_task(fetch(u)) for u in urls]
 *     for t in asyncio.as_completed(tasks):
 *         print(await t)
 *
 * corio_wait_any(tasks, n, &i, &result) takes the first task to finish,
 * releases only its handle and sets tasks[i] to NULL, so calling it again
 * takes the next one.  On -ECANCELED / -ETIMEDOUT nothing is released: the
 * tasks left are still ours (here: gathered, which cancels them). */
#include <corio.h>
#include <stdio.h>

#define N 5

static const int64_t latency_ms[N] = {400, 100, 300, 50, 900};

static int fetch(void *arg)
{
    int i = (int)(intptr_t)arg;
    int rc = corio_sleep(latency_ms[i] * CORIO_MS);
    return rc < 0 ? rc : 1000 + i;
}

static int main_task(void *arg)
{
    (void)arg;
    corio_task *tasks[N];
    int64_t t0 = corio_now();
    for (int i = 0; i < N; i++) {
        int rc = corio_task_spawn(&tasks[i], fetch, (void *)(intptr_t)i);
        if (rc < 0)
            return rc;
    }
    /* Take them as they finish, but give up after half a second. */
    int rc = corio_timeout_begin(500 * CORIO_MS);
    if (rc < 0)
        return rc;
    for (int left = N; left > 0; left--) {
        size_t i;
        int result;
        rc = corio_wait_any(tasks, N, &i, &result);
        if (rc < 0)
            break;
        printf("%.3f s: task %zu finished with %d\n",
               (double)(corio_now() - t0) / CORIO_SECOND, i, result);
    }
    CORIO_IGNORE(corio_timeout_end());
    if (rc < 0) {
        /* The tasks not taken are still ours: cancel and await them. */
        int left = 0;
        for (int i = 0; i < N; i++)
            if (tasks[i]) {
                corio_task_cancel(tasks[i]);
                tasks[left++] = tasks[i];
            }
        printf("%s: %d task(s) cancelled\n", corio_err_name(rc), left);
        CORIO_IGNORE(corio_gather(tasks, (size_t)left, NULL));
    }
    return 0;
}

int main(void)
{
    int result;
    int rc = corio_run(main_task, NULL, &result);
    return rc < 0 || result < 0;
}
