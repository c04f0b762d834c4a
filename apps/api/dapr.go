package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// The errors of the order store.
var (
	errNotFound = errors.New("not found")
	errExists   = errors.New("already exists")
	errConflict = errors.New("changed by someone else")
)

// idemRecord is what an Idempotency-Key remembers: a fingerprint of the request it was
// first used with, and the event that request produced, so a retry returns (and, after a
// crash, re-publishes) the same order.
type idemRecord struct {
	Fingerprint string             `json:"fingerprint"`
	Event       events.OrderPlaced `json:"event"`
}

// orderStore keeps orders and idempotency keys.
type orderStore interface {
	Get(ctx context.Context, id string) (Order, string, error)
	Create(ctx context.Context, o Order) error
	Update(ctx context.Context, o Order, etag string) error
	GetIdempotency(ctx context.Context, key string) (idemRecord, bool, error)
	// ClaimIdempotency records the key first write wins. A claimed key is never released:
	// it holds an order whose event may be on the broker.
	ClaimIdempotency(ctx context.Context, key string, rec idemRecord) error
}

// publisher publishes the `order` event.
type publisher interface {
	PublishOrder(ctx context.Context, e events.OrderPlaced) error
}

// tokenizer exchanges a card number for the bank's token.
type tokenizer interface {
	Tokenize(ctx context.Context, number string, expMonth, expYear int) (events.Card, error)
}

// stateClient is the part of the Dapr client the store uses.
type stateClient interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
	SaveStateWithETag(ctx context.Context, storeName, key string, data []byte, etag string, meta map[string]string, so ...dapr.StateOption) error
}

var jsonMeta = map[string]string{"contentType": "application/json"}

// idemTTL is how long an Idempotency-Key is remembered.
const idemTTL = 24 * time.Hour

type daprOrderStore struct {
	client stateClient
	store  string
}

func orderKey(id string) string { return "order-" + id }

// idemKey hashes the client's key: it may hold any characters, the state key may not.
func idemKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "idem-" + hex.EncodeToString(sum[:16])
}

func (s *daprOrderStore) Get(ctx context.Context, id string) (Order, string, error) {
	var o Order
	item, err := s.client.GetState(ctx, s.store, orderKey(id), nil)
	if err != nil {
		return o, "", fmt.Errorf("get order: %w", err)
	}
	if item == nil || len(item.Value) == 0 {
		return o, "", errNotFound
	}
	if err := json.Unmarshal(item.Value, &o); err != nil {
		return o, "", fmt.Errorf("decode order %s: %w", id, err)
	}
	return o, item.Etag, nil
}

func (s *daprOrderStore) Create(ctx context.Context, o Order) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	err = service.FirstWrite(ctx, s.client, s.store, orderKey(o.OrderID), b, jsonMeta)
	if errors.Is(err, service.ErrKeyExists) {
		return errExists
	}
	return err
}

func (s *daprOrderStore) Update(ctx context.Context, o Order, etag string) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	err = s.client.SaveStateWithETag(ctx, s.store, orderKey(o.OrderID), b, etag, jsonMeta, dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	if service.IsETagConflict(err) {
		return errConflict
	}
	return err
}

func (s *daprOrderStore) GetIdempotency(ctx context.Context, key string) (idemRecord, bool, error) {
	var rec idemRecord
	item, err := s.client.GetState(ctx, s.store, idemKey(key), nil)
	if err != nil {
		return rec, false, fmt.Errorf("get idempotency key: %w", err)
	}
	if item == nil || len(item.Value) == 0 {
		return rec, false, nil
	}
	if err := json.Unmarshal(item.Value, &rec); err != nil {
		return rec, false, fmt.Errorf("decode idempotency record: %w", err)
	}
	return rec, true, nil
}

func (s *daprOrderStore) ClaimIdempotency(ctx context.Context, key string, rec idemRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	meta := map[string]string{"contentType": "application/json", "ttlInSeconds": strconv.Itoa(int(idemTTL.Seconds()))}
	err = service.FirstWrite(ctx, s.client, s.store, idemKey(key), b, meta)
	if errors.Is(err, service.ErrKeyExists) {
		return errExists
	}
	return err
}

// pubsubClient is the part of the Dapr client the publisher uses.
type pubsubClient interface {
	PublishEvent(ctx context.Context, pubsubName, topicName string, data any, opts ...dapr.PublishEventOption) error
}

type daprPublisher struct{ client pubsubClient }

// PublishOrder publishes with the order id as the CloudEvent id (consumers deduplicate on
// it) and as the partition key (one order's events stay in order).
func (p *daprPublisher) PublishOrder(ctx context.Context, e events.OrderPlaced) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return p.client.PublishEvent(ctx, events.PubSub, events.TopicOrder, b,
		dapr.PublishEventWithContentType("application/json"),
		dapr.PublishEventWithMetadata(map[string]string{
			"cloudevent.id":   e.OrderID,
			"cloudevent.type": events.TypeOrderPlaced,
			"partitionKey":    e.OrderID,
		}))
}

// bindingClient is the part of the Dapr client that calls output bindings.
type bindingClient interface {
	InvokeBinding(ctx context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error)
}

type daprBank struct {
	client  bindingClient
	binding string
}

// errCardRefused is a card the bank will not tokenize (its message says why).
type errCardRefused struct{ msg string }

func (e errCardRefused) Error() string { return e.msg }

// errBankUnavailable means the bank could not be reached or failed.
var errBankUnavailable = errors.New("bank unavailable")

// Tokenize sends the card number to the bank, through the Dapr binding, and keeps only the
// token, brand and last four digits it answers with.
func (b *daprBank) Tokenize(ctx context.Context, number string, expMonth, expYear int) (events.Card, error) {
	req := map[string]any{"number": number}
	if expMonth > 0 {
		req["expMonth"], req["expYear"] = expMonth, expYear
	}
	body, err := json.Marshal(req)
	if err != nil {
		return events.Card{}, err
	}
	resp, err := b.client.InvokeBinding(ctx, &dapr.InvokeBindingRequest{
		Name: b.binding, Operation: "post", Data: body,
		Metadata: map[string]string{"path": "/v1/tokens", "Content-Type": "application/json"},
	})
	if err != nil {
		return events.Card{}, fmt.Errorf("%w: %v", errBankUnavailable, err)
	}
	code, _ := strconv.Atoi(resp.Metadata["statusCode"])
	switch {
	case code == 201 || code == 200:
		var card events.Card
		if err := json.Unmarshal(resp.Data, &card); err != nil || card.Token == "" || len(card.Last4) != 4 {
			return events.Card{}, fmt.Errorf("%w: unexpected token answer", errBankUnavailable)
		}
		return card, nil
	case code == 400 || code == 402 || code == 422:
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(resp.Data, &e)
		if e.Message == "" {
			e.Message = "the bank refused this card"
		}
		return events.Card{}, errCardRefused{msg: e.Message}
	default:
		return events.Card{}, fmt.Errorf("%w: status %d", errBankUnavailable, code)
	}
}
