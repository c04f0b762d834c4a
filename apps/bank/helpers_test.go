package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// clock is a settable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testBank is a bank on a temporary data dir, served through the real router.
type testBank struct {
	t         testing.TB
	dir       string
	logs      *lockedBuffer
	clock     *clock
	slowDelay time.Duration
	store     *store
	bank      *bank
	h         http.Handler
}

func newTestBank(t testing.TB) *testBank {
	t.Helper()
	tb := &testBank{
		t:         t,
		dir:       t.TempDir(),
		logs:      &lockedBuffer{},
		clock:     &clock{t: time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)},
		slowDelay: 50 * time.Millisecond,
	}
	tb.open()
	t.Cleanup(func() {
		if tb.store != nil {
			require.NoError(t, tb.store.Close())
		}
	})
	return tb
}

func (tb *testBank) open() {
	tb.t.Helper()
	st, err := openStore(tb.dir)
	require.NoError(tb.t, err)
	logger := slog.New(slog.NewJSONHandler(tb.logs, nil))
	tb.store = st
	tb.bank = newBank(st, newFaults(faultSettings{}, 1), tb.slowDelay, logger, tb.clock.now)
	tb.h = routes(tb.bank, logger)
}

// restart closes the store and opens a new bank on the same data dir, as a process
// restart would: nothing in memory survives.
func (tb *testBank) restart() {
	tb.t.Helper()
	require.NoError(tb.t, tb.store.Close())
	tb.store = nil
	tb.open()
}

// do sends a request through the router; a non-empty body is sent as JSON unless
// headers override Content-Type.
func (tb *testBank) do(method, path, body string, headers map[string]string) *httptest.ResponseRecorder {
	tb.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	tb.h.ServeHTTP(rec, req)
	return rec
}

// tokenize returns a token for number, failing the test if the bank refuses it.
func (tb *testBank) tokenize(number string) string {
	tb.t.Helper()
	rec := tb.do(http.MethodPost, "/v1/tokens", `{"number":"`+number+`"}`, nil)
	require.Equal(tb.t, http.StatusCreated, rec.Code, rec.Body.String())
	var resp tokenResponse
	require.NoError(tb.t, json.Unmarshal(rec.Body.Bytes(), &resp))
	return resp.Token
}

// charge posts a charge for token with the given key and order.
func (tb *testBank) charge(key, token string, amount int64, orderID string) *httptest.ResponseRecorder {
	tb.t.Helper()
	return tb.do(http.MethodPost, "/v1/charges", chargeBody(token, amount, orderID), map[string]string{idemKeyHeader: key})
}

func chargeBody(token string, amount int64, orderID string) string {
	b, _ := json.Marshal(chargeRequest{Token: token, Amount: amount, Currency: "ILS", OrderID: orderID})
	return string(b)
}

// ledger reads GET /v1/ledger, optionally filtered.
func (tb *testBank) ledger(orderID string) ledgerView {
	tb.t.Helper()
	path := "/v1/ledger"
	if orderID != "" {
		path += "?orderId=" + orderID
	}
	rec := tb.do(http.MethodGet, path, "", nil)
	require.Equal(tb.t, http.StatusOK, rec.Code)
	var v ledgerView
	require.NoError(tb.t, json.Unmarshal(rec.Body.Bytes(), &v))
	return v
}

// decode parses a JSON response body into a map for field checks.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return m
}
