/* corio/pg.h — PostgreSQL client on the loop (component corio-pg; link
 * with `pkg-config --libs corio-pg`).  The asyncpg twin.
 *
 * libpq (PostgreSQL 15's client library) does the protocol, authentication
 * (SCRAM-SHA-256, md5, trust, peer, certificates), TLS, .pgpass, service
 * files and multi-host; corio drives it non-blocking on the loop and resolves
 * host names with its own asynchronous DNS (libpq's would block the loop).
 *
 * One connection serves any number of tasks of its loop at once: queries
 * issued concurrently are pipelined automatically (each is its own sync
 * group, so an error aborts only the query that failed) and every task gets
 * its own result.  A transaction belongs to the task that began it: queries
 * of other tasks wait until it ends.
 *
 * Parameters are text ($1..$n; a NULL pointer is SQL NULL) and the server
 * infers their types.  Results come in binary format and the typed getters
 * decode it.  Parameterised statements are prepared once per connection and
 * kept in an LRU cache (100 by default, as asyncpg).
 *
 * Errors: a negative errno, or CORIO_EPG (the server reported an error: its
 * SQLSTATE, message, detail, hint, ... are in corio_pg_last_error(c) until the
 * next call on c by the same task suspends) or CORIO_EPGCONN (the connection
 * is lost or could not be made; c is then useless, close it).
 *
 * Cancellation: every call that suspends can return -ECANCELED/-ETIMEDOUT
 * (corio/scope.h).  An interrupted query is taken back: not yet sent, it is
 * dropped; sent, and no other task's query behind it on the connection, a
 * CancelRequest goes to the server and the call waits (shielded, at most
 * `cancel_timeout`) until the connection is idle again, else the connection
 * is closed (CORIO_EPGCONN for what remains).  Sent with other tasks' queries
 * behind it, its result is discarded when it arrives.  Either way no result
 * is ever delivered to another caller and the connection stays usable.
 *
 * Thread-safety: a connection, result or pool belongs to the loop that made
 * it; loop thread only. */
#ifndef CORIO_PG_H
#define CORIO_PG_H

#include "base.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library errors of corio-pg: CORIO_EPG and CORIO_EPGCONN, in the
 * PostgreSQL range of corio/errno.h's table. */

typedef struct corio_pg corio_pg;
typedef struct corio_pg_result corio_pg_result;
typedef struct corio_pg_pool corio_pg_pool;
typedef struct corio_pg_batch corio_pg_batch;

/* ---- Connections --------------------------------------------------------- */

/* Options of corio_pg_connect_ex; zero fields take the defaults.
 *   stmt_cache      prepared statements kept per connection (default 100;
 *                   -1: none, every parameterised query is parsed anew).
 *   cancel_timeout  how long an interrupted query may take to be cancelled
 *                   and drained before the connection is closed instead
 *                   (default 5 s).
 *   detail          where a failed connect writes libpq's message (there is
 *                   no connection object to ask); may be NULL. */
typedef struct corio_pg_opts {
    int stmt_cache;
    int64_t cancel_timeout;
    corio_error_detail *detail;
} corio_pg_opts;

/* Connect to the server named by conninfo (a postgresql:// URL or
 * key=value pairs, as libpq takes them; environment variables PGHOST, ...
 * fill what it leaves out).  Host names are resolved with corio's DNS and
 * each address is connected as hostaddr (host stays set for TLS
 * verification and .pgpass).  A host's addresses race by happy eyeballs
 * (RFC 8305): each attempt runs alone for 250 ms, or until it fails,
 * before the next starts beside it; the first through (TLS, authentication,
 * target_session_attrs) wins and the others are closed.  The hosts of a
 * list (host=a,b) are tried in order, the next only when every address of
 * the one before failed.
 *
 * Returns 0, or:
 *   CORIO_EPGCONN  refused, authentication failed, TLS failed, ... (libpq's
 *                  message in opts->detail with connect_ex: the first
 *                  failed address's).
 *   CORIO_ENOHOST / CORIO_EDNS  a host name did not resolve.
 *   -EINVAL        conninfo could not be parsed.
 *   -ENOMEM, -ECANCELED / -ETIMEDOUT, -EPERM.
 * On any error *out = NULL.
 * Cancel-safe: yes; the half-made connection is closed. */
CORIO_API CORIO_NODISCARD int corio_pg_connect(corio_pg **out,
                                               const char *conninfo);

/* corio_pg_connect() with options (NULL = defaults).  Same returns. */
CORIO_API CORIO_NODISCARD int corio_pg_connect_ex(corio_pg **out,
                                                  const char *conninfo,
                                                  const corio_pg_opts *opts);

/* Close c: queries still queued fail with CORIO_EPGCONN (their tasks must not
 * be waiting: close a connection only when no other task uses it).  Never
 * suspends; NULL is a no-op. */
CORIO_API void corio_pg_close(corio_pg *c);

/* 1 while c is usable, 0 once it is lost (every call then fails with
 * CORIO_EPGCONN).  Never suspends. */
