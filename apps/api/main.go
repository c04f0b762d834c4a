// Command api is the search/order API of Kafka Restaurants: it serves searches from an
// in-memory index of the catalog (read through the Dapr state store the catalog loader
// fills), accepts orders, exchanges the card for a bank token, publishes the `order` event
// through Dapr pub/sub and keeps each order's status, which it learns from the events the
// transactions and email services publish (`order_confirm`, `order_notified`).
package main

import (
	"context"
	"log/slog"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func main() { service.Main("api", run) }

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadConfig(nil)
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg.String())
	client, stop, err := service.StartDaprApp(ctx, log, "api", cfg.DaprGRPCAddr)
	if err != nil {
		return err
	}
	defer stop()

	cat := newCatalogWatcher(client, cfg.CatalogStore, cfg.CatalogPoll, log)
	go cat.Run(ctx)
	service.DefaultMetrics.CatalogFunc(func() (string, int, bool) {
		if ix := cat.Index(); ix != nil {
			return ix.Version(), ix.Len(), true
		}
		return "", 0, false
	})

	a := &api{
		log:       log,
		catalog:   cat,
		orders:    newCountedOrders(&daprOrderStore{client: client, store: cfg.OrderStore}, service.DefaultMetrics),
		publisher: &daprPublisher{client: client},
		bank:      &daprBank{client: client, binding: cfg.BankBinding},
		ready: func(ctx context.Context) error {
			if err := service.SidecarReady(ctx, cfg.DaprHTTPPort); err != nil {
				return err
			}
			return cat.Ready()
		},
		now:            timeNow,
		publishTimeout: cfg.PublishTimeout,
	}
	srv := service.NewServer(cfg.Addr, a.routes(cfg.AppToken))
	return service.Serve(ctx, log, srv, cfg.ShutdownGrace)
}

// countedOrders counts each status an order reaches (orders_total{status}) and times the
// final one from the order being placed (order_completion_seconds). Only a write that
// kept something new counts (the record, a fact seen for the first time), so a repeated
// event or a replayed request counts nothing twice.
type countedOrders struct {
	orderStore
	reached    service.Counter // orders_total{status}
	completion service.Latency // order_completion_seconds{status}
}

func newCountedOrders(s orderStore, m *service.Metrics) countedOrders {
	return countedOrders{
		orderStore: s,
		reached: m.Counter("orders_total",
			"Orders that reached a status (accepted, paid, declined, failed, confirmed, notified_declined, notified_failed, email_rejected), counted once per order and status by the API.",
			"status"),
		completion: m.Latency("order_completion_seconds",
			"Time from an order being placed to its final status (its email sent, or refused by the mail server), by final status; the order-to-email latency.",
			"status"),
	}
}

func (s countedOrders) Create(ctx context.Context, r record) error {
	err := s.orderStore.Create(ctx, r)
	if err == nil {
		s.reached.Inc(string(order.StatusAccepted))
	}
	return err
}

func (s countedOrders) RecordCharge(ctx context.Context, e events.OrderCharged) error {
	err := s.orderStore.RecordCharge(ctx, e)
	if err == nil {
		s.reached.Inc(string(order.AfterCharge(e.Outcome)))
	}
	return err
}

func (s countedOrders) RecordNotice(ctx context.Context, e events.OrderNotified) error {
	err := s.orderStore.RecordNotice(ctx, e)
	if err == nil {
		final := order.AfterNotice(e.Outcome, e.Notice)
		s.reached.Inc(string(final))
		if !e.PlacedAt.IsZero() {
			s.completion.Observe(e.NotifiedAt.Sub(e.PlacedAt), string(final))
		}
	}
	return err
}
