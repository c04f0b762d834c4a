package service

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

type ctxKey int

const loggerKey ctxKey = iota

// Logger returns the request-scoped logger that RequestLogger stored in ctx, or fallback.
func Logger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// TraceID returns the trace id of a W3C traceparent header ("00-<trace>-<span>-<flags>").
func TraceID(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 || len(parts[1]) != 32 {
		return ""
	}
	return parts[1]
}

// RequestLogger logs one line per request with method, path, status, duration, request id
// and trace id, and stores a logger carrying the trace id in the request context.
// Probe and metrics routes are not logged.
func RequestLogger(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			l := log
			if tid := TraceID(r.Header.Get("traceparent")); tid != "" {
				l = l.With("traceId", tid)
			}
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), loggerKey, l)))
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return
			}
			level := slog.LevelInfo
			if ww.Status() >= 500 {
				level = slog.LevelError
			}
			l.Log(r.Context(), level, "request",
				"method", r.Method, "path", r.URL.Path, "status", ww.Status(),
				"durationMs", float64(time.Since(start).Microseconds())/1000,
				"requestId", middleware.GetReqID(r.Context()))
		})
	}
}

// Recoverer turns a panic in a handler into a logged 500 that leaks nothing.
func Recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic in handler", "path", r.URL.Path, "panic", v)
					WriteJSON(w, http.StatusInternalServerError, map[string]string{"code": "internal", "message": "internal error; try again later"})
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// AppToken lets a request through only when it carries the app API token that the Dapr
// sidecar sends in the dapr-api-token header, so nothing but the app's own sidecar can call
// it. An empty token disables the check (local development without tokens). The paths in
// open stay reachable without it (probes and metrics).
func AppToken(token string, open ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if token == "" {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, p := range open {
				if r.URL.Path == p {
					next.ServeHTTP(w, r)
					return
				}
			}
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("dapr-api-token")), []byte(token)) != 1 {
				WriteJSON(w, http.StatusUnauthorized, map[string]string{"code": "unauthorized", "message": "missing or wrong app token"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
