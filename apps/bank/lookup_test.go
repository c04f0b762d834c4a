package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lookup reads GET /v1/charges?idempotencyKey=key.
func (tb *testBank) lookup(key string) keyView {
	tb.t.Helper()
	rec := tb.do(http.MethodGet, "/v1/charges?idempotencyKey="+key, "", nil)
	require.Equal(tb.t, http.StatusOK, rec.Code, rec.Body.String())
	var v keyView
	require.NoError(tb.t, json.Unmarshal(rec.Body.Bytes(), &v))
	return v
}

// void posts POST /v1/charges/void for key.
func (tb *testBank) void(key string) keyView {
	tb.t.Helper()
	rec := tb.do(http.MethodPost, "/v1/charges/void", "", map[string]string{idemKeyHeader: key})
	require.Equal(tb.t, http.StatusOK, rec.Code, rec.Body.String())
	var v keyView
	require.NoError(tb.t, json.Unmarshal(rec.Body.Bytes(), &v))
	return v
}

func TestLookupChargeByKey(t *testing.T) {
	tests := []struct {
		name       string
		card       string
		wantState  string
		wantStatus string // the charge's own status, when there is one
	}{
		{"approved", "4242424242424242", keyCharged, "succeeded"},
		{"declined", "4000000000009995", keyCharged, "declined"},
		{"processing error: nothing recorded", "4000000000000119", keyNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBank(t)
			assert.Equal(t, keyView{IdempotencyKey: "ord-1", State: keyNone}, tb.lookup("ord-1"), "a key never used")
			answer := tb.charge("ord-1", tb.tokenize(tt.card), 1300, "ord-1")
			v := tb.lookup("ord-1")
			assert.Equal(t, tt.wantState, v.State)
			if tt.wantStatus == "" {
				assert.Empty(t, v.Charge)
				return
			}
			assert.JSONEq(t, answer.Body.String(), string(v.Charge), "the charge's own answer, byte for byte")
			assert.Equal(t, tt.wantStatus, decode(t, v.Charge)["status"])
			assert.Equal(t, v, tb.lookup("ord-1"), "a lookup changes nothing")
			assert.Len(t, tb.ledger("ord-1").Charges, 1)
		})
	}
}

func TestVoidChargeKey(t *testing.T) {
	t.Run("a key without a charge is voided, and no charge can use it after", func(t *testing.T) {
		tb := newTestBank(t)
		tok := tb.tokenize("4242424242424242")
		v := tb.void("ord-v")
		assert.Equal(t, keyVoided, v.State)
		require.NotNil(t, v.VoidedAt)
		assert.Equal(t, v, tb.void("ord-v"), "a repeated void answers the same")
		assert.Equal(t, v, tb.lookup("ord-v"))

		rec := tb.charge("ord-v", tok, 1300, "ord-v")
		require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
		assert.Equal(t, "charge_voided", decode(t, rec.Body.Bytes())["code"])
		assert.Empty(t, tb.ledger("ord-v").Charges, "a late charge cannot succeed")
		assert.Len(t, tb.ledger("ord-v").Voids, 1)

		tb.restart()
		assert.Equal(t, keyVoided, tb.lookup("ord-v").State, "a void survives a restart")
		assert.Equal(t, http.StatusConflict, tb.charge("ord-v", tok, 1300, "ord-v").Code)
		assert.Empty(t, tb.ledger("ord-v").Charges)
	})

	t.Run("a key with a charge is not voided: the void answers the charge", func(t *testing.T) {
		tb := newTestBank(t)
		answer := tb.charge("ord-c", tb.tokenize("4242424242424242"), 1300, "ord-c")
		require.Equal(t, http.StatusCreated, answer.Code)
		v := tb.void("ord-c")
		assert.Equal(t, keyCharged, v.State)
		assert.JSONEq(t, answer.Body.String(), string(v.Charge))
		assert.Empty(t, tb.ledger("").Voids, "nothing voided")
		again := tb.charge("ord-c", tb.tokenize("4242424242424242"), 1300, "ord-c")
		assert.Equal(t, http.StatusConflict, again.Code, "another request under the key is still a conflict, not a void")
	})

	t.Run("a void waits for a charge in progress with the key", func(t *testing.T) {
		tb := newTestBank(t) // the slow card takes 50 ms
		tok := tb.tokenize("4000000000003063")
		var wg sync.WaitGroup
		wg.Add(1)
		started := make(chan struct{})
		go func() {
			defer wg.Done()
			close(started)
			tb.charge("ord-s", tok, 100, "ord-s")
		}()
		<-started
		// Whichever takes the key first, the two agree: charged and not voided, or voided
		// and the charge refused.
		v := tb.void("ord-s")
		wg.Wait()
		l := tb.ledger("ord-s")
		switch v.State {
		case keyCharged:
			assert.Len(t, l.Charges, 1)
			assert.Empty(t, l.Voids)
		case keyVoided:
			assert.Empty(t, l.Charges)
			assert.Len(t, l.Voids, 1)
		default:
			t.Fatalf("state %q", v.State)
		}
	})
}

