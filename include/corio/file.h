/* corio/file.h — files without blocking the loop (aiofiles): open, read,
 * write, pread, pwrite, fsync, size, close, read a whole file, and an async
 * line iterator.
 *
 * Regular files are always "ready" to the kernel, so readiness waiting
 * (corio/fd.h) cannot keep a slow disk from stalling the loop.  Every call
 * here that touches the file system runs the system call on corio's file
 * thread pool (4 threads, separate from the CPU pool of corio_to_thread and
 * the DNS pool, so neither can starve the other) while the loop runs other
 * tasks.  On the io_uring engine, reads, writes and fsync are io_uring
 * operations instead (the kernel runs what would block on its own workers);
 * open and size stay on the pool.
 *
 * Cancellation follows one rule for every suspending call below:
 *   - interrupted (-ECANCELED / -ETIMEDOUT) before its system call started,
 *     the call is dropped: nothing happened, the file and its position are
 *     unchanged;
 *   - interrupted while its system call runs, the call waits for it to end
 *     and returns its outcome as if it had not been interrupted (the bytes
 *     read or written, the file opened), so no effect is ever lost; the
 *     interruption is reported by the task's next suspending call
 *     (cancellation is level-triggered).  On io_uring the operation is
 *     cancelled in the kernel first: if that takes effect nothing moved and
 *     the call returns the interruption; if the operation had already moved
 *     bytes, they are returned as above.
 * Calls that loop over several system calls (write, pwrite, read_all,
 * the line iterator) stop between them and say how far they got.
 *
 * Thread-safety: loop-thread only.  Several tasks may use one file at once
 * (pread/pwrite at distinct offsets run in parallel on the pool); the
 * position shared by read/write then advances in whatever order the
 * calls run, as with threads. */
#ifndef CORIO_FILE_H
#define CORIO_FILE_H

#include "base.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_file corio_file;

/* The default limits of corio_file_read_all and the line iterator. */
#define CORIO_FILE_READ_ALL_DEFAULT ((size_t)64 << 20) /* 64 MiB */
#define CORIO_FILE_LINE_DEFAULT ((size_t)64 << 10)     /* 64 KiB */

/* Open path (relative to the current directory) with open(2) flags
 * (O_RDONLY, O_WRONLY | O_CREAT | O_TRUNC, O_APPEND, ...) and mode for
 * O_CREAT.  O_CLOEXEC is always added: corio never leaks a descriptor into
 * a child process.  path is borrowed until the call returns.
 * Returns 0 and *out, or a negative errno from open(2) (-ENOENT, -EACCES,
 * ...), -ENOMEM, -EINVAL (NULL out or path), -ECANCELED / -ETIMEDOUT, -EPERM
 * (outside a task); *out = NULL on every error.
 * Cancel-safe: yes (the rule above: an open that started completes and
 * returns 0 with a file you must close). */
CORIO_API CORIO_NODISCARD int
corio_file_open(corio_file **out, const char *path, int flags, mode_t mode);

/* Close f and free it (NULL is a no-op returning 0).  The descriptor is
 * closed on the loop thread with close(2), which does not wait for the
 * disk (call corio_file_fsync first for durability).
 * Returns 0, or a negative errno from close(2) (-EIO: an earlier write
 * failed to reach a network file system), after which f is freed all the
 * same.  The destructor rule (docs/design.md): if another task is inside a
 * call on f, that call finishes (a file operation cannot be pulled back)
 * and then closes and frees f; close returns 0 at once and close(2)'s own
 * result is not reported.  Never suspends. */
CORIO_API int corio_file_close(corio_file *f);

/* Read up to n bytes at the file position, advancing it (read(2)).
 * Returns the count (0 at end of file), or a negative errno from read(2),
 * -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL (NULL f).
 * Cancel-safe: yes (the rule above). */
CORIO_API CORIO_NODISCARD ssize_t corio_file_read(corio_file *f, void *buf,
                                                  size_t n);

/* Read up to n bytes at offset off without moving the position (pread(2)).
 * Same returns as corio_file_read.  Cancel-safe: yes. */
CORIO_API CORIO_NODISCARD ssize_t corio_file_pread(corio_file *f, void *buf,
                                                   size_t n, off_t off);

/* Write all n bytes at the file position (or at the end with O_APPEND),
 * one write(2) after another until done.
 * Returns n, or the short count if interrupted or failing after partial
 * progress, else a negative errno from write(2) (-ENOSPC, -EBADF for a file
 * opened read-only, ...), -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL.
 * Cancel-safe: the return value says exactly how much was written. */
CORIO_API CORIO_NODISCARD ssize_t corio_file_write(corio_file *f,
                                                   const void *buf, size_t n);

/* Write all n bytes at offset off without moving the position
 * (pwrite(2)).  Same returns as corio_file_write.  On Linux a file opened
 * with O_APPEND appends whatever off says.  Cancel-safe: as
 * corio_file_write. */
