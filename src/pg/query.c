/* pg/query.c — sending requests (corio__pg_send), the per-connection LRU
 * cache of prepared statements, and the query calls built on them: query,
 * exec, fetchval, fetchrow, execmany, prepare, query_prepared.
 *
 * Every request is one sync group of the pipeline: its commands then
 * PQpipelineSync, so an error aborts that request only.  A parameterised
 * statement seen for the first time is sent as Parse (named corio_sN)
 * followed by its Bind/Execute in the same group; later uses skip the
 * Parse.  While a Parse is in flight, other uses of the same text go
 * unnamed (so a failing Parse cannot break them); a failed Parse removes
 * the entry.  Evicting the least recently used entry sends DEALLOCATE as
 * a group of its own that nobody waits for. */
#include "pg/pg_int.h"

#define STMT_BUCKETS 256u

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static void lru_unlink(corio_pg *c, pg_stmt *s)
{
    if (s->lru_prev)
        s->lru_prev->lru_next = s->lru_next;
    else
        c->lru_head = s->lru_next;
    if (s->lru_next)
        s->lru_next->lru_prev = s->lru_prev;
    else
        c->lru_tail = s->lru_prev;
    s->lru_prev = s->lru_next = NULL;
}

static void lru_front(corio_pg *c, pg_stmt *s)
{
    s->lru_prev = NULL;
    s->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = s;
    c->lru_head = s;
    if (!c->lru_tail)
        c->lru_tail = s;
}

static void stmt_remove(corio_pg *c, pg_stmt *s)
{
    pg_stmt **pp = &c->stmt_tab[s->hash % STMT_BUCKETS];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    lru_unlink(c, s);
    c->nstmts--;
    free(s->sql);
    free(s->types);
    free(s);
}

void corio__pg_stmt_free_all(corio_pg *c)
{
    while (c->lru_head)
        stmt_remove(c, c->lru_head);
    free(c->stmt_tab);
    c->stmt_tab = NULL;
}

void corio__pg_stmt_result(corio_pg *c, pg_stmt *s, bool ok)
{
    if (ok)
        s->ready = true;
    else
        stmt_remove(c, s);
}

/* The types a request declares for its parameters (NULL: none, the
 * server infers them all), part of a statement's identity: the same text
 * prepared for an int8 parameter cannot run with an int4 one. */
static const Oid *req_types(const pg_req *r)
{
    for (int i = 0; r->types && i < r->nparams; i++)
        if (r->types[i])
            return r->types;
    return NULL;
}

static unsigned hash_key(const char *sql, const Oid *types, int n)
{
    unsigned h = hash_str(sql);
    for (int i = 0; types && i < n; i++)
        h = (h ^ types[i]) * 16777619u;
    return h;
}

static pg_stmt *stmt_find(corio_pg *c, const char *sql, const Oid *types, int n,
                          unsigned h)
{
    if (!c->stmt_tab)
        return NULL;
    int nt = types ? n : 0;
    for (pg_stmt *s = c->stmt_tab[h % STMT_BUCKETS]; s; s = s->hnext)
        if (s->hash == h && s->ntypes == nt && !strcmp(s->sql, sql) &&
            (!nt || !memcmp(s->types, types, (size_t)nt * sizeof *types)))
            return s;
    return NULL;
}

/* Send DEALLOCATE for s as a group nobody waits for, and drop s. */
static int evict(corio_pg *c, pg_stmt *s)
{
    pg_req *d = corio__pg_req_new(c, REQ_TEXT);
    if (!d)
        return -ENOMEM;
    char sql[48];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
    if (!PQsendQueryParams(c->pq, sql, 0, NULL, NULL, NULL, NULL, 0) ||
        !PQpipelineSync(c->pq)) {
        corio__pg_req_free(d);
        return CORIO_EPGCONN;
    }
    d->ncmds = 1;
    d->sent = true;
    d->abandoned = true;
    d->task = NULL;
    corio__pg_infl_push(c, d);
    stmt_remove(c, s);
    return 0;
}

/* The cached statement to use for sql: *prepare says whether to send its
 * Parse first.  NULL: send unnamed. */
