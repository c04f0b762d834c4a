package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/dapr/go-sdk/service/common"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// routes: the `order` subscription's route (components/subscription-order.yaml) and probes.
func (c *consumer) routes(cfg config) http.Handler {
	r := service.NewRouter(c.log, cfg.AppToken, func(ctx context.Context) error {
		return service.SidecarReady(ctx, cfg.DaprHTTPPort)
	})
	r.Post(routeOrder, service.TopicHandler(c.log, validatedFirst(c.handleOrder)))
	return r
}

// validatedFirst validates an `order` event before anything records a word of it, then
// hands it to handle inside the consumer span and metric (service.InstrumentTopic).
// InstrumentTopic tags its span with the event's id and the data's orderId, and
// TopicHandler logs the id and topic of an event it drops: until the data is validated, all
// of that is whatever the sender wrote (an order id that is a card number, a field name
// that is a script). An event that fails validation is blanked in place (id, topic, data:
// TopicHandler's drop log holds none of them) and dropped inside an empty span with a
// fixed reason. A valid event whose envelope id is not the one the API gives it (its order
// id) loses that id, not its processing. (apps/email has the same guard for `order_confirm`.)
func validatedFirst(handle common.TopicEventHandler) common.TopicEventHandler {
	instrumented := service.InstrumentTopic(events.TopicOrder, handle)
	return func(ctx context.Context, e *common.TopicEvent) (bool, error) {
		o, err := events.DecodeOrderPlaced(e.RawData)
		if err != nil {
			*e = common.TopicEvent{}
			reason := safeReason(err)
			return service.InstrumentTopic(events.TopicOrder, func(context.Context, *common.TopicEvent) (bool, error) {
				return false, reason
			})(ctx, e)
		}
		if e.ID != o.OrderID {
			e.ID = ""
		}
		return instrumented(ctx, e)
	}
}

// safeReason keeps a validation error that names only the event's fields ("malformed
// event: bad orderId, email", built by events from fixed names); a decoding error can
// quote the event's own text (an unknown field's name) and becomes the bare ErrMalformed.
func safeReason(err error) error {
	if errors.Is(err, events.ErrMalformed) && strings.HasPrefix(err.Error(), events.ErrMalformed.Error()+": bad ") {
		return err
	}
	return events.ErrMalformed
}
