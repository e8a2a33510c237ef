/* corio/base.h — units, error codes and the run entry points.
 *
 * Every corio function reports failure as a negative errno value
 * (-ECANCELED, -ETIMEDOUT, -EINVAL, ...) and never through errno.
 * Library-only conditions use the reserved range below CORIO_ERRBASE, all
 * listed in corio/errno.h; corio_strerror() and corio_err_name() name them.
 *
 * Every function that can suspend the calling task can return -ECANCELED
 * (the task, or a group it is inside, was cancelled) and -ETIMEDOUT (an
 * enclosing timeout scope expired); this is said once here and holds for
 * every such function in every corio header.  Calling a suspending function
 * outside a task returns -EPERM. */
#ifndef CORIO_BASE_H
#define CORIO_BASE_H

#include "errno.h"

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
#define CORIO_NS ((int64_t)1)
#define CORIO_US ((int64_t)1000)
#define CORIO_MS ((int64_t)1000000)
#define CORIO_SECOND ((int64_t)1000000000)

/* Marks a call whose result must be checked (an error would otherwise be
 * lost, or an object leaked).  GCC warns even through a (void) cast: where
 * ignoring is really meant, test the result. */
#if defined(__GNUC__) || defined(__clang__)
#define CORIO_NODISCARD __attribute__((warn_unused_result))
#else
#define CORIO_NODISCARD
#endif

/* A result deliberately not used (GCC's warn_unused_result ignores a
 * plain (void) cast): `CORIO_IGNORE(corio_task_join(t, NULL));` in a
 * cleanup path that has nothing left to do with the error. */
#define CORIO_IGNORE(expr) ((void)!(expr))

/* "No deadline": the deadline of a scope that never expires. */
#define CORIO_NEVER INT64_MAX

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
 *   threads        size of the process-wide CPU thread pool used by
 *                  corio_to_thread(): sized at its first use (default
 *                  min(32, CPUs + 4)); a later run asking for more threads
 *                  grows it, nothing shrinks or resets it. */
typedef struct corio_options {
    size_t stack_size;
    int debug;
    int64_t slow_task_ns;
    int virtual_clock;
    int threads;
} corio_options;

/* Run `main(arg)` as the first task of a new loop on the calling thread
 * and wait until it and every other task have finished.
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
 * CORIO_EABANDONED.
 *
 * The return value is corio's own status, never main's: 0 when main ran to
 * its end (its return value is stored in *result, if result is not NULL),
 * or one of:
 *   -EBUSY           a loop is already running on this thread (nothing ran).
 *   -ENOMEM          the loop or the first task could not be allocated.
 *   -EMFILE, ...     the loop's eventfd or I/O engine could not be made.
 *   -EINVAL          main is NULL.
 *   CORIO_EABANDONED the run was abandoned as deadlocked (main's result is
 *                    lost; *result is left alone).
 * So `rc < 0` is corio failing, and *result is the program's own verdict.
 * Thread-safety: any thread; one loop per thread at a time. */
CORIO_API CORIO_NODISCARD int corio_run(corio_fn main, void *arg, int *result);

/* corio_run() with options (opts may be NULL: the defaults).  Same
 * returns, and -EINVAL for a bad option. */
CORIO_API CORIO_NODISCARD int
corio_run_ex(corio_fn main, void *arg, int *result, const corio_options *opts);

/* The current time in nanoseconds: the loop's clock (virtual when the
 * virtual clock is on) inside a loop, CLOCK_MONOTONIC outside.
 * Thread-safety: any thread. */
CORIO_API int64_t corio_now(void);

/* A static, human-readable message for any corio error code (negative
 * errno or CORIO_E*): "timed out" for -ETIMEDOUT (a deadline passed),
 * "cancelled" for -ECANCELED, the C library's text for other errno values.
 * Never NULL.  Thread-safety: any thread. */
CORIO_API const char *corio_strerror(int err);

/* The symbolic name of an error code: "CORIO_ETLS", "ETIMEDOUT", "0" for
 * success (err >= 0), "CORIO_E?" / "E?" for a value no table knows.  Never
 * NULL, static.  Thread-safety: any thread. */
CORIO_API const char *corio_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
