package main

import (
	"fmt"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// config is the loader's environment, read once.
type config struct {
	service.DaprApp
	Store       string
	File        string
	ConfigStore string
	ConfigKey   string
	Poll        time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		DaprApp:     env.DaprApp("CATALOG", "5003", 5*time.Second),
		Store:       env.String("CATALOG_STORE", "catalogstore"),
		File:        env.String("CATALOG_FILE", ""),
		ConfigStore: env.String("CATALOG_CONFIG_STORE", ""),
		ConfigKey:   env.String("CATALOG_CONFIG_KEY", "restaurants.json"),
		Poll:        env.Duration("CATALOG_POLL", time.Second),
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
	return fmt.Sprintf("%s store=%s source=%s", c.DaprApp, c.Store, src)
}
