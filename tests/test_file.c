/* test_file.c — corio_file_*: open/read/write/pread/pwrite/fsync/size/close
 * on the file pool, read_all and its limit, the line iterator (line
 * lengths, buffer boundaries, the maximum line length and skipping), the
 * cancellation rule (a job dropped before it starts changes nothing; a job
 * already running is waited for and its outcome returned), -EBUSY on close
 * with calls in flight, misuse, and no leaked descriptors. */
#include "tst.h"

#include "os/sys.h"
#include "core/engine.h"
#include "io/pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A fresh temporary path (the file is not created). */
static void tmp_path(char *buf, size_t n, const char *tag)
{
    static int seq;
    snprintf(buf, n, "%s/corio-test-%d-%s-%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), tag,
             seq++);
    unlink(buf);
}

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* ---- basic round trip ---------------------------------------------------- */

static int roundtrip_main(void *arg)
{
    (void)arg;
    char path[256], buf[64];
    tmp_path(path, sizeof path, "rt");
    int fds0 = tst_count_fds();
    corio_file *f = (corio_file *)1;
    CHECK_EQ(corio_file_open(&f, path, O_RDONLY, 0), -ENOENT);
    CHECK(f == NULL);
    CHECK_EQ(corio_file_open(&f, path, O_RDWR | O_CREAT | O_EXCL, 0600), 0);
    CHECK(f != NULL);
    int fl = fcntl(corio_file_fd(f), F_GETFD);
    CHECK(fl >= 0 && (fl & FD_CLOEXEC)); /* always close-on-exec */
    CHECK_EQ(corio_file_write(f, "hello, ", 7), 7);
    CHECK_EQ(corio_file_write(f, "world\n", 6), 6);
    CHECK_EQ(corio_file_pwrite(f, "W", 1, 7), 1); /* position unchanged */
    CHECK_EQ(lseek(corio_file_fd(f), 0, SEEK_CUR), 13);
    off_t size = -1;
    CHECK_EQ(corio_file_size(f, &size), 0);
    CHECK_EQ(size, 13);
    CHECK_EQ(corio_file_fsync(f), 0);
    CHECK_EQ(corio_file_read(f, buf, sizeof buf), 0); /* at the end */
    CHECK_EQ(corio_file_pread(f, buf, sizeof buf, 0), 13);
    CHECK(memcmp(buf, "hello, World\n", 13) == 0);
    CHECK_EQ(corio_file_pread(f, buf, 5, 7), 5);
    CHECK(memcmp(buf, "World", 5) == 0);
    CHECK_EQ(lseek(corio_file_fd(f), 2, SEEK_SET), 2);
    CHECK_EQ(corio_file_read(f, buf, 3), 3);
    CHECK(memcmp(buf, "llo", 3) == 0);
    CHECK_EQ(corio_file_pread(f, buf, 1, -1), -EINVAL);
    CHECK_EQ(corio_file_pwrite(f, buf, 1, -1), -EINVAL);
    CHECK_EQ(corio_file_close(f), 0);
    CHECK_EQ(corio_file_close(NULL), 0);

    /* Read-only: writes fail with write(2)'s error. */
    CHECK_EQ(corio_file_open(&f, path, O_RDONLY, 0), 0);
    CHECK_EQ(corio_file_write(f, "x", 1), -EBADF);
    CHECK_EQ(corio_file_fsync(f), 0);
    CHECK_EQ(corio_file_close(f), 0);

    /* O_APPEND: writes go to the end. */
    CHECK_EQ(corio_file_open(&f, path, O_WRONLY | O_APPEND, 0), 0);
    CHECK_EQ(corio_file_write(f, "more\n", 5), 5);
    CHECK_EQ(corio_file_size(f, &size), 0);
    CHECK_EQ(size, 18);
    CHECK_EQ(corio_file_close(f), 0);

    CHECK_EQ(tst_count_fds(), fds0);
    unlink(path);
    return 0;
}

TEST(file, open_read_write_pread_pwrite_size_fsync_close)
{
    CHECK_EQ(tst_run(roundtrip_main, NULL), 0);
}

