/* corio/process.h — child processes (asyncio.create_subprocess_exec):
 * spawn with pipes as corio streams, wait for the exit status, send
 * signals, communicate, and never leave a zombie or a descriptor behind.
 *
 *     const char *argv[] = {"sort", NULL};
 *     corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
 *                             .stdout_mode = CORIO_STDIO_PIPE};
 *     corio_process *p;
 *     corio_process_output out;
 *     corio_process_spawn(&p, argv, &o);
 *     corio_process_communicate(p, "b\na\n", 4, 0, &out); // "a\nb\n"
 *     corio_process_output_destroy(&out);
 *     corio_process_close(p);
 *
 * Exit status: as asyncio's returncode, the exit code (0..255) when the
 * child exited, or minus the signal number when a signal killed it
 * (-9 after SIGKILL).
 *
 * Waiting uses a pidfd (Linux >= 5.3) watched like any descriptor, so it
 * costs nothing while the child runs.  Where pidfd_open(2) is missing
 * (ENOSYS), corio polls waitid(WNOHANG) with sleeps growing from 1 ms to
 * 50 ms, so an exit is seen up to 50 ms late.  Either way corio reaps only
 * its own children, by pid: do not reap them elsewhere (waitpid(-1, ...) or
 * SIGCHLD set to SIG_IGN make corio_process_wait return -ECHILD).
 *
 * Descriptors: every descriptor corio creates is close-on-exec, and the
 * child keeps only its standard descriptors 0, 1 and 2: any other
 * descriptor of the parent, close-on-exec or not, is closed in the child
 * before exec (Python's close_fds=True; needs Linux >= 5.11, where older
 * kernels keep descriptors opened without O_CLOEXEC).  The child starts
 * with default handlers (exec resets them) and with the signal mask of the
 * loop thread minus the signals corio blocked (for corio/signal.h watchers
 * and for communicate's SIGPIPE protection).
 *
 * Thread-safety: loop-thread only. */
#ifndef CORIO_PROCESS_H
#define CORIO_PROCESS_H

#include "base.h"
#include "stream.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_process corio_process;

/* What a child's standard descriptor is connected to. */
enum corio_stdio {
    CORIO_STDIO_INHERIT = 0, /* the parent's own descriptor (the default) */
    CORIO_STDIO_PIPE,        /* a pipe, the parent's end a corio_stream */
    CORIO_STDIO_DEVNULL,     /* /dev/null */
    CORIO_STDIO_STDOUT,      /* stderr_mode only: wherever stdout goes (2>&1) */
};

/* Options of corio_process_spawn; zero fields mean the defaults.
 *   stdin_mode, stdout_mode, stderr_mode   enum corio_stdio.
 *   env      NULL: this process's environment; else the child's whole
 *            environment as "NAME=value" strings, NULL-terminated.
 *   cwd      NULL: this process's current directory; else the child's.
 *   streams  limits of the pipe streams (corio/stream.h).
 * Everything is borrowed until corio_process_spawn returns. */
typedef struct corio_process_opts {
    enum corio_stdio stdin_mode, stdout_mode, stderr_mode;
    const char *const *env;
    const char *cwd;
    corio_stream_opts streams;
} corio_process_opts;

/* Start argv[0] with arguments argv (NULL-terminated).  An argv[0] without
 * '/' is searched in the PATH of the child's environment (else this
 * process's PATH, else /usr/local/bin:/usr/bin:/bin), as execvp does.
 * Returns 0 and *out once the child has executed the program, or:
 *   -ENOENT, -EACCES, -ENOEXEC, -ENOTDIR, ...  exec(2) or chdir(2) failed
 *             in the child (which was reaped: nothing is left).
 *   -EINVAL   argv or argv[0] NULL, a mode out of range, or STDOUT as
 *             stdin_mode or stdout_mode.
 *   -EAGAIN, -ENOMEM, -EMFILE, ...  from fork(2), pipe2(2), open(2),
 *             pidfd_open(2).
 *   -ECANCELED / -ETIMEDOUT  interrupted while waiting for the exec: the
 *             child was killed and reaped.
 *   -EPERM    outside a task.
 * *out = NULL on every error, and no descriptor is left open.
 * Cancel-safe: yes; on every error there is no child. */
CORIO_API CORIO_NODISCARD int corio_process_spawn(corio_process **out,
                                                  const char *const *argv,
                                                  const corio_process_opts *o);

/* The child's process id.  Valid until close; once the child has been
 * waited for, the number may belong to another process.  -1 for NULL. */
CORIO_API pid_t corio_process_pid(const corio_process *p);

