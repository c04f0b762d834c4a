package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// digitRun finds 13 or more digits in a row once spaces and dashes are taken out: the
// shape of a card number, however it was written.
var digitRun = regexp.MustCompile(`[0-9]{13,}`)

func assertNoCardNumber(t *testing.T, what, s string) {
	t.Helper()
	flat := strings.NewReplacer(" ", "", "-", "").Replace(s)
	assert.NotRegexp(t, digitRun, flat, "%s holds a card number: %s", what, s)
}

// goodOrder is the body of an order that goes through; tests change one thing in it.
func goodOrder() map[string]any {
	return map[string]any{
		"restaurant": "China city",
		"email":      "dana@example.com",
		"creditCard": cardVisaSpcd,
		"cardExpiry": "12/30",
		"items":      []any{map[string]any{"menuItemId": "m1", "quantity": 2}, map[string]any{"menuItemId": "m2", "quantity": 1}},
	}
}

func orderWith(changes map[string]any) map[string]any {
	o := goodOrder()
	for k, v := range changes {
		if v == nil {
			delete(o, k)
		} else {
			o[k] = v
		}
	}
	return o
}

func items(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"menuItemId": fmt.Sprintf("x%d", i), "quantity": 1}
	}
	return out
}

func TestPlaceOrderPublishesOnePricedEvent(t *testing.T) {
	hs := newHarness(t)
	body := orderWith(map[string]any{
		"items": []any{map[string]any{"menuItemId": "m1", "quantity": 2}, map[string]any{"menuItemId": "m2", "quantity": 1}},
	})
	rec := hs.do("POST", "/orders", body, nil)
	resp := accepted(t, rec)
	assert.True(t, order.ValidID(resp.OrderID), resp.OrderID)
	assert.Equal(t, order.StatusAccepted, resp.Status)
	assert.NotEmpty(t, resp.Message)
	assert.Equal(t, "/api/orders/"+resp.OrderID, rec.Header().Get("Location"))

	pub := hs.pub.published()
	require.Len(t, pub, 1, "exactly one event")
	ev := pub[0]
	assert.Equal(t, resp.OrderID, ev.OrderID)
	assert.Equal(t, "china-city", ev.RestaurantID)
	assert.Equal(t, "China city", ev.RestaurantName)
	assert.Equal(t, "dana@example.com", ev.Email)
	assert.Equal(t, []order.Item{
		{MenuItemID: "m1", Name: "Spring rolls", Quantity: 2, UnitPrice: 650},
		{MenuItemID: "m2", Name: "Kung pao tofu", Quantity: 1, UnitPrice: 4800},
	}, ev.Items, "prices from the catalog")
	assert.Equal(t, int64(2*650+4800), ev.Total)
	assert.Equal(t, "ILS", ev.Currency)
	assert.Equal(t, order.Card{Token: "tok_1abcd", Brand: "visa", Last4: "4242"}, ev.Card)
	assert.True(t, testNow.Equal(ev.PlacedAt))

	// The event must pass the consumers' own strict decoder.
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	_, err = events.DecodeOrderPlaced(raw)
	require.NoError(t, err)

	o, ok := hs.store.order(resp.OrderID)
	require.True(t, ok, "the order is recorded")
	assert.Equal(t, order.StatusAccepted, o.Status)
	assert.Equal(t, ev.Total, o.Total)
	assert.Equal(t, order.Card{Brand: "visa", Last4: "4242"}, o.Card, "no token kept in the order record")
	require.Len(t, o.Timeline, 1)

	stored, err := json.Marshal(o)
	require.NoError(t, err)
	assertNoCardNumber(t, "event", string(raw))
	assertNoCardNumber(t, "stored order", string(stored))
	assertNoCardNumber(t, "response", rec.Body.String())
	assertNoCardNumber(t, "logs", hs.logs.String())
}

