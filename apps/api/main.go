// Command api is the search/order API of Kafka Restaurants: it serves searches from an
// in-memory index of the catalog (read through the Dapr state store the catalog loader
// fills), accepts orders, exchanges the card for a bank token, publishes the `order` event
// through Dapr pub/sub and keeps each order's status, which the transactions and email
// services report back to it by service invocation.
package main

import (
	"context"
	"log/slog"
	"time"

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
// final one from the order's creation (order_completion_seconds). Only a write
// that won counts (the first create, an ETag-checked update), so a repeated report or a
// replayed request counts nothing twice.
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
			"Time from an order being placed to its final status (its email sent and reported), by final status; the order-to-email latency.",
			"status"),
	}
}

func (s countedOrders) Create(ctx context.Context, o Order) error {
	err := s.orderStore.Create(ctx, o)
	if err == nil {
		s.reached.Inc(string(o.Status))
	}
	return err
}

func (s countedOrders) Update(ctx context.Context, o Order, etag string) error {
	err := s.orderStore.Update(ctx, o, etag)
	if err == nil {
		s.reached.Inc(string(o.Status))
		if len(next[o.Status]) == 0 { // final: the customer's email went out
			s.completion.Observe(time.Since(o.CreatedAt), string(o.Status))
		}
	}
	return err
}
