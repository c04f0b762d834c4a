package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// bindingClient is the part of the Dapr client that calls output bindings.
type bindingClient interface {
	InvokeBinding(ctx context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error)
}

type daprBank struct {
	client  bindingClient
	binding string
}

// Charge charges the order's total to its card token through the bank binding, with the
// order id as the Idempotency-Key: the bank answers a repeated charge with the first answer
// and charges nothing new, whether this is a Resiliency retry or a redelivered event.
func (b *daprBank) Charge(ctx context.Context, o events.OrderPlaced) (chargeResult, error) {
	body, err := json.Marshal(map[string]any{"token": o.Card.Token, "amount": o.Total, "currency": o.Currency, "orderId": o.OrderID})
	if err != nil {
		return chargeResult{}, err
	}
	resp, err := b.client.InvokeBinding(ctx, &dapr.InvokeBindingRequest{
		Name: b.binding, Operation: "post", Data: body,
		Metadata: map[string]string{"path": "/v1/charges", "Content-Type": "application/json", "Idempotency-Key": o.OrderID},
	})
	if err != nil {
		return chargeResult{}, fmt.Errorf("%w: %v", errTransient, err)
	}
	var ans struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Code   string `json:"code"`
	}
	_ = json.Unmarshal(resp.Data, &ans)
	code, _ := strconv.Atoi(resp.Metadata["statusCode"])
	switch {
	case code == 201 || code == 200:
		return chargeResult{Outcome: events.OutcomePaid, ChargeID: ans.ID}, nil
	case code == 402:
		reason := ans.Code
		if reason == "" {
			reason = "card_declined"
		}
		return chargeResult{Outcome: events.OutcomeDeclined, ChargeID: ans.ID, Reason: reason}, nil
	case code >= 500 || code == 429 || code == 0:
		return chargeResult{}, fmt.Errorf("%w: status %d %s", errTransient, code, ans.Code)
	default:
		return chargeResult{}, fmt.Errorf("bank answered %d %s", code, ans.Code)
	}
}

// stateClient is the part of the Dapr client the decision store uses.
type stateClient interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
}

type daprDecisions struct {
	client stateClient
	store  string
}

func decisionKey(orderID string) string { return "decision-" + orderID }

func (s *daprDecisions) Get(ctx context.Context, orderID string) (decision, bool, error) {
	var d decision
	item, err := s.client.GetState(ctx, s.store, decisionKey(orderID), nil)
	if err != nil {
		return d, false, err
	}
	if item == nil || len(item.Value) == 0 {
		return d, false, nil
	}
	if err := json.Unmarshal(item.Value, &d); err != nil {
		return d, false, fmt.Errorf("decode decision: %w", err)
	}
	return d, true, nil
}

func (s *daprDecisions) Decide(ctx context.Context, orderID string, d decision) (decision, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return d, err
	}
	err = service.FirstWrite(ctx, s.client, s.store, decisionKey(orderID), b, map[string]string{"contentType": "application/json"})
	if errors.Is(err, service.ErrKeyExists) {
		// Another replica decided first (a rebalance mid-message): its decision stands.
		existing, found, gerr := s.Get(ctx, orderID)
		if gerr != nil || !found {
			return d, fmt.Errorf("decision conflict but none found: %v", gerr)
		}
		return existing, nil
	}
	return d, err
}

// pubsubClient is the part of the Dapr client the publisher uses.
type pubsubClient interface {
	PublishEvent(ctx context.Context, pubsubName, topicName string, data any, opts ...dapr.PublishEventOption) error
}

type daprPublisher struct{ client pubsubClient }

// PublishCharged publishes with a stable event id per order and the order id as partition key.
func (p *daprPublisher) PublishCharged(ctx context.Context, e events.OrderCharged) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return p.client.PublishEvent(ctx, events.PubSub, events.TopicOrderConfirm, b,
		dapr.PublishEventWithContentType("application/json"),
		dapr.PublishEventWithMetadata(map[string]string{
			"cloudevent.id":   e.OrderID + ".charged",
			"cloudevent.type": events.TypeOrderCharged,
			"partitionKey":    e.OrderID,
		}))
}