func TestPlaceOrderVariants(t *testing.T) {
	tests := []struct {
		name      string
		body      map[string]any
		wantID    string
		wantTotal int64
		wantCurr  string
	}{
		{"seed style: no items, no expiry", map[string]any{"restaurant": "China city", "email": "dana@example.com", "creditCard": cardVisa}, "china-city", 0, "ILS"},
		{"restaurant by id", orderWith(map[string]any{"restaurant": "peking-duck-house", "items": []any{map[string]any{"menuItemId": "m1", "quantity": 3}}}), "peking-duck-house", 3 * 9900, "ILS"},
		{"restaurant name in another case, padded", orderWith(map[string]any{"restaurant": "  PIZZA roma ", "items": []any{map[string]any{"menuItemId": "p2", "quantity": 50}}}), "pizza-roma", 50 * 1350, "EUR"},
		{"card with dashes", orderWith(map[string]any{"creditCard": "4242-4242-4242-4242"}), "china-city", 2*650 + 4800, "ILS"},
		{"expiry with a four-digit year", orderWith(map[string]any{"cardExpiry": "11/2026"}), "china-city", 2*650 + 4800, "ILS"},
		{"50 lines", orderWith(map[string]any{"restaurant": "pizza-roma", "items": []any{map[string]any{"menuItemId": "p1", "quantity": 1}}}), "pizza-roma", 1100, "EUR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			resp := accepted(t, hs.do("POST", "/orders", tc.body, nil))
			pub := hs.pub.published()
			require.Len(t, pub, 1)
			assert.Equal(t, resp.OrderID, pub[0].OrderID)
			assert.Equal(t, tc.wantID, pub[0].RestaurantID)
			assert.Equal(t, tc.wantTotal, pub[0].Total)
			assert.Equal(t, tc.wantCurr, pub[0].Currency)
		})
	}
}

