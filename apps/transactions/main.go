// Command transactions consumes `order`, charges the bank once per order (the order id is
// the bank's idempotency key), records its decision, reports it to the API and publishes the
// outcome to `order_confirm`. Every step is safe to repeat, so a redelivered event, a crash
// between steps, or several replicas in one consumer group never charge twice.
package main

import (
	"context"
	"log/slog"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/orderstatus"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func main() { service.Main("transactions", run) }

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

	c := &consumer{
		log:       log,
		bank:      &daprBank{client: client, binding: cfg.BankBinding},
		decisions: &daprDecisions{client: client, store: cfg.Store},
		reporter:  orderstatus.NewReporter("http://127.0.0.1:"+cfg.DaprHTTPPort, cfg.APIAppID, cfg.DaprAPIToken),
		publisher: &daprPublisher{client: client},
		giveUp:    cfg.BankGiveUp,
		now:       timeNow,
	}
	srv := service.NewServer(cfg.Addr, c.routes(cfg))
	return service.Serve(ctx, log, srv, cfg.ShutdownGrace)
}
