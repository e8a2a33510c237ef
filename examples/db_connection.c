/* db_connection.c — a database connection as a context manager.
 *
 * The asyncio original (seed "Best Practices", with asyncpg):
 *
 *     @asynccontextmanager
 *     async def database_connection(url: str):
 *         conn = await asyncpg.connect(url)
 *         try:
 *             yield conn
 *         finally:
 *             await conn.close()
 *
 *     async def process_data(url: str) -> None:
 *         async with database_connection(url) as conn:
 *             result = await conn.fetch("SELECT * FROM users")
 *             process_results(result)
 *
 * In C the `async with` block is a variable with a cleanup attribute:
 * CORIO_PG_AUTO closes the connection on every way out of the scope —
 * return, error path or cancellation — as the `finally:` does.  Closing
 * never waits, so it also works in a task that was cancelled.
 *
 * Run it against any server:  DATABASE_URL=postgresql://... ./db_connection
 * (scripts/pg-test-server.sh start DIR makes a throwaway one; README.md). */
#include <corio.h>
#include <corio/pg.h>
#include <stdio.h>
#include <stdlib.h>

static void process_results(const corio_pg_result *result)
{
    char name[64], email[64];
    printf("%d users:\n", corio_pg_result_rows(result));
    for (int row = 0; row < corio_pg_result_rows(result); row++) {
        int32_t id = 0;
        (void)corio_pg_get_int32(result, row, 0, &id);
        (void)corio_pg_get_text(result, row, 1, name, sizeof name);
        (void)corio_pg_get_text(result, row, 2, email, sizeof email);
        printf("  %d  %-6s %s\n", id, name, email);
    }
}

/* The demo's table: a temporary one, gone when the connection closes. */
static int make_users(corio_pg *conn)
{
    int rc = corio_pg_exec(
        conn,
        "CREATE TEMP TABLE users (id int PRIMARY KEY, name text, email text)",
        NULL, 0, NULL);
    if (rc == 0)
        rc = corio_pg_exec(
            conn,
            "INSERT INTO users VALUES (1, 'ada', 'ada@example.com'),"
            " (2, 'brian', 'bwk@example.com'), (3, 'grace', "
            "'grace@example.com')",
            NULL, 0, NULL);
    return rc;
}

static int process_data(void *arg)
{
    const char *url = arg;
    corio_pg *conn CORIO_PG_AUTO =
        NULL; /* async with database_connection(url) as conn: */
    int rc = corio_pg_connect(&conn, url);
    if (rc < 0) {
        fprintf(stderr, "connect: %s\n", corio_strerror(rc));
        return 1;
    }
    if ((rc = make_users(conn)) < 0) {
        fprintf(stderr, "setup: %s\n", corio_pg_last_error(conn)->message);
        return 1;
    }
    corio_pg_result *result;
    rc = corio_pg_query(conn, "SELECT * FROM users ORDER BY id", NULL, 0,
                        &result);
    if (rc < 0) {
        fprintf(stderr, "fetch: %s\n", corio_pg_last_error(conn)->message);
        return 1;
    }
    process_results(result);
    corio_pg_result_free(result);
    return 0; /* conn is closed here */
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : getenv("DATABASE_URL");
    if (!url) {
        fprintf(stderr,
                "usage: %s postgresql://user@host/db  (or DATABASE_URL)\n",
                argv[0]);
        return 2;
    }
    int result;
    int rc = corio_run(process_data, (void *)url, &result);
    return rc < 0 ? 1 : result;
}
