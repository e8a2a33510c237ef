/* proc/process.c — corio_process_*: fork and exec with pipes as corio
 * streams, waiting on a pidfd, signals, communicate, and close that kills
 * and reaps.
 *
 * Parts:
 *   spawn        in steps (prepare, start, await_exec; spawn_undo on any
 *                failure): everything that can fail is prepared before
 *                fork (exec candidates from PATH, pipes, /dev/null, the
 *                streams, the record); between fork and exec the child only
 * makes async-signal-safe system calls, directly rather than through corio__sys
 * (the table's fault injection is for the parent; the child is a copy about to
 * be replaced).  An exec or chdir failure travels back as an errno over a
 *                close-on-exec pipe, which reads end of file once exec
 *                succeeded.
 *   reaping      waitid(P_PID, pid, WNOHANG): corio reaps nothing but its
 *                own children.  Until a child is reaped its pid cannot be
 *                reused, so kill(2) by pid is safe exactly while
 *                !p->reaped.
 *   wait         one waiter (the driver) watches the pidfd, or sleeps and
 *                polls without one; the others wait on an event that is
 *                set once the child is reaped and pulsed (set then cleared)
 *                when a driver leaves without reaping, so that one of them
 *                takes over.
 *   communicate  a group of up to three tasks: the stdin writer and the
 *                stdout and stderr readers; any failure or interruption
 *                kills and reaps the child.
 *   SIGPIPE      communicate's writer blocks SIGPIPE in the loop thread
 *                while it writes (counted, so overlapping communicates
 *                share it) and, when the last one ends, discards the
 *                SIGPIPEs its writes raised before unblocking it. */
#include "core/loop.h"
#include "io/fd.h"
#include "proc/sigwatch.h"

#include <corio/process.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

struct corio_process {
    pid_t pid;
    int pidfd; /* -1 without pidfd, or once reaped */
    bool reaped;
    bool lost; /* reaped by someone else: status unknown */
    bool communicating;
    int status;
    int users;          /* tasks inside wait or communicate */
    bool closing;       /* closed while used: the last user out finishes */
    corio_task *driver; /* the waiter watching the pidfd (or polling) */
    int64_t poll_ns;    /* without pidfd: the next polling interval */
    corio_event ev;
    corio_stream *io[3];
};

static void leave(corio_process *p);

/* ---- reaping ------------------------------------------------------------- */

static void release_pidfd(corio_process *p)
{
    if (p->pidfd < 0 || p->driver)
        return; /* a driver is parked on it: it closes it when it wakes */
    (void)corio__fd_close_any(p->pidfd);
    p->pidfd = -1;
}

/* Reap the child if it has exited (flags = WNOHANG) or once it exits
 * (flags = 0: blocks the thread).  1 reaped, 0 still running, or -errno. */
static int try_reap(corio_process *p, int flags)
{
    siginfo_t si;
    int rc;
    if (p->reaped)
        return 1;
    memset(&si, 0, sizeof si);
    do
        rc = corio__sys.waitid(P_PID, (id_t)p->pid, &si, WEXITED | flags);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        if (errno != ECHILD)
            return -errno;
        p->lost = true; /* reaped elsewhere: the pid is no longer ours */
    } else if (si.si_pid == 0) {
        return 0;
    }
    p->reaped = true;
    if (!p->lost)
        p->status = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
    release_pidfd(p);
    corio_event_set(&p->ev);
    return 1;
}

#define POLL_MAX_NS (50 * CORIO_MS)

/* Wait once for news of the child: as the driver (parked on the pidfd, or
 * sleeping the polling interval without one) if there is none yet, else
 * for the driver's event.  0, or the interruption. */
static int wait_once(corio_process *p)
{
    corio_task *self = corio__self();
    int r;
    if (p->driver)
        return corio_event_wait(&p->ev);
    p->driver = self;
    if (p->pidfd >= 0) {
        r = corio_fd_wait(p->pidfd, CORIO_READABLE);
    } else {
        r = corio_sleep(p->poll_ns);
        if (p->poll_ns < POLL_MAX_NS)
            p->poll_ns =
                p->poll_ns * 2 < POLL_MAX_NS ? p->poll_ns * 2 : POLL_MAX_NS;
    }
    p->driver = NULL;
    if (p->reaped) {
        release_pidfd(p); /* reaped by another task while we were parked */
    } else {
        /* Pulse: a waiter parked on the event takes over if we leave. */
        corio_event_set(&p->ev);
        corio_event_clear(&p->ev);
    }
    return r < 0 ? r : 0;
}

