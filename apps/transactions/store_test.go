package main

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// fakeState behaves like a Dapr state store over gRPC: a first-write save of an existing
// key fails with codes.Aborted.
type fakeState struct {
	mu    sync.Mutex
	items map[string][]byte
}

func (f *fakeState) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &dapr.StateItem{Key: key, Value: f.items[key], Etag: "1"}, nil
}

func (f *fakeState) SaveState(_ context.Context, _, key string, data []byte, _ map[string]string, so ...dapr.StateOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var o dapr.StateOptions
	for _, opt := range so {
		opt(&o)
	}
	if _, ok := f.items[key]; ok && o.Concurrency == dapr.StateConcurrencyFirstWrite {
		return status.Error(codes.Aborted, "possible etag mismatch")
	}
	f.items[key] = data
	return nil
}

func TestDaprDecisionsFirstDecisionStands(t *testing.T) {
	ctx := context.Background()
	s := &daprDecisions{client: &fakeState{items: map[string][]byte{}}, store: "paymentstore"}

	_, found, err := s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.False(t, found)

	first := decision{Outcome: order.OutcomePaid, ChargeID: "ch_1", DecidedAt: testNow}
	got, err := s.Decide(ctx, orderID, first)
	require.NoError(t, err)
	assert.Equal(t, first.ChargeID, got.ChargeID)

	// Another replica's later verdict does not replace it: the first one is returned.
	got, err = s.Decide(ctx, orderID, decision{Outcome: order.OutcomeFailed, Reason: "bank_unavailable", DecidedAt: testNow.Add(time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, order.OutcomePaid, got.Outcome)
	assert.Equal(t, "ch_1", got.ChargeID)

	stored, found, err := s.Get(ctx, orderID)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, order.OutcomePaid, stored.Outcome)
	assert.True(t, testNow.Equal(stored.DecidedAt))
}

type fakePubSub struct {
	pubsub, topic string
	data          []byte
	req           pb.PublishEventRequest
}

func (f *fakePubSub) PublishEvent(_ context.Context, pubsubName, topicName string, data any, opts ...dapr.PublishEventOption) error {
	f.pubsub, f.topic = pubsubName, topicName
	f.data, _ = data.([]byte)
	for _, o := range opts {
		o(&f.req)
	}
	return nil
}

func TestDaprPublisherPublishCharged(t *testing.T) {
	f := &fakePubSub{}
	e := events.OrderCharged{OrderID: orderID,
		Details: order.Details{RestaurantName: "China city", Email: "dana@example.com", Currency: "ILS", Card: order.Card{Brand: "visa", Last4: "4242"}},
		Charge:  order.Charge{Outcome: order.OutcomePaid, ChargeID: "ch_1", DecidedAt: testNow}}
	require.NoError(t, (&daprPublisher{client: f}).PublishCharged(context.Background(), e))
	assert.Equal(t, events.PubSub, f.pubsub)
	assert.Equal(t, events.TopicOrderConfirm, f.topic)
	assert.Equal(t, "application/json", f.req.DataContentType)
	assert.Equal(t, orderID+".charged", f.req.Metadata["cloudevent.id"], "a stable id per order and step")
	assert.Equal(t, events.TypeOrderCharged, f.req.Metadata["cloudevent.type"])
	assert.Equal(t, orderID, f.req.Metadata["partitionKey"], "one order's events stay in order")
	var got events.OrderCharged
	require.NoError(t, json.Unmarshal(f.data, &got))
	assert.Equal(t, e.ChargeID, got.ChargeID)
	assert.Empty(t, got.Card.Token)
}
