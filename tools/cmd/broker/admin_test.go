package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startGated runs a one-broker kfake behind a gate on a free port, with the admin routes
// on an httptest server.
func startGated(t *testing.T) (addr string, srv *httptest.Server, g *gate) {
	t.Helper()
	g = newGate(net.Listen)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "order"), kfake.ListenFn(g.Listen))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	hang := &produceHang{}
	c.ControlKey(int16(kmsg.Produce), hang.control(c))
	a := &admin{gate: g, hang: hang, cluster: c, topics: []string{"order"}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv = httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return c.ListenAddrs()[0], srv, g
}

func call(t *testing.T, method, url string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func produce(ctx context.Context, addr, value string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("order"), kgo.RecordRetries(1000))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr()
}

func records(t *testing.T, srv *httptest.Server) float64 {
	t.Helper()
	status, body := call(t, http.MethodGet, srv.URL+"/offsets")
	require.Equal(t, http.StatusOK, status)
	order, ok := body["order"].(map[string]any)
	require.True(t, ok, "offsets lack the order topic: %v", body)
	return order["records"].(float64)
}

// TestOutageRefusesThenRecovers: during an outage the port refuses connections and open
// connections are reset; a producer that keeps retrying lands its record once it ends.
func TestOutageRefusesThenRecovers(t *testing.T) {
	addr, srv, _ := startGated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, produce(ctx, addr, "before"))
	assert.Equal(t, float64(1), records(t, srv))

	open, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer open.Close()

	status, body := call(t, http.MethodPost, srv.URL+"/outage?for=1m")
	require.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, true, body["down"])

	_, err = net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "the broker must refuse connections during an outage")
	assert.Contains(t, err.Error(), "refused")
	_ = open.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = open.Read(make([]byte, 1))
	require.Error(t, err, "an open connection must be cut")
	assert.NotContains(t, err.Error(), "timeout")

	// A producer during the outage cannot land anything...
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	require.Error(t, produce(short, addr, "lost"))
	assert.Equal(t, float64(1), records(t, srv), "offsets are readable during the outage")

	// ...and one that keeps retrying lands its record once the outage ends.
	done := make(chan error, 1)
	go func() { done <- produce(ctx, addr, "after") }()
	status, body = call(t, http.MethodDelete, srv.URL+"/outage")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, false, body["down"])
	assert.Equal(t, float64(1), body["outages"])
	require.NoError(t, <-done)
	assert.Equal(t, float64(2), records(t, srv))
}

// TestOutageEndsByItself: an outage given a duration ends without help.
func TestOutageEndsByItself(t *testing.T) {
	addr, srv, g := startGated(t)
	status, _ := call(t, http.MethodPost, srv.URL+"/outage?for=1s")
	require.Equal(t, http.StatusAccepted, status)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if down, _, _ := g.Status(); !down {
			break
		}
		require.True(t, time.Now().Before(deadline), "outage did not end")
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, produce(ctx, addr, "x"))
}

func TestOutageRejectsBadDurations(t *testing.T) {
	_, srv, g := startGated(t)
	for _, q := range []string{"", "for=abc", "for=10ms", "for=1h", "for=-5s"} {
		t.Run(q, func(t *testing.T) {
			status, body := call(t, http.MethodPost, srv.URL+"/outage?"+q)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_duration", body["code"])
			down, _, _ := g.Status()
			assert.False(t, down)
		})
	}
}

func TestAdminListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:9644", ":9644", "10.0.0.1:9644"} {
		t.Run(addr, func(t *testing.T) {
			_, err := serveAdmin(addr, &admin{})
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), "loopback"))
		})
	}
}
