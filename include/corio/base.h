/* corio/base.h — units, error codes and the run entry points.
 *
 * Every corio function reports failure as a negative errno value
 * (-ECANCELED, -ETIMEDOUT, -EINVAL, ...) and never through errno.
 * Library-only conditions use the reserved range below CORIO_ERRBASE;
 * corio_strerror() names them all.
 *
 * Every function that can suspend the calling task can return -ECANCELED
 * (the task, or a group it is inside, was cancelled) and -ETIMEDOUT (an
 * enclosing timeout scope expired); this is said once here and holds for
 * every such function in every corio header.  Calling a suspending function
 * outside a task returns -EPERM. */
#ifndef CORIO_BASE_H
#define CORIO_BASE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions libcorio.so exports; everything else is hidden. */
#define CORIO_API __attribute__((visibility("default")))

/* Time is int64_t nanoseconds on a monotonic clock. */
#define CORIO_NS     ((int64_t)1)
#define CORIO_US     ((int64_t)1000)
#define CORIO_MS     ((int64_t)1000000)
#define CORIO_SECOND ((int64_t)1000000000)

/* Library-only error codes: negative, below every errno value. */
#define CORIO_ERRBASE   (-10000)
#define CORIO_EDEADLOCK (CORIO_ERRBASE - 1) /* every task blocked forever */

/* A task body: returns >= 0 on success, a negative error otherwise. */
typedef int (*corio_fn)(void *arg);

typedef struct corio_task corio_task;
typedef struct corio_group corio_group;

/* Options for corio_run_ex().  Zero in any field means "the default".
 *   stack_size     bytes of stack per task (default 256 KiB, rounded up to
 *                  pages; the task record uses the top ~400 bytes of it).
 *   debug          1: debug mode (also enabled by CORIO_DEBUG=1).
 *   slow_task_ns   debug mode: report a task that runs longer than this
 *                  without suspending (default 100 ms).
 *   virtual_clock  1: time only moves when every task is blocked, jumping
 *                  to the next timer (also enabled by CORIO_VIRTUAL_CLOCK=1).
 *   threads        size of the CPU thread pool used by corio_to_thread()
 *                  (default min(32, CPUs + 4)). */
typedef struct corio_options {
    size_t stack_size;
    int debug;
    int64_t slow_task_ns;
    int virtual_clock;
    int threads;
} corio_options;

/* Run `main(arg)` as the first task of a new loop on the calling thread and
 * return its return value once it and every other task have finished.
 *
 * When `main` returns, every task still alive is cancelled and awaited
 * (debug mode reports, after 1 s, what it still waits for); task handles are
 * invalid after corio_run returns.  SIGINT during the outermost run of the
 * process's first loop cancels the main task (a second SIGINT while that is
 * under way kills the process); the handler is only installed over the
 * default disposition and is restored on return.  If every task is blocked
 * and nothing can ever wake one, the loop prints a task dump and cancels
 * the main task; if that does not end the deadlock either, every task is
 * cancelled, and as a last resort the run is abandoned with
 * CORIO_EDEADLOCK.
 *
 * Returns main's return value, or:
 *   -EBUSY          a loop is already running on this thread (nothing ran).
 *   -ENOMEM         the loop or the first task could not be allocated.
 *   -EMFILE, ...    the loop's eventfd or I/O engine could not be made.
 *   -EINVAL         main is NULL.
 *   CORIO_EDEADLOCK the run was abandoned as deadlocked.
 * Thread-safety: any thread; one loop per thread at a time. */
CORIO_API int corio_run(corio_fn main, void *arg);

/* corio_run() with options (opts may be NULL).  Same returns. */
CORIO_API int corio_run_ex(const corio_options *opts, corio_fn main, void *arg);

/* The current time in nanoseconds: the loop's clock (virtual when the
 * virtual clock is on) inside a loop, CLOCK_MONOTONIC outside.
 * Thread-safety: any thread. */
CORIO_API int64_t corio_now(void);

/* A static, human-readable message for any corio error code (negative
 * errno or CORIO_E*).  Never NULL.  Thread-safety: any thread. */
CORIO_API const char *corio_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
