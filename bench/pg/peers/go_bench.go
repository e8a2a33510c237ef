// go_bench.go — the Go side of bench/pg/run.sh: TASKS goroutines over
// CONNS pooled connections, GOMAXPROCS=1 (set by run.sh), with either
//
//	pgx   pgx v4's pgxpool, rows read raw (RawValues: the same work as
//	      corio-pg's bench, which decodes nothing either)
//	pq    lib/pq through database/sql, columns scanned as sql.RawBytes
//	      (the least decoding database/sql allows)
//
// Prints queries/s and the client's CPU per query.
//
//	go_bench pgx|pq DSN select1|series1000|pgtype TASKS CONNS SECONDS
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
	_ "github.com/lib/pq"
)

var queries = map[string]string{
	"select1":    "SELECT 1+1",
	"series1000": "SELECT g FROM generate_series(1, 1000) g",
	"pgtype": "SELECT typname, typnamespace, typowner, typlen, typbyval, typcategory, " +
		"typispreferred, typisdefined, typdelim, typrelid, typelem, typarray " +
		"FROM pg_type WHERE typtypmod = -1 AND typisdefined = true",
}

func cpu() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}

// The 1,000 rows of insert1000 and the 100,000 of copy100k: (i, "row i").
func rowsOf(n int) [][]interface{} {
	r := make([][]interface{}, n)
	for i := range r {
		r[i] = []interface{}{int32(i), fmt.Sprintf("row %d", i)}
	}
	return r
}

var insRows, copyRows = rowsOf(1000), rowsOf(100000)

// insert1000 with pgx: one Batch of 1,000 INSERTs (one sync).
func pgxInsert(pool *pgxpool.Pool) {
	b := &pgx.Batch{}
	for _, r := range insRows {
		b.Queue("INSERT INTO bench_rows (a, b) VALUES ($1, $2)", r...)
	}
	br := pool.SendBatch(context.Background(), b)
	for range insRows {
		_, err := br.Exec()
		check(err)
	}
	check(br.Close())
}

// copy100k with pgx: CopyFrom.
func pgxCopy(pool *pgxpool.Pool) {
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"bench_rows"},
		[]string{"a", "b"}, pgx.CopyFromRows(copyRows))
	check(err)
}

// One query with pgx, rows read raw.
func pgxQuery(pool *pgxpool.Pool, query string) {
	rows, err := pool.Query(context.Background(), query)
	check(err)
	for rows.Next() {
		_ = rows.RawValues()
	}
	check(rows.Err())
}

// One query with lib/pq, columns scanned as raw bytes.
func pqQuery(db *sql.DB, query string) {
	rows, err := db.Query(query)
	check(err)
	cols, _ := rows.Columns()
	vals := make([]interface{}, len(cols))
	raw := make([]sql.RawBytes, len(cols))
	for i := range raw {
		vals[i] = &raw[i]
	}
	for rows.Next() {
		check(rows.Scan(vals...))
	}
	check(rows.Close())
}

func main() {
	driver, dsn, query := os.Args[1], os.Args[2], queries[os.Args[3]]
	tasks, _ := strconv.Atoi(os.Args[4])
	conns, _ := strconv.Atoi(os.Args[5])
	secs, _ := strconv.Atoi(os.Args[6])
	var one func()
	name := ""
	if driver == "pgx" {
		cfg, err := pgxpool.ParseConfig(dsn)
		check(err)
		cfg.MaxConns, cfg.MinConns = int32(conns), int32(conns)
		pool, err := pgxpool.ConnectConfig(context.Background(), cfg)
		check(err)
		defer pool.Close()
		one, name = func() { pgxQuery(pool, query) }, "pgx v4    (pgxpool)     "
		switch os.Args[3] {
		case "insert1000":
			one = func() { pgxInsert(pool) }
		case "copy100k":
			one = func() { pgxCopy(pool) }
		}
	} else if query == "" {
		fmt.Println("lib/pq    (database/sql) skipped for", os.Args[3])
		return
	} else {
		db, err := sql.Open("postgres", dsn)
		check(err)
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		defer db.Close()
		one, name = func() { pqQuery(db, query) }, "lib/pq    (database/sql)"
	}
	var done int64
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	c0, t0 := cpu(), time.Now()
	var wg sync.WaitGroup
	for i := 0; i < tasks; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				one()
				atomic.AddInt64(&done, 1)
			}
		}()
	}
	wg.Wait()
	el, used := time.Since(t0).Seconds(), cpu()-c0
	fmt.Printf("%s tasks=%d conns=%d %10.0f q/s  %7.1f us CPU/query\n",
		name, tasks, conns, float64(done)/el, used*1e6/float64(done))
}
