// Package load drives the running Kafka Restaurants stack with a mix of searches and orders
// and reports what a user would see: throughput, latency percentiles, how long an accepted
// order takes to reach its final status and its email, and whether any order was lost or
// handled twice. It also samples the stack's processes (RSS, CPU) from /proc so that a
// number comes with what bounded it. cmd/load is its command line; tests/load runs it as a
// smoke test.
//
// It is plain net/http rather than vegeta: a run is not one target but a scenario (search,
// then order, then follow the order through the bank and mailpit), and the open model here
// measures every latency from the request's scheduled time, so a saturated stack cannot hide
// its queueing (coordinated omission).
package load

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Mode is how load is offered.
type Mode string

// The two load models.
const (
	// Open sends at a fixed arrival rate whatever the answers take: the model of many
	// independent users, and the one that shows queueing.
	Open Mode = "open"
	// Closed keeps a fixed number of requests in flight: the model that finds the maximum
	// throughput.
	Closed Mode = "closed"
)

// Local addresses of the stack (docs/ARCHITECTURE.md).
const (
	NginxURL   = "http://127.0.0.1:8080/api"
	APIURL     = "http://127.0.0.1:5000"
	MailpitURL = "http://127.0.0.1:8025"
	BankURL    = "http://127.0.0.1:5100"
)

// Cards used by orders: the bank approves the first and declines the second
// (apps/bank/README.md).
const (
	ApprovedCard = "4242424242424242"
	DeclinedCard = "4000000000000002"
)

// Config is one load run.
type Config struct {
	// Target is the base URL the routes hang under: NginxURL (through nginx and both
	// sidecars) or APIURL (straight at the API, for isolation).
	Target string
	Mode   Mode
	// Rate is arrivals per second (open model).
	Rate float64
	// Concurrency is requests in flight (closed model); in the open model it caps the
	// requests in flight, beyond which an arrival counts as a "client_overload" error.
	Concurrency int
	// Duration is the measured time after the warm-up; Count, when > 0, ends the run after
	// that many measured requests instead.
	Duration time.Duration
	Count    int64
	// Ramp raises the rate (or the number of workers) linearly from a tenth to full.
	Ramp time.Duration
	// Warmup runs first at the ramped rate; nothing in it is counted in latencies, though
	// its orders are still checked for loss and duplicates.
	Warmup time.Duration
	// OrderShare is the share of arrivals that place an order (0..1); the rest search.
	OrderShare float64
	// DeclineShare is the share of orders paid with the declined test card.
	DeclineShare float64
	// SearchLimit is the page size of searches (the API's default is 100).
	SearchLimit int
	// NoCache sends searches with "Cache-Control: no-cache", which nginx passes through its
	// one-second cache to the sidecars and the API: the cost of a search nobody made
	// a second before.
	NoCache bool
	// Mailpit and Bank are read to measure order-to-email latency and find duplicates;
	// empty skips that check.
	Mailpit string
	Bank    string
	// Deadline is how long after its 202 an order may take to become final (and its email
	// to arrive) before it counts as lost.
	Deadline time.Duration
	// Timeout bounds each HTTP request.
	Timeout time.Duration
	// Sample is how often the stack's processes are sampled from /proc; 0 disables it.
	Sample time.Duration
	// Soak marks a long run: the report then compares each process's memory at the start
	// and at the end.
	Soak bool
	// Seed makes the request mix reproducible.
	Seed uint64
	// Sidecars are the sidecars' metrics endpoints, read before and after the run to count
	// the sidecar calls per order; empty skips it.
	Sidecars map[string]string
}

// Defaults returns a short, gentle run through nginx.
func Defaults() Config {
	return Config{
		Target:       NginxURL,
		Mode:         Open,
		Rate:         50,
		Concurrency:  256,
		Duration:     10 * time.Second,
		Ramp:         2 * time.Second,
		Warmup:       2 * time.Second,
		OrderShare:   0.1,
		DeclineShare: 0.1,
		SearchLimit:  20,
		Mailpit:      MailpitURL,
		Bank:         BankURL,
		Deadline:     60 * time.Second,
		Timeout:      10 * time.Second,
		Sample:       time.Second,
		Seed:         1,
		Sidecars:     SidecarMetrics,
	}
}

// ResolveTarget maps the names "nginx" and "api" to their URLs and checks anything else is
// an http URL.
func ResolveTarget(s string) (string, error) {
	switch s {
	case "", "nginx":
		return NginxURL, nil
	case "api":
		return APIURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("target %q: want nginx, api or an http URL", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

// Validate says what is wrong with c, all at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := ResolveTarget(c.Target); err != nil {
		errs = append(errs, err)
	}
	switch c.Mode {
	case Open:
		if c.Rate <= 0 {
			bad("rate must be > 0 in the open model, got %v", c.Rate)
		}
	case Closed:
	default:
		bad("mode must be %q or %q, got %q", Open, Closed, c.Mode)
	}
	if c.Concurrency < 1 {
		bad("concurrency must be >= 1, got %d", c.Concurrency)
	}
	if c.Duration <= 0 && c.Count <= 0 {
		bad("set a duration or a count")
	}
	if c.Count < 0 {
		bad("count must be >= 0, got %d", c.Count)
	}
	if c.Ramp < 0 || c.Warmup < 0 {
		bad("ramp and warmup must be >= 0")
	}
	if c.OrderShare < 0 || c.OrderShare > 1 {
		bad("orders share must be within 0..1, got %v", c.OrderShare)
	}
	if c.DeclineShare < 0 || c.DeclineShare > 1 {
		bad("declined share must be within 0..1, got %v", c.DeclineShare)
	}
	if c.SearchLimit < 1 || c.SearchLimit > 100 {
		bad("search limit must be within 1..100, got %d", c.SearchLimit)
	}
	if c.Deadline <= 0 || c.Timeout <= 0 {
		bad("deadline and timeout must be > 0")
	}
	return errors.Join(errs...)
}