/* Wait for the child to be gone without being interrupted: after SIGKILL
 * this is short.  In a task the loop keeps running other tasks meanwhile;
 * outside one (or if waiting keeps failing) the thread blocks in waitid. */
static void reap_now(corio_process *p)
{
    corio_task *self = corio__self();
    if (self) {
        self->noint++;
        for (int errors = 0; !p->reaped && errors < 3;) {
            int r = try_reap(p, WNOHANG);
            if (r == 0)
                r = wait_once(p);
            if (r < 0)
                errors++; /* a failed call (fault injection): retry */
        }
        self->noint--;
    }
    for (int errors = 0; !p->reaped && errors < 3; errors++)
        try_reap(p, 0);
}

static void kill_and_reap(corio_process *p)
{
    if (p->reaped)
        return;
    corio__sys.kill(p->pid, SIGKILL);
    reap_now(p);
}

/* ---- spawn --------------------------------------------------------------- */

/* The paths exec will try, in order, as one allocation: an array of
 * pointers followed by the strings. */
static int exec_candidates(const char *file, const char *const *env,
                           char ***out)
{
    const char *path = NULL;
    *out = NULL;
    if (strchr(file, '/')) {
        size_t len = strlen(file) + 1;
        char **v = corio__sys.malloc(2 * sizeof *v + len);
        if (!v)
            return -ENOMEM;
        v[0] = memcpy((char *)(v + 2), file, len);
        v[1] = NULL;
        *out = v;
        return 0;
    }
    if (!*file)
        return -ENOENT;
    if (env) {
        for (const char *const *e = env; *e; e++)
            if (!strncmp(*e, "PATH=", 5))
                path = *e + 5;
    } else {
        path = getenv("PATH");
    }
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    size_t n = 1, flen = strlen(file), plen = strlen(path);
    for (const char *c = path; *c; c++)
        n += *c == ':';
    /* Each entry becomes dir + '/' + file + NUL; an empty one is ".". */
    size_t bytes = (n + 1) * sizeof(char *) + plen + n * (flen + 3);
    char **v = corio__sys.malloc(bytes);
    if (!v)
        return -ENOMEM;
    char *s = (char *)(v + n + 1);
    const char *dir = path;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(dir, ':');
        size_t dlen = end ? (size_t)(end - dir) : strlen(dir);
        v[i] = s;
        if (dlen == 0) {
            *s++ = '.';
        } else {
            memcpy(s, dir, dlen);
            s += dlen;
        }
        *s++ = '/';
        memcpy(s, file, flen + 1);
        s += flen + 1;
        dir = end ? end + 1 : dir + dlen;
    }
    v[n] = NULL;
    *out = v;
    return 0;
}

/* Everything the child needs, prepared before fork. */
typedef struct child_plan {
    int src[3];     /* descriptor to install as 0, 1, 2; -1: inherit */
    bool merge_err; /* 2 = dup of 1 (CORIO_STDIO_STDOUT) */
    int errfd;      /* write end of the error pipe */
    const char *cwd;
    char **candidates;
    char *const *argv;
    char *const *envp;
    sigset_t mask;
} child_plan;

