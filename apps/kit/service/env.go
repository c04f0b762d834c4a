package service

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Env reads typed configuration from environment variables, collecting every problem so a
// service reports all of its bad settings at once. Services call it from config.go only.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// NewEnv reads from the process environment; lookup, when given, replaces it (for tests).
func NewEnv(lookup func(string) (string, bool)) *Env {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Env{lookup: lookup}
}

// String returns the variable or def when it is unset or empty.
func (e *Env) String(name, def string) string {
	if v, ok := e.lookup(name); ok && v != "" {
		return v
	}
	return def
}

// Int returns the variable parsed as an int, or def.
func (e *Env) Int(name string, def int) int {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		return def
	}
	return n
}

// Float returns the variable parsed as a float, or def.
func (e *Env) Float(name string, def float64) float64 {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a number", name, v))
		return def
	}
	return f
}

// Duration returns the variable parsed as a Go duration ("2s", "150ms"), or def.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a duration (like 2s or 150ms)", name, v))
		return def
	}
	return d
}

// Check adds a problem when ok is false.
func (e *Env) Check(ok bool, format string, args ...any) {
	if !ok {
		e.errs = append(e.errs, fmt.Errorf(format, args...))
	}
}

// Err returns every problem found so far, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("bad configuration: %w", errors.Join(e.errs...))
}

// Mask shows whether a secret is set without showing it, for start-up config logs.
func Mask(secret string) string {
	if secret == "" {
		return "(unset)"
	}
	return "(set)"
}

// DaprApp is the configuration every Dapr app of this system reads the same way.
type DaprApp struct {
	// Addr is where the app listens: <PREFIX>_ADDR, or 127.0.0.1:APP_PORT.
	Addr string
	// DaprGRPCAddr and DaprHTTPPort locate the app's own sidecar (DAPR_GRPC_PORT,
	// DAPR_HTTP_PORT, set by daprd's launcher).
	DaprGRPCAddr string
	DaprHTTPPort string
	// DaprAPIToken is the sidecar's API token, sent with every call to it.
	DaprAPIToken string
	// AppToken is the token the sidecar presents to the app; nothing else may call it.
	AppToken string
	// ShutdownGrace bounds the drain of requests and events in flight at shutdown.
	ShutdownGrace time.Duration
}

// DaprApp reads the settings every app shares. prefix names the listen variable
// ("API" → API_ADDR); port and grace are the app's defaults.
func (e *Env) DaprApp(prefix, port string, grace time.Duration) DaprApp {
	return DaprApp{
		Addr:          e.String(prefix+"_ADDR", "127.0.0.1:"+e.String("APP_PORT", port)),
		DaprGRPCAddr:  "127.0.0.1:" + e.String("DAPR_GRPC_PORT", "50001"),
		DaprHTTPPort:  e.String("DAPR_HTTP_PORT", "3500"),
		DaprAPIToken:  e.String("DAPR_API_TOKEN", ""),
		AppToken:      e.String("APP_API_TOKEN", ""),
		ShutdownGrace: e.Duration("SHUTDOWN_GRACE", grace),
	}
}

// String is the shared part of an app's start-up config line, tokens masked.
func (d DaprApp) String() string {
	return fmt.Sprintf("addr=%s dapr=%s appToken=%s daprToken=%s", d.Addr, d.DaprGRPCAddr, Mask(d.AppToken), Mask(d.DaprAPIToken))
}
