/* select.c — one worker waiting on several things at once.
 *
 * A worker takes jobs from two queues (urgent first when both have one),
 * stops when an event is set, and reports when it has been idle for a
 * second: libdill's choose, neco's select, Go's select; in asyncio,
 * asyncio.wait({get_urgent, get_normal, stop.wait()}, timeout=1,
 * return_when=FIRST_COMPLETED) and then cancelling the rest — where a
 * loser that completed in the same tick loses its item.
 *
 * corio_select takes exactly one case, the lowest ready index, and leaves
 * the others untouched: a job is never taken and dropped. */
#include <corio.h>
#include <stdio.h>

static corio_queue *urgent, *normal;
static corio_event stop;
static int64_t t0;

static double now_s(void)
{
    return (double)(corio_now() - t0) / CORIO_SECOND;
}

static int worker(void *arg)
{
    (void)arg;
    corio_select_case cs[3] = {
        {CORIO_SELECT_QUEUE_GET, urgent, NULL, 0},
        {CORIO_SELECT_QUEUE_GET, normal, NULL, 0},
        {CORIO_SELECT_EVENT, &stop, NULL, 0},
    };
    for (;;) {
        size_t i;
        int rc = corio_select(cs, 3, corio_now() + CORIO_SECOND, &i);
        if (rc == -ETIMEDOUT) {
            printf("%.1f s: idle for a second\n", now_s());
            continue;
        }
        if (rc < 0)
            return rc;
        if (i == 2) {
            printf("%.1f s: stop\n", now_s());
            return 0;
        }
        printf("%.1f s: %s job %s\n", now_s(), i == 0 ? "urgent" : "normal",
               (const char *)cs[i].item);
        if ((rc = corio_sleep(200 * CORIO_MS)) < 0) /* do the job */
            return rc;
    }
}

static int main_task(void *arg)
{
    (void)arg;
    corio_task *w;
    int rc, result;
    t0 = corio_now();
    if ((rc = corio_queue_new(&urgent, NULL)) < 0 ||
        (rc = corio_queue_new(&normal, NULL)) < 0 ||
        (rc = corio_event_init(&stop)) < 0)
        return rc;
    if ((rc = corio_queue_put(normal, "n1")) < 0 ||
        (rc = corio_queue_put(normal, "n2")) < 0 ||
        (rc = corio_queue_put(urgent, "u1")) < 0)
        return rc;
    if ((rc = corio_task_spawn(&w, worker, NULL)) < 0)
        return rc;
    if ((rc = corio_sleep(300 * CORIO_MS)) < 0 ||
        (rc = corio_queue_put(urgent, "u2")) < 0 ||
        (rc = corio_sleep(2300 * CORIO_MS)) < 0)
        return rc;
    corio_event_set(&stop);
    rc = corio_task_join(w, &result);
    corio_queue_free(urgent);
    corio_queue_free(normal);
    corio_event_destroy(&stop);
    return rc < 0 ? rc : result;
}

int main(void)
{
    int result;
    int rc = corio_run(main_task, NULL, &result);
    return rc < 0 || result < 0;
}