static void child_fail(int errfd, int err)
{
    ssize_t r;
    do
        r = write(errfd, &err, sizeof err);
    while (r < 0 && errno == EINTR);
    _exit(127);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn)) child(child_plan *c)
{
    /* Move every source (and the error pipe) above 2 first, so that
     * installing one standard descriptor cannot overwrite another's source
     * and dup2 never meets src == target (which would keep close-on-exec). */
    if (c->errfd < 3) {
        int n = fcntl(c->errfd, F_DUPFD_CLOEXEC, 3);
        if (n < 0)
            _exit(127);
        c->errfd = n;
    }
    for (int i = 0; i < 3; i++) {
        if (c->src[i] < 0 || c->src[i] > 2)
            continue;
        int old = c->src[i], n = fcntl(old, F_DUPFD_CLOEXEC, 3);
        if (n < 0)
            child_fail(c->errfd, errno);
        for (int j = i; j < 3; j++)
            if (c->src[j] == old)
                c->src[j] = n;
    }
    for (int i = 0; i < 3; i++)
        if (c->src[i] >= 0 && dup2(c->src[i], i) < 0)
            child_fail(c->errfd, errno);
    if (c->merge_err && dup2(1, 2) < 0)
        child_fail(c->errfd, errno);
    sigprocmask(SIG_SETMASK, &c->mask, NULL);
    if (c->cwd && chdir(c->cwd) < 0)
        child_fail(c->errfd, errno);
    /* Nothing but 0, 1 and 2 survives exec (Linux >= 5.11; older kernels
     * keep descriptors opened without O_CLOEXEC). */
    syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
    int err = ENOENT;
    bool eacces = false;
    for (char **p = c->candidates; *p; p++) {
        execve(*p, c->argv, c->envp);
        err = errno;
        if (err == EACCES)
            eacces = true;
        else if (err != ENOENT && err != ENOTDIR && err != ENAMETOOLONG &&
                 err != ELOOP)
            break; /* a real failure of an existing file: stop, as execvp */
    }
    if (eacces && (err == ENOENT || err == ENOTDIR))
        err = EACCES;
    child_fail(c->errfd, err);
    _exit(127); /* not reached */
}

/* SIGPIPE protection for communicate's writer (see the top). */
static CORIO__TLS int sigpipe_holds;
static CORIO__TLS bool sigpipe_blocked;

static void sigpipe_hold(void)
{
    sigset_t cur, pipe;
    if (sigpipe_holds++)
        return;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if (corio__sys.sigprocmask(SIG_BLOCK, NULL, &cur) == 0 &&
        sigismember(&cur, SIGPIPE) != 1 &&
        corio__sys.sigprocmask(SIG_BLOCK, &pipe, NULL) == 0)
        sigpipe_blocked = true;
}

static void sigpipe_release(void)
{
    sigset_t pipe;
    if (--sigpipe_holds || !sigpipe_blocked)
        return;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    int fd = corio__sys.signalfd(-1, &pipe, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd >= 0) {
        struct signalfd_siginfo si;
        while (corio__sys.read(fd, &si, sizeof si) == (ssize_t)sizeof si)
            ;
        corio__sys.close(fd);
    }
    corio__sys.sigprocmask(SIG_UNBLOCK, &pipe, NULL);
    sigpipe_blocked = false;
}

static void close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            corio__sys.close(fds[i]);
            fds[i] = -1;
        }
}

/* A spawn in progress: everything corio_process_spawn has opened so far,
 * so that one undo releases it on any failure. */
typedef struct spawn {
    corio_process *p;
    child_plan plan;
    enum corio_stdio modes[3]; /* stdin, stdout, stderr */
    int pipes[3][2]; /* per standard descriptor: [0] read, [1] write end */
    int errpipe[2];  /* the child's exec errno travels back on it */
    int devnull;
} spawn;

/* The parent's end of stdio pipe i: stdin's write end, else the read end.
 * The child's end is the other one. */
#define PARENT_END(i) ((i) == 0 ? 1 : 0)
#define CHILD_END(i) ((i) == 0 ? 0 : 1)

static void spawn_init(spawn *sp, const corio_process_opts *o)
{
    memset(sp, 0, sizeof *sp);
    sp->modes[0] = o->stdin_mode;
    sp->modes[1] = o->stdout_mode;
    sp->modes[2] = o->stderr_mode;
    for (int i = 0; i < 3; i++) {
        sp->pipes[i][0] = sp->pipes[i][1] = -1;
        sp->plan.src[i] = -1;
    }
    sp->errpipe[0] = sp->errpipe[1] = -1;
    sp->devnull = -1;
}

/* Every mode known, and CORIO_STDIO_STDOUT only for stderr. */
static bool modes_ok(const enum corio_stdio modes[3])
{
    for (int i = 0; i < 3; i++)
        if (modes[i] < CORIO_STDIO_INHERIT || modes[i] > CORIO_STDIO_STDOUT ||
            (modes[i] == CORIO_STDIO_STDOUT && i != 2))
            return false;
    return true;
}