static int misuse_main(void *arg)
{
    (void)arg;
    char buf[4];
    off_t sz;
    CHECK_EQ(corio_file_open(NULL, "x", O_RDONLY, 0), -EINVAL);
    corio_file *f;
    CHECK_EQ(corio_file_open(&f, NULL, O_RDONLY, 0), -EINVAL);
    CHECK(f == NULL);
    CHECK_EQ(corio_file_read(NULL, buf, 1), -EINVAL);
    CHECK_EQ(corio_file_write(NULL, buf, 1), -EINVAL);
    CHECK_EQ(corio_file_fsync(NULL), -EINVAL);
    CHECK_EQ(corio_file_size(NULL, &sz), -EINVAL);
    CHECK_EQ(corio_file_fd(NULL), -1);
    CHECK_EQ(corio_file_read_all(NULL, 0, NULL, NULL), -EINVAL);
    CHECK_EQ(corio_file_lines_next(NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(corio_file_lines_skip(NULL), -EINVAL);
    CHECK_EQ(corio_file_lines_offset(NULL), -1);
    corio_file_lines_close(NULL);
    return 0;
}

TEST(file, misuse)
{
    CHECK_EQ(tst_run(misuse_main, NULL), 0);
    /* Outside a task. */
    corio_file *f;
    CHECK_EQ(corio_file_open(&f, "/dev/null", O_RDONLY, 0), -EPERM);
    char *d;
    size_t n;
    CHECK_EQ(corio_file_read_all("/dev/null", 0, &d, &n), -EPERM);
}

/* ---- read_all ------------------------------------------------------------ */

static int read_all_main(void *arg)
{
    (void)arg;
    char path[256];
    char *d = (char *)1;
    size_t n = 99;
    int fds0 = tst_count_fds();
    tmp_path(path, sizeof path, "ra");

    CHECK_EQ(corio_file_read_all(path, 0, &d, &n), -ENOENT);
    CHECK(d == NULL);
    CHECK_EQ(n, 0);

    write_file(path, "", 0);
    CHECK_EQ(corio_file_read_all(path, 0, &d, &n), 0);
    CHECK_EQ(n, 0);
    CHECK(d && d[0] == 0);
    free(d);

    write_file(path, "abc\ndef", 7);
    CHECK_EQ(corio_file_read_all(path, 0, &d, &n), 0);
    CHECK_EQ(n, 7);
    CHECK(strcmp(d, "abc\ndef") == 0);
    free(d);
    /* Exactly at the limit, and one over. */
    CHECK_EQ(corio_file_read_all(path, 7, &d, &n), 0);
    CHECK_EQ(n, 7);
    free(d);
    CHECK_EQ(corio_file_read_all(path, 6, &d, &n), -EFBIG);
    CHECK(d == NULL);
    CHECK_EQ(n, 0);

    /* Several chunks, with a content check. */
    size_t big = 3 * 1024 * 1024 + 17;
    unsigned char *src = malloc(big);
    for (size_t i = 0; i < big; i++)
        src[i] = (unsigned char)(i * 31 % 253);
    write_file(path, src, big);
    CHECK_EQ(corio_file_read_all(path, 0, &d, &n), 0);
    CHECK_EQ(n, big);
    CHECK(memcmp(d, src, big) == 0);
    free(d);
    CHECK_EQ(corio_file_read_all(path, big - 1, &d, &n), -EFBIG);
    free(src);

    /* Size unknown in advance: /proc reports 0. */
    CHECK_EQ(corio_file_read_all("/proc/self/status", 0, &d, &n), 0);
    CHECK(n > 0 && strstr(d, "Name:") != NULL);
    free(d);
    CHECK_EQ(corio_file_read_all("/proc/self/status", 10, &d, &n), -EFBIG);

    /* A directory. */
    CHECK_EQ(corio_file_read_all("/", 0, &d, &n), -EISDIR);

    CHECK_EQ(tst_count_fds(), fds0);
    unlink(path);
    return 0;
}

TEST(file, read_all_and_its_limit)
{
    CHECK_EQ(tst_run(read_all_main, NULL), 0);
}

/* ---- the line iterator --------------------------------------------------- */

static int lines_basic_main(void *arg)
{
    (void)arg;
    char path[256];
    const char *line;
    size_t len;
    corio_file_lines *it;
    int fds0 = tst_count_fds();
    tmp_path(path, sizeof path, "lines");
    const char text[] = "first\n\nthird\r\n  padded  \nlast without newline";
    write_file(path, text, sizeof text - 1);
    CHECK_EQ(corio_file_lines_open(&it, path, 0), 0);
    CHECK_EQ(corio_file_lines_offset(it), 0);
    const char *want[] = {"first", "", "third\r", "  padded  ",
                          "last without newline"};
    off_t offs[] = {0, 6, 7, 14, 25};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(corio_file_lines_offset(it), offs[i]);
        CHECK_EQ(corio_file_lines_next(it, &line, &len), 1);
        CHECK_EQ(len, strlen(want[i]));
        CHECK(strcmp(line, want[i]) == 0); /* NUL-terminated */
    }
    CHECK_EQ(corio_file_lines_offset(it), (off_t)sizeof text - 1);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 0);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 0);
    CHECK_EQ(corio_file_lines_skip(it), 0);
    corio_file_lines_close(it);

    /* Empty file; a file of one "\n". */
    write_file(path, "", 0);
    CHECK_EQ(corio_file_lines_open(&it, path, 0), 0);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 0);
    corio_file_lines_close(it);
    write_file(path, "\n", 1);
    CHECK_EQ(corio_file_lines_open(&it, path, 0), 0);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 1);
    CHECK_EQ(len, 0);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 0);
    corio_file_lines_close(it);

    corio_file_lines *bad = (corio_file_lines *)1;
    unlink(path);
    CHECK_EQ(corio_file_lines_open(&bad, path, 0), -ENOENT);
    CHECK(bad == NULL);
    CHECK_EQ(tst_count_fds(), fds0);
    return 0;
}

