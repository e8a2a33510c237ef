/* pg/pg_int.h — corio-pg's internals shared by its files.
 *
 *   connect.c  connect: async DNS, happy eyeballs, PQconnectPoll
 *   conn.c     close, the request queue, pump (send, flush, read,
 *              dispatch) and the leader wait
 *   cancel.c   taking back an interrupted request (CancelRequest, drain)
 *   query.c    query, exec, fetchval/row, execmany, prepare, statement cache
 *   batch.c    batches: several queries in one sync group
 *   result.c   result accessors and the binary-format decoders
 *   tx.c       transactions and savepoints, the block form
 *   notify.c   LISTEN/NOTIFY
 *   excl.c     exclusive use of a connection: COPY and row streaming
 *   pool.c     the pool
 *
 * How a request travels (one connection, any number of tasks):
 *
 *   caller task                     connection
 *   ----------------                -------------------------------------
 *   req_submit(c, req) ------------> pending  (unsent; held during another
 *      |                              |         task's transaction, a COPY
 *      |  send (inline, libpq          |         or a cancel being drained)
 *      |  pipeline + PQpipelineSync)   v
 *      |                             inflight  (FIFO: the server answers in
 *      |                              |         order; head = being answered)
 *   req_await: leader? --yes--> wait on c->epfd, pump(), repeat
 *              no ----> wait on req->w.ev (pump of the leader completes it
 *                                          or pokes it to become leader)
 *
 * There is no background task: whichever waiting task is the leader reads
 * the socket for everybody, and hands the role on when it leaves.  c->epfd
 * is a private epoll set holding the socket with EPOLLIN, plus EPOLLOUT
 * while libpq has unsent output, so the leader waits for "read or write"
 * through one readable descriptor and any task can add the write interest
 * without waking the leader. */
#ifndef CORIO_PG_INT_H
#define CORIO_PG_INT_H

#include "os/sys.h"

#include <corio.h>
#include <corio/pg.h>
#include <libpq-fe.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* corio-pg's own allocations and system calls go through corio's table
 * (os/sys.h) so the fault sweep can fail each in turn; libpq's cannot be
 * reached. */
#define pg_malloc(n) corio__sys.malloc(n)
#define pg_calloc(n, s) corio__sys.calloc((n), (s))
#define pg_realloc(p, n) corio__sys.realloc((p), (n))
static inline char *pg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = (char *)corio__sys.malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

typedef struct pg_req pg_req;
typedef struct pg_stmt pg_stmt;

/* A task waiting on a connection (a request's caller or a notify waiter). */
typedef struct pg_waiter {
    corio_event ev; /* set to wake: done, or poked to lead */
    struct pg_waiter *prev, *next;
    bool done;
    bool notify; /* a corio_pg_notify_wait caller */
} pg_waiter;

enum {
    REQ_QUERY,
    REQ_PREPARED,
    REQ_PREPARE,
    REQ_MANY,
    REQ_TEXT,
    REQ_EXCL,
    REQ_BATCH
};

/* One command of a batch's group: its query's index, the cache entry it
 * uses (NULL: unnamed), and whether it is that entry's Parse.  stmt is read
 * after sending only for a Parse (the entry lives until its answer). */
typedef struct pg_bcmd {
    int item;
    bool parse;
    pg_stmt *stmt;
} pg_bcmd;

/* A batch's query as added (borrowed until the batch is sent). */
typedef struct pg_bitem {
    const char *sql;
    const char *const *params;
    int nparams;
} pg_bitem;

