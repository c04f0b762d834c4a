// Command bank is a mock card-payment bank with a real API: tokens, idempotent
// charges and refunds, a durable ledger and fault injection. It runs outside the
// system, without a Dapr sidecar; services reach it through the Dapr HTTP binding.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownTimeout bounds how long in-flight requests (a slow card) may finish.
const shutdownTimeout = 10 * time.Second

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, logger)
	stop()
	if err != nil {
		logger.Error("bank stopped", "err", err)
		os.Exit(1)
	}
}

// run reads the configuration and serves until ctx is cancelled.
func run(ctx context.Context, logger *slog.Logger) error {
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger.Info("bank starting", cfg.logAttrs()...)
	return serve(ctx, logger, cfg, nil)
}

// serve runs the bank with cfg; ready, if not nil, gets the bound address (tests
// listen on port 0). It returns after a graceful shutdown.
func serve(ctx context.Context, logger *slog.Logger, cfg config, ready func(addr string)) error {
	st, err := openStore(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	st.limit = cfg.MaxRecords
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", "err", err)
		}
	}()
	f := newFaults(faultSettings{
		FailureRate: cfg.FailureRate, DropReplyRate: cfg.DropReplyRate, Latency: duration(cfg.Latency),
	}, cfg.Seed)
	b := newBank(st, f, cfg.SlowDelay, logger, time.Now)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           routes(b, logger),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A write may wait for the latency and the slow card, plus room for the rest.
		WriteTimeout: 30*time.Second + cfg.SlowDelay + cfg.Latency,
		IdleTimeout:  60 * time.Second,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("bank listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("bank shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
