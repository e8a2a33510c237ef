/* corio/select.h — waiting for the first of several operations: queue get
 * and put, channel get and put, an event, a task's end, and a deadline
 * (libdill's choose, neco's select, Go's select).
 *
 *     corio_select_case cs[] = {
 *         {CORIO_SELECT_QUEUE_GET, jobs},
 *         {CORIO_SELECT_CHAN_PUT,  results, answer},
 *         {CORIO_SELECT_EVENT,     &stop},
 *     };
 *     size_t i;
 *     int rc = corio_select(cs, 3, corio_now() + CORIO_SECOND, &i);
 *     if (rc == 0 && i == 0) ... cs[0].item is the job taken
 *
 * Exactly one case is taken: among the cases ready when the call starts
 * (or each time it looks again) the lowest index wins, and every other case
 * is left untouched — no item taken or put, no handle released.  While it
 * waits the task is a waiter of every case at once, in each object's FIFO
 * order, and the first object to serve it (a put handing it an item, a get
 * taking its item, the event being set) is the case taken; serving it
 * removes it from every other object in the same step.  A channel or a
 * task ending only wakes it to look again, since channels hand nothing to
 * a waiter (see corio/chan.h).
 *
 * Thread-safety: loop-thread only (the channels in it may be used by other
 * threads and loops meanwhile). */
#ifndef CORIO_SELECT_H
#define CORIO_SELECT_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a case waits for; obj is the object named. */
enum corio_select_op {
    CORIO_SELECT_QUEUE_GET = 1, /* corio_queue *: take an item into item */
    CORIO_SELECT_QUEUE_PUT,     /* corio_queue *: put item */
    CORIO_SELECT_CHAN_GET,      /* corio_chan *: take an item into item */
    CORIO_SELECT_CHAN_PUT,      /* corio_chan *: put item */
    CORIO_SELECT_EVENT,         /* corio_event *: wait until it is set */
    CORIO_SELECT_JOIN,          /* corio_task *: wait until it ends, then
                                   release the handle, its return value in
                                   result (a handle owned by the caller) */
};

/* One case.  op and obj are the caller's; item is the item to put (PUT)
 * or receives the item taken (GET); result receives, for the case taken,
 * its outcome — the same value corio_select returns — or, for JOIN, the
 * task's return value.  Cases not taken are not written. */
typedef struct corio_select_case {
    int op;
    void *obj;
    void *item;
    int result;
} corio_select_case;

/* Take exactly one of the n cases, waiting until one is ready or the
 * absolute deadline (corio_now()'s clock; CORIO_NEVER: none) passes.  A
 * deadline already passed makes it a poll: a ready case is taken, else
 * -ETIMEDOUT at once (Go's select with a default).  n == 0 just waits for
 * the deadline.
 *
 * Returns 0 with the case taken in *index, or:
 *   that case's own error, with its index in *index: CORIO_ESHUTDOWN (a
 *               queue or channel shut down: a put at once, a get once
 *               drained), -EBADF (freed while waiting), -ENOMEM (a queue
 *               put could not grow the queue).  An error is a ready case
 *               like any other: the lowest index wins.
 *   -ETIMEDOUT  the deadline passed (or an enclosing timeout scope expired)
 *               with no case ready; *index = n.
 *   -ECANCELED  the caller was cancelled first; *index = n.
 *   -EINVAL     a case has an unknown op or NULL obj, an event not
 *               initialised, a JOIN handle not live and owned; *index
 *               names it (nothing was taken).  Also cases
 *               NULL with n > 0, or index NULL (*index untouched).
 *   -EBUSY / -EDEADLK  a JOIN task is joined by another task / is the
 *               caller (*index names it).
 *   -ENOMEM     no room to track more than 8 cases (*index = n).
 *   -EPERM      called outside a task.
 * A case ready at once is taken even by a cancelled caller (as in every
 * primitive); a case ready at the deadline is taken rather than timing
 * out.
 * Cancel-safe: yes.  On -ECANCELED / -ETIMEDOUT nothing was taken from or
 * put anywhere, no handle released; a case served in the very tick of the
 * interruption is returned as taken (0), never lost.
 * Ownership: items are the caller's pointers, as for the queue and the
 * channel; cases is borrowed until the call returns. */
CORIO_API CORIO_NODISCARD int corio_select(corio_select_case *cases, size_t n,
                                           int64_t deadline, size_t *index);

#ifdef __cplusplus
}
#endif
#endif