CORIO_API int corio_pg_ok(const corio_pg *c);

/* The backend's process id (for pg_terminate_backend, pg_stat_activity). */
CORIO_API int corio_pg_backend_pid(const corio_pg *c);

/* The libpq connection (PGconn *), for what corio does not wrap.  Do not
 * send or read through it. */
CORIO_API void *corio_pg_libpq(corio_pg *c);

/* ---- Errors ----------------------------------------------------------------
 */

/* The details of the last CORIO_EPG / CORIO_EPGCONN returned to the calling
 * task by a call on c.  Fields are never NULL ("" when absent); position is
 * 1-based in the query text, 0 if none.  Valid until the calling task's next
 * call on c. */
typedef struct corio_pg_error {
    const char *sqlstate; /* five characters, e.g. "23505" */
    const char *severity; /* ERROR, FATAL, ... */
    const char *message;
    const char *detail;
    const char *hint;
    const char *constraint;
    const char *table;
    const char *column;
    int position;
} corio_pg_error;

/* The last error on c (all fields "" if none).  Never NULL for a non-NULL c. */
CORIO_API const corio_pg_error *corio_pg_last_error(const corio_pg *c);

/* ---- Queries ----------------------------------------------------------------
 */

/* Run one SQL statement with text parameters $1..$nparams (params[i] NULL is
 * SQL NULL; params may be NULL when nparams is 0) and return its result.
 *
 * Returns 0 with *out set (free it with corio_pg_result_free), or:
 *   CORIO_EPG      the server refused it (corio_pg_last_error(c)).
 *   CORIO_EPGCONN  the connection is lost.
 *   -EINVAL        c or sql NULL, nparams < 0.
 *   -ENOMEM, -ECANCELED / -ETIMEDOUT, -EPERM.
 * On any error *out = NULL.
 * Cancel-safe: yes (file comment: the query is dropped, cancelled on the
 * server or its result discarded; never given to another caller).  sql and
 * params are borrowed until the call returns. */
CORIO_API CORIO_NODISCARD int corio_pg_query(corio_pg *c, const char *sql,
                                             const char *const *params,
                                             int nparams,
                                             corio_pg_result **out);

/* Run a statement for its effect; *rows_affected (may be NULL) receives the
 * count of rows inserted, updated, deleted, copied or returned (0 for
 * statements without one).  Returns and cancel safety as corio_pg_query. */
CORIO_API CORIO_NODISCARD int corio_pg_exec(corio_pg *c, const char *sql,
                                            const char *const *params,
                                            int nparams,
                                            int64_t *rows_affected);

/* Run a query and copy the text form of row 0, column 0 into buf (cap bytes,
 * always NUL-terminated when cap > 0).  Returns the length of the value
 * (which may be >= cap: truncated), or CORIO_EPG / CORIO_EPGCONN / ..., or:
 *   -ENOENT  no row.   -ENODATA  the value is NULL (buf is "").
 * Cancel-safe: as corio_pg_query. */
CORIO_API CORIO_NODISCARD ssize_t corio_pg_fetchval(corio_pg *c,
                                                    const char *sql,
                                                    const char *const *params,
                                                    int nparams, char *buf,
                                                    size_t cap);

/* Run a query and return its first row: *out is a result of 0 or 1 row
 * (asyncpg's fetchrow: None when there is no row: check
 * corio_pg_result_rows).  Returns as corio_pg_query. */
CORIO_API CORIO_NODISCARD int corio_pg_fetchrow(corio_pg *c, const char *sql,
                                                const char *const *params,
                                                int nparams,
                                                corio_pg_result **out);

/* Run one statement once per parameter set, pipelined as a single sync
 * group (asyncpg's executemany): params_rows[i] holds nparams values.  All
 * items or none take effect when c is not in a transaction (the group is
 * one implicit transaction); the first failure is reported.
 * *rows_affected (may be NULL) gets the sum.
 * Returns 0, CORIO_EPG, CORIO_EPGCONN, -EINVAL, -ENOMEM,
 * -ECANCELED / -ETIMEDOUT, -EPERM.  Cancel-safe: as corio_pg_query. */
CORIO_API CORIO_NODISCARD int
corio_pg_execmany(corio_pg *c, const char *sql,
                  const char *const *const *params_rows, int nrows, int nparams,
                  int64_t *rows_affected);

/* ---- Batches (pgx's SendBatch) -------------------------------------------
 * Several queries sent as one sync group: one write, one round trip, one
 * Sync, so the server runs them as one implicit transaction.  Each query
 * gets its own result.  An error in query k aborts the rest: queries
 * after k are skipped (the server never runs them), and when c is not in
 * a transaction the writes of the queries before k are rolled back with
 * the group (their results, e.g. rows read, are still delivered).  A batch
 * pipelines alongside other tasks' requests on the same connection like
 * any request.  Statements go through the connection's statement cache. */

/* Make an empty batch.  Returns 0, -EINVAL (out NULL), -ENOMEM.  Never
 * suspends.  Not thread-safe: one task uses a batch. */
