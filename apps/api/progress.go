package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// The routes daprd delivers the API's subscriptions to (components/subscription-*.yaml):
// the API learns how its orders go from the events the consumers publish anyway.
const (
	routeOrderConfirm  = "/events/order-confirm"
	routeOrderNotified = "/events/order-notified"
)

// onCharged keeps an order's payment decision, from `order_confirm`. A decision kept
// already (a redelivery) changes nothing; a store failure asks for a redelivery.
func (a *api) onCharged(ctx context.Context, e *common.TopicEvent) (retry bool, err error) {
	ev, err := events.DecodeOrderCharged(e.RawData)
	if err != nil {
		return false, err
	}
	return a.keep(ctx, e, ev.OrderID, order.AfterCharge(ev.Outcome), a.orders.RecordCharge(ctx, ev))
}

// onNotified keeps the fate of an order's email, from `order_notified`. It may arrive
// before `order_confirm` does: it carries the decision too, so the order's status is
// right either way.
func (a *api) onNotified(ctx context.Context, e *common.TopicEvent) (retry bool, err error) {
	ev, err := events.DecodeOrderNotified(e.RawData)
	if err != nil {
		return false, err
	}
	return a.keep(ctx, e, ev.OrderID, order.AfterNotice(ev.Outcome, ev.Notice), a.orders.RecordNotice(ctx, ev))
}

// keep answers a delivery from how its fact's write went.
func (a *api) keep(ctx context.Context, e *common.TopicEvent, id string, status order.Status, err error) (bool, error) {
	log := service.Logger(ctx, a.log).With("orderId", id)
	if tid := service.TraceID(e.TraceParent); tid != "" {
		log = log.With("traceId", tid)
	}
	switch {
	case errors.Is(err, errExists):
		log.DebugContext(ctx, "order fact kept already", "status", status)
		return false, nil
	case err != nil:
		return true, fmt.Errorf("keep %s: %w", status, err)
	}
	log.InfoContext(ctx, "order status changed", "status", status)
	return false, nil
}