func TestLookupAndVoidRejectMalformedRequests(t *testing.T) {
	tb := newTestBank(t)
	long := strings.Repeat("k", maxKeyLength+1)
	tests := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		code                     string
	}{
		{"lookup without a key", http.MethodGet, "/v1/charges", "", nil, 400, "missing_idempotency_key"},
		{"lookup with an empty key", http.MethodGet, "/v1/charges?idempotencyKey=", "", nil, 400, "missing_idempotency_key"},
		{"lookup with two keys", http.MethodGet, "/v1/charges?idempotencyKey=a&idempotencyKey=b", "", nil, 400, "missing_idempotency_key"},
		{"lookup with a key too long", http.MethodGet, "/v1/charges?idempotencyKey=" + long, "", nil, 400, "invalid_idempotency_key"},
		{"void without a key", http.MethodPost, "/v1/charges/void", "", nil, 400, "missing_idempotency_key"},
		{"void with a key too long", http.MethodPost, "/v1/charges/void", "", map[string]string{idemKeyHeader: long}, 400, "invalid_idempotency_key"},
		{"void with a body", http.MethodPost, "/v1/charges/void", `{"orderId":"x"}`, map[string]string{idemKeyHeader: "ord-b"}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tb.do(tt.method, tt.path, tt.body, tt.headers)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			assert.Equal(t, tt.code, decode(t, rec.Body.Bytes())["code"])
		})
	}
	l := tb.ledger("")
	assert.Empty(t, l.Voids, "a refused void voids nothing")
	assert.Empty(t, l.Charges)
}

func TestHangAfterCharge(t *testing.T) {
	tb := newTestBank(t)
	require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", `{"hangRate":1,"seed":3}`, nil).Code)
	tok := tb.tokenize("4242424242424242")
	srv := httptest.NewServer(tb.h)
	defer srv.Close()

	// The charge is made, but its caller hears nothing until it gives up; so does a retry
	// with the same key.
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/charges", strings.NewReader(chargeBody(tok, 1300, "ord-h")))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idemKeyHeader, "ord-h")
		resp, err := http.DefaultClient.Do(req)
		if resp != nil {
			_ = resp.Body.Close()
		}
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "no answer")
	}
	l := tb.ledger("ord-h")
	require.Len(t, l.Charges, 1, "charged once")
	assert.Equal(t, "succeeded", l.Charges[0].Status)

	// Asking by key learns the outcome the charge call could not deliver.
	v := tb.lookup("ord-h")
	assert.Equal(t, keyCharged, v.State)
	assert.Equal(t, l.Charges[0].ID, decode(t, v.Charge)["id"])
	assert.Equal(t, keyCharged, tb.void("ord-h").State, "a charged key is not voided")
}
