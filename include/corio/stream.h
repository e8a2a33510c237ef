/* corio/stream.h — buffered byte streams (asyncio's StreamReader and
 * StreamWriter in one object) over sockets, pipes, TLS sessions and
 * in-memory pairs.
 *
 * A stream owns a read buffer and a write buffer, both with explicit
 * limits (corio_stream_opts).  Reads take from the read buffer and refill
 * it from the transport; writes append to the write buffer, which is
 * flushed when it passes its limit and by corio_stream_flush (on sockets
 * once per loop turn: see there).  Nothing is
 * ever dropped silently: a line longer than its limit is an error and stays
 * in the buffer; a read_exactly that meets end-of-file leaves what it got in
 * the buffer.
 *
 * Limits (all explicit, none hidden):
 *   read_buffer   the most bytes buffered ahead of the reader, hence the
 *                 longest line or delimited field and the largest
 *                 read_exactly.  Default 64 KiB.
 *   write_buffer  the most bytes a write leaves buffered before it flushes.
 *                 Default 64 KiB.  A single write larger than it is written
 *                 straight from the caller's buffer.
 *   both          at most CORIO_STREAM_BUFFER_MAX (1 GiB); larger: -EINVAL.
 * Buffers are allocated on first use and grow on demand up to their limit
 * (the read buffer starts at 16 KiB, the write buffer at 4 KiB), so an idle
 * stream holds little memory.
 *
 * End of stream is sticky: once the transport has reported it, reads drain
 * the buffer and then keep returning 0 (or CORIO_EOF).
 *
 * Errors common to every call below that can suspend: -ECANCELED /
 * -ETIMEDOUT (see base.h), -EPERM (outside a task), -EINVAL (s is NULL or
 * an argument is out of range), -EBUSY (another task is inside a reading
 * call, or a writing call, on the same stream: one reader and one writer at
 * a time; read, read_exactly, read_until and read_line read; write, flush
 * and shutdown write), -EBADF (the stream was closed by another task while
 * the call waited).
 *
 * Writing to a socket or pipe whose reader is gone returns -EPIPE, but the
 * kernel also raises SIGPIPE, which kills the process unless it is ignored
 * or handled (Python, and so asyncio, ignore it at start-up; corio leaves
 * signal dispositions to the application): call signal(SIGPIPE, SIG_IGN)
 * in programs that write to peers that may go away.
 *
 * Thread-safety: loop-thread only; one reading task and one writing task
 * at a time (each direction -EBUSY otherwise). */
#ifndef CORIO_STREAM_H
#define CORIO_STREAM_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest buffer limit (and memory pair capacity) accepted. */
#define CORIO_STREAM_BUFFER_MAX ((size_t)1 << 30)

typedef struct corio_stream corio_stream;

/* Stream limits; zero fields take the defaults.
 *   read_buffer   bytes buffered ahead of the reader (default 64 KiB); also
 *                 the longest line read_line/read_until can return and the
 *                 most read_exactly can ask for.
 *   write_buffer  bytes buffered before a write flushes (default 64 KiB). */
typedef struct corio_stream_opts {
    size_t read_buffer;
    size_t write_buffer;
} corio_stream_opts;

/* Wrap a connected socket, pipe or terminal descriptor (o may be NULL for
 * the defaults).  The stream owns fd from then on and closes it with
 * corio_fd_close (plain close(2) if closed outside a loop); its reads and
 * writes go through corio_fd_read / corio_fd_write, which make it
 * non-blocking.  A regular file works too (its reads never wait).
 * With CORIO_URING_MULTISHOT=1 in the environment, on the io_uring engine
 * (kernel >= 6.0), a stream socket is read ahead: bytes may wait in the loop's
 * receive buffers, about read_buffer more at most, rather than in the
 * socket, so read fd only through the stream, and expect the peer to
 * see the stream's close when the loop next polls.
 * Returns 0 and *out, or (*out = NULL, and fd is then left open):
 *   -EINVAL  fd < 0, or a limit above CORIO_STREAM_BUFFER_MAX.
 *   -EBADF   fd is not open.
 *   -ENOMEM.
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_stream_from_fd(corio_stream **out, int fd,
                                                   const corio_stream_opts *o);

/* Two streams connected to each other in memory, each direction holding at
 * most `capacity` bytes in flight (0: 64 KiB): Trio's memory stream pair,
 * for tests.  Closing or shutting down one end is end of stream for the
 * other once it has read what was sent; writing towards a closed end
 * returns -EPIPE (no signal).  corio_stream_fd gives -1.  Faults for
 * tests (short reads and writes, a stall, a reset):
 * corio_test_stream_set_faults in corio/testing.h.
 * Returns 0 and *a, *b, or (*a = *b = NULL) -ENOMEM, -EINVAL (capacity
 * above CORIO_STREAM_BUFFER_MAX), -EPERM (outside a loop).  Never
 * suspends. */
