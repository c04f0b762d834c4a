package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := loadConfig(envMap(nil))
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1:5100", cfg.Addr)
		assert.Equal(t, ".data/bank", cfg.DataDir)
		assert.Equal(t, time.Duration(0), cfg.Latency)
		assert.Equal(t, 2*time.Second, cfg.SlowDelay)
		assert.Zero(t, cfg.FailureRate)
		assert.Zero(t, cfg.DropReplyRate)
		assert.False(t, cfg.SeedFromEnv)
		assert.Less(t, cfg.Seed, uint64(1_000_000_000))
		assert.Zero(t, cfg.MaxRecords, "no bound on a developer's machine")
	})
	t.Run("overrides", func(t *testing.T) {
		cfg, err := loadConfig(envMap(map[string]string{
			"BANK_ADDR": "0.0.0.0:6000", "BANK_DATA_DIR": "/tmp/x", "BANK_LATENCY": "150ms",
			"BANK_SLOW_DELAY": "5s", "BANK_FAILURE_RATE": "0.25", "BANK_DROP_REPLY_RATE": "0.5", "BANK_SEED": "7",
			"BANK_MAX_RECORDS": "100000",
		}))
		require.NoError(t, err)
		assert.Equal(t, config{
			Addr: "0.0.0.0:6000", DataDir: "/tmp/x", Latency: 150 * time.Millisecond, SlowDelay: 5 * time.Second,
			FailureRate: 0.25, DropReplyRate: 0.5, Seed: 7, SeedFromEnv: true, MaxRecords: 100_000,
		}, cfg)
	})

	bad := []struct {
		name, key, value, wantErr string
	}{
		{"addr without port", "BANK_ADDR", "localhost", `BANK_ADDR: want host:port, got "localhost"`},
		{"latency not a duration", "BANK_LATENCY", "fast", `BANK_LATENCY: want a non-negative duration such as 250ms, got "fast"`},
		{"negative slow delay", "BANK_SLOW_DELAY", "-1s", `BANK_SLOW_DELAY: want a non-negative duration such as 250ms, got "-1s"`},
		{"failure rate above 1", "BANK_FAILURE_RATE", "1.5", `BANK_FAILURE_RATE: want a number from 0 to 1, got "1.5"`},
		{"drop rate not a number", "BANK_DROP_REPLY_RATE", "half", `BANK_DROP_REPLY_RATE: want a number from 0 to 1, got "half"`},
		{"negative seed", "BANK_SEED", "-3", `BANK_SEED: want an unsigned integer, got "-3"`},
		{"negative bound", "BANK_MAX_RECORDS", "-1", `BANK_MAX_RECORDS: want a whole number, 0 for no bound, got "-1"`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(envMap(map[string]string{tt.key: tt.value}))
			assert.EqualError(t, err, tt.wantErr)
		})
	}
	t.Run("rates sum above 1", func(t *testing.T) {
		_, err := loadConfig(envMap(map[string]string{"BANK_FAILURE_RATE": "0.6", "BANK_DROP_REPLY_RATE": "0.6"}))
		assert.ErrorContains(t, err, "must not exceed 1")
	})
	t.Run("every error at once", func(t *testing.T) {
		_, err := loadConfig(envMap(map[string]string{"BANK_LATENCY": "x", "BANK_SEED": "y"}))
		assert.ErrorContains(t, err, "BANK_LATENCY")
		assert.ErrorContains(t, err, "BANK_SEED")
	})
}