/* The record, not yet tied to a child. */
static int record_new(corio_process **out)
{
    corio_process *p = corio__sys.calloc(1, sizeof *p);
    *out = p;
    if (!p)
        return -ENOMEM;
    p->pidfd = -1;
    p->poll_ns = CORIO_MS;
    corio_event_init(&p->ev);
    return 0;
}

/* What the child's standard descriptors will be: a pipe, /dev/null (one
 * descriptor for all that ask), or inherited. */
static int open_stdio(spawn *sp)
{
    for (int i = 0; i < 3; i++) {
        if (sp->modes[i] == CORIO_STDIO_PIPE) {
            if (corio__sys.pipe2(sp->pipes[i], O_CLOEXEC) < 0)
                return -errno;
            sp->plan.src[i] = sp->pipes[i][CHILD_END(i)];
        } else if (sp->modes[i] == CORIO_STDIO_DEVNULL) {
            if (sp->devnull < 0 &&
                (sp->devnull = corio__sys.openat(AT_FDCWD, "/dev/null",
                                                 O_RDWR | O_CLOEXEC, 0)) < 0)
                return -errno;
            sp->plan.src[i] = sp->devnull;
        }
    }
    sp->plan.merge_err = sp->modes[2] == CORIO_STDIO_STDOUT;
    return 0;
}

/* The parent's ends become streams now, so nothing can fail after fork
 * but pidfd_open. */
static int open_streams(spawn *sp, const corio_stream_opts *so)
{
    for (int i = 0; i < 3; i++) {
        if (sp->modes[i] != CORIO_STDIO_PIPE)
            continue;
        int *end = &sp->pipes[i][PARENT_END(i)];
        int rc = corio_stream_from_fd(&sp->p->io[i], *end, so);
        if (rc < 0)
            return rc;
        *end = -1; /* the stream owns it */
    }
    return 0;
}

/* Everything that can fail, before fork: the exec candidates, the record,
 * the stdio descriptors and streams, the error pipe, the child's signal
 * mask. */
static int prepare(spawn *sp, const char *const *argv,
                   const corio_process_opts *o)
{
    int rc;

    if ((rc = exec_candidates(argv[0], o->env, &sp->plan.candidates)) < 0 ||
        (rc = record_new(&sp->p)) < 0 || (rc = open_stdio(sp)) < 0 ||
        (rc = open_streams(sp, &o->streams)) < 0)
        return rc;
    if (corio__sys.pipe2(sp->errpipe, O_CLOEXEC) < 0)
        return -errno;
    sp->plan.errfd = sp->errpipe[1];
    sp->plan.cwd = o->cwd;
    sp->plan.argv = (char *const *)argv;
    sp->plan.envp = o->env ? (char *const *)o->env : environ;
    corio__signal_child_mask(&sp->plan.mask);
    if (sigpipe_blocked)
        sigdelset(&sp->plan.mask, SIGPIPE);
    return 0;
}

/* Fork; in the parent, give up the child's ends and open the pidfd.  After
 * a failure with a child started, the undo kills and reaps it. */
static int start(spawn *sp)
{
    pid_t pid = corio__sys.fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child(&sp->plan);

    /* Parent.  The child's ends are the child's now. */
    sp->p->pid = pid;
    int pidfd = corio__sys.pidfd_open(pid, 0);
    int pidfd_err = pidfd < 0 ? errno : 0;
    corio__sys.close(sp->errpipe[1]);
    sp->errpipe[1] = -1;
    for (int i = 0; i < 3; i++) {
        int *end = &sp->pipes[i][CHILD_END(i)];
        if (*end >= 0)
            corio__sys.close(*end);
        *end = -1;
    }
    if (sp->devnull >= 0)
        corio__sys.close(sp->devnull);
    sp->devnull = -1;
    free(sp->plan.candidates);
    sp->plan.candidates = NULL;
    if (pidfd >= 0)
        sp->p->pidfd = pidfd;
    else if (pidfd_err != ENOSYS)
        return -pidfd_err;
    return 0;
}

/* Wait for the exec: end of file on the error pipe, or the child's errno
 * (the child has then exited with 127). */
static int await_exec(spawn *sp)
{
    int err = 0;
    size_t got = 0;
    while (got < sizeof err) {
        ssize_t n =
            corio_fd_read(sp->errpipe[0], (char *)&err + got, sizeof err - got);
        if (n < 0)
            return (int)n; /* interrupted: the undo kills the child */
        if (n == 0)
            break;
        got += (size_t)n;
    }
    corio_fd_close(sp->errpipe[0]);
    sp->errpipe[0] = -1;
    if (got)
        return got == sizeof err && err > 0 ? -err : -EIO;
    return 0;
}