func TestPlaceOrderRejects(t *testing.T) {
	big := `{"restaurant":"China city","email":"dana@example.com","creditCard":"` + cardVisa + `","pad":"` + strings.Repeat("x", 64<<10) + `"}`
	tests := []struct {
		name       string
		body       any
		header     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"unknown restaurant", orderWith(map[string]any{"restaurant": "Sushi Bar"}), nil, 400, "unknown_restaurant"},
		{"no restaurant", orderWith(map[string]any{"restaurant": nil}), nil, 400, "unknown_restaurant"},
		{"no email", orderWith(map[string]any{"email": nil}), nil, 400, "invalid_email"},
		{"not an email", orderWith(map[string]any{"email": "dana"}), nil, 400, "invalid_email"},
		{"two recipients with ;", orderWith(map[string]any{"email": "a@b.com;c@d.com"}), nil, 400, "invalid_email"},
		{"two recipients with ,", orderWith(map[string]any{"email": "a@b.com,c@d.com"}), nil, 400, "invalid_email"},
		{"CR LF header injection", orderWith(map[string]any{"email": "dana@example.com\r\nBcc: eve@example.com"}), nil, 400, "invalid_email"},
		{"LF alone", orderWith(map[string]any{"email": "dana@example.com\n"}), nil, 400, "invalid_email"},
		{"display name", orderWith(map[string]any{"email": "Dana <dana@example.com>"}), nil, 400, "invalid_email"},
		{"a card number as the email", orderWith(map[string]any{"email": "4111111111111111@example.com"}), nil, 400, "invalid_email"},
		{"a card number with dots in the email", orderWith(map[string]any{"email": "4111.1111.1111.1111@example.com"}), nil, 400, "invalid_email"},
		{"a card number with dashes in the email", orderWith(map[string]any{"email": "dana-4242-4242-4242-4242@example.com"}), nil, 400, "invalid_email"},
		{"a card number after a plus", orderWith(map[string]any{"email": "dana+4111_1111_1111_1111@example.com"}), nil, 400, "invalid_email"},
		{"a card number split by the @", orderWith(map[string]any{"email": "41111111@11111111.com"}), nil, 400, "invalid_email"},
		{"a card number in the domain", orderWith(map[string]any{"email": "dana@4111111111111111.example.com"}), nil, 400, "invalid_email"},
		{"a 15-digit card in the email", orderWith(map[string]any{"email": "378282246310005@example.com"}), nil, 400, "invalid_email"},
		{"a 13-digit card in the email", orderWith(map[string]any{"email": "4222222222222@example.com"}), nil, 400, "invalid_email"},
		{"a card in full-width digits", orderWith(map[string]any{"email": "４１１１１１１１１１１１１１１１@example.com"}), nil, 400, "invalid_email"},
		{"a card in Arabic-Indic digits", orderWith(map[string]any{"email": "٤١١١١١١١١١١١١١١١@example.com"}), nil, 400, "invalid_email"},
		{"a card number as the restaurant is not echoed", orderWith(map[string]any{"restaurant": "4111 1111 1111 1111"}), nil, 400, "unknown_restaurant"},
		{"a card number as a menu item is not echoed", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "4111111111111111", "quantity": 1}}}), nil, 400, "invalid_items"},
		{"no card", orderWith(map[string]any{"creditCard": nil}), nil, 400, "invalid_card"},
		{"bad Luhn", orderWith(map[string]any{"creditCard": "4242424242424241"}), nil, 400, "invalid_card"},
		{"12 digits", orderWith(map[string]any{"creditCard": "424242424242"}), nil, 400, "invalid_card"},
		{"20 digits", orderWith(map[string]any{"creditCard": "42424242424242424242"}), nil, 400, "invalid_card"},
		{"letters in the card", orderWith(map[string]any{"creditCard": "4242abcd42424242"}), nil, 400, "invalid_card"},
		{"card with a dot", orderWith(map[string]any{"creditCard": "4242.4242.4242.4242"}), nil, 400, "invalid_card"},
		{"card as a number", orderWith(map[string]any{"creditCard": 4242424242424242}), nil, 400, "invalid_field"},
		{"expiry month 13", orderWith(map[string]any{"cardExpiry": "13/30"}), nil, 400, "invalid_card_expiry"},
		{"expiry month 0", orderWith(map[string]any{"cardExpiry": "00/30"}), nil, 400, "invalid_card_expiry"},
		{"expiry with a dash", orderWith(map[string]any{"cardExpiry": "12-30"}), nil, 400, "invalid_card_expiry"},
		{"expiry not numbers", orderWith(map[string]any{"cardExpiry": "ab/cd"}), nil, 400, "invalid_card_expiry"},
		{"expired last month", orderWith(map[string]any{"cardExpiry": "10/26"}), nil, 400, "invalid_card_expiry"},
		{"expired years ago", orderWith(map[string]any{"cardExpiry": "01/2020"}), nil, 400, "invalid_card_expiry"},
		{"expiry implausibly far", orderWith(map[string]any{"cardExpiry": "01/2099"}), nil, 400, "invalid_card_expiry"},
		{"unknown menu item", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "m9", "quantity": 1}}}), nil, 400, "invalid_items"},
		{"another restaurant's item", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "p1", "quantity": 1}}}), nil, 400, "invalid_items"},
		{"quantity 0", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "m1", "quantity": 0}}}), nil, 400, "invalid_items"},
		{"quantity 51", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "m1", "quantity": 51}}}), nil, 400, "invalid_items"},
		{"negative quantity", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "m1", "quantity": -1}}}), nil, 400, "invalid_items"},
		{"fractional quantity", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "m1", "quantity": 1.5}}}), nil, 400, "invalid_field"},
		{"duplicate lines", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "m1", "quantity": 1}, map[string]any{"menuItemId": "m1", "quantity": 1}}}), nil, 400, "invalid_items"},
		{"51 lines", orderWith(map[string]any{"items": items(51)}), nil, 400, "invalid_items"},
		{"a client price", orderWith(map[string]any{"items": []any{map[string]any{"menuItemId": "m1", "quantity": 1, "unitPrice": 1}}}), nil, 400, "unknown_field"},
		{"a client total", orderWith(map[string]any{"total": 1}), nil, 400, "unknown_field"},
		{"a CVV", orderWith(map[string]any{"cvv": "123"}), nil, 400, "unknown_field"},
		{"malformed JSON", `{"restaurant":"China city",`, nil, 400, "malformed_json"},
		{"empty body", ``, nil, 400, "malformed_json"},
		{"trailing data", `{"restaurant":"China city","email":"dana@example.com","creditCard":"` + cardVisa + `"} {}`, nil, 400, "malformed_json"},
		{"an array", `[]`, nil, 400, "invalid_field"},
		{"not JSON content type", goodOrder(), map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type"},
		{"form content type", goodOrder(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"no content type", goodOrder(), map[string]string{"Content-Type": ""}, 415, "unsupported_media_type"},
		{"body over 64 KiB", big, nil, 413, "body_too_large"},
		{"Idempotency-Key too long", goodOrder(), map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}, 400, "invalid_idempotency_key"},
		{"Idempotency-Key with a control character", goodOrder(), map[string]string{"Idempotency-Key": "key\x01"}, 400, "invalid_idempotency_key"},
		{"Idempotency-Key not ASCII", goodOrder(), map[string]string{"Idempotency-Key": "מפתח"}, 400, "invalid_idempotency_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			rec := hs.do("POST", "/orders", tc.body, tc.header)
			assert.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			code, _ := errorBody(t, rec)
			assert.Equal(t, tc.wantCode, code)
			assert.Empty(t, hs.pub.published(), "nothing published")
			orders, keys := hs.store.count()
			assert.Zero(t, orders, "nothing stored")
			assert.Zero(t, keys, "no idempotency key kept")
			assert.Zero(t, hs.bank.callCount(), "the bank is not asked about a rejected order")
			assertNoCardNumber(t, "response", rec.Body.String())
			assertNoCardNumber(t, "logs", hs.logs.String())
			assertNoDigitRun(t, "response", rec.Body.String())
		})
	}
}

