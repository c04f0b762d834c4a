package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

const validPlaced = `{"orderId":"ord_01jd8xq3v7k2m9p4r6t8w0y2za","restaurantId":"china-city","restaurantName":"China city",
"email":"dana@example.com","items":[{"menuItemId":"m1","name":"Spring rolls","quantity":2,"unitPrice":650}],
"total":1300,"currency":"ILS","card":{"token":"tok_abc123","brand":"visa","last4":"4242"},
"placedAt":"2026-11-27T18:00:00Z"}`

const validCharged = `{"orderId":"ord_01jd8xq3v7k2m9p4r6t8w0y2za","restaurantId":"china-city","restaurantName":"China city","email":"dana@example.com",
"items":[{"menuItemId":"m1","name":"Spring rolls","quantity":2,"unitPrice":650}],"total":1300,"currency":"ILS",
"card":{"brand":"visa","last4":"4242"},"placedAt":"2026-11-27T18:00:00Z","outcome":"paid","chargeId":"ch_1","decidedAt":"2026-11-27T18:00:01Z"}`

const validNotified = `{"orderId":"ord_01jd8xq3v7k2m9p4r6t8w0y2za","restaurantId":"china-city","restaurantName":"China city","email":"dana@example.com",
"items":[{"menuItemId":"m1","name":"Spring rolls","quantity":2,"unitPrice":650}],"total":1300,"currency":"ILS",
"card":{"brand":"visa","last4":"4242"},"placedAt":"2026-11-27T18:00:00Z","outcome":"paid","chargeId":"ch_1","decidedAt":"2026-11-27T18:00:01Z",
"delivery":"sent","notifiedAt":"2026-11-27T18:00:02Z"}`

// with returns the JSON object base with the given top-level fields replaced (a nil value
// removes the field), so each case states only what it breaks.
func with(t *testing.T, base string, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(base), &m))
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func TestDecodeOrderPlacedAcceptsAValidEvent(t *testing.T) {
	o, err := DecodeOrderPlaced([]byte(validPlaced))
	require.NoError(t, err)
	assert.Equal(t, "ord_01jd8xq3v7k2m9p4r6t8w0y2za", o.OrderID)
	assert.Equal(t, int64(1300), o.Total)
	assert.Equal(t, "tok_abc123", o.Card.Token)

	// A seed-style order has no items: a zero total is then the right total.
	o, err = DecodeOrderPlaced(with(t, validPlaced, map[string]any{"items": []any{}, "total": 0}))
	require.NoError(t, err)
	assert.Empty(t, o.Items)
}

func TestDecodeOrderPlacedRejects(t *testing.T) {
	item := func(q, price any) []any {
		return []any{map[string]any{"menuItemId": "m1", "name": "x", "quantity": q, "unitPrice": price}}
	}
	tests := []struct {
		name string
		data []byte
		bad  string // the field the error names
	}{
		{"not JSON", []byte(`hello`), ""},
		{"empty", []byte(``), ""},
		{"an array", []byte(`[]`), ""},
		{"trailing data", []byte(validPlaced + `{}`), "trailing"},
		{"unknown field", with(t, validPlaced, map[string]any{"creditCard": "4242424242424242"}), "creditCard"},
		{"orderId of the wrong type", with(t, validPlaced, map[string]any{"orderId": 7}), ""},
		{"total as a string", with(t, validPlaced, map[string]any{"total": "1300"}), ""},
		{"missing orderId", with(t, validPlaced, map[string]any{"orderId": nil}), "orderId"},
		{"hostile orderId", with(t, validPlaced, map[string]any{"orderId": "ord_../../etc/passwd"}), "orderId"},
		{"missing restaurantName", with(t, validPlaced, map[string]any{"restaurantName": nil}), "restaurantName"},
		{"two recipients", with(t, validPlaced, map[string]any{"email": "a@b.com;c@d.com"}), "email"},
		{"header injection", with(t, validPlaced, map[string]any{"email": "a@b.com\r\nBcc: x@y.com"}), "email"},
		{"missing card", with(t, validPlaced, map[string]any{"card": nil}), "card"},
		{"card number instead of a token", with(t, validPlaced, map[string]any{"card": map[string]any{"token": "4242424242424242", "brand": "visa", "last4": "4242"}}), "card"},
		{"card number in a card field", with(t, validPlaced, map[string]any{"card": map[string]any{"number": "4242424242424242", "brand": "visa", "last4": "4242"}}), "number"},
		{"last4 too long", with(t, validPlaced, map[string]any{"card": map[string]any{"token": "tok_abc123", "brand": "visa", "last4": "424242"}}), "card"},
		{"total not the sum of the items", with(t, validPlaced, map[string]any{"total": 1}), "total"},
		{"negative total", with(t, validPlaced, map[string]any{"items": []any{}, "total": -5}), "total"},
		{"quantity 0", with(t, validPlaced, map[string]any{"items": item(0, 650), "total": 0}), "items"},
		{"quantity 101", with(t, validPlaced, map[string]any{"items": item(101, 1), "total": 101}), "items"},
		{"negative price", with(t, validPlaced, map[string]any{"items": item(1, -650), "total": -650}), "items"},
		{"item without id", with(t, validPlaced, map[string]any{"items": []any{map[string]any{"name": "x", "quantity": 1, "unitPrice": 1}}, "total": 1}), "items"},
		{"bad currency", with(t, validPlaced, map[string]any{"currency": "shekel"}), "currency"},
		{"missing placedAt", with(t, validPlaced, map[string]any{"placedAt": nil}), "placedAt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeOrderPlaced(tc.data)
			require.ErrorIs(t, err, ErrMalformed)
			assert.Contains(t, err.Error(), tc.bad)
		})
	}
}

