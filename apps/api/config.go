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
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		DaprApp:      env.DaprApp("API", "5000", 10*time.Second),
		OrderStore:   env.String("ORDER_STORE", "orderstore"),
		CatalogStore: env.String("CATALOG_STORE", "catalogstore"),
		BankBinding:  env.String("BANK_BINDING", "bank"),
		CatalogPoll:  env.Duration("CATALOG_POLL", time.Second),
	}
	env.Check(c.CatalogPoll >= 100*time.Millisecond, "CATALOG_POLL must be at least 100ms")
	return c, env.Err()
}

// String is the config as logged at start, secrets masked.
func (c config) String() string {
	return fmt.Sprintf("%s orderStore=%s catalogStore=%s bank=%s catalogPoll=%s",
		c.DaprApp, c.OrderStore, c.CatalogStore, c.BankBinding, c.CatalogPoll)
}
