package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// gate is the broker's listener with an off switch, so fault tests can make Kafka
// unreachable the way a network partition or a broker restart does: during an outage the
// port is closed (clients get "connection refused") and every open connection is reset.
// kfake stops serving for good when Accept fails, so the gate hides the outage from it:
// Accept waits the outage out and listens again on the same address.
type gate struct {
	addr    string
	listen  func(network, address string) (net.Listener, error)
	mu      sync.Mutex
	ln      net.Listener
	conns   map[*gateConn]struct{}
	until   time.Time
	timer   *time.Timer
	up      chan struct{} // closed when the current outage ends
	closed  bool
	outages int
}

func newGate(listen func(network, address string) (net.Listener, error)) *gate {
	up := make(chan struct{})
	close(up)
	return &gate{listen: listen, conns: map[*gateConn]struct{}{}, up: up}
}

// Listen is the kfake.ListenFn: it opens the real listener and hands kfake the gate.
func (g *gate) Listen(network, address string) (net.Listener, error) {
	ln, err := g.listen(network, address)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.addr, g.ln = ln.Addr().String(), ln
	g.mu.Unlock()
	return g, nil
}

// Accept returns the next connection, waiting out an outage.
func (g *gate) Accept() (net.Conn, error) {
	for {
		g.mu.Lock()
		ln, up, closed := g.ln, g.up, g.closed
		g.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if ln == nil { // in an outage: wait for it to end, then listen again
			<-up
			if err := g.reopen(); err != nil {
				return nil, err
			}
			continue
		}
		c, err := ln.Accept()
		if err != nil {
			g.mu.Lock()
			down := g.ln != ln && !g.closed
			g.mu.Unlock()
			if down {
				continue // the outage closed the listener under us
			}
			return nil, err
		}
		gc := &gateConn{Conn: c, g: g}
		g.mu.Lock()
		if g.ln != ln { // the outage began while we accepted
			g.mu.Unlock()
			gc.reset()
			continue
		}
		g.conns[gc] = struct{}{}
		g.mu.Unlock()
		return gc, nil
	}
}

func (g *gate) reopen() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.ln != nil || g.until.After(time.Now()) {
		return nil
	}
	var err error
	// The port was just closed; binding it again can race the kernel's cleanup briefly.
	for i := 0; i < 50; i++ {
		var ln net.Listener
		if ln, err = g.listen("tcp", g.addr); err == nil {
			g.ln = ln
			return nil
		}
		g.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		g.mu.Lock()
	}
	return fmt.Errorf("listen again on %s after an outage: %w", g.addr, err)
}

// Close closes the gate for good (kfake calls it when the cluster closes).
func (g *gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.timer != nil {
		g.timer.Stop()
	}
	select {
	case <-g.up:
	default:
		close(g.up)
	}
	if g.ln != nil {
		return g.ln.Close()
	}
	return nil
}

// Addr is the address the broker serves on, outage or not.
func (g *gate) Addr() net.Addr {
	a, err := net.ResolveTCPAddr("tcp", g.addr)
	if err != nil {
		return &net.TCPAddr{}
	}
	return a
}

// Outage makes the broker unreachable for d, or extends a running outage to end d from now.
func (g *gate) Outage(d time.Duration) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.until = time.Now().Add(d)
	if g.ln != nil {
		_ = g.ln.Close()
		g.ln = nil
		g.up = make(chan struct{})
		g.outages++
	}
	for c := range g.conns {
		c.reset()
		delete(g.conns, c)
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	up := g.up
	g.timer = time.AfterFunc(d, func() { g.end(up) })
	return g.until
}

// End ends the outage now.
func (g *gate) End() {
	g.mu.Lock()
	up := g.up
	g.until = time.Time{}
	if g.timer != nil {
		g.timer.Stop()
	}
	g.mu.Unlock()
	g.end(up)
}

func (g *gate) end(up chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.up != up {
		return
	}
	select {
	case <-up:
	default:
		g.until = time.Time{}
		close(up)
	}
}

