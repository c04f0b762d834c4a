package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/orderstatus"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routeOrderConfirm is where daprd delivers `order_confirm` events.
const routeOrderConfirm = "/events/order-confirm"

func timeNow() time.Time { return time.Now().UTC() }

// claim is the email service's record for one order's notification.
type claim struct {
	State string    `json:"state"` // sending | sent
	At    time.Time `json:"at"`
}

const (
	claimSending = "sending"
	claimSent    = "sent"
)

// claimStore keeps claims with ETags. On the usual path an email costs two writes (the
// claim, then "sent") and no read: the claim is an insert that fails when one exists, and
// only then is the existing claim read.
type claimStore interface {
	Get(ctx context.Context, orderID string) (claim, string, bool, error)
	// Claim writes c if no claim exists (first write wins) or, with etag, replaces the one
	// read with that etag. It returns errTaken when another delivery got there first.
	Claim(ctx context.Context, orderID string, c claim, etag string) error
	// MarkSent records that the email went out, whoever holds the claim: it is the truth.
	MarkSent(ctx context.Context, orderID string, at time.Time) error
	// Release deletes the claim if it is still mine (nobody took it over meanwhile).
	Release(ctx context.Context, orderID string, mine claim) error
}

// errTaken means another delivery holds or changed the claim first.
var errTaken = errors.New("claim taken")

// mailer sends one email.
type mailer interface {
	Send(ctx context.Context, m message) error
}

type reporter interface {
	Report(ctx context.Context, orderID string, t events.TransitionRequest) error
}

type consumer struct {
	log      *slog.Logger
	claims   claimStore
	mailer   mailer
	reporter reporter
	lease    time.Duration
	baseURL  string
	now      func() time.Time
}

// notified maps an outcome to the order status its email completes.
var notified = map[events.Outcome]events.Status{
	events.OutcomePaid:     events.StatusConfirmed,
	events.OutcomeDeclined: events.StatusNotifiedDeclined,
	events.OutcomeFailed:   events.StatusNotifiedFailed,
}

// handleConfirm sends the order's one email. The claim is taken before sending and marked
// sent after: a redelivery of a sent order only repeats the status report; a delivery that
// finds a fresh claim of another replica waits (RETRY); a claim older than the lease was
// left by a crash mid-send and is taken over.
func (c *consumer) handleConfirm(ctx context.Context, e *common.TopicEvent) (retry bool, err error) {
	start := time.Now()
	o, err := events.DecodeOrderCharged(e.RawData)
	if err != nil {
		return false, err
	}
	ctx = orderstatus.WithTraceparent(ctx, e.TraceParent)
	log := service.Logger(ctx, c.log).With("orderId", o.OrderID)
	if tid := service.TraceID(e.TraceParent); tid != "" {
		log = log.With("traceId", tid)
	}

	now := c.now()
	mine := claim{State: claimSending, At: now}
	sent, err := c.claim(ctx, o.OrderID, mine)
	if err != nil {
		return true, err
	}
	if sent {
		log.InfoContext(ctx, "email already sent; not sending again")
	} else {
		// From here the email and its record run to the end even if this delivery is
		// abandoned (daprd closing the connection as its pod stops cancels ctx): a send
		// whose mark was cancelled left a `sending` claim, and the redelivery sent the
		// email again once the lease ran out (a pod deleted mid-email, tests/cluster).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), effectBudget)
		defer cancel()
		if err := c.mailer.Send(ctx, render(o, c.baseURL)); err != nil {
			if !surelyNotSent(err) {
				// A timeout or a broken connection mid-send: the server may have the
				// message and deliver it when it recovers. Keep the claim: the next
				// delivery waits out its lease, preferring a late email to a second one.
				log.WarnContext(ctx, "email outcome unknown; keeping the claim until its lease expires", "error", err, "lease", c.lease.String())
				return true, fmt.Errorf("send email (outcome unknown): %w", err)
			}
			// Nothing reached the server: free the claim so the redelivery sends at once.
			if rerr := c.claims.Release(context.WithoutCancel(ctx), o.OrderID, mine); rerr != nil {
				log.WarnContext(ctx, "claim not released", "error", rerr)
			}
			return true, fmt.Errorf("send email: %w", err)
		}
		if err := c.markSent(ctx, o.OrderID); err != nil {
			log.ErrorContext(ctx, "email sent but not recorded; a redelivery after the lease may send it again", "error", err)
			return true, err
		}
		log.InfoContext(ctx, "email sent", "outcome", o.Outcome)
	}

	err = c.reporter.Report(ctx, o.OrderID, events.TransitionRequest{
		Transition: events.Transition{To: notified[o.Outcome], At: c.now(), Detail: "email sent"},
		Order: &events.Snapshot{RestaurantName: o.RestaurantName, Email: o.Email, Items: o.Items,
			Total: o.Total, Currency: o.Currency, Card: o.Card},
	})
	switch {
	case errors.Is(err, orderstatus.ErrRefused):
		log.WarnContext(ctx, "API refused the transition", "error", err)
	case err != nil:
		return true, err
	}
	log.InfoContext(ctx, "order notified", "status", notified[o.Outcome], "took", time.Since(start).String())
	return false, nil
}

// effectBudget bounds an email's send and its record once the claim is taken; it is
// independent of the delivery that started them.
const effectBudget = 30 * time.Second

// claim takes the order's email claim for this delivery. It answers sent=true when the
// email already went out, and an error (to retry later) while another delivery holds a
// claim younger than the lease. An older claim was left by a crash mid-send: it is taken
// over.
func (c *consumer) claim(ctx context.Context, orderID string, mine claim) (sent bool, err error) {
	err = c.claims.Claim(ctx, orderID, mine, "")
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, errTaken) {
		return false, fmt.Errorf("claim: %w", err)
	}
	cl, etag, found, err := c.claims.Get(ctx, orderID)
	switch {
	case err != nil:
		return false, fmt.Errorf("read claim: %w", err)
	case !found:
		return false, errors.New("the claim was released meanwhile; trying again")
	case cl.State == claimSent:
		return true, nil
	case mine.At.Sub(cl.At) < c.lease:
		return false, errors.New("another delivery is sending this email")
	}
	if err := c.claims.Claim(ctx, orderID, mine, etag); err != nil {
		return false, fmt.Errorf("take over an expired claim: %w", err)
	}
	return false, nil
}

// markSent records the send, retrying briefly: a lost mark is the one way to a duplicate.
func (c *consumer) markSent(ctx context.Context, orderID string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = c.claims.MarkSent(ctx, orderID, c.now()); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	return err
}

// surelyNotSent reports whether a failed send certainly handed nothing to the SMTP server:
// it could not connect, or the circuit breaker stopped the call before it was made.
// Anything else (a timeout, a reset mid-conversation) leaves the outcome unknown.
func surelyNotSent(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, sure := range []string{"connection refused", "no such host", "no route to host", "circuit breaker is open", "network is unreachable"} {
		if strings.Contains(msg, sure) {
			return true
		}
	}
	return false
}
