// Package events holds the messages that cross service boundaries in Kafka Restaurants: the
// pub/sub and topic names, the CloudEvent types and ids, and the payloads of `order`,
// `order_confirm` and `order_notified`, each the order's details (package order) with the
// fact its producer adds. Producers and consumers share these types and their strict
// decoders, so an event's shape is defined once.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// Names of the pub/sub component and topics; they match components/ and the Helm chart.
const (
	PubSub             = "pubsub"
	TopicOrder         = "order"
	TopicOrderConfirm  = "order_confirm"
	TopicOrderNotified = "order_notified"
)

// CloudEvent types of the three events.
const (
	TypeOrderPlaced   = "kafkarestaurants.order.placed.v1"
	TypeOrderCharged  = "kafkarestaurants.order.charged.v1"
	TypeOrderNotified = "kafkarestaurants.order.notified.v1"
)

// CloudEvent ids: stable per order and event, so a consumer tells a redelivery from a new
// event, and a re-publish after an unknown outcome is the same event.
func PlacedID(orderID string) string   { return orderID }
func ChargedID(orderID string) string  { return orderID + ".charged" }
func NotifiedID(orderID string) string { return orderID + ".notified" }

// OrderPlaced is the data of an `order` event: a new order, with its card's bank token.
type OrderPlaced struct {
	OrderID string `json:"orderId"`
	order.Details
}

// OrderCharged is the data of an `order_confirm` event: the payment decision on an order.
type OrderCharged struct {
	OrderID string `json:"orderId"`
	order.Details
	order.Charge
}

// OrderNotified is the data of an `order_notified` event: the fate of the order's one
// email. It carries the decision the email was about too, so it tells the whole story
// even when it reaches the API before `order_confirm` does.
type OrderNotified struct {
	OrderID string `json:"orderId"`
	order.Details
	order.Charge
	order.Notice
}

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

// DecodeOrderPlaced strictly decodes and validates the data of an `order` event.
func DecodeOrderPlaced(data []byte) (OrderPlaced, error) {
	var o OrderPlaced
	if err := decodeStrict(data, &o); err != nil {
		return o, err
	}
	problems := o.Details.Problems(order.WithToken)
	if o.PlacedAt.IsZero() {
		problems = append(problems, "placedAt")
	}
	return o, malformed(o.OrderID, problems)
}

// DecodeOrderCharged strictly decodes and validates the data of an `order_confirm` event.
func DecodeOrderCharged(data []byte) (OrderCharged, error) {
	var o OrderCharged
	if err := decodeStrict(data, &o); err != nil {
		return o, err
	}
	return o, malformed(o.OrderID, append(o.Details.Problems(order.WithoutToken), o.Charge.Problems()...))
}

// DecodeOrderNotified strictly decodes and validates the data of an `order_notified` event.
func DecodeOrderNotified(data []byte) (OrderNotified, error) {
	var o OrderNotified
	if err := decodeStrict(data, &o); err != nil {
		return o, err
	}
	problems := append(o.Details.Problems(order.WithoutToken), o.Charge.Problems()...)
	return o, malformed(o.OrderID, append(problems, o.Notice.Problems()...))
}

// malformed is nil for a good event, else ErrMalformed naming the bad fields (never their
// values: the reason may be logged before anything of the event is trusted).
func malformed(id string, problems []string) error {
	if !order.ValidID(id) {
		problems = append([]string{"orderId"}, problems...)
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: bad %s", ErrMalformed, strings.Join(problems, ", "))
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
