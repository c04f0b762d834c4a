package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routeOrder is where daprd delivers `order` events (components/subscription-order.yaml).
const routeOrder = "/events/order"

func timeNow() time.Time { return time.Now().UTC() }

// decision is the transactions service's verdict on one order: the order's Charge fact,
// which `order_confirm` carries. It is written once.
type decision = order.Charge

// decisionStore keeps decisions, first write wins.
type decisionStore interface {
	Get(ctx context.Context, orderID string) (decision, bool, error)
	// Decide records d unless a decision exists, and returns the one that stands.
	Decide(ctx context.Context, orderID string, d decision) (decision, error)
}

// chargeResult is the bank's answer to a charge it processed.
type chargeResult struct {
	Outcome  order.Outcome
	ChargeID string
	Reason   string
}

// errTransient is a bank failure worth retrying (unreachable, timeout, 5xx).
var errTransient = errors.New("bank temporarily unavailable")

// Where the bank says an order's charge key stands.
const (
	keyCharged = "charged" // a charge was made: Result says how it went
	keyNone    = "none"    // no charge yet; one may still arrive with the key
	keyVoided  = "voided"  // no charge, and none will ever be made with the key
)

// chargeKey is the bank's answer about an order's charge key.
type chargeKey struct {
	State  string
	Result chargeResult
}

// charger charges the bank, and asks it what became of a charge whose answer was lost.
type charger interface {
	Charge(ctx context.Context, o events.OrderPlaced) (chargeResult, error)
	// Lookup asks the bank, by the order's Idempotency-Key, what became of its charge.
	Lookup(ctx context.Context, orderID string) (chargeKey, error)
	// Void closes the order's key unless a charge was made with it (then it answers it).
	Void(ctx context.Context, orderID string) (chargeKey, error)
	// Refund refunds a charge in full, once, and returns the refund id.
	Refund(ctx context.Context, orderID, chargeID string) (string, error)
}

// confirmPublisher publishes `order_confirm`.
type confirmPublisher interface {
	PublishCharged(ctx context.Context, e events.OrderCharged) error
}

type consumer struct {
	log       *slog.Logger
	bank      charger
	decisions decisionStore
	publisher confirmPublisher
	giveUp    time.Duration
	now       func() time.Time
	// unknown holds the orders whose last charge call in this process gave no answer: their
	// next delivery asks the bank by key before it charges. A bank that charges and then
	// hangs keeps failing the charge call, and with it the breaker; a lookup gets through.
	// An entry lives until the order is decided here (one per dead-lettered order at most).
	unknown sync.Map
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

	// The API, the email service and anyone else learn the decision from this event.
	if err := c.publisher.PublishCharged(ctx, events.OrderCharged{OrderID: o.OrderID, Details: o.Public(), Charge: d}); err != nil {
		return true, fmt.Errorf("publish order_confirm: %w", err)
	}
	log.InfoContext(ctx, "order processed", "outcome", d.Outcome, "reason", d.Reason, "took", time.Since(start).String())
	return false, nil
}

// decide charges the bank and turns its answer into a decision. An answer that did not
// arrive (a timeout, an open breaker, a dropped reply) is an unknown outcome, never a
// failure: the bank is asked by the order's key what became of the charge, and only a
// bank that says "no charge, and none can come now" makes the order failed.
func (c *consumer) decide(ctx context.Context, log *slog.Logger, o events.OrderPlaced) (decision, error) {
	if _, ok := c.unknown.Load(o.OrderID); ok {
		// The last charge call of this order gave no answer: ask first.
		k, err := c.bank.Lookup(ctx, o.OrderID)
		switch {
		case err != nil:
			return decision{}, fmt.Errorf("charge outcome unknown, and the bank cannot be asked: %w", err)
		case k.State == keyCharged:
			c.unknown.Delete(o.OrderID)
			log.WarnContext(ctx, "charge answer lost; its outcome learned from the bank", "outcome", k.Result.Outcome, "chargeId", k.Result.ChargeID)
			return decision{Outcome: k.Result.Outcome, Reason: k.Result.Reason, ChargeID: k.Result.ChargeID, DecidedAt: c.now()}, nil
		case k.State == keyVoided:
			// Voided by an earlier delivery whose decision was not recorded.
			c.unknown.Delete(o.OrderID)
			return decision{Outcome: order.OutcomeFailed, Reason: "bank_unavailable", DecidedAt: c.now()}, nil
		}
	}
	res, err := c.bank.Charge(ctx, o)
	switch {
	case errors.Is(err, errTransient):
		c.unknown.Store(o.OrderID, struct{}{})
		d, rerr := c.resolve(ctx, log, o, err)
		if rerr == nil {
			c.unknown.Delete(o.OrderID)
		}
		return d, rerr
	case err != nil:
		c.unknown.Delete(o.OrderID)
		return c.refused(ctx, log, o, err)
	}
	c.unknown.Delete(o.OrderID)
	return decision{Outcome: res.Outcome, Reason: res.Reason, ChargeID: res.ChargeID, DecidedAt: c.now()}, nil
}

