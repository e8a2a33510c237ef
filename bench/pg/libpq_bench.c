/* libpq_bench.c — the floor of client cost in bench/pg/run.sh: plain libpq,
 * one connection, prepared statement, binary results, one query at a time
 * (blocking: no event loop at all).  Prints queries/s and CPU per query.
 *
 *   libpq_bench DSN QUERY SECONDS */
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
    PQclear(PQprepare(c, "q", sql, 0, NULL));
    double secs = atof(argv[3]), t0 = now_s(), c0 = cpu_s();
    long long n = 0;
    while (now_s() - t0 < secs) {
        PGresult *r = PQexecPrepared(c, "q", 0, NULL, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "%s", PQerrorMessage(c));
            return 1;
        }
        PQclear(r);
        n++;
    }
    double el = now_s() - t0, cpu = cpu_s() - c0;
    printf("libpq     1 conn, blocking  %10.0f q/s  %7.1f us CPU/query\n",
           n / el, cpu * 1e6 / (double)n);
    PQfinish(c);
    return 0;
}
