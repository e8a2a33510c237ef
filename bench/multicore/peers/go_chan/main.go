// Go peer of bench/multicore/messaging.c, run with GOMAXPROCS=2:
//
//	call  round trips between two goroutines over a pair of unbuffered
//	      channels (request, reply), CALLS times
//	post  one-way sends over a buffered channel (capacity 1024) to a
//	      goroutine that counts them, POSTS times
//	unbuf the same one-way sends over an unbuffered channel
//
// Prints "call <round trips/s>", "post <sends/s>", "unbuf <sends/s>".
//
//	go_chan [CALLS [POSTS]]
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func oneWay(posts int, ch chan int) float64 {
	done := make(chan bool)
	go func() {
		for i := 0; i < posts; i++ {
			<-ch
		}
		done <- true
	}()
	t0 := time.Now()
	for i := 0; i < posts; i++ {
		ch <- i
	}
	<-done
	return float64(posts) / time.Since(t0).Seconds()
}

func main() {
	calls, posts := 200000, 2000000
	if len(os.Args) > 1 {
		calls, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		posts, _ = strconv.Atoi(os.Args[2])
	}
	req, rep := make(chan int), make(chan int)
	go func() {
		for v := range req {
			rep <- v
		}
	}()
	t0 := time.Now()
	for i := 0; i < calls; i++ {
		req <- i
		if <-rep != i {
			panic("wrong reply")
		}
	}
	fmt.Printf("call %.0f\n", float64(calls)/time.Since(t0).Seconds())
	fmt.Printf("post %.0f\n", oneWay(posts, make(chan int, 1024)))
	fmt.Printf("unbuf %.0f\n", oneWay(posts, make(chan int)))
}
