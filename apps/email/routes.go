package main

import (
	"context"
	"net/http"

	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routes: the `order_confirm` subscription's route (components/subscription-order-confirm.yaml)
// and probes.
func (c *consumer) routes(cfg config) http.Handler {
	r := service.NewRouter(c.log, cfg.AppToken, func(ctx context.Context) error {
		return service.SidecarReady(ctx, cfg.DaprHTTPPort)
	})
	r.Post(routeOrderConfirm, service.TopicHandler(c.log, validatedFirst(c.handleConfirm)))
	return r
}

// validatedFirst validates an event before anything records a word of it
// (service.ValidatedTopic); its envelope id is the one the publisher gives it.
func validatedFirst(handle common.TopicEventHandler) common.TopicEventHandler {
	return service.ValidatedTopic(events.TopicOrderConfirm, func(data []byte) (service.Validated, error) {
		o, err := events.DecodeOrderCharged(data)
		if err != nil {
			return service.Validated{}, events.SafeReason(err)
		}
		return service.Validated{ID: events.ChargedID(o.OrderID), Tags: map[string]string{order.TraceTag: o.OrderID}}, nil
	}, handle)
}
