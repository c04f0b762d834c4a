package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// op is a kind of request the report keeps apart.
type op int

const (
	opSearch op = iota
	opOrder
	opStatus
	numOps
)

var opNames = [numOps]string{"search", "order", "status"}

// opStats is one kind of request's counters over the measured window.
type opStats struct {
	sent, ok, errs atomic.Int64
	lat            Histogram
}

// runner is one run in progress.
type runner struct {
	cfg      Config
	client   *http.Client
	mix      *mix
	start    time.Time // first arrival
	measure  time.Time // end of the warm-up
	stats    [numOps]opStats
	errMu    sync.Mutex
	errKinds map[string]int64
	series   *series
	tracker  *tracker
	measured atomic.Int64 // measured requests sent, for Count
	orderN   atomic.Uint64
	inflight chan struct{}
	wg       sync.WaitGroup
}

// Run offers the configured load to the stack, waits for every accepted order to become
// final (or its deadline to pass), checks mailpit and the bank for duplicates and returns the
// report. progress, when not nil, gets a live line every second.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	target, _ := ResolveTarget(cfg.Target)
	cfg.Target = target
	client := newClient(cfg)
	m, err := fetchMix(ctx, client, cfg.Target, cfg.SearchLimit)
	if err != nil {
		return nil, err
	}
	r := &runner{
		cfg:      cfg,
		client:   client,
		mix:      m,
		errKinds: map[string]int64{},
		inflight: make(chan struct{}, cfg.Concurrency),
	}
	var sampler *procSampler
	if cfg.Sample > 0 {
		sampler = newProcSampler("/proc", os.Getpid())
	}
	load0 := loadAvg()
	var calls0 sidecarCalls
	if len(cfg.Sidecars) > 0 {
		calls0, _ = readSidecarCalls(ctx, client, cfg.Sidecars)
	}
	r.start = time.Now()
	r.measure = r.start.Add(cfg.Warmup)
	r.series = newSeries(r.start)
	r.tracker = newTracker(r)
	trackCtx, stopTracking := context.WithCancel(context.Background())
	defer stopTracking()
	go r.tracker.run(trackCtx)
	stopSampling := func() {}
	if sampler != nil {
		sctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { sampler.run(sctx, cfg.Sample, r.measure); close(done) }()
		stopSampling = func() { cancel(); <-done }
	}
	stopProgress := r.progress(progress)

	runCtx := ctx
	var cancelRun context.CancelFunc
	if cfg.Duration > 0 {
		runCtx, cancelRun = context.WithDeadline(ctx, r.measure.Add(cfg.Duration))
		defer cancelRun()
	}
	// Requests in flight when the time is up finish under ctx: an order cut off mid-way
	// could be accepted without the tool knowing its id.
	if cfg.Mode == Open {
		r.open(runCtx, ctx)
	} else {
		r.closed(runCtx, ctx)
	}
	r.wg.Wait()
	end := time.Now()
	// The pipeline keeps running after the last request; wait for it, within the deadline.
	r.tracker.drain(ctx)
	drained := time.Now()
	stopTracking()
	stopProgress()
	stopSampling()

	verr := r.tracker.verify(ctx)
	rep := r.report(end, drained)
	rep.LoadAvgStart, rep.LoadAvgEnd = load0, loadAvg()
	if sampler != nil {
		rep.Processes, rep.MachineCPUPct = sampler.report(cfg.Soak)
		rep.CPUMsPerOrder = cpuPerOrder(rep)
	}
	if len(cfg.Sidecars) > 0 {
		calls1, missing := readSidecarCalls(ctx, client, cfg.Sidecars)
		rep.Sidecars = sidecarReport(calls0, calls1, rep.Orders.Final, missing)
	}
	if verr != nil {
		rep.Notes = append(rep.Notes, "duplicate check incomplete: "+verr.Error())
	}
	return rep, ctx.Err()
}

func newClient(cfg Config) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: cfg.Concurrency + 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: cfg.Timeout}
}

// rateAt is the arrival rate t after the start: a linear ramp from a tenth of the rate.
func (r *runner) rateAt(t time.Duration) float64 {
	if r.cfg.Ramp <= 0 || t >= r.cfg.Ramp {
		return r.cfg.Rate
	}
	f := 0.1 + 0.9*float64(t)/float64(r.cfg.Ramp)
	return r.cfg.Rate * f
}

// open schedules arrivals at the configured rate. Each request's latency is measured from
// its scheduled time, not from when a goroutine got round to sending it.
func (r *runner) open(ctx, reqCtx context.Context) {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 1))
	next := r.start
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		// Send everything that is due: the timer's granularity is coarser than 1/rate at
		// a few thousand per second.
		now := time.Now()
		for !next.After(now) {
			if r.countReached() {
				return
			}
			at := next
			kind := r.pick(rng)
			body, declined := r.body(rng, kind)
			select {
			case r.inflight <- struct{}{}:
				r.wg.Add(1)
				go func() {
					defer r.wg.Done()
					defer func() { <-r.inflight }()
					r.do(reqCtx, kind, at, body, declined)
				}()
			default:
				r.fail(kind, at, "client_overload")
			}
			next = next.Add(time.Duration(float64(time.Second) / r.rateAt(next.Sub(r.start))))
		}
	}
}

