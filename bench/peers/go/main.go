// bench/peers/go/main.go — the Go peer of bench/core.c: the same metrics,
// printed as `metric value` lines.  Run with GOMAXPROCS=1 (bench/run.sh
// does), so that goroutines share one thread like corio's tasks.
//
//	spawn [TOTAL [REPS]]   spawn_join_ns: goroutines in batches of 1,000,
//	                       a sync.WaitGroup per batch
//	switch [N [REPS]]      switch_ns: two goroutines calling runtime.Gosched
//	sleep [N [DELAY_MS]]   sleep_rss_kib, sleep_pte_kib: N goroutines in
//	                       time.Sleep at once (each sleeps again until
//	                       released after the measurement)
//	timers N               timer_ns_N: time.AfterFunc(1h) + Stop, per pair
//	timertask N            timer_task_ns_N: N goroutines each waiting on a
//	                       1 h timer or its own cancel channel, all cancelled
//
// and the peers of bench/sync.c:
//
//	queue [N [REPS]]       queue_rt_ns: two goroutines, two unbuffered
//	                       channels (one each way); ns per round trip
//	lock [N [REPS]]        lock_ns: sync.Mutex Lock + Unlock, uncontended
//	handoff [N [REPS]]     lock_handoff_ns: two goroutines each looping
//	                       Lock, runtime.Gosched, Unlock; ns per acquisition,
//	                       and lock_handoff_share, the share of acquisitions
//	                       that changed the owner
//
// No dependencies beyond the standard library; build with `go build main.go`.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const batch = 1000

func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// readMem returns VmRSS and VmPTE in KiB.
func readMem() (rss, pte int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1, -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = v
		case "VmPTE:":
			pte = v
		}
	}
	return
}

func argInt(i int, dflt int64) int64 {
	if len(os.Args) <= i {
		return dflt
	}
	v, err := strconv.ParseInt(os.Args[i], 10, 64)
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "go peer: bad number %q\n", os.Args[i])
		os.Exit(2)
	}
	return v
}