// assertNoDigitRun is stricter than assertNoCardNumber: 13 or more digits once every
// character but letters and digits is taken out ("4111.1111.1111.1111" included).
func assertNoDigitRun(t *testing.T, what, s string) {
	t.Helper()
	flat := regexp.MustCompile(`[^\p{L}\p{N}]+`).ReplaceAllString(s, "")
	assert.NotRegexp(t, `\p{Nd}{13,}`, flat, "%s holds a long digit run: %s", what, s)
}

// Addresses with digits that are not a card number go through: a short number, a long one
// that fails the Luhn check, digits split by letters.
func TestPlaceOrderAcceptsEmailsWithOrdinaryNumbers(t *testing.T) {
	for _, email := range []string{
		"load123@example.com",
		"dana+2026-11-30@example.com",
		"972545551234@example.com",
		"1234567812345678@example.com",
		"4111a1111b1111c1111@example.com",
		"dana@123.example.com",
	} {
		t.Run(email, func(t *testing.T) {
			hs := newHarness(t)
			accepted(t, hs.do("POST", "/orders", orderWith(map[string]any{"email": email}), nil))
			require.Len(t, hs.pub.published(), 1)
			assert.Equal(t, email, hs.pub.published()[0].Email)
		})
	}
}

func TestPlaceOrderDependencyFailures(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*harness)
		wantStatus int
		wantCode   string
	}{
		{"bank refuses the card", func(hs *harness) { hs.bank.err = errCardRefused{msg: "this card is reported stolen"} }, 400, "invalid_card"},
		{"bank down", func(hs *harness) { hs.bank.err = fmt.Errorf("%w: connection refused", errBankUnavailable) }, 503, "bank_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			tc.setup(hs)
			rec := hs.do("POST", "/orders", goodOrder(), map[string]string{"Idempotency-Key": "k-1"})
			assert.Equal(t, tc.wantStatus, rec.Code)
			code, _ := errorBody(t, rec)
			assert.Equal(t, tc.wantCode, code)
			assert.Empty(t, hs.pub.published(), "nothing published")
			orders, keys := hs.store.count()
			assert.Zero(t, orders, "nothing stored")
			assert.Zero(t, keys, "the idempotency key is free for the client's retry")
			assert.NotContains(t, rec.Body.String(), "connection refused", "internals stay in the log")

			// Once the dependency is back, the client's retry with the same key goes through.
			hs.bank.err, hs.pub.err = nil, nil
			resp := accepted(t, hs.do("POST", "/orders", goodOrder(), map[string]string{"Idempotency-Key": "k-1"}))
			require.Len(t, hs.pub.published(), 1)
			assert.Equal(t, resp.OrderID, hs.pub.published()[0].OrderID)
		})
	}
}

