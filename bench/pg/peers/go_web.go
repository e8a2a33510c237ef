// go_web.go — Go net/http + pgx v4 twin of examples/web_service.c for
// bench/pg/web.sh: GET /users/{id} (one QueryRow) and GET /queries?n=N (N
// queries sent as one pgx Batch on one pooled connection: pipelined, as
// corio-pg pipelines them).  Pool of 4 connections, as the C app;
// GOMAXPROCS=1 (set by web.sh).
//
//	DATABASE_URL=... go_web PORT
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
)

const sql = "SELECT id, name, email FROM ws_users WHERE id = $1"

type user struct {
	ID    int32  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func main() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		panic(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.ConnectConfig(ctx, cfg)
	if err != nil {
		panic(err)
	}
	http.HandleFunc("/users/", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/users/"))
		if err != nil {
			http.Error(w, "bad id", 400)
			return
		}
		var u user
		err = pool.QueryRow(r.Context(), sql, id).Scan(&u.ID, &u.Name, &u.Email)
		if err == pgx.ErrNoRows {
			http.Error(w, `{"detail": "not found"}`, 404)
			return
		} else if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&u)
	})
	http.HandleFunc("/queries", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n < 1 {
			n = 1
		} else if n > 500 {
			n = 500
		}
		b := &pgx.Batch{}
		for i := 0; i < n; i++ {
			b.Queue(sql, i%3+1)
		}
		res := pool.SendBatch(r.Context(), b)
		out := make([]*user, n)
		for i := 0; i < n; i++ {
			var u user
			if err := res.QueryRow().Scan(&u.ID, &u.Name, &u.Email); err == nil {
				out[i] = &u
			} else if err != pgx.ErrNoRows {
				res.Close()
				http.Error(w, err.Error(), 500)
				return
			}
		}
		res.Close()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	panic(http.ListenAndServe("127.0.0.1:"+os.Args[1], nil))
}