/* The parent's ends of the pipes (NULL unless that descriptor's mode was
 * CORIO_STDIO_PIPE, or for NULL p).  They belong to p and are closed by
 * corio_process_close (never close them yourself).  corio_stream_shutdown(
 * corio_process_stdin(p)) flushes and closes the child's stdin: the child
 * then reads end of file.
 * Writing to a child that exited raises SIGPIPE: see corio/stream.h
 * (corio_process_communicate protects itself). */
CORIO_API corio_stream *corio_process_stdin(corio_process *p);
/* The child's stdout as a stream (CORIO_STDIO_PIPE only, else NULL); owned
 * by p. */
CORIO_API corio_stream *corio_process_stdout(corio_process *p);
/* The child's stderr as a stream (CORIO_STDIO_PIPE only, else NULL); owned
 * by p. */
CORIO_API corio_stream *corio_process_stderr(corio_process *p);

/* Wait for the child to exit, reap it and store its exit status (above) in
 * *status (may be NULL).  Once reaped, every later call returns the same
 * status at once.  Any number of tasks may wait at the same time.
 * Returns 0, or:
 *   -ECHILD   the child was reaped by someone else (see above); its status
 *             is unknown.
 *   -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL (NULL p).
 * Cancel-safe: yes; an interrupted wait leaves the child running and
 * unreaped: wait again, kill it, or close it (which kills it).  Note that
 * on the virtual clock a deadline passes at once while a real child runs. */
CORIO_API CORIO_NODISCARD int corio_process_wait(corio_process *p, int *status);

/* The exit status if the child has been reaped (0, *status set), else
 * -EAGAIN (reaping it first if it has exited).  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_process_poll(corio_process *p, int *status);

/* Send signal signo to the child (SIGTERM: asyncio's terminate; SIGKILL:
 * kill; 0 checks that it has not been reaped).  A child that exited but
 * was not yet reaped still accepts (and ignores) signals.
 * Returns 0, or -ESRCH (already reaped: the pid is no longer ours),
 * -EINVAL (bad signo or NULL p), a negative errno from kill(2).
 * Never suspends. */
CORIO_API int corio_process_kill(corio_process *p, int signo);

/* What corio_process_communicate collected. */
typedef struct corio_process_output {
    char *out; /* stdout, NUL-terminated; NULL unless stdout is a pipe */
    size_t out_len;
    char *err; /* stderr, likewise */
    size_t err_len;
    int status; /* the exit status, once the child has been reaped */
} corio_process_output;

#define CORIO_PROCESS_OUTPUT_DEFAULT ((size_t)64 << 20) /* 64 MiB */

/* Write input to the child's stdin and close it (when stdin is a pipe;
 * with no input it is just closed), read its stdout and stderr pipes to
 * end of file, at the same time, so that no pipe can fill up and block
 * the child, then wait for it to exit.  max_output bounds each of stdout
 * and stderr (0: CORIO_PROCESS_OUTPUT_DEFAULT).  A child that exits
 * without reading all its input is not an error (the rest is dropped, and
 * SIGPIPE is kept from killing this process meanwhile).  Call it at most
 * once, instead of using the pipes directly.
 * Returns 0 with *res filled, or:
 *   -EFBIG    stdout or stderr passed max_output: the child was killed and
 *             reaped; res holds the first max_output bytes.
 *   -ECANCELED / -ETIMEDOUT  the child was killed (SIGKILL) and reaped;
 *             res holds what was read so far and the status (-9, unless
 *             the child exited on its own just before): a timeout scope
 *             around communicate is a timeout that kills the child.
 *   -EINVAL   NULL p or res, input given but stdin is not a pipe.
 *   -EBUSY    another task is in communicate on p.
 *   -ECHILD, a negative errno from reading the pipes (the child was then
 *             killed and reaped), -ENOMEM, -EPERM.
 * Whatever it returns, release res with corio_process_output_destroy.
 * Cancel-safe: yes, as said: no child is left running. */
CORIO_API CORIO_NODISCARD int
corio_process_communicate(corio_process *p, const void *input, size_t input_len,
                          size_t max_output, corio_process_output *res);

/* Free res->out and res->err and clear res (NULL is a no-op). */
CORIO_API void corio_process_output_destroy(corio_process_output *res);

/* Close the pipes, kill the child with SIGKILL if it has not been reaped,
 * reap it, and free p (NULL is a no-op): asyncio's transport close.
 * Waiting for the killed child suspends the calling task, without
 * interruption, until it is gone (usually well under a millisecond);
 * called outside a task, close blocks the thread for that time instead.
 * The destructor rule (docs/design.md): if tasks are inside
 * corio_process_wait or communicate on p, the child is killed at once,
 * their calls return -EBADF when it has gone, and the last of them
 * releases p. */
CORIO_API void corio_process_close(corio_process *p);

#ifdef __cplusplus
}
#endif
#endif
