// Command transactions consumes `order`, charges the bank once per order (the order id is
// the bank's idempotency key), records its decision and publishes it to `order_confirm`,
// from which the API and the email service learn it. Every step is safe to repeat, so a redelivered event, a crash
// between steps, or several replicas in one consumer group never charge twice.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func main() { service.Main("transactions", run) }

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadConfig(nil)
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg.String())
	client, stop, err := service.StartDaprApp(ctx, log, "transactions", cfg.DaprGRPCAddr)
	if err != nil {
		return err
	}
	defer stop()

	c := &consumer{
		log:       log,
		bank:      newTimedBank(&daprBank{client: client, binding: cfg.BankBinding}, service.DefaultMetrics),
		decisions: &daprDecisions{client: client, store: cfg.Store},
		publisher: &daprPublisher{client: client},
		giveUp:    cfg.BankGiveUp,
		now:       timeNow,
	}
	srv := service.NewServer(cfg.Addr, c.routes(cfg))
	return service.Serve(ctx, log, srv, cfg.ShutdownGrace)
}

// timedBank records each charge call's latency and outcome (charge_duration_seconds):
// paid, declined, or error for a call the bank did not answer with a verdict.
type timedBank struct {
	charger
	took service.Latency
}

func newTimedBank(c charger, m *service.Metrics) timedBank {
	return timedBank{charger: c, took: m.Latency("charge_duration_seconds",
		"Time of one bank charge call through the bank binding, by outcome (paid, declined, error).", "outcome")}
}

func (b timedBank) Charge(ctx context.Context, o events.OrderPlaced) (chargeResult, error) {
	start := time.Now()
	res, err := b.charger.Charge(ctx, o)
	outcome := string(res.Outcome)
	if err != nil {
		outcome = "error"
	}
	b.took.Observe(time.Since(start), outcome)
	return res, err
}
