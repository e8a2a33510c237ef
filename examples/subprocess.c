/* subprocess.c — running programs and reading their output.
 *
 * The asyncio originals (asyncio's subprocess documentation; the seeds
 * list inter-process communication among the I/O uses of asyncio):
 *
 *     proc = await asyncio.create_subprocess_exec(
 *         "sh", "-c", script, stdout=asyncio.subprocess.PIPE)
 *     async for line in proc.stdout:
 *         print(line.decode().rstrip())
 *     code = await proc.wait()
 *
 *     proc = await asyncio.create_subprocess_exec(
 *         "sort", stdin=PIPE, stdout=PIPE)
 *     out, err = await proc.communicate(b"pear\napple\nfig\n")
 *
 *     try:
 *         await asyncio.wait_for(proc.communicate(), timeout=0.5)
 *     except asyncio.TimeoutError:
 *         proc.kill()
 *
 * In corio the child's pipes are ordinary corio streams
 * (corio_process_stdout), so reading a line is corio_stream_read_line.
 * corio_process_communicate writes the input, reads both outputs at once
 * (so neither pipe can fill up and block the child) and waits for the exit.
 * A timeout scope around communicate kills the child and reaps it: no
 * zombie, no descriptor left behind. */
#include <corio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

/* Read the child's stdout line by line while it runs. */
static int stream_lines(void)
{
    const char *argv[] = {"sh", "-c",
                          "echo 'building...'; echo 'compiling a.c'; "
                          "echo 'compiling b.c'; echo 'linking'",
                          NULL};
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    char line[256];
    ssize_t n;
    int status, rc;

    rc = corio_process_spawn(&p, argv, &o);
    if (rc < 0)
        return rc;
    /* async for line in proc.stdout: */
    while ((n = corio_stream_read_line(corio_process_stdout(p), line,
                                       sizeof line)) > 0)
        printf("  child says: %s", line);
    rc = n < 0 ? (int)n : corio_process_wait(p, &status);
    if (rc == 0)
        printf("  exit status %d\n", status);
    corio_process_close(p);
    return rc;
}

/* Feed input, collect output. */
static int sort_words(void)
{
    const char *argv[] = {"sort", NULL};
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    corio_process_output out;
    const char input[] = "pear\napple\nfig\n";

    int rc = corio_process_spawn(&p, argv, &o);
    if (rc < 0)
        return rc;
    rc = corio_process_communicate(p, input, sizeof input - 1, 0, &out);
    if (rc == 0) {
        printf("  sort exited with status %d; its output:\n", out.status);
        for (char *l = out.out, *nl; (nl = strchr(l, '\n')); l = nl + 1)
            printf("    %.*s\n", (int)(nl - l), l);
    }
    corio_process_output_destroy(&out);
    corio_process_close(p);
    return rc;
}

/* A failing command: its exit code and what it said on stderr. */
static int failing(void)
{
    const char *argv[] = {"sh", "-c", "echo 'no such table: users' >&2; exit 3",
                          NULL};
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_DEVNULL,
                            .stderr_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    corio_process_output out;

    int rc = corio_process_spawn(&p, argv, &o);
    if (rc < 0)
        return rc;
    rc = corio_process_communicate(p, NULL, 0, 0, &out);
    if (rc == 0)
        printf("  exit status %d, stderr: %s", out.status, out.err);
    corio_process_output_destroy(&out);
    corio_process_close(p);

    /* A program that does not exist fails at spawn, like FileNotFoundError. */
    const char *missing[] = {"no-such-program", NULL};
    rc = corio_process_spawn(&p, missing, NULL);
    printf("  spawning no-such-program: %s\n", corio_strerror(rc));
    return 0;
}

/* A child that takes too long: the timeout kills it. */
static int too_slow(void)
{
    const char *argv[] = {"sleep", "10", NULL};
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    corio_process_output out;

    int rc = corio_process_spawn(&p, argv, &o);
    if (rc < 0)
        return rc;
    int64_t t0 = corio_now();
    CORIO_WITH_TIMEOUT(500 * CORIO_MS, rc)
    {
        rc = corio_process_communicate(p, NULL, 0, 0, &out);
    }
    if (rc == -ETIMEDOUT) {
        printf("  timed out after %.1f s; the child was killed (status %d%s)\n",
               (double)(corio_now() - t0) / CORIO_SECOND, out.status,
               out.status == -SIGKILL ? ": SIGKILL" : "");
        rc = 0;
    }
    corio_process_output_destroy(&out);
    corio_process_close(p);
    return rc;
}

static int async_main(void *arg)
{
    (void)arg;
    int rc;
    start = corio_now();
    printf("1. reading a child's output line by line\n");
    if ((rc = stream_lines()) < 0)
        return rc;
    printf("2. communicate: input in, output out\n");
    if ((rc = sort_words()) < 0)
        return rc;
    printf("3. a failing command\n");
    if ((rc = failing()) < 0)
        return rc;
    printf("4. a timeout kills the child\n");
    if ((rc = too_slow()) < 0)
        return rc;
    printf("done at %.1f s\n", elapsed());
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "subprocess: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
