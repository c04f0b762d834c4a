package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
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

// fakeBankBinding answers like the HTTP binding with errorIfNot2XX off.
type fakeBankBinding struct {
	status, body string
	err          error
	calls        []*dapr.InvokeBindingRequest
}

func (f *fakeBankBinding) InvokeBinding(_ context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &dapr.BindingEvent{Data: []byte(f.body), Metadata: map[string]string{"statusCode": f.status}}, nil
}

func TestDaprBankTokenize(t *testing.T) {
	tests := []struct {
		name         string
		status, body string
		err          error
		want         order.Card
		wantRefused  string
		wantDown     bool
	}{
		{"tokenized", "201", `{"token":"tok_abc123","brand":"visa","last4":"4242"}`, nil, order.Card{Token: "tok_abc123", Brand: "visa", Last4: "4242"}, "", false},
		{"refused with a reason", "400", `{"code":"invalid_card","message":"card number fails the check digit"}`, nil, order.Card{}, "card number fails the check digit", false},
		{"refused without a reason", "402", ``, nil, order.Card{}, "the bank refused this card", false},
		{"unprocessable", "422", `{"message":"expired card"}`, nil, order.Card{}, "expired card", false},
		{"bank error", "500", ``, nil, order.Card{}, "", true},
		{"no status", "", ``, nil, order.Card{}, "", true},
		{"binding unreachable", "", ``, errors.New("connection refused"), order.Card{}, "", true},
		{"answer without a token", "201", `{"brand":"visa","last4":"4242"}`, nil, order.Card{}, "", true},
		{"answer with a full number as last4", "201", `{"token":"tok_abc123","brand":"visa","last4":"4242424242424242"}`, nil, order.Card{}, "", true},
		{"answer not JSON", "201", `<html>`, nil, order.Card{}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeBankBinding{status: tc.status, body: tc.body, err: tc.err}
			card, err := (&daprBank{client: f, binding: "bank"}).Tokenize(context.Background(), cardVisa, 12, 2030)
			var refused errCardRefused
			switch {
			case tc.wantRefused != "":
				require.ErrorAs(t, err, &refused)
				assert.Equal(t, tc.wantRefused, refused.msg)
			case tc.wantDown:
				require.ErrorIs(t, err, errBankUnavailable)
				assert.NotContains(t, err.Error(), cardVisa)
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, card)
			}
			require.Len(t, f.calls, 1)
			in := f.calls[0]
			assert.Equal(t, "bank", in.Name)
			assert.Equal(t, "post", in.Operation)
			assert.Equal(t, "/v1/tokens", in.Metadata["path"])
			var body map[string]any
			require.NoError(t, json.Unmarshal(in.Data, &body))
			assert.Equal(t, map[string]any{"number": cardVisa, "expMonth": float64(12), "expYear": float64(2030)}, body)
		})
	}
}

func TestDaprBankTokenizeWithoutExpiry(t *testing.T) {
	f := &fakeBankBinding{status: "201", body: `{"token":"tok_abc123","brand":"visa","last4":"4242"}`}
	_, err := (&daprBank{client: f, binding: "bank"}).Tokenize(context.Background(), cardVisa, 0, 0)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(f.calls[0].Data, &body))
	assert.Equal(t, map[string]any{"number": cardVisa}, body, "seed orders have no expiry: none is invented")
}

// fakePubSub records publish calls with their options applied.
type fakePubSub struct {
	topic, pubsub string
	data          []byte
	req           pb.PublishEventRequest
	err           error
}

func (f *fakePubSub) PublishEvent(_ context.Context, pubsubName, topicName string, data any, opts ...dapr.PublishEventOption) error {
	f.pubsub, f.topic = pubsubName, topicName
	f.data, _ = data.([]byte)
	for _, o := range opts {
		o(&f.req)
	}
	return f.err
}

func TestDaprPublisherPublishOrder(t *testing.T) {
	f := &fakePubSub{}
	e := events.OrderPlaced{OrderID: orderID, Details: order.Details{RestaurantName: "China city", Email: "dana@example.com", Currency: "ILS",
		Card: order.Card{Token: "tok_abc123", Brand: "visa", Last4: "4242"}, PlacedAt: testNow}}
	require.NoError(t, (&daprPublisher{client: f}).PublishOrder(context.Background(), e))
	assert.Equal(t, events.PubSub, f.pubsub)
	assert.Equal(t, events.TopicOrder, f.topic)
	assert.Equal(t, "application/json", f.req.DataContentType)
	assert.Equal(t, orderID, f.req.Metadata["cloudevent.id"], "consumers deduplicate on the order id")
	assert.Equal(t, events.TypeOrderPlaced, f.req.Metadata["cloudevent.type"])
	assert.Equal(t, orderID, f.req.Metadata["partitionKey"], "one order's events stay in order")
	var got events.OrderPlaced
	require.NoError(t, json.Unmarshal(f.data, &got))
	assert.Equal(t, e.OrderID, got.OrderID)
	assert.Equal(t, e.Card, got.Card)

	f.err = errBoom
	assert.ErrorIs(t, (&daprPublisher{client: f}).PublishOrder(context.Background(), e), errBoom)
}

// fakeState behaves like a Dapr state store over gRPC: a first-write save of a key that
// exists fails with codes.Aborted.
type fakeState struct {
	mu        sync.Mutex
	items     map[string][]byte
	etags     map[string]int
	metas     map[string]map[string]string
	bulkReads int
	failSaves bool // every save fails, as with a store that is down
}

func newFakeState() *fakeState {
	return &fakeState{items: map[string][]byte{}, etags: map[string]int{}, metas: map[string]map[string]string{}}
}

