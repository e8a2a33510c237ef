/* corio_pg_bench.c — corio-pg's side of bench/pg/run.sh: `tasks` tasks
 * issue one query over and over for `seconds`, over `conns` connections
 * (tasks share connections round-robin: with fewer connections than tasks
 * the queries are pipelined).  Prints queries/s and the client's CPU per
 * query (user + system time of this process / queries).
 *
 *   corio_pg_bench DSN QUERY TASKS CONNS SECONDS
 *   QUERY: select1 | series1000 | pgtype */
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

static int worker(void *arg)
{
    corio_pg *c = arg;
    while (corio_now() < deadline) {
        corio_pg_result *r;
        int rc = corio_pg_query(c, sql, NULL, 0, &r);
        if (rc < 0) {
            failed++;
            return rc;
        }
        corio_pg_result_free(r);
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
        corio_pg_result *r; /* warm the statement cache */
        if (corio_pg_query(conns[i], sql, NULL, 0, &r) == 0)
            corio_pg_result_free(r);
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
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6 || !(sql = bench_sql(argv[2]))) {
        fprintf(stderr,
                "usage: %s DSN select1|series1000|pgtype TASKS CONNS SECONDS\n",
                argv[0]);
        return 2;
    }
    dsn = argv[1];
    ntasks = atoi(argv[3]);
    nconns = atoi(argv[4]);
    seconds = atoi(argv[5]);
    int result;
    int rc = corio_run(run, NULL, &result);
    return rc < 0 ? 1 : result;
}