CORIO_API CORIO_NODISCARD int corio_pg_batch_new(corio_pg_batch **out);

/* Free b and the results not taken.  NULL is a no-op.  Never suspends. */
CORIO_API void corio_pg_batch_free(corio_pg_batch *b);

/* Add a query with $1..$n text parameters (NULL entries are SQL NULLs).
 * sql and params are borrowed until corio_pg_batch_send returns.
 * Returns the query's index (0, 1, ...), or -EINVAL (bad arguments, or b
 * already sent), -ENOMEM.  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_pg_batch_add(corio_pg_batch *b,
                                                 const char *sql,
                                                 const char *const *params,
                                                 int nparams);

/* The number of queries added to b (0 for NULL). */
CORIO_API int corio_pg_batch_len(const corio_pg_batch *b);

/* Send every query of b in one sync group on c and wait for all answers.
 * A batch is sent once.  Returns 0 (every query succeeded), or:
 *   CORIO_EPG       a query failed: corio_pg_batch_failed says which, its
 *                   details are in corio_pg_last_error(c); results of the
 *                   queries before it can be taken.
 *   CORIO_EPGCONN   the connection was lost (no results).
 *   -EINVAL, -ENOMEM, -EPERM (not in a task), -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: as corio_pg_query — interrupted before it was sent, the
 * server never sees it; after, the connection is taken back (a
 * CancelRequest when nothing else is queued behind it, then drained), so
 * c serves the next query; whether the queries ran is unknown, and no
 * result can be taken.  Thread-safety: the loop thread of c. */
CORIO_API CORIO_NODISCARD int corio_pg_batch_send(corio_pg *c,
                                                  corio_pg_batch *b);

/* The index of the first query that failed in the last send, or -1 (none,
 * not sent, or NULL). */
CORIO_API int corio_pg_batch_failed(const corio_pg_batch *b);

/* Take query i's result; the caller frees it with corio_pg_result_free.
 * Returns 0 with *out set, or CORIO_EPG (query i failed or was skipped),
 * -ENOENT (already taken), -EINVAL (bad index, or no successful send),
 * -ENOMEM.  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_pg_batch_result(corio_pg_batch *b, int i,
                                                    corio_pg_result **out);

/* Prepare sql explicitly under the given name (asyncpg's prepare) so that
 * corio_pg_query_prepared can run it.  Queries through corio_pg_query are
 * prepared automatically; this is for names the application manages.
 * Returns 0, CORIO_EPG, CORIO_EPGCONN, -EINVAL, -ENOMEM,
 * -ECANCELED / -ETIMEDOUT, -EPERM.  Cancel-safe: as corio_pg_query (an
 * interrupted prepare may or may not exist on the server afterwards). */
CORIO_API CORIO_NODISCARD int corio_pg_prepare(corio_pg *c, const char *name,
                                               const char *sql);

/* Run the statement prepared as name.  Returns as corio_pg_query. */
CORIO_API CORIO_NODISCARD int corio_pg_query_prepared(corio_pg *c,
                                                      const char *name,
                                                      const char *const *params,
                                                      int nparams,
                                                      corio_pg_result **out);

/* ---- Typed (binary) parameters ------------------------------------------ */

/* A parameter with its type, sent in PostgreSQL's binary format or as text.
 * Build it with the constructors below; the fields are:
 *   type    the type OID (0: the server infers it; text values only).
 *   format  1 binary, 0 text.
 *   len     the bytes of a binary value; -1: SQL NULL.
 *   ptr     the value (text: NUL-terminated); NULL with format 1: the bytes
 *           are in inline_ (where the scalar constructors encode them).
 * A parameter holds no allocation; bytea and text values are borrowed. */
typedef struct corio_pg_param {
    unsigned type;
    int format;
    int len;
    const void *ptr;
    unsigned char inline_[8];
} corio_pg_param;

/* Constructors: SQL NULL; bool, int2, int4, int8, float4, float8 and
 * timestamptz (nanoseconds since the Unix epoch, rounded down to the
 * microsecond) in binary; bytea in binary (p borrowed, len < 2 GiB); text
 * with the type left to the server (s borrowed; NULL is SQL NULL).  Never
 * fail, never allocate. */
/* SQL NULL.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_null(void);
/* A bool, sent in binary.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_bool(bool v);
/* An int2, sent in binary.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_int2(int16_t v);
/* An int4, sent in binary.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_int4(int32_t v);
/* An int8, sent in binary.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_int8(int64_t v);
/* A float4, sent in binary.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_float4(float v);
/* A float8, sent in binary.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_float8(double v);
/* A timestamptz from nanoseconds since the epoch (rounded down to the
 * microsecond), sent in binary.  Never fails. */
CORIO_API corio_pg_param corio_pg_param_timestamptz(int64_t ns);
/* A bytea, sent in binary (p borrowed until the call; len < 2 GiB).  Never
 * fails. */
