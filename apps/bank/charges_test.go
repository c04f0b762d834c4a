package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChargeOutcomeByTestCard(t *testing.T) {
	tb := newTestBank(t)
	tests := []struct {
		number     string
		httpStatus int
		status     string
		code       string
	}{
		{"4242424242424242", 201, "succeeded", ""},
		{"5555555555554444", 201, "succeeded", ""},
		{"378282246310005", 201, "succeeded", ""},
		{"4000000000000002", 402, "declined", "card_declined"},
		{"4000000000009995", 402, "declined", "insufficient_funds"},
		{"4000000000009979", 402, "declined", "stolen_card"},
		{"4000000000000069", 402, "declined", "expired_card"},
		{"4000000000003063", 201, "succeeded", ""},
		{"4111111111111111", 201, "succeeded", ""}, // any other Luhn-valid number
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			order := "ord-" + tt.number
			rec := tb.charge(order, tb.tokenize(tt.number), 1300, order)
			require.Equal(t, tt.httpStatus, rec.Code, rec.Body.String())
			got := decode(t, rec.Body.Bytes())
			assert.Regexp(t, `^ch_[a-z2-7]{24}$`, got["id"])
			assert.Equal(t, tt.status, got["status"])
			assert.Equal(t, order, got["orderId"])
			assert.EqualValues(t, 1300, got["amount"])
			assert.Equal(t, "ILS", got["currency"])
			assert.Equal(t, tt.number[len(tt.number)-4:], got["card"].(map[string]any)["last4"])
			if tt.code == "" {
				assert.NotContains(t, got, "code")
			} else {
				assert.Equal(t, tt.code, got["code"])
				assert.NotEmpty(t, got["message"])
			}

			l := tb.ledger(order)
			require.Len(t, l.Charges, 1)
			assert.Equal(t, got["id"], l.Charges[0].ID)
			assert.Equal(t, tt.status, l.Charges[0].Status)
			assert.Equal(t, tt.code, l.Charges[0].Code)
		})
	}
}

func TestChargeRejections(t *testing.T) {
	tb := newTestBank(t)
	tok := tb.tokenize("4242424242424242")
	tests := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"missing idempotency key", "", chargeBody(tok, 100, "o1"), 400, "missing_idempotency_key"},
		{"idempotency key too long", strings.Repeat("k", 256), chargeBody(tok, 100, "o1"), 400, "invalid_idempotency_key"},
		{"negative amount", "k1", chargeBody(tok, -1, "o1"), 400, "invalid_request"},
		{"amount above the limit", "k2", chargeBody(tok, maxAmount+1, "o1"), 400, "invalid_request"},
		{"fractional amount", "k3", `{"token":"` + tok + `","amount":1.5,"currency":"ILS","orderId":"o1"}`, 400, "invalid_json"},
		{"lowercase currency", "k4", `{"token":"` + tok + `","amount":1,"currency":"ils","orderId":"o1"}`, 400, "invalid_request"},
		{"missing currency", "k5", `{"token":"` + tok + `","amount":1,"orderId":"o1"}`, 400, "invalid_request"},
		{"missing order id", "k6", chargeBody(tok, 100, ""), 400, "invalid_request"},
		{"missing token", "k7", chargeBody("", 100, "o1"), 400, "invalid_request"},
		{"unknown token", "k8", chargeBody("tok_doesnotexist", 100, "o1"), 404, "unknown_token"},
		{"processing error card", "k9", chargeBody(tb.tokenize("4000000000000119"), 100, "o1"), 500, "processing_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{}
			if tt.key != "" {
				headers[idemKeyHeader] = tt.key
			}
			rec := tb.do(http.MethodPost, "/v1/charges", tt.body, headers)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			got := decode(t, rec.Body.Bytes())
			assert.Equal(t, tt.code, got["code"])
			assert.NotEmpty(t, got["message"])
		})
	}
	assert.Empty(t, tb.ledger("").Charges, "a rejected charge leaves no ledger entry")
}

