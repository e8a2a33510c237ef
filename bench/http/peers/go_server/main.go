// Go net/http server for bench/http: GET / answers "Hello, World!" as
// text/plain, keep-alive.  Run with GOMAXPROCS=1 (one core, as the others).
//
//	gopeer-server PORT
package main

import (
	"net/http"
	"os"
)

func main() {
	body := []byte("Hello, World!")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		panic(err)
	}
}