CORIO_API CORIO_NODISCARD int
corio_stream_pair(corio_stream **a, corio_stream **b, size_t capacity);

/* corio_stream_pair with limits for both streams (o may be NULL). */
CORIO_API CORIO_NODISCARD int corio_stream_pair_ex(corio_stream **a,
                                                   corio_stream **b,
                                                   size_t capacity,
                                                   const corio_stream_opts *o);

/* Read up to n bytes: what is buffered, else what one transport read gives
 * (with nothing buffered, a read of at least min(16 KiB, read_buffer) bytes
 * goes straight into buf, without a copy).  n == 0 returns 0 at once.
 * Returns the count (> 0), 0 at end of stream, or -errno from the
 * transport (-ECONNRESET, ...), -ECANCELED / -ETIMEDOUT, -EBUSY, -EINVAL,
 * -EPERM, -ENOMEM, -EBADF.
 * Cancel-safe: yes; buffered data is returned even when cancelled, and a
 * call that fails consumed nothing. */
CORIO_API CORIO_NODISCARD ssize_t corio_stream_read(corio_stream *s, void *buf,
                                                    size_t n);

/* Read exactly n bytes (asyncio's readexactly).  Returns 0, or CORIO_EOF
 * (the stream ended first: the bytes received stay buffered for
 * corio_stream_read), -EINVAL (n above read_buffer), -errno, -ECANCELED /
 * -ETIMEDOUT, -EBUSY, -EPERM, -ENOMEM, -EBADF.
 * Cancel-safe: yes; on any error nothing is consumed (what arrived stays
 * buffered for the next call).  n may not exceed the read buffer's limit,
 * because a longer read would have to go straight into buf, where an
 * interruption would lose the partial data: such calls return -EINVAL
 * (raise read_buffer, or loop over corio_stream_read). */
CORIO_API CORIO_NODISCARD int corio_stream_read_exactly(corio_stream *s,
                                                        void *buf, size_t n);

/* Read through the first occurrence of delim (dlen bytes), copying at most
 * cap bytes into buf (the delimiter included; buf is not NUL-terminated).
 * A delimiter may arrive split across transport reads.
 * Returns the length copied, or:
 *   CORIO_ETOOLONG  no delimiter within min(cap, read_buffer) bytes: nothing
 *                   consumed, the data stays buffered (take it with
 *                   corio_stream_read to skip it).
 *   CORIO_EOF       the stream ended before a delimiter (the rest stays
 *                   buffered).
 *   -EINVAL         dlen is 0, cap < dlen, dlen > read_buffer, or a NULL
 *                   pointer.
 *   -errno, -ECANCELED / -ETIMEDOUT, -EBUSY, -EPERM, -ENOMEM, -EBADF.
 * Cancel-safe: yes; on any error nothing is consumed. */
CORIO_API CORIO_NODISCARD ssize_t corio_stream_read_until(
    corio_stream *s, const void *delim, size_t dlen, void *buf, size_t cap);

/* Read a line: corio_stream_read_until(s, "\n", 1, buf, cap - 1), then
 * NUL-terminate.  At end of stream a last line without '\n' is returned as
 * is (0 once nothing is left, so 0 always means end of stream); for the
 * limit it counts as if it ended in '\n' (it needs cap >= its length + 2),
 * so the result never depends on whether the end has arrived yet.
 * Returns the length (excluding the NUL), 0, or the errors of read_until
 * except CORIO_EOF; -EINVAL if cap < 2.
 * Cancel-safe: yes; on any error nothing is consumed. */
CORIO_API CORIO_NODISCARD ssize_t corio_stream_read_line(corio_stream *s,
                                                         char *buf, size_t cap);

/* Zero-copy reading, for parsers that work in the stream's own buffer
 * (the HTTP layer): peek at what is buffered, fill to get more, consume
 * what was parsed.
 *
 * corio_stream_peek: *data and *len are the bytes buffered ahead of the
 * reader (borrowed: valid until the next call on s).  Returns 0, -EINVAL,
 * or -EBUSY (a task is inside a reading call).  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_stream_peek(corio_stream *s,
                                                const void **data, size_t *len);

/* Read once more from the transport into the buffer, taking nothing from
 * it (then corio_stream_peek shows the longer data).  Returns the count
 * added (> 0), 0 at end of stream, CORIO_ETOOLONG (read_buffer bytes are
 * already buffered), or an error (the common ones above).
 * Cancel-safe: yes; the buffer keeps everything. */
