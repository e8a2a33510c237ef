/* core/post.c — the cross-thread post list (see post.h), and when a sender
 * must wake the loop.
 *
 * Skipping the wake-up.  Writing the eventfd costs the sender a syscall
 * and the loop a trip through the kernel's scheduler; it is only needed
 * when the loop may be asleep in its engine.  A loop that is running or
 * polling its inbox (sched.c) checks the list itself before it sleeps, so
 * the sender writes only when L->sleeping is set.  The lost wake-up to
 * rule out is: the loop sees an empty list and sleeps, while a sender
 * links a post and sees the loop awake.  It is a store-buffer pattern, so
 * both sides use sequentially consistent operations:
 *
 *   sender                         loop (corio__post_sleep_begin)
 *   store posts = p      (S1)      store sleeping = true     (L1)
 *   load sleeping        (S2)      load posts                (L2)
 *
 * In the single total order of these four operations, either S1 comes
 * before L2 (the loop sees p and does not sleep) or L1 comes before S2
 * (the sender sees the loop sleeping and writes).  Release/acquire alone
 * would allow both loads to miss (each store still in its CPU's store
 * buffer), which is what x86 does without the fence and aarch64 too.
 *
 * wake_armed then keeps it to one write per wake-up: the first sender to
 * see the loop sleeping arms it and writes; the loop disarms it after
 * reading the eventfd and before taking the list (corio__post_woken), so a
 * sender that finds it armed knows the write it relies on is pending or
 * unread, or that the loop has yet to take the list and will see its
 * post.  Every path into the engine's sleep goes through
 * corio__post_sleep_begin, so no sleep starts with a post unseen. */
#include "core/post.h"

#include <errno.h>
#include <sched.h>
#include <unistd.h>

/* The list's value once the loop is closed to posts (core/loops.c). */
static corio__post closed_mark;
#define CLOSED (&closed_mark)

/* Whether a send must count itself in flight (corio__post_quiesce).  A
 * loop sending to itself, or to a loop of its own corio_run_loops set,
 * need not: L is destroyed only after its own run, and a loop of a set only
 * after every loop of the set has finished its run (core/loops.c), so no
 * such send is under way by then.  (Dropping posts at a loop's end is the
 * one sending done after a run, and a loop of a set has none to drop: it
 * ran every post before closing its list.)  Skipping the count matters on
 * the hot path: the two atomic additions would pull the inbox line back
 * from a loop polling it. */
static inline bool counted(const corio__loop *self, const corio__loop *L)
{
    return !self || (self != L && (!self->set || self->set != L->set));
}

int corio__post_send(corio__loop *L, corio__post *p)
{
    corio__loop *self = corio__cur;
    bool count = counted(self, L);
    p->peer = self && self != L;
    /* An outside thread is counted in flight from before the push to after
     * the eventfd write: the loop may run p and end meanwhile, but it does
     * not close its eventfd (or free itself) until no sender is in flight
     * (corio__post_quiesce). */
    if (count)
        atomic_fetch_add(&L->senders, 1);
    /* The first attempt guesses an empty list rather than reading the head:
     * a read would fetch the line shared and the exchange then upgrade it,
     * two transfers where a loop answering calls one at a time needs one. */
    corio__post *head = NULL;
    for (;;) {
        p->next = head;
        if (atomic_compare_exchange_weak(&L->posts, &head, p)) /* S1 */
            break;
        if (head == CLOSED) {
            if (count)
                atomic_fetch_sub(&L->senders, 1);
            return -ESHUTDOWN;
        }
    }
    if (atomic_load(&L->sleeping) && /* S2 */
        !atomic_exchange(&L->wake_armed, true)) {
        /* This write must happen: a lost wake-up would strand the post.
         * Only EAGAIN (a full counter, so the loop is woken anyway) ends
         * the retries. */
        uint64_t one = 1;
        while (corio__sys.write(L->wakefd, &one, sizeof one) < 0 &&
               errno != EAGAIN)
            ;
    }
    if (count)
        atomic_fetch_sub(&L->senders, 1);
    return 0;
}

bool corio__post_pending(corio__loop *L)
{
    corio__post *head = atomic_load_explicit(&L->posts, memory_order_relaxed);
    return head && head != CLOSED;
}

bool corio__post_close(corio__loop *L)
{
    corio__post *none = NULL;
    return atomic_compare_exchange_strong(&L->posts, &none, CLOSED);
}

void corio__post_quiesce(corio__loop *L)
{
    while (atomic_load(&L->senders))
        sched_yield();
}

/* Only the loop closes the list, so a list it sees open stays open. */
static corio__post *take_all(corio__loop *L)
{
    if (!corio__post_pending(L))
        return NULL;
    return atomic_exchange(&L->posts, NULL);
}

bool corio__post_sleep_begin(corio__loop *L)
{
    atomic_store(&L->sleeping, true);           /* L1 */
    corio__post *head = atomic_load(&L->posts); /* L2 */
    if (!head || head == CLOSED)
        return true;
    atomic_store_explicit(&L->sleeping, false, memory_order_relaxed);
    return false;
}

void corio__post_sleep_end(corio__loop *L)
{
    /* Relaxed: a sender that still sees true only writes once more. */
    atomic_store_explicit(&L->sleeping, false, memory_order_relaxed);
}

void corio__post_woken(corio__loop *L)
{
    atomic_store(&L->wake_armed, false);
}

void corio__post_run(corio__loop *L)
{
    if (CORIO__UNLIKELY(L->set_idle))
        corio__loops_busy(L); /* before the take: see loops.c */
    corio__post *p = take_all(L), *fifo = NULL;
    while (p) { /* the list is newest first: reverse it */
        corio__post *next = p->next;
        p->next = fifo;
        fifo = p;
        p = next;
    }
    corio_task *cur = L->current;
    L->current = &L->root; /* callbacks run outside any task */
    while (fifo) {
        corio__post *next = fifo->next;
        if (fifo->peer)
            L->poll_due = true;
        fifo->fn(fifo);
        fifo = next;
    }
    L->current = cur;
}

void corio__post_drop_all(corio__loop *L)
{
    corio__post *p = take_all(L);
    while (p) {
        corio__post *next = p->next;
        if (p->drop)
            p->drop(p);
        p = next;
    }
}
