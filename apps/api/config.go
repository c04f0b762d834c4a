package main

import (
	"fmt"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// config is everything the API reads from its environment, once, at start.
type config struct {
	service.DaprApp
	OrderStore   string
	CatalogStore string
	BankBinding  string
	CatalogPoll  time.Duration
	// PublishTimeout bounds the publish of an order: shorter than nginx's 30 s, so the
	// client hears "outcome unknown, retry with the same key" from the API itself.
	PublishTimeout time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		DaprApp:        env.DaprApp("API", "5000", 10*time.Second),
		OrderStore:     env.String("ORDER_STORE", "orderstore"),
		CatalogStore:   env.String("CATALOG_STORE", "catalogstore"),
		BankBinding:    env.String("BANK_BINDING", "bank"),
		CatalogPoll:    env.Duration("CATALOG_POLL", time.Second),
		PublishTimeout: env.Duration("PUBLISH_TIMEOUT", 20*time.Second),
	}
	env.Check(c.CatalogPoll >= 100*time.Millisecond, "CATALOG_POLL must be at least 100ms")
	env.Check(c.PublishTimeout > 0, "PUBLISH_TIMEOUT must be positive")
	return c, env.Err()
}

// String is the config as logged at start, secrets masked.
func (c config) String() string {
	return fmt.Sprintf("%s orderStore=%s catalogStore=%s bank=%s catalogPoll=%s publishTimeout=%s",
		c.DaprApp, c.OrderStore, c.CatalogStore, c.BankBinding, c.CatalogPoll, c.PublishTimeout)
}
