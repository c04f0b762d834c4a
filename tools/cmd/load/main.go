// Command load offers load to the running stack (`make run` or bin/devstack) and reports
// throughput, latency percentiles, order-to-final and order-to-email latency, lost and
// duplicated orders, errors by kind, and each process's CPU and memory. See
// docs/BENCHMARKS.md for the runs behind the published numbers.
//
//	load [-target nginx|api|URL] [-mode open|closed] [-rate 200] [-c 64] [-d 30s | -n 10000]
//	     [-ramp 5s] [-warmup 5s] [-orders 0.1] [-declined 0.1] [-json out.json] [-svg out.svg]
//	     [-soak 10m]
//
// Through nginx, POST /api/orders is rate limited per client: start the stack with
// NGINX_ORDER_RATE=100000r/s NGINX_ORDER_BURST=100000 in its environment for order load.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/tools/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
	}
	os.Exit(code)
}

// run returns 0 for a clean run, 1 when the run itself failed, and 3 when it completed but
// had errors, lost or duplicated orders (so scripts and make targets can tell).
func run(ctx context.Context, args []string) (int, error) {
	cfg := load.Defaults()
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	target := fs.String("target", "nginx", "where to send: nginx (through nginx and both sidecars), api (straight at the API), or a base URL")
	mode := fs.String("mode", string(cfg.Mode), "open (fixed arrival rate) or closed (fixed concurrency)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "arrivals per second (open model)")
	fs.IntVar(&cfg.Concurrency, "c", cfg.Concurrency, "requests in flight (closed model); cap on requests in flight (open model)")
	fs.DurationVar(&cfg.Duration, "d", cfg.Duration, "measured duration after the warm-up")
	fs.Int64Var(&cfg.Count, "n", 0, "stop after this many measured requests instead of a duration")
	fs.DurationVar(&cfg.Ramp, "ramp", cfg.Ramp, "raise the rate (or workers) linearly over this time")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "time at the start not counted in latencies")
	fs.Float64Var(&cfg.OrderShare, "orders", cfg.OrderShare, "share of requests that place an order, 0..1")
	fs.Float64Var(&cfg.DeclineShare, "declined", cfg.DeclineShare, "share of orders paid with the declined test card, 0..1")
	fs.BoolVar(&cfg.NoCache, "no-cache", false, "send searches with Cache-Control: no-cache (past nginx's one-second cache)")
	fs.IntVar(&cfg.SearchLimit, "limit", cfg.SearchLimit, "search page size, 1..100")
	fs.StringVar(&cfg.Mailpit, "mailpit", cfg.Mailpit, "mailpit URL for order-to-email latency and duplicate emails (empty: skip)")
	fs.StringVar(&cfg.Bank, "bank", cfg.Bank, "bank URL for duplicate charges (empty: skip)")
	fs.DurationVar(&cfg.Deadline, "deadline", cfg.Deadline, "time an accepted order has to become final and emailed before it counts as lost")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	fs.DurationVar(&cfg.Sample, "sample", cfg.Sample, "how often to sample the stack's processes from /proc (0: never)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the request mix")
	soak := fs.Duration("soak", 0, "soak run of this length: sets -d, samples every 5s and reports memory growth")
	jsonOut := fs.String("json", "", "write the report as JSON to this file")
	svgOut := fs.String("svg", "", "write a latency-over-time chart as SVG to this file")
	quiet := fs.Bool("quiet", false, "no progress line")
	noSidecars := fs.Bool("no-sidecars", false, "do not read the local sidecars' metrics (the sidecar calls per order)")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() > 0 {
		return 2, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Mode = load.Mode(*mode)
	if *noSidecars {
		cfg.Sidecars = nil
	}
	t, err := load.ResolveTarget(*target)
	if err != nil {
		return 2, err
	}
	cfg.Target = t
	if cfg.Count > 0 && !flagSet(fs, "d") {
		cfg.Duration = 0
	}
	if *soak > 0 {
		cfg.Duration, cfg.Soak = *soak, true
		if !flagSet(fs, "sample") {
			cfg.Sample = 5 * time.Second
		}
	}
	if err := cfg.Validate(); err != nil {
		return 2, err
	}
	var progress *os.File
	if !*quiet {
		progress = os.Stderr
	}
	var rep *load.Report
	if progress != nil {
		rep, err = load.Run(ctx, cfg, progress)
	} else {
		rep, err = load.Run(ctx, cfg, nil)
	}
	if rep == nil {
		return 1, err
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "load: interrupted; the report covers what ran")
	}
	rep.WriteTable(os.Stdout)
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			return 1, fmt.Errorf("write json: %w", err)
		}
	}
	if *svgOut != "" {
		if err := rep.WriteSVG(*svgOut); err != nil {
			return 1, fmt.Errorf("write svg: %w", err)
		}
	}
	if !rep.Clean() {
		return 3, nil
	}
	return 0, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
