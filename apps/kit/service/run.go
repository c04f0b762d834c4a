package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card"
)

// Main is the whole of a service's main function: it builds the JSON logger, cancels the
// context on SIGINT or SIGTERM, runs run and exits non-zero when run fails.
func Main(name string, run func(ctx context.Context, log *slog.Logger) error) {
	log := NewLogger(os.Stdout, name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	startPprof(ctx, log)
	err := run(ctx, log)
	stop()
	if err != nil {
		log.Error("service stopped", "error", err)
		os.Exit(1)
	}
}

// NewLogger returns a JSON slog logger tagged with the service name whose output has every
// card-number-like digit run masked (see card.Redact), whatever a caller passes it.
func NewLogger(w io.Writer, name string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: logLevel(),
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Value.Kind() {
			case slog.KindString:
				s := a.Value.String()
				if r := card.Redact(s); r != s {
					a.Value = slog.StringValue(r)
				}
			case slog.KindAny, slog.KindInt64, slog.KindUint64, slog.KindFloat64:
				if err, ok := a.Value.Any().(error); ok {
					a.Value = slog.StringValue(card.Redact(err.Error()))
					break
				}
				// A number, struct or map is written as JSON: check that text, so a card
				// number held in one is masked too (the value then logs as a string).
				if b, err := json.Marshal(a.Value.Any()); err == nil {
					if s := card.Redact(string(b)); s != string(b) {
						a.Value = slog.StringValue(s)
					}
				}
			}
			return a
		},
	})
	return slog.New(h).With("service", name)
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// Serve runs srv on addr until ctx is cancelled, then shuts it down, giving requests in
// flight up to grace to finish. It fails fast when the address is taken.
func Serve(ctx context.Context, log *slog.Logger, srv *http.Server, grace time.Duration) error {
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", srv.Addr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// NewServer returns an http.Server with the timeouts every service uses.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}