CORIO_API corio_pg_param corio_pg_param_bytea(const void *p, size_t len);
/* Text with the type left to the server (s borrowed; NULL is SQL NULL).  Never
 * fails. */
CORIO_API corio_pg_param corio_pg_param_text(const char *s);
/* A numeric from its exact decimal text ("3.14159", "-1e-30", "NaN"),
 * declared numeric so no precision is lost to a float (s borrowed; NULL is
 * SQL NULL; the server rejects malformed text with SQLSTATE 22P02).  Never
 * fails. */
CORIO_API corio_pg_param corio_pg_param_numeric(const char *s);
/* A uuid from its 16 bytes, sent in binary (u borrowed until the call;
 * NULL is SQL NULL).  Never fails. */
CORIO_API corio_pg_param corio_pg_param_uuid(const unsigned char *u);
/* A text value declared as the given type (s borrowed; NULL is SQL NULL):
 * arrays as literals, e.g. corio_pg_param_typed(CORIO_PG_INT8_ARRAY,
 * "{1,2,NULL}") for `= ANY($1)`, or any type the server parses from text.
 * Never fails. */
CORIO_API corio_pg_param corio_pg_param_typed(unsigned type, const char *s);
/* Type OIDs of the array types most used as parameters. */
enum {
    CORIO_PG_BOOL_ARRAY = 1000,
    CORIO_PG_INT2_ARRAY = 1005,
    CORIO_PG_INT4_ARRAY = 1007,
    CORIO_PG_TEXT_ARRAY = 1009,
    CORIO_PG_INT8_ARRAY = 1016,
    CORIO_PG_FLOAT8_ARRAY = 1022,
    CORIO_PG_NUMERIC_ARRAY = 1231,
    CORIO_PG_UUID_ARRAY = 2951
};

/* corio_pg_query with typed parameters: binary ones skip the server's text
 * parsing (and bytea its escaping), and their declared types choose the
 * statement's parameter types (a statement is cached per text and types).
 * Returns and cancel safety as corio_pg_query (CORIO_EPG, SQLSTATE 08P01
 * or 22P03, when a binary value does not match its type; the connection
 * stays usable); params and what they point to are borrowed until the call
 * returns. */
CORIO_API CORIO_NODISCARD int
corio_pg_query_params(corio_pg *c, const char *sql,
                      const corio_pg_param *params, int nparams,
                      corio_pg_result **out);

/* corio_pg_exec with typed parameters.  Returns as corio_pg_exec. */
CORIO_API CORIO_NODISCARD int corio_pg_exec_params(corio_pg *c, const char *sql,
                                                   const corio_pg_param *params,
                                                   int nparams,
                                                   int64_t *rows_affected);

/* ---- Results ----------------------------------------------------------------
 */

/* Free r (NULL is a no-op). */
CORIO_API void corio_pg_result_free(corio_pg_result *r);

/* The number of rows of r (0 for NULL).  Never suspends; r is the
 * caller's until corio_pg_result_free. */
CORIO_API int corio_pg_result_rows(const corio_pg_result *r);
/* The number of columns of r (0 for NULL).  Never suspends. */
CORIO_API int corio_pg_result_cols(const corio_pg_result *r);
/* The name of column col (NULL if out of range). */
CORIO_API const char *corio_pg_result_colname(const corio_pg_result *r,
                                              int col);
/* The index of the column named name, or -ENOENT. */
CORIO_API int corio_pg_result_colindex(const corio_pg_result *r,
                                       const char *name);
/* The type OID of column col (e.g. 23 int4, 25 text), 0 if out of range. */
CORIO_API unsigned corio_pg_result_coltype(const corio_pg_result *r, int col);
/* The command tag ("SELECT 3", "INSERT 0 1", ...); never NULL. */
CORIO_API const char *corio_pg_result_tag(const corio_pg_result *r);
/* Rows affected as the command tag says (0 if none). */
CORIO_API int64_t corio_pg_result_affected(const corio_pg_result *r);
/* 1 if the value is SQL NULL (or out of range), else 0. */
CORIO_API int corio_pg_isnull(const corio_pg_result *r, int row, int col);

/* Typed getters.  Each returns 0 and stores the value, or:
 *   -ENODATA  the value is NULL (nothing stored).
 *   -ERANGE   row/col out of range, or the value does not fit.
 *   -EINVAL   the column's type cannot be read this way.
 * Integers read int2/int4/int8 (and oid); floats read float4/float8 (and
 * integers); bool reads bool; timestamps give nanoseconds since the Unix
 * epoch (timestamp: as if UTC; date: midnight). */
/* Value (row, col) as int16 (int2/int4/int8/oid; -ERANGE if it does not
 * fit).  Returns as above.  Never suspends; reads r only. */
CORIO_API int corio_pg_get_int16(const corio_pg_result *r, int row, int col,
                                 int16_t *v);
/* Value (row, col) as int32 (int2/int4/int8/oid; -ERANGE if it does not
 * fit).  Returns as above.  Never suspends; reads r only. */
CORIO_API int corio_pg_get_int32(const corio_pg_result *r, int row, int col,
                                 int32_t *v);