TEST(file, lines_basic)
{
    CHECK_EQ(tst_run(lines_basic_main, NULL), 0);
}

/* Many lines of varied lengths over several buffer fills, some lines
 * longer than the minimum buffer: every line comes back intact. */
static int lines_many_main(void *arg)
{
    (void)arg;
    char path[256];
    tmp_path(path, sizeof path, "many");
    size_t cap = 4 * 1024 * 1024, n = 0;
    char *text = malloc(cap);
    int nlines = 0;
    uint64_t seed = 12345;
    while (n < 3 * 1024 * 1024) {
        size_t len = tst_rand(&seed) % 97;
        if (nlines % 50 == 7)
            len = 70000 + nlines; /* over 64 KiB */
        for (size_t i = 0; i < len; i++)
            text[n + i] = (char)('a' + (nlines + i) % 26);
        n += len;
        text[n++] = '\n';
        nlines++;
    }
    write_file(path, text, n);

    corio_file_lines *it;
    const char *line;
    size_t len, pos = 0;
    int got = 0;
    CHECK_EQ(corio_file_lines_open(&it, path, 100000), 0);
    int rc;
    while ((rc = corio_file_lines_next(it, &line, &len)) == 1) {
        CHECK(pos + len < n);
        CHECK(memcmp(line, text + pos, len) == 0);
        CHECK_EQ(text[pos + len], '\n');
        CHECK_EQ(line[len], 0);
        pos += len + 1;
        got++;
        CHECK_EQ(corio_file_lines_offset(it), (off_t)pos);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(got, nlines);
    CHECK_EQ(pos, n);
    corio_file_lines_close(it);
    free(text);
    unlink(path);
    return 0;
}

TEST(file, lines_across_buffer_fills)
{
    CHECK_EQ(tst_run(lines_many_main, NULL), 0);
}

/* Over max_line: CORIO_ETOOLONG, nothing consumed, the same again; the
 * offset names the line; skip drops it and the next line follows. */
static int lines_too_long_main(void *arg)
{
    (void)arg;
    char path[256];
    tmp_path(path, sizeof path, "long");
    size_t big = 200000;
    size_t n = 0;
    char *text = malloc(big + 100);
    n += (size_t)sprintf(text, "short\n12345678\n123456789\n");
    memset(text + n, 'x', big);
    n += big;
    text[n++] = '\n';
    n += (size_t)sprintf(text + n, "after\nend-no-newline-too-long");
    write_file(path, text, n);

    corio_file_lines *it;
    const char *line;
    size_t len;
    CHECK_EQ(corio_file_lines_open(&it, path, 8), 0);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 1);
    CHECK(strcmp(line, "short") == 0);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 1); /* exactly 8 */
    CHECK(strcmp(line, "12345678") == 0);
    CHECK_EQ(corio_file_lines_offset(it), 15);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), CORIO_ETOOLONG); /* 9 */
    CHECK_EQ(corio_file_lines_next(it, &line, &len), CORIO_ETOOLONG);
    CHECK_EQ(corio_file_lines_offset(it), 15);
    /* Nothing lost: the line can be read whole at its offset. */
    corio_file *f;
    char buf[16];
    CHECK_EQ(corio_file_open(&f, path, O_RDONLY, 0), 0);
    CHECK_EQ(corio_file_pread(f, buf, 10, corio_file_lines_offset(it)), 10);
    CHECK(memcmp(buf, "123456789\n", 10) == 0);
    CHECK_EQ(corio_file_close(f), 0);
    CHECK_EQ(corio_file_lines_skip(it), 10);
    /* A line far longer than the buffer: skipped across many reads. */
    CHECK_EQ(corio_file_lines_next(it, &line, &len), CORIO_ETOOLONG);
    CHECK_EQ(corio_file_lines_skip(it), (ssize_t)big + 1);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 1);
    CHECK(strcmp(line, "after") == 0);
    /* A last line without '\n' that is too long. */
    CHECK_EQ(corio_file_lines_next(it, &line, &len), CORIO_ETOOLONG);
    CHECK_EQ(corio_file_lines_skip(it), 23);
    CHECK_EQ(corio_file_lines_next(it, &line, &len), 0);
    CHECK_EQ(corio_file_lines_offset(it), (off_t)n);
    corio_file_lines_close(it);
    free(text);
    unlink(path);
    return 0;
}

