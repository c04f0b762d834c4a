package service

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dapr/go-sdk/service/common"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrape reads a /metrics handler as Prometheus would and returns every sample by its
// series ("name{label=\"value\",...}"), labels in the order the text format writes them.
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

func TestMetricsMiddlewareLabelsByRoutePattern(t *testing.T) {
	m := NewMetrics()
	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Get("/orders/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	r.Post("/orders", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {})

	for _, req := range []struct{ method, path string }{
		{"GET", "/orders/ord_1"}, {"GET", "/orders/ord_2"}, {"POST", "/orders"},
		{"GET", "/no/such/route/1"}, {"GET", "/no/such/route/2"}, {"GET", "/healthz"},
		{"BREW", "/orders"}, {"X-RANDOM-1", "/orders/ord_3"},
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	got := scrape(t, m.Handler())

	cases := []struct {
		name   string
		series string
		want   float64
	}{
		{"two ids, one route", `kafkarestaurants_http_requests_total{code="200",method="GET",route="/orders/{id}"}`, 2},
		{"a 5xx keeps its code", `kafkarestaurants_http_requests_total{code="503",method="POST",route="/orders"}`, 1},
		{"unknown paths share one series", `kafkarestaurants_http_requests_total{code="404",method="GET",route="unmatched"}`, 2},
		{"latency is timed per route", `kafkarestaurants_http_request_duration_seconds_count{method="GET",route="/orders/{id}"}`, 2},
		{"invented methods share one label", `kafkarestaurants_http_requests_total{code="405",method="OTHER",route="unmatched"}`, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, got[c.series], "series %s", c.series)
		})
	}
	t.Run("probes are not counted and raw paths never become labels", func(t *testing.T) {
		for series := range got {
			assert.NotContains(t, series, "/healthz")
			assert.NotContains(t, series, "ord_1")
			assert.NotContains(t, series, "/no/such")
			assert.NotContains(t, series, "BREW")
			assert.NotContains(t, series, "X-RANDOM")
		}
	})
}

func TestObserveTopicResultFollowsTheAnswerToDaprd(t *testing.T) {
	cases := []struct {
		name   string
		retry  bool
		err    error
		result string
	}{
		{"handled", false, nil, "SUCCESS"},
		{"transient failure", true, errors.New("bank down"), "RETRY"},
		{"poison event", false, errors.New("bad json"), "DROP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMetrics()
			calls := 0
			h := m.ObserveTopic("order", func(context.Context, *common.TopicEvent) (bool, error) {
				calls++
				return c.retry, c.err
			})
			retry, err := h(context.Background(), &common.TopicEvent{})
			assert.Equal(t, 1, calls)
			assert.Equal(t, c.retry, retry, "the handler's answer passes through")
			assert.Equal(t, c.err, err)
			got := scrape(t, m.Handler())
			assert.Equal(t, 1.0, got[`kafkarestaurants_event_processing_duration_seconds_count{result="`+c.result+`",topic="order"}`])
		})
	}
}

// A service's own metrics land in its registry under the shared namespace, counted and
// bucketed as declared; a name registered twice is a programming error, caught at start.
func TestServiceOwnMetrics(t *testing.T) {
	m := NewMetrics()
	reached := m.Counter("widgets_total", "Widgets that reached a state.", "state")
	took := m.Latency("widget_seconds", "Time of one widget call, by outcome.", "outcome")
	reached.Inc("built")
	reached.Inc("built")
	reached.Inc("shipped")
	took.Observe(30*time.Millisecond, "ok")
	took.Observe(2*time.Second, "error")
	got := scrape(t, m.Handler())

	cases := []struct {
		series string
		want   float64
	}{
		{`kafkarestaurants_widgets_total{state="built"}`, 2},
		{`kafkarestaurants_widgets_total{state="shipped"}`, 1},
		{`kafkarestaurants_widget_seconds_count{outcome="ok"}`, 1},
		{`kafkarestaurants_widget_seconds_bucket{outcome="ok",le="0.05"}`, 1},
		{`kafkarestaurants_widget_seconds_bucket{outcome="error",le="1"}`, 0},
		{`kafkarestaurants_widget_seconds_sum{outcome="error"}`, 2},
	}
	for _, c := range cases {
		t.Run(c.series, func(t *testing.T) {
			v, ok := got[c.series]
			require.True(t, ok, "series %s is missing", c.series)
			assert.InDelta(t, c.want, v, 1e-9)
		})
	}
	assert.Panics(t, func() { m.Counter("widgets_total", "again", "state") })
}

func TestCatalogFuncReadsAtScrapeTime(t *testing.T) {
	m := NewMetrics()
	version, size, loaded := "", 0, false
	m.CatalogFunc(func() (string, int, bool) { return version, size, loaded })

	t.Run("nothing before a catalog is loaded", func(t *testing.T) {
		for series := range scrape(t, m.Handler()) {
			assert.NotContains(t, series, "catalog")
		}
	})
	t.Run("the loaded version and its size", func(t *testing.T) {
		version, size, loaded = "sha256:aaa", 15, true
		got := scrape(t, m.Handler())
		assert.Equal(t, 1.0, got[`kafkarestaurants_catalog_info{version="sha256:aaa"}`])
		assert.Equal(t, 15.0, got[`kafkarestaurants_catalog_restaurants`])
	})
	t.Run("a new version replaces the old series", func(t *testing.T) {
		version, size = "sha256:bbb", 16
		got := scrape(t, m.Handler())
		assert.Equal(t, 1.0, got[`kafkarestaurants_catalog_info{version="sha256:bbb"}`])
		_, old := got[`kafkarestaurants_catalog_info{version="sha256:aaa"}`]
		assert.False(t, old, "the previous version is no longer reported")
		assert.Equal(t, 16.0, got[`kafkarestaurants_catalog_restaurants`])
	})
}

func TestNewRouterServesMetricsWithoutTheAppToken(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := NewRouter(log, "secret-token", func(context.Context) error { return nil })
	r.Get("/things/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/things/42", nil)
	req.Header.Set("dapr-api-token", "secret-token")
	before := scrape(t, r)[`kafkarestaurants_http_requests_total{code="204",method="GET",route="/things/{id}"}`]
	r.ServeHTTP(httptest.NewRecorder(), req)

	got := scrape(t, r) // no token: Prometheus has none
	assert.Equal(t, before+1, got[`kafkarestaurants_http_requests_total{code="204",method="GET",route="/things/{id}"}`])
	assert.Contains(t, got, "go_goroutines", "runtime metrics are exported too")
}
