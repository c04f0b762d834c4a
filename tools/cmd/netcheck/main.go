// Command netcheck tries a TCP connection to each address it is given and prints one JSON
// line per address: {"addr":"198.18.0.5:80","open":true} or {"addr":...,"open":false,"error":...}.
// The cluster tests (tests/cluster) run it in a pod that no NetworkPolicy allows anything,
// to show which of the system's ports such a pod can reach (none should be).
//
// With -wait it is the app chart's wait-for-dependencies init container instead: it tries
// again until every address accepts a connection (then exits 0) or -wait runs out (exit 1).
// A sidecar that cannot reach its state store or Kafka at start exits, so without it a pod
// that starts before its NetworkPolicy is in force, or before PostgreSQL, restarts once.
//
//	netcheck [-timeout 3s] host:port...
//	netcheck -wait 5m host:port...
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
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
	wait := fs.Duration("wait", 0, "try again until every address is open, for at most this long (0: try once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: netcheck [-timeout 3s] [-wait 5m] host:port [host:port]")
	}
	if *wait > 0 {
		return waitOpen(fs.Args(), func(a string) result { return dial(a, *timeout) }, *wait, time.Second)
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

// waitOpen tries every address with try until all are open or within has passed, logging
// each address once when it opens.
func waitOpen(addrs []string, try func(addr string) result, within, every time.Duration) error {
	deadline := time.Now().Add(within)
	pending := slices.Clone(addrs)
	for {
		var still []string
		for _, a := range pending {
			if r := try(a); r.Open {
				fmt.Fprintf(os.Stderr, "netcheck: %s is open\n", a)
			} else {
				still = append(still, a)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		if time.Now().Add(every).After(deadline) {
			return fmt.Errorf("not open after %v: %s", within, strings.Join(pending, ", "))
		}
		time.Sleep(every)
	}
}