static pg_stmt *stmt_for(corio_pg *c, const char *sql, const Oid *types,
                         int nparams, bool *prepare, int *rc)
{
    *prepare = false;
    *rc = 0;
    if (c->stmt_max <= 0)
        return NULL;
    unsigned h = hash_key(sql, types, nparams);
    pg_stmt *s = stmt_find(c, sql, types, nparams, h);
    if (s) {
        if (!s->ready)
            return NULL; /* its Parse is still in flight */
        lru_unlink(c, s);
        lru_front(c, s);
        return s;
    }
    if (!c->stmt_tab &&
        !(c->stmt_tab = pg_calloc(STMT_BUCKETS, sizeof *c->stmt_tab)))
        return NULL;
    if (c->nstmts >= c->stmt_max) {
        pg_stmt *v = c->lru_tail;
        while (v && (!v->ready || v->pinned))
            v = v->lru_prev;
        if (!v)
            return NULL; /* every entry is being prepared: go unnamed */
        if ((*rc = evict(c, v)) < 0)
            return NULL;
    }
    s = pg_calloc(1, sizeof *s);
    if (!s || !(s->sql = pg_strdup(sql)) ||
        (types && !(s->types = pg_malloc((size_t)nparams * sizeof *types)))) {
        if (s)
            free(s->sql);
        free(s);
        return NULL;
    }
    if (types) {
        memcpy(s->types, types, (size_t)nparams * sizeof *types);
        s->ntypes = nparams;
    }
    s->hash = h;
    snprintf(s->name, sizeof s->name, "corio_s%u", ++c->stmt_seq);
    s->hnext = c->stmt_tab[h % STMT_BUCKETS];
    c->stmt_tab[h % STMT_BUCKETS] = s;
    lru_front(c, s);
    c->nstmts++;
    *prepare = true;
    return s;
}

/* Bind/Execute of r's statement with one parameter set, through the
 * cache (lengths, formats and types: r's typed parameters, else NULL). */
static int send_exec(corio_pg *c, pg_stmt *s, const pg_req *r,
                     const char *const *params)
{
    if (s)
        return PQsendQueryPrepared(c->pq, s->name, r->nparams, params,
                                   r->lengths, r->formats, 1);
    return PQsendQueryParams(c->pq, r->sql, r->nparams, req_types(r), params,
                             r->lengths, r->formats, 1);
}

/* A batch's queries through the cache, then one sync.  Every query's
 * statement is chosen before anything is sent: an eviction sends a group
 * of its own, which must not land inside this one, and pinning keeps a
 * statement an earlier query of the batch uses from being the victim. */
static int send_batch(corio_pg *c, pg_req *r)
{
    int n = 0, rc = 0;
    for (int i = 0; i < r->nitems && rc == 0; i++) {
        bool prepare;
        const pg_bitem *it = &r->items[i];
        pg_stmt *s = stmt_for(c, it->sql, NULL, it->nparams, &prepare, &rc);
        if (prepare)
            r->bcmds[n++] = (pg_bcmd){i, true, s};
        if (s)
            s->pinned = true;
        r->bcmds[n++] = (pg_bcmd){i, false, s};
    }
    int ok = 1;
    for (int k = 0; k < n; k++) {
        const pg_bcmd *b = &r->bcmds[k];
        const pg_bitem *it = &r->items[b->item];
        if (b->stmt)
            b->stmt->pinned = false;
        if (rc < 0 || !ok) {
            if (b->parse) /* never sent: nobody will confirm it */
                corio__pg_stmt_result(c, b->stmt, false);
        } else if (b->parse) {
            ok =
                PQsendPrepare(c->pq, b->stmt->name, it->sql, it->nparams, NULL);
        } else if (b->stmt) {
            ok = PQsendQueryPrepared(c->pq, b->stmt->name, it->nparams,
                                     it->params, NULL, NULL, 1);
        } else {
            ok = PQsendQueryParams(c->pq, it->sql, it->nparams, NULL,
                                   it->params, NULL, NULL, 1);
        }
    }
    if (rc < 0)
        return rc;
    if (!ok || !PQpipelineSync(c->pq))
        return CORIO_EPGCONN;
    r->ncmds = n;
    return 0;
}

