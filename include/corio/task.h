/* corio/task.h — tasks: spawn, join, cancel, detach, yield, sleep, gather,
 * wait_for, wait_any, map, and the task dump.
 *
 * A task is a function running on its own stack in the loop of the thread
 * that spawned it.  Scheduling is cooperative: a task runs until it calls a
 * suspending function.  Ready tasks run in strict FIFO order, and a spawned
 * task first runs when its spawner suspends.
 *
 * Ownership: every task belongs to someone.  The handle returned by spawn is
 * valid until it is passed to corio_task_join(), corio_task_detach(),
 * corio_gather() or corio_wait_for() (each releases it), is taken by
 * corio_wait_any() or a JOIN case of corio_select(), or until
 * corio_run() returns.  Spawning with out == NULL detaches at once.
 *
 * Cancellation is level-triggered: after corio_task_cancel(t), the
 * suspension point t is in (or its next one) returns -ECANCELED, and so does
 * every later call that would wait, until t returns.  Calls that can finish
 * without waiting still succeed.
 *
 * Thread-safety: everything here is loop-thread only. */
#ifndef CORIO_TASK_H
#define CORIO_TASK_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest task name kept, including the terminating NUL; longer names are
 * cut to CORIO_TASK_NAME_MAX - 1 bytes (names are labels for humans). */
#define CORIO_TASK_NAME_MAX 32

/* Options for corio_task_spawn_ex(); zero fields mean the loop default.
 *   name        label shown by the dump and debug reports (copied).
 *   stack_size  bytes of stack for this task. */
typedef struct corio_task_opts {
    const char *name;
    size_t stack_size;
} corio_task_opts;

/* Create a task running fn(arg); it first runs when the caller suspends.
 *
 * Returns 0 and stores the handle in *out (out == NULL: detached), or:
 *   -EPERM   called outside a loop.
 *   -EINVAL  fn is NULL.
 *   -ENOMEM  no stack could be allocated (*out is set to NULL).
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_task_spawn(corio_task **out, corio_fn fn,
                                               void *arg);

/* corio_task_spawn() with options (o may be NULL).  Same returns. */
CORIO_API CORIO_NODISCARD int corio_task_spawn_ex(corio_task **out, corio_fn fn,
                                                  void *arg,
                                                  const corio_task_opts *o);

/* Wait for t to finish, store its return value in *result (if result is not
 * NULL) and release the handle.
 *
 * Returns 0, or:
 *   -EDEADLK    t is the calling task (returned at once).
 *   -EBUSY      another task is already joining t.
 *   -EINVAL     t is not a live, owned handle.
 *   -EPERM      called outside a task.
 *   -ECANCELED / -ETIMEDOUT  the caller was interrupted while waiting.
 * Cancel-safe: yes.  On -ECANCELED/-ETIMEDOUT t keeps running and the handle
 * stays valid; joining a task that has already finished succeeds even when
 * the caller is cancelled. */
CORIO_API CORIO_NODISCARD int corio_task_join(corio_task *t, int *result);

/* Request cancellation of t (level-triggered, see above).  A task cancelled
 * before it started never runs its function and its result is -ECANCELED.
 * Cancelling a finished task does nothing.  Never suspends. */
CORIO_API void corio_task_cancel(corio_task *t);

/* Release the handle: t keeps running and is freed when it finishes.
 * Never suspends. */
CORIO_API void corio_task_detach(corio_task *t);

/* The calling task, or NULL outside a task. */
CORIO_API corio_task *corio_task_current(void);

/* t's name: the one given at spawn, else "task-<id>".  Valid while the
 * handle is.  corio_task_name(NULL) names the current task ("" outside). */
CORIO_API const char *corio_task_name(const corio_task *t);

/* Print every task of the calling thread's loop: id, name, state and what
 * it waits on.  Never suspends. */
CORIO_API void corio_task_dump(FILE *out);

/* Let every other ready task run once, then continue.
 * Returns 0, or -ECANCELED / -ETIMEDOUT (without yielding), -EPERM. */
CORIO_API int corio_yield(void);

/* Suspend the calling task for ns nanoseconds; ns <= 0 yields.
 * Returns 0, or -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes (nothing to lose). */
CORIO_API int corio_sleep(int64_t ns);

