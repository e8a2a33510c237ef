/* test_destroy.c — the destructor rule (docs/design.md), one case per
 * object: a destructor never refuses; tasks still waiting on the object are
 * woken and their calls return -EBADF; objects with a call under way that
 * cannot be pulled back are released by the last call out. */
#include "tst.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

typedef struct waiter {
    void *obj;
    int rc;
} waiter;

static int on_lock(void *arg)
{
    waiter *w = arg;
    w->rc = corio_lock_acquire(w->obj);
    return 0;
}

static int lock_main(void *arg)
{
    (void)arg;
    corio_lock l;
    corio_task *t;
    waiter w = {&l, 1};
    CHECK_EQ(corio_lock_init(&l), 0);
    CHECK_EQ(corio_lock_acquire(&l), 0);
    CHECK_EQ(corio_task_spawn(&t, on_lock, &w), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_lock_destroy(&l); /* held and waited on */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, -EBADF);
    CHECK_EQ(corio_lock_acquire(&l), -EINVAL); /* destroyed */
    return 0;
}

TEST(destroy, lock_wakes_waiters_with_ebadf)
{
    CHECK_EQ(tst_run(lock_main, NULL), 0);
}

static int on_event(void *arg)
{
    waiter *w = arg;
    w->rc = corio_event_wait(w->obj);
    return 0;
}

static int event_main(void *arg)
{
    (void)arg;
    corio_event e;
    corio_task *t[2];
    waiter w[2] = {{&e, 1}, {&e, 1}};
    CHECK_EQ(corio_event_init(&e), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_spawn(&t[i], on_event, &w[i]), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_event_destroy(&e);
    CHECK_EQ(corio_gather(t, 2, NULL), 0);
    CHECK_EQ(w[0].rc, -EBADF);
    CHECK_EQ(w[1].rc, -EBADF);
    return 0;
}

TEST(destroy, event_wakes_waiters_with_ebadf)
{
    CHECK_EQ(tst_run(event_main, NULL), 0);
}

typedef struct cond_waiter {
    corio_lock *l;
    corio_cond *c;
    int rc;
    int held; /* 1 if it held the lock again on return */
} cond_waiter;

static int on_cond(void *arg)
{
    cond_waiter *w = arg;
    CHECK_EQ(corio_lock_acquire(w->l), 0);
    w->rc = corio_cond_wait(w->c);
    w->held = corio_lock_release(w->l) == 0;
    return 0;
}

static int cond_main(void *arg)
{
    (void)arg;
    corio_lock l;
    corio_cond c;
    corio_task *t;
    cond_waiter w = {&l, &c, 1, 0};
    CHECK_EQ(corio_lock_init(&l), 0);
    CHECK_EQ(corio_cond_init(&c, &l), 0);
    CHECK_EQ(corio_task_spawn(&t, on_cond, &w), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_cond_destroy(&c);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, -EBADF);
    CHECK_EQ(w.held, 1); /* the lock is re-acquired as for any return */
    corio_lock_destroy(&l);
    return 0;
}

TEST(destroy, cond_wakes_waiters_who_keep_the_lock_rule)
{
    CHECK_EQ(tst_run(cond_main, NULL), 0);
}

static int on_sem(void *arg)
{
    waiter *w = arg;
    w->rc = corio_sem_acquire(w->obj);
    return 0;
}

static int sem_main(void *arg)
{
    (void)arg;
    corio_sem s;
    corio_task *t;
    waiter w = {&s, 1};
    CHECK_EQ(corio_sem_init(&s, 0), 0);
    CHECK_EQ(corio_task_spawn(&t, on_sem, &w), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_sem_destroy(&s);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, -EBADF);
    return 0;
}

TEST(destroy, sem_wakes_waiters_with_ebadf)
{
    CHECK_EQ(tst_run(sem_main, NULL), 0);
}

static int on_chan(void *arg)
{
    waiter *w = arg;
    void *item;
    w->rc = corio_chan_get(w->obj, &item);
    return 0;
}

static int chan_main(void *arg)
{
    (void)arg;
    corio_chan *c;
    corio_task *t[2];
    CHECK_EQ(corio_chan_new(&c, 1), 0);
    waiter w[2] = {{c, 1}, {c, 1}};
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_spawn(&t[i], on_chan, &w[i]), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_chan_free(c); /* the last getter out frees (ASan checks) */
    CHECK_EQ(corio_gather(t, 2, NULL), 0);
    CHECK_EQ(w[0].rc, -EBADF);
    CHECK_EQ(w[1].rc, -EBADF);
    return 0;
}

TEST(destroy, chan_wakes_waiters_and_the_last_frees)
{
    CHECK_EQ(tst_run(chan_main, NULL), 0);
}

static int on_process(void *arg)
{
    waiter *w = arg;
    int status;
    w->rc = corio_process_wait(w->obj, &status);
    return 0;
}

static int process_main(void *arg)
{
    (void)arg;
    corio_process *p;
    corio_task *t;
    CHECK_EQ(
        corio_process_spawn(&p, (const char *[]){"sleep", "10", NULL}, NULL),
        0);
    waiter w = {p, 1};
    CHECK_EQ(corio_task_spawn(&t, on_process, &w), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_process_close(p); /* kills the child; the waiter releases p */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, -EBADF);
    return 0;
}

TEST(destroy, process_close_while_waited_kills_and_releases)
{
    corio_options o = {0}; /* real clock: a real child */
    CHECK_EQ(tst_run_ex(&o, process_main, NULL), 0);
}

static int on_signal(void *arg)
{
    waiter *w = arg;
    int signo;
    w->rc = corio_signal_wait(w->obj, &signo);
    return 0;
}

static int signal_main(void *arg)
{
    (void)arg;
    corio_signal *s;
    corio_task *t;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    CHECK_EQ(corio_signal_open(&s, &set), 0);
    waiter w = {s, 1};
    CHECK_EQ(corio_task_spawn(&t, on_signal, &w), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_signal_close(s);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, -EBADF);
    return 0;
}

TEST(destroy, signal_close_while_waited_interrupts_and_releases)
{
    CHECK_EQ(tst_run(signal_main, NULL), 0);
}

typedef struct file_reader {
    corio_file *f;
    char buf[8];
    ssize_t rc;
} file_reader;

static int on_file(void *arg)
{
    file_reader *r = arg;
    r->rc = corio_file_read(r->f, r->buf, sizeof r->buf);
    return 0;
}

static int file_main(void *arg)
{
    (void)arg;
    char path[] = "/tmp/corio-destroy-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "abcd", 4), 4);
    close(fd);
    file_reader r = {.rc = 1};
    corio_task *t;
    CHECK_EQ(corio_file_open(&r.f, path, O_RDONLY, 0), 0);
    unlink(path);
    CHECK_EQ(corio_task_spawn(&t, on_file, &r), 0);
    CHECK_EQ(corio_yield(), 0);         /* the read is under way */
    CHECK_EQ(corio_file_close(r.f), 0); /* deferred: never refused */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(r.rc, 4); /* the call under way finished; then f was freed */
    return 0;
}

TEST(destroy, file_close_while_busy_is_finished_by_the_last_call)
{
    CHECK_EQ(tst_run(file_main, NULL), 0);
}
