// Package events holds the messages that cross service boundaries in Kafka Restaurants: the
// pub/sub and topic names, the `order` and `order_confirm` event payloads, the order status
// values and the transition report that consumers send to the API. Producers and consumers
// share these types so an event's shape is defined once.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Names of the pub/sub component and topics; they match components/ and the Helm chart.
const (
	PubSub            = "pubsub"
	TopicOrder        = "order"
	TopicOrderConfirm = "order_confirm"
)

// CloudEvent types of the two events.
const (
	TypeOrderPlaced  = "kafkarestaurants.order.placed.v1"
	TypeOrderCharged = "kafkarestaurants.order.charged.v1"
)

// Status is where an order is in its life.
type Status string

// The order statuses. Final statuses have no transition out of them.
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

// Outcome is the transactions service's verdict on a charge.
type Outcome string

// The charge outcomes carried by order_confirm; each is also the order status it leads to.
const (
	OutcomePaid     Outcome = "paid"
	OutcomeDeclined Outcome = "declined"
	OutcomeFailed   Outcome = "failed"
)

// Card is what the system knows of a payment card: the bank's token, the brand and the last
// four digits. A full card number never appears in an event.
type Card struct {
	Token string `json:"token,omitempty"`
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// Item is one priced line of an order; prices come from the catalog, in minor units.
type Item struct {
	MenuItemID string `json:"menuItemId"`
	Name       string `json:"name"`
	Quantity   int    `json:"quantity"`
	UnitPrice  int64  `json:"unitPrice"`
}

// OrderPlaced is the data of an `order` event.
type OrderPlaced struct {
	OrderID        string    `json:"orderId"`
	RestaurantID   string    `json:"restaurantId"`
	RestaurantName string    `json:"restaurantName"`
	Email          string    `json:"email"`
	Items          []Item    `json:"items"`
	Total          int64     `json:"total"`
	Currency       string    `json:"currency"`
	Card           Card      `json:"card"`
	PlacedAt       time.Time `json:"placedAt"`
}

// OrderCharged is the data of an `order_confirm` event.
type OrderCharged struct {
	OrderID        string  `json:"orderId"`
	RestaurantName string  `json:"restaurantName"`
	Email          string  `json:"email"`
	Items          []Item  `json:"items"`
	Total          int64   `json:"total"`
	Currency       string  `json:"currency"`
	Card           Card    `json:"card"`
	Outcome        Outcome `json:"outcome"`
	Reason         string  `json:"reason,omitempty"`
	ChargeID       string  `json:"chargeId,omitempty"`
	// RefundID is set when the order failed although a charge was made: the charge was
	// refunded, and the customer's email says so.
	RefundID  string    `json:"refundId,omitempty"`
	DecidedAt time.Time `json:"decidedAt"`
}

// Transition is what a consumer reports to the API when it moves an order on
// (POST /internal/orders/{id}/transitions).
type Transition struct {
	To     Status    `json:"to"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
	// Refunded, on a transition to failed, says a charge made for the order was refunded
	// (OrderCharged.RefundID), so the status page does not say "nothing was charged".
	Refunded bool `json:"refunded,omitempty"`
}

var (
	orderIDPattern = regexp.MustCompile(`^ord_[0-9a-zA-Z]{10,40}$`)
	last4Pattern   = regexp.MustCompile(`^[0-9]{4}$`)
	tokenPattern   = regexp.MustCompile(`^tok_[0-9a-zA-Z_]{4,64}$`)
	refundPattern  = regexp.MustCompile(`^re_[0-9a-zA-Z_]{4,64}$`)
)

// ErrMalformed wraps every reason an event is refused; such an event goes to dead letter.
var ErrMalformed = errors.New("malformed event")

// SafeReason keeps a validation error that names only the event's fields ("malformed
// event: bad orderId, email", built here from fixed names); a decoding error can quote the
// event's own text (an unknown field's name) and becomes the bare ErrMalformed. What it
// returns may be recorded (spans, logs) before anything else of the event is trusted.
func SafeReason(err error) error {
	if errors.Is(err, ErrMalformed) && strings.HasPrefix(err.Error(), ErrMalformed.Error()+": bad ") {
		return err
	}
	return ErrMalformed
}

// ValidOrderID reports whether id has the shape the API gives order ids.
func ValidOrderID(id string) bool { return orderIDPattern.MatchString(id) }

// DecodeOrderPlaced strictly decodes and validates the data of an `order` event.
func DecodeOrderPlaced(data []byte) (OrderPlaced, error) {
	var o OrderPlaced
	if err := decodeStrict(data, &o); err != nil {
		return o, err
	}
	var problems []string
	if !ValidOrderID(o.OrderID) {
		problems = append(problems, "orderId")
	}
	if o.RestaurantName == "" {
		problems = append(problems, "restaurantName")
	}
	if err := ValidateEmail(o.Email); err != nil {
		problems = append(problems, "email")
	}
	if !tokenPattern.MatchString(o.Card.Token) || !last4Pattern.MatchString(o.Card.Last4) {
		problems = append(problems, "card")
	}
	problems = append(problems, checkItems(o.Items, o.Total, o.Currency)...)
	if o.PlacedAt.IsZero() {
		problems = append(problems, "placedAt")
	}
	if len(problems) > 0 {
		return o, fmt.Errorf("%w: bad %s", ErrMalformed, strings.Join(problems, ", "))
	}
	return o, nil
}

// DecodeOrderCharged strictly decodes and validates the data of an `order_confirm` event.
func DecodeOrderCharged(data []byte) (OrderCharged, error) {
	var o OrderCharged
	if err := decodeStrict(data, &o); err != nil {
		return o, err
	}
	var problems []string
	if !ValidOrderID(o.OrderID) {
		problems = append(problems, "orderId")
	}
	if err := ValidateEmail(o.Email); err != nil {
		problems = append(problems, "email")
	}
	switch o.Outcome {
	case OutcomePaid, OutcomeDeclined, OutcomeFailed:
	default:
		problems = append(problems, "outcome")
	}
	if o.Card.Token != "" || !last4Pattern.MatchString(o.Card.Last4) {
		problems = append(problems, "card")
	}
	// Only a failed order is refunded, and only a charge it has.
	if o.RefundID != "" && (!refundPattern.MatchString(o.RefundID) || o.Outcome != OutcomeFailed || o.ChargeID == "") {
		problems = append(problems, "refundId")
	}
	problems = append(problems, checkItems(o.Items, o.Total, o.Currency)...)
	if len(problems) > 0 {
		return o, fmt.Errorf("%w: bad %s", ErrMalformed, strings.Join(problems, ", "))
	}
	return o, nil
}

func checkItems(items []Item, total int64, currency string) []string {
	var problems []string
	var sum int64
	for _, it := range items {
		if it.Quantity < 1 || it.Quantity > 100 || it.UnitPrice < 0 || it.MenuItemID == "" {
			problems = append(problems, "items")
			break
		}
		// A sum that wraps around int64 could match a small total: refuse it.
		if it.UnitPrice > (math.MaxInt64-sum)/int64(it.Quantity) {
			problems = append(problems, "items")
			break
		}
		sum += int64(it.Quantity) * it.UnitPrice
	}
	if total < 0 || total != sum {
		problems = append(problems, "total")
	}
	if len(currency) != 3 {
		problems = append(problems, "currency")
	}
	return problems
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	return nil
}

// Snapshot is what a consumer knows of an order, sent with a transition so the API can
// rebuild an order record that a crash kept it from writing (the event is the source of
// truth: an order exists once its `order` event does).
type Snapshot struct {
	RestaurantID   string    `json:"restaurantId,omitempty"`
	RestaurantName string    `json:"restaurantName"`
	Email          string    `json:"email"`
	Items          []Item    `json:"items"`
	Total          int64     `json:"total"`
	Currency       string    `json:"currency"`
	Card           Card      `json:"card"`
	PlacedAt       time.Time `json:"placedAt,omitzero"`
}

// TransitionRequest is the body of POST /internal/orders/{id}/transitions.
type TransitionRequest struct {
	Transition
	Order *Snapshot `json:"order,omitempty"`
}
