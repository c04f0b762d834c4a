// Command catalog is the catalog loader: it watches the catalog source (a file locally; the
// catalog ConfigMap through a Dapr configuration store in Kubernetes), validates every new
// version and publishes it into the catalog state store under its version, moving the
// "current" pointer last so readers see a whole version or the previous one. A malformed
// catalog is rejected with one log line and the previous version keeps serving.
package main

import (
	"context"
	"log/slog"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func main() { service.Main("catalog", run) }

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadConfig(nil)
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg.String())
	client, stop, err := service.StartDaprApp(ctx, log, "catalog", cfg.DaprGRPCAddr)
	if err != nil {
		return err
	}
	defer stop()

	l := &loader{store: &daprCatalogStore{client: client, name: cfg.Store}, log: log, now: timeNow}
	var src source
	if cfg.ConfigStore != "" {
		src = &configSource{client: client, store: cfg.ConfigStore, key: cfg.ConfigKey, log: log}
	} else {
		src = &fileSource{path: cfg.File, poll: cfg.Poll}
	}
	go l.run(ctx, src)
	service.DefaultMetrics.CatalogFunc(func() (string, int, bool) {
		p, _ := l.status()
		return p.Version, p.Restaurants, p.Version != ""
	})

	srv := service.NewServer(cfg.Addr, l.routes(cfg.AppToken, cfg.DaprHTTPPort))
	return service.Serve(ctx, log, srv, cfg.ShutdownGrace)
}
