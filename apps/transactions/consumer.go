package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/orderstatus"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routeOrder is where daprd delivers `order` events (components/subscription-order.yaml).
const routeOrder = "/events/order"

func timeNow() time.Time { return time.Now().UTC() }

// decision is the transactions service's verdict on one order. It is written once.
type decision struct {
	Outcome   events.Outcome `json:"outcome"`
	Reason    string         `json:"reason,omitempty"`
	ChargeID  string         `json:"chargeId,omitempty"`
	DecidedAt time.Time      `json:"decidedAt"`
}

// decisionStore keeps decisions, first write wins.
type decisionStore interface {
	Get(ctx context.Context, orderID string) (decision, bool, error)
	// Decide records d unless a decision exists, and returns the one that stands.
	Decide(ctx context.Context, orderID string, d decision) (decision, error)
}

// chargeResult is the bank's answer to a charge it processed.
type chargeResult struct {
	Outcome  events.Outcome
	ChargeID string
	Reason   string
}

// errTransient is a bank failure worth retrying (unreachable, timeout, 5xx).
var errTransient = errors.New("bank temporarily unavailable")

// charger charges the bank.
type charger interface {
	Charge(ctx context.Context, o events.OrderPlaced) (chargeResult, error)
}

// reporter tells the API about a status change.
type reporter interface {
	Report(ctx context.Context, orderID string, t events.TransitionRequest) error
}

// confirmPublisher publishes `order_confirm`.
type confirmPublisher interface {
	PublishCharged(ctx context.Context, e events.OrderCharged) error
}

type consumer struct {
	log       *slog.Logger
	bank      charger
	decisions decisionStore
	reporter  reporter
	publisher confirmPublisher
	giveUp    time.Duration
	now       func() time.Time
}

// handleOrder is the `order` subscription. Malformed events are dropped to the dead-letter
// topic at once (a redelivery would not parse either); transient failures ask for a
// redelivery; every side effect is idempotent so redeliveries are harmless.
func (c *consumer) handleOrder(ctx context.Context, e *common.TopicEvent) (retry bool, err error) {
	start := time.Now()
	o, err := events.DecodeOrderPlaced(e.RawData)
	if err != nil {
		return false, err
	}
	ctx = orderstatus.WithTraceparent(ctx, e.TraceParent)
	log := service.Logger(ctx, c.log).With("orderId", o.OrderID)
	if tid := service.TraceID(e.TraceParent); tid != "" {
		log = log.With("traceId", tid)
	}

	d, found, err := c.decisions.Get(ctx, o.OrderID)
	if err != nil {
		return true, fmt.Errorf("read decision: %w", err)
	}
	if !found {
		d, err = c.decide(ctx, log, o)
		if err != nil {
			return true, err
		}
		if d, err = c.decisions.Decide(ctx, o.OrderID, d); err != nil {
			return true, fmt.Errorf("record decision: %w", err)
		}
	} else {
		log.InfoContext(ctx, "order already decided; announcing the decision again", "outcome", d.Outcome)
	}

	err = c.reporter.Report(ctx, o.OrderID, events.TransitionRequest{
		Transition: events.Transition{To: events.Status(d.Outcome), At: d.DecidedAt, Detail: d.Reason},
		Order:      snapshot(o),
	})
	switch {
	case errors.Is(err, orderstatus.ErrRefused):
		// The order is already past this step (its email went out): nothing to redo.
		log.WarnContext(ctx, "API refused the transition", "error", err)
	case err != nil:
		return true, err
	}

	if err := c.publisher.PublishCharged(ctx, events.OrderCharged{
		OrderID:        o.OrderID,
		RestaurantName: o.RestaurantName,
		Email:          o.Email,
		Items:          o.Items,
		Total:          o.Total,
		Currency:       o.Currency,
		Card:           events.Card{Brand: o.Card.Brand, Last4: o.Card.Last4},
		Outcome:        d.Outcome,
		Reason:         d.Reason,
		ChargeID:       d.ChargeID,
		DecidedAt:      d.DecidedAt,
	}); err != nil {
		return true, fmt.Errorf("publish order_confirm: %w", err)
	}
	log.InfoContext(ctx, "order processed", "outcome", d.Outcome, "reason", d.Reason, "took", time.Since(start).String())
	return false, nil
}

// decide charges the bank. A bank that stays unavailable past giveUp (counted from when the
// order was placed) makes the order failed, so the customer hears about it.
func (c *consumer) decide(ctx context.Context, log *slog.Logger, o events.OrderPlaced) (decision, error) {
	res, err := c.bank.Charge(ctx, o)
	now := c.now()
	switch {
	case errors.Is(err, errTransient):
		if now.Sub(o.PlacedAt) < c.giveUp {
			return decision{}, err
		}
		log.ErrorContext(ctx, "bank unavailable past the retry window; order failed", "error", err, "window", c.giveUp.String())
		return decision{Outcome: events.OutcomeFailed, Reason: "bank_unavailable", DecidedAt: now}, nil
	case err != nil:
		log.ErrorContext(ctx, "bank refused the charge request; order failed", "error", err)
		return decision{Outcome: events.OutcomeFailed, Reason: "payment_error", DecidedAt: now}, nil
	}
	return decision{Outcome: res.Outcome, Reason: res.Reason, ChargeID: res.ChargeID, DecidedAt: now}, nil
}

func snapshot(o events.OrderPlaced) *events.Snapshot {
	return &events.Snapshot{
		RestaurantID: o.RestaurantID, RestaurantName: o.RestaurantName, Email: o.Email,
		Items: o.Items, Total: o.Total, Currency: o.Currency,
		Card: events.Card{Brand: o.Card.Brand, Last4: o.Card.Last4}, PlacedAt: o.PlacedAt,
	}
}
