package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestRouter(t *testing.T, token string, ready error) (http.Handler, *logBuffer) {
	t.Helper()
	log, buf := testLogger(t)
	r := NewRouter(log, token, func(context.Context) error { return ready })
	r.Get("/search", func(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, 200, []string{}) })
	r.Post("/events/order", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, 200, map[string]string{"status": "SUCCESS"})
	})
	r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("boom 4242424242424242") })
	return r, buf
}

func TestAppToken(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		method string
		path   string
		header string
		want   int
	}{
		{"no token configured: open", "", "GET", "/search", "", 200},
		{"missing token", "s3cret", "GET", "/search", "", 401},
		{"wrong token", "s3cret", "GET", "/search", "guess", 401},
		{"token prefix", "s3cret", "GET", "/search", "s3cre", 401},
		{"right token", "s3cret", "GET", "/search", "s3cret", 200},
		{"topic route without token", "s3cret", "POST", "/events/order", "", 401},
		{"topic route with token", "s3cret", "POST", "/events/order", "s3cret", 200},
		{"liveness stays open", "s3cret", "GET", "/healthz", "", 200},
		{"readiness stays open", "s3cret", "GET", "/readyz", "", 200},
		{"unknown route without token", "s3cret", "GET", "/nope", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newTestRouter(t, tc.token, nil)
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.header != "" {
				req.Header.Set("dapr-api-token", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
			if tc.want == 401 {
				var body map[string]string
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				assert.Equal(t, "unauthorized", body["code"])
			}
		})
	}
}

func TestRouterProbesAndFallbacks(t *testing.T) {
	tests := []struct {
		name     string
		ready    error
		method   string
		path     string
		want     int
		wantBody string
	}{
		{"ready", nil, "GET", "/readyz", 200, `"ready"`},
		{"not ready says why", errors.New("catalog: not loaded yet"), "GET", "/readyz", 503, "catalog: not loaded yet"},
		{"liveness ignores readiness", errors.New("down"), "GET", "/healthz", 200, `"ok"`},
		{"unknown route is JSON 404", nil, "GET", "/nope", 404, `"not_found"`},
		{"wrong method is JSON 405", nil, "DELETE", "/search", 405, `"method_not_allowed"`},
		{"panic is a 500 that leaks nothing", nil, "GET", "/boom", 500, `"internal"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, buf := newTestRouter(t, "", tc.ready)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			assert.Equal(t, tc.want, rec.Code)
			assert.Contains(t, rec.Body.String(), tc.wantBody)
			assert.NotContains(t, rec.Body.String(), "boom")
			assert.NotContains(t, buf.String(), "4242424242424242", "panic values are redacted in the log")
		})
	}
}

func TestRequestLogger(t *testing.T) {
	h, buf := newTestRouter(t, "", nil)
	req := httptest.NewRequest("GET", "/search", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))

	lines := buf.lines()
	require.Len(t, lines, 1, "probes are not logged")
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &line))
	assert.Equal(t, "GET", line["method"])
	assert.Equal(t, "/search", line["path"])
	assert.EqualValues(t, 200, line["status"])
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", line["traceId"])
	assert.Contains(t, line, "durationMs")
	assert.NotEmpty(t, line["requestId"])
}

func TestTraceID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "0af7651916cd43dd8448eb211c80319c"},
		{"", ""},
		{"garbage", ""},
		{"00-short-b7ad6b7169203331-01", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) { assert.Equal(t, tc.want, TraceID(tc.in)) })
	}
}