struct pg_req {
    pg_waiter w;  /* first */
    pg_req *next; /* in pending or inflight */
    corio_pg *c;
    corio_task *task; /* the caller (transaction ownership) */
    int kind;
    bool sent, abandoned, waiting, cancel_sent;
    bool begins_tx, ends_tx; /* ownership moves when sent */
    bool must_succeed;       /* a failure breaks the connection (reset) */
    /* What to send (borrowed from the caller until sent). */
    const char *sql;
    const char *name;
    const char *const *params;
    const int *lengths, *formats; /* typed parameters (else NULL) */
    const Oid *types;
    void *pblock; /* owned: the arrays above, for corio_pg_query_params */
    const char *const *const *rows;
    int nparams, nrows;
    const char *texts[6]; /* REQ_TEXT: up to 6 statements in one group */
    int ntexts;
    /* REQ_BATCH: the queries, the commands sent, and one result per query
     * (NULL: it failed or was skipped), owned by the request so that an
     * abandoned batch is still answered into memory that exists. */
    const pg_bitem *items;
    int nitems;
    pg_bcmd *bcmds;
    PGresult **bres;
    /* What the server answered. */
    pg_stmt *prep;    /* statement prepared by this request, if any */
    int ncmds, cmd;   /* commands sent in the group; results ended so far */
    PGresult *res;    /* the last result of a statement */
    PGresult *err;    /* the first error */
    int64_t affected; /* summed over the group's statements */
    int status;       /* 0, CORIO_EPG, CORIO_EPGCONN, -ENOMEM */
    char own[96];     /* text of a detached request */
};

struct corio_pg_result {
    PGresult *res;
};

/* A prepared statement in the per-connection cache. */
struct pg_stmt {
    pg_stmt *lru_prev, *lru_next; /* most recent first */
    pg_stmt *hnext;
    char *sql;
    Oid *types; /* declared parameter types (ntypes of them), or NULL */
    int ntypes;
    unsigned hash;
    char name[24];
    bool ready; /* the server confirmed the Parse */
    bool failed;
    bool pinned; /* used by the batch being sent: never evicted meanwhile */
};

typedef struct pg_notice {
    struct pg_notice *next;
    char *channel, *payload;
    int pid;
} pg_notice;

struct corio_pg {
    PGconn *pq;
    int sock, epfd;
    bool want_out; /* EPOLLOUT in c->epfd */
    bool broken;
    bool in_pipeline;
    int hold;           /* > 0: pending requests are not sent */
    pg_waiter *waiters; /* every task waiting on c */
    pg_waiter *leader;  /* the one waiting on epfd */
    pg_req *pend_head, *pend_tail;
    pg_req *infl_head, *infl_tail;
    int ninflight;
    int ninflight_max; /* the most in flight at once (tests) */
    /* Transactions. */
    corio_task *tx_owner; /* set while a transaction is open (or sent) */
    int tx_depth;         /* levels the owner has opened */
    /* Exclusive use (COPY, streaming): the owner and whether granted. */
    corio_task *excl_owner;
    bool excl_granted;
    /* Statement cache. */
    pg_stmt **stmt_tab;
    unsigned stmt_tabsz;
    pg_stmt *lru_head, *lru_tail;
    int nstmts, stmt_max;
    unsigned stmt_seq;
    /* Notifications. */
    pg_notice *nq_head, *nq_tail;
    /* Options. */
    int64_t cancel_timeout;
    void *ssl; /* SSL * when TLS is on (pending-data check) */
    /* The last error handed to a task. */
    corio_pg_error err;
    char *err_store;
    /* Pool bookkeeping (pool.c). */
    struct corio_pg_pool *pool;
    struct corio_pg *pool_next;
    int64_t born, idle_since, uses;
    int shared_n;   /* pool_query requests on it; 0: not in shared use */
    bool reset_due; /* the reset goes out ahead of the next lease's work */
    unsigned used;  /* USED_* bits: session state the lease touched */
};

/* Session state a lease touched, seen in its command tags (pool.c resets
 * what it finds; CORIO_PG_RESET_USED resets only that). */
enum {
    USED_SET = 1,     /* SET, RESET */
    USED_CURSOR = 2,  /* DECLARE CURSOR */
    USED_LISTEN = 4,  /* LISTEN */
    USED_PREPARE = 8, /* PREPARE, corio_pg_prepare, DISCARD, DEALLOCATE */
};

