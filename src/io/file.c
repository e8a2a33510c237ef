/* io/file.c — corio_file_*: files on the file thread pool, read_all, and
 * the line iterator.
 *
 * Parts:
 *   file_op / file_submit   every file system call corio makes for this
 *                           layer is described by a file_op and leaves the
 *                           loop thread through file_submit(), the single
 *                           place that chooses how it runs: the file pool,
 *                           or for reads, writes and fsync the io_uring
 *                           engine when it is the loop's.
 *   corio_file_*            the public calls, each one or a loop of ops.
 *   read_all                open, size hint, chunked reads, close.
 *   corio_file_lines_*      a buffer over read(2) on the iterator's own
 *                           descriptor; it tracks the offset of every line
 *                           and an interruption loses nothing.
 *
 * A file_op lives on the calling task's stack.  When the task is
 * interrupted, io/pool.c either drops the job before a thread picked it up
 * (op->ran stays false: nothing happened) or keeps the task waiting until
 * it has run (op->ran is true and op->res is its real outcome, which the
 * caller returns: no read byte, written byte or opened descriptor is ever
 * lost).  The interruption then shows at the task's next suspension.  On
 * the io_uring engine reads, writes and fsync are ring operations instead:
 * an interrupted one is cancelled in the kernel and the task stays parked
 * until its completion, which returns what moved, else the interruption. */
#include "core/engine.h"
#include "io/pool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct corio_file {
    int fd;
    int busy; /* calls in flight: close must not pull the fd from under them */
    bool closing; /* closed while busy: the last call out closes and frees */
};

enum { OP_OPEN, OP_READ, OP_WRITE, OP_FSYNC, OP_FSTAT };

typedef struct file_op {
    int op;
    int fd;
    void *buf; /* READ; WRITE (const) */
    size_t n;
    off_t off;        /* READ, WRITE: -1 for the file position */
    const char *path; /* OPEN */
    int flags;
    mode_t mode;
    struct stat *st; /* FSTAT */
    ssize_t res;     /* count, fd or 0; -errno */
    bool ran;
} file_op;

/* Runs on a pool thread. */
static int run_op(void *arg)
{
    file_op *o = arg;
    ssize_t r;
    do {
        switch (o->op) {
        case OP_OPEN:
            r = corio__sys.openat(AT_FDCWD, o->path, o->flags, o->mode);
            break;
        case OP_READ:
            r = o->off < 0 ? corio__sys.read(o->fd, o->buf, o->n)
                           : corio__sys.pread(o->fd, o->buf, o->n, o->off);
            break;
        case OP_WRITE:
            r = o->off < 0 ? corio__sys.write(o->fd, o->buf, o->n)
                           : corio__sys.pwrite(o->fd, o->buf, o->n, o->off);
            break;
        case OP_FSYNC:
            r = corio__sys.fsync(o->fd);
            break;
        default:
            r = corio__sys.fstat(o->fd, o->st);
            break;
        }
    } while (r < 0 && errno == EINTR);
    o->res = r < 0 ? -errno : r;
    o->ran = true;
    return 0;
}

/* Run o off the loop thread and return its outcome, or the interruption
 * (or -EAGAIN: no pool thread) if it never ran.  Reads, writes and fsync go
 * to the engine when it does files (io_uring), with the same contract. */
static ssize_t file_submit(file_op *o)
{
    corio__loop *L = corio__cur;
    if (L && L->engine->file &&
        (o->op == OP_READ || o->op == OP_WRITE || o->op == OP_FSYNC)) {
        int op = o->op == OP_READ    ? CORIO__FILE_READ
                 : o->op == OP_WRITE ? CORIO__FILE_WRITE
                                     : CORIO__FILE_FSYNC;
        return L->engine->file(L, op, o->fd, o->buf, o->n, o->off);
    }
    o->ran = false;
    int rc = corio__pool_run(CORIO__POOL_FILE, run_op, o, NULL);
    if (o->ran)
        return o->res;
    return rc < 0 ? rc : -EIO; /* ALWAYS: a job that did not run failed */
}