/* Value (row, col) as int64 (int2/int4/int8/oid).  Returns as above.
 * Never suspends; reads r only. */
CORIO_API int corio_pg_get_int64(const corio_pg_result *r, int row, int col,
                                 int64_t *v);
/* Value (row, col) as float (float4/float8 and integers, rounded to the
 * nearest float).  Returns as above.  Never suspends; reads r only. */
CORIO_API int corio_pg_get_float(const corio_pg_result *r, int row, int col,
                                 float *v);
/* Value (row, col) as double (float4/float8 and integers).  Returns as
 * above.  Never suspends; reads r only. */
CORIO_API int corio_pg_get_double(const corio_pg_result *r, int row, int col,
                                  double *v);
/* Value (row, col) as bool (bool columns only).  Returns as above.  Never
 * suspends; reads r only. */
CORIO_API int corio_pg_get_bool(const corio_pg_result *r, int row, int col,
                                bool *v);
/* Value (row, col) as nanoseconds since the Unix epoch (timestamptz;
 * timestamp as if UTC; date at midnight).  Returns as above.  Never suspends;
 * reads r only. */
CORIO_API int corio_pg_get_time(const corio_pg_result *r, int row, int col,
                                int64_t *ns);

/* The raw bytes of a value: for text, varchar, name, json, xml, enums and
 * bytea these are the value itself (not NUL-terminated for bytea; text-like
 * values are followed by a NUL).  *len (may be NULL) gets the length.
 * Valid while r lives.  NULL if the value is NULL or out of range. */
CORIO_API const char *corio_pg_get_bytes(const corio_pg_result *r, int row,
                                         int col, size_t *len);

/* One-dimensional arrays (an empty array too).  Each getter stores up to
 * cap elements of the array at (row, col) into v (and nulls[i], when nulls
 * is not NULL, says whether element i is NULL; its v[i] is then 0 / false)
 * and returns the element count, which may exceed cap (v may be NULL with
 * cap 0 to ask for the count), or:
 *   -ENODATA  the value is NULL, or an element is NULL and nulls is NULL.
 *   -ERANGE   row/col out of range, or an element does not fit.
 *   -EINVAL   not an array of a type read this way, or several dimensions.
 * int32/int64 read int2[], int4[], int8[], oid[]; double reads float4[],
 * float8[] and the integer arrays; bool reads bool[].  Never suspend; read
 * r only. */
CORIO_API ssize_t corio_pg_get_int32_array(const corio_pg_result *r, int row,
                                           int col, int32_t *v, bool *nulls,
                                           size_t cap);
/* int2[], int4[], int8[] or oid[] as int64_t; returns as above. */
CORIO_API ssize_t corio_pg_get_int64_array(const corio_pg_result *r, int row,
                                           int col, int64_t *v, bool *nulls,
                                           size_t cap);
/* float4[], float8[] or an integer array as double; returns as above. */
CORIO_API ssize_t corio_pg_get_double_array(const corio_pg_result *r, int row,
                                            int col, double *v, bool *nulls,
                                            size_t cap);
/* bool[] as bool; returns as above. */
CORIO_API ssize_t corio_pg_get_bool_array(const corio_pg_result *r, int row,
                                          int col, bool *v, bool *nulls,
                                          size_t cap);
/* Elements of text[], varchar[], bpchar[], name[], json[], jsonb[] and
 * bytea[] as views into r: v[i] points at element i's bytes (NOT
 * NUL-terminated), len[i] (len may be NULL) its length; a NULL element is
 * v[i] = NULL.  Returns as the getters above. */
CORIO_API ssize_t corio_pg_get_bytes_array(const corio_pg_result *r, int row,
                                           int col, const char **v, size_t *len,
                                           size_t cap);

/* The value as text, as psql would print it, copied into buf (cap bytes,
 * NUL-terminated when cap > 0): every type above, plus numeric (exact
 * decimal), jsonb, uuid, bytea (\x hex), and one-dimensional arrays of
 * those ({1,2,NULL}).  Returns the full length (>= cap: truncated), or
 * -ENODATA (NULL; buf is ""), -ERANGE, -EINVAL (type not supported). */
CORIO_API ssize_t corio_pg_get_text(const corio_pg_result *r, int row, int col,
                                    char *buf, size_t cap);

/* ---- Transactions
 * ------------------------------------------------------------ */

/* Options of a transaction; zero fields take the server's defaults.
 *   isolation  "read committed", "repeatable read" or "serializable".
 *   read_only, deferrable  1 to ask for them. */
typedef struct corio_pg_tx_opts {
    const char *isolation;
    int read_only;
    int deferrable;
} corio_pg_tx_opts;

/* Begin a transaction on c (opts may be NULL).  Inside a transaction of
 * the same task it becomes a savepoint (opts then ignored).  While the
 * transaction is open, queries of other tasks on c wait for it to end.
 * Returns 0, CORIO_EPG, CORIO_EPGCONN, -EINVAL (isolation unknown), -EBUSY
 * (c is in a COPY), -ENOMEM, -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes; an interrupted begin is rolled back (nothing open). */