func (f *fakeState) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[key]
	if !ok {
		return &dapr.StateItem{Key: key}, nil
	}
	return &dapr.StateItem{Key: key, Value: v, Etag: strconv.Itoa(f.etags[key])}, nil
}

func firstWrite(so []dapr.StateOption) bool {
	var o dapr.StateOptions
	for _, opt := range so {
		opt(&o)
	}
	return o.Concurrency == dapr.StateConcurrencyFirstWrite
}

func (f *fakeState) SaveState(_ context.Context, _, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSaves {
		return status.Error(codes.Unavailable, "state store down")
	}
	if _, ok := f.items[key]; ok && firstWrite(so) {
		return status.Error(codes.Aborted, "possible etag mismatch")
	}
	f.items[key], f.metas[key] = data, meta
	f.etags[key]++
	return nil
}

func (f *fakeState) GetBulkState(ctx context.Context, store string, keys []string, meta map[string]string, _ int32) ([]*dapr.BulkStateItem, error) {
	f.mu.Lock()
	f.bulkReads++
	f.mu.Unlock()
	var out []*dapr.BulkStateItem
	for _, k := range keys {
		item, _ := f.GetState(ctx, store, k, meta)
		out = append(out, &dapr.BulkStateItem{Key: k, Value: item.Value, Etag: item.Etag})
	}
	return out, nil
}

func TestDaprOrderStore(t *testing.T) {
	ctx := context.Background()
	f := newFakeState()
	s := &daprOrderStore{client: f, store: "orderstore"}
	details := order.Details{RestaurantName: "China city", Email: "dana@example.com", Currency: "ILS", Items: []order.Item{},
		Card: order.Card{Token: "tok_abc123", Brand: "visa", Last4: "4242"}, PlacedAt: testNow}

	_, err := s.Get(ctx, orderID)
	require.ErrorIs(t, err, errNotFound)

	require.NoError(t, s.Create(ctx, record{OrderID: orderID, Details: details}))
	assert.Equal(t, "application/json", f.metas["order-"+orderID]["contentType"], "stored as JSON")
	assert.NotContains(t, string(f.items["order-"+orderID]), "tok_", "the record keeps no card token")
	other := details
	other.RestaurantName = "Pizza Roma"
	require.ErrorIs(t, s.Create(ctx, record{OrderID: orderID, Details: other}), errExists, "first write wins")

	got, err := s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.Equal(t, "China city", got.Details.RestaurantName)
	assert.Nil(t, got.Charge)

	charged := events.OrderCharged{OrderID: orderID, Details: details.Public(),
		Charge: order.Charge{Outcome: order.OutcomePaid, ChargeID: "ch_1", DecidedAt: testNow.Add(time.Second)}}
	require.NoError(t, s.RecordCharge(ctx, charged))
	later := charged
	later.Outcome = order.OutcomeDeclined
	require.ErrorIs(t, s.RecordCharge(ctx, later), errExists, "a decision is kept once: the first stands")

	reads := f.bulkReads
	got, err = s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.Equal(t, reads+1, f.bulkReads, "the record and its facts come in one read")
	require.NotNil(t, got.Charge)
	assert.Equal(t, order.OutcomePaid, got.Charge.Outcome)
	status, _, err := got.Steps()
	require.NoError(t, err)
	assert.Equal(t, order.StatusPaid, status)
}

// The API stopped between the publish and its record: the events carry the details, and
// the email's fate carries the decision, whichever of them arrives first.
func TestDaprOrderStoreWithoutARecord(t *testing.T) {
	ctx := context.Background()
	s := &daprOrderStore{client: newFakeState(), store: "orderstore"}
	details := order.Details{RestaurantName: "China city", Email: "dana@example.com", Currency: "ILS", Items: []order.Item{},
		Card: order.Card{Brand: "visa", Last4: "4242"}, PlacedAt: testNow}
	charge := order.Charge{Outcome: order.OutcomeDeclined, Reason: "card_declined", DecidedAt: testNow.Add(time.Second)}
	require.NoError(t, s.RecordNotice(ctx, events.OrderNotified{OrderID: orderID, Details: details, Charge: charge,
		Notice: order.Notice{Delivery: order.DeliverySent, NotifiedAt: testNow.Add(2 * time.Second)}}))

	got, err := s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.Equal(t, "China city", got.Details.RestaurantName)
	status, steps, err := got.Steps()
	require.NoError(t, err)
	assert.Equal(t, order.StatusNotifiedDeclined, status)
	assert.Len(t, steps, 3)
}

func TestDaprOrderStoreIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	f := newFakeState()
	s := &daprOrderStore{client: f, store: "orderstore"}
	const key = "checkout 1 / with spaces || and pipes"

	_, found, err := s.GetIdempotency(ctx, key)
	require.NoError(t, err)
	assert.False(t, found)

	rec := idemRecord{Fingerprint: "fp", Event: events.OrderPlaced{OrderID: orderID}}
	require.NoError(t, s.ClaimIdempotency(ctx, key, rec))
	require.ErrorIs(t, s.ClaimIdempotency(ctx, key, idemRecord{Fingerprint: "other"}), errExists)

	got, found, err := s.GetIdempotency(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "fp", got.Fingerprint)
	assert.Equal(t, orderID, got.Event.OrderID)

	for stateKey, meta := range f.metas {
		if strings.HasPrefix(stateKey, "idem-") {
			assert.NotContains(t, stateKey, "checkout", "the client's key is hashed")
			assert.Equal(t, "86400", meta["ttlInSeconds"], "keys expire after a day")
		}
	}

}