static ssize_t file_read_at(int fd, void *buf, size_t n, off_t off)
{
    file_op o = {.op = OP_READ, .fd = fd, .buf = buf, .n = n, .off = off};
    return file_submit(&o);
}

static ssize_t file_write_at(int fd, const void *buf, size_t n, off_t off)
{
    file_op o = {
        .op = OP_WRITE, .fd = fd, .buf = (void *)buf, .n = n, .off = off};
    return file_submit(&o);
}

static int file_open_fd(const char *path, int flags, mode_t mode)
{
    file_op o = {
        .op = OP_OPEN, .path = path, .flags = flags | O_CLOEXEC, .mode = mode};
    return (int)file_submit(&o);
}

static int file_fstat(int fd, struct stat *st)
{
    file_op o = {.op = OP_FSTAT, .fd = fd, .st = st};
    return (int)file_submit(&o);
}

/* An fd opened by an op that ran although the caller was interrupted is
 * still returned (the rule in file.h); this closes one the caller cannot
 * use (allocation failed). */
static void close_fd(int fd)
{
    if (fd >= 0)
        corio__sys.close(fd);
}

/* ---- corio_file ---------------------------------------------------------- */

int corio_file_open(corio_file **out, const char *path, int flags, mode_t mode)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!path)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    corio_file *f = corio__sys.malloc(sizeof *f);
    if (!f)
        return -ENOMEM;
    int fd = file_open_fd(path, flags, mode);
    if (fd < 0) {
        free(f);
        return fd;
    }
    f->fd = fd;
    f->busy = 0;
    f->closing = false;
    *out = f;
    return 0;
}

int corio_file_close(corio_file *f)
{
    if (!f || f->closing)
        return 0;
    if (f->busy) {
        /* The destructor rule: a call under way (a pool job or a ring
         * operation, which cannot be pulled back) finishes, and the last
         * one out closes and frees. */
        f->closing = true;
        return 0;
    }
    int rc = corio__sys.close(f->fd) < 0 ? -errno : 0;
    free(f);
    return rc;
}

/* Every call on f runs between enter and leave. */
static int enter(corio_file *f)
{
    if (f->closing)
        return -EBADF;
    f->busy++;
    return 0;
}

static void leave(corio_file *f)
{
    if (--f->busy == 0 && f->closing) {
        (void)corio__sys.close(f->fd);
        free(f);
    }
}

int corio_file_fd(const corio_file *f)
{
    return f ? f->fd : -1;
}

static ssize_t read_impl(corio_file *f, void *buf, size_t n, off_t off)
{
    if (!f || (!buf && n))
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (enter(f) < 0)
        return -EBADF;
    ssize_t r = file_read_at(f->fd, buf, n, off);
    leave(f);
    return r;
}

ssize_t corio_file_read(corio_file *f, void *buf, size_t n)
{
    return read_impl(f, buf, n, -1);
}

ssize_t corio_file_pread(corio_file *f, void *buf, size_t n, off_t off)
{
    if (off < 0)
        return -EINVAL;
    return read_impl(f, buf, n, off);
}