// landedPublisher publishes and then reports an error, as a publish does whose reply was
// lost: a timeout, a client that hung up, a broker that appended and then went quiet.
type landedPublisher struct {
	*fakePublisher
	fail int // how many publishes land and then fail
}

func (p *landedPublisher) PublishOrder(ctx context.Context, e events.OrderPlaced) error {
	if err := p.fakePublisher.PublishOrder(ctx, e); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		return context.DeadlineExceeded
	}
	return nil
}

func TestPlaceOrderPublishErrorIsAnUnknownOutcome(t *testing.T) {
	key := map[string]string{"Idempotency-Key": "k-unknown"}
	tests := []struct {
		name string
		// landed says whether the failed publish reached the broker anyway.
		landed bool
	}{
		{"the event reached the broker, its reply was lost", true},
		{"the event did not reach the broker", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			lp := &landedPublisher{fakePublisher: hs.pub, fail: 1}
			if tc.landed {
				hs.api.publisher = lp
			} else {
				hs.pub.err = context.DeadlineExceeded
			}
			rec := hs.do("POST", "/orders", goodOrder(), key)
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
			code, msg := errorBody(t, rec)
			assert.Equal(t, "outcome_unknown", code)
			assert.Contains(t, msg, "same Idempotency-Key")
			assert.NotContains(t, msg, "nothing was charged", "an outcome not seen is never \"not charged\"")
			_, keys := hs.store.count()
			require.Equal(t, 1, keys, "the key keeps the order")
			claim, _ := hs.store.claimed("k-unknown")
			claimed := claim.Event

			// The client's retry with the same key: the same order id, the same event again.
			hs.pub.err = nil
			resp := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
			assert.Equal(t, claimed.OrderID, resp.OrderID, "never a second order")
			pub := hs.pub.published()
			require.NotEmpty(t, pub)
			for _, e := range pub {
				assert.Equal(t, claimed, e, "every publish is the same event id, which consumers deduplicate")
			}
			assert.Equal(t, 1, hs.bank.callCount(), "the card is tokenized once")

			// Once recorded, further retries publish nothing new.
			n := len(hs.pub.published())
			again := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
			assert.Equal(t, claimed.OrderID, again.OrderID)
			assert.Len(t, hs.pub.published(), n)
		})
	}
}

func TestPlaceOrderPublishErrorWithoutAKey(t *testing.T) {
	hs := newHarness(t)
	hs.api.publisher = &landedPublisher{fakePublisher: hs.pub, fail: 1}
	rec := hs.do("POST", "/orders", goodOrder(), nil)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	code, msg := errorBody(t, rec)
	assert.Equal(t, "outcome_unknown", code)
	assert.Contains(t, msg, "check your email")
	assert.NotContains(t, msg, "nothing was charged")
}

func TestPlaceOrderPublishIsBounded(t *testing.T) {
	// A broker that never answers: the API answers "unknown" at its own deadline, before
	// nginx gives up on the request.
	hs := newHarness(t)
	hs.api.publishTimeout = 50 * time.Millisecond
	hs.api.publisher = blockingPublisher{}
	rec := hs.do("POST", "/orders", goodOrder(), map[string]string{"Idempotency-Key": "k-slow"})
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	code, _ := errorBody(t, rec)
	assert.Equal(t, "outcome_unknown", code)
}

// blockingPublisher waits until its context ends.
type blockingPublisher struct{}

