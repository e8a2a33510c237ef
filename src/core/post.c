/* core/post.c — the cross-thread post list (see post.h). */
#include "core/post.h"

#include <errno.h>
#include <unistd.h>

int corio__post_send(corio__loop *L, corio__post *p)
{
    /* All under the lock: the loop cannot run p (and end) before this
     * thread is done with the loop's eventfd. */
    pthread_mutex_lock(&L->post_lock);
    if (L->closed) {
        pthread_mutex_unlock(&L->post_lock);
        return -ESHUTDOWN;
    }
    p->next = L->posts;
    L->posts = p;
    if (!atomic_exchange(&L->wake_armed, true)) {
        /* This write must happen: a lost wake-up would strand the post.
         * Only EAGAIN (a full counter, so the loop is woken anyway) ends
         * the retries. */
        uint64_t one = 1;
        while (corio__sys.write(L->wakefd, &one, sizeof one) < 0 &&
               errno != EAGAIN)
            ;
    }
    pthread_mutex_unlock(&L->post_lock);
    return 0;
}

void corio__post_run(corio__loop *L)
{
    /* Disarm under the lock, with the list: a post sent after this sees
     * wake_armed false and writes the eventfd again; one sent before is on
     * the list taken here. */
    pthread_mutex_lock(&L->post_lock);
    corio__post *p = L->posts, *fifo = NULL;
    L->posts = NULL;
    atomic_store(&L->wake_armed, false);
    pthread_mutex_unlock(&L->post_lock);
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
        fifo->fn(fifo);
        fifo = next;
    }
    L->current = cur;
}

void corio__post_drop_all(corio__loop *L)
{
    pthread_mutex_lock(&L->post_lock);
    corio__post *p = L->posts;
    L->posts = NULL;
    pthread_mutex_unlock(&L->post_lock);
    while (p) {
        corio__post *next = p->next;
        if (p->drop)
            p->drop(p);
        p = next;
    }
}
