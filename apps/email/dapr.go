package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

type stateClient interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
	SaveStateWithETag(ctx context.Context, storeName, key string, data []byte, etag string, meta map[string]string, so ...dapr.StateOption) error
	DeleteStateWithETag(ctx context.Context, storeName, key string, etag *dapr.ETag, meta map[string]string, opts *dapr.StateOptions) error
}

type daprClaims struct {
	client stateClient
	store  string
}

func claimKey(orderID string) string { return "email-" + orderID }

var jsonMeta = map[string]string{"contentType": "application/json"}

func (s *daprClaims) Get(ctx context.Context, orderID string) (claim, string, bool, error) {
	var c claim
	item, err := s.client.GetState(ctx, s.store, claimKey(orderID), nil)
	if err != nil {
		return c, "", false, err
	}
	if item == nil || len(item.Value) == 0 {
		return c, "", false, nil
	}
	if err := json.Unmarshal(item.Value, &c); err != nil {
		return c, "", false, fmt.Errorf("decode claim: %w", err)
	}
	return c, item.Etag, true, nil
}

func (s *daprClaims) Claim(ctx context.Context, orderID string, c claim, etag string) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if etag == "" {
		err = service.FirstWrite(ctx, s.client, s.store, claimKey(orderID), b, jsonMeta)
	} else {
		err = s.client.SaveStateWithETag(ctx, s.store, claimKey(orderID), b, etag, jsonMeta, dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	}
	if errors.Is(err, service.ErrKeyExists) || service.IsETagConflict(err) {
		return errTaken
	}
	return err
}

func (s *daprClaims) MarkSent(ctx context.Context, orderID string, at time.Time) error {
	b, err := json.Marshal(claim{State: claimSent, At: at})
	if err != nil {
		return err
	}
	return s.client.SaveState(ctx, s.store, claimKey(orderID), b, jsonMeta)
}

func (s *daprClaims) MarkRejected(ctx context.Context, orderID string, at time.Time, code string) error {
	b, err := json.Marshal(claim{State: claimRejected, At: at, Code: code})
	if err != nil {
		return err
	}
	return s.client.SaveState(ctx, s.store, claimKey(orderID), b, jsonMeta)
}

func (s *daprClaims) Release(ctx context.Context, orderID string, mine claim) error {
	got, etag, found, err := s.Get(ctx, orderID)
	if err != nil || !found || !got.At.Equal(mine.At) || got.State != mine.State {
		return err // gone, or someone else's now: nothing of mine to free
	}
	return s.client.DeleteStateWithETag(ctx, s.store, claimKey(orderID), &dapr.ETag{Value: etag}, nil,
		&dapr.StateOptions{Concurrency: dapr.StateConcurrencyFirstWrite})
}

type bindingClient interface {
	InvokeBinding(ctx context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error)
}

type daprMailer struct {
	client  bindingClient
	binding string
	// mu allows one SMTP binding call at a time per process. The binding keeps each
	// request's metadata (emailTo, subject) in the component's shared defaults, so two
	// concurrent calls can mix them: load runs sent one customer's order to another
	// customer (docs/benchmarks/duplicate-email-evidence.txt). A send to the SMTP server
	// takes a few milliseconds; this is not what bounds throughput.
	mu sync.Mutex
}

// Send sends through the SMTP binding. emailTo and subject go with every call: the binding
// keeps per-request metadata in its shared defaults, so leaving one out would reuse the
// previous email's recipient.
func (m *daprMailer) Send(ctx context.Context, msg message) error {
	if err := order.ValidateEmail(msg.To); err != nil {
		return fmt.Errorf("refusing to send to %q: %w", msg.To, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.client.InvokeBinding(ctx, &dapr.InvokeBindingRequest{
		Name: m.binding, Operation: "create", Data: []byte(msg.HTML),
		Metadata: map[string]string{"emailTo": msg.To, "subject": msg.Subject, "emailCC": "", "emailBCC": ""},
	})
	return err
}

type daprPublisher struct{ client service.Publisher }

// PublishNotified publishes with a stable event id per order and the order id as
// partition key.
func (p *daprPublisher) PublishNotified(ctx context.Context, e events.OrderNotified) error {
	return service.PublishJSON(ctx, p.client, service.Event{PubSub: events.PubSub, Topic: events.TopicOrderNotified,
		ID: events.NotifiedID(e.OrderID), Type: events.TypeOrderNotified, PartitionKey: e.OrderID}, e)
}
