/* core/remote.c — corio_remote: call_soon_threadsafe on top of posts, and
 * corio_loop_post, the same call to a loop handle of corio_run_loops.
 *
 * A remote is shared by the loop and its user, so it is reference counted
 * (two references at open) and guarded by its own mutex.  When the loop
 * ends it clears r->loop under that mutex, so a corio_remote_call racing
 * with the end either posts before it (and is discarded by
 * corio__post_drop_all) or sees the loop gone and returns -ESHUTDOWN. */
#include "core/post.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct corio_remote {
    pthread_mutex_t lock;
    corio__loop *loop; /* NULL once the loop has ended */
    int refs;
    bool closed;
    corio_remote *next; /* the loop's list; loop thread only */
};

typedef struct remote_post {
    corio__post post; /* first */
    corio_remote_fn fn;
    void *arg;
} remote_post;

static void run_post(corio__post *p)
{
    remote_post *rp = (remote_post *)p;
    rp->fn(rp->arg);
    free(rp);
}

static void drop_post(corio__post *p)
{
    free(p);
}

int corio_remote_open(corio_remote **out)
{
    corio__loop *L = corio__cur;
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!L)
        return -EPERM;
    corio_remote *r = corio__sys.calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    r->loop = L;
    r->refs = 2;
    r->next = L->remotes;
    L->remotes = r;
    atomic_fetch_add(&L->remotes_open, 1);
    *out = r;
    return 0;
}

/* Post fn(arg) to L (NULL: ended).  0, -ESHUTDOWN or -ENOMEM. */
static int post_call(corio__loop *L, corio_remote_fn fn, void *arg)
{
    if (!L)
        return -ESHUTDOWN;
    remote_post *rp = corio__sys.malloc(sizeof *rp);
    if (!rp)
        return -ENOMEM;
    rp->post.fn = run_post;
    rp->post.drop = drop_post;
    rp->fn = fn;
    rp->arg = arg;
    int rc = corio__post_send(L, &rp->post);
    if (rc < 0)
        free(rp);
    return rc;
}

int corio_remote_call(corio_remote *r, corio_remote_fn fn, void *arg)
{
    if (!r || !fn)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    int rc = post_call(r->loop, fn, arg);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int corio_loop_post(corio_loop *loop, corio_remote_fn fn, void *arg)
{
    if (!loop || !fn)
        return -EINVAL;
    return post_call((corio__loop *)loop, fn, arg);
}

static void unref(corio_remote *r)
{
    int left = --r->refs;
    pthread_mutex_unlock(&r->lock);
    if (!left) {
        pthread_mutex_destroy(&r->lock);
        free(r);
    }
}

void corio_remote_close(corio_remote *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->closed = true;
    if (r->loop && atomic_fetch_sub(&r->loop->remotes_open, 1) == 1) {
        /* The last one: wake the loop, which may now be deadlocked and
         * should say so instead of waiting forever.  The loop cannot end
         * meanwhile: it clears r->loop under r->lock first. */
        uint64_t one = 1;
        while (corio__sys.write(r->loop->wakefd, &one, sizeof one) < 0 &&
               errno != EAGAIN)
            ;
    }
    unref(r);
}

void corio__remotes_end(corio__loop *L)
{
    corio_remote *r = L->remotes, *next;
    L->remotes = NULL;
    for (; r; r = next) {
        next = r->next;
        pthread_mutex_lock(&r->lock);
        r->loop = NULL;
        unref(r);
    }
    corio__post_drop_all(L);
}
