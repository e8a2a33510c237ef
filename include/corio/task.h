/* corio/task.h — tasks: spawn, join, cancel, detach, yield, sleep, gather,
 * wait_for, and the task dump.
 *
 * A task is a function running on its own stack in the loop of the thread
 * that spawned it.  Scheduling is cooperative: a task runs until it calls a
 * suspending function.  Ready tasks run in strict FIFO order, and a spawned
 * task first runs when its spawner suspends.
 *
 * Ownership: every task belongs to someone.  The handle returned by spawn is
 * valid until it is passed to corio_task_join(), corio_task_detach(),
 * corio_gather() or corio_wait_for() (each releases it), or until
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
CORIO_API CORIO_NODISCARD int corio_task_spawn(corio_task **out, corio_fn fn, void *arg);

/* corio_task_spawn() with options (o may be NULL).  Same returns. */
CORIO_API CORIO_NODISCARD int corio_task_spawn_ex(corio_task **out, corio_fn fn, void *arg, const corio_task_opts *o);

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
CORIO_API CORIO_NODISCARD int corio_gather(corio_task **tasks, size_t n, int *results);

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
CORIO_API CORIO_NODISCARD int corio_wait_for(corio_task *t, int64_t timeout_ns, int *result);

#ifdef __cplusplus
}
#endif
#endif