TEST(file, lines_too_long_then_skip)
{
    CHECK_EQ(tst_run(lines_too_long_main, NULL), 0);
}

/* ---- cancellation -------------------------------------------------------- */

/* Wait (really: the loop thread sleeps) until some thread of this process
 * is blocked in read(2) on a descriptor naming `path`, i.e. a pool job has
 * started its system call. */
static void wait_thread_reading(const char *path)
{
    char real[512];
    CHECK(realpath(path, real) != NULL);
    for (int tries = 0; tries < 5000; tries++) {
        DIR *d = opendir("/proc/self/task");
        CHECK(d != NULL);
        struct dirent *e;
        int found = 0;
        while (!found && (e = readdir(d))) {
            char p[300], line[256], link[512];
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "/proc/self/task/%s/syscall", e->d_name);
            FILE *fp = fopen(p, "re");
            if (!fp)
                continue;
            long nr;
            unsigned long fd;
            /* Any syscall whose first argument is a descriptor naming the
             * path: only the pool thread's read(2) has one.  (The number
             * is not compared: under qemu-user it is the host's.) */
            if (fgets(line, sizeof line, fp) &&
                sscanf(line, "%ld 0x%lx", &nr, &fd) == 2 && nr >= 0 &&
                fd < 65536) {
                snprintf(p, sizeof p, "/proc/self/fd/%lu", fd);
                ssize_t n = readlink(p, link, sizeof link - 1);
                if (n > 0) {
                    link[n] = 0;
                    found = strcmp(link, real) == 0;
                }
            }
            fclose(fp);
        }
        closedir(d);
        if (found)
            return;
        usleep(1000);
    }
    CHECK(!"no pool thread started reading");
}

/* The tests below hold file-pool threads and watch them: they run on the
 * epoll engine, where every file call uses the pool (on io_uring, reads,
 * writes and fsync are ring operations: see uring_cancel_loses_nothing). */
static void on_the_file_pool(void)
{
    setenv("CORIO_ENGINE", "epoll", 1); /* this test's child process only */
}

/* Blockers: pool jobs that hold every file-pool thread until released. */
static int block_pipe[2];

static int blocker_job(void *arg)
{
    (void)arg;
    char c;
    return read(block_pipe[0], &c, 1) == 1 ? 0 : -EIO;
}

static int blocker_task(void *arg)
{
    int *r = arg;
    return corio__pool_run(CORIO__POOL_FILE, blocker_job, NULL, r);
}