/* Release what a failed spawn opened; a child it started is killed and
 * reaped (blocking). */
static void spawn_undo(spawn *sp)
{
    corio_process *p = sp->p;

    if (p && p->pid > 0)
        kill_and_reap(p);
    if (sp->errpipe[0] >= 0)
        corio_fd_close(sp->errpipe[0]);
    sp->errpipe[0] = -1;
    for (int i = 0; i < 3; i++) {
        close_pair(sp->pipes[i]);
        if (p)
            corio_stream_close(p->io[i]);
    }
    if (sp->devnull >= 0)
        corio__sys.close(sp->devnull);
    close_pair(sp->errpipe);
    if (p) {
        release_pidfd(p);
        corio_event_destroy(&p->ev);
        free(p);
    }
    free(sp->plan.candidates);
}

int corio_process_spawn(corio_process **out, const char *const *argv,
                        const corio_process_opts *o)
{
    static const corio_process_opts defaults;
    corio_task *self;
    spawn sp;
    int rc;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!o)
        o = &defaults;
    if (!argv || !argv[0])
        return -EINVAL;
    spawn_init(&sp, o);
    if (!modes_ok(sp.modes))
        return -EINVAL;
    if (!(self = corio__self()))
        return -EPERM;
    rc = corio__interrupt_code(self, &(int64_t){INT64_MAX});
    if (rc < 0)
        return rc; /* nothing started */
    if ((rc = prepare(&sp, argv, o)) < 0 || (rc = start(&sp)) < 0 ||
        (rc = await_exec(&sp)) < 0) {
        spawn_undo(&sp);
        return rc;
    }
    *out = sp.p;
    return 0;
}

/* ---- accessors, wait, poll, kill ----------------------------------------- */

pid_t corio_process_pid(const corio_process *p)
{
    return p ? p->pid : -1;
}

corio_stream *corio_process_stdin(corio_process *p)
{
    return p ? p->io[0] : NULL;
}

corio_stream *corio_process_stdout(corio_process *p)
{
    return p ? p->io[1] : NULL;
}

corio_stream *corio_process_stderr(corio_process *p)
{
    return p ? p->io[2] : NULL;
}

static int wait_impl(corio_process *p)
{
    for (;;) {
        int r = try_reap(p, WNOHANG);
        if (r < 0)
            return r;
        if (r > 0)
            return p->lost ? -ECHILD : 0;
        r = wait_once(p);
        if (r < 0)
            return r;
    }
}

int corio_process_wait(corio_process *p, int *status)
{
    if (!p)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (p->closing)
        return -EBADF;
    p->users++;
    int rc = wait_impl(p);
    if (rc == 0 && status)
        *status = p->status;
    if (p->closing)
        rc = -EBADF;
    leave(p);
    return rc;
}

int corio_process_poll(corio_process *p, int *status)
{
    if (!p)
        return -EINVAL;
    int r = try_reap(p, WNOHANG);
    if (r < 0)
        return r;
    if (r == 0)
        return -EAGAIN;
    if (p->lost)
        return -ECHILD;
    if (status)
        *status = p->status;
    return 0;
}

int corio_process_kill(corio_process *p, int signo)
{
    if (!p || signo < 0 || signo >= _NSIG)
        return -EINVAL;
    if (p->reaped)
        return -ESRCH;
    return corio__sys.kill(p->pid, signo) < 0 ? -errno : 0;
}

/* ---- communicate --------------------------------------------------------- */

typedef struct pipe_job {
    corio_stream *s;
    const void *in; /* writer */
    size_t in_len;
    char *buf; /* readers */
    size_t len, cap, max;
} pipe_job;

static int write_input(void *arg)
{
    pipe_job *j = arg;
    int rc = 0;
    sigpipe_hold();
    if (j->in_len)
        rc = corio_stream_write(j->s, j->in, j->in_len);
    if (rc == 0)
        rc = corio_stream_shutdown(j->s); /* flush, then close: end of file */
    sigpipe_release();
    if (rc == -EPIPE || rc == -ECONNRESET)
        rc = 0; /* the child did not want (all of) it */
    return rc;
}

