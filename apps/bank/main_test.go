package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeAndGracefulShutdown(t *testing.T) {
	logs := &lockedBuffer{}
	cfg, err := loadConfig(envMap(map[string]string{
		"BANK_ADDR": "127.0.0.1:0", "BANK_DATA_DIR": t.TempDir(), "BANK_SEED": "1", "BANK_SLOW_DELAY": "300ms",
	}))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, slog.New(slog.NewJSONHandler(logs, nil)), cfg, func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve returned early: %v", err)
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("serve did not return after cancel")
	}
	_, err = net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "the port is released")
	assert.Contains(t, logs.String(), `"msg":"bank shutting down"`)
}

func TestServeReportsAnUnusableAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	cfg := config{Addr: ln.Addr().String(), DataDir: t.TempDir()}
	err = serve(context.Background(), slog.New(slog.DiscardHandler), cfg, nil)
	assert.ErrorContains(t, err, "listen")
}
