package main

import (
	"net/http"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routes is every route of the API. The browser reaches the public ones as /api/<route>
// through nginx and two Dapr sidecars; /internal/ is for the transactions and email
// services' sidecars only (nginx refuses it, Dapr access control limits it).
func (a *api) routes(appToken string) http.Handler {
	r := service.NewRouter(a.log, appToken, a.ready)
	r.Get("/search", a.search)
	r.Get("/styles", a.styles)
	r.Get("/restaurants/{id}", a.restaurant)
	r.Post("/orders", a.placeOrder)
	r.Get("/orders/{id}", a.getOrder)
	r.Post("/internal/orders/{id}/transitions", a.transition)
	return r
}
