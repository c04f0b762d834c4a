// Command email consumes `order_confirm` and sends the customer one email per order through
// the Dapr SMTP binding: confirmed, declined or failed. A first-write-wins claim per order in
// its state store keeps redeliveries and replicas from sending a second email; an SMTP
// outage delays emails (the event is redelivered) but loses none.
package main

import (
	"context"
	"log/slog"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/orderstatus"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func main() { service.Main("email", run) }

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
		log:      log,
		claims:   &daprClaims{client: client, store: cfg.Store},
		mailer:   &daprMailer{client: client, binding: cfg.SMTPBinding},
		reporter: orderstatus.NewReporter("http://127.0.0.1:"+cfg.DaprHTTPPort, cfg.APIAppID, cfg.DaprAPIToken),
		lease:    cfg.Lease,
		baseURL:  cfg.PublicURL,
		now:      timeNow,
	}
	srv := service.NewServer(cfg.Addr, c.routes(cfg))
	return service.Serve(ctx, log, srv, cfg.ShutdownGrace)
}