// Status says whether an outage runs, until when, and how many there were.
func (g *gate) Status() (down bool, until time.Time, outages int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.up:
		return false, time.Time{}, g.outages
	default:
		return true, g.until, g.outages
	}
}

func (g *gate) forget(c *gateConn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
}

// gateConn is a client connection the gate can reset.
type gateConn struct {
	net.Conn
	g    *gate
	once sync.Once
}

// reset closes with SO_LINGER 0, so the client sees a reset, as from a dead broker.
func (c *gateConn) reset() {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Conn.Close()
}

// Close forgets the connection and closes it.
func (c *gateConn) Close() error {
	c.once.Do(func() { c.g.forget(c) })
	return c.Conn.Close()
}

// admin is the fault-injection and inspection endpoint of the local broker, for tests
// only: it listens on loopback and is off unless -admin is given.
type admin struct {
	gate    *gate
	hang    *produceHang
	cluster *kfake.Cluster
	topics  []string
	log     *slog.Logger
}

func (a *admin) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /outage", a.getOutage)
	mux.HandleFunc("POST /outage", a.postOutage)
	mux.HandleFunc("DELETE /outage", a.deleteOutage)
	mux.HandleFunc("GET /offsets", a.getOffsets)
	mux.HandleFunc("GET /produce-hang", a.getProduceHang)
	mux.HandleFunc("POST /produce-hang", a.postProduceHang)
	mux.HandleFunc("DELETE /produce-hang", a.deleteProduceHang)
	return mux
}

type outageStatus struct {
	Down    bool       `json:"down"`
	Until   *time.Time `json:"until,omitempty"`
	Outages int        `json:"outages"`
}

func (a *admin) status() outageStatus {
	down, until, n := a.gate.Status()
	s := outageStatus{Down: down, Outages: n}
	if down {
		s.Until = &until
	}
	return s
}

func (a *admin) getOutage(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.status())
}

// postOutage starts an outage: POST /outage?for=20s (1 s to 10 min).
func (a *admin) postOutage(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("for"))
	if err != nil || d < time.Second || d > 10*time.Minute {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "invalid_duration", "message": `query "for" must be a duration from 1s to 10m, such as "20s"`})
		return
	}
	until := a.gate.Outage(d)
	a.log.Warn("outage injected: broker unreachable", "for", d.String(), "until", until)
	writeJSON(w, http.StatusAccepted, a.status())
}

func (a *admin) deleteOutage(w http.ResponseWriter, _ *http.Request) {
	a.gate.End()
	a.log.Info("outage ended by request")
	writeJSON(w, http.StatusOK, a.status())
}

// topicOffsets is one topic's end offsets.
type topicOffsets struct {
	Partitions int     `json:"partitions"`
	Records    int64   `json:"records"`
	End        []int64 `json:"end"`
}

// getOffsets reports the end offset of every partition of the seeded topics, or of the
// topics named with ?topic=; it reads the broker's own state, so it answers during an
// outage too (tests use it to see that nothing was produced while Kafka was away).
func (a *admin) getOffsets(w http.ResponseWriter, r *http.Request) {
	topics := r.URL.Query()["topic"]
	if len(topics) == 0 {
		topics = a.topics
	}
	out := map[string]topicOffsets{}
	for _, t := range topics {
		parts := a.cluster.PartitionInfos(t)
		if len(parts) == 0 {
			continue
		}
		to := topicOffsets{Partitions: len(parts), End: make([]int64, len(parts))}
		for _, p := range parts {
			if p == nil || int(p.Partition) >= len(parts) {
				continue
			}
			to.End[p.Partition] = p.HighWatermark
			to.Records += p.HighWatermark - p.LogStartOffset
		}
		out[t] = to
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveAdmin serves the admin endpoint on addr; the returned function stops it.
func serveAdmin(addr string, a *admin) (func(), error) {
	if !strings.HasPrefix(addr, "127.0.0.1:") && !strings.HasPrefix(addr, "localhost:") {
		return nil, fmt.Errorf("-admin %q: the fault endpoint listens on loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin endpoint stopped", "error", err)
		}
	}()
	a.log.Info("admin endpoint ready", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
