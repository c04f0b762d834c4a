// Command email consumes `order_confirm` and sends the customer one email per order through
// the Dapr SMTP binding: confirmed, declined or failed; then it publishes what became of
// the email to `order_notified`, from which the API learns it. A first-write-wins claim per
// order in its state store keeps redeliveries and replicas from sending a second email; an
// SMTP outage delays emails (the event is redelivered) but loses none.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func main() { service.Main("email", run) }

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadConfig(nil)
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg.String())
	client, stop, err := service.StartDaprApp(ctx, log, "email", cfg.DaprGRPCAddr)
	if err != nil {
		return err
	}
	defer stop()

	c := &consumer{
		log:     log,
		claims:  &daprClaims{client: client, store: cfg.Store},
		mailer:  newTimedMailer(&daprMailer{client: client, binding: cfg.SMTPBinding}, service.DefaultMetrics),
		notices: &daprPublisher{client: client},
		lease:   cfg.Lease,
		baseURL: cfg.PublicURL,
		now:     timeNow,
	}
	srv := service.NewServer(cfg.Addr, c.routes(cfg))
	return service.Serve(ctx, log, srv, cfg.ShutdownGrace)
}

// timedMailer records each send's latency and outcome (email_send_duration_seconds):
// sent or error.
type timedMailer struct {
	mailer
	took service.Latency
}

func newTimedMailer(m mailer, metrics *service.Metrics) timedMailer {
	return timedMailer{mailer: m, took: metrics.Latency("email_send_duration_seconds",
		"Time of one email send through the SMTP binding, by outcome (sent, error).", "outcome")}
}

func (m timedMailer) Send(ctx context.Context, msg message) error {
	start := time.Now()
	err := m.mailer.Send(ctx, msg)
	outcome := "sent"
	if err != nil {
		outcome = "error"
	}
	m.took.Observe(time.Since(start), outcome)
	return err
}
