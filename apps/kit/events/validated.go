package events

import (
	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// Each consumer's handler is wrapped in one of these: the event is decoded and validated
// before anything records a word of it (service.ValidatedTopic), its envelope id must be
// the one its publisher gives it, and its consumer span is tagged with the order id.

// OnPlaced guards a handler of `order`.
func OnPlaced(h common.TopicEventHandler) common.TopicEventHandler {
	return guard(TopicOrder, DecodeOrderPlaced, PlacedID, h)
}

// OnCharged guards a handler of `order_confirm`.
func OnCharged(h common.TopicEventHandler) common.TopicEventHandler {
	return guard(TopicOrderConfirm, DecodeOrderCharged, ChargedID, h)
}

// OnNotified guards a handler of `order_notified`.
func OnNotified(h common.TopicEventHandler) common.TopicEventHandler {
	return guard(TopicOrderNotified, DecodeOrderNotified, NotifiedID, h)
}

// orderEvent is any of the three events: each is about one order.
type orderEvent interface{ orderID() string }

func (e OrderPlaced) orderID() string   { return e.OrderID }
func (e OrderCharged) orderID() string  { return e.OrderID }
func (e OrderNotified) orderID() string { return e.OrderID }

func guard[E orderEvent](topic string, decode func([]byte) (E, error), eventID func(string) string, h common.TopicEventHandler) common.TopicEventHandler {
	return service.ValidatedTopic(topic, func(data []byte) (service.Validated, error) {
		e, err := decode(data)
		if err != nil {
			return service.Validated{}, SafeReason(err)
		}
		id := e.orderID()
		return service.Validated{ID: eventID(id), Tags: map[string]string{order.TraceTag: id}}, nil
	}, h)
}