// resolve learns the outcome of a charge whose answer was lost. Inside the retry window a
// key with no charge yet is charged again (the same key: the bank charges once); past it,
// the key is voided first, so the "failed" email can never meet a late charge.
func (c *consumer) resolve(ctx context.Context, log *slog.Logger, o events.OrderPlaced, chargeErr error) (decision, error) {
	k, err := c.bank.Lookup(ctx, o.OrderID)
	if err != nil {
		return decision{}, fmt.Errorf("charge outcome unknown (%v), and the bank cannot be asked: %w", chargeErr, err)
	}
	if k.State == keyNone {
		if c.now().Sub(o.PlacedAt) < c.giveUp {
			return decision{}, chargeErr
		}
		if k, err = c.bank.Void(ctx, o.OrderID); err != nil {
			return decision{}, fmt.Errorf("charge outcome unknown (%v), and the key cannot be voided: %w", chargeErr, err)
		}
	}
	now := c.now()
	switch k.State {
	case keyCharged:
		log.WarnContext(ctx, "charge answer lost; its outcome learned from the bank", "error", chargeErr, "outcome", k.Result.Outcome, "chargeId", k.Result.ChargeID)
		return decision{Outcome: k.Result.Outcome, Reason: k.Result.Reason, ChargeID: k.Result.ChargeID, DecidedAt: now}, nil
	case keyVoided:
		log.ErrorContext(ctx, "bank unavailable past the retry window; no charge was made and none can be now; order failed", "error", chargeErr, "window", c.giveUp.String())
		return decision{Outcome: order.OutcomeFailed, Reason: "bank_unavailable", DecidedAt: now}, nil
	}
	return decision{}, fmt.Errorf("charge outcome unknown: the bank answered %q", k.State)
}

// refused fails an order whose charge request the bank refused outright (a 4xx other than
// a decline). Before it says "failed" it closes the key; if a charge stands under it all
// the same, that charge is refunded and the decision says so.
func (c *consumer) refused(ctx context.Context, log *slog.Logger, o events.OrderPlaced, chargeErr error) (decision, error) {
	k, err := c.bank.Void(ctx, o.OrderID)
	if err != nil {
		return decision{}, fmt.Errorf("charge refused (%v), and the key cannot be voided: %w", chargeErr, err)
	}
	d := decision{Outcome: order.OutcomeFailed, Reason: "payment_error"}
	if k.State == keyCharged && k.Result.Outcome == order.OutcomePaid {
		refundID, err := c.bank.Refund(ctx, o.OrderID, k.Result.ChargeID)
		if err != nil {
			return decision{}, fmt.Errorf("order failed with a charge standing; refund: %w", err)
		}
		d.ChargeID, d.RefundID = k.Result.ChargeID, refundID
		log.ErrorContext(ctx, "bank refused the charge request but holds a charge for the order; refunded, order failed", "error", chargeErr, "chargeId", d.ChargeID, "refundId", refundID)
	} else {
		log.ErrorContext(ctx, "bank refused the charge request; order failed", "error", chargeErr)
	}
	d.DecidedAt = c.now()
	return d, nil
}
