package main

import (
	"net/http"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routes is every route of the API. The browser reaches the public ones as /api/<route>
// through nginx and two Dapr sidecars; /events/ is where the API's own sidecar delivers
// the events it subscribes to (nginx refuses it, and no app may invoke it).
func (a *api) routes(appToken string) http.Handler {
	r := service.NewRouter(a.log, appToken, a.ready)
	// Handlers return their errors; service.Handle maps every one the same way.
	h := func(f service.HandlerFunc) http.HandlerFunc { return service.Handle(a.log, f) }
	r.Get("/search", h(a.search))
	r.Get("/styles", h(a.styles))
	r.Get("/restaurants/{id}", h(a.restaurant))
	r.Post("/orders", h(a.placeOrder))
	r.Get("/orders/{id}", h(a.getOrder))
	r.Post(routeOrderConfirm, service.TopicHandler(a.log, events.OnCharged(a.onCharged)))
	r.Post(routeOrderNotified, service.TopicHandler(a.log, events.OnNotified(a.onNotified)))
	return r
}
