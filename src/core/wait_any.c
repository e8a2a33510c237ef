/* core/wait_any.c — waiting for the first of several tasks to finish
 * (asyncio.wait(FIRST_COMPLETED), as_completed).
 *
 * Built on the join machinery, without polling: the caller becomes the
 * joiner of every task still running and parks once; the first task to
 * finish wakes it (corio__task_finish wakes t->joiner).  On resuming, the
 * caller gives up the other joins and takes the lowest-indexed finished
 * task — more than one may have finished in the same tick. */
#include "core/loop.h"

typedef struct any_wait {
    corio__wait w; /* first: the scheduler hands back &w */
    corio_task **tasks;
    size_t n;
} any_wait;

static void unjoin_all(corio_task **tasks, size_t n, corio_task *self)
{
    for (size_t i = 0; i < n; i++)
        if (tasks[i] && tasks[i]->joiner == self)
            tasks[i]->joiner = NULL;
}

static bool any_cancel(corio__wait *w, corio_task *self, int code)
{
    any_wait *aw = (any_wait *)w;
    (void)code;
    unjoin_all(aw->tasks, aw->n, self);
    return true;
}

/* The lowest index of a finished task, or n. */
static size_t first_done(corio_task **tasks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tasks[i] && tasks[i]->state == CORIO__DONE)
            return i;
    return n;
}

int corio_wait_any(corio_task **tasks, size_t n, size_t *index, int *result)
{
    corio_task *self = corio__self();
    size_t live = 0, i;
    if (!self)
        return -EPERM;
    if ((n && !tasks) || !index)
        return -EINVAL;
    /* Check every handle before waiting on any; a mark on each record
     * catches a handle given twice (it would dangle once released). */
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        if (!tasks[i])
            continue;
        rc = corio__join_check(tasks[i], self);
        if (rc == 0 && tasks[i]->gathered)
            rc = -EINVAL;
        if (rc == 0) {
            tasks[i]->gathered = 1;
            live++;
        }
    }
    size_t marked = rc < 0 ? i - 1 : n; /* tasks[i - 1] failed, unmarked */
    for (size_t j = 0; j < marked; j++)
        if (tasks[j])
            tasks[j]->gathered = 0;
    if (rc < 0)
        return rc;
    if (!live)
        return -EINVAL;
    i = first_done(tasks, n);
    if (i == n) {
        any_wait aw = {{any_cancel, "wait any", INT64_MAX}, tasks, n};
        for (size_t j = 0; j < n; j++)
            if (tasks[j])
                tasks[j]->joiner = self;
        rc = corio__park(&aw.w);
        unjoin_all(tasks, n, self); /* also when park did not park */
        if (rc < 0)
            return rc;
        i = first_done(tasks, n);
        if (i == n) /* NEVER: only a finishing task wakes this wait */
            return -EINVAL;
    }
    corio_task *t = tasks[i];
    *index = i;
    if (result)
        *result = t->result;
    tasks[i] = NULL;
    corio__task_release(t);
    return 0;
}