static int read_output(void *arg)
{
    pipe_job *j = arg;
    for (;;) {
        if (j->len == j->cap) {
            if (j->cap > j->max) {
                j->len = j->max; /* keep the first max bytes */
                j->buf[j->len] = 0;
                return -EFBIG;
            }
            size_t ncap = j->cap ? j->cap * 2 : 16384;
            if (ncap > j->max + 1 || ncap < j->cap)
                ncap = j->max + 1;
            char *nb = corio__sys.realloc(j->buf, ncap + 1);
            if (!nb)
                return -ENOMEM;
            j->buf = nb;
            j->cap = ncap;
            j->buf[j->len] = 0;
        }
        ssize_t n = corio_stream_read(j->s, j->buf + j->len, j->cap - j->len);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        j->len += (size_t)n;
        j->buf[j->len] = 0;
    }
}

static int communicate(corio_process *p, const void *input, size_t input_len,
                       size_t max, corio_process_output *res)
{
    pipe_job jobs[3];
    corio_group *g;
    int rc;
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 3; i++) {
        jobs[i].s = p->io[i];
        jobs[i].max = max;
    }
    jobs[0].in = input;
    jobs[0].in_len = input_len;
    rc = corio_group_new(&g);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 3 && rc == 0; i++)
        if (p->io[i])
            rc = corio_group_spawn(g, i == 0 ? write_input : read_output,
                                   &jobs[i]);
    if (rc < 0)
        corio_group_cancel(g);
    int wrc = corio_group_wait(g);
    if (rc == 0)
        rc = wrc;
    /* -EFBIG from a reader is the group's first error; -ECANCELED /
     * -ETIMEDOUT come from the owner's own interruption. */
    if (rc == 0)
        rc = wait_impl(p);
    res->out = jobs[1].buf;
    res->out_len = jobs[1].len;
    res->err = jobs[2].buf;
    res->err_len = jobs[2].len;
    if (p->io[1] && !res->out) /* piped but empty: "" rather than NULL */
        res->out = corio__sys.calloc(1, 1);
    if (p->io[2] && !res->err)
        res->err = corio__sys.calloc(1, 1);
    if ((p->io[1] && !res->out) || (p->io[2] && !res->err))
        rc = rc < 0 ? rc : -ENOMEM;
    return rc;
}

int corio_process_communicate(corio_process *p, const void *input,
                              size_t input_len, size_t max_output,
                              corio_process_output *res)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (!p || !res || (input_len && (!input || !p->io[0])))
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (p->closing)
        return -EBADF;
    if (p->communicating)
        return -EBUSY;
    if (!max_output)
        max_output = CORIO_PROCESS_OUTPUT_DEFAULT;
    if (max_output > SIZE_MAX / 4)
        max_output = SIZE_MAX / 4;
    p->communicating = true;
    p->users++;
    int rc = communicate(p, input, input_len, max_output, res);
    if (rc < 0 && rc != -ECHILD)
        kill_and_reap(p); /* a timeout (or any failure) kills the child */
    p->communicating = false;
    res->status = p->reaped && !p->lost ? p->status : 0;
    if (p->closing)
        rc = -EBADF;
    leave(p);
    return rc;
}

void corio_process_output_destroy(corio_process_output *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

/* ---- close --------------------------------------------------------------- */

static void release(corio_process *p)
{
    /* Pipes first: a child blocked writing to us gets EPIPE, one reading
     * gets end of file. */
    for (int i = 0; i < 3; i++) {
        corio_stream_close(p->io[i]);
        p->io[i] = NULL;
    }
    kill_and_reap(p);
    release_pidfd(p); /* if reaping failed (fault injection) */
    corio_event_destroy(&p->ev);
    free(p);
}

void corio_process_close(corio_process *p)
{
    if (!p || p->closing)
        return;
    if (p->users) {
        /* The destructor rule: the child is killed, so the tasks inside
         * wait or communicate see it end; the last one out releases p. */
        p->closing = true;
        if (!p->reaped)
            corio__sys.kill(p->pid, SIGKILL);
        return;
    }
    release(p);
}

/* Every task inside wait or communicate leaves through here. */
static void leave(corio_process *p)
{
    if (--p->users == 0 && p->closing)
        release(p);
}
