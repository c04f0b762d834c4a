package service

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// PPROF_ADDR on loopback serves the profiles until the context ends.
func TestPprofServedOnLoopback(t *testing.T) {
	addr := freeLoopbackAddr(t)
	t.Setenv("PPROF_ADDR", addr)
	ctx, cancel := context.WithCancel(context.Background())
	startPprof(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var resp *http.Response
	require.Eventually(t, func() bool {
		var err error
		resp, err = http.Get("http://" + addr + "/debug/pprof/cmdline")
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "pprof is served")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "the port is released when the service stops")
}

// A non-loopback address is refused: profiles never leave the machine.
func TestPprofRefusesNonLoopback(t *testing.T) {
	t.Setenv("PPROF_ADDR", "0.0.0.0:0")
	logged := &logBuffer{}
	startPprof(context.Background(), slog.New(slog.NewTextHandler(logged, nil)))
	assert.Contains(t, logged.String(), "PPROF_ADDR ignored")
}
