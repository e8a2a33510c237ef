/* core/post.h — handing work to a loop from any thread.
 *
 * A post is a node the sender owns until the loop has run it: the sender
 * pushes it on the loop's lock-free list (a compare-and-swap) and writes
 * the loop's eventfd if the loop may be asleep (post.c); the loop takes
 * the whole list at once, restores FIFO order and runs each node's fn on
 * its own thread.  Thread jobs (io/pool.c),
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
    /* Set by corio__post_send: sent from another loop's thread.  Running
     * one makes the loop poll its inbox before it next sleeps (sched.c). */
    bool peer;
} corio__post;

/* Any thread.  After this returns 0 the sender must not touch p again
 * unless it knows the loop has not run it (e.g. it lives on a task's stack
 * and the task waits for fn).  -ESHUTDOWN: the loop is closed to posts
 * (the end of a corio_run_loops loop, core/loops.c); p was not taken. */
int corio__post_send(corio__loop *L, corio__post *p);
/* Loop thread: run everything posted so far. */
void corio__post_run(corio__loop *L);
/* Loop thread: run the posts from wherever the loop is (core/loop.c): on
 * the root's stack, switching there from a task's pick() if need be. */
void corio__loop_run_posts(corio__loop *L);
/* Loop thread: is anything posted?  A relaxed peek, for polling; the take
 * in corio__post_run is what synchronises with the sender. */
bool corio__post_pending(corio__loop *L);
/* Loop thread: close the list to posts if it is empty (later sends get
 * -ESHUTDOWN); false if something is still posted.  quiesce: wait until
 * no sender is between its push and its eventfd write, so the eventfd may
 * be closed and the loop freed. */
bool corio__post_close(corio__loop *L);
void corio__post_quiesce(corio__loop *L);
/* Loop thread, around every sleep in the engine: begin returns false (and
 * the loop must not sleep) when something was posted; after it returns
 * true, senders write the eventfd until end.  woken: the eventfd was read
 * (disarm before the list is taken). */
bool corio__post_sleep_begin(corio__loop *L);
void corio__post_sleep_end(corio__loop *L);
void corio__post_woken(corio__loop *L);
/* core/call.c: a loop's one corio_loop_call answered in the record itself
 * rather than by a post back (L->flag_call, not NULL).  collect: if the
 * answer has come, wake the caller (true).  sleep: the loop is about to
 * sleep or count itself idle: switch the call to the post back, unless it
 * has been answered (false: collect it and do not sleep). */
bool corio__call_collect(corio__loop *L);
bool corio__call_sleep(corio__loop *L);
/* Loop thread, at the end of the run: drop everything still posted. */
void corio__post_drop_all(corio__loop *L);
/* core/remote.c, at the end of the run: cut every remote off the loop and
 * drop what is still posted. */
void corio__remotes_end(corio__loop *L);
/* core/loops.c, deadlock across loops: L (of a corio_run_loops set) has
 * nothing that could wake it but another loop.  idle counts it so and
 * returns true when every loop of the set is idle with nothing posted
 * (a deadlock, reported to every loop); busy uncounts it, before it takes
 * its posts. */
bool corio__loops_idle(corio__loop *L);
void corio__loops_busy(corio__loop *L);

#endif