/* Wait for all n tasks and release every handle; results[i] receives the
 * return value of tasks[i] (results may be NULL), like asyncio.gather with
 * return_exceptions=True.
 *
 * Returns 0 if every result is >= 0, else the first negative result by
 * index, or:
 *   -ECANCELED / -ETIMEDOUT  the caller was interrupted: every task was then
 *            cancelled and awaited, results are filled, handles released.
 *   -EINVAL  a handle is invalid (no handle was released).
 *   -EPERM   called outside a task.
 * Cancel-safe: yes; the handles are always released (except on -EINVAL). */
CORIO_API CORIO_NODISCARD int corio_gather(corio_task **tasks, size_t n,
                                           int *results);

/* Wait for t for at most timeout_ns and always release the handle.
 *
 * Returns 0 with t's return value in *result if t finished first (also in
 * the same tick as the deadline), or:
 *   -ETIMEDOUT  the timeout (or an enclosing scope) expired first: t was
 *               cancelled and awaited, *result holds what it returned.
 *   -ECANCELED  the caller was cancelled: t was cancelled and awaited.
 *   -EINVAL / -EDEADLK / -EBUSY / -EPERM  as for corio_task_join (the
 *               handle is then not released).
 * Cancel-safe: yes; t never outlives the call. */
CORIO_API CORIO_NODISCARD int corio_wait_for(corio_task *t, int64_t timeout_ns,
                                             int *result);

/* Wait until one of the tasks finishes (asyncio.wait with
 * FIRST_COMPLETED); NULL entries are skipped.  The finished task's index
 * goes to *index, its return value to *result (result may be NULL); only
 * that handle is released, and tasks[*index] is set to NULL, so calling it
 * again on the same array takes the tasks in the order they finish
 * (asyncio.as_completed):
 *
 *     for (size_t left = n; left; left--)
 *         if ((rc = corio_wait_any(tasks, n, &i, &r)) < 0)
 *             break;                       nothing released, all still ours
 *
 * A task already finished is taken at once, even by a cancelled caller;
 * among several finished, the lowest index.
 * Returns 0, or:
 *   -EINVAL     no non-NULL task, index is NULL, a handle is not live and
 *               owned, or a handle is given twice.
 *   -EBUSY      another task is joining one of them.
 *   -EDEADLK    the calling task is among them.
 *   -EPERM      called outside a task.
 *   -ECANCELED / -ETIMEDOUT  the caller was interrupted first.
 * Cancel-safe: yes.  On any error no handle was released and every task
 * keeps running (cancel them, or pass them to corio_gather). */
CORIO_API CORIO_NODISCARD int corio_wait_any(corio_task **tasks, size_t n,
                                             size_t *index, int *result);

/* The function corio_map() applies: item points at one element of the
 * caller's array.  Returns >= 0 on success, a negative error otherwise. */
typedef int (*corio_map_fn)(void *item);

/* Run fn on every item — items[0], items[stride], ... — with at most
 * `limit` calls under way at once (0: no limit), and store fn's result
 * for item i in results[i] (results may be NULL): asyncio.gather over the
 * items behind a Semaphore(limit), in one call.  Items start in index
 * order; fn runs in tasks of the calling loop (they inherit the caller's
 * task-local values), min(limit, n) of them, each taking the next item
 * when it is done with one, so a large n costs `limit` stacks.
 *
 * Returns like corio_gather (return_exceptions=True: a failing item does
 * not stop the others): 0 if every result is >= 0, else the first negative
 * result by index, or:
 *   -ECANCELED / -ETIMEDOUT  the caller was interrupted: the calls under
 *             way were cancelled and awaited (their results are what fn
 *             returned), items not yet started never run (results[i] =
 *             -ECANCELED).
 *   -ENOMEM   the tasks could not be made: fn ran on no item (results
 *             untouched); the tasks made so far were cancelled before
 *             their first run and awaited — nothing leaks.
 *   -EINVAL   fn is NULL, or items is NULL with n > 0.
 *   -EPERM    called outside a task.
 * n == 0 returns 0 at once.
 * Cancel-safe: yes; no call of fn outlives corio_map.
 * Ownership: items and results are borrowed until it returns. */
CORIO_API CORIO_NODISCARD int corio_map(corio_map_fn fn, void *items, size_t n,
                                        size_t stride, size_t limit,
                                        int *results);

#ifdef __cplusplus
}
#endif
#endif
