package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routeOrderConfirm is where daprd delivers `order_confirm` events.
const routeOrderConfirm = "/events/order-confirm"

func timeNow() time.Time { return time.Now().UTC() }

// claim is the email service's record for one order's notification.
type claim struct {
	State string    `json:"state"` // sending | sent | rejected
	At    time.Time `json:"at"`
	// Code is the SMTP reply of a rejected email (550).
	Code string `json:"code,omitempty"`
}

const (
	claimSending = "sending"
	claimSent    = "sent"
	// claimRejected: the SMTP server refused the email for good (a 5xx reply). It was not
	// sent and sending it again would be refused again: the order's status says so.
	claimRejected = "rejected"
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
	// MarkRejected records that the SMTP server refused the email for good (code: its reply).
	MarkRejected(ctx context.Context, orderID string, at time.Time, code string) error
	// Release deletes the claim if it is still mine (nobody took it over meanwhile).
	Release(ctx context.Context, orderID string, mine claim) error
}

// errTaken means another delivery holds or changed the claim first.
var errTaken = errors.New("claim taken")

// mailer sends one email.
type mailer interface {
	Send(ctx context.Context, m message) error
}

// noticePublisher publishes `order_notified`: what became of an order's email.
type noticePublisher interface {
	PublishNotified(ctx context.Context, e events.OrderNotified) error
}

type consumer struct {
	log     *slog.Logger
	claims  claimStore
	mailer  mailer
	notices noticePublisher
	lease   time.Duration
	baseURL string
	now     func() time.Time
}

// handleConfirm sends the order's one email, then publishes what became of it
// (`order_notified`). The claim is taken before sending and marked sent after: a
// redelivery of a sent order only publishes its notice again (the same event); a delivery
// that finds a fresh claim of another replica waits (RETRY); a claim older than the lease
// was left by a crash mid-send and is taken over.
func (c *consumer) handleConfirm(ctx context.Context, e *common.TopicEvent) (retry bool, err error) {
	start := time.Now()
	o, err := events.DecodeOrderCharged(e.RawData)
	if err != nil {
		return false, err
	}
	log := service.Logger(ctx, c.log).With("orderId", o.OrderID)
	if tid := service.TraceID(e.TraceParent); tid != "" {
		log = log.With("traceId", tid)
	}

	now := c.now()
	mine := claim{State: claimSending, At: now}
	done, err := c.claim(ctx, o.OrderID, mine)
	if err != nil {
		return true, err
	}
	switch {
	case done.State == claimSent:
		log.InfoContext(ctx, "email already sent; not sending again")
	case done.State == claimRejected:
		log.InfoContext(ctx, "email already refused by the mail server; not sending again", "code", done.Code)
	default:
		// From here the email and its record run to the end even if this delivery is
		// abandoned (daprd closing the connection as its pod stops cancels ctx): a send
		// whose mark was cancelled left a `sending` claim, and the redelivery sent the
		// email again once the lease ran out (a pod deleted mid-email, tests/cluster).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), effectBudget)
		defer cancel()
		if err := c.mailer.Send(ctx, render(o, c.baseURL)); err != nil {
			code := rejectedCode(err)
			switch {
			case code != "":
				// A 5xx reply: the server refused the email for good. Not sent, and a
				// redelivery would be refused again; record it, and the order says so.
				log.ErrorContext(ctx, "the mail server refused the email for good; not retrying", "code", code)
				at := c.now()
				if err := c.markRejected(ctx, o.OrderID, at, code); err != nil {
					return true, err
				}
				done = claim{State: claimRejected, At: at, Code: code}
			case surelyNotSent(err):
				// Nothing reached the server: free the claim so the redelivery sends at once.
				if rerr := c.claims.Release(context.WithoutCancel(ctx), o.OrderID, mine); rerr != nil {
					log.WarnContext(ctx, "claim not released", "error", rerr)
				}
				return true, fmt.Errorf("send email: %w", err)
			default:
				// A timeout or a broken connection mid-send: the server may have the
				// message and deliver it when it recovers. Keep the claim: the next
				// delivery waits out its lease, preferring a late email to a second one.
				log.WarnContext(ctx, "email outcome unknown; keeping the claim until its lease expires", "error", err, "lease", c.lease.String())
				return true, fmt.Errorf("send email (outcome unknown): %w", err)
			}
		} else {
			at := c.now()
			if err := c.markSent(ctx, o.OrderID, at); err != nil {
				log.ErrorContext(ctx, "email sent but not recorded; a redelivery after the lease may send it again", "error", err)
				return true, err
			}
			done = claim{State: claimSent, At: at}
			log.InfoContext(ctx, "email sent", "outcome", o.Outcome)
		}
	}

	// The notice carries the claim's own time and code, so a redelivery publishes the
	// same event again, which the API keeps once.
	n := order.Notice{Delivery: order.DeliverySent, NotifiedAt: done.At}
	if done.State == claimRejected {
		n = order.Notice{Delivery: order.DeliveryRejected, SMTPCode: done.Code, NotifiedAt: done.At}
	}
	if err := c.notices.PublishNotified(ctx, events.OrderNotified{OrderID: o.OrderID, Details: o.Details, Charge: o.Charge, Notice: n}); err != nil {
		return true, fmt.Errorf("publish order_notified: %w", err)
	}
	to := order.AfterNotice(o.Outcome, n)
	log.InfoContext(ctx, "order notified", "status", to, "took", time.Since(start).String())
	return false, nil
}

