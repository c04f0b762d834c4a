package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// config is everything the bank reads from its environment, read once at start.
type config struct {
	// Addr is the listen address; loopback by default because the bank sits outside
	// the system and only the Dapr binding on this host calls it.
	Addr string
	// DataDir holds tokens.jsonl and ledger.jsonl.
	DataDir string
	// Latency is added to every tokens, charges and refunds call.
	Latency time.Duration
	// SlowDelay is how long the "slow" test card takes to approve.
	SlowDelay time.Duration
	// FailureRate is the share of charge calls answered 503 without charging.
	FailureRate float64
	// DropReplyRate is the share of charge calls that charge and then close the
	// connection without replying.
	DropReplyRate float64
	// Seed feeds the fault-injection random source so a failing run can be repeated.
	Seed uint64
	// SeedFromEnv records whether Seed came from BANK_SEED or was drawn at random.
	SeedFromEnv bool
	// MaxRecords bounds the tokens and charges the bank keeps (it keeps them all in memory,
	// and on disk). At the bound it refuses new ones with 507 ledger_full, an answer the
	// caller sees, instead of growing until its memory limit kills it; earlier answers
	// still replay. 0 (the default, for a developer's machine): no bound. The chart sets
	// one to match its memory limit (bank.maxRecords).
	MaxRecords int
}

// loadConfig reads the BANK_* variables through lookup (os.LookupEnv in main, a map
// in tests), applies defaults and reports every invalid value at once.
func loadConfig(lookup func(string) (string, bool)) (config, error) {
	cfg := config{
		Addr:      "127.0.0.1:5100",
		DataDir:   ".data/bank",
		SlowDelay: 2 * time.Second,
	}
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		v, ok := lookup(name)
		if !ok || v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: want a non-negative duration such as 250ms, got %q", name, v))
			return
		}
		*dst = d
	}
	rate := func(name string, dst *float64) {
		v, ok := lookup(name)
		if !ok || v == "" {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			errs = append(errs, fmt.Errorf("%s: want a number from 0 to 1, got %q", name, v))
			return
		}
		*dst = f
	}

	str("BANK_ADDR", &cfg.Addr)
	str("BANK_DATA_DIR", &cfg.DataDir)
	dur("BANK_LATENCY", &cfg.Latency)
	dur("BANK_SLOW_DELAY", &cfg.SlowDelay)
	rate("BANK_FAILURE_RATE", &cfg.FailureRate)
	rate("BANK_DROP_REPLY_RATE", &cfg.DropReplyRate)
	if v, ok := lookup("BANK_MAX_RECORDS"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("BANK_MAX_RECORDS: want a whole number, 0 for no bound, got %q", v))
		}
		cfg.MaxRecords = n
	}
	if v, ok := lookup("BANK_SEED"); ok && v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("BANK_SEED: want an unsigned integer, got %q", v))
		}
		cfg.Seed, cfg.SeedFromEnv = seed, true
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		// Below 10^9: short enough to copy from the log into BANK_SEED, and no
		// long digit run for a card-number scan of the logs to trip over.
		cfg.Seed = binary.LittleEndian.Uint64(b[:]) % 1_000_000_000
	}

	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		errs = append(errs, fmt.Errorf("BANK_ADDR: want host:port, got %q", cfg.Addr))
	}
	if cfg.FailureRate+cfg.DropReplyRate > 1 {
		errs = append(errs, fmt.Errorf("BANK_FAILURE_RATE + BANK_DROP_REPLY_RATE must not exceed 1, got %g",
			cfg.FailureRate+cfg.DropReplyRate))
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// logAttrs lists the configuration for the start-up log line; the bank has no
// secrets, so nothing is masked.
func (c config) logAttrs() []any {
	return []any{
		slog.String("addr", c.Addr),
		slog.String("dataDir", c.DataDir),
		slog.String("latency", c.Latency.String()),
		slog.String("slowDelay", c.SlowDelay.String()),
		slog.Float64("failureRate", c.FailureRate),
		slog.Float64("dropReplyRate", c.DropReplyRate),
		slog.Uint64("seed", c.Seed),
		slog.Bool("seedFromEnv", c.SeedFromEnv),
		slog.Int("maxRecords", c.MaxRecords),
	}
}