func TestProcessingErrorIsRetryable(t *testing.T) {
	tb := newTestBank(t)
	tok := tb.tokenize("4000000000000119")
	for attempt := 1; attempt <= 3; attempt++ {
		rec := tb.charge("ord-pe", tok, 500, "ord-pe")
		require.Equal(t, http.StatusInternalServerError, rec.Code, "attempt %d", attempt)
		assert.Empty(t, rec.Header().Get(replayHeader), "a processing error is never stored as the key's answer")
	}
	assert.Empty(t, tb.ledger("ord-pe").Charges)
}

func TestZeroAmountVerification(t *testing.T) {
	tb := newTestBank(t)
	approved := tb.charge("ord-v1", tb.tokenize("4242424242424242"), 0, "ord-v1")
	require.Equal(t, http.StatusCreated, approved.Code, approved.Body.String())
	declined := tb.charge("ord-v2", tb.tokenize("4000000000009995"), 0, "ord-v2")
	require.Equal(t, http.StatusPaymentRequired, declined.Code, declined.Body.String())
	assert.Equal(t, "insufficient_funds", decode(t, declined.Body.Bytes())["code"])
}

func TestChargeIdempotency(t *testing.T) {
	tests := []struct {
		name   string
		number string
		status int
	}{
		{"approved", "4242424242424242", http.StatusCreated},
		{"declined", "4000000000009979", http.StatusPaymentRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBank(t)
			tok := tb.tokenize(tt.number)
			first := tb.charge("ord-1", tok, 1300, "ord-1")
			require.Equal(t, tt.status, first.Code, first.Body.String())
			assert.Empty(t, first.Header().Get(replayHeader))

			again := tb.charge("ord-1", tok, 1300, "ord-1")
			assert.Equal(t, tt.status, again.Code)
			assert.Equal(t, first.Body.String(), again.Body.String(), "a replay is byte-identical")
			assert.Equal(t, "true", again.Header().Get(replayHeader))

			// Same request, other field order and spacing: still the same request.
			reordered := tb.do(http.MethodPost, "/v1/charges",
				`{ "orderId":"ord-1", "currency":"ILS", "amount":1300, "token":"`+tok+`" }`,
				map[string]string{idemKeyHeader: "ord-1"})
			assert.Equal(t, tt.status, reordered.Code)
			assert.Equal(t, first.Body.String(), reordered.Body.String())

			conflict := tb.charge("ord-1", tok, 1400, "ord-1")
			require.Equal(t, http.StatusConflict, conflict.Code)
			assert.Equal(t, "idempotency_conflict", decode(t, conflict.Body.Bytes())["code"])

			assert.Len(t, tb.ledger("ord-1").Charges, 1)
		})
	}
}

func TestChargeReplayAfterRestart(t *testing.T) {
	tb := newTestBank(t)
	tok := tb.tokenize("5555555555554444")
	declinedTok := tb.tokenize("4000000000000002")
	first := tb.charge("ord-r", tok, 2599, "ord-r")
	require.Equal(t, http.StatusCreated, first.Code)
	firstDeclined := tb.charge("ord-d", declinedTok, 100, "ord-d")
	require.Equal(t, http.StatusPaymentRequired, firstDeclined.Code)

	tb.restart()

	again := tb.charge("ord-r", tok, 2599, "ord-r")
	assert.Equal(t, http.StatusCreated, again.Code)
	assert.Equal(t, first.Body.String(), again.Body.String())
	againDeclined := tb.charge("ord-d", declinedTok, 100, "ord-d")
	assert.Equal(t, http.StatusPaymentRequired, againDeclined.Code)
	assert.Equal(t, firstDeclined.Body.String(), againDeclined.Body.String())

	conflict := tb.charge("ord-r", tok, 1, "ord-r")
	assert.Equal(t, http.StatusConflict, conflict.Code)

	l := tb.ledger("")
	assert.Len(t, l.Charges, 2)
	assert.Equal(t, ledgerCounts{Succeeded: 1, Declined: 1}, l.Counts)
}