CORIO_API CORIO_NODISCARD int corio_pg_tx_begin(corio_pg *c,
                                                const corio_pg_tx_opts *opts);

/* Commit the innermost transaction (or release its savepoint).  A
 * transaction in which a statement failed is rolled back by the server and
 * commit returns CORIO_EPG (SQLSTATE 40P01-style detail: 25P02 "in failed
 * transaction" is reported as the commit's failure).
 * Returns 0, CORIO_EPG, CORIO_EPGCONN, -EPERM (no transaction of this task),
 * -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: the level is closed either way; an interrupted commit was
 * sent and may have taken effect (as with any database). */
CORIO_API CORIO_NODISCARD int corio_pg_tx_commit(corio_pg *c);

/* Roll back the innermost transaction (or to its savepoint).  Never fails
 * for a task that was cancelled: the ROLLBACK is queued ahead of anything
 * else on c and the call returns at once, so a cleanup handler can always
 * end the block.  Returns 0, CORIO_EPGCONN, -EPERM (no transaction of this
 * task), -ECANCELED / -ETIMEDOUT (the rollback is still done). */
CORIO_API int corio_pg_tx_rollback(corio_pg *c);

/* Block form (`async with conn.transaction()`):
 *
 *     CORIO_PG_TX(tx, c, NULL);          // begins; rolls back on scope exit
 *     if (tx.rc < 0) return tx.rc;
 *     ... queries ...
 *     return corio_pg_tx_done(&tx);       // commits
 *
 * Leaving the scope without corio_pg_tx_done (return, error path,
 * cancellation) rolls back. */
typedef struct corio_pg_tx {
    corio_pg *c;
    int rc;   /* corio_pg_tx_begin's result */
    int open; /* 1 until committed or rolled back */
} corio_pg_tx;

/* The block's end (CORIO_PG_TX's cleanup): if tx is still open, roll its
 * transaction back as corio_pg_tx_rollback does (never waits for a
 * cancelled task; errors are not reported — there is no one to report
 * them to).  A no-op once committed, rolled back, or if the begin failed. */
CORIO_API void corio_pg_tx_cleanup(corio_pg_tx *tx);
/* Commit the block's transaction.  Returns as corio_pg_tx_commit. */
CORIO_API CORIO_NODISCARD int corio_pg_tx_done(corio_pg_tx *tx);
/* The block's start: corio_pg_tx_begin(c, opts), its result in .rc
 * (check it before using the block; the block does nothing if it is < 0).
 * Suspends and is cancel-safe as corio_pg_tx_begin. */
CORIO_API corio_pg_tx corio_pg_tx_start(corio_pg *c,
                                        const corio_pg_tx_opts *opts);

#define CORIO_PG_TX(name, c, opts)                                             \
    corio_pg_tx name __attribute__((cleanup(corio_pg_tx_cleanup))) =           \
        corio_pg_tx_start((c), (opts))

/* ---- LISTEN / NOTIFY
 * ------------------------------------------------------------- */

/* Wait for the next notification on c (after LISTEN channel; those that
 * arrived during other queries were queued).  *channel and *payload
 * (either may be NULL) receive malloc'd strings the caller frees.
 * Returns the notifying backend's pid (> 0), or CORIO_EPGCONN, -ENOMEM,
 * -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes; an interrupted wait takes no notification. */
CORIO_API CORIO_NODISCARD int corio_pg_notify_wait(corio_pg *c, char **channel,
                                                   char **payload);

/* ---- COPY
 * ---------------------------------------------------------------------------
 */

/* Supplies COPY FROM STDIN data: store up to cap bytes in buf and return
 * the count, 0 at the end, or a negative error to abort the COPY. */
typedef ssize_t (*corio_pg_copy_in_fn)(void *arg, char *buf, size_t cap);
/* Receives COPY TO STDOUT data, one row per call; return < 0 to stop. */
typedef int (*corio_pg_copy_out_fn)(void *arg, const char *row, size_t len);

/* Run `COPY ... FROM STDIN` (sql) and stream the data read from fn, with
 * back-pressure (fn is called again only once the socket takes more).
 * *rows (may be NULL) gets the count.  The connection is exclusive to the
 * caller meanwhile.  Returns 0, CORIO_EPG, CORIO_EPGCONN, fn's error,
 * -EINVAL, -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: an interrupted COPY is aborted on the server (nothing
 * stored) and the connection drained. */
CORIO_API CORIO_NODISCARD int corio_pg_copy_in(corio_pg *c, const char *sql,
                                               corio_pg_copy_in_fn fn,
                                               void *arg, int64_t *rows);

/* Run `COPY ... TO STDOUT` (sql), handing each row to fn as it arrives.
 * Returns as corio_pg_copy_in.  Cancel-safe: the COPY is cancelled on the
 * server and the connection drained. */
