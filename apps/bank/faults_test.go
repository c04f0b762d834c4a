package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultsAdmin(t *testing.T) {
	tb := newTestBank(t)

	rec := tb.do(http.MethodGet, "/v1/admin/faults", "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"failureRate":0,"dropReplyRate":0,"latency":"0s","seed":1}`, rec.Body.String())

	rec = tb.do(http.MethodPut, "/v1/admin/faults", `{"failureRate":0.3,"dropReplyRate":0.1,"latency":"20ms","seed":9}`, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	want := `{"failureRate":0.3,"dropReplyRate":0.1,"latency":"20ms","seed":9}`
	assert.JSONEq(t, want, rec.Body.String())
	assert.JSONEq(t, want, tb.do(http.MethodGet, "/v1/admin/faults", "", nil).Body.String())

	// PUT replaces everything; a missing seed keeps the current random source.
	rec = tb.do(http.MethodPut, "/v1/admin/faults", `{"failureRate":0.5}`, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"failureRate":0.5,"dropReplyRate":0,"latency":"0s","seed":9}`, rec.Body.String())

	bad := []struct{ name, body, code string }{
		{"failure rate above 1", `{"failureRate":1.2}`, "invalid_request"},
		{"negative drop rate", `{"dropReplyRate":-0.1}`, "invalid_request"},
		{"rates above 1 together", `{"failureRate":0.7,"dropReplyRate":0.4}`, "invalid_request"},
		{"hang rate above 1", `{"hangRate":1.5}`, "invalid_request"},
		{"negative hang rate", `{"hangRate":-0.5}`, "invalid_request"},
		{"three rates above 1 together", `{"failureRate":0.4,"dropReplyRate":0.4,"hangRate":0.4}`, "invalid_request"},
		{"latency not a duration", `{"latency":"soon"}`, "invalid_json"},
		{"latency as a number", `{"latency":5}`, "invalid_json"},
		{"negative latency", `{"latency":"-1s"}`, "invalid_request"},
		{"unknown field", `{"failure_rate":0.1}`, "invalid_json"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rec := tb.do(http.MethodPut, "/v1/admin/faults", tt.body, nil)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			assert.Equal(t, tt.code, decode(t, rec.Body.Bytes())["code"])
		})
	}
	assert.JSONEq(t, `{"failureRate":0.5,"dropReplyRate":0,"latency":"0s","seed":9}`,
		tb.do(http.MethodGet, "/v1/admin/faults", "", nil).Body.String(), "a rejected PUT changes nothing")
}

// chargeStatuses sends n charges with distinct keys under the given fault settings
// and returns the status of each.
func chargeStatuses(t *testing.T, tb *testBank, settings string, n int) []int {
	t.Helper()
	require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", settings, nil).Code)
	tok := tb.tokenize("4242424242424242")
	out := make([]int, n)
	for i := range out {
		key := fmt.Sprintf("ord-%d", i)
		out[i] = tb.charge(key, tok, 100, key).Code
	}
	return out
}

func TestFailureRate(t *testing.T) {
	const n = 200
	tests := []struct {
		name     string
		rate     float64
		min, max int // generous bounds around rate*n
	}{
		{"none", 0, 0, 0},
		{"30 percent", 0.3, 40, 80},
		{"all", 1, n, n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := fmt.Sprintf(`{"failureRate":%g,"seed":42}`, tt.rate)
			tb := newTestBank(t)
			statuses := chargeStatuses(t, tb, settings, n)
			failed, created := 0, 0
			for _, s := range statuses {
				switch s {
				case http.StatusServiceUnavailable:
					failed++
				case http.StatusCreated:
					created++
				default:
					t.Fatalf("unexpected status %d", s)
				}
			}
			assert.GreaterOrEqual(t, failed, tt.min)
			assert.LessOrEqual(t, failed, tt.max)
			assert.Equal(t, created, tb.ledger("").Counts.Succeeded, "a 503 never charges")

			again := chargeStatuses(t, newTestBank(t), settings, n)
			assert.Equal(t, statuses, again, "the same seed gives the same faults")
		})
	}

	t.Run("retry after 503 charges once", func(t *testing.T) {
		tb := newTestBank(t)
		require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", `{"failureRate":1}`, nil).Code)
		tok := tb.tokenize("4242424242424242")
		rec := tb.charge("ord-f", tok, 100, "ord-f")
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Equal(t, "unavailable", decode(t, rec.Body.Bytes())["code"])

		require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", `{"failureRate":0}`, nil).Code)
		for range 2 {
			assert.Equal(t, http.StatusCreated, tb.charge("ord-f", tok, 100, "ord-f").Code)
		}
		assert.Len(t, tb.ledger("ord-f").Charges, 1)
	})
}

func TestDropReplyChargesAndClosesTheConnection(t *testing.T) {
	tb := newTestBank(t)
	srv := httptest.NewServer(tb.h)
	t.Cleanup(srv.Close)
	tok := tb.tokenize("4242424242424242")

	post := func(client *http.Client, key, body string) (*http.Response, error) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/charges", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idemKeyHeader, key)
		return client.Do(req)
	}
	// A fresh connection per request keeps the test clear of the transport's own
	// replay rules for reused connections (it may resend a request that carries
	// Idempotency-Key after a connection reset).
	noReuse := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

	require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", `{"dropReplyRate":1}`, nil).Code)
	resp, err := post(noReuse, "ord-drop", chargeBody(tok, 4200, "ord-drop"))
	if resp != nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "the client gets no reply")
	assert.ErrorIs(t, err, io.EOF)

	l := tb.ledger("ord-drop")
	require.Len(t, l.Charges, 1, "the charge happened although no reply came")
	assert.Equal(t, "succeeded", l.Charges[0].Status)

	require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", `{"dropReplyRate":0}`, nil).Code)
	resp, err = post(noReuse, "ord-drop", chargeBody(tok, 4200, "ord-drop"))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "true", resp.Header.Get(replayHeader))
	assert.Equal(t, l.Charges[0].ID, decode(t, body)["id"], "the retry learns the charge made before the drop")
	assert.Len(t, tb.ledger("ord-drop").Charges, 1)
	assert.Contains(t, tb.logs.String(), "reply dropped after charge")
}

func TestDropReplyRateChargesEveryCall(t *testing.T) {
	tb := newTestBank(t)
	srv := httptest.NewServer(tb.h)
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", `{"dropReplyRate":0.5,"seed":3}`, nil).Code)
	tok := tb.tokenize("4242424242424242")

	const n = 40
	dropped := 0
	for i := range n {
		key := fmt.Sprintf("ord-%d", i)
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/charges", strings.NewReader(chargeBody(tok, 1, key)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idemKeyHeader, key)
		resp, err := client.Do(req)
		if err != nil {
			dropped++
			continue
		}
		assert.Equal(t, http.StatusCreated, resp.StatusCode)
		require.NoError(t, resp.Body.Close())
	}
	assert.Greater(t, dropped, 5)
	assert.Less(t, dropped, n-5)
	assert.Equal(t, n, tb.ledger("").Counts.Succeeded, "dropped or not, every call charged")
}

func TestLatencyAppliesToBankCalls(t *testing.T) {
	tb := newTestBank(t)
	const latency = 60 * time.Millisecond
	require.Equal(t, http.StatusOK, tb.do(http.MethodPut, "/v1/admin/faults", `{"latency":"60ms"}`, nil).Code)

	calls := []struct{ name, method, path, body string }{
		{"tokens", http.MethodPost, "/v1/tokens", `{"number":"4242424242424242"}`},
		{"charges", http.MethodPost, "/v1/charges", chargeBody("tok_unknown", 1, "o")},
		{"refunds", http.MethodPost, "/v1/refunds", `{"chargeId":"ch_unknown"}`},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			tb.do(c.method, c.path, c.body, map[string]string{idemKeyHeader: "k"})
			assert.GreaterOrEqual(t, time.Since(start), latency)
		})
	}
}