func TestConcurrentChargesWithOneKeyChargeOnce(t *testing.T) {
	tb := newTestBank(t)
	tok := tb.tokenize("4242424242424242")
	const n = 16
	bodies := make([]string, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rec := tb.charge("ord-c", tok, 999, "ord-c")
			bodies[i], codes[i] = rec.Body.String(), rec.Code
		})
	}
	wg.Wait()
	for i := range n {
		assert.Equal(t, http.StatusCreated, codes[i])
		assert.Equal(t, bodies[0], bodies[i], "every caller sees the one charge")
	}
	assert.Len(t, tb.ledger("ord-c").Charges, 1)

	// Different keys do not wait for each other and each charges.
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("ord-p%d", i)
			assert.Equal(t, http.StatusCreated, tb.charge(key, tok, 1, key).Code)
		})
	}
	wg.Wait()
	assert.Equal(t, n+1, tb.ledger("").Counts.Succeeded)
}

func TestSlowCard(t *testing.T) {
	tb := newTestBank(t) // slow delay 50ms
	tok := tb.tokenize("4000000000003063")

	start := time.Now()
	rec := tb.charge("ord-slow", tok, 100, "ord-slow")
	require.Equal(t, http.StatusCreated, rec.Code)
	assert.GreaterOrEqual(t, time.Since(start), tb.slowDelay)

	t.Run("client gone before the delay ends charges nothing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/charges", strings.NewReader(chargeBody(tok, 100, "ord-gone")))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idemKeyHeader, "ord-gone")
		tb.h.ServeHTTP(httptest.NewRecorder(), req)
		assert.Empty(t, tb.ledger("ord-gone").Charges)
		// The key stays free: a retry charges normally.
		assert.Equal(t, http.StatusCreated, tb.charge("ord-gone", tok, 100, "ord-gone").Code)
	})
}

func TestCardExpiringBeforeChargeIsDeclined(t *testing.T) {
	tb := newTestBank(t) // 2026-06-15
	rec := tb.do(http.MethodPost, "/v1/tokens", `{"number":"4242424242424242","expMonth":6,"expYear":2026}`, nil)
	require.Equal(t, http.StatusCreated, rec.Code)
	tok := decode(t, rec.Body.Bytes())["token"].(string)

	require.Equal(t, http.StatusCreated, tb.charge("ord-june", tok, 100, "ord-june").Code)
	tb.clock.set(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	july := tb.charge("ord-july", tok, 100, "ord-july")
	require.Equal(t, http.StatusPaymentRequired, july.Code)
	assert.Equal(t, "expired_card", decode(t, july.Body.Bytes())["code"])
}

func TestLedgerFilterAndCounts(t *testing.T) {
	tb := newTestBank(t)
	ok := tb.tokenize("4242424242424242")
	no := tb.tokenize("4000000000000002")
	require.Equal(t, http.StatusCreated, tb.charge("a-1", ok, 100, "ord-a").Code)
	require.Equal(t, http.StatusPaymentRequired, tb.charge("a-2", no, 100, "ord-a").Code)
	require.Equal(t, http.StatusCreated, tb.charge("b-1", ok, 300, "ord-b").Code)

	tests := []struct {
		order string
		want  ledgerCounts
		n     int
	}{
		{"", ledgerCounts{Succeeded: 2, Declined: 1}, 3},
		{"ord-a", ledgerCounts{Succeeded: 1, Declined: 1}, 2},
		{"ord-b", ledgerCounts{Succeeded: 1}, 1},
		{"ord-none", ledgerCounts{}, 0},
	}
	for _, tt := range tests {
		t.Run("order="+tt.order, func(t *testing.T) {
			l := tb.ledger(tt.order)
			assert.Equal(t, tt.want, l.Counts)
			assert.Len(t, l.Charges, tt.n)
			for _, c := range l.Charges {
				if tt.order != "" {
					assert.Equal(t, tt.order, c.OrderID)
				}
			}
			assert.NotNil(t, l.Refunds, "refunds is [] rather than null")
		})
	}
}