func spawnRound(total int64) time.Duration {
	var wg sync.WaitGroup
	t0 := time.Now()
	for done := int64(0); done < total; done += batch {
		wg.Add(batch)
		for i := 0; i < batch; i++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
	return time.Since(t0)
}

func benchSpawn(total int64, reps int) {
	total = (total + batch - 1) / batch * batch
	spawnRound(total) // warm-up
	ns := make([]float64, reps)
	for r := range ns {
		ns[r] = float64(spawnRound(total).Nanoseconds()) / float64(total)
	}
	fmt.Printf("spawn_join_ns %.2f\n", median(ns))
}

func benchSwitch(n int64, reps int) {
	ns := make([]float64, reps)
	for r := -1; r < reps; r++ {
		m := n
		if r < 0 {
			m = n / 10
		}
		var wg sync.WaitGroup
		wg.Add(2)
		t0 := time.Now()
		for k := 0; k < 2; k++ {
			go func() {
				for i := int64(0); i < m; i++ {
					runtime.Gosched()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		if r >= 0 {
			ns[r] = float64(time.Since(t0).Nanoseconds()) / float64(2*m)
		}
	}
	fmt.Printf("switch_ns %.2f\n", median(ns))
}

func benchSleep(n int64, delay time.Duration) {
	var started, woke, wakeups, released int64
	var wg sync.WaitGroup
	rss0, pte0 := readMem()
	t0 := time.Now()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			atomic.AddInt64(&started, 1)
			// Sleep until released, so that no goroutine can finish (and
			// give its memory back) before memory is measured, however long
			// spawning takes.
			for {
				time.Sleep(delay)
				if atomic.LoadInt64(&released) != 0 {
					break
				}
				atomic.AddInt64(&wakeups, 1)
			}
			atomic.AddInt64(&woke, 1)
			wg.Done()
		}()
	}
	t1 := time.Now()
	for atomic.LoadInt64(&started) < n {
		runtime.Gosched()
	}
	t2 := time.Now()
	rss1, pte1 := readMem()
	early := atomic.LoadInt64(&woke)
	rewaits := atomic.LoadInt64(&wakeups)
	atomic.StoreInt64(&released, 1)
	wg.Wait()
	fn := float64(n)
	fmt.Printf("sleep_n %d\n", n)
	fmt.Printf("sleep_rss_kib %.3f\n", float64(rss1-rss0)/fn)
	fmt.Printf("sleep_pte_kib %.3f\n", float64(pte1-pte0)/fn)
	fmt.Printf("sleep_count %d\n", woke)
	fmt.Printf("sleep_early %d\n", early)
	fmt.Printf("sleep_rewaits %d\n", rewaits)
	fmt.Printf("sleep_spawn_ns %.2f\n", float64(t1.Sub(t0).Nanoseconds())/fn)
	fmt.Printf("sleep_park_ns %.2f\n", float64(t2.Sub(t1).Nanoseconds())/fn)
	fmt.Printf("sleep_wait_ms %.1f\n", float64(time.Since(t2).Nanoseconds())/1e6)
}

func benchTimers(n int64, reps int) {
	f := func() { panic("a 1 h timer fired") }
	ts := make([]*time.Timer, n)
	ns := make([]float64, reps)
	for r := -1; r < reps; r++ {
		t0 := time.Now()
		for i := range ts {
			ts[i] = time.AfterFunc(time.Hour, f)
		}
		for _, t := range ts {
			if !t.Stop() {
				panic("Stop found no pending timer")
			}
		}
		if r >= 0 {
			ns[r] = float64(time.Since(t0).Nanoseconds()) / float64(n)
		}
	}
	fmt.Printf("timer_ns_%d %.2f\n", n, median(ns))
}

func benchTimerTask(n int64, reps int) {
	ns := make([]float64, reps)
	cancels := make([]chan struct{}, n)
	for r := -1; r < reps; r++ {
		var started, cancelled int64
		var wg sync.WaitGroup
		t0 := time.Now()
		wg.Add(int(n))
		for i := range cancels {
			c := make(chan struct{})
			cancels[i] = c
			go func() {
				atomic.AddInt64(&started, 1)
				t := time.NewTimer(time.Hour)
				select {
				case <-t.C:
				case <-c:
					atomic.AddInt64(&cancelled, 1)
				}
				t.Stop()
				wg.Done()
			}()
		}
		for atomic.LoadInt64(&started) < n {
			runtime.Gosched()
		}
		for _, c := range cancels {
			close(c)
		}
		wg.Wait()
		if cancelled != n {
			panic("not every goroutine was cancelled")
		}
		if r >= 0 {
			ns[r] = float64(time.Since(t0).Nanoseconds()) / float64(n)
		}
	}
	fmt.Printf("timer_task_ns_%d %.2f\n", n, median(ns))
}

func benchQueue(n int64, reps int) {
	ns := make([]float64, reps)
	there, back := make(chan int64), make(chan int64)
	for r := -1; r < reps; r++ {
		m := n
		if r < 0 {
			m = n / 10
		}
		done := make(chan struct{})
		t0 := time.Now()
		go func() {
			for i := int64(0); i < m; i++ {
				back <- <-there
			}
			close(done)
		}()
		for i := int64(0); i < m; i++ {
			there <- i
			if <-back != i {
				panic("ping-pong lost an item")
			}
		}
		<-done
		if r >= 0 {
			ns[r] = float64(time.Since(t0).Nanoseconds()) / float64(m)
		}
	}
	fmt.Printf("queue_rt_ns %.2f\n", median(ns))
}

func benchLock(n int64, reps int) {
	ns := make([]float64, reps)
	var mu sync.Mutex
	for r := -1; r < reps; r++ {
		m := n
		if r < 0 {
			m = n / 10
		}
		t0 := time.Now()
		for i := int64(0); i < m; i++ {
			mu.Lock()
			mu.Unlock()
		}
		if r >= 0 {
			ns[r] = float64(time.Since(t0).Nanoseconds()) / float64(m)
		}
	}
	fmt.Printf("lock_ns %.2f\n", median(ns))
}

func benchHandoff(n int64, reps int) {
	ns := make([]float64, reps)
	var share float64
	var mu sync.Mutex
	for r := -1; r < reps; r++ {
		m := n
		if r < 0 {
			m = n / 10
		}
		last, changes := -1, int64(0) // guarded by mu
		var wg sync.WaitGroup
		wg.Add(2)
		t0 := time.Now()
		for k := 0; k < 2; k++ {
			go func(id int) {
				for i := int64(0); i < m; i++ {
					mu.Lock()
					if last != id {
						changes++
					}
					last = id
					runtime.Gosched()
					mu.Unlock()
				}
				wg.Done()
			}(k)
		}
		wg.Wait()
		if r >= 0 {
			ns[r] = float64(time.Since(t0).Nanoseconds()) / float64(2*m)
			share = float64(changes) / float64(2*m)
		}
	}
	fmt.Printf("lock_handoff_ns %.2f\n", median(ns))
	fmt.Printf("lock_handoff_share %.5f\n", share)
}

func reps(n int64) int {
	if n >= 1000000 {
		return 3
	}
	return 5
}

func main() {
	what := "all"
	if len(os.Args) > 1 {
		what = os.Args[1]
	}
	switch what {
	case "spawn":
		benchSpawn(argInt(2, 1000000), int(argInt(3, 5)))
	case "switch":
		benchSwitch(argInt(2, 2000000), int(argInt(3, 5)))
	case "sleep":
		benchSleep(argInt(2, 1000000), time.Duration(argInt(3, 1000))*time.Millisecond)
	case "timers":
		for i := 2; i < len(os.Args); i++ {
			n := argInt(i, 0)
			benchTimers(n, reps(n))
		}
	case "timertask":
		for i := 2; i < len(os.Args); i++ {
			n := argInt(i, 0)
			benchTimerTask(n, reps(n))
		}
	case "queue":
		benchQueue(argInt(2, 1000000), int(argInt(3, 5)))
	case "lock":
		benchLock(argInt(2, 20000000), int(argInt(3, 5)))
	case "handoff":
		benchHandoff(argInt(2, 1000000), int(argInt(3, 5)))
	case "all":
		benchSpawn(1000000, 5)
		benchSwitch(2000000, 5)
		benchSleep(1000000, time.Second)
		benchTimers(100000, 5)
		benchTimerTask(100000, 5)
		benchQueue(1000000, 5)
		benchLock(20000000, 5)
		benchHandoff(1000000, 5)
	default:
		fmt.Fprintln(os.Stderr, "usage: main spawn|switch|sleep|timers N...|timertask N...|queue|lock|handoff")
		os.Exit(2)
	}
}