/* PostgreSQL type OIDs corio-pg decodes or sends. */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_CHAR = 18,
    OID_NAME = 19,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_OID = 26,
    OID_JSON = 114,
    OID_XML = 142,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_UNKNOWN = 705,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_DATE = 1082,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_UUID = 2950,
    OID_JSONB = 3802,
};

/* Microseconds from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch). */
#define PG_EPOCH_US INT64_C(946684800000000)

/* A one-dimensional array value being read: element type, count, cursor. */
typedef struct pg_array {
    unsigned elem;
    int n;
    const unsigned char *q, *end;
} pg_array;

/* conn.c */
void corio__pg_pump(corio_pg *c);
void corio__pg_break(corio_pg *c, const char *why);
void corio__pg_interest(corio_pg *c, bool want_out);
void corio__pg_destroy(corio_pg *c);
void corio__pg_pend_unlink(corio_pg *c, pg_req *r);
void corio__pg_infl_push(corio_pg *c, pg_req *r);
int corio__pg_submit(corio_pg *c, pg_req *r);
int corio__pg_submit_detached(corio_pg *c, pg_req *r);
void corio__pg_queue_detached(corio_pg *c, pg_req *r);
int corio__pg_queue_text(corio_pg *c, corio_task *as, const char *sql,
                         bool ends_tx);
int corio__pg_send_cancel(corio_pg *c);
int corio__pg_await(corio_pg *c, pg_req *r);
int corio__pg_await_answer(corio_pg *c, pg_req *r, bool *answered);
int corio__pg_wait_io(corio_pg *c, pg_waiter *w);
void corio__pg_waiter_add(corio_pg *c, pg_waiter *w);
void corio__pg_waiter_del(corio_pg *c, pg_waiter *w);
void corio__pg_poke(corio_pg *c);
pg_req *corio__pg_req_new(corio_pg *c, int kind);
void corio__pg_req_free(pg_req *r);
int corio__pg_req_finish(corio_pg *c, pg_req *r);
void corio__pg_set_error(corio_pg *c, const PGresult *res, const char *msg);
void corio__pg_note_tag(corio_pg *c, const pg_req *r, const PGresult *res);
bool corio__pg_idle(const corio_pg *c);
/* cancel.c */
int corio__pg_take_back(corio_pg *c, pg_req *r, int why);
int corio__pg_guard_begin(corio_pg *c);
void corio__pg_guard_end(void);
/* query.c */
int corio__pg_send(corio_pg *c, pg_req *r);
void corio__pg_stmt_result(corio_pg *c, pg_stmt *s, bool ok);
void corio__pg_stmt_free_all(corio_pg *c);
/* batch.c */
void corio__pg_batch_take(corio_pg *c, pg_req *r, PGresult *res);
/* notify.c */
void corio__pg_collect_notifies(corio_pg *c);
void corio__pg_notices_free(corio_pg *c);
/* result.c */
corio_pg_result *corio__pg_result_wrap(PGresult *res);
int corio__pg_value(const corio_pg_result *r, int row, int col,
                    const unsigned char **p, int *len, unsigned *oid);
uint64_t corio__pg_be(const unsigned char *p, int n);
int corio__pg_as_int(const unsigned char *p, int len, unsigned oid, int64_t *v);
int corio__pg_as_double(const unsigned char *p, int len, unsigned oid,
                        double *v);
/* An array value of type oid opened for reading (0-dimensional: n = 0):
 * 0, or -EINVAL (not an array of a known element type, several
 * dimensions, malformed). */
int corio__pg_array_open(pg_array *a, const unsigned char *p, int len,
                         unsigned oid);
/* The next element: 0 (its bytes), 1 (NULL), -EINVAL (malformed). */
int corio__pg_array_next(pg_array *a, const unsigned char **p, int *len);
/* excl.c */
int corio__pg_excl_begin(corio_pg *c);
void corio__pg_excl_end(corio_pg *c);

#endif
