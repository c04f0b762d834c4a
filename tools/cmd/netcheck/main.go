// Command netcheck tries a TCP connection to each address it is given and prints one JSON
// line per address: {"addr":"10.0.0.1:80","open":true} or {"addr":...,"open":false,"error":...}.
// The cluster tests (tests/cluster) run it in a pod that no NetworkPolicy allows anything,
// to show which of the system's ports such a pod can reach (none should be).
//
//	netcheck [-timeout 3s] host:port...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

type result struct {
	Addr  string `json:"addr"`
	Open  bool   `json:"open"`
	Error string `json:"error,omitempty"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "netcheck:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("netcheck", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "how long one connection attempt may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: netcheck [-timeout 3s] host:port...")
	}
	results := make([]result, fs.NArg())
	var wg sync.WaitGroup
	for i, addr := range fs.Args() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = dial(addr, *timeout)
		}()
	}
	wg.Wait()
	enc := json.NewEncoder(os.Stdout)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func dial(addr string, timeout time.Duration) result {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return result{Addr: addr, Error: err.Error()}
	}
	c.Close()
	return result{Addr: addr, Open: true}
}
