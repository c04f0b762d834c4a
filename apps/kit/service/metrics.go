package service

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/dapr/go-sdk/service/common"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsNamespace prefixes every metric the services export, so a dashboard can tell them
// from the sidecars' dapr_* metrics at a glance.
const MetricsNamespace = "kafkarestaurants"

// Event processing results, as daprd reads a topic handler's answer.
const (
	ResultSuccess = statusSuccess
	ResultRetry   = statusRetry
	ResultDrop    = statusDrop
)

// Metrics is the set of Prometheus metrics one service exports at /metrics. Each process
// has one (DefaultMetrics); tests make their own with NewMetrics so counts do not leak
// between them.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	events          *prometheus.HistogramVec
}

// Latency buckets from 1 ms to 30 s: a search answers in milliseconds, a charge that the
// Resiliency policy retries takes seconds.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics returns a fresh registry with the Go runtime and process collectors and the
// metrics every service has (HTTP requests, event processing). A service adds its own
// (Counter, Latency); families appear on /metrics once they have a sample.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "http_requests_total",
			Help: "HTTP requests served, by chi route pattern (not the raw path), method and status code.",
		}, []string{"route", "method", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by chi route pattern and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		events: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "event_processing_duration_seconds",
			Help:    "Time to handle one delivered event, by topic and the answer given to daprd (SUCCESS, RETRY, DROP).",
			Buckets: latencyBuckets,
		}, []string{"topic", "result"}),
	}
	reg.MustRegister(m.requests, m.requestDuration, m.events)
	return m
}

// DefaultMetrics is the process's metrics, which NewRouter serves at /metrics.
var DefaultMetrics = NewMetrics()

// Registry is where a service registers a metric of its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// unmatchedRoute labels requests that matched no route: raw paths would let any client
// create a new time series per URL.
const unmatchedRoute = "unmatched"

// Middleware counts and times each request under its chi route pattern. Probe and metrics
// routes are left out: scrapes and probes would drown the real traffic.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next.ServeHTTP(ww, r)
		route := RoutePattern(r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		method := methodLabel(r.Method)
		m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		m.requestDuration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is the method as a label: the standard ones, and "OTHER" for any other token
// a client sends (HTTP allows any), which would otherwise make a new series each.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// RoutePattern is the chi route that served r ("/orders/{id}"), or "unmatched". It is
// complete only after the router has routed r, so middleware reads it after next returns.
func RoutePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" && p != "/*" {
			return p
		}
	}
	return unmatchedRoute
}

// Counter is a counter of a service's own, one series per combination of label values.
type Counter struct{ vec *prometheus.CounterVec }

// Inc adds one to the series of these label values (in the order Counter named them).
func (c Counter) Inc(values ...string) { c.vec.WithLabelValues(values...).Inc() }

// Latency is a latency histogram of a service's own, on the shared buckets (1 ms to 60 s).
type Latency struct{ vec *prometheus.HistogramVec }

// Observe records d in the series of these label values.
func (l Latency) Observe(d time.Duration, values ...string) {
	l.vec.WithLabelValues(values...).Observe(d.Seconds())
}

// Counter registers a counter of the service's own, <MetricsNamespace>_<name>. Each
// service declares the metrics of its domain itself (the API its orders, transactions its
// charges); this package knows none of them.
func (m *Metrics) Counter(name, help string, labels ...string) Counter {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: MetricsNamespace, Name: name, Help: help}, labels)
	m.reg.MustRegister(vec)
	return Counter{vec}
}

// Latency registers a latency histogram of the service's own, <MetricsNamespace>_<name>.
func (m *Metrics) Latency(name, help string, labels ...string) Latency {
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: MetricsNamespace, Name: name, Help: help, Buckets: latencyBuckets}, labels)
	m.reg.MustRegister(vec)
	return Latency{vec}
}

// CatalogFunc exports the catalog that read returns, read at each scrape so the numbers
// are never stale: catalog_info{version} is 1 for that version, catalog_restaurants its
// size. read's ok is false while no catalog is loaded (then neither is exported). Call it
// once per process.
func (m *Metrics) CatalogFunc(read func() (version string, restaurants int, ok bool)) {
	m.reg.MustRegister(catalogCollector{read: read})
}

var (
	catalogInfoDesc = prometheus.NewDesc(MetricsNamespace+"_catalog_info",
		"1 for the catalog version this process serves (API) or published (loader), as the version label.", []string{"version"}, nil)
	catalogSizeDesc = prometheus.NewDesc(MetricsNamespace+"_catalog_restaurants",
		"Restaurants in the catalog version this process serves (API) or published (loader).", nil, nil)
)

type catalogCollector struct {
	read func() (string, int, bool)
}

func (c catalogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- catalogInfoDesc
	ch <- catalogSizeDesc
}

func (c catalogCollector) Collect(ch chan<- prometheus.Metric) {
	version, n, ok := c.read()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(catalogInfoDesc, prometheus.GaugeValue, 1, version)
	ch <- prometheus.MustNewConstMetric(catalogSizeDesc, prometheus.GaugeValue, float64(n))
}

// ObserveTopic wraps a topic handler so each delivery is timed by topic and result. The
// result is what the handler's answer means to daprd: nil → SUCCESS, retry → RETRY, an
// error without retry → DROP.
func (m *Metrics) ObserveTopic(topic string, h common.TopicEventHandler) common.TopicEventHandler {
	return func(ctx context.Context, e *common.TopicEvent) (bool, error) {
		start := time.Now()
		retry, err := h(ctx, e)
		m.events.WithLabelValues(topic, topicResult(retry, err)).Observe(time.Since(start).Seconds())
		return retry, err
	}
}

func topicResult(retry bool, err error) string {
	switch {
	case err == nil:
		return ResultSuccess
	case retry:
		return ResultRetry
	default:
		return ResultDrop
	}
}
