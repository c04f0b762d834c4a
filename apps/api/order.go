package main

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// record is the API's own record of an order, written once when it is accepted: its id
// and details (no card token). What happens to the order later is not written into it:
// each fact the events bring (order_confirm's decision, order_notified's email) is kept
// under a key of its own, once, and the order's status is read from them all
// (order.Progress), so facts that arrive twice or out of order change nothing.
type record struct {
	OrderID string `json:"orderId"`
	order.Details
}

// orderView is an order as GET /orders/{id} shows it. The email is partly masked, since
// anyone holding the order id can read it; `restaurant` is the name the seed's clients
// read.
type orderView struct {
	OrderID string       `json:"orderId"`
	Status  order.Status `json:"status"`
	order.Details
	Restaurant string       `json:"restaurant"`
	Email      string       `json:"email"`
	Timeline   []order.Step `json:"timeline"`
	CreatedAt  time.Time    `json:"createdAt"`
	UpdatedAt  time.Time    `json:"updatedAt"`
	// Refunded: the order failed although a charge was made, and that charge was
	// refunded; the status page says so instead of "nothing was charged".
	Refunded bool `json:"refunded,omitempty"`
	Final    bool `json:"final"`
}

// view reads an order's status and timeline from what is known of it.
func view(p order.Progress) (orderView, error) {
	status, steps, err := p.Steps()
	v := orderView{
		OrderID: p.ID, Status: status, Details: p.Details.Public(),
		Restaurant: p.Details.RestaurantName, Email: maskEmail(p.Details.Email),
		Timeline: steps, CreatedAt: steps[0].At, UpdatedAt: steps[len(steps)-1].At,
		Refunded: p.Refunded(), Final: status.Final(),
	}
	return v, err
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
