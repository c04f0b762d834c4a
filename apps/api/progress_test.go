package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

const orderID = "ord_01jd8xq3v7k2m9p4r6t8w0y2za"

var testDetails = order.Details{
	RestaurantID: "china-city", RestaurantName: "China city", Email: "dana@example.com",
	Items: []order.Item{{MenuItemID: "m1", Name: "Spring rolls", Quantity: 2, UnitPrice: 650}}, Total: 1300,
	Currency: "ILS", Card: order.Card{Brand: "visa", Last4: "4242"}, PlacedAt: testNow,
}

// placeTestOrder records an accepted order as placeOrder does.
func placeTestOrder(t *testing.T, hs *harness) {
	t.Helper()
	require.NoError(t, hs.store.Create(t.Context(), record{OrderID: orderID, Details: testDetails}))
}

func chargedEvent(outcome order.Outcome, reason, refundID string) events.OrderCharged {
	c := order.Charge{Outcome: outcome, Reason: reason, DecidedAt: testNow.Add(time.Second)}
	if outcome != order.OutcomeFailed || refundID != "" {
		c.ChargeID = "ch_1"
	}
	c.RefundID = refundID
	return events.OrderCharged{OrderID: orderID, Details: testDetails, Charge: c}
}

func notifiedEvent(c events.OrderCharged, delivery, code string) events.OrderNotified {
	return events.OrderNotified{OrderID: c.OrderID, Details: c.Details, Charge: c.Charge,
		Notice: order.Notice{Delivery: delivery, SMTPCode: code, NotifiedAt: testNow.Add(2 * time.Second)}}
}

// deliver posts a CloudEvent to one of the API's event routes as daprd does, and returns
// Dapr's status (SUCCESS, RETRY, DROP).
func deliver(t *testing.T, hs *harness, route, id string, data any) string {
	t.Helper()
	raw, ok := data.([]byte)
	if !ok {
		var err error
		raw, err = json.Marshal(data)
		require.NoError(t, err)
	}
	topic := map[string]string{routeOrderConfirm: events.TopicOrderConfirm, routeOrderNotified: events.TopicOrderNotified}[route]
	env, err := json.Marshal(map[string]any{"id": id, "specversion": "1.0", "type": "x", "topic": topic,
		"pubsubname": "pubsub", "datacontenttype": "application/json", "data": json.RawMessage(raw)})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, route, strings.NewReader(string(env)))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, "daprd reads a 404 as drop; every answer is a 200 with a status")
	var ans struct{ Status string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
	return ans.Status
}

