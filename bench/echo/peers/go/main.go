// Go TCP echo server for bench/echo (run with GOMAXPROCS=1): a goroutine per
// connection reading up to READ bytes (default 16 KiB) and writing them back
// (net sets TCP_NODELAY).
//
//	gopeer PORT [READ]
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

var readsz = 16384

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, readsz)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: gopeer PORT [READ]")
		os.Exit(2)
	}
	if len(os.Args) == 3 {
		if n, err := strconv.Atoi(os.Args[2]); err == nil && n > 0 {
			readsz = n
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}
