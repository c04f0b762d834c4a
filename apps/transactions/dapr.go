package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
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
		return chargeResult{Outcome: order.OutcomePaid, ChargeID: ans.ID}, nil
	case code == 402:
		reason := ans.Code
		if reason == "" {
			reason = "card_declined"
		}
		return chargeResult{Outcome: order.OutcomeDeclined, ChargeID: ans.ID, Reason: reason}, nil
	case code >= 500 || code == 429 || code == 0:
		return chargeResult{}, fmt.Errorf("%w: status %d %s", errTransient, code, ans.Code)
	default:
		return chargeResult{}, fmt.Errorf("bank answered %d %s", code, ans.Code)
	}
}

// keyView is the bank's answer about a charge key (GET /v1/charges?idempotencyKey=,
// POST /v1/charges/void).
type keyView struct {
	IdempotencyKey string `json:"idempotencyKey"`
	State          string `json:"state"`
	Charge         *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Code   string `json:"code"`
	} `json:"charge"`
}

// Lookup asks the bank what became of the order's charge, by its Idempotency-Key.
func (b *daprBank) Lookup(ctx context.Context, orderID string) (chargeKey, error) {
	return b.askKey(ctx, &dapr.InvokeBindingRequest{
		Name: b.binding, Operation: "get",
		Metadata: map[string]string{"path": "/v1/charges?idempotencyKey=" + url.QueryEscape(orderID)},
	}, orderID)
}

// Void closes the order's charge key at the bank unless a charge was made with it, and
// answers where the key stands then: charged (with the charge) or voided.
func (b *daprBank) Void(ctx context.Context, orderID string) (chargeKey, error) {
	return b.askKey(ctx, &dapr.InvokeBindingRequest{
		Name: b.binding, Operation: "post",
		Metadata: map[string]string{"path": "/v1/charges/void", "Idempotency-Key": orderID},
	}, orderID)
}

// askKey reads the bank's answer about a key. Anything but a well-formed answer about this
// very key is an error: the outcome stays unknown.
func (b *daprBank) askKey(ctx context.Context, in *dapr.InvokeBindingRequest, orderID string) (chargeKey, error) {
	resp, err := b.client.InvokeBinding(ctx, in)
	if err != nil {
		return chargeKey{}, fmt.Errorf("%w: %v", errTransient, err)
	}
	code, _ := strconv.Atoi(resp.Metadata["statusCode"])
	if code != 200 {
		return chargeKey{}, fmt.Errorf("%w: key lookup answered %d", errTransient, code)
	}
	var v keyView
	if err := json.Unmarshal(resp.Data, &v); err != nil || v.IdempotencyKey != orderID {
		return chargeKey{}, fmt.Errorf("%w: unexpected key lookup answer", errTransient)
	}
	switch {
	case v.State == keyNone && v.Charge == nil, v.State == keyVoided && v.Charge == nil:
		return chargeKey{State: v.State}, nil
	case v.State == keyCharged && v.Charge != nil && v.Charge.ID != "" && v.Charge.Status == "succeeded":
		return chargeKey{State: v.State, Result: chargeResult{Outcome: order.OutcomePaid, ChargeID: v.Charge.ID}}, nil
	case v.State == keyCharged && v.Charge != nil && v.Charge.ID != "" && v.Charge.Status == "declined":
		reason := v.Charge.Code
		if reason == "" {
			reason = "card_declined"
		}
		return chargeKey{State: v.State, Result: chargeResult{Outcome: order.OutcomeDeclined, ChargeID: v.Charge.ID, Reason: reason}}, nil
	}
	return chargeKey{}, fmt.Errorf("%w: unexpected key state %q", errTransient, v.State)
}

// Refund refunds a charge in full, once: the key is derived from the order, and the bank
// refunds a charge at most once whatever the key.
func (b *daprBank) Refund(ctx context.Context, orderID, chargeID string) (string, error) {
	body, err := json.Marshal(map[string]string{"chargeId": chargeID})
	if err != nil {
		return "", err
	}
	resp, err := b.client.InvokeBinding(ctx, &dapr.InvokeBindingRequest{
		Name: b.binding, Operation: "post", Data: body,
		Metadata: map[string]string{"path": "/v1/refunds", "Content-Type": "application/json", "Idempotency-Key": "refund-" + orderID},
	})
	if err != nil {
		return "", fmt.Errorf("refund: %w", err)
	}
	code, _ := strconv.Atoi(resp.Metadata["statusCode"])
	var ans struct {
		ID       string `json:"id"`
		ChargeID string `json:"chargeId"`
	}
	if code != 200 && code != 201 || json.Unmarshal(resp.Data, &ans) != nil || ans.ID == "" || ans.ChargeID != chargeID {
		return "", fmt.Errorf("refund: bank answered %d", code)
	}
	return ans.ID, nil
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

type daprPublisher struct{ client service.Publisher }

// PublishCharged publishes with a stable event id per order and the order id as partition key.
func (p *daprPublisher) PublishCharged(ctx context.Context, e events.OrderCharged) error {
	return service.PublishJSON(ctx, p.client, service.Event{PubSub: events.PubSub, Topic: events.TopicOrderConfirm,
		ID: events.ChargedID(e.OrderID), Type: events.TypeOrderCharged, PartitionKey: e.OrderID}, e)
}
