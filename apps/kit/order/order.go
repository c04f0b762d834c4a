// Package order is the one home of an order: its details, declared once and embedded in
// every event and record that carries them; the facts the services add to it (the charge
// decision, the email's fate); its statuses and the rules that move it from one to the
// next. The card rules live beside it in package card.
package order

import (
	"fmt"
	"math"
	"regexp"
	"time"
)

// Item is one priced line of an order; prices come from the catalog, in minor units.
type Item struct {
	MenuItemID string `json:"menuItemId"`
	Name       string `json:"name"`
	Quantity   int    `json:"quantity"`
	UnitPrice  int64  `json:"unitPrice"`
}

// Card is what the system knows of a payment card: the bank's token, the brand and the last
// four digits. Only the `order` event, which the transactions service charges, carries the
// token; past the charge the card is its brand and last four (Details.Public).
type Card struct {
	Token string `json:"token,omitempty"`
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// Details is what was ordered, by whom, and how it is paid: fixed when the order is
// placed, and the same in every event and record of the order.
type Details struct {
	RestaurantID   string    `json:"restaurantId,omitempty"`
	RestaurantName string    `json:"restaurantName"`
	Email          string    `json:"email"`
	Items          []Item    `json:"items"`
	Total          int64     `json:"total"`
	Currency       string    `json:"currency"`
	Card           Card      `json:"card"`
	PlacedAt       time.Time `json:"placedAt,omitzero"`
}

// Public is the details without the card token: what travels past the charge and what
// the API keeps.
func (d Details) Public() Details {
	d.Card.Token = ""
	if d.Items == nil {
		d.Items = []Item{}
	}
	return d
}

var (
	idPattern     = regexp.MustCompile(`^ord_[0-9a-zA-Z]{10,40}$`)
	last4Pattern  = regexp.MustCompile(`^[0-9]{4}$`)
	tokenPattern  = regexp.MustCompile(`^tok_[0-9a-zA-Z_]{4,64}$`)
	refundPattern = regexp.MustCompile(`^re_[0-9a-zA-Z_]{4,64}$`)
)

// TraceTag is the span tag that carries an order's id on every span about it, so the
// trace viewer finds an order by tag (order.id=ord_…).
const TraceTag = "order.id"

// ValidID reports whether id has the shape the API gives order ids.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// TokenRule says whether details must carry the card's token (the `order` event) or must
// not (everything after the charge).
type TokenRule bool

// The two token rules.
const (
	WithToken    TokenRule = true
	WithoutToken TokenRule = false
)

// Problems names the fields of d that are not well formed, in a fixed order; none for
// good details. It names fields only, never their values, so it may be logged.
func (d Details) Problems(token TokenRule) []string {
	var problems []string
	if d.RestaurantName == "" {
		problems = append(problems, "restaurantName")
	}
	if err := ValidateEmail(d.Email); err != nil {
		problems = append(problems, "email")
	}
	hasToken := tokenPattern.MatchString(d.Card.Token)
	if !last4Pattern.MatchString(d.Card.Last4) || (token == WithToken && !hasToken) || (token == WithoutToken && d.Card.Token != "") {
		problems = append(problems, "card")
	}
	var sum int64
	for _, it := range d.Items {
		if it.Quantity < 1 || it.Quantity > 100 || it.UnitPrice < 0 || it.MenuItemID == "" ||
			// A sum that wraps around int64 could match a small total: refuse it.
			it.UnitPrice > (math.MaxInt64-sum)/int64(it.Quantity) {
			problems = append(problems, "items")
			break
		}
		sum += int64(it.Quantity) * it.UnitPrice
	}
	if d.Total < 0 || d.Total != sum {
		problems = append(problems, "total")
	}
	if len(d.Currency) != 3 {
		problems = append(problems, "currency")
	}
	return problems
}

// Outcome is the transactions service's verdict on an order's payment.
type Outcome string

// The charge outcomes.
const (
	OutcomePaid     Outcome = "paid"
	OutcomeDeclined Outcome = "declined"
	OutcomeFailed   Outcome = "failed"
)

// Valid reports whether o is one of the three outcomes.
func (o Outcome) Valid() bool {
	return o == OutcomePaid || o == OutcomeDeclined || o == OutcomeFailed
}

// Charge is the transactions service's decision on an order's payment. It is written
// once: a redelivery announces the same decision again.
type Charge struct {
	Outcome  Outcome `json:"outcome"`
	Reason   string  `json:"reason,omitempty"`
	ChargeID string  `json:"chargeId,omitempty"`
	// RefundID is set when the order failed although a charge was made: the charge was
	// refunded, and the customer's email says so.
	RefundID  string    `json:"refundId,omitempty"`
	DecidedAt time.Time `json:"decidedAt"`
}

// Problems names the fields of c that are not well formed.
func (c Charge) Problems() []string {
	var problems []string
	if !c.Outcome.Valid() {
		problems = append(problems, "outcome")
	}
	// Only a failed order is refunded, and only a charge it has.
	if c.RefundID != "" && (!refundPattern.MatchString(c.RefundID) || c.Outcome != OutcomeFailed || c.ChargeID == "") {
		problems = append(problems, "refundId")
	}
	if c.DecidedAt.IsZero() {
		problems = append(problems, "decidedAt")
	}
	return problems
}

// What became of an order's one email.
const (
	DeliverySent     = "sent"
	DeliveryRejected = "rejected" // the mail server refused it for good (an SMTP 5xx)
)

// Notice is the email service's word on an order's one email: sent, or refused for good
// by the mail server (SMTPCode says how).
type Notice struct {
	Delivery   string    `json:"delivery"`
	SMTPCode   string    `json:"smtpCode,omitempty"`
	NotifiedAt time.Time `json:"notifiedAt"`
}

var smtpCodePattern = regexp.MustCompile(`^5[0-9][0-9]$`)

// Problems names the fields of n that are not well formed.
func (n Notice) Problems() []string {
	var problems []string
	switch {
	case n.Delivery == DeliverySent && n.SMTPCode == "":
	case n.Delivery == DeliveryRejected && smtpCodePattern.MatchString(n.SMTPCode):
	default:
		problems = append(problems, "delivery")
	}
	if n.NotifiedAt.IsZero() {
		problems = append(problems, "notifiedAt")
	}
	return problems
}

// Status is where an order is in its life.
type Status string

// The statuses. Final statuses have no step out of them: the customer has been told, or
// the mail server refused to tell them.
const (
	StatusAccepted         Status = "accepted"
	StatusPaid             Status = "paid"
	StatusDeclined         Status = "declined"
	StatusFailed           Status = "failed"
	StatusConfirmed        Status = "confirmed"
	StatusNotifiedDeclined Status = "notified_declined"
	StatusNotifiedFailed   Status = "notified_failed"
	// StatusEmailRejected: the mail server refused the order's email for good (an SMTP 5xx
	// reply): the outcome stands, the customer was not told by email.
	StatusEmailRejected Status = "email_rejected"
)

// next lists the legal steps out of each status.
var next = map[Status][]Status{
	StatusAccepted: {StatusPaid, StatusDeclined, StatusFailed},
	StatusPaid:     {StatusConfirmed, StatusEmailRejected},
	StatusDeclined: {StatusNotifiedDeclined, StatusEmailRejected},
	StatusFailed:   {StatusNotifiedFailed, StatusEmailRejected},
}

// Final reports whether s ends an order's life.
func (s Status) Final() bool { return len(next[s]) == 0 }

// CanMoveTo reports whether an order at s may step to t.
func (s Status) CanMoveTo(t Status) bool {
	for _, n := range next[s] {
		if n == t {
			return true
		}
	}
	return false
}

// AfterCharge is the status a charge decision moves an accepted order to.
func AfterCharge(o Outcome) Status { return Status(o) }

// AfterNotice is the final status an order with outcome o reaches when its email's fate
// is known.
func AfterNotice(o Outcome, n Notice) Status {
	if n.Delivery == DeliveryRejected {
		return StatusEmailRejected
	}
	switch o {
	case OutcomePaid:
		return StatusConfirmed
	case OutcomeDeclined:
		return StatusNotifiedDeclined
	default:
		return StatusNotifiedFailed
	}
}

// Step is one status an order reached, when, and why.
type Step struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

// Progress is what is known of an order: its details and the facts the events brought.
// Each fact arrives at least once, in any order across topics (the email's fate can reach
// the API before the charge decision does); Progress holds each once, whatever came
// first, and Steps reads the order's life from them.
type Progress struct {
	ID      string
	Details Details
	// Charge is the payment decision, from `order_confirm` or from the `order_notified`
	// event, which carries it too.
	Charge *Charge
	Notice *Notice
}

// Steps walks the facts through the state machine: accepted when placed, then the charge
// decision, then the email's fate. It returns the status reached and every step with its
// time (never earlier than the step before). A fact the machine refuses (a notice about
// another outcome than the decision) is left out, and err names it.
func (p Progress) Steps() (Status, []Step, error) {
	status := StatusAccepted
	steps := []Step{{Status: StatusAccepted, At: p.Details.PlacedAt}}
	at := p.Details.PlacedAt
	step := func(to Status, when time.Time, detail string) error {
		if !status.CanMoveTo(to) {
			return fmt.Errorf("order %s: no step from %s to %s", p.ID, status, to)
		}
		if when.Before(at) {
			when = at
		}
		at, status = when, to
		steps = append(steps, Step{Status: to, At: when, Detail: detail})
		return nil
	}
	if p.Charge == nil {
		return status, steps, nil
	}
	detail := p.Charge.Reason
	if p.Charge.RefundID != "" {
		detail += "; charge refunded"
	}
	if err := step(AfterCharge(p.Charge.Outcome), p.Charge.DecidedAt, detail); err != nil {
		return status, steps, err
	}
	if p.Notice == nil {
		return status, steps, nil
	}
	detail = "email sent"
	if p.Notice.Delivery == DeliveryRejected {
		detail = "the mail server refused the email (" + p.Notice.SMTPCode + ")"
	}
	err := step(AfterNotice(p.Charge.Outcome, *p.Notice), p.Notice.NotifiedAt, detail)
	return status, steps, err
}

// Refunded reports whether the order failed with a charge that was refunded.
func (p Progress) Refunded() bool { return p.Charge != nil && p.Charge.RefundID != "" }
