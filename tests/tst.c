/* tst.c — the test runner: registry, fork-per-test with timeout, summary.
 *
 * Usage: corio_tests [-l] [suite | suite.name]...
 * With no argument every test runs; -l lists them. */
#include "tst.h"

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

typedef struct tst_case {
    const char *suite, *name;
    tst_fn fn;
    int timeout_s;
} tst_case;

static tst_case cases[1024];
static int ncases;

void tst_register(const char *suite, const char *name, tst_fn fn, int timeout_s)
{
    if (ncases == (int)(sizeof cases / sizeof cases[0])) {
        fprintf(stderr, "tst: too many tests\n");
        exit(2);
    }
    cases[ncases++] = (tst_case){suite, name, fn, timeout_s};
}

void tst_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", file, line, what);
    fflush(NULL);
    _exit(1);
}

void tst_fail_eq(const char *file, int line, const char *a, const char *b,
                 long long va, long long vb)
{
    fprintf(stderr, "    %s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", file,
            line, a, b, va, vb);
    fflush(NULL);
    _exit(1);
}

void tst_leak_check_at(const char *file, int line)
{
#ifdef HAVE_LSAN
    if (__lsan_do_recoverable_leak_check() != 0)
        tst_fail(file, line, "no leak (LeakSanitizer found one)");
#else
    (void)file;
    (void)line;
#endif
}

int64_t tst_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_SECOND + ts.tv_nsec;
}

void tst_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int tst_await_flag(atomic_int *flag)
{
    for (int i = 0; i < 5000 && !atomic_load(flag); i++)
        tst_nap_ms(1);
    return atomic_load(flag);
}

uint64_t tst_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* corio's own failure if any, else main's result: the one number a test
 * checks. */
int tst_run_ex(const corio_options *o, corio_fn fn, void *arg)
{
    int result = 0;
    int rc = corio_run_ex(fn, arg, &result, o);
    return rc < 0 ? rc : result;
}

int tst_run(corio_fn fn, void *arg)
{
    corio_options o = {.virtual_clock = 1};
    return tst_run_ex(&o, fn, arg);
}

int tst_count_fds(void)
{
    int n = 0;
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the DIR's own descriptor */
}

int tst_slow_env(void)
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

static int selected(const tst_case *c, int argc, char **argv)
{
    char full[256];
    if (argc == 0)
        return 1;
    snprintf(full, sizeof full, "%s.%s", c->suite, c->name);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], c->suite) || !strcmp(argv[i], full))
            return 1;
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run_one(const tst_case *c)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        alarm((unsigned)c->timeout_s * (tst_slow_env() ? 4 : 1));
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

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc > 1 && !strcmp(argv[1], "-l")) {
        for (int i = 0; i < ncases; i++)
            printf("%s.%s\n", cases[i].suite, cases[i].name);
        return 0;
    }
    for (int i = 0; i < ncases; i++) {
        if (!selected(&cases[i], argc - 1, argv + 1))
            continue;
        double t0 = now_ms();
        int rc = run_one(&cases[i]);
        printf("%s %s.%s (%.0f ms)\n", rc == 0 ? "PASS" : "FAIL",
               cases[i].suite, cases[i].name, now_ms() - t0);
        fflush(stdout);
        rc == 0 ? passed++ : failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
