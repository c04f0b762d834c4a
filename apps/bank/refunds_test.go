package main

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefunds(t *testing.T) {
	tb := newTestBank(t)
	charged := tb.charge("ord-1", tb.tokenize("4242424242424242"), 1300, "ord-1")
	require.Equal(t, http.StatusCreated, charged.Code)
	chargeID := decode(t, charged.Body.Bytes())["id"].(string)
	declined := tb.charge("ord-2", tb.tokenize("4000000000000002"), 1300, "ord-2")
	declinedID := decode(t, declined.Body.Bytes())["id"].(string)

	refund := func(key, chargeID string) (int, map[string]any, string) {
		rec := tb.do(http.MethodPost, "/v1/refunds", `{"chargeId":"`+chargeID+`"}`, map[string]string{idemKeyHeader: key})
		return rec.Code, decode(t, rec.Body.Bytes()), rec.Body.String()
	}

	status, first, firstBody := refund("refund-1", chargeID)
	require.Equal(t, http.StatusCreated, status, firstBody)
	assert.Regexp(t, `^re_[a-z2-7]{24}$`, first["id"])
	assert.Equal(t, "succeeded", first["status"])
	assert.Equal(t, chargeID, first["chargeId"])
	assert.Equal(t, "ord-1", first["orderId"])
	assert.EqualValues(t, 1300, first["amount"])

	t.Run("same key replays byte for byte", func(t *testing.T) {
		status, _, body := refund("refund-1", chargeID)
		assert.Equal(t, http.StatusCreated, status)
		assert.Equal(t, firstBody, body)
	})
	t.Run("another key returns the same refund", func(t *testing.T) {
		status, got, _ := refund("refund-2", chargeID)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, first["id"], got["id"])
	})

	errs := []struct {
		name, key, chargeID string
		status              int
		code                string
	}{
		{"same key, other charge", "refund-1", declinedID, 409, "idempotency_conflict"},
		{"unknown charge", "refund-3", "ch_nope", 404, "unknown_charge"},
		{"declined charge", "refund-4", declinedID, 409, "charge_not_refundable"},
		{"missing key", "", chargeID, 400, "missing_idempotency_key"},
		{"missing charge id", "refund-5", "", 400, "invalid_request"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{}
			if tt.key != "" {
				headers[idemKeyHeader] = tt.key
			}
			rec := tb.do(http.MethodPost, "/v1/refunds", `{"chargeId":"`+tt.chargeID+`"}`, headers)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			assert.Equal(t, tt.code, decode(t, rec.Body.Bytes())["code"])
		})
	}

	t.Run("survives a restart", func(t *testing.T) {
		tb.restart()
		status, _, body := refund("refund-1", chargeID)
		assert.Equal(t, http.StatusCreated, status)
		assert.Equal(t, firstBody, body)
		status, got, _ := refund("refund-6", chargeID)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, first["id"], got["id"])
	})

	l := tb.ledger("ord-1")
	require.Len(t, l.Refunds, 1)
	assert.Equal(t, first["id"], l.Refunds[0].ID)
	assert.Empty(t, tb.ledger("ord-2").Refunds)
}

func TestConcurrentRefundsWithDifferentKeysRefundOnce(t *testing.T) {
	tb := newTestBank(t)
	charged := tb.charge("ord-1", tb.tokenize("4242424242424242"), 700, "ord-1")
	chargeID := decode(t, charged.Body.Bytes())["id"].(string)

	const n = 12
	ids := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rec := tb.do(http.MethodPost, "/v1/refunds", `{"chargeId":"`+chargeID+`"}`,
				map[string]string{idemKeyHeader: "rk-" + string(rune('a'+i))})
			ids[i] = decode(t, rec.Body.Bytes())["id"]
		})
	}
	wg.Wait()
	for i := range n {
		assert.Equal(t, ids[0], ids[i])
	}
	assert.Len(t, tb.ledger("").Refunds, 1)
}
