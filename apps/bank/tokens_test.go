package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateToken(t *testing.T) {
	tb := newTestBank(t) // clock: 2026-06-15
	ok := []struct {
		name, body, brand, last4 string
	}{
		{"visa without expiry", `{"number":"4242424242424242"}`, "visa", "4242"},
		{"mastercard with expiry", `{"number":"5555555555554444","expMonth":12,"expYear":2030}`, "mastercard", "4444"},
		{"amex expiring this month", `{"number":"378282246310005","expMonth":6,"expYear":2026}`, "amex", "0005"},
		{"discover", `{"number":"6011111111111117"}`, "discover", "1117"},
		{"unknown brand", `{"number":"3530111333300000"}`, "unknown", "0000"},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			rec := tb.do(http.MethodPost, "/v1/tokens", tt.body, nil)
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			got := decode(t, rec.Body.Bytes())
			assert.Regexp(t, `^tok_[a-z2-7]{24}$`, got["token"])
			assert.Equal(t, tt.brand, got["brand"])
			assert.Equal(t, tt.last4, got["last4"])
			assert.Len(t, got, 3, "the answer carries token, brand and last4 only")
		})
	}

	bad := []struct {
		name, body, code, message string
	}{
		{"letters", `{"number":"4242abcd42424242"}`, "invalid_number", "number must contain only digits 0-9"},
		{"spaces", `{"number":"4242 4242 4242 4242"}`, "invalid_number", "number must contain only digits 0-9"},
		{"missing number", `{}`, "invalid_number", "number must contain only digits 0-9"},
		{"too short", `{"number":"424242424242"}`, "invalid_number", "number must have 13 to 19 digits"},
		{"too long", `{"number":"42424242424242424242"}`, "invalid_number", "number must have 13 to 19 digits"},
		{"Luhn failure", `{"number":"4242424242424241"}`, "invalid_number", "number fails the Luhn check"},
		{"expired last month", `{"number":"4242424242424242","expMonth":5,"expYear":2026}`, "invalid_expiry", "card expired at the end of 05/2026"},
		{"month 13", `{"number":"4242424242424242","expMonth":13,"expYear":2030}`, "invalid_expiry", "expMonth must be 1 to 12, got 13"},
		{"year without month", `{"number":"4242424242424242","expYear":2030}`, "invalid_expiry", "expMonth must be 1 to 12, got 0"},
		{"number as JSON number", `{"number":4242424242424242}`, "invalid_json", `field "number" must be a string`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rec := tb.do(http.MethodPost, "/v1/tokens", tt.body, nil)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			assert.Equal(t, map[string]any{"code": tt.code, "message": tt.message}, decode(t, rec.Body.Bytes()))
		})
	}
}

func TestTokensAreUniqueAndSurviveRestart(t *testing.T) {
	tb := newTestBank(t)
	first := tb.tokenize("4242424242424242")
	second := tb.tokenize("4242424242424242")
	assert.NotEqual(t, first, second, "each tokenization mints a new token")

	tb.restart()
	rec := tb.charge("order-1", first, 1300, "order-1")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, "4242", decode(t, rec.Body.Bytes())["card"].(map[string]any)["last4"])
}

// TestRequestDecoding runs the shared body rules against every endpoint that takes a body.
func TestRequestDecoding(t *testing.T) {
	tb := newTestBank(t)
	endpoints := []struct{ method, path, valid string }{
		{http.MethodPost, "/v1/tokens", `{"number":"4242424242424242"}`},
		{http.MethodPost, "/v1/charges", chargeBody("tok_x", 100, "o1")},
		{http.MethodPost, "/v1/refunds", `{"chargeId":"ch_x"}`},
		{http.MethodPut, "/v1/admin/faults", `{"failureRate":0}`},
	}
	huge := `{"number":"` + strings.Repeat("4", 70<<10) + `"}`
	cases := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"malformed JSON", `{"number":`, "application/json", 400, "invalid_json"},
		{"not an object", `[1,2]`, "application/json", 400, "invalid_json"},
		{"unknown field", `{"cvv":"123"}`, "application/json", 400, "invalid_json"},
		{"two objects", `{} {}`, "application/json", 400, "invalid_json"},
		{"empty body", ``, "application/json", 400, "invalid_json"},
		{"oversize body", huge, "application/json", 413, "body_too_large"},
		{"form content type", `number=4242`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"no content type", `{}`, "", 415, "unsupported_media_type"},
	}
	for _, ep := range endpoints {
		for _, tt := range cases {
			t.Run(ep.path+"/"+tt.name, func(t *testing.T) {
				rec := tb.do(ep.method, ep.path, tt.body, map[string]string{
					"Content-Type": tt.contentType, idemKeyHeader: "k-" + tt.name,
				})
				require.Equal(t, tt.status, rec.Code, rec.Body.String())
				got := decode(t, rec.Body.Bytes())
				assert.Equal(t, tt.code, got["code"])
				assert.NotEmpty(t, got["message"])
			})
		}
		t.Run(ep.path+"/charset parameter accepted", func(t *testing.T) {
			// The Dapr HTTP binding sends "application/json; charset=utf-8".
			rec := tb.do(ep.method, ep.path, ep.valid, map[string]string{
				"Content-Type": "application/json; charset=utf-8", idemKeyHeader: "k-charset",
			})
			assert.NotEqual(t, http.StatusUnsupportedMediaType, rec.Code, rec.Body.String())
			assert.NotEqual(t, "invalid_json", decode(t, rec.Body.Bytes())["code"])
		})
	}
	assert.Empty(t, tb.ledger("").Charges, "no rejected request may charge")
}

func TestUnknownRoutes(t *testing.T) {
	tb := newTestBank(t)
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown path", http.MethodGet, "/v1/accounts", 404, "not_found"},
		{"wrong method on charges", http.MethodDelete, "/v1/charges", 405, "method_not_allowed"},
		{"wrong method on a void", http.MethodGet, "/v1/charges/void", 405, "method_not_allowed"},
		{"delete ledger is not offered", http.MethodDelete, "/v1/ledger", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tb.do(tt.method, tt.path, "", nil)
			require.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.code, decode(t, rec.Body.Bytes())["code"])
		})
	}
	t.Run("healthz", func(t *testing.T) {
		rec := tb.do(http.MethodGet, "/healthz", "", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, map[string]any{"status": "ok"}, decode(t, rec.Body.Bytes()))
	})
}
