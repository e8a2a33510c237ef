// Go net/http peer of examples/multicore_server.c for bench/multicore, run
// with GOMAXPROCS=2: GET /hello answers a short text, GET /work does the
// same CPU work per request (SHA-256 over 64 KiB, five times, each round
// feeding the buffer's first byte) and answers the hex digest.
//
//	go_server PORT
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("hello from go\n"))
	})
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64*1024)
		var d [32]byte
		for i := 0; i < 5; i++ {
			d = sha256.Sum256(buf)
			buf[0] = d[0]
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(hex.EncodeToString(d[:]) + "\n"))
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		panic(err)
	}
}