func getView(t *testing.T, hs *harness) map[string]any {
	t.Helper()
	rec := hs.do("GET", "/orders/"+orderID, nil, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var v map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
	return v
}

func timelineOf(v map[string]any) []string {
	var out []string
	for _, s := range v["timeline"].([]any) {
		// A step without a detail shows as "status:".
		step := s.(map[string]any)
		detail, _ := step["detail"].(string)
		out = append(out, step["status"].(string)+":"+detail)
	}
	return out
}

// Whatever order the two events arrive in, and however often, the order ends at the same
// status with the same timeline: facts are kept once each and the status is read from
// them, never from the order of arrival.
func TestEventsInAnyOrderGiveTheSameOrder(t *testing.T) {
	paid := chargedEvent(order.OutcomePaid, "", "")
	declined := chargedEvent(order.OutcomeDeclined, "card_declined", "")
	refunded := chargedEvent(order.OutcomeFailed, "payment_error", "re_abcd1234")
	outcomes := []struct {
		name     string
		charged  events.OrderCharged
		notified events.OrderNotified
		status   string
		timeline []string
	}{
		{"paid", paid, notifiedEvent(paid, "sent", ""), "confirmed",
			[]string{"accepted:", "paid:", "confirmed:email sent"}},
		{"declined", declined, notifiedEvent(declined, "sent", ""), "notified_declined",
			[]string{"accepted:", "declined:card_declined", "notified_declined:email sent"}},
		{"refunded", refunded, notifiedEvent(refunded, "sent", ""), "notified_failed",
			[]string{"accepted:", "failed:payment_error; charge refunded", "notified_failed:email sent"}},
		{"email refused", paid, notifiedEvent(paid, "rejected", "550"), "email_rejected",
			[]string{"accepted:", "paid:", "email_rejected:the mail server refused the email (550)"}},
	}
	arrivals := map[string][]string{
		"in order":              {"charged", "notified"},
		"email's fate first":    {"notified", "charged"},
		"each twice":            {"charged", "charged", "notified", "notified"},
		"interleaved repeats":   {"notified", "charged", "notified", "charged"},
		"only the email's fate": {"notified"},
	}
	for _, oc := range outcomes {
		for name, seq := range arrivals {
			t.Run(oc.name+"/"+name, func(t *testing.T) {
				hs := newHarness(t)
				placeTestOrder(t, hs)
				for _, which := range seq {
					var got string
					if which == "charged" {
						got = deliver(t, hs, routeOrderConfirm, events.ChargedID(orderID), oc.charged)
					} else {
						got = deliver(t, hs, routeOrderNotified, events.NotifiedID(orderID), oc.notified)
					}
					assert.Equal(t, "SUCCESS", got, "a repeat is acknowledged, not retried")
				}
				v := getView(t, hs)
				assert.Equal(t, oc.status, v["status"])
				assert.Equal(t, true, v["final"])
				assert.Equal(t, oc.timeline, timelineOf(v))
				assert.Equal(t, oc.name == "refunded", v["refunded"] == true)
				assert.Equal(t, "d***@example.com", v["email"], "masked on the status page")
				assert.Equal(t, "China city", v["restaurant"])
			})
		}
	}
}

func TestAChargeDecisionShowsBeforeTheEmail(t *testing.T) {
	hs := newHarness(t)
	placeTestOrder(t, hs)
	assert.Equal(t, "accepted", getView(t, hs)["status"])
	require.Equal(t, "SUCCESS", deliver(t, hs, routeOrderConfirm, events.ChargedID(orderID), chargedEvent(order.OutcomePaid, "", "")))
	v := getView(t, hs)
	assert.Equal(t, "paid", v["status"])
	assert.Equal(t, false, v["final"])
}

// The API stopped between publishing an order and recording it: the first event of the
// order carries its details, so the order shows all the same.
func TestAnOrderWithoutItsRecordShowsFromItsEvents(t *testing.T) {
	hs := newHarness(t)
	assert.Equal(t, http.StatusNotFound, hs.do("GET", "/orders/"+orderID, nil, nil).Code)
	require.Equal(t, "SUCCESS", deliver(t, hs, routeOrderConfirm, events.ChargedID(orderID), chargedEvent(order.OutcomeDeclined, "card_declined", "")))
	v := getView(t, hs)
	assert.Equal(t, "declined", v["status"])
	assert.Equal(t, "China city", v["restaurant"])
	assert.Equal(t, float64(1300), v["total"])
	assert.Equal(t, testNow.Format(time.RFC3339), v["createdAt"], "placed at the event's time")
}

// A decision kept once stands: a second, different one (a forged or stale event) is
// acknowledged and changes nothing.
func TestTheFirstDecisionStands(t *testing.T) {
	hs := newHarness(t)
	placeTestOrder(t, hs)
	require.Equal(t, "SUCCESS", deliver(t, hs, routeOrderConfirm, events.ChargedID(orderID), chargedEvent(order.OutcomePaid, "", "")))
	require.Equal(t, "SUCCESS", deliver(t, hs, routeOrderConfirm, events.ChargedID(orderID), chargedEvent(order.OutcomeDeclined, "card_declined", "")))
	assert.Equal(t, "paid", getView(t, hs)["status"])
}

func TestMalformedAndHostileEventsAreDroppedAndKeepNothing(t *testing.T) {
	good := chargedEvent(order.OutcomePaid, "", "")
	withField := func(v any, k string, val any) []byte {
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if val == nil {
			delete(m, k)
		} else {
			m[k] = val
		}
		b, _ = json.Marshal(m)
		return b
	}
	notified := notifiedEvent(good, "sent", "")
	tests := []struct {
		name  string
		route string
		data  []byte
	}{
		{"not JSON", routeOrderConfirm, []byte(`"hello"`)},
		{"a card number as the order id", routeOrderConfirm, withField(good, "orderId", "4111111111111111")},
		{"a path as the order id", routeOrderNotified, withField(notified, "orderId", "ord_../../x")},
		{"a token past the charge", routeOrderConfirm, withField(good, "card", map[string]any{"token": "tok_abcd1234", "brand": "visa", "last4": "4242"})},
		{"an unknown outcome", routeOrderConfirm, withField(good, "outcome", "refunded")},
		{"an unknown field", routeOrderNotified, withField(notified, "creditCard", "4111111111111111")},
		{"an unknown delivery", routeOrderNotified, withField(notified, "delivery", "maybe")},
		{"two recipients", routeOrderNotified, withField(notified, "email", "a@b.com;c@d.com")},
		{"a total that is not the sum", routeOrderConfirm, withField(good, "total", 1)},
		{"the wrong event for the route", routeOrderConfirm, withField(notified, "x", nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			placeTestOrder(t, hs)
			before := len(hs.store.state.items)
			assert.Equal(t, "DROP", deliver(t, hs, tc.route, "4111111111111111", tc.data))
			assert.Len(t, hs.store.state.items, before, "nothing kept")
			assert.Equal(t, "accepted", getView(t, hs)["status"])
			assert.NotContains(t, hs.logs.String(), "4111111111111111", "nothing of the event reaches a log")
		})
	}
}

func TestAStoreFailureAsksForARedelivery(t *testing.T) {
	hs := newHarness(t)
	hs.store.state.failSaves = true
	assert.Equal(t, "RETRY", deliver(t, hs, routeOrderConfirm, events.ChargedID(orderID), chargedEvent(order.OutcomePaid, "", "")))
	assert.Equal(t, "RETRY", deliver(t, hs, routeOrderNotified, events.NotifiedID(orderID), notifiedEvent(chargedEvent(order.OutcomePaid, "", ""), "sent", "")))
	hs.store.state.failSaves = false
	assert.Equal(t, "SUCCESS", deliver(t, hs, routeOrderConfirm, events.ChargedID(orderID), chargedEvent(order.OutcomePaid, "", "")))
	assert.Equal(t, "paid", getView(t, hs)["status"])
}

func TestNoAppMayReportATransitionAnyMore(t *testing.T) {
	hs := newHarness(t)
	placeTestOrder(t, hs)
	rec := hs.do("POST", "/internal/orders/"+orderID+"/transitions", map[string]any{"to": "paid"}, nil)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "accepted", getView(t, hs)["status"])
}
