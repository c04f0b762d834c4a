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
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// The errors of the order store.
var (
	errNotFound = errors.New("not found")
	errExists   = errors.New("already exists")
)

// idemRecord is what an Idempotency-Key remembers: a fingerprint of the request it was
// first used with, and the event that request produced, so a retry returns (and, after a
// crash, re-publishes) the same order.
type idemRecord struct {
	Fingerprint string             `json:"fingerprint"`
	Event       events.OrderPlaced `json:"event"`
}

// orderStore keeps orders, the facts their events bring, and idempotency keys. Every
// write is a first write: nothing is read to be changed, so a repeated event or request
// changes nothing and two writers never race.
type orderStore interface {
	// Get reads all that is known of an order, in one call; errNotFound if nothing is.
	Get(ctx context.Context, id string) (order.Progress, error)
	// Create records an accepted order (errExists if it is recorded already).
	Create(ctx context.Context, r record) error
	// RecordCharge keeps an order's payment decision (errExists if it is kept already).
	RecordCharge(ctx context.Context, e events.OrderCharged) error
	// RecordNotice keeps the fate of an order's email (errExists if it is kept already).
	RecordNotice(ctx context.Context, e events.OrderNotified) error
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
	Tokenize(ctx context.Context, number string, expMonth, expYear int) (order.Card, error)
}

// stateClient is the part of the Dapr client the store uses.
type stateClient interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	GetBulkState(ctx context.Context, storeName string, keys []string, meta map[string]string, parallelism int32) ([]*dapr.BulkStateItem, error)
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
}

var jsonMeta = map[string]string{"contentType": "application/json"}

// idemTTL is how long an Idempotency-Key is remembered.
const idemTTL = 24 * time.Hour

type daprOrderStore struct {
	client stateClient
	store  string
}

// An order's keys: its record, and one per fact.
func orderKey(id string) string    { return "order-" + id }
func chargeKey(id string) string   { return "order-" + id + ".charged" }
func noticeKey(id string) string   { return "order-" + id + ".notified" }
func orderKeys(id string) []string { return []string{orderKey(id), chargeKey(id), noticeKey(id)} }

// idemKey hashes the client's key: it may hold any characters, the state key may not.
func idemKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "idem-" + hex.EncodeToString(sum[:16])
}

// Get reads the record and both facts in one bulk read. The record is missing only when
// the API stopped between the publish and its write; the facts carry the details then.
func (s *daprOrderStore) Get(ctx context.Context, id string) (order.Progress, error) {
	p := order.Progress{ID: id}
	items, err := s.client.GetBulkState(ctx, s.store, orderKeys(id), nil, 3)
	if err != nil {
		return p, fmt.Errorf("get order: %w", err)
	}
	var (
		rec      *record
		charged  *events.OrderCharged
		notified *events.OrderNotified
	)
	for _, it := range items {
		if it.Error != "" {
			return p, fmt.Errorf("get order: %s: %s", it.Key, it.Error)
		}
		if len(it.Value) == 0 {
			continue
		}
		var dst any
		switch it.Key {
		case orderKey(id):
			rec = &record{}
			dst = rec
		case chargeKey(id):
			charged = &events.OrderCharged{}
			dst = charged
		case noticeKey(id):
			notified = &events.OrderNotified{}
			dst = notified
		default:
			continue
		}
		if err := json.Unmarshal(it.Value, dst); err != nil {
			return p, fmt.Errorf("decode %s: %w", it.Key, err)
		}
	}
	switch {
	case rec != nil:
		p.Details = rec.Details
	case charged != nil:
		p.Details = charged.Details
	case notified != nil:
		p.Details = notified.Details
	default:
		return p, errNotFound
	}
	// The decision travels with the email's fate too, so either event tells it.
	switch {
	case charged != nil:
		p.Charge = &charged.Charge
	case notified != nil:
		p.Charge = &notified.Charge
	}
	if notified != nil {
		p.Notice = &notified.Notice
	}
	return p, nil
}

func (s *daprOrderStore) Create(ctx context.Context, r record) error {
	r.Details = r.Details.Public()
	return s.insert(ctx, orderKey(r.OrderID), r)
}

func (s *daprOrderStore) RecordCharge(ctx context.Context, e events.OrderCharged) error {
	return s.insert(ctx, chargeKey(e.OrderID), e)
}

func (s *daprOrderStore) RecordNotice(ctx context.Context, e events.OrderNotified) error {
	return s.insert(ctx, noticeKey(e.OrderID), e)
}

// insert writes v under key only if the key is absent: errExists when it is there
// already (service.Insert).
func (s *daprOrderStore) insert(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = service.Insert(ctx, s.client, s.store, key, b, jsonMeta)
	if errors.Is(err, service.ErrKeyExists) {
		return errExists
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

type daprPublisher struct{ client service.Publisher }

// PublishOrder publishes with the order id as the CloudEvent id (consumers deduplicate on
// it) and as the partition key (one order's events stay in order).
func (p *daprPublisher) PublishOrder(ctx context.Context, e events.OrderPlaced) error {
	return service.PublishJSON(ctx, p.client, service.Event{PubSub: events.PubSub, Topic: events.TopicOrder,
		ID: events.PlacedID(e.OrderID), Type: events.TypeOrderPlaced, PartitionKey: e.OrderID}, e)
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
func (b *daprBank) Tokenize(ctx context.Context, number string, expMonth, expYear int) (order.Card, error) {
	req := map[string]any{"number": number}
	if expMonth > 0 {
		req["expMonth"], req["expYear"] = expMonth, expYear
	}
	body, err := json.Marshal(req)
	if err != nil {
		return order.Card{}, err
	}
	resp, err := b.client.InvokeBinding(ctx, &dapr.InvokeBindingRequest{
		Name: b.binding, Operation: "post", Data: body,
		Metadata: map[string]string{"path": "/v1/tokens", "Content-Type": "application/json"},
	})
	if err != nil {
		return order.Card{}, fmt.Errorf("%w: %v", errBankUnavailable, err)
	}
	code, _ := strconv.Atoi(resp.Metadata["statusCode"])
	switch {
	case code == 201 || code == 200:
		var card order.Card
		if err := json.Unmarshal(resp.Data, &card); err != nil || card.Token == "" || len(card.Last4) != 4 {
			return order.Card{}, fmt.Errorf("%w: unexpected token answer", errBankUnavailable)
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
		return order.Card{}, errCardRefused{msg: e.Message}
	default:
		return order.Card{}, fmt.Errorf("%w: status %d", errBankUnavailable, code)
	}
}
