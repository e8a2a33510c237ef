/* core/post.h — handing work to a loop from any thread.
 *
 * A post is a node the sender owns until the loop has run it: the sender
 * links it on the loop's list under L->post_lock and writes the loop's
 * eventfd (once per batch); the loop takes the whole list, in order, and
 * runs each node's fn on its own thread.  Thread jobs (io/pool.c),
 * corio_remote_call and corio_loop_post (core/remote.c), corio_loop_call
 * (core/call.c) and corio_run_loops (core/loops.c) are built on it. */
#ifndef CORIO_CORE_POST_H
#define CORIO_CORE_POST_H

#include "core/loop.h"

typedef struct corio__post {
    struct corio__post *next;
    /* Runs on the loop thread, outside any task (corio__self() is NULL). */
    void (*fn)(struct corio__post *p);
    /* Called instead of fn for a post still pending when the loop ends
     * (NULL: nothing to release). */
    void (*drop)(struct corio__post *p);
} corio__post;

/* Any thread.  After this returns 0 the sender must not touch p again
 * unless it knows the loop has not run it (e.g. it lives on a task's stack
 * and the task waits for fn).  -ESHUTDOWN: the loop is closed to posts
 * (the end of a corio_run_loops loop, core/loops.c); p was not taken. */
int corio__post_send(corio__loop *L, corio__post *p);
/* Loop thread: run everything posted so far. */
void corio__post_run(corio__loop *L);
/* Loop thread, at the end of the run: drop everything still posted. */
void corio__post_drop_all(corio__loop *L);
/* core/remote.c, at the end of the run: cut every remote off the loop and
 * drop what is still posted. */
void corio__remotes_end(corio__loop *L);

#endif
