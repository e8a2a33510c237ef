/* core/loop.c — corio_run: making a loop on the calling thread, running the
 * main task to the end of every task, and tearing the loop down.
 *
 * The loop's wake-up eventfd is how other threads reach it: pool threads
 * finishing a job and the SIGINT handler write to it, and the engine reports
 * it back through corio__loop_woken(). */
#include "core/loop.h"
#include "core/engine.h"
#include "core/post.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_STACK (256 * 1024)

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

void corio__loop_woken(corio__loop *L)
{
    uint64_t v;
    if (corio__sys.read(L->wakefd, &v, sizeof v) < 0) {
        /* EAGAIN: another wake-up was already consumed; nothing to do. */
    }
    corio__post_woken(L);
    corio__loop_run_posts(L);
}

void corio__loop_run_posts(corio__loop *L)
{
    corio_task *cur = L->current;
    if (cur == &L->root) {
        corio__post_run(L);
        return;
    }
    /* Posts run user code: not on the stack of whichever task happens to
     * be suspending (it may be small), but on the root's. */
    L->post_caller = cur;
    corio__ctx_switch(&cur->ctx, &L->root.ctx);
}

/* Stack overflow report, called from the SIGSEGV handler. */
static int overflow_who(const void *addr)
{
    corio__loop *L = corio__cur;
    corio_task *t = L ? L->current : NULL;
    if (!t || t == &L->root || !corio__stack_in_guard(&t->stack, addr))
        return 0;
    char name[CORIO_TASK_NAME_MAX];
    corio__stack_report(corio__task_label(t, name), t->stack.size);
    return 1;
}

/* io_uring when it works here, else epoll; CORIO_ENGINE forces one. */
static int engine_init(corio__loop *L)
{
    const char *want = getenv("CORIO_ENGINE");
    bool force_epoll = want && !strcmp(want, "epoll");
    bool force_uring = want && !strcmp(want, "uring");
    if (!force_epoll && corio__uring_engine.init) {
        L->engine = &corio__uring_engine;
        int rc = L->engine->init(L);
        if (rc == 0 || force_uring)
            return rc;
    }
    L->engine = &corio__epoll_engine;
    return L->engine->init(L);
}

int corio__loop_init(corio__loop *L, const corio_options *o)
{
    memset(L, 0, sizeof *L);
    L->debug = (o && o->debug) || env_flag("CORIO_DEBUG");
    L->slow_ns = o && o->slow_task_ns > 0 ? o->slow_task_ns : 100 * CORIO_MS;
    L->virtual_clock =
        (o && o->virtual_clock) || env_flag("CORIO_VIRTUAL_CLOCK");
    L->default_stack =
        corio__stack_round(o && o->stack_size ? o->stack_size : DEFAULT_STACK);
    L->vnow = L->start = corio__mono();
    L->turn_tail = &L->turn_head;
    L->wakefd = corio__sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (L->wakefd < 0)
        return -errno;
    corio__ctx_root(&L->root.ctx);
    L->root.loop = L; /* magic stays 0: the root is no task handle */
    L->root.state = CORIO__RUNNING;
    L->root.timer.idx = CORIO__NOT_ARMED;
    strcpy(L->root.name, "(root)");
    L->root.named = 1;
    L->current = &L->root;
    int rc = engine_init(L);
    if (rc < 0) {
        corio__sys.close(L->wakefd);
        return rc;
    }
    L->pool_threads = o ? o->threads : 0; /* io/pool.c reads it */
    return 0;
}

static void forget_task(corio_task *t, void *ctx)
{
    (void)ctx;
    /* An abandoned task may still be linked in a primitive that outlives
     * the run (a static event, a lock): unlink it before its stack goes. */
    if (t->state == CORIO__PARKED && t->wait && t->wait->cancel)
        t->wait->cancel(t->wait, t, CORIO_EABANDONED);
    corio__ctx_free(&t->ctx);
    if (t->capscopes > CORIO__INLINE_SCOPES)
        free(t->scopes);
    if (t->locals) /* never finished: it still holds its task-locals */
        corio__locals_release(t->locals);
}

void corio__loop_destroy(corio__loop *L)
{
    /* Records of tasks never released (handles never joined or detached,
     * or an abandoned run): their stacks go with the pool. */
    corio__each_task(L, forget_task, NULL);
    corio__remotes_end(L);
    L->engine->close(L);
    corio__post_quiesce(L);
    corio__sys.close(L->wakefd);
    corio__timer_heap_free(&L->timers);
    corio__stack_pool_destroy(&L->stacks);
}

int corio__loop_run(corio__loop *L, corio_fn main, void *arg, int *result)
{
    corio__cur = L;
    corio__stack_thread_begin(overflow_who);
    corio_task_opts to = {.name = "main"};
    int rc = corio__spawn(&L->main, &to, main, arg, CORIO__MAIN);
    if (rc == 0) {
        corio__sigint_install(L);
        if (L->debug)
            corio__debug_start(L);
        corio__loop_drive(L);
        if (L->set)
            corio__loops_end(L);
        if (L->debug)
            corio__debug_finish(L);
        corio__sigint_restore(L);
        if (L->abandoned)
            rc = CORIO_EABANDONED;
        else if (result)
            *result = L->main_result;
    }
    corio__stack_thread_end();
    return rc;
}

int corio_run(corio_fn main, void *arg, int *result)
{
    return corio_run_ex(main, arg, result, NULL);
}

int corio_run_ex(corio_fn main, void *arg, int *result,
                 const corio_options *opts)
{
    if (corio__cur)
        return -EBUSY;
    if (!main)
        return -EINVAL;
    corio__loop *L = corio__sys.malloc(sizeof *L);
    if (!L)
        return -ENOMEM;
    int rc = corio__loop_init(L, opts);
    if (rc == 0) {
        rc = corio__loop_run(L, main, arg, result);
        corio__loop_destroy(L);
        corio__cur = NULL;
    }
    free(L);
    return rc;
}