static void block_pool(corio_task *b[4], int br[4])
{
    CHECK_EQ(pipe2(block_pipe, O_CLOEXEC), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&b[i], blocker_task, &br[i]), 0);
    CHECK_EQ(corio_yield(), 0); /* the blockers submit their jobs */
}

static void unblock_pool(corio_task *b[4], int br[4])
{
    CHECK_EQ(write(block_pipe[1], "xxxx", 4), 4);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(corio_task_join(b[i], NULL), 0);
        CHECK_EQ(br[i], 0);
    }
    close(block_pipe[0]);
    close(block_pipe[1]);
}

typedef struct reader_arg {
    corio_file *f;
    char buf[16];
    ssize_t rc;
    int done;
    int after; /* what the next suspension returned */
} reader_arg;

static int file_reader(void *arg)
{
    reader_arg *a = arg;
    a->rc = corio_file_read(a->f, a->buf, sizeof a->buf);
    a->done = 1;
    a->after = corio_yield();
    return 0;
}

/* A read queued behind busy pool threads and cancelled is dropped: it
 * returns -ECANCELED and the position has not moved. */
static int dropped_main(void *arg)
{
    (void)arg;
    char path[256];
    tmp_path(path, sizeof path, "drop");
    write_file(path, "0123456789", 10);
    reader_arg ra = {0};
    CHECK_EQ(corio_file_open(&ra.f, path, O_RDONLY, 0), 0);
    corio_task *b[4], *rt;
    int br[4];
    block_pool(b, br);
    CHECK_EQ(corio_task_spawn(&rt, file_reader, &ra), 0);
    CHECK_EQ(corio_yield(), 0); /* the read is queued behind the blockers */
    CHECK_EQ(ra.done, 0);
    corio_task_cancel(rt);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(ra.rc, -ECANCELED);
    CHECK_EQ(lseek(corio_file_fd(ra.f), 0, SEEK_CUR), 0); /* nothing read */
    unblock_pool(b, br);
    CHECK_EQ(corio_file_read(ra.f, ra.buf, sizeof ra.buf), 10);
    CHECK(memcmp(ra.buf, "0123456789", 10) == 0);
    CHECK_EQ(corio_file_close(ra.f), 0);
    unlink(path);
    return 0;
}

TEST(file, cancel_before_start_drops_the_call)
{
    on_the_file_pool();
    CHECK_EQ(tst_run(dropped_main, NULL), 0);
}

/* A read already running on a pool thread when the task is cancelled is
 * waited for and its data returned; the cancellation shows at the next
 * suspension. */
static int running_main(void *arg)
{
    (void)arg;
    char path[256];
    tmp_path(path, sizeof path, "fifo");
    CHECK_EQ(mkfifo(path, 0600), 0);
    reader_arg ra = {0};
    /* O_RDWR: the open does not wait for a writer, and reads block. */
    CHECK_EQ(corio_file_open(&ra.f, path, O_RDWR, 0), 0);
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, file_reader, &ra), 0);
    CHECK_EQ(corio_yield(), 0);
    wait_thread_reading(path);
    corio_task_cancel(rt);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(ra.done, 0); /* still waiting for its running job */
    CHECK_EQ(write(corio_file_fd(ra.f), "data", 4), 4);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(ra.rc, 4); /* the outcome, not -ECANCELED: nothing lost */
    CHECK(memcmp(ra.buf, "data", 4) == 0);
    CHECK_EQ(ra.after, -ECANCELED);
    CHECK_EQ(corio_file_close(ra.f), 0);
    unlink(path);
    return 0;
}

TEST(file, cancel_while_running_waits_and_keeps_the_data)
{
    on_the_file_pool();
    CHECK_EQ(tst_run(running_main, NULL), 0);
}

/* The same with a timeout scope on the real clock: the deadline passes
 * while the job runs; the call still returns the data. */
static int late_writer_fd;

static void *late_writer(void *arg)
{
    (void)arg;
    usleep(60 * 1000);
    if (write(late_writer_fd, "late", 4) != 4)
        abort();
    return NULL;
}

typedef struct timed_read {
    corio_file *f;
    char buf[8];
    ssize_t rc;
    int after, end;
    int64_t took;
} timed_read;

