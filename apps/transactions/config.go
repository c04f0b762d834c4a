package main

import (
	"fmt"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// config is the service's environment, read once.
type config struct {
	Addr          string
	DaprGRPCAddr  string
	DaprHTTPPort  string
	DaprAPIToken  string
	AppToken      string
	Store         string
	BankBinding   string
	APIAppID      string
	BankGiveUp    time.Duration
	ShutdownGrace time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		Addr:          env.String("TRANSACTIONS_ADDR", "127.0.0.1:"+env.String("APP_PORT", "5001")),
		DaprGRPCAddr:  "127.0.0.1:" + env.String("DAPR_GRPC_PORT", "50001"),
		DaprHTTPPort:  env.String("DAPR_HTTP_PORT", "3500"),
		DaprAPIToken:  env.String("DAPR_API_TOKEN", ""),
		AppToken:      env.String("APP_API_TOKEN", ""),
		Store:         env.String("PAYMENT_STORE", "paymentstore"),
		BankBinding:   env.String("BANK_BINDING", "bank"),
		APIAppID:      env.String("API_APP_ID", "api"),
		BankGiveUp:    env.Duration("BANK_GIVE_UP_AFTER", 60*time.Second),
		ShutdownGrace: env.Duration("SHUTDOWN_GRACE", 15*time.Second),
	}
	env.Check(c.BankGiveUp > 0, "BANK_GIVE_UP_AFTER must be positive")
	return c, env.Err()
}

func (c config) String() string {
	return fmt.Sprintf("addr=%s dapr=%s store=%s bank=%s api=%s giveUpAfter=%s appToken=%s daprToken=%s",
		c.Addr, c.DaprGRPCAddr, c.Store, c.BankBinding, c.APIAppID, c.BankGiveUp, service.Mask(c.AppToken), service.Mask(c.DaprAPIToken))
}
