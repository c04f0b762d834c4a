package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func lookupFrom(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestEnv(t *testing.T) {
	env := NewEnv(lookupFrom(map[string]string{
		"PORT": "5000", "EMPTY": "", "RATE": "0.3", "GRACE": "150ms", "NAME": "api",
		"BAD_INT": "5k", "BAD_FLOAT": "thirty", "BAD_DURATION": "10",
	}))
	assert.Equal(t, "api", env.String("NAME", "x"))
	assert.Equal(t, "def", env.String("EMPTY", "def"), "empty counts as unset")
	assert.Equal(t, "def", env.String("MISSING", "def"))
	assert.Equal(t, 5000, env.Int("PORT", 1))
	assert.Equal(t, 7, env.Int("MISSING", 7))
	assert.InDelta(t, 0.3, env.Float("RATE", 0), 1e-9)
	assert.Equal(t, 150*time.Millisecond, env.Duration("GRACE", time.Second))
	assert.Equal(t, time.Second, env.Duration("MISSING", time.Second))
	require.NoError(t, env.Err())

	assert.Equal(t, 1, env.Int("BAD_INT", 1), "the default stands in")
	assert.InDelta(t, 2.0, env.Float("BAD_FLOAT", 2), 1e-9)
	assert.Equal(t, time.Second, env.Duration("BAD_DURATION", time.Second))
	env.Check(false, "LEASE must be at least %s", "1s")
	err := env.Err()
	require.Error(t, err)
	for _, want := range []string{`BAD_INT="5k"`, `BAD_FLOAT="thirty"`, `BAD_DURATION="10"`, "LEASE must be at least 1s"} {
		assert.Contains(t, err.Error(), want, "every problem is reported at once")
	}
}

func TestMask(t *testing.T) {
	assert.Equal(t, "(unset)", Mask(""))
	assert.Equal(t, "(set)", Mask("s3cret"))
	assert.NotContains(t, Mask("s3cret"), "s3cret")
}

func TestIsETagConflict(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"aborted", status.Error(codes.Aborted, "possible etag mismatch"), true},
		{"wrapped aborted", fmt.Errorf("save: %w", status.Error(codes.Aborted, "x")), true},
		{"unavailable", status.Error(codes.Unavailable, "x"), false},
		{"plain error", errors.New("x"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, IsETagConflict(tc.err)) })
	}
}

func TestSidecarReady(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ok     bool
	}{
		{"healthy", 204, true},
		{"not ready", 500, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				w.WriteHeader(tc.status)
			}))
			t.Cleanup(srv.Close)
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
			err := SidecarReady(context.Background(), port)
			assert.Equal(t, tc.ok, err == nil, "err %v", err)
			assert.Equal(t, "/v1.0/healthz/outbound", path)
		})
	}
	t.Run("no sidecar", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		require.NoError(t, ln.Close())
		assert.Error(t, SidecarReady(context.Background(), port))
	})
}

func TestServe(t *testing.T) {
	t.Run("serves until cancelled, then frees the port", func(t *testing.T) {
		log, buf := testLogger(t)
		ctx, cancel := context.WithCancel(context.Background())
		srv := NewServer("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, 200, "hi") }))
		errc := make(chan error, 1)
		go func() { errc <- Serve(ctx, log, srv, time.Second) }()

		var addr string
		require.Eventually(t, func() bool {
			for _, l := range buf.lines() {
				var line map[string]any
				if json.Unmarshal([]byte(l), &line) == nil && line["msg"] == "listening" {
					addr, _ = line["addr"].(string)
					return true
				}
			}
			return false
		}, 5*time.Second, 5*time.Millisecond)
		resp, err := http.Get("http://" + addr + "/")
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)

		cancel()
		require.NoError(t, <-errc)
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err, "the port is free after shutdown")
		require.NoError(t, ln.Close())
	})
	t.Run("fails fast when the port is taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		log, _ := testLogger(t)
		err = Serve(context.Background(), log, NewServer(ln.Addr().String(), http.NotFoundHandler()), time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), ln.Addr().String())
	})
}

func TestDaprAppSettings(t *testing.T) {
	env := NewEnv(func(k string) (string, bool) {
		v, ok := map[string]string{"APP_PORT": "6001", "DAPR_GRPC_PORT": "51002", "DAPR_API_TOKEN": "secret-dapr", "APP_API_TOKEN": "secret-app"}[k]
		return v, ok
	})
	d := env.DaprApp("TRANSACTIONS", "5001", 15*time.Second)
	require.NoError(t, env.Err())
	assert.Equal(t, "127.0.0.1:6001", d.Addr, "APP_PORT from the launcher wins over the default")
	assert.Equal(t, "127.0.0.1:51002", d.DaprGRPCAddr)
	assert.Equal(t, "3500", d.DaprHTTPPort)
	assert.Equal(t, 15*time.Second, d.ShutdownGrace)
	assert.NotContains(t, d.String(), "secret", "tokens are masked in the start-up line")

	withAddr := NewEnv(func(k string) (string, bool) {
		return map[string]string{"TRANSACTIONS_ADDR": ":5001"}[k], k == "TRANSACTIONS_ADDR"
	})
	assert.Equal(t, ":5001", withAddr.DaprApp("TRANSACTIONS", "5001", time.Second).Addr, "the chart listens on the pod address")
}