static int timed_reader(void *arg)
{
    timed_read *a = arg;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(10 * CORIO_MS), 0);
    a->rc = corio_file_read(a->f, a->buf, sizeof a->buf);
    a->took = corio_now() - t0;
    a->after = corio_yield(); /* level-triggered */
    a->end = corio_timeout_end();
    return 0;
}

static int timeout_main(void *arg)
{
    (void)arg;
    char path[256], buf[8];
    tmp_path(path, sizeof path, "fifo-to");
    CHECK_EQ(mkfifo(path, 0600), 0);
    timed_read a = {0};
    CHECK_EQ(corio_file_open(&a.f, path, O_RDWR, 0), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, timed_reader, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    /* Blocking the loop thread until the job runs: the deadline cannot
     * drop it first, it can only interrupt it while it runs. */
    wait_thread_reading(path);
    late_writer_fd = corio_file_fd(a.f);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, late_writer, NULL), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    pthread_join(th, NULL);
    CHECK_EQ(a.rc, 4);
    CHECK(memcmp(a.buf, "late", 4) == 0);
    CHECK(a.took >=
          50 * CORIO_MS); /* waited for the write, past the deadline */
    CHECK_EQ(a.after, -ETIMEDOUT);
    CHECK_EQ(a.end, -ETIMEDOUT);
    /* An expired scope drops a call before it starts. */
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_file_read(a.f, buf, sizeof buf), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_file_close(a.f), 0);
    unlink(path);
    return 0;
}

TEST(file, timeout_while_running_waits_and_keeps_the_data)
{
    on_the_file_pool();
    corio_options o = {0}; /* the real clock: a pool job holds virtual time */
    CHECK_EQ(tst_run_ex(&o, timeout_main, NULL), 0);
}

/* The line iterator over a FIFO: a next() cancelled while its read runs
 * returns the line that read completed; lines already buffered come back
 * without suspending; a later call that must read fails with -ECANCELED
 * and loses nothing: another task carries on with the same iterator. */
typedef struct lines_arg {
    const char *path;
    corio_file_lines *it;
    int r1, r2, r3, r4;
    char l1[16], l2[16], l3[16];
    int started_second;
} lines_arg;

static int lines_task(void *arg)
{
    lines_arg *a = arg;
    const char *line;
    size_t len;
    CHECK_EQ(corio_file_lines_open(&a->it, a->path, 0), 0);
    a->r1 = corio_file_lines_next(a->it, &line, &len);
    if (a->r1 == 1)
        snprintf(a->l1, sizeof a->l1, "%s", line);
    a->started_second = 1;
    a->r2 = corio_file_lines_next(a->it, &line, &len); /* cancelled in flight */
    if (a->r2 == 1)
        snprintf(a->l2, sizeof a->l2, "%s", line);
    a->r3 = corio_file_lines_next(a->it, &line, &len); /* buffered */
    if (a->r3 == 1)
        snprintf(a->l3, sizeof a->l3, "%s", line);
    a->r4 = corio_file_lines_next(a->it, &line, &len); /* must read: fails */
    return 0;
}

static int lines_cancel_main(void *arg)
{
    (void)arg;
    char path[256];
    tmp_path(path, sizeof path, "fifo-lines");
    CHECK_EQ(mkfifo(path, 0600), 0);
    int w = open(path, O_RDWR | O_CLOEXEC); /* a writer, so opens don't wait */
    CHECK(w >= 0);
    CHECK_EQ(write(w, "one\ntw", 6), 6);
    lines_arg a = {.path = path};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, lines_task, &a), 0);
    while (!a.started_second)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_yield(), 0);
    wait_thread_reading(path); /* the second next() is in read(2) */
    corio_task_cancel(t);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(write(w, "o\nthree\nfo", 10), 10);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.r1, 1);
    CHECK(strcmp(a.l1, "one") == 0);
    CHECK_EQ(a.r2, 1);
    CHECK(strcmp(a.l2, "two") == 0);
    CHECK_EQ(a.r3, 1);
    CHECK(strcmp(a.l3, "three") == 0);
    CHECK_EQ(a.r4, -ECANCELED);
    /* Nothing lost: "fo" is still buffered. */
    CHECK_EQ(corio_file_lines_offset(a.it), 14);
    CHECK_EQ(write(w, "ur\nfive", 7), 7);
    close(w); /* the last writer: end of file after "five" */
    const char *line;
    size_t len;
    CHECK_EQ(corio_file_lines_next(a.it, &line, &len), 1);
    CHECK(strcmp(line, "four") == 0);
    CHECK_EQ(corio_file_lines_next(a.it, &line, &len), 1);
    CHECK(strcmp(line, "five") == 0);
    CHECK_EQ(corio_file_lines_next(a.it, &line, &len), 0);
    corio_file_lines_close(a.it);
    unlink(path);
    return 0;
}

