/* libpq_bench.c — the floor of client cost in bench/pg/run.sh: plain libpq,
 * one connection, prepared statement, binary results, one query at a time
 * (blocking: no event loop at all).  Prints queries/s and CPU per query.
 *
 *   libpq_bench DSN QUERY SECONDS
 *
 * insert1000 (1,000 rows: pipeline mode, one Bind/Execute per row, one
 * sync) and copy100k (COPY FROM of 100,000 rows) write into bench_rows,
 * which run.sh makes. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* 1,000 rows in one pipeline sync group (blocking between flushes). */
static int insert_rows(PGconn *c)
{
    char id[12], name[16];
    const char *v[2] = {id, name};
    if (!PQenterPipelineMode(c))
        return -1;
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "%d", i);
        snprintf(name, sizeof name, "row %d", i);
        if (!PQsendQueryPrepared(c, "q", 2, v, NULL, NULL, 1))
            return -1;
    }
    if (!PQpipelineSync(c))
        return -1;
    for (int i = 0; i < 1000; i++) {
        PGresult *r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "%s", PQerrorMessage(c));
            return -1;
        }
        PQclear(r);
        PQclear(PQgetResult(c)); /* the NULL after each command */
    }
    PGresult *s = PQgetResult(c); /* the sync */
    int ok = PQresultStatus(s) == PGRES_PIPELINE_SYNC;
    PQclear(s);
    return ok && PQexitPipelineMode(c) ? 0 : -1;
}

/* COPY FROM of 100,000 rows, in 64 KiB chunks. */
static int copy_rows(PGconn *c)
{
    PGresult *r = PQexec(c, "COPY bench_rows (a, b) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return -1;
    PQclear(r);
    static char buf[65536];
    size_t n = 0;
    for (int i = 0; i < 100000; i++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%d\trow %d\n", i, i);
        if (sizeof buf - n < 32 || i == 99999) {
            if (PQputCopyData(c, buf, (int)n) != 1)
                return -1;
            n = 0;
        }
    }
    if (PQputCopyEnd(c, NULL) != 1)
        return -1;
    r = PQgetResult(c);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQclear(PQgetResult(c));
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DSN select1|series1000|pgtype SECONDS\n",
                argv[0]);
        return 2;
    }
    const char *sql =
        !strcmp(argv[2], "select1") ? "SELECT 1+1"
        : !strcmp(argv[2], "series1000")
            ? "SELECT g FROM generate_series(1, 1000) g"
            : "SELECT typname, typnamespace, typowner, typlen, typbyval, "
              "typcategory, "
              "typispreferred, typisdefined, typdelim, typrelid, typelem, "
              "typarray "
              "FROM pg_type WHERE typtypmod = -1 AND typisdefined = true";
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    int ins = !strcmp(argv[2], "insert1000"), cp = !strcmp(argv[2], "copy100k");
    if (ins)
        sql = "INSERT INTO bench_rows (a, b) VALUES ($1, $2)";
    if (!cp)
        PQclear(PQprepare(c, "q", sql, ins ? 2 : 0, NULL));
    double secs = atof(argv[3]), t0 = now_s(), c0 = cpu_s();
    long long n = 0;
    while (now_s() - t0 < secs) {
        if (ins && insert_rows(c) < 0)
            return 1;
        if (cp && copy_rows(c) < 0)
            return 1;
        if (!ins && !cp) {
            PGresult *r = PQexecPrepared(c, "q", 0, NULL, NULL, NULL, 1);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "%s", PQerrorMessage(c));
                return 1;
            }
            PQclear(r);
        }
        n++;
    }
    double el = now_s() - t0, cpu = cpu_s() - c0;
    printf("libpq     1 conn, blocking  %10.0f q/s  %7.1f us CPU/query\n",
           n / el, cpu * 1e6 / (double)n);
    PQfinish(c);
    return 0;
}
