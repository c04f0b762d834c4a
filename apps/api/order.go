package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
)

// Order is the API's record of an order: what was ordered and where it is in its life. It
// holds no card number, only the brand and the last four digits.
type Order struct {
	OrderID        string        `json:"orderId"`
	Status         events.Status `json:"status"`
	RestaurantID   string        `json:"restaurantId,omitempty"`
	RestaurantName string        `json:"restaurant"`
	Email          string        `json:"email"`
	Items          []events.Item `json:"items"`
	Total          int64         `json:"total"`
	Currency       string        `json:"currency"`
	Card           events.Card   `json:"card"`
	Timeline       []Step        `json:"timeline"`
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt"`
	// Refunded: the order failed although a charge was made, and that charge was refunded
	// (the transition to failed said so); the status page says so instead of "nothing was
	// charged".
	Refunded bool `json:"refunded,omitempty"`
}

// Step is one status an order reached, and when.
type Step struct {
	Status events.Status `json:"status"`
	At     time.Time     `json:"at"`
	Detail string        `json:"detail,omitempty"`
}

// next lists the legal transitions out of each status. Final statuses have none.
var next = map[events.Status][]events.Status{
	events.StatusAccepted: {events.StatusPaid, events.StatusDeclined, events.StatusFailed},
	events.StatusPaid:     {events.StatusConfirmed, events.StatusEmailRejected},
	events.StatusDeclined: {events.StatusNotifiedDeclined, events.StatusEmailRejected},
	events.StatusFailed:   {events.StatusNotifiedFailed, events.StatusEmailRejected},
}

// knownStatus reports whether s is a status of the state machine.
func knownStatus(s events.Status) bool {
	switch s {
	case events.StatusAccepted, events.StatusConfirmed, events.StatusNotifiedDeclined, events.StatusNotifiedFailed, events.StatusEmailRejected:
		return true
	}
	_, ok := next[s]
	return ok
}

// errIllegalTransition is a transition the state machine refuses.
var errIllegalTransition = errors.New("illegal transition")

// Apply moves the order to t.To. A status the order already reached is accepted and changes
// nothing (consumers redeliver; repeating a report must be harmless); anything else that is
// not a legal next step is refused.
func (o *Order) Apply(t events.Transition) (changed bool, err error) {
	if !knownStatus(t.To) {
		return false, fmt.Errorf("%w: unknown status %q", errIllegalTransition, t.To)
	}
	for _, s := range o.Timeline {
		if s.Status == t.To {
			return false, nil
		}
	}
	if !slices.Contains(next[o.Status], t.To) {
		return false, fmt.Errorf("%w: %s → %s", errIllegalTransition, o.Status, t.To)
	}
	at := t.At
	if at.IsZero() || at.Before(o.UpdatedAt) {
		at = o.UpdatedAt
	}
	o.Status = t.To
	o.UpdatedAt = at
	if t.To == events.StatusFailed && t.Refunded {
		o.Refunded = true
	}
	o.Timeline = append(o.Timeline, Step{Status: t.To, At: at, Detail: t.Detail})
	return true, nil
}

// Final reports whether the order has reached the end of its life.
func (o *Order) Final() bool { return len(next[o.Status]) == 0 }

// newOrder is an order as it is accepted.
func newOrder(e events.OrderPlaced) Order {
	if e.Items == nil {
		e.Items = []events.Item{}
	}
	return Order{
		OrderID:        e.OrderID,
		Status:         events.StatusAccepted,
		RestaurantID:   e.RestaurantID,
		RestaurantName: e.RestaurantName,
		Email:          e.Email,
		Items:          e.Items,
		Total:          e.Total,
		Currency:       e.Currency,
		Card:           events.Card{Brand: e.Card.Brand, Last4: e.Card.Last4},
		Timeline:       []Step{{Status: events.StatusAccepted, At: e.PlacedAt}},
		CreatedAt:      e.PlacedAt,
		UpdatedAt:      e.PlacedAt,
	}
}

// orderView is an order as GET /orders/{id} shows it: the email is partly masked, since
// anyone holding the order id can read it.
type orderView struct {
	Order
	Email string `json:"email"`
	Final bool   `json:"final"`
}

func (o Order) view() orderView {
	return orderView{Order: o, Email: maskEmail(o.Email), Final: o.Final()}
}

func maskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	// Runes, not bytes: a non-ASCII first letter must stay whole.
	_, first := utf8.DecodeRuneInString(local)
	return local[:first] + strings.Repeat("*", max(utf8.RuneCountInString(local)-1, 2)) + "@" + domain
}