// closed runs Concurrency workers, each sending its next request when the last is answered;
// during the ramp the workers start one after another.
func (r *runner) closed(ctx, reqCtx context.Context) {
	for w := range r.cfg.Concurrency {
		delay := time.Duration(0)
		if r.cfg.Ramp > 0 {
			delay = r.cfg.Ramp * time.Duration(w) / time.Duration(r.cfg.Concurrency)
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(w)+2))
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			for ctx.Err() == nil && !r.countReached() {
				kind := r.pick(rng)
				body, declined := r.body(rng, kind)
				r.do(reqCtx, kind, time.Now(), body, declined)
			}
		}()
	}
}

func (r *runner) countReached() bool {
	return r.cfg.Count > 0 && r.measured.Load() >= r.cfg.Count
}

func (r *runner) pick(rng *rand.Rand) op {
	if rng.Float64() < r.cfg.OrderShare {
		return opOrder
	}
	return opSearch
}

func (r *runner) body(rng *rand.Rand, kind op) ([]byte, bool) {
	if kind != opOrder {
		return []byte(r.mix.search(rng)), false
	}
	declined := rng.Float64() < r.cfg.DeclineShare
	return r.mix.order(rng, r.orderN.Add(1), declined), declined
}

// do sends one request scheduled at `at` and records what came back.
func (r *runner) do(ctx context.Context, kind op, at time.Time, body []byte, declined bool) {
	counted := !at.Before(r.measure)
	if counted {
		r.measured.Add(1)
		r.stats[kind].sent.Add(1)
	}
	var req *http.Request
	var err error
	if kind == opSearch {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Target+"/search?"+string(body), nil)
		if err == nil && r.cfg.NoCache {
			req.Header.Set("Cache-Control", "no-cache")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Target+"/orders", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		r.fail(kind, at, "request: "+err.Error())
		return
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // the run ended while this was in flight: neither success nor error
		}
		r.fail(kind, at, transportKind(err))
		return
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	done := time.Now()
	want := http.StatusOK
	if kind == opOrder {
		want = http.StatusAccepted
	}
	if rerr != nil {
		r.fail(kind, at, transportKind(rerr))
		return
	}
	if resp.StatusCode != want {
		r.fail(kind, at, fmt.Sprintf("http_%d", resp.StatusCode))
		return
	}
	if kind == opOrder {
		var acc struct {
			OrderID string `json:"orderId"`
		}
		if json.Unmarshal(b, &acc) != nil || acc.OrderID == "" {
			r.fail(kind, at, "bad_body")
			return
		}
		r.tracker.add(acc.OrderID, done, counted, declined)
	}
	r.series.request(kind, done, done.Sub(at), counted)
	if counted {
		r.stats[kind].ok.Add(1)
		r.stats[kind].lat.Record(done.Sub(at))
	}
}

// fail counts an error by kind ("order http_503", "search timeout", ...).
func (r *runner) fail(kind op, at time.Time, what string) {
	r.series.failure(time.Now())
	if at.Before(r.measure) {
		return
	}
	r.stats[kind].errs.Add(1)
	r.errMu.Lock()
	r.errKinds[opNames[kind]+" "+what]++
	r.errMu.Unlock()
}

// transportKind names a transport error without its addresses, so that errors group.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE):
		return "client_sockets_exhausted"
	}
	return "transport"
}

// progress prints a line a second: elapsed, request rate, errors, p99 so far, orders.
func (r *runner) progress(w io.Writer) (stop func()) {
	if w == nil {
		return func() {}
	}
	cr := "\n"
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			cr = "\r\033[K"
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if cr != "\n" {
					fmt.Fprintln(w)
				}
				return
			case now := <-t.C:
				last := r.series.at(now.Add(-time.Second))
				phase := ""
				if now.Before(r.measure) {
					phase = " (warm-up)"
				}
				errs := r.stats[opSearch].errs.Load() + r.stats[opOrder].errs.Load()
				pend, final, lost := r.tracker.counts()
				end := ""
				if cr == "\n" {
					end = "\n"
				}
				// One write per line: a writer such as t.Log takes each write as a line.
				fmt.Fprintf(w, "%s%5.0fs%s  %5d req/s  errors %d  search p99 %s  order p99 %s  orders final %d pending %d overdue %d  to-email p99 %s%s",
					prefixOnly(cr), now.Sub(r.start).Seconds(), phase, last.requests, errs,
					fmtDur(r.stats[opSearch].lat.Quantile(0.99)), fmtDur(r.stats[opOrder].lat.Quantile(0.99)),
					final, pend, lost, fmtDur(r.tracker.toEmail.Quantile(0.99)), end)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// prefixOnly is what starts a progress line: a carriage return that clears the terminal's
// line, or nothing when each line is printed on its own.
func prefixOnly(cr string) string {
	if cr == "\n" {
		return ""
	}
	return cr
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
