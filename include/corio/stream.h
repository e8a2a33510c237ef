/* corio/stream.h — buffered byte streams (asyncio's StreamReader and
 * StreamWriter in one object) over sockets, pipes, TLS sessions and
 * in-memory pairs.
 *
 * A stream owns a read buffer and a write buffer, both with explicit
 * limits (corio_stream_opts).  Reads take from the read buffer and refill
 * it from the transport; writes append to the write buffer, which is
 * flushed when it passes its limit and by corio_stream_flush.  Nothing is
 * ever dropped silently: a line longer than its limit is an error and stays
 * in the buffer; a read_exactly that meets end-of-file leaves what it got in
 * the buffer.
 *
 * Thread-safety: loop-thread only; one reading task and one writing task
 * at a time (each direction -EBUSY otherwise). */
#ifndef CORIO_STREAM_H
#define CORIO_STREAM_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Library errors of streams. */
#define CORIO_EOF      (CORIO_ERRBASE - 3) /* end of stream before the data asked for */
#define CORIO_ETOOLONG (CORIO_ERRBASE - 4) /* a line or field longer than its limit */

typedef struct corio_stream corio_stream;

/* Stream limits; zero fields take the defaults.
 *   read_buffer   bytes buffered ahead of the reader (default 64 KiB); also
 *                 the longest line read_line/read_until can return.
 *   write_buffer  bytes buffered before a write flushes (default 64 KiB). */
typedef struct corio_stream_opts {
    size_t read_buffer;
    size_t write_buffer;
} corio_stream_opts;

/* Wrap a connected socket, pipe or terminal descriptor (the stream owns it
 * and closes it).  Returns 0 and *out, or -EINVAL, -ENOMEM (*out = NULL; fd
 * is then not closed).  Never suspends. */
CORIO_API int corio_stream_from_fd(corio_stream **out, int fd,
                                   const corio_stream_opts *o);

/* Two streams connected to each other in memory, each direction holding at
 * most `capacity` bytes in flight (0: 64 KiB): Trio's memory stream pair,
 * for tests.  Returns 0, -ENOMEM, -EPERM (outside a loop). */
CORIO_API int corio_stream_pair(corio_stream **a, corio_stream **b, size_t capacity);

/* Read up to n bytes: what is buffered, else what one transport read gives.
 * Returns the count (> 0), 0 at end of stream, or -errno, -ECANCELED /
 * -ETIMEDOUT, -EBUSY (another task is reading).
 * Cancel-safe: yes; buffered data is returned even when cancelled, and a
 * call that fails consumed nothing. */
CORIO_API ssize_t corio_stream_read(corio_stream *s, void *buf, size_t n);

/* Read exactly n bytes.  Returns 0, or CORIO_EOF (the stream ended first:
 * the bytes received stay buffered for corio_stream_read), -errno,
 * -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: yes; on any error nothing is consumed.  n may exceed the
 * read buffer's limit only by reading straight into buf, in which case an
 * interruption loses the partial data: such calls return -EINVAL. */
CORIO_API int corio_stream_read_exactly(corio_stream *s, void *buf, size_t n);

/* Read through the first occurrence of delim (dlen bytes), copying at most
 * cap bytes into buf (the delimiter included).
 * Returns the length copied, or:
 *   CORIO_ETOOLONG  no delimiter within min(cap, read_buffer) bytes: nothing
 *                   consumed, the data stays buffered.
 *   CORIO_EOF       the stream ended before a delimiter (the rest stays
 *                   buffered).
 *   -errno, -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: yes; on any error nothing is consumed. */
CORIO_API ssize_t corio_stream_read_until(corio_stream *s, const void *delim,
                                          size_t dlen, void *buf, size_t cap);

/* corio_stream_read_until(s, "\n", 1, buf, cap - 1), then NUL-terminates.
 * At end of stream a last line without '\n' is returned as is (0 once
 * nothing is left). */
CORIO_API ssize_t corio_stream_read_line(corio_stream *s, char *buf, size_t cap);

/* Append n bytes to the write buffer, flushing first if it would pass its
 * limit.  Returns 0, or -errno (EPIPE, ...), -ECANCELED / -ETIMEDOUT,
 * -EBUSY (another task is writing).
 * Cancel-safe: on an error, what was buffered stays buffered and none of
 * buf was taken (retry, or close). */
CORIO_API int corio_stream_write(corio_stream *s, const void *buf, size_t n);

/* Write out everything buffered (asyncio's drain).  Returns 0, -errno,
 * -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: what was not written stays buffered. */
CORIO_API int corio_stream_flush(corio_stream *s);

/* Flush, then signal end of stream to the peer (shutdown(SHUT_WR), TLS
 * close_notify); reading stays possible.  Returns 0 or an error of flush. */
CORIO_API int corio_stream_shutdown(corio_stream *s);

/* Close s and free it (NULL is a no-op).  Data still buffered for writing
 * is discarded: flush first.  Never suspends. */
CORIO_API void corio_stream_close(corio_stream *s);

/* The underlying descriptor (-1 for memory streams), e.g. for socket
 * options.  Still owned by the stream. */
CORIO_API int corio_stream_fd(const corio_stream *s);

#ifdef __cplusplus
}
#endif
#endif
