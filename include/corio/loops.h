/* corio/loops.h — every core: a loop per thread, and calls between loops.
 *
 * corio_run_loops() runs one loop per thread (by default one per online
 * CPU), each optionally pinned to a CPU, and runs the same `main` on every
 * one of them.  Loops share nothing: a task runs on the loop that spawned
 * it for its whole life, and loop-local objects (events, locks, queues,
 * streams, HTTP sessions) belong to one loop.  Loops reach one another
 * only through the calls here and through corio_chan, which works between
 * tasks of any loops.  Thread pools (DNS, files, to_thread) are shared by
 * every loop of the process.
 *
 * A loop handle (corio_loop_current, corio_loop_at) is valid until the
 * run that made it returns: corio_run_loops for its loops, corio_run for
 * a single loop.  Inside corio_run_loops, a call to a loop that has
 * already ended returns -ESHUTDOWN. */
#ifndef CORIO_LOOPS_H
#define CORIO_LOOPS_H

#include "base.h"
#include "remote.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_loop corio_loop;

/* Options of corio_run_loops(); zero fields take the defaults.
 *   cpus, ncpus  pin loop i to CPU cpus[i % ncpus] (ncpus == 0: no
 *                pinning; the calling thread, which runs loop 0, gets its
 *                affinity back on return).
 *   loop         the options of every loop (corio_run_ex's), except that
 *                the CPU pool is shared: `threads` sizes it once.
 *   poll_ns      how long a loop with nothing to run polls for posts
 *                before it sleeps, when one of its tasks waits in
 *                corio_loop_call or another loop posted to it since it
 *                last slept (0: the default, 20 us; negative: never).
 *                A polling loop answers without a wake-up through the
 *                kernel (tens of microseconds to hundreds on a busy
 *                machine) and its senders skip the eventfd write; it
 *                costs up to poll_ns of CPU per sleep, and watched
 *                descriptors are checked every 8 us meanwhile. */
typedef struct corio_loops_opts {
    const int *cpus;
    size_t ncpus;
    corio_options loop;
    int64_t poll_ns;
} corio_loops_opts;

/* Run n loops, loop 0 on the calling thread and loops 1..n-1 on threads of
 * their own (n == 0: one loop per CPU this thread may run on), and run
 * main(arg) as the main task of every one of them; return when every loop
 * has finished.  Every loop is ready before any main starts, so
 * corio_loop_at(i) may be used at once.
 *
 * Like a task group across loops: the first main to fail (return < 0) or
 * to be cancelled (SIGINT cancels the main of the loop that holds the
 * SIGINT role) cancels every other main.  A loop whose main has returned
 * keeps running its tasks and serving calls until every main has
 * returned; then each loop cancels and awaits its remaining tasks, as
 * corio_run does.
 *
 * Deadlock: a loop waiting on another loop (a corio_loop_call, or nothing
 * but posts) is not deadlocked.  When every loop is blocked with nothing
 * posted to it, no timer, no descriptor, no thread job, no open
 * corio_remote and no channel wait (a channel may be fed by any thread),
 * every loop reports the deadlock with its task dump and escalates as
 * corio_run does (cancel its main, then every task, then abandon).  A
 * plain thread that posts to loops with corio_loop_post is not known to
 * corio: if the loops wait only for it, hold a corio_remote open.
 *
 * Returns corio's own status: 0, or the first setup error of a loop
 * (-ENOMEM, -EMFILE, -EINVAL for a bad CPU, ...; no main ran), -EBUSY
 * (a loop already runs on this thread), -EINVAL (main is NULL), or
 * CORIO_EABANDONED (a loop abandoned its run as deadlocked).  *result
 * (if not NULL) gets the first failing main's result, else loop 0's.
 * Thread-safety: any thread without a running loop. */
CORIO_API CORIO_NODISCARD int corio_run_loops(size_t n,
                                              const corio_loops_opts *opts,
                                              corio_fn main, void *arg,
                                              int *result);

/* The calling thread's loop index in corio_run_loops (0 in a plain
 * corio_run or outside a loop). */
CORIO_API size_t corio_loop_index(void);
/* How many loops corio_run_loops runs (1 in a plain corio_run; 0 outside
 * a loop). */
CORIO_API size_t corio_loop_count(void);
/* The calling thread's loop, or NULL outside a loop. */
CORIO_API corio_loop *corio_loop_current(void);
/* Loop i of the calling thread's corio_run_loops (in a plain corio_run,
 * loop 0 is the current loop), or NULL when i is out of range. */
CORIO_API corio_loop *corio_loop_at(size_t i);

/* Run fn(arg) on `loop`'s thread, outside any task (it must not suspend;
 * it may spawn tasks, set events, try_put, ...), after every call this
 * thread posted to that loop before (FIFO per sender).  Calls are never
 * merged or dropped: each accepted call runs exactly once.  arg is
 * borrowed until fn has run.
 * Returns 0, or:
 *   -ESHUTDOWN  the loop has ended (fn will never run).
 *   -ENOMEM     no memory for the call.
 *   -EINVAL     loop or fn is NULL.
 * Thread-safety: any thread (loop threads, pool threads, plain threads).
 * Never blocks on the loop. */
CORIO_API int corio_loop_post(corio_loop *loop, corio_remote_fn fn, void *arg);

/* Run fn(arg) as a task on `loop` and wait for it: the caller suspends,
 * its own loop keeps running.  *result (if not NULL) gets fn's return
 * value.  loop may be the caller's own.
 *
 * Cancellation and deadlines cross loops: if the caller is cancelled or
 * one of its timeout scopes expires while fn runs, the task on `loop` is
 * cancelled (its waits return -ECANCELED) and the call waits for it to
 * return, so fn never runs after this call returns.
 *
 * Returns 0 when fn ran to its end uninterrupted, or:
 *   -ECANCELED / -ETIMEDOUT  the caller was interrupted; the remote task
 *       was cancelled and awaited, and *result holds what fn returned
 *       (-ECANCELED if it never started).  Interrupted before the call
 *       was sent, nothing ran on `loop`.
 *   -ESHUTDOWN  `loop` has ended or is shutting down (fn did not run;
 *       *result is set to the same error).
 *   -ENOMEM     the task could not be made there (same).
 *   -EINVAL     loop or fn is NULL.  -EPERM  not called from a task.
 * Cancel-safe: yes; arg is borrowed until the call returns.
 * Thread-safety: loop threads, from a task. */
CORIO_API CORIO_NODISCARD int corio_loop_call(corio_loop *loop, corio_fn fn,
                                              void *arg, int *result);

#ifdef __cplusplus
}
#endif
#endif
