package main

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is every route of the bank. Latency applies to the bank API proper; health,
// ledger and admin stay fast so tests can observe and steer a slowed-down bank.
func routes(b *bank, logger *slog.Logger) http.Handler {
	r := chi.NewRouter()
	r.Use(requestLog(logger))
	r.NotFound(b.notFound)
	r.MethodNotAllowed(b.methodNotAllowed)

	r.Get("/healthz", b.healthz)
	r.Route("/v1", func(r chi.Router) {
		r.Group(func(r chi.Router) {
			r.Use(b.withLatency)
			r.Post("/tokens", b.createToken)
			r.Post("/charges", b.createCharge)
			r.Get("/charges", b.lookupCharge)
			r.Post("/charges/void", b.voidCharge)
			r.Post("/refunds", b.createRefund)
		})
		r.Get("/ledger", b.ledger)
		r.Get("/admin/faults", b.getFaults)
		r.Put("/admin/faults", b.putFaults)
	})
	return r
}
