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