CORIO_API CORIO_NODISCARD int corio_pg_copy_out(corio_pg *c, const char *sql,
                                                corio_pg_copy_out_fn fn,
                                                void *arg, int64_t *rows);

/* ---- Row streaming
 * ---------------------------------------------------------------- */

/* Called for each row of a streamed query with a one-row result (borrowed
 * for the call); return < 0 to stop (the rest is discarded). */
typedef int (*corio_pg_row_fn)(void *arg, const corio_pg_result *row);

/* Run a query and hand its rows to fn one at a time (libpq's single-row
 * mode), so a result of any size never sits in memory at once.  The
 * connection is exclusive to the caller meanwhile.  *rows (may be NULL)
 * gets the number of rows handed.  Returns 0, CORIO_EPG, CORIO_EPGCONN,
 * fn's error, -EINVAL, -ENOMEM, -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: as corio_pg_query. */
CORIO_API CORIO_NODISCARD int
corio_pg_query_stream(corio_pg *c, const char *sql, const char *const *params,
                      int nparams, corio_pg_row_fn fn, void *arg,
                      int64_t *rows);

/* ---- Pool
 * ----------------------------------------------------------------------------
 */

typedef int (*corio_pg_conn_fn)(void *arg, corio_pg *c);

/* What the pool resets when a connection comes back, before its next user
 * runs anything (the reset travels in the same write as that user's first
 * request: no round trip of its own).  A transaction left open is rolled
 * back in every mode.
 *   CORIO_PG_RESET_ALL   asyncpg's reset, every time: RESET ALL,
 *                        pg_advisory_unlock_all(), CLOSE ALL, UNLISTEN *,
 *                        plus DEALLOCATE ALL when the lease prepared
 *                        statements by name (SQL PREPARE, corio_pg_prepare).
 *   CORIO_PG_RESET_USED  only what the lease's statements show by their
 *                        command tags: SET / RESET -> RESET ALL, DECLARE
 *                        CURSOR -> CLOSE ALL, LISTEN -> UNLISTEN *,
 *                        PREPARE / corio_pg_prepare / DISCARD / DEALLOCATE
 *                        -> DEALLOCATE ALL (and the statement cache is
 *                        dropped); a lease that showed none of them costs
 *                        the server nothing.  NOT reset in this mode: what
 *                        functions change from inside a statement
 *                        (set_config(), SET inside a function,
 *                        pg_advisory_lock()), and temporary tables.
 *   CORIO_PG_RESET_NONE  nothing but the rollback (pgxpool's behaviour). */
typedef enum corio_pg_reset_mode {
    CORIO_PG_RESET_ALL = 0,
    CORIO_PG_RESET_USED = 1,
    CORIO_PG_RESET_NONE = 2
} corio_pg_reset_mode;

/* Options of corio_pg_pool_new; zero fields take the defaults.
 *   min_size / max_size   connections kept open / at most (default 0 / 10).
 *   max_idle_ns           close a connection idle longer (default 5 min).
 *   max_lifetime_ns       close a connection older (default 1 h).
 *   max_queries           close after this many acquisitions (default 50000).
 *   reset                 what release resets (corio_pg_reset_mode;
 *                         default CORIO_PG_RESET_ALL).
 *   max_pipeline          requests in flight at most on one shared
 *                         connection (corio_pg_pool_query; default 64).
 *   init(arg, c)          run on every new connection; < 0 discards it.
 *   setup(arg, c)         run on every acquisition; < 0 discards it.
 *   conn                  options of the connections made. */
typedef struct corio_pg_pool_opts {
    int min_size;
    int max_size;
    int64_t max_idle_ns;
    int64_t max_lifetime_ns;
    int64_t max_queries;
    int reset;
    int max_pipeline;
    corio_pg_conn_fn init;
    corio_pg_conn_fn setup;
    void *hook_arg;
    corio_pg_opts conn;
} corio_pg_pool_opts;

/* Make a pool (opts may be NULL); min_size connections are opened now.
 * Returns 0, or the first connection's error, -EINVAL, -ENOMEM,
 * -ECANCELED / -ETIMEDOUT.  On error *out = NULL.  conninfo is copied. */
CORIO_API CORIO_NODISCARD int corio_pg_pool_new(corio_pg_pool **out,
                                                const char *conninfo,
                                                const corio_pg_pool_opts *opts);

/* Close every connection and free p.  Connections still acquired or in
 * shared use are closed when released; acquires and pooled queries
 * suspended inside the pool (waiting for a permit or for room, connecting)
 * return -ESHUTDOWN, and later calls on p are not allowed.  The memory
 * goes when the last of them has left.  Never suspends; NULL is a no-op. */
CORIO_API void corio_pg_pool_free(corio_pg_pool *p);

/* Take a connection for the calling task alone, waiting (FIFO, with the
 * shared requests that found no room) while max_size are in use or shared;
 * opens one when none is idle.  A connection acquired is never shared, and
 * a queued acquirer is not starved by shared requests: none pipelines onto
 * a shared connection while anybody queues, so the shared ones drain and
 * come back.  An acquire timeout is a scope.
 * Returns 0 with *out set, or a connect error, -ESHUTDOWN (pool freed),
 * -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes; an interrupted acquire holds nothing, and a connection
 * handed to it in the same tick goes to the next waiter (never leaks). */