CORIO_API CORIO_NODISCARD ssize_t corio_stream_fill(corio_stream *s);

/* Drop the first n buffered bytes.  Returns 0, -EINVAL (n is more than is
 * buffered), or -EBUSY (a task is inside a reading call).  Never suspends. */
CORIO_API int corio_stream_consume(corio_stream *s, size_t n);

/* Hand n bytes to the stream: append them to the write buffer, flushing it
 * first if they would pass its limit.  A write that fits never suspends
 * (and succeeds even in a cancelled task); data reaches the peer on flush,
 * or when later writes fill the buffer.  n larger than write_buffer is
 * written straight from buf after the flush.
 * Returns 0 once all n bytes are taken, or -errno (-EPIPE: shut down, or
 * the peer is gone; ...), -ECANCELED / -ETIMEDOUT, -EBUSY, -EPERM, -ENOMEM,
 * -EBADF.
 * Cancel-safe: all or nothing.  On an error, what was buffered stays
 * buffered (less what the flush managed to send) and none of buf was taken
 * (retry, or close).  A write larger than write_buffer that is interrupted
 * (or fails) after part of it went out returns 0 and keeps the unsent rest
 * buffered (beyond the limit, until flushed); the interruption or error is
 * then reported by the next call that waits, e.g. flush. */
CORIO_API CORIO_NODISCARD int corio_stream_write(corio_stream *s,
                                                 const void *buf, size_t n);

/* Send everything buffered (asyncio's drain).  On a socket, a flush with
 * at most write_buffer bytes buffered only queues the stream on the loop
 * and returns 0 at once: the loop writes the buffer with one send(2) just
 * before it next polls or blocks, that is once the calling task (and every
 * other task ready in the same turn) waits on anything, so the replies of
 * one turn leave together.  What the kernel does not take then is written
 * in the background while the task goes on; later writing calls (write,
 * flush, shutdown) wait for that first.  So a flush never leaves data
 * unsent while the task waits elsewhere, and closing the stream after a
 * flush still sends everything (the close returns at once; the stream is
 * freed once the data is out, or when the run ends).  Other transports
 * (TLS, which queues on its socket's stream, memory pairs, pipes), and a
 * buffer past write_buffer, are written at once, suspending until the
 * transport took everything.
 * If that send fails, the data stays buffered, the next flush writes at
 * once and reports what the kernel says, and a read on the stream that
 * waits (or would) fails with the error: the answer the task may be
 * waiting for cannot come.
 * Returns 0, -errno,
 * -ECANCELED / -ETIMEDOUT, -EBUSY, -EPERM, -EBADF.
 * Cancel-safe: what was not written stays buffered; calling again goes on
 * where this stopped.  A queued flush does not suspend, and succeeds even
 * in a cancelled task. */
CORIO_API CORIO_NODISCARD int corio_stream_flush(corio_stream *s);

/* Flush, then signal end of stream to the peer (asyncio's write_eof), and
 * refuse later writes (-EPIPE); reading stays possible.  For a socket this
 * is shutdown(SHUT_WR); a TLS session sends close_notify; a write-only
 * descriptor (a pipe's write end) is closed, since that is how its reader
 * sees end of file (corio_stream_fd is -1 after); a read-only one has
 * nothing to end; other descriptors (terminals) give -EOPNOTSUPP.  Calling
 * it again returns 0.
 * Returns 0 or an error of flush, or of the shutdown itself.
 * Cancel-safe: as flush; if it fails, the stream is not marked shut down
 * and the call can be repeated. */
CORIO_API int corio_stream_shutdown(corio_stream *s);

/* Close s and free it (NULL is a no-op), closing the transport (and the
 * descriptor).  Data still buffered for writing is discarded: flush first.
 * If another task is inside a call on s, that call returns -EBADF and the
 * stream is freed when it has left; s must not be used again either way.
 * Never suspends. */
CORIO_API void corio_stream_close(corio_stream *s);

/* The underlying descriptor (-1 for memory streams), e.g. for socket
 * options.  Still owned by the stream. */
CORIO_API int corio_stream_fd(const corio_stream *s);

#ifdef __cplusplus
}
#endif
#endif
