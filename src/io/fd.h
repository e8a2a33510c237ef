/* io/fd.h — the descriptor records io/fd.c keeps for the loop, and what the
 * engines report to it.  The loop itself only holds the table's pointer. */
#ifndef CORIO_IO_FD_H
#define CORIO_IO_FD_H

#include "core/engine.h"

/* Per-fd state for the I/O engines.  The one waiter per direction is the
 * -EBUSY rule of corio_fd_wait. */
typedef struct corio__fdrec {
    corio_task *reader, *writer;
    uint8_t sock; /* a socket (completion engines use recv/send) */
    dev_t dev;    /* identity when first seen, to restore flags safely */
    ino_t ino;
    int orig_flags;
    uint8_t setup;  /* O_NONBLOCK set and watched (or found to be a file) */
    uint8_t always; /* a regular file: always ready */
    uint8_t bytes;  /* a byte stream (stream socket, pipe) */
    /* Readiness engines, byte streams only: a read
     * that returned less than asked emptied the kernel's buffer, so the
     * next read parks before trying (no read that can only say EAGAIN)
     * unless an edge came since (io/fd.c, corio_fd_read). */
    uint8_t drained; /* the last read was short */
    uint8_t rising;  /* a readable edge came while no reader waited */
    uint8_t hup;     /* the peer hung up (or an error): reads never park
                        first, end of stream comes with no further edge */
    void *engine;    /* the engine's own state for fd (io_uring: the read-
                        ahead receive), released by its unwatch */
} corio__fdrec;

/* The table, indexed by descriptor; grown by doubling. */
struct corio__fdtab {
    size_t n;
    corio__fdrec v[];
};

/* Readiness on fd (CORIO_READABLE | CORIO_WRITABLE, plus CORIO__FD_HUP
 * when the peer hung up or the descriptor has an error), from an engine. */
#define CORIO__FD_HUP 0x100
void corio__fd_event(corio__loop *L, int fd, int mask);
/* corio_fd_read for a stream's transport, which alone reads fd: on a stream
 * socket the engine may read ahead (see core/engine.h, read), so bytes can
 * wait in the loop rather than in the socket. */
ssize_t corio__fd_read_ahead(int fd, void *buf, size_t n);
/* Restore the flags of every fd the loop touched and free the table (an
 * engine's close calls it). */
void corio__fd_close_all(corio__loop *L);

/* Close fd wherever the caller runs: through corio_fd_close inside a loop,
 * so the loop forgets it and restores its flags, and with plain close(2)
 * outside one (no loop watches it then).  For the streams, sockets and
 * processes above, whose objects may be freed after their loop ended.
 * Returns 0 or -errno (-EBUSY: a task waits on fd, which stays open). */
int corio__fd_close_any(int fd);

#endif