TEST(file, lines_cancelled_in_flight_lose_nothing)
{
    on_the_file_pool();
    CHECK_EQ(tst_run(lines_cancel_main, NULL), 0);
}

/* An interrupted skip stays pending: the next call finishes dropping the
 * line and never returns a fragment of it. */
typedef struct skip_arg {
    corio_file_lines *it;
    ssize_t rc;
} skip_arg;

static int skip_task(void *arg)
{
    skip_arg *a = arg;
    a->rc = corio_file_lines_skip(a->it);
    return 0;
}

static int skip_cancel_main(void *arg)
{
    (void)arg;
    char path[256];
    tmp_path(path, sizeof path, "fifo-skip");
    CHECK_EQ(mkfifo(path, 0600), 0);
    int w = open(path, O_RDWR | O_CLOEXEC);
    CHECK(w >= 0);
    CHECK_EQ(write(w, "0123456789abcdef", 16), 16);
    skip_arg a = {0};
    CHECK_EQ(corio_file_lines_open(&a.it, path, 4), 0);
    const char *line;
    size_t len;
    CHECK_EQ(corio_file_lines_next(a.it, &line, &len), CORIO_ETOOLONG);
    corio_task *b[4], *t;
    int br[4];
    block_pool(b, br);
    CHECK_EQ(corio_task_spawn(&t, skip_task, &a), 0);
    CHECK_EQ(corio_yield(), 0); /* skip dropped 16 bytes, its read queued */
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    unblock_pool(b, br);
    CHECK_EQ(write(w, "ghij\nnext\n", 10), 10);
    CHECK_EQ(corio_file_lines_next(a.it, &line, &len), 1);
    CHECK(strcmp(line, "next") == 0); /* not "ghij" */
    close(w);
    CHECK_EQ(corio_file_lines_next(a.it, &line, &len), 0);
    corio_file_lines_close(a.it);
    unlink(path);
    return 0;
}

TEST(file, interrupted_skip_stays_pending)
{
    CHECK_EQ(tst_run(skip_cancel_main, NULL), 0);
}

/* Concurrent preads from many tasks run on the pool in parallel and each
 * gets its own range. */
typedef struct pr_arg {
    corio_file *f;
    int i;
    int ok;
} pr_arg;

static int preader(void *arg)
{
    pr_arg *a = arg;
    char buf[100];
    for (int round = 0; round < 20; round++) {
        off_t off = (off_t)((a->i * 7 + round) % 100) * 100;
        if (corio_file_pread(a->f, buf, 100, off) != 100)
            return -EIO;
        for (int k = 0; k < 100; k++)
            if (buf[k] != (char)('A' + (off / 100) % 26))
                return -EIO;
    }
    a->ok = 1;
    return 0;
}

static int parallel_main(void *arg)
{
    (void)arg;
    char path[256];
    tmp_path(path, sizeof path, "par");
    char *data = malloc(10000);
    for (int i = 0; i < 10000; i++)
        data[i] = (char)('A' + (i / 100) % 26);
    write_file(path, data, 10000);
    free(data);
    corio_file *f;
    CHECK_EQ(corio_file_open(&f, path, O_RDONLY, 0), 0);
    pr_arg a[16];
    corio_task *t[16];
    for (int i = 0; i < 16; i++) {
        a[i] = (pr_arg){f, i, 0};
        CHECK_EQ(corio_task_spawn(&t[i], preader, &a[i]), 0);
    }
    int res[16];
    CHECK_EQ(corio_gather(t, 16, res), 0);
    for (int i = 0; i < 16; i++) {
        CHECK_EQ(res[i], 0);
        CHECK_EQ(a[i].ok, 1);
    }
    CHECK_EQ(corio_file_close(f), 0);
    unlink(path);
    return 0;
}