func TestDecodeOrderChargedAcceptsEveryOutcome(t *testing.T) {
	for _, outcome := range []order.Outcome{order.OutcomePaid, order.OutcomeDeclined, order.OutcomeFailed} {
		t.Run(string(outcome), func(t *testing.T) {
			o, err := DecodeOrderCharged(with(t, validCharged, map[string]any{"outcome": outcome}))
			require.NoError(t, err)
			assert.Equal(t, outcome, o.Outcome)
		})
	}
}

func TestDecodeOrderChargedAcceptsARefundedFailure(t *testing.T) {
	o, err := DecodeOrderCharged(with(t, validCharged, map[string]any{"outcome": "failed", "reason": "payment_error", "refundId": "re_abcd1234"}))
	require.NoError(t, err)
	assert.Equal(t, "re_abcd1234", o.RefundID)
	assert.Equal(t, "ch_1", o.ChargeID)
}

func TestDecodeOrderChargedRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		bad  string
	}{
		{"not JSON", []byte(`{`), ""},
		{"trailing data", []byte(validCharged + ` 1`), "trailing"},
		{"unknown field", with(t, validCharged, map[string]any{"cvv": "123"}), "cvv"},
		{"unknown outcome", with(t, validCharged, map[string]any{"outcome": "maybe"}), "outcome"},
		{"missing outcome", with(t, validCharged, map[string]any{"outcome": nil}), "outcome"},
		{"bad orderId", with(t, validCharged, map[string]any{"orderId": "123"}), "orderId"},
		{"two recipients", with(t, validCharged, map[string]any{"email": "a@b.com,c@d.com"}), "email"},
		{"a token travels on", with(t, validCharged, map[string]any{"card": map[string]any{"token": "tok_abc123", "brand": "visa", "last4": "4242"}}), "card"},
		{"a card number as last4", with(t, validCharged, map[string]any{"card": map[string]any{"brand": "visa", "last4": "4242424242424242"}}), "card"},
		{"total not the sum", with(t, validCharged, map[string]any{"total": 1299}), "total"},
		{"wrong type", with(t, validCharged, map[string]any{"items": "m1"}), ""},
		{"a refund of a paid order", with(t, validCharged, map[string]any{"refundId": "re_abcd1234"}), "refundId"},
		{"a refund without a charge", with(t, validCharged, map[string]any{"outcome": "failed", "chargeId": nil, "refundId": "re_abcd1234"}), "refundId"},
		{"a refund id of another shape", with(t, validCharged, map[string]any{"outcome": "failed", "refundId": "4242424242424242"}), "refundId"},
		{"a refund id as a number", with(t, validCharged, map[string]any{"outcome": "failed", "refundId": 5}), ""},
		{"no decision time", with(t, validCharged, map[string]any{"decidedAt": nil}), "decidedAt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeOrderCharged(tc.data)
			require.ErrorIs(t, err, ErrMalformed)
			assert.Contains(t, err.Error(), tc.bad)
		})
	}
}