int corio__pg_send(corio_pg *c, pg_req *r)
{
    PGconn *pq = c->pq;
    int ok = 1, rc = 0;
    bool prepare = false;
    pg_stmt *s = NULL;
    switch (r->kind) {
    case REQ_QUERY:
    case REQ_MANY:
        s = stmt_for(c, r->sql, req_types(r), r->nparams, &prepare, &rc);
        if (rc < 0)
            return rc;
        if (prepare) {
            ok = PQsendPrepare(pq, s->name, r->sql, r->nparams, req_types(r));
            r->prep = s;
        }
        if (r->kind == REQ_QUERY) {
            ok = ok && send_exec(c, s, r, r->params);
        } else {
            for (int i = 0; ok && i < r->nrows; i++)
                ok = send_exec(c, s, r, r->rows[i]);
        }
        break;
    case REQ_PREPARED:
        ok = PQsendQueryPrepared(pq, r->name, r->nparams, r->params, NULL, NULL,
                                 1);
        break;
    case REQ_PREPARE:
        ok = PQsendPrepare(pq, r->name, r->sql, 0, NULL);
        break;
    case REQ_TEXT:
        for (int i = 0; ok && i < r->ntexts; i++)
            ok = PQsendQueryParams(pq, r->texts[i], 0, NULL, NULL, NULL, NULL,
                                   0);
        break;
    case REQ_BATCH:
        return send_batch(c, r);
    default:
        return -EINVAL;
    }
    if (!ok || !PQpipelineSync(pq))
        return CORIO_EPGCONN;
    /* What dispatch() expects before the group's sync (one end of results
     * per command): fewer means the protocol position is lost. */
    r->ncmds = r->kind == REQ_TEXT   ? r->ntexts
               : r->kind == REQ_MANY ? prepare + r->nrows
                                     : 1 + prepare;
    return 0;
}

/* ---- the calls --------------------------------------------------------------
 */

static int check(corio_pg *c, const char *sql, int nparams, const void *params)
{
    if (!c || !sql || nparams < 0 || (nparams > 0 && !params))
        return -EINVAL;
    if (!corio_task_current())
        return -EPERM;
    return 0;
}

/* Submit r and wait for it: 0 with r still the caller's, or an error
 * with r freed. */
static int run(corio_pg *c, pg_req *r)
{
    int rc = corio__pg_submit(c, r);
    if (rc < 0) {
        corio__pg_req_free(r);
        return rc;
    }
    return corio__pg_await(c, r);
}

