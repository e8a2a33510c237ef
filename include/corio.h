/* corio.h — the whole public surface of corio, an asyncio-class runtime for C.
 *
 *   corio/base.h    units, errors, corio_run, corio_now, corio_strerror
 *   corio/task.h    spawn, join, cancel, detach, yield, sleep, gather, wait_for
 *   corio/scope.h   timeout scopes and shields
 *   corio/group.h   task groups (structured concurrency)
 *   corio/local.h   task-local values inherited by spawned tasks (contextvars)
 *   corio/fd.h      waiting on file descriptors
 *   corio/thread.h  thread-pool offload (to_thread)
 *   corio/remote.h  reaching a loop from other threads (call_soon_threadsafe)
 *   corio/loops.h   a loop per core: corio_run_loops, posts and calls between
 * loops corio/sync.h    lock, event, condition, semaphore, queue, rate limiter
 *   corio/chan.h    a thread-safe channel between loops and threads
 *   corio/select.h  the first of several queue/channel/event/join cases
 *   corio/stream.h  buffered byte streams (sockets, pipes, TLS, memory pairs)
 *   corio/net.h     TCP, UDP and Unix sockets, DNS, the serve helper
 *   corio/tls.h     TLS client and server streams (OpenSSL), contexts
 *   corio/file.h    files on the file pool, read_all, line iterator
 *   corio/signal.h  signals as something a task waits for
 *   corio/process.h subprocesses: spawn, pipes as streams, wait, kill,
 * communicate corio/http.h    HTTP/1.1 parser (zero-copy), chunked decoding,
 * URLs corio/http_client.h  the client session: pooled keep-alive connections
 *   corio/http_server.h  routing server and the in-process test session
 *   corio/ws.h      WebSocket client and server
 *
 * Start with docs/guide.md; docs/asyncio.md maps asyncio to corio. */
#ifndef CORIO_H
#define CORIO_H

#include "corio/base.h"
#include "corio/task.h"
#include "corio/scope.h"
#include "corio/group.h"
#include "corio/local.h"
#include "corio/fd.h"
#include "corio/thread.h"
#include "corio/remote.h"
#include "corio/loops.h"
#include "corio/sync.h"
#include "corio/chan.h"
#include "corio/select.h"
#include "corio/stream.h"
#include "corio/net.h"
#include "corio/tls.h"
#include "corio/file.h"
#include "corio/signal.h"
#include "corio/process.h"
#include "corio/http.h"
#include "corio/http_client.h"
#include "corio/http_server.h"
#include "corio/ws.h"

#define CORIO_VERSION_MAJOR 0
#define CORIO_VERSION_MINOR 1
#define CORIO_VERSION_PATCH 0

#endif