/* Write all n bytes, one op after another; off < 0: at the position. */
static ssize_t write_impl(corio_file *f, const void *buf, size_t n, off_t off)
{
    size_t done = 0;
    if (!f || (!buf && n))
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (enter(f) < 0)
        return -EBADF;
    ssize_t r = 0;
    while (done < n) {
        r = file_write_at(f->fd, (const char *)buf + done, n - done,
                          off < 0 ? -1 : off + (off_t)done);
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    leave(f);
    if (done == n)
        return (ssize_t)n;
    if (done)
        return (ssize_t)done;
    return r < 0 ? r : -EIO; /* write(2) returning 0 for n > 0: no progress */
}

ssize_t corio_file_write(corio_file *f, const void *buf, size_t n)
{
    return write_impl(f, buf, n, -1);
}

ssize_t corio_file_pwrite(corio_file *f, const void *buf, size_t n, off_t off)
{
    if (off < 0)
        return -EINVAL;
    return write_impl(f, buf, n, off);
}

int corio_file_fsync(corio_file *f)
{
    if (!f)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    file_op o = {.op = OP_FSYNC, .fd = f->fd};
    if (enter(f) < 0)
        return -EBADF;
    int rc = (int)file_submit(&o);
    leave(f);
    return rc;
}

int corio_file_size(corio_file *f, off_t *size)
{
    struct stat st;
    if (!f || !size)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (enter(f) < 0)
        return -EBADF;
    int rc = file_fstat(f->fd, &st);
    leave(f);
    if (rc < 0)
        return rc;
    *size = st.st_size;
    return 0;
}

/* ---- read_all ------------------------------------------------------------ */

#define CHUNK ((size_t)1 << 20)

/* Read fd to its end into *data (NUL-terminated).  0 or an error. */
static int slurp(int fd, size_t max, char **data, size_t *len)
{
    struct stat st;
    size_t cap, total = 0;
    int rc = file_fstat(fd, &st);
    if (rc < 0)
        return rc;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > max)
            return -EFBIG;
        /* One byte over the size, so that end of file shows without a
         * second allocation. */
        cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max;
    } else {
        cap = max < 65536 ? max : 65536; /* /proc files and FIFOs report 0 */
    }
    char *buf = corio__sys.malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (total == cap) {
            if (cap == max) {
                /* Full: one more byte means the file is too big. */
                char c;
                ssize_t r = file_read_at(fd, &c, 1, -1);
                rc = r < 0 ? (int)r : r > 0 ? -EFBIG : 0;
                break;
            }
            size_t ncap = cap * 2 < max && cap * 2 > cap ? cap * 2 : max;
            char *nb = corio__sys.realloc(buf, ncap + 1);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - total < CHUNK ? cap - total : CHUNK;
        ssize_t r = file_read_at(fd, buf + total, want, -1);
        if (r <= 0) {
            rc = (int)r;
            break;
        }
        total += (size_t)r;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[total] = 0;
    *data = buf;
    *len = total;
    return 0;
}

int corio_file_read_all(const char *path, size_t max, char **data, size_t *len)
{
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (!path || !data || !len)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (!max)
        max = CORIO_FILE_READ_ALL_DEFAULT;
    if (max > SIZE_MAX / 2)
        max = SIZE_MAX / 2; /* room for doubling and the NUL */
    int fd = file_open_fd(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    int rc = slurp(fd, max, data, len);
    close_fd(fd);
    return rc;
}

/* ---- line iterator -------------------------------------------------------

   buf (cap + 1 bytes; the extra one holds the NUL after a last line)
   +-----------------+-----------------------------+-------------------+
   | consumed        | unconsumed: the next lines  | free              |
   +-----------------+-----------------------------+-------------------+
   0                 start        start + scanned  end                 cap
                     = file offset `off`            = file offset read_off

   [start, start + scanned) is known to hold no '\n', so a long line is
   scanned once however many reads it takes. */

#define LINES_MIN_BUFFER ((size_t)64 << 10)

struct corio_file_lines {
    int fd;
    char *buf;
    size_t cap, start, end, scanned, max_line;
    off_t off, read_off;
    bool eof;
    bool skipping; /* an interrupted skip: finish dropping the line first */
    bool busy;     /* a task is inside next or skip */
    bool closing;  /* closed meanwhile: the call under way frees on leaving */
};

int corio_file_lines_open(corio_file_lines **out, const char *path,
                          size_t max_line)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!path)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (!max_line)
        max_line = CORIO_FILE_LINE_DEFAULT;
    if (max_line > SIZE_MAX / 2)
        return -EINVAL;
    size_t cap =
        max_line + 1 > LINES_MIN_BUFFER ? max_line + 1 : LINES_MIN_BUFFER;
    corio_file_lines *it = corio__sys.calloc(1, sizeof *it);
    if (!it)
        return -ENOMEM;
    it->buf = corio__sys.malloc(cap + 1);
    if (!it->buf) {
        free(it);
        return -ENOMEM;
    }
    it->cap = cap;
    it->max_line = max_line;
    it->fd = file_open_fd(path, O_RDONLY, 0);
    if (it->fd < 0) {
        int rc = it->fd;
        free(it->buf);
        free(it);
        return rc;
    }
    *out = it;
    return 0;
}

