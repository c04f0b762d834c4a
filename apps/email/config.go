package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// config is the service's environment, read once.
type config struct {
	service.DaprApp
	Store       string
	SMTPBinding string
	PublicURL   string
	Lease       time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		DaprApp:     env.DaprApp("EMAIL", "5002", 15*time.Second),
		Store:       env.String("NOTIFICATION_STORE", "notificationstore"),
		SMTPBinding: env.String("SMTP_BINDING", "smtp"),
		PublicURL:   env.String("PUBLIC_URL", "http://127.0.0.1:8080"),
		Lease:       env.Duration("EMAIL_CLAIM_LEASE", 2*time.Minute),
	}
	u, err := url.Parse(c.PublicURL)
	env.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "PUBLIC_URL must be an http(s) URL")
	env.Check(c.Lease >= time.Second, "EMAIL_CLAIM_LEASE must be at least 1s")
	return c, env.Err()
}

func (c config) String() string {
	return fmt.Sprintf("%s store=%s smtp=%s publicURL=%s lease=%s",
		c.DaprApp, c.Store, c.SMTPBinding, c.PublicURL, c.Lease)
}
