package main

import (
	"context"
	"net/http"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routes: the `order_confirm` subscription's route (components/subscription-order-confirm.yaml)
// and probes.
func (c *consumer) routes(cfg config) http.Handler {
	r := service.NewRouter(c.log, cfg.AppToken, func(ctx context.Context) error {
		return service.SidecarReady(ctx, cfg.DaprHTTPPort)
	})
	r.Post(routeOrderConfirm, service.TopicHandler(c.log, events.OnCharged(c.handleConfirm)))
	return r
}