// The details of an order are the same in every event: what one event refuses in them,
// the others refuse too.
func TestEveryEventChecksTheDetailsAlike(t *testing.T) {
	decoders := map[string]struct {
		base   string
		decode func([]byte) error
	}{
		"order":          {validPlaced, func(b []byte) error { _, err := DecodeOrderPlaced(b); return err }},
		"order_confirm":  {validCharged, func(b []byte) error { _, err := DecodeOrderCharged(b); return err }},
		"order_notified": {validNotified, func(b []byte) error { _, err := DecodeOrderNotified(b); return err }},
	}
	breaks := map[string]map[string]any{
		"restaurantName": {"restaurantName": ""},
		"email":          {"email": "a@b.com;c@d.com"},
		"total":          {"total": 1},
		"currency":       {"currency": "shekel"},
		"orderId":        {"orderId": "ord_../x"},
	}
	for topic, d := range decoders {
		require.NoError(t, d.decode([]byte(d.base)), topic)
		for field, change := range breaks {
			t.Run(topic+"/"+field, func(t *testing.T) {
				err := d.decode(with(t, d.base, change))
				require.ErrorIs(t, err, ErrMalformed)
				assert.Contains(t, err.Error(), field)
			})
		}
	}
}

func TestDecodeOrderNotified(t *testing.T) {
	o, err := DecodeOrderNotified([]byte(validNotified))
	require.NoError(t, err)
	assert.Equal(t, order.DeliverySent, o.Delivery)
	assert.Equal(t, order.OutcomePaid, o.Outcome)
	assert.Equal(t, "china-city", o.RestaurantID, "the details travel whole")

	o, err = DecodeOrderNotified(with(t, validNotified, map[string]any{"delivery": "rejected", "smtpCode": "550"}))
	require.NoError(t, err)
	assert.Equal(t, "550", o.SMTPCode)

	tests := []struct {
		name string
		data []byte
		bad  string
	}{
		{"unknown field", with(t, validNotified, map[string]any{"to": "x@y.com"}), "to"},
		{"unknown delivery", with(t, validNotified, map[string]any{"delivery": "maybe"}), "delivery"},
		{"no delivery", with(t, validNotified, map[string]any{"delivery": nil}), "delivery"},
		{"a rejection without its code", with(t, validNotified, map[string]any{"delivery": "rejected"}), "delivery"},
		{"a rejection with a 4xx code", with(t, validNotified, map[string]any{"delivery": "rejected", "smtpCode": "451"}), "delivery"},
		{"a sent email with a code", with(t, validNotified, map[string]any{"smtpCode": "550"}), "delivery"},
		{"no time", with(t, validNotified, map[string]any{"notifiedAt": nil}), "notifiedAt"},
		{"no outcome", with(t, validNotified, map[string]any{"outcome": nil}), "outcome"},
		{"a token travels on", with(t, validNotified, map[string]any{"card": map[string]any{"token": "tok_abc123", "brand": "visa", "last4": "4242"}}), "card"},
		{"trailing data", []byte(validNotified + `{}`), "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeOrderNotified(tc.data)
			require.ErrorIs(t, err, ErrMalformed)
			assert.Contains(t, err.Error(), tc.bad)
		})
	}
}

func TestSafeReason(t *testing.T) {
	_, err := DecodeOrderPlaced([]byte(`{"orderId":"4242424242424242"}`))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(SafeReason(err).Error(), "malformed event: bad "), "names only fields: %v", SafeReason(err))
	_, err = DecodeOrderPlaced([]byte(`{"<script>":1}`))
	require.Error(t, err)
	assert.Equal(t, ErrMalformed, SafeReason(err), "a decoding error that quotes the event becomes the bare ErrMalformed")
	assert.Equal(t, ErrMalformed, SafeReason(errors.New("anything else")))
}