CORIO_API CORIO_NODISCARD ssize_t corio_file_pwrite(corio_file *f,
                                                    const void *buf, size_t n,
                                                    off_t off);

/* Flush f's data and metadata to the device (fsync(2)).
 * Returns 0, or a negative errno from fsync(2) (-EIO, -EINVAL for a file
 * that cannot be synced), -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes (the rule above; a dropped fsync synced nothing). */
CORIO_API CORIO_NODISCARD int corio_file_fsync(corio_file *f);

/* Store f's size in bytes (fstat(2)) in *size.
 * Returns 0, or a negative errno, -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes. */
CORIO_API CORIO_NODISCARD int corio_file_size(corio_file *f, off_t *size);

/* f's descriptor (still owned by f), e.g. for fcntl locks.  -1 for NULL. */
CORIO_API int corio_file_fd(const corio_file *f);

/* Read the whole file at path into a new buffer of *len bytes plus a
 * terminating NUL (so text can be used as a string), to be released with
 * free(3).  max is the largest size accepted (0: CORIO_FILE_READ_ALL_DEFAULT);
 * files whose size is not known in advance (/proc, pipes) are read until
 * end of file within the same limit.
 * Returns 0, *data and *len, or:
 *   -EFBIG      the file holds more than max bytes (nothing returned).
 *   a negative errno from open(2) or read(2), -ENOMEM,
 *   -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL (NULL data or len).
 * *data = NULL and *len = 0 on every error.
 * Cancel-safe: yes; the file is read in chunks of at most 1 MiB, an
 * interruption stops at the next chunk, and the buffer and descriptor are
 * freed. */
CORIO_API CORIO_NODISCARD int corio_file_read_all(const char *path, size_t max,
                                                  char **data, size_t *len);

/* ---- Line iterator: async for line in aiofiles.open(path) ---------------- */

typedef struct corio_file_lines corio_file_lines;

/* Open path for reading line by line (a regular file, a FIFO or a
 * character device: the iterator reads its own descriptor sequentially).
 * max_line is the longest line accepted, its '\n' excluded (0:
 * CORIO_FILE_LINE_DEFAULT); the iterator buffers at most
 * max(max_line + 1, 64 KiB) bytes.  One task at a time uses an iterator
 * (-EBUSY otherwise).
 * Returns 0 and *out, or the errors of corio_file_open (*out = NULL).
 * Cancel-safe: as corio_file_open. */
CORIO_API CORIO_NODISCARD int corio_file_lines_open(corio_file_lines **out,
                                                    const char *path,
                                                    size_t max_line);

/* Return the next line: *line points to its first byte and *len is its
 * length without the '\n' (a "\r" before it is kept; a last line without
 * '\n' is returned as is).  The line is NUL-terminated (line[len] == 0; it
 * may also contain NUL bytes) and is a view into the iterator's buffer,
 * valid until the next call on the iterator.
 * Returns 1 with a line, 0 at end of file (and at every later call), or:
 *   CORIO_ETOOLONG  the next line is longer than max_line.  Nothing was
 *                   consumed: the iterator stays at the start of that line
 *                   and every further call returns CORIO_ETOOLONG again,
 *                   until corio_file_lines_skip() drops the line.  Its
 *                   offset in the file is corio_file_lines_offset(), so it
 *                   can still be read whole with corio_file_pread.
 *   a negative errno from read(2), -EBUSY (another task is using it),
 *   -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL.
 * Cancel-safe: yes; no line is lost: bytes read before the interruption
 * stay buffered and the same line is returned by the next call. */
CORIO_API CORIO_NODISCARD int
corio_file_lines_next(corio_file_lines *it, const char **line, size_t *len);

/* Drop the line the iterator stands on (its '\n' included), whatever its
 * length, reading as far as needed.
 * Returns the number of bytes dropped (>= 0; 0 at end of file), or a
 * negative errno from read(2), -EBUSY, -ECANCELED / -ETIMEDOUT, -EPERM,
 * -EINVAL.
 * Cancel-safe: an interrupted skip stays pending: the bytes dropped so far
 * are gone, and the next call to corio_file_lines_next or _skip finishes
 * dropping the line first (never returning a fragment of it as a line). */
CORIO_API ssize_t corio_file_lines_skip(corio_file_lines *it);

/* The file offset of the first byte the next corio_file_lines_next call
 * returns (the start of the next line; for a FIFO, the bytes consumed so
 * far).  -1 for NULL. */
CORIO_API off_t corio_file_lines_offset(const corio_file_lines *it);

/* Close the iterator and its file, and free it (NULL is a no-op).  Any
 * view returned by corio_file_lines_next is invalid afterwards.  If a task
 * is inside a call on it, that call finishes, returns -EBADF and frees it
 * (the destructor rule).  Never suspends. */
CORIO_API void corio_file_lines_close(corio_file_lines *it);

#ifdef __cplusplus
}
#endif
#endif
