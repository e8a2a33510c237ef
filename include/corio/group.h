/* corio/group.h — task groups (asyncio.TaskGroup, Trio's nursery).
 *
 * From corio_group_new() to corio_group_wait() the calling task (the owner)
 * is inside the group.  The first child to fail (return a negative value
 * other than -ECANCELED) cancels every other child and, if the owner has not
 * reached corio_group_wait() yet, the owner's current or next waiting call
 * (level-triggered, until corio_group_wait()).  A group never leaks a task:
 * corio_group_wait() returns only when every child has finished.
 *
 * A group is a scope of its owner: scopes opened after corio_group_new()
 * must be closed before corio_group_wait().
 *
 * Thread-safety: loop-thread only. */
#ifndef CORIO_GROUP_H
#define CORIO_GROUP_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create a group owned by the calling task.
 * Returns 0 and *out, or -EPERM outside a task, -ENOMEM (*out = NULL).
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_group_new(corio_group **out);

/* Start fn(arg) as a child of g (any task of the loop may spawn into it).
 * The child's handle belongs to the group.
 * Returns 0, or:
 *   -ECANCELED  g is failing or cancelled (nothing was started).
 *   -EINVAL     g is NULL or already waited.
 *   -ENOMEM / -EPERM  as for corio_task_spawn.
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_group_spawn(corio_group *g, corio_fn fn,
                                                void *arg);

/* Start fn(arg) as a child of g and wait until it reports that it is ready
 * by calling corio_task_started() (Trio's nursery.start): a server that
 * must be listening before its caller goes on, a worker that must have
 * opened its resource.  The child then keeps running in g like any other.
 *
 * Returns 0 once the child called corio_task_started(), or:
 *   (the child's result)  the child returned before reporting and its
 *               result was negative (-ECANCELED if it was cancelled,
 *               also before it ever ran); as a failing child it also
 *               cancels g, by the group rule above.
 *   -ECHILD     the child returned a result >= 0 without reporting.
 *   -ECANCELED / -ETIMEDOUT  the caller was interrupted first: the child
 *               was cancelled, and this returns once it has ended (or
 *               reported while cancelled; it then stays in g).
 *   -ECANCELED  g is failing or cancelled (nothing was started).
 *   -EINVAL     g or fn is NULL, or g belongs to another loop.
 *   -ENOMEM / -EPERM  as for corio_task_spawn (-EPERM also outside a task).
 * A report in the tick the caller is interrupted counts: 0 is returned.
 * Cancel-safe: yes; on every error the child has ended or was cancelled.
 * The caller may be any task of g's loop (the owner too, before
 * corio_group_wait). */
CORIO_API CORIO_NODISCARD int corio_group_start(corio_group *g, corio_fn fn,
                                                void *arg);

/* Called by a child started with corio_group_start() to wake its starter
 * (the child goes on running).
 * Returns 0, or:
 *   -EINVAL  the calling task was not started by corio_group_start, or
 *            already reported.
 *   -EPERM   called outside a task.
 * Never suspends. */
CORIO_API int corio_task_started(void);

/* Cancel every child of g and the owner's waiting calls inside the group.
 * Never suspends. */
CORIO_API void corio_group_cancel(corio_group *g);

/* Wait for every child, then free g: the group's destructor, to be called
 * exactly once, by the owner.
 *
 * Returns 0 if every child succeeded, else the first child error (children
 * returning -ECANCELED do not count), else:
 *   -ECANCELED  the group was cancelled (corio_group_cancel) or the owner was
 *               cancelled while waiting (children cancelled and awaited).
 *   -ETIMEDOUT  the owner's timeout scope expired while waiting (children
 *               cancelled and awaited).
 *   -EINVAL     g is NULL, or a scope opened inside the group is still open
 *               (g is not freed).
 *   -EPERM      the caller is not the owner (g is not freed).
 * Cancel-safe: yes; children never outlive the call. */
CORIO_API CORIO_NODISCARD int corio_group_wait(corio_group *g);

#ifdef __cplusplus
}
#endif
#endif