func (blockingPublisher) PublishOrder(ctx context.Context, _ events.OrderPlaced) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestPlaceOrderRecordFailsAfterPublish(t *testing.T) {
	// The event is the commit point: a record that cannot be written is rebuilt later from
	// the consumers' reports, so the client still gets 202 and the order is not lost.
	hs := newHarness(t)
	hs.store.createErr = errBoom
	resp := accepted(t, hs.do("POST", "/orders", goodOrder(), nil))
	require.Len(t, hs.pub.published(), 1)
	assert.Equal(t, resp.OrderID, hs.pub.published()[0].OrderID)
	assert.Contains(t, hs.logs.String(), "order published but not recorded")
}

func TestIdempotencyKey(t *testing.T) {
	key := map[string]string{"Idempotency-Key": "3f1c9a7e-checkout-1"}

	t.Run("same key, same body: same order, one publish", func(t *testing.T) {
		hs := newHarness(t)
		first := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
		second := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
		assert.Equal(t, first.OrderID, second.OrderID)
		assert.Len(t, hs.pub.published(), 1)
		assert.Equal(t, 1, hs.bank.callCount(), "the card is tokenized once")
	})

	t.Run("same key, same order written differently", func(t *testing.T) {
		hs := newHarness(t)
		first := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
		again := orderWith(map[string]any{
			"restaurant": "china-city", "email": "Dana@Example.com", "creditCard": cardVisa,
			"items": []any{map[string]any{"menuItemId": "m2", "quantity": 1}, map[string]any{"menuItemId": "m1", "quantity": 2}},
		})
		second := accepted(t, hs.do("POST", "/orders", again, key))
		assert.Equal(t, first.OrderID, second.OrderID)
		assert.Len(t, hs.pub.published(), 1)
	})

	t.Run("same key, different body: 422", func(t *testing.T) {
		for _, change := range []map[string]any{
			{"items": []any{map[string]any{"menuItemId": "m1", "quantity": 3}}},
			{"email": "other@example.com"},
			{"restaurant": "Pizza Roma", "items": []any{map[string]any{"menuItemId": "p1", "quantity": 1}}},
			{"creditCard": "4000056655665556"},
			{"cardExpiry": "11/31"},
		} {
			hs := newHarness(t)
			accepted(t, hs.do("POST", "/orders", goodOrder(), key))
			rec := hs.do("POST", "/orders", orderWith(change), key)
			assert.Equal(t, http.StatusUnprocessableEntity, rec.Code, "change %v", change)
			code, _ := errorBody(t, rec)
			assert.Equal(t, "idempotency_conflict", code)
			assert.Len(t, hs.pub.published(), 1)
		}
	})

	t.Run("a different key is a different order", func(t *testing.T) {
		hs := newHarness(t)
		first := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
		second := accepted(t, hs.do("POST", "/orders", goodOrder(), map[string]string{"Idempotency-Key": "another"}))
		assert.NotEqual(t, first.OrderID, second.OrderID)
		assert.Len(t, hs.pub.published(), 2)
	})

	t.Run("crash between claim and record: the retry publishes the same order", func(t *testing.T) {
		hs := newHarness(t)
		hs.pub.panicOnce = true
		crashed := hs.do("POST", "/orders", goodOrder(), key)
		require.Equal(t, http.StatusInternalServerError, crashed.Code)
		require.Empty(t, hs.pub.published())
		rec, claimed := hs.store.claimed("3f1c9a7e-checkout-1")
		require.True(t, claimed, "the key was claimed before the crash")

		resp := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
		assert.Equal(t, rec.Event.OrderID, resp.OrderID, "the order id chosen before the crash")
		pub := hs.pub.published()
		require.Len(t, pub, 1)
		assert.Equal(t, rec.Event, pub[0], "the same event, so consumers deduplicate it")
		_, ok := hs.store.order(resp.OrderID)
		assert.True(t, ok, "recorded this time")
		assert.Equal(t, 1, hs.bank.callCount(), "not tokenized again")

		third := accepted(t, hs.do("POST", "/orders", goodOrder(), key))
		assert.Equal(t, resp.OrderID, third.OrderID)
		assert.Len(t, hs.pub.published(), 1, "recorded now: no more publishes")
	})

	t.Run("concurrent requests with one key make one order", func(t *testing.T) {
		hs := newHarness(t)
		const n = 8
		start := make(chan struct{})
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rec := hs.do("POST", "/orders", goodOrder(), key)
				if rec.Code == http.StatusAccepted {
					var r orderResponse
					_ = json.Unmarshal(rec.Body.Bytes(), &r)
					ids[i] = r.OrderID
				}
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			assert.Equal(t, ids[0], ids[i], "request %d", i)
		}
		assert.NotEmpty(t, ids[0])
		orders, _ := hs.store.count()
		assert.Equal(t, 1, orders)
		pub := hs.pub.published()
		require.NotEmpty(t, pub)
		for _, e := range pub {
			// A request that finds the key claimed but the order not yet recorded publishes
			// the same event again; consumers deduplicate on its id.
			assert.Equal(t, ids[0], e.OrderID)
		}
	})
}

