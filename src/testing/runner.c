/* testing/runner.c — the test runner and the checks (corio/testing.h).
 *
 * Parts:
 *   registry   what CORIO_TEST's constructors register, in link order.
 *   failing    corio_test_fail and the check functions: print, then end
 *              the child with _exit(1) (a test is its own process, so
 *              nothing needs unwinding).
 *   main       argument parsing, selection by fnmatch pattern, one forked
 *              child per test with alarm() as its timeout, plain or TAP
 *              output, and the closing line ctest and CI read. */
#include "testing/kit.h"

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct test_case {
    const char *suite, *name;
    corio_test_fn fn;
    int timeout_s;
} test_case;

static test_case cases[4096];
static int ncases;
static char context[256];

void corio_test_register(const char *suite, const char *name, corio_test_fn fn,
                         int timeout_s)
{
    if (ncases == (int)(sizeof cases / sizeof cases[0])) {
        fprintf(stderr, "corio_test: too many tests\n");
        exit(2);
    }
    cases[ncases++] = (test_case){suite, name, fn, timeout_s};
}

int corio_test_slow(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return 1;
#endif
#endif
    return getenv("CORIO_TEST_SLOW") != NULL;
}

/* ---- Failing ------------------------------------------------------------ */

void corio_test_context(const char *fmt, ...)
{
    va_list ap;
    context[0] = 0;
    if (!fmt)
        return;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
}

void corio_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (context[0])
        fprintf(stderr, "    in %s\n", context);
    fflush(NULL);
    _exit(1);
}

void corio_test_check_eq(const char *file, int line, const char *a,
                         const char *b, long long va, long long vb)
{
    if (va != vb)
        corio_test_fail(file, line, "CHECK_EQ(%s, %s) failed: %lld != %lld", a,
                        b, va, vb);
}

void corio_test_check_str(const char *file, int line, const char *a,
                          const char *b, const char *va, const char *vb)
{
    if (va == vb || (va && vb && !strcmp(va, vb)))
        return;
    corio_test_fail(file, line, "CHECK_STR(%s, %s) failed: %s%s%s != %s%s%s", a,
                    b, va ? "\"" : "", va ? va : "NULL", va ? "\"" : "",
                    vb ? "\"" : "", vb ? vb : "NULL", vb ? "\"" : "");
}

void corio_test_check_mem(const char *file, int line, const char *a,
                          const char *b, const void *va, const void *vb,
                          size_t n)
{
    const unsigned char *x = va, *y = vb;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            corio_test_fail(file, line,
                            "CHECK_MEM(%s, %s, %zu) failed: byte %zu is "
                            "0x%02x != 0x%02x",
                            a, b, n, i, x[i], y[i]);
}

/* "0", "-ETIMEDOUT", "CORIO_EOF", or the number for what is no code. */
static const char *code_name(long long v, char *buf, size_t cap)
{
    if (v < 0 && v >= INT32_MIN) {
        const char *n = corio_err_name((int)v);
        if (strcmp(n, "E?") && strcmp(n, "CORIO_E?")) {
            snprintf(buf, cap, "%s%s", strncmp(n, "CORIO_", 6) ? "-" : "", n);
            return buf;
        }
    }
    snprintf(buf, cap, "%lld", v);
    return buf;
}

void corio_test_check_err(const char *file, int line, const char *expr,
                          long long got, int expected)
{
    char g[48], e[48];
    if (got != expected)
        corio_test_fail(file, line, "CHECK_ERR(%s) failed: %s, expected %s",
                        expr, code_name(got, g, sizeof g),
                        code_name(expected, e, sizeof e));
}

/* ---- Main --------------------------------------------------------------- */

static int selected(const test_case *c, char **pats, int npats)
{
    char full[256];
    if (npats == 0)
        return 1;
    snprintf(full, sizeof full, "%s.%s", c->suite, c->name);
    for (int i = 0; i < npats; i++)
        if (!fnmatch(pats[i], c->suite, 0) || !fnmatch(pats[i], full, 0))
            return 1;
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run one test in a child.  0 if it passed. */
static int run_one(const test_case *c)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        alarm((unsigned)c->timeout_s * (corio_test_slow() ? 4 : 1));
        corio__test_fd_baseline();
        c->fn();
        fflush(NULL);
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "    killed by signal %d%s\n", WTERMSIG(st),
                WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
    return -1;
}

/* glibc's per-thread cache keeps freed chunks counted as in use, so the
 * heap counts (testing/leaks.c) would see it fill up as leaks: run the
 * tests without it, re-executing this program once with the tunable in
 * its environment.  Where that fails, or is not tried, the environment is
 * unchanged, and the heap counts know they are not exact.
 * Under AddressSanitizer (its own allocator) this is not needed. */
static void without_tcache(char **argv)
{
    extern char **environ;
    const char *t = getenv("GLIBC_TUNABLES");
    char tunables[1024];
    size_t n = 0;
    /* Under an emulator (CORIO_TEST_SLOW) the exec would reach the host's
     * kernel with a program it may not run. */
    if (corio__test_heap_exact() || getenv("CORIO_TEST_SLOW"))
        return;
    snprintf(tunables, sizeof tunables, "GLIBC_TUNABLES=%s%s%s", t ? t : "",
             t ? ":" : "", CORIO__TCACHE_OFF);
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env)
        return;
    n = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "GLIBC_TUNABLES=", 15))
            env[n++] = *e;
    env[n] = tunables;
    fflush(NULL);
    execve("/proc/self/exe", argv, env);
    free(env);
}

int corio_test_main(int argc, char **argv)
{
    int passed = 0, failed = 0, list = 0, tap = 0, npats = 0, total = 0;
    /* Static: the forked tests' LeakSanitizer checks must reach it. */
    static char **pats;
    pats = calloc((size_t)argc + 1, sizeof *pats);
    if (!pats)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--list")) {
            list = 1;
        } else if (!strcmp(argv[i], "--tap")) {
            tap = 1;
        } else if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            pats[npats++] = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: %s [-l|--list] [--tap] [[-f] suite|suite.name|"
                    "pattern]...\n",
                    argv[0]);
            free(pats);
            return 2;
        } else {
            pats[npats++] = argv[i];
        }
    }
    if (!list)
        without_tcache(argv);
    for (int i = 0; i < ncases; i++)
        total += selected(&cases[i], pats, npats);
    if (tap && !list)
        printf("1..%d\n", total);
    for (int i = 0; i < ncases; i++) {
        const test_case *c = &cases[i];
        if (!selected(c, pats, npats))
            continue;
        if (list) {
            printf("%s.%s\n", c->suite, c->name);
            continue;
        }
        double t0 = now_ms();
        int rc = run_one(c);
        rc == 0 ? passed++ : failed++;
        if (tap)
            printf("%sok %d - %s.%s\n", rc == 0 ? "" : "not ", passed + failed,
                   c->suite, c->name);
        else
            printf("%s %s.%s (%.0f ms)\n", rc == 0 ? "PASS" : "FAIL", c->suite,
                   c->name, now_ms() - t0);
        fflush(stdout);
    }
    free(pats);
    if (!list)
        printf("%s%d passed, %d failed\n", tap ? "# " : "", passed, failed);
    return failed ? 1 : 0;
}
