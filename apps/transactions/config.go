package main

import (
	"fmt"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// config is the service's environment, read once.
type config struct {
	service.DaprApp
	Store       string
	BankBinding string
	BankGiveUp  time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		DaprApp:     env.DaprApp("TRANSACTIONS", "5001", 15*time.Second),
		Store:       env.String("PAYMENT_STORE", "paymentstore"),
		BankBinding: env.String("BANK_BINDING", "bank"),
		BankGiveUp:  env.Duration("BANK_GIVE_UP_AFTER", 60*time.Second),
	}
	env.Check(c.BankGiveUp > 0, "BANK_GIVE_UP_AFTER must be positive")
	return c, env.Err()
}

func (c config) String() string {
	return fmt.Sprintf("%s store=%s bank=%s giveUpAfter=%s",
		c.DaprApp, c.Store, c.BankBinding, c.BankGiveUp)
}
