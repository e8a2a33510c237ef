/* corio/remote.h — reaching a loop from other threads
 * (asyncio's loop.call_soon_threadsafe).
 *
 * A remote is a handle to one loop that any thread may use to run a
 * function on that loop's thread.  While a remote is open the loop does
 * not consider itself deadlocked: another thread may still post to it.
 *
 * Thread-safety, exactly: corio_remote_open is loop-thread only;
 * corio_remote_call and corio_remote_close may be called from any thread,
 * including the loop's own and after the loop has ended. */
#ifndef CORIO_REMOTE_H
#define CORIO_REMOTE_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_remote corio_remote;

/* A function posted to a loop.  It runs on the loop thread outside any
 * task: it must not suspend (suspending calls return -EPERM there), but it
 * may spawn tasks, set events, try_put into queues and so on. */
typedef void (*corio_remote_fn)(void *arg);

/* Open a remote to the calling thread's loop.
 * Returns 0 and *out, or -EPERM outside a loop, -ENOMEM (*out = NULL).
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_remote_open(corio_remote **out);

/* Run fn(arg) on r's loop thread soon, after the calls posted before it
 * (FIFO per sender).  arg is borrowed until fn has run.
 * Returns 0, or:
 *   -ESHUTDOWN  the loop has ended (fn will never run).
 *   -ENOMEM     no memory for the post.
 * A call posted but not yet run when the loop ends is discarded.
 * Thread-safety: any thread.  Never blocks on the loop. */
CORIO_API int corio_remote_call(corio_remote *r, corio_remote_fn fn, void *arg);

/* Close r (once; NULL is a no-op).  Calls already posted still run.
 * Thread-safety: any thread. */
CORIO_API void corio_remote_close(corio_remote *r);

#ifdef __cplusplus
}
#endif
#endif
