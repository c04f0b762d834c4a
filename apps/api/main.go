// Command api is the search/order API of Kafka Restaurants: it serves searches from an
// in-memory index of the catalog (read through the Dapr state store the catalog loader
// fills), accepts orders, exchanges the card for a bank token, publishes the `order` event
// through Dapr pub/sub and keeps each order's status, which the transactions and email
// services report back to it by service invocation.
package main

import (
	"context"
	"log/slog"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func main() { service.Main("api", run) }

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadConfig(nil)
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg.String())

	client, err := service.NewDaprClient(cfg.DaprGRPCAddr)
	if err != nil {
		return err
	}
	defer client.Close()

	cat := newCatalogWatcher(client, cfg.CatalogStore, cfg.CatalogPoll, log)
	go cat.Run(ctx)

	a := &api{
		log:       log,
		catalog:   cat,
		orders:    &daprOrderStore{client: client, store: cfg.OrderStore},
		publisher: &daprPublisher{client: client},
		bank:      &daprBank{client: client, binding: cfg.BankBinding},
		ready: func(ctx context.Context) error {
			if err := service.SidecarReady(ctx, cfg.DaprHTTPPort); err != nil {
				return err
			}
			return cat.Ready()
		},
		now: timeNow,
	}
	srv := service.NewServer(cfg.Addr, a.routes(cfg.AppToken))
	return service.Serve(ctx, log, srv, cfg.ShutdownGrace)
}
