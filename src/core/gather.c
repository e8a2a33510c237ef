/* core/gather.c — waiting for several tasks (gather) and for one task with
 * a timeout (wait_for).  Both release every handle they are given, and
 * neither lets a task outlive the call when the caller is interrupted: the
 * tasks are cancelled and awaited uninterruptibly (t->noint). */
#include "core/loop.h"

/* Wait for t without being interrupted (it has been cancelled). */
static void join_uninterruptible(corio_task *self, corio_task *t)
{
    self->noint++;
    while (t->state != CORIO__DONE)
        corio__join_wait(t);
    self->noint--;
}

/* The caller of corio_gather was interrupted (code) while waiting for
 * tasks[0]: cancel it and the rest, await each uninterruptibly, take its
 * result and release it. */
static __attribute__((noinline)) int gather_interrupted(corio_task *self,
                                                        corio_task **tasks,
                                                        size_t n, int *results,
                                                        int code)
{
    for (size_t i = 0; i < n; i++)
        corio__cancel(tasks[i]);
    for (size_t i = 0; i < n; i++) {
        join_uninterruptible(self, tasks[i]);
        if (results)
            results[i] = tasks[i]->result;
        corio__task_release(tasks[i]);
    }
    return code;
}

int corio_gather(corio_task **tasks, size_t n, int *results)
{
    corio_task *self = corio__self();
    int rc = 0, first = 0;
    size_t i;
    if (!self)
        return -EPERM;
    if (n && !tasks)
        return -EINVAL;
    /* Check every handle before waiting on any.  A mark on each record
     * catches a handle given twice (it would be released twice) in O(n). */
    for (i = 0; i < n; i++) {
        corio_task *t = tasks[i];
        rc = corio__join_check(t, self);
        if (rc == 0 && t->gathered)
            rc = -EINVAL;
        if (CORIO__UNLIKELY(rc < 0)) {
            while (i--)
                tasks[i]->gathered = 0;
            return rc == -EBUSY ? -EINVAL : rc;
        }
        t->gathered = 1;
    }
    /* One pass: wait for each task in turn, take its result, release it. */
    for (i = 0; i < n; i++) {
        corio_task *t = tasks[i];
        if (t->state != CORIO__DONE) {
            rc = corio__join_wait(t);
            if (CORIO__UNLIKELY(rc < 0))
                return gather_interrupted(self, tasks + i, n - i,
                                          results ? results + i : NULL, rc);
        }
        int r = t->result;
        if (results)
            results[i] = r;
        if (r < 0 && first == 0)
            first = r;
        corio__task_release(t);
    }
    return first;
}

int corio_wait_for(corio_task *t, int64_t timeout_ns, int *result)
{
    corio_task *self = corio__self();
    int rc = corio__join_check(t, self);
    if (rc < 0)
        return rc;
    if (t->state != CORIO__DONE) {
        rc = corio_timeout_begin(timeout_ns);
        if (rc < 0)
            return rc;
        rc = corio__join_wait(t);
        corio_timeout_end();
        if (rc == -ETIMEDOUT && t->state == CORIO__READY) {
            /* t was woken in the deadline's own tick: let it run once, so
             * that finishing in the same tick counts as finishing first. */
            self->noint++;
            corio_yield();
            self->noint--;
        }
        if (t->state == CORIO__DONE) {
            if (rc != -ECANCELED) /* the same-tick rule is the deadline's */
                rc = 0; /* finished first, possibly in the deadline's tick */
        } else if (rc < 0) {
            corio__cancel(t);
            join_uninterruptible(self, t);
        }
    }
    if (result)
        *result = t->result;
    corio__task_release(t);
    return rc;
}
