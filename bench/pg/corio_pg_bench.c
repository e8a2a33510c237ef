/* corio_pg_bench.c — corio-pg's side of bench/pg/run.sh: `tasks` tasks
 * issue one query over and over for `seconds`, over `conns` connections
 * (tasks share connections round-robin: with fewer connections than tasks
 * the queries are pipelined).  Prints queries/s and the client's CPU per
 * query (user + system time of this process / queries).
 *
 *   corio_pg_bench DSN QUERY TASKS CONNS SECONDS
 *   QUERY: select1 | series1000 | pgtype | insert1000 | copy100k
 *
 * insert1000 is one operation of 1,000 rows (corio_pg_execmany: one
 * Bind/Execute per row, one sync) and copy100k one COPY FROM of 100,000
 * rows, both into bench_rows (a int, b text), which run.sh makes. */
#include <corio.h>
#include <corio/pg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *dsn, *sql;
static int ntasks, nconns;
static int64_t seconds, deadline;
static corio_pg **conns;
static long long done, failed;

enum { INSERT_ROWS = 1000, COPY_ROWS = 100000 };
static const char *op; /* the QUERY argument */

/* The 1,000 rows of an insert1000 operation: (i, 'row i'). */
static const char *const *ins_rows[INSERT_ROWS];

static void make_rows(void)
{
    static char ids[INSERT_ROWS][12], names[INSERT_ROWS][16];
    static const char *row[INSERT_ROWS][2];
    for (int i = 0; i < INSERT_ROWS; i++) {
        snprintf(ids[i], sizeof ids[i], "%d", i);
        snprintf(names[i], sizeof names[i], "row %d", i);
        row[i][0] = ids[i];
        row[i][1] = names[i];
        ins_rows[i] = row[i];
    }
}

/* COPY data: "i\trow i\n" for i < COPY_ROWS, as much as fits. */
static ssize_t copy_fill(void *arg, char *buf, size_t cap)
{
    int *next = arg;
    size_t n = 0;
    while (*next < COPY_ROWS && cap - n >= 32) {
        n += (size_t)snprintf(buf + n, cap - n, "%d\trow %d\n", *next, *next);
        ++*next;
    }
    return (ssize_t)n;
}

static int one_op(corio_pg *c)
{
    if (!strcmp(op, "insert1000"))
        return corio_pg_execmany(c, sql, ins_rows, INSERT_ROWS, 2, NULL);
    if (!strcmp(op, "copy100k")) {
        int next = 0;
        return corio_pg_copy_in(c, sql, copy_fill, &next, NULL);
    }
    corio_pg_result *r;
    int rc = corio_pg_query(c, sql, NULL, 0, &r);
    corio_pg_result_free(r);
    return rc;
}

static int worker(void *arg)
{
    corio_pg *c = arg;
    while (corio_now() < deadline) {
        int rc = one_op(c);
        if (rc < 0) {
            failed++;
            return rc;
        }
        done++;
    }
    return 0;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int run(void *arg)
{
    (void)arg;
    conns = calloc((size_t)nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++) {
        int rc = corio_pg_connect(&conns[i], dsn);
        if (rc < 0) {
            fprintf(stderr, "connect: %s\n", corio_strerror(rc));
            return 1;
        }
        if (one_op(conns[i]) < 0) { /* warms the statement cache */
            fprintf(stderr, "%s: %s\n", op,
                    corio_pg_last_error(conns[i])->message);
            return 1;
        }
    }
    corio_task **t = calloc((size_t)ntasks, sizeof *t);
    double c0 = cpu_s();
    int64_t t0 = corio_now();
    deadline = t0 + seconds * CORIO_SECOND;
    for (int i = 0; i < ntasks; i++)
        if (corio_task_spawn(&t[i], worker, conns[i % nconns]) < 0)
            return 1;
    CORIO_IGNORE(corio_gather(t, (size_t)ntasks, NULL));
    double el = (corio_now() - t0) / 1e9, cpu = cpu_s() - c0;
    printf("corio-pg  tasks=%d conns=%d  %10.0f q/s  %7.1f us CPU/query  (%lld "
           "failed)\n",
           ntasks, nconns, done / el, cpu * 1e6 / (double)done, failed);
    for (int i = 0; i < nconns; i++)
        corio_pg_close(conns[i]);
    free(conns);
    free(t);
    return 0;
}

const char *bench_sql(const char *name);
const char *bench_sql(const char *name)
{
    if (!strcmp(name, "select1"))
        return "SELECT 1+1";
    if (!strcmp(name, "series1000"))
        return "SELECT g FROM generate_series(1, 1000) g";
    if (!strcmp(name, "pgtype"))
        return "SELECT typname, typnamespace, typowner, typlen, typbyval, "
               "typcategory, "
               "typispreferred, typisdefined, typdelim, typrelid, typelem, "
               "typarray "
               "FROM pg_type WHERE typtypmod = -1 AND typisdefined = true";
    if (!strcmp(name, "insert1000"))
        return "INSERT INTO bench_rows (a, b) VALUES ($1, $2)";
    if (!strcmp(name, "copy100k"))
        return "COPY bench_rows (a, b) FROM STDIN";
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6 || !(sql = bench_sql(argv[2]))) {
        fprintf(stderr,
                "usage: %s DSN select1|series1000|pgtype|insert1000|copy100k "
                "TASKS CONNS SECONDS\n",
                argv[0]);
        return 2;
    }
    dsn = argv[1];
    op = argv[2];
    make_rows();
    ntasks = atoi(argv[3]);
    nconns = atoi(argv[4]);
    seconds = atoi(argv[5]);
    int result;
    int rc = corio_run(run, NULL, &result);
    return rc < 0 ? 1 : result;
}
