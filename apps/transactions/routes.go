package main

import (
	"context"
	"net/http"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routes: the `order` subscription's route (components/subscription-order.yaml) and probes.
func (c *consumer) routes(cfg config) http.Handler {
	r := service.NewRouter(c.log, cfg.AppToken, func(ctx context.Context) error {
		return service.SidecarReady(ctx, cfg.DaprHTTPPort)
	})
	r.Post(routeOrder, service.TopicHandler(c.log, events.OnPlaced(c.handleOrder)))
	return r
}
