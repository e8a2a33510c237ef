/* sync/chan_wait.h — a task's waiter on a corio_chan, shared by chan.c
 * (put/get) and select.c (a channel case).
 *
 * The waiter lives on the waiting task's stack; the channel links it under
 * its mutex.  A change that may let the waiter proceed "kicks" it: unlinks
 * it and sends `post` to the task's loop, which wakes the task to retry.
 * Nothing is ever handed to a channel waiter, so a kick is only a hint;
 * but the post refers to the waiter, which must therefore stay alive until
 * the post has run (delivered). */
#ifndef CORIO_SYNC_CHAN_WAIT_H
#define CORIO_SYNC_CHAN_WAIT_H

#include "core/post.h"

typedef struct corio__chan_waiter corio__chan_waiter;

struct corio__chan_waiter {
    corio__wait w; /* first: the scheduler hands back &w (chan.c only) */
    corio__post post;
    corio__chan_waiter *prev, *next;
    corio__chan_waiter **list; /* NULL once kicked or unlinked */
    corio_chan *chan;
    corio_task *task;
    int code;       /* interrupt that arrived while the kick was on its way */
    bool kicked;    /* a post to wake the task was sent (under the lock) */
    bool delivered; /* ... and has run (loop thread) */
};

/* Count the caller as inside c, so corio_chan_free leaves the memory to
 * the last one out (corio__chan_leave). */
void corio__chan_enter(corio_chan *c);
void corio__chan_leave(corio_chan *c);
/* Link w for the calling task as a getter (put: a putter) of c, unless the
 * operation would not wait now (an item or room is there, or c is shut
 * down or freed): returns 0 when linked, 1 when not (retry the operation).
 * The caller must be inside c. */
int corio__chan_arm(corio_chan *c, bool put, corio__chan_waiter *w);
/* Unlink w if it is still linked. */
void corio__chan_disarm(corio__chan_waiter *w);

#endif