func TestGetOrder(t *testing.T) {
	hs := newHarness(t)
	resp := accepted(t, hs.do("POST", "/orders", goodOrder(), nil))

	tests := []struct {
		name string
		id   string
		want int
	}{
		{"known", resp.OrderID, 200},
		{"unknown", "ord_01jd8xq3v7k2m9p4r6t8w0y2za", 404},
		{"malformed", "12345", 404},
		{"path tricks", "ord_..%2F..%2Fetc", 404},
		{"too long", "ord_" + strings.Repeat("a", 60), 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := hs.do("GET", "/orders/"+tc.id, nil, nil)
			require.Equal(t, tc.want, rec.Code)
			if tc.want == 404 {
				code, _ := errorBody(t, rec)
				assert.Equal(t, "not_found", code)
				return
			}
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			var got struct {
				OrderID    string       `json:"orderId"`
				Status     order.Status `json:"status"`
				Restaurant string       `json:"restaurant"`
				Email      string       `json:"email"`
				Total      int64        `json:"total"`
				Final      bool         `json:"final"`
				Card       order.Card   `json:"card"`
				Timeline   []struct {
					Status order.Status `json:"status"`
					At     string       `json:"at"`
				} `json:"timeline"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, resp.OrderID, got.OrderID)
			assert.Equal(t, order.StatusAccepted, got.Status)
			assert.Equal(t, "China city", got.Restaurant)
			assert.Equal(t, "d***@example.com", got.Email, "masked")
			assert.NotContains(t, rec.Body.String(), "dana@")
			assert.Equal(t, int64(2*650+4800), got.Total)
			assert.False(t, got.Final)
			assert.Equal(t, "4242", got.Card.Last4)
			assert.Empty(t, got.Card.Token)
			require.Len(t, got.Timeline, 1)
			assert.Equal(t, order.StatusAccepted, got.Timeline[0].Status)
			assert.Equal(t, "2026-11-27T18:00:00Z", got.Timeline[0].At)
			assertNoCardNumber(t, "order view", rec.Body.String())
		})
	}

	t.Run("store failure is a 500 that leaks nothing", func(t *testing.T) {
		hs := newHarness(t)
		hs.store.getErr = fmt.Errorf("get order: %w", errBoom)
		rec := hs.do("GET", "/orders/ord_01jd8xq3v7k2m9p4r6t8w0y2za", nil, nil)
		assert.Equal(t, 500, rec.Code)
		assert.NotContains(t, rec.Body.String(), "boom")
	})
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"dana@example.com", "d***@example.com"},
		{"a@b.io", "a**@b.io"},
		{"ab@b.io", "a**@b.io"},
		{"josé@example.com", "j***@example.com"},
		{"דנה@example.com", "ד**@example.com"},
		{"émile@example.fr", "é****@example.fr"},
		{"", "***"},
		{"@x.com", "***"},
		{"no-at-sign", "***"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := maskEmail(tc.in)
			assert.Equal(t, tc.want, got)
			assert.True(t, utf8.ValidString(got), "a masked address is still text")
		})
	}
}
