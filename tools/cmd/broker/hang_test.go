package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestProduceHangHoldsThenAppends: during a hang a producer's request is taken off the
// wire and not answered (a producer with a deadline gives up: the publish returns an
// error); when the hang ends the record is appended and answered all the same. That is a
// publish whose outcome its client could not see.
func TestProduceHangHoldsThenAppends(t *testing.T) {
	addr, srv, _ := startGated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, produce(ctx, addr, "before"))
	require.Equal(t, float64(1), records(t, srv))

	status, body := call(t, http.MethodPost, srv.URL+"/produce-hang?for=1m")
	require.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, true, body["on"])

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("order"))
	require.NoError(t, err)
	defer cl.Close()
	done := make(chan error, 1)
	go func() { done <- cl.ProduceSync(ctx, &kgo.Record{Value: []byte("held")}).FirstErr() }()
	for {
		_, body = call(t, http.MethodGet, srv.URL+"/produce-hang")
		if body["held"].(float64) >= 1 {
			break
		}
		require.NoError(t, ctx.Err(), "the produce request never arrived")
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("answered during the hang: %v", err)
	default:
	}
	assert.Equal(t, float64(1), records(t, srv), "held, not appended yet; offsets answer during the hang")

	status, body = call(t, http.MethodDelete, srv.URL+"/produce-hang")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, false, body["on"])
	assert.Equal(t, float64(1), body["hangs"])
	require.NoError(t, <-done, "appended and answered once the hang ends")
	assert.Equal(t, float64(2), records(t, srv))
	require.NoError(t, produce(ctx, addr, "after"), "the broker answers again")
}

func TestProduceHangEndsByItself(t *testing.T) {
	addr, srv, _ := startGated(t)
	status, _ := call(t, http.MethodPost, srv.URL+"/produce-hang?for=1s")
	require.Equal(t, http.StatusAccepted, status)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, produce(ctx, addr, "x"), "held, then appended and answered")
	_, body := call(t, http.MethodGet, srv.URL+"/produce-hang")
	assert.Equal(t, false, body["on"])
}

func TestProduceHangRejectsBadDurations(t *testing.T) {
	_, srv, _ := startGated(t)
	for _, q := range []string{"", "for=abc", "for=10ms", "for=1h", "for=-5s"} {
		t.Run(q, func(t *testing.T) {
			status, body := call(t, http.MethodPost, srv.URL+"/produce-hang?"+q)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_duration", body["code"])
			_, body = call(t, http.MethodGet, srv.URL+"/produce-hang")
			assert.Equal(t, false, body["on"])
		})
	}
}
