package service

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// NewRouter returns the chi router every service starts from: request ids, a server span
// and per-route metrics (tracing.go, metrics.go), panic recovery, request logging, the app
// token check, a cheap /healthz (liveness), a /readyz that runs ready (dependencies, with a
// short timeout), Prometheus metrics at /metrics, and JSON answers for unknown routes.
func NewRouter(log *slog.Logger, appToken string, ready func(context.Context) error) chi.Router {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, Tracing, DefaultMetrics.Middleware, Recoverer(log), RequestLogger(log))
	r.Use(AppToken(appToken, "/healthz", "/readyz", "/metrics"))
	r.Method(http.MethodGet, "/metrics", DefaultMetrics.Handler())
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusNotFound, map[string]string{"code": "not_found", "message": "no such route"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"code": "method_not_allowed", "message": r.Method + " is not allowed here"})
	})
	return r
}
