// redigo.go — the Go peer of bench/redis/run.sh: GET or SET of 64-byte
// values from 50 goroutines with redigo (Debian
// golang-github-gomodule-redigo-dev), GOMAXPROCS=1 set by the caller.
//
//	redigo ADDR pooled|pipelined get|set TASKS N
//
// pooled: redis.Pool of TASKS connections, one command per Get/Close.
// pipelined: each goroutine on its own connection, batches of 16 commands
// (Send x16, Flush, Receive x16).  Prints "ops_per_s" for the timed part
// (after a warm-up of N/10).
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
)

func main() {
	addr, mode, op := os.Args[1], os.Args[2], os.Args[3]
	tasks, _ := strconv.Atoi(os.Args[4])
	n, _ := strconv.ParseInt(os.Args[5], 10, 64)
	value := make([]byte, 64)
	for i := range value {
		value[i] = 'x'
	}
	pool := &redis.Pool{MaxIdle: tasks, MaxActive: tasks, Wait: true,
		Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
	do := func(c redis.Conn) error {
		var err error
		if op == "set" {
			_, err = c.Do("SET", "key:__rand_int__", value)
		} else {
			_, err = c.Do("GET", "key:__rand_int__")
		}
		return err
	}
	send := func(c redis.Conn) error {
		if op == "set" {
			return c.Send("SET", "key:__rand_int__", value)
		}
		return c.Send("GET", "key:__rand_int__")
	}
	round := func(total int64) {
		var done int64
		var wg sync.WaitGroup
		for t := 0; t < tasks; t++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if mode == "pooled" {
					for atomic.AddInt64(&done, 1) <= total {
						c := pool.Get()
						if err := do(c); err != nil {
							panic(err)
						}
						c.Close()
					}
					return
				}
				c, err := redis.Dial("tcp", addr)
				if err != nil {
					panic(err)
				}
				defer c.Close()
				for atomic.AddInt64(&done, 16) <= total+15 {
					for i := 0; i < 16; i++ {
						if err := send(c); err != nil {
							panic(err)
						}
					}
					if err := c.Flush(); err != nil {
						panic(err)
					}
					for i := 0; i < 16; i++ {
						if _, err := c.Receive(); err != nil {
							panic(err)
						}
					}
				}
			}()
		}
		wg.Wait()
	}
	round(n / 10)
	t0 := time.Now()
	round(n)
	fmt.Printf("%.0f\n", float64(n)/time.Since(t0).Seconds())
}