/* A read in flight on a FIFO, cancelled: on io_uring the ring operation is
 * cancelled and returns -ECANCELED at once; on the file pool the running
 * read is waited for and returns the data.  Either way nothing is lost:
 * the bytes come back in the cancelled call or in the next read. */
static int ur_cancel_main(void *arg)
{
    (void)arg;
    char path[256], buf[8];
    tmp_path(path, sizeof path, "fifo-ur");
    CHECK_EQ(mkfifo(path, 0600), 0);
    reader_arg ra = {0};
    CHECK_EQ(corio_file_open(&ra.f, path, O_RDWR, 0), 0);
    bool ring = corio__cur->engine->file != NULL;
    corio_task *rt;
    CHECK_EQ(corio_task_spawn(&rt, file_reader, &ra), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_yield(), 0); /* the read is submitted and waits */
    if (!ring)
        wait_thread_reading(path);
    corio_task_cancel(rt);
    late_writer_fd = corio_file_fd(ra.f);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, late_writer, NULL), 0);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    pthread_join(th, NULL);
    if (ring) {
        CHECK_EQ(ra.rc, -ECANCELED);
        CHECK_EQ(corio_file_read(ra.f, buf, sizeof buf), 4);
        CHECK(memcmp(buf, "late", 4) == 0);
    } else {
        CHECK_EQ(ra.rc, 4);
        CHECK(memcmp(ra.buf, "late", 4) == 0);
    }
    CHECK_EQ(ra.after, -ECANCELED);
    CHECK_EQ(corio_file_close(ra.f), 0);
    unlink(path);
    return 0;
}

TEST(file, uring_cancel_loses_nothing)
{
    corio_options o = {0}; /* the real clock: a thread writes late */
    CHECK_EQ(tst_run_ex(&o, ur_cancel_main, NULL), 0);
}

TEST(file, parallel_preads)
{
    CHECK_EQ(tst_run(parallel_main, NULL), 0);
}

/* ---- fault sweep --------------------------------------------------------- */

static char sweep_path[256];

/* Write, read back three ways, count lines.  0 or the first error. */
static int sweep_scenario(void *arg)
{
    (void)arg;
    corio_file *f;
    char buf[32], *all = NULL;
    size_t n = 0, len;
    const char *line;
    corio_file_lines *it;
    int rc = corio_file_open(&f, sweep_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (rc < 0)
        return rc;
    ssize_t w = corio_file_write(f, "one\ntwo\nthree\n", 14);
    if (w == 14)
        w = corio_file_pread(f, buf, sizeof buf, 4);
    if (w >= 0 && w != 10)
        w = -EPROTO;
    if (w >= 0)
        w = corio_file_fsync(f);
    corio_file_close(f);
    if (w < 0)
        return (int)w;
    rc = corio_file_read_all(sweep_path, 0, &all, &n);
    free(all);
    if (rc < 0)
        return rc;
    rc = corio_file_lines_open(&it, sweep_path, 0);
    if (rc < 0)
        return rc;
    int count = 0;
    while ((rc = corio_file_lines_next(it, &line, &len)) == 1)
        count++;
    corio_file_lines_close(it);
    return rc < 0 ? rc : count == 3 ? 0 : -EPROTO;
}

TEST_T(file, fault_sweep, 120)
{
    corio_options o = {.virtual_clock = 1};
    tmp_path(sweep_path, sizeof sweep_path, "sweep");
    CHECK_EQ(tst_run_ex(&o, sweep_scenario, NULL), 0);
    int fds0 = tst_count_fds();
    long n;
    int failures = 0;
    for (n = 1;; n++) {
        corio__fault_arm(n, ENOMEM);
        int rc = tst_run_ex(&o, sweep_scenario, NULL);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        failures += rc < 0;
        CHECK_EQ(tst_count_fds(), fds0);
        CHECK_EQ(tst_run_ex(&o, sweep_scenario, NULL), 0);
    }
    CHECK(n > 20);
    CHECK(failures > 0);
    tst_leak_check();
    unlink(sweep_path);
}
