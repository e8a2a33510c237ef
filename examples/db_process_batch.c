/* db_process_batch.c — AsyncDatabaseClient.process_batch: a batch of items
 * processed concurrently on one connection, failures kept per item.
 *
 * The asyncio original (seed "Real-World Example"):
 *
 *     class AsyncDatabaseClient:
 *         @asynccontextmanager
 *         async def connection(self):
 *             await self.connect()
 *             try:
 *                 yield self
 *             finally:
 *                 await self.disconnect()
 *
 *         async def process_batch(self, items: List):
 *             async with self.connection() as conn:
 *                 tasks = [asyncio.create_task(conn.process_item(item))
 *                          for item in items]
 *                 results = await asyncio.gather(*tasks,
 * return_exceptions=True) return [r for r in results if not isinstance(r,
 * Exception)]
 *
 * With asyncpg the five tasks would fail ("another operation is in
 * progress"): one asyncpg connection runs one query at a time.  corio-pg
 * pipelines them: all five queries go out together, each in its own sync
 * group, and each task gets its own answer — item 3's error (a unique
 * violation) fails item 3 only, as gather(return_exceptions=True) keeps it.
 *
 * Run it:  DATABASE_URL=postgresql://... ./db_process_batch */
#include <corio.h>
#include <corio/pg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NITEMS 5

typedef struct client {
    corio_pg *conn;
} client;

typedef struct item {
    client *db;
    int value;
    char sku[16];
    int64_t id;    /* the result: the row's id */
    char err[128]; /* or why it failed */
} item;

/* conn.process_item(item): store the item and return its new id. */
static int process_item(void *arg)
{
    item *it = arg;
    char v[16];
    snprintf(v, sizeof v, "%d", it->value);
    const char *params[] = {it->sku, v};
    corio_pg_result *r;
    int rc = corio_pg_query(
        it->db->conn,
        "INSERT INTO items (sku, value) VALUES ($1, $2) RETURNING id", params,
        2, &r);
    if (rc == CORIO_EPG) {
        /* The details are on the connection until this task's next call on
         * it: read them before anything else can suspend. */
        const corio_pg_error *e = corio_pg_last_error(it->db->conn);
        snprintf(it->err, sizeof it->err, "%s (SQLSTATE %s)", e->message,
                 e->sqlstate);
    }
    if (rc < 0)
        return rc;
    rc = corio_pg_get_int64(r, 0, 0, &it->id);
    corio_pg_result_free(r);
    return rc;
}

static int process_batch(client *db, item *items, int n, int *results)
{
    corio_task *tasks[NITEMS];
    for (int i = 0; i < n; i++) {
        items[i].db = db;
        int rc = corio_task_spawn(&tasks[i], process_item, &items[i]);
        if (rc < 0)
            return rc;
    }
    return corio_gather(tasks, (size_t)n, results); /* return_exceptions=True */
}

static int run(void *arg)
{
    client db = {NULL};
    int rc =
        corio_pg_connect(&db.conn, arg); /* async with self.connection(): */
    if (rc < 0) {
        fprintf(stderr, "connect: %s\n", corio_strerror(rc));
        return 1;
    }
    rc = corio_pg_exec(db.conn,
                       "CREATE TEMP TABLE items (id serial PRIMARY KEY, sku "
                       "text UNIQUE, value int)",
                       NULL, 0, NULL);
    if (rc == 0)
        rc = corio_pg_exec(
            db.conn, "INSERT INTO items (sku, value) VALUES ('sku-3', 0)", NULL,
            0, NULL); /* item 3 will collide with this row */
    if (rc < 0) {
        fprintf(stderr, "setup: %s\n", corio_pg_last_error(db.conn)->message);
        corio_pg_close(db.conn);
        return 1;
    }
    item items[NITEMS];
    int results[NITEMS];
    memset(items, 0, sizeof items);
    for (int i = 0; i < NITEMS; i++) {
        items[i].value = (i + 1) * 10;
        snprintf(items[i].sku, sizeof items[i].sku, "sku-%d", i + 1);
    }
    rc = process_batch(&db, items, NITEMS, results);
    int ok = 0;
    for (int i = 0; i < NITEMS; i++) {
        if (results[i] < 0) {
            printf("item %d: failed: %s\n", i + 1,
                   items[i].err[0] ? items[i].err : corio_strerror(results[i]));
        } else {
            printf("item %d: stored as row %lld\n", i + 1,
                   (long long)items[i].id);
            ok++;
        }
    }
    printf("%d of %d items processed; one connection, one round trip\n", ok,
           NITEMS);
    corio_pg_close(db.conn);
    return 0;
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
    int rc = corio_run(run, (void *)url, &result);
    return rc < 0 ? 1 : result;
}
