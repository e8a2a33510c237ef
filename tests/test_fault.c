/* test_fault.c — the fault sweep (corio_test_sweep): fail each system call
 * and allocation of a scenario in turn (call #1, #2, ...), and check that
 * every failure comes back as an error, that nothing leaks (descriptors,
 * heap bytes; LeakSanitizer's verdict under it) and that the next loop
 * works. */
#include "tst.h"
#include "os/sys.h"

#include <string.h>
#include <unistd.h>

static int job(void *arg)
{
    return *(int *)arg * 2;
}

static int writer(void *arg)
{
    int fd = *(int *)arg;
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 8; i++) {
        ssize_t w = corio_fd_write(fd, buf, sizeof buf);
        if (w < 0)
            return (int)w;
    }
    return 0;
}

static int reader(void *arg)
{
    int fd = *(int *)arg;
    char buf[4096];
    size_t got = 0;
    while (got < 8 * sizeof buf) {
        ssize_t n = corio_fd_read(fd, buf, sizeof buf);
        if (n <= 0)
            return n < 0 ? (int)n : -EIO;
        got += (size_t)n;
    }
    return 0;
}

/* The scenario: a group whose children write and read a pipe through the
 * engine (a failure in one cancels the other), a timer, a thread job.
 * Returns 0 or the first error seen. */
static int scenario(void *arg)
{
    (void)arg;
    int p[2], rc, r = 0, x = 21;
    corio_group *g;
    if (pipe(p) < 0)
        return -errno;
    rc = corio_group_new(&g);
    if (rc == 0) {
        CORIO_IGNORE(corio_group_spawn(g, writer, &p[1]));
        CORIO_IGNORE(corio_group_spawn(g, reader, &p[0]));
        rc = corio_group_wait(g);
    }
    if (rc == 0)
        rc = corio_sleep(CORIO_MS);
    if (rc == 0)
        rc = corio_to_thread(job, &x, &r);
    if (rc == 0 && r != 42)
        rc = -EPROTO;
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return rc;
}

TEST_T(fault, sweep_core_paths, 120)
{
    /* The kit's sweep: every failure must come back as an error, leave no
     * descriptor or heap byte behind, and the next run must work. */
    CHECK_EQ(corio_test_sweep(scenario, NULL), 0);
    CHECK_EQ(tst_run(scenario, NULL), 0);
    tst_leak_check();
}

/* The engine's own calls go through the table too.  epoll_pwait2 that the
 * probe found but that fails with ENOSYS later (seccomp, qemu-user) makes
 * the engine fall back to epoll_wait instead of spinning. */
static int pwait2_calls;

static int enosys_pwait2(int epfd, struct epoll_event *evs, int n,
                         const struct timespec *t, const sigset_t *mask)
{
    (void)epfd, (void)evs, (void)n, (void)t, (void)mask;
    pwait2_calls++;
    errno = ENOSYS;
    return -1;
}

static int naps(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    return 0;
}

TEST(fault, epoll_pwait2_enosys_falls_back)
{
    setenv("CORIO_ENGINE", "epoll", 1);
    corio__sys.epoll_pwait2 = enosys_pwait2;
    corio_options o = {0}; /* real clock: the engine really waits */
    CHECK_EQ(tst_run_ex(&o, naps, NULL), 0);
    /* Asked once at most (none where the probe found no epoll_pwait2, as
     * under qemu-user), then epoll_wait: no spinning. */
    CHECK(pwait2_calls <= 1);
}

/* A failing epoll_wait or io_uring submit (fault injection) is a wait that
 * saw nothing: the loop goes on. */
TEST(fault, engine_waits_fail_without_harm)
{
    const char *engines[] = {"epoll", "uring"};
    for (int e = 0; e < 2; e++) {
        setenv("CORIO_ENGINE", engines[e], 1);
        for (long n = 1; n <= 40; n++) {
            corio_options o = {.virtual_clock = 1};
            corio__fault_arm(n, EINTR);
            int rc = tst_run_ex(&o, naps, NULL);
            corio__fault_disarm();
            CHECK(rc == 0 || rc < 0); /* an error or success, never a hang */
        }
    }
}
