/* corio/chan.h — a bounded, thread-safe channel of pointers between loops
 * and plain threads (the bridge between worker threads and tasks).
 *
 * The same calls work from both sides: called from a task, put and get
 * suspend the task (the loop keeps running); called from a thread that is
 * not running a task, they block that thread.  Items are FIFO; the channel
 * stores the pointers, the items are the caller's.
 *
 * Thread-safety, exactly: every function here may be called from any
 * thread; corio_chan_free once, after which no new call may start.
 * Careful: on a loop's thread outside a task (a corio_remote callback),
 * put and get would block the whole loop: use the try variants there. */
#ifndef CORIO_CHAN_H
#define CORIO_CHAN_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_chan corio_chan;

/* Create a channel holding at most `capacity` (>= 1) items.
 * Returns 0 and *out, or -EINVAL, -ENOMEM (*out = NULL). */
CORIO_API CORIO_NODISCARD int corio_chan_new(corio_chan **out, size_t capacity);

/* Free c (NULL is a no-op).  Calls still under way (tasks of any loop,
 * or threads) are woken and return -EBADF; the channel's memory goes when
 * the last of them has left (the destructor rule, docs/design.md).  Items
 * still inside are not touched.  Never blocks. */
CORIO_API void corio_chan_free(corio_chan *c);

/* Put item, waiting while the channel is full (a task suspends, a thread
 * blocks).
 * Returns 0, or CORIO_ESHUTDOWN (shut down, also while waiting), -EBADF
 * (freed while waiting), and for tasks -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: yes; on an error the item was not queued. */
CORIO_API CORIO_NODISCARD int corio_chan_put(corio_chan *c, void *item);

/* Take the oldest item into *item, waiting while the channel is empty.
 * Returns 0, or CORIO_ESHUTDOWN (shut down and drained), -EBADF (freed
 * while waiting), and for tasks -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: yes; on an error no item was removed. */
CORIO_API CORIO_NODISCARD int corio_chan_get(corio_chan *c, void **item);

/* Put without waiting: 0, -EAGAIN (full) or CORIO_ESHUTDOWN.  Any thread. */
CORIO_API CORIO_NODISCARD int corio_chan_try_put(corio_chan *c, void *item);
/* Get without waiting: 0, -EAGAIN (empty) or CORIO_ESHUTDOWN.  Any thread. */
CORIO_API CORIO_NODISCARD int corio_chan_try_get(corio_chan *c, void **item);

/* Stop accepting items: puts fail with CORIO_ESHUTDOWN, gets drain what is
 * left and then fail with CORIO_ESHUTDOWN; every waiter wakes up.  c stays
 * valid until corio_chan_free. */
CORIO_API void corio_chan_shutdown(corio_chan *c);

#ifdef __cplusplus
}
#endif
#endif
