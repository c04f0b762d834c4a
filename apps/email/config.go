package main

import (
	"fmt"
	"net/url"
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
	SMTPBinding   string
	APIAppID      string
	PublicURL     string
	Lease         time.Duration
	ShutdownGrace time.Duration
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	env := service.NewEnv(lookup)
	c := config{
		Addr:          env.String("EMAIL_ADDR", "127.0.0.1:"+env.String("APP_PORT", "5002")),
		DaprGRPCAddr:  "127.0.0.1:" + env.String("DAPR_GRPC_PORT", "50001"),
		DaprHTTPPort:  env.String("DAPR_HTTP_PORT", "3500"),
		DaprAPIToken:  env.String("DAPR_API_TOKEN", ""),
		AppToken:      env.String("APP_API_TOKEN", ""),
		Store:         env.String("NOTIFICATION_STORE", "notificationstore"),
		SMTPBinding:   env.String("SMTP_BINDING", "smtp"),
		APIAppID:      env.String("API_APP_ID", "api"),
		PublicURL:     env.String("PUBLIC_URL", "http://127.0.0.1:8080"),
		Lease:         env.Duration("EMAIL_CLAIM_LEASE", 2*time.Minute),
		ShutdownGrace: env.Duration("SHUTDOWN_GRACE", 15*time.Second),
	}
	u, err := url.Parse(c.PublicURL)
	env.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "PUBLIC_URL must be an http(s) URL")
	env.Check(c.Lease >= time.Second, "EMAIL_CLAIM_LEASE must be at least 1s")
	return c, env.Err()
}

func (c config) String() string {
	return fmt.Sprintf("addr=%s dapr=%s store=%s smtp=%s api=%s publicURL=%s lease=%s appToken=%s daprToken=%s",
		c.Addr, c.DaprGRPCAddr, c.Store, c.SMTPBinding, c.APIAppID, c.PublicURL, c.Lease, service.Mask(c.AppToken), service.Mask(c.DaprAPIToken))
}
