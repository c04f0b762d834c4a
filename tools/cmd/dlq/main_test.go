package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func broker(t *testing.T) (string, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "order", "order_confirm", "order-dlq", "order_confirm-dlq"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return addr, cl
}

func count(t *testing.T, cl *kgo.Client, topic string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	letters, err := read(ctx, []string{cl.OptValue(kgo.SeedBrokers).([]string)[0]}, []string{topic}, "")
	require.NoError(t, err)
	return len(letters)
}

func TestListAndReplayOnce(t *testing.T) {
	addr, cl := broker(t)
	ctx := context.Background()
	for _, v := range []string{
		`{"specversion":"1.0","id":"ord_a","type":"kafkarestaurants.order.placed.v1","data":{"note":"card 4242 4242 4242 4242"}}`,
		`{"specversion":"1.0","id":"ord_b","type":"kafkarestaurants.order.placed.v1","data":{}}`,
	} {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "order-dlq", Key: []byte("k"), Value: []byte(v)}).FirstErr())
	}

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"list", "-brokers", addr}, &out))
	assert.Contains(t, out.String(), "ord_a")
	assert.Contains(t, out.String(), "ord_b")
	assert.NotContains(t, out.String(), "4242 4242 4242 4242", "list output masks card numbers")

	out.Reset()
	require.NoError(t, run(ctx, []string{"replay", "-brokers", addr}, &out))
	assert.Contains(t, out.String(), "2 replayed")
	assert.Equal(t, 2, count(t, cl, "order"), "both events are back on their source topic")

	out.Reset()
	require.NoError(t, run(ctx, []string{"replay", "-brokers", addr}, &out))
	assert.Contains(t, out.String(), "0 replayed", "a dead letter is replayed once")
	assert.Equal(t, 2, count(t, cl, "order"))
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"explode"}, {"list", "-topic", "nope"}} {
		assert.Error(t, run(context.Background(), args, &bytes.Buffer{}), "%v", args)
	}
}
