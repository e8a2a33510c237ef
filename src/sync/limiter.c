/* sync/limiter.c — corio_limiter: a token bucket.
 *
 * Tokens are counted in nano-tokens (1e9 per token) in a double, refilled
 * from the elapsed time at each use: rate tokens/s is rate nano-tokens/ns.
 * Waiters queue in FIFO order; only the head's need matters, and the
 * limiter's own timer is armed for exactly the moment the head's tokens
 * will be there.  When it fires, every waiter whose tokens are there is
 * served (unlinked and woken in one step: no cancellation can undo it) and
 * the timer is re-armed for the next head.  A head that is interrupted
 * first is unlinked and the timer re-armed for the new head, so nothing is
 * lost and nothing polls. */
#include "sync/waitq.h"

#include <math.h>
#include <stdlib.h>

#define NANO 1e9

struct corio_limiter {
    double rate; /* tokens per second = nano-tokens per ns */
    int64_t burst;
    double units; /* nano-tokens available */
    int64_t stamp;
    corio__loop *loop; /* the loop whose heap holds the timer */
    corio__timer timer;
    corio__waitq q;
};

int corio_limiter_new(corio_limiter **out, double rate, int64_t burst)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!(rate > 0) || !isfinite(rate) || burst < 1 ||
        burst > INT64_MAX / 1000000000)
        return -EINVAL;
    corio_limiter *l = corio__sys.calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->rate = rate;
    l->burst = burst;
    l->units = (double)burst * NANO;
    l->stamp = INT64_MIN; /* set at first use, on the user's clock */
    l->timer.idx = CORIO__NOT_ARMED;
    *out = l;
    return 0;
}

void corio_limiter_free(corio_limiter *l)
{
    if (!l)
        return;
    corio__waitq_grant_all(&l->q, -EBADF); /* the destructor rule */
    if (l->loop)
        corio__timer_disarm(&l->loop->timers, &l->timer);
    free(l);
}

/* Add the tokens accumulated since the last refill, capped at burst.
 * While tasks wait the cap is one nanosecond's worth higher: a waiter's
 * timer fires at the first whole nanosecond after its tokens are there, and
 * that fraction belongs to the next waiter (dropping it would make every
 * step of a burst-1 limiter round up). */
static void refill(corio_limiter *l, int64_t now)
{
    if (l->stamp == INT64_MIN || now <= l->stamp) {
        if (l->stamp == INT64_MIN)
            l->stamp = now;
        return;
    }
    double cap =
        (double)l->burst * NANO + (corio__waitq_empty(&l->q) ? 0 : l->rate);
    l->units += (double)(now - l->stamp) * l->rate;
    if (l->units > cap)
        l->units = cap;
    l->stamp = now;
}

static void serve(corio__timer *t);

/* When `need` nano-tokens will be there, clamped: need / rate can exceed
 * the int64_t range. */
static int64_t when_for(double need, double rate, int64_t now)
{
    double w = need > 0 ? ceil(need / rate) : 0;
    return w >= (double)(INT64_MAX - 1 - now) ? INT64_MAX - 1
                                              : now + (int64_t)w;
}

/* Arm the timer for the moment the head's tokens will be there. */
static void arm_for_head(corio_limiter *l, int64_t now)
{
    corio__waiter *h = l->q.head;
    if (!h) {
        corio__timer_disarm(&l->loop->timers, &l->timer);
        return;
    }
    double need = (double)h->n * NANO - l->units;
    l->timer.fire = serve;
    corio__timer_arm(&l->loop->timers, &l->timer, when_for(need, l->rate, now));
}

static void serve(corio__timer *t)
{
    corio_limiter *l =
        (corio_limiter *)((char *)t - offsetof(corio_limiter, timer));
    int64_t now = corio__loop_now(l->loop);
    refill(l, now);
    corio__waiter *h;
    while ((h = l->q.head) && l->units >= (double)h->n * NANO) {
        l->units -= (double)h->n * NANO;
        corio__waitq_grant(&l->q, 0);
    }
    arm_for_head(l, now);
}

static bool leave(corio__wait *w, corio_task *t, int code)
{
    corio__waiter *me = (corio__waiter *)w;
    corio_limiter *l = me->owner;
    bool was_head = l->q.head == me;
    (void)t, (void)code;
    corio__waitq_remove(me);
    if (was_head)
        serve(&l->timer); /* the next head may already be servable */
    return true;
}

static int take_now(corio_limiter *l, int64_t n)
{
    refill(l, corio__loop_now(l->loop));
    if (!corio__waitq_empty(&l->q) || l->units < (double)n * NANO)
        return -EAGAIN;
    l->units -= (double)n * NANO;
    return 0;
}

static int check(corio_limiter *l, int64_t n)
{
    corio__loop *L = corio__cur;
    if (!l || n < 1 || n > l->burst)
        return -EINVAL;
    if (!L)
        return -EPERM;
    if (l->loop && l->loop != L)
        return -EINVAL;
    l->loop = L;
    return 0;
}

int corio_limiter_try_acquire(corio_limiter *l, int64_t n)
{
    int rc = check(l, n);
    return rc < 0 ? rc : take_now(l, n);
}

int corio_limiter_acquire(corio_limiter *l, int64_t n)
{
    int rc = check(l, n);
    if (rc < 0)
        return rc;
    if (!corio__self())
        return -EPERM;
    rc = take_now(l, n);
    if (rc != -EAGAIN)
        return rc;
    corio__waiter w;
    w.n = n;
    w.owner = l;
    bool head = corio__waitq_empty(&l->q);
    if (head) {
        /* The timer must be armed before parking; arm it for a waiter
         * that is not linked yet, by asking for this one's need. */
        int64_t now = corio__loop_now(l->loop);
        double need = (double)n * NANO - l->units;
        l->timer.fire = serve;
        if (corio__timer_arm(&l->loop->timers, &l->timer,
                             when_for(need, l->rate, now)) < 0)
            return -ENOMEM;
    }
    rc = corio__waitq_park(&l->q, &w, "rate limiter", leave);
    if (rc == -EBADF)
        return rc; /* l was freed */
    if (rc < 0 && head && corio__waitq_empty(&l->q))
        corio__timer_disarm(&l->loop->timers, &l->timer);
    return rc;
}