CORIO_API CORIO_NODISCARD int corio_pg_pool_acquire(corio_pg_pool *p,
                                                    corio_pg **out);

/* Give c back.  A transaction left open is rolled back, the reset runs,
 * and c becomes available only once the server has answered everything
 * sent on it (never mid-protocol); a lost connection is closed and
 * replaced on demand.  Never suspends; NULL c is a no-op (so is a c the pool
 * holds in shared use). */
CORIO_API void corio_pg_pool_release(corio_pg_pool *p, corio_pg *c);

/* corio_pg_query on a connection SHARED with other pool_query callers:
 * concurrent calls pipeline (tokio-postgres's pool model) instead of each
 * holding a connection for a round trip.  Where it runs: an idle
 * connection taken into shared use (it holds one of the max_size permits),
 * or a new one, when a permit is free and nobody queues for one; else the
 * shared connection with the fewest requests in flight, below
 * max_pipeline; else it queues FIFO for a permit with the acquirers.  The
 * connection goes back to idle (with the reset of the pool's mode) when its
 * last shared request ends.
 * The statement must not change session state (SET, LISTEN, PREPARE,
 * DECLARE, BEGIN, advisory locks, temporary tables): the change would be
 * seen by the other requests pipelined on the connection.  Nothing refuses
 * them; the reset of the pool's mode still runs when the connection goes
 * idle, and a transaction left open is rolled back then.  Use acquire for
 * session state and transactions.
 * Returns as corio_pg_query (a lost connection fails only the requests in
 * flight on it, with CORIO_EPGCONN, and is replaced on demand), or as
 * acquire (-ESHUTDOWN, a connect error, -ECANCELED / -ETIMEDOUT while
 * queued), or -EINVAL (p NULL).
 * Cancel-safe: yes; as corio_pg_query, and the others pipelined on the
 * connection get their own results. */
CORIO_API CORIO_NODISCARD int corio_pg_pool_query(corio_pg_pool *p,
                                                  const char *sql,
                                                  const char *const *params,
                                                  int nparams,
                                                  corio_pg_result **out);

/* corio_pg_batch_send on a shared connection, chosen as by
 * corio_pg_pool_query (the batch is one request there, one sync group).
 * The same rule on session state.  Returns as corio_pg_batch_send or as
 * corio_pg_pool_query; -EINVAL (p or b NULL).
 * Cancel-safe: yes, as corio_pg_batch_send. */
CORIO_API CORIO_NODISCARD int corio_pg_pool_batch_send(corio_pg_pool *p,
                                                       corio_pg_batch *b);

/* Pool counters (for tests and monitoring). */
typedef struct corio_pg_pool_stats {
    int size; /* connections open (idle + in use + shared + being reset) */
    int idle;
    int in_use;    /* acquired */
    int shared;    /* in shared use by corio_pg_pool_query / batch_send */
    int resetting; /* released, waiting for the server to answer */
    int waiters;
    int64_t opened, closed;
} corio_pg_pool_stats;

/* Fill *st with p's counters (all zero for p NULL).  Never fails, never
 * suspends; loop thread of p. */
CORIO_API void corio_pg_pool_stats_get(const corio_pg_pool *p,
                                       corio_pg_pool_stats *st);

/* Block form of acquire: releases on scope exit.
 *     CORIO_PG_POOL_CONN(pc, pool);
 *     if (pc.rc < 0) return pc.rc;
 *     corio_pg_query(pc.c, ...); */
typedef struct corio_pg_pool_conn {
    corio_pg_pool *p;
    corio_pg *c;
    int rc;
} corio_pg_pool_conn;

/* Acquire from p for CORIO_PG_POOL_CONN: .c is the connection, or NULL with
 * .rc the error of corio_pg_pool_acquire (-ECANCELED / -ETIMEDOUT
 * included).  Cancel-safe: as corio_pg_pool_acquire (nothing held). */
CORIO_API corio_pg_pool_conn corio_pg_pool_conn_start(corio_pg_pool *p);

/* Release pc's connection, if any, back to its pool (the block form's
 * cleanup; a no-op when the acquire failed).  Never suspends. */
CORIO_API void corio_pg_pool_conn_cleanup(corio_pg_pool_conn *pc);
#define CORIO_PG_POOL_CONN(name, p)                                            \
    corio_pg_pool_conn name                                                    \
        __attribute__((cleanup(corio_pg_pool_conn_cleanup))) =                 \
            corio_pg_pool_conn_start(p)

/* Block form of connect/close (`async with database_connection(url)`). */
CORIO_API void corio_pg_cleanup(corio_pg **c);
#define CORIO_PG_AUTO __attribute__((cleanup(corio_pg_cleanup)))

#ifdef __cplusplus
}
#endif
#endif
