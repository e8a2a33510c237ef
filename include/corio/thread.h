/* corio/thread.h — running blocking or CPU-heavy work on a thread pool
 * (asyncio.to_thread, loop.run_in_executor).
 *
 * Pools are process-wide and separate per kind of work, so that one kind
 * cannot starve another: corio_to_thread() uses the CPU pool, whose size is
 * corio_options.threads.  Pool threads block every signal.
 *
 * Thread-safety: corio_to_thread is loop-thread only;
 * corio_thread_cancelled is for pool threads. */
#ifndef CORIO_THREAD_H
#define CORIO_THREAD_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Run fn(arg) on a pool thread while the loop runs other tasks, and store
 * its return value in *result (result may be NULL).
 *
 * Returns 0, or:
 *   -ECANCELED / -ETIMEDOUT  the caller was interrupted.  If fn had started,
 *       corio_thread_cancelled() turned true inside it, the call still waited
 *       for fn to return and stored its result; if fn had not started it was
 *       dropped and *result is set to the same error.
 *   -EINVAL  fn is NULL.  -EAGAIN  no pool thread could be started.  -EPERM.
 * Cancel-safe: yes; fn never runs after this call returns, and arg is
 * borrowed until then. */
CORIO_API CORIO_NODISCARD int corio_to_thread(corio_fn fn, void *arg,
                                              int *result);

/* Inside a function run by corio_to_thread(): 1 once the waiting task was
 * cancelled or timed out (fn should stop early), else 0.  0 elsewhere. */
CORIO_API int corio_thread_cancelled(void);

#ifdef __cplusplus
}
#endif
#endif
