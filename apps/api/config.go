package main

import (
	"fmt"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// config is everything the API reads from its environment, once, at start.
type config struct {
	Addr          string
	DaprGRPCAddr  string
	DaprHTTPPort  string
	AppToken      string
	OrderStore    string
	CatalogStore  string
	BankBinding   string
	CatalogPoll   time.Duration
	ShutdownGrace time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	port := env.String("APP_PORT", "5000")
	c := config{
		Addr:          env.String("API_ADDR", "127.0.0.1:"+port),
		DaprGRPCAddr:  "127.0.0.1:" + env.String("DAPR_GRPC_PORT", "50001"),
		DaprHTTPPort:  env.String("DAPR_HTTP_PORT", "3500"),
		AppToken:      env.String("APP_API_TOKEN", ""),
		OrderStore:    env.String("ORDER_STORE", "orderstore"),
		CatalogStore:  env.String("CATALOG_STORE", "catalogstore"),
		BankBinding:   env.String("BANK_BINDING", "bank"),
		CatalogPoll:   env.Duration("CATALOG_POLL", time.Second),
		ShutdownGrace: env.Duration("SHUTDOWN_GRACE", 10*time.Second),
	}
	env.Check(c.CatalogPoll >= 100*time.Millisecond, "CATALOG_POLL must be at least 100ms")
	return c, env.Err()
}

// String is the config as logged at start, secrets masked.
func (c config) String() string {
	return fmt.Sprintf("addr=%s dapr=%s orderStore=%s catalogStore=%s bank=%s catalogPoll=%s appToken=%s",
		c.Addr, c.DaprGRPCAddr, c.OrderStore, c.CatalogStore, c.BankBinding, c.CatalogPoll, service.Mask(c.AppToken))
}
