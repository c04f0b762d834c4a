package service

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// startPprof serves Go's profiles on PPROF_ADDR when it is set (the local stack sets it
// with `devstack -profile`; the chart never does). The address must be a loopback one:
// profiles show the process's memory, so they are never exposed beyond the machine.
// The server stops when ctx ends.
func startPprof(ctx context.Context, log *slog.Logger) {
	addr := os.Getenv("PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Warn("PPROF_ADDR ignored: it must be a loopback address with a port", "addr", addr)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log = log.With("server", "pprof")
	go func() {
		if err := Serve(ctx, log, &http.Server{Addr: addr, Handler: mux}, time.Second); err != nil {
			log.Warn("pprof not served", "error", err)
		}
	}()
}