/* Read more after `end`, making room first.  0, or an error (nothing
 * buffered is lost either way). */
static int fill(corio_file_lines *it)
{
    if (it->end == it->cap && it->start > 0) {
        memmove(it->buf, it->buf + it->start, it->end - it->start);
        it->end -= it->start;
        it->start = 0;
    }
    if (it->end == it->cap)
        return -ENOBUFS; /* NEVER: callers only fill with a short line */
    /* read(2), not pread: the descriptor is the iterator's own, so its
     * position is read_off, and FIFOs and character devices work too. */
    ssize_t r = file_read_at(it->fd, it->buf + it->end, it->cap - it->end, -1);
    if (r < 0)
        return (int)r;
    if (r == 0)
        it->eof = true;
    it->end += (size_t)r;
    it->read_off += r;
    return 0;
}

static void consume(corio_file_lines *it, size_t n)
{
    it->start += n;
    it->off += (off_t)n;
    it->scanned = 0;
    if (it->start == it->end)
        it->start = it->end = 0;
}

/* Drop through the next '\n' (or to end of file). */
static ssize_t do_skip(corio_file_lines *it)
{
    ssize_t dropped = 0;
    it->skipping = true;
    for (;;) {
        char *nl = memchr(it->buf + it->start, '\n', it->end - it->start);
        if (nl) {
            size_t n = (size_t)(nl - (it->buf + it->start)) + 1;
            consume(it, n);
            it->skipping = false;
            return dropped + (ssize_t)n;
        }
        dropped += (ssize_t)(it->end - it->start);
        consume(it, it->end - it->start);
        if (it->eof) {
            it->skipping = false;
            return dropped;
        }
        int rc = fill(it);
        if (rc < 0)
            return rc;
    }
}

static int lines_next(corio_file_lines *it, const char **line, size_t *len)
{
    if (it->skipping) {
        ssize_t r = do_skip(it);
        if (r < 0)
            return (int)r;
    }
    for (;;) {
        char *from = it->buf + it->start + it->scanned;
        char *nl = memchr(from, '\n', it->end - it->start - it->scanned);
        size_t n =
            nl ? (size_t)(nl - (it->buf + it->start)) : it->end - it->start;
        if (n > it->max_line) {
            it->scanned = it->end - it->start; /* nothing consumed */
            return CORIO_ETOOLONG;
        }
        if (nl || (it->eof && n > 0)) {
            char *p = it->buf + it->start;
            p[n] = 0; /* over the '\n', or the spare byte after the buffer */
            *line = p;
            *len = n;
            /* The view stays valid: consume only moves indices, and the
             * next fill runs at the next call. */
            consume(it, nl ? n + 1 : n);
            return 1;
        }
        if (it->eof)
            return 0;
        it->scanned = n;
        int rc = fill(it);
        if (rc < 0)
            return rc;
    }
}

static void lines_free(corio_file_lines *it)
{
    close_fd(it->fd);
    free(it->buf);
    free(it);
}

int corio_file_lines_next(corio_file_lines *it, const char **line, size_t *len)
{
    if (!it || !line || !len)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (it->busy)
        return -EBUSY;
    it->busy = true;
    int rc = lines_next(it, line, len);
    it->busy = false;
    if (it->closing) {
        lines_free(it);
        return -EBADF;
    }
    return rc;
}

ssize_t corio_file_lines_skip(corio_file_lines *it)
{
    if (!it)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (it->busy)
        return -EBUSY;
    it->busy = true;
    ssize_t r = do_skip(it);
    it->busy = false;
    if (it->closing) {
        lines_free(it);
        return -EBADF;
    }
    return r;
}

off_t corio_file_lines_offset(const corio_file_lines *it)
{
    return it ? it->off : -1;
}

void corio_file_lines_close(corio_file_lines *it)
{
    if (!it || it->closing)
        return;
    if (it->busy) {
        it->closing = true; /* the destructor rule: the call under way frees */
        return;
    }
    lines_free(it);
}
