package main

import (
	"fmt"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// config is the loader's environment, read once.
type config struct {
	Addr          string
	DaprGRPCAddr  string
	DaprHTTPPort  string
	AppToken      string
	Store         string
	File          string
	ConfigStore   string
	ConfigKey     string
	Poll          time.Duration
	ShutdownGrace time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		Addr:          env.String("CATALOG_ADDR", "127.0.0.1:"+env.String("APP_PORT", "5003")),
		DaprGRPCAddr:  "127.0.0.1:" + env.String("DAPR_GRPC_PORT", "50001"),
		DaprHTTPPort:  env.String("DAPR_HTTP_PORT", "3500"),
		AppToken:      env.String("APP_API_TOKEN", ""),
		Store:         env.String("CATALOG_STORE", "catalogstore"),
		File:          env.String("CATALOG_FILE", ""),
		ConfigStore:   env.String("CATALOG_CONFIG_STORE", ""),
		ConfigKey:     env.String("CATALOG_CONFIG_KEY", "restaurants.json"),
		Poll:          env.Duration("CATALOG_POLL", time.Second),
		ShutdownGrace: env.Duration("SHUTDOWN_GRACE", 5*time.Second),
	}
	env.Check(c.File != "" || c.ConfigStore != "", "set CATALOG_FILE (a catalog file) or CATALOG_CONFIG_STORE (a Dapr configuration store)")
	env.Check(c.Poll >= 100*time.Millisecond, "CATALOG_POLL must be at least 100ms")
	return c, env.Err()
}

func (c config) String() string {
	src := "file " + c.File
	if c.ConfigStore != "" {
		src = "configuration store " + c.ConfigStore + " key " + c.ConfigKey
	}
	return fmt.Sprintf("addr=%s dapr=%s store=%s source=%s appToken=%s", c.Addr, c.DaprGRPCAddr, c.Store, src, service.Mask(c.AppToken))
}
