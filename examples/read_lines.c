/* read_lines.c — reading a file line by line without blocking the loop.
 *
 * The asyncio original (seed "Async Iterators and Generators"):
 *
 *     async def async_file_reader(path: str) -> AsyncIterator[str]:
 *         async with aiofiles.open(path, mode='r') as f:
 *             async for line in f:
 *                 yield line.strip()
 *
 *     async def process_file(path: str) -> int:
 *         count = 0
 *         async for line in async_file_reader(path):
 *             process_line(line)
 *             count += 1
 *         return count
 *
 * aiofiles runs each read on a thread so a slow disk cannot stall the event
 * loop; corio does the same on its file thread pool (corio/file.h).  The
 * `async for` becomes a loop over corio_file_lines_next(), which hands out
 * one line at a time as a view into the iterator's buffer.
 *
 * One thing the Python version leaves open: how long may a line be?  A file
 * with no newline at all would be read whole into memory.  corio's iterator
 * has a maximum line length; a longer line is reported as CORIO_ETOOLONG
 * without losing anything, and the program decides: here it skips the line
 * (corio_file_lines_skip) and says where it was. */
#include <corio.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINE 256

/* line.strip(): the view is ours until the next call, so trim in place. */
static char *strip(char *s, size_t *len)
{
    while (*len && isspace((unsigned char)s[*len - 1]))
        s[--*len] = 0;
    while (*len && isspace((unsigned char)*s)) {
        s++;
        --*len;
    }
    return s;
}

static void process_line(int n, const char *line)
{
    printf("line %d: %s\n", n, *line ? line : "(empty)");
}

/* async def process_file(path) -> int */
static int process_file(const char *path)
{
    corio_file_lines *it;
    const char *line;
    size_t len;
    int count = 0, rc;

    /* async with aiofiles.open(path) as f: */
    rc = corio_file_lines_open(&it, path, MAX_LINE);
    if (rc < 0)
        return rc;
    /* async for line in f: */
    while ((rc = corio_file_lines_next(it, &line, &len)) != 0) {
        if (rc == CORIO_ETOOLONG) {
            off_t at = corio_file_lines_offset(it);
            ssize_t dropped = corio_file_lines_skip(it);
            if (dropped < 0) {
                rc = (int)dropped;
                break;
            }
            printf("skipped a line of %zd bytes at offset %lld (limit %d)\n",
                   dropped - 1, (long long)at, MAX_LINE);
            continue;
        }
        if (rc < 0)
            break; /* a read error, or -ECANCELED on Ctrl-C */
        process_line(++count, strip((char *)line, &len));
    }
    corio_file_lines_close(it);
    return rc < 0 ? rc : count;
}

/* Write the sample file, asynchronously too. */
static int write_sample(const char *path)
{
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "  2024-05-01 12:00:01 INFO  service started  \n"
                     "2024-05-01 12:00:02 WARN  disk 91%% full\n"
                     "\n"
                     "%0300d\n"
                     "2024-05-01 12:00:03 INFO  request served in 12 ms\n",
                     0);
    corio_file *f;
    int rc = corio_file_open(&f, path, O_WRONLY | O_TRUNC, 0);
    if (rc < 0)
        return rc;
    ssize_t w = corio_file_write(f, text, (size_t)n);
    rc = corio_file_close(f);
    if (w < 0)
        return (int)w;
    printf("wrote %zd bytes to the sample file\n", w);
    return rc;
}

static int async_main(void *arg)
{
    const char *path = arg;
    int rc = write_sample(path);
    if (rc < 0)
        return rc;
    int count = process_file(path);
    if (count < 0)
        return count;
    printf("process_file: %d lines\n", count);
    return 0;
}

int main(void)
{
    char path[] = "/tmp/corio-read-lines-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("read_lines: mkstemp");
        return EXIT_FAILURE;
    }
    close(fd);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, path, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    unlink(path);
    if (rc < 0) {
        fprintf(stderr, "read_lines: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