static int query_req(corio_pg *c, int kind, const char *sql, const char *name,
                     const char *const *params, int nparams, pg_req **out)
{
    pg_req *r = corio__pg_req_new(c, kind);
    *out = NULL;
    if (!r)
        return -ENOMEM;
    r->sql = sql;
    r->name = name;
    r->params = params;
    r->nparams = nparams;
    int rc = run(c, r);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

static int to_result(pg_req *r, corio_pg_result **out)
{
    PGresult *res = r->res;
    r->res = NULL;
    corio__pg_req_free(r);
    if (!res)
        res = PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
    corio_pg_result *w = res ? corio__pg_result_wrap(res) : NULL;
    if (!w) {
        PQclear(res);
        return -ENOMEM;
    }
    *out = w;
    return 0;
}

int corio_pg_query(corio_pg *c, const char *sql, const char *const *params,
                   int nparams, corio_pg_result **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int rc = check(c, sql, nparams, params);
    pg_req *r;
    if (rc < 0 ||
        (rc = query_req(c, REQ_QUERY, sql, NULL, params, nparams, &r)) < 0)
        return rc;
    return to_result(r, out);
}

/* r carries typed parameters: libpq's four arrays, made from ps in one
 * block that lives (and is freed) with r. */
static int typed_req(corio_pg *c, const char *sql, const corio_pg_param *ps,
                     int n, pg_req **out)
{
    *out = NULL;
    int rc = check(c, sql, n, ps);
    if (rc < 0)
        return rc;
    pg_req *r = corio__pg_req_new(c, REQ_QUERY);
    size_t sz = (size_t)n * (sizeof(char *) + 2 * sizeof(int) + sizeof(Oid));
    if (!r || (n && !(r->pblock = pg_malloc(sz)))) {
        corio__pg_req_free(r);
        return -ENOMEM;
    }
    const char **values = r->pblock;
    int *lengths = (int *)(values + n), *formats = lengths + n;
    Oid *types = (Oid *)(formats + n);
    for (int i = 0; i < n; i++) {
        const corio_pg_param *p = &ps[i];
        bool null = p->len < 0 || (!p->ptr && !p->format);
        values[i] = null ? NULL : p->ptr ? p->ptr : (const char *)p->inline_;
        lengths[i] = null ? 0 : p->len;
        formats[i] = p->format ? 1 : 0;
        types[i] = p->type;
    }
    r->sql = sql;
    r->params = values;
    r->lengths = lengths;
    r->formats = formats;
    r->types = types;
    r->nparams = n;
    if ((rc = run(c, r)) < 0)
        return rc;
    *out = r;
    return 0;
}

int corio_pg_query_params(corio_pg *c, const char *sql,
                          const corio_pg_param *params, int nparams,
                          corio_pg_result **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    pg_req *r;
    int rc = typed_req(c, sql, params, nparams, &r);
    return rc < 0 ? rc : to_result(r, out);
}

int corio_pg_exec_params(corio_pg *c, const char *sql,
                         const corio_pg_param *params, int nparams,
                         int64_t *rows_affected)
{
    if (rows_affected)
        *rows_affected = 0;
    pg_req *r;
    int rc = typed_req(c, sql, params, nparams, &r);
    if (rc < 0)
        return rc;
    if (rows_affected)
        *rows_affected = r->affected;
    corio__pg_req_free(r);
    return 0;
}

int corio_pg_query_prepared(corio_pg *c, const char *name,
                            const char *const *params, int nparams,
                            corio_pg_result **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int rc = check(c, name, nparams, params);
    pg_req *r;
    if (rc < 0 ||
        (rc = query_req(c, REQ_PREPARED, NULL, name, params, nparams, &r)) < 0)
        return rc;
    return to_result(r, out);
}

int corio_pg_exec(corio_pg *c, const char *sql, const char *const *params,
                  int nparams, int64_t *rows_affected)
{
    if (rows_affected)
        *rows_affected = 0;
    int rc = check(c, sql, nparams, params);
    pg_req *r;
    if (rc < 0 ||
        (rc = query_req(c, REQ_QUERY, sql, NULL, params, nparams, &r)) < 0)
        return rc;
    if (rows_affected)
        *rows_affected = r->affected;
    corio__pg_req_free(r);
    return 0;
}

int corio_pg_prepare(corio_pg *c, const char *name, const char *sql)
{
    int rc = check(c, sql, 0, NULL);
    if (rc < 0)
        return rc;
    if (!name)
        return -EINVAL;
    pg_req *r = corio__pg_req_new(c, REQ_PREPARE);
    if (!r)
        return -ENOMEM;
    r->sql = sql;
    r->name = name;
    rc = run(c, r);
    if (rc == 0)
        corio__pg_req_free(r);
    return rc;
}

int corio_pg_execmany(corio_pg *c, const char *sql,
                      const char *const *const *params_rows, int nrows,
                      int nparams, int64_t *rows_affected)
{
    if (rows_affected)
        *rows_affected = 0;
    int rc = check(c, sql, nparams, nparams ? (const void *)params_rows : NULL);
    if (rc < 0)
        return rc;
    if (nrows < 0 || (nrows > 0 && !params_rows))
        return -EINVAL;
    if (nrows == 0)
        return 0;
    pg_req *r = corio__pg_req_new(c, REQ_MANY);
    if (!r)
        return -ENOMEM;
    r->sql = sql;
    r->rows = params_rows;
    r->nrows = nrows;
    r->nparams = nparams;
    rc = run(c, r);
    if (rc < 0)
        return rc;
    if (rows_affected)
        *rows_affected = r->affected;
    corio__pg_req_free(r);
    return 0;
}

ssize_t corio_pg_fetchval(corio_pg *c, const char *sql,
                          const char *const *params, int nparams, char *buf,
                          size_t cap)
{
    corio_pg_result *res;
    if (buf && cap)
        buf[0] = 0;
    int rc = corio_pg_query(c, sql, params, nparams, &res);
    if (rc < 0)
        return rc;
    ssize_t n = corio_pg_result_rows(res) < 1 || corio_pg_result_cols(res) < 1
                    ? -ENOENT
                    : corio_pg_get_text(res, 0, 0, buf, cap);
    corio_pg_result_free(res);
    return n;
}

int corio_pg_fetchrow(corio_pg *c, const char *sql, const char *const *params,
                      int nparams, corio_pg_result **out)
{
    return corio_pg_query(c, sql, params, nparams, out);
}