// effectBudget bounds an email's send and its record once the claim is taken; it is
// independent of the delivery that started them.
const effectBudget = 30 * time.Second

// claim takes the order's email claim for this delivery. It answers a finished claim
// (sent, or rejected by the mail server) when the email's fate is already known, an
// empty one when this delivery is to send, and an error (to retry later) while another
// delivery holds a claim younger than the lease. An older claim was left by a crash
// mid-send: it is taken over.
func (c *consumer) claim(ctx context.Context, orderID string, mine claim) (done claim, err error) {
	err = c.claims.Claim(ctx, orderID, mine, "")
	if err == nil {
		return claim{}, nil
	}
	if !errors.Is(err, errTaken) {
		return claim{}, fmt.Errorf("claim: %w", err)
	}
	cl, etag, found, err := c.claims.Get(ctx, orderID)
	switch {
	case err != nil:
		return claim{}, fmt.Errorf("read claim: %w", err)
	case !found:
		return claim{}, errors.New("the claim was released meanwhile; trying again")
	case cl.State == claimSent || cl.State == claimRejected:
		return cl, nil
	case mine.At.Sub(cl.At) < c.lease:
		return claim{}, errors.New("another delivery is sending this email")
	}
	if err := c.claims.Claim(ctx, orderID, mine, etag); err != nil {
		return claim{}, fmt.Errorf("take over an expired claim: %w", err)
	}
	return claim{}, nil
}

// markSent records the send, retrying briefly: a lost mark is the one way to a duplicate.
func (c *consumer) markSent(ctx context.Context, orderID string, at time.Time) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = c.claims.MarkSent(ctx, orderID, at); err == nil {
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

// markRejected records a refused email, retrying briefly like markSent.
func (c *consumer) markRejected(ctx context.Context, orderID string, at time.Time, code string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = c.claims.MarkRejected(ctx, orderID, at, code); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	return fmt.Errorf("record the refused email: %w", err)
}

// smtpRejection finds a permanent SMTP reply (5xx) in the SMTP binding's error: "sending
// email failed: [gomail: could not send email 1: ]550 5.1.1 ..." (components-contrib
// bindings/smtp, gomail, net/textproto). It is the server's own answer, so the email
// surely was not accepted, and sending it again would be refused again.
var smtpRejection = regexp.MustCompile(`sending email failed: (?:gomail: could not send email \d+: )?(5[0-9][0-9])[ -]`)

// rejectedCode returns the SMTP reply code of a permanent rejection, or "".
func rejectedCode(err error) string {
	if m := smtpRejection.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
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
