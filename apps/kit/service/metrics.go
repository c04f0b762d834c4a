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
	orders          *prometheus.CounterVec
	completion      *prometheus.HistogramVec
	charge          *prometheus.HistogramVec
	email           *prometheus.HistogramVec
	events          *prometheus.HistogramVec
}

// Latency buckets from 1 ms to 30 s: a search answers in milliseconds, a charge that the
// Resiliency policy retries takes seconds.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics returns a fresh registry with the Go runtime and process collectors and every
// service metric. Families appear on /metrics once they have a sample, so a service shows
// only the domain metrics it records.
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
		orders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "orders_total",
			Help: "Orders that reached a status (accepted, paid, declined, failed, confirmed, notified_declined, notified_failed, email_rejected), counted once per order and status by the API.",
		}, []string{"status"}),
		completion: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "order_completion_seconds",
			Help:    "Time from an order being placed to its final status (its email sent and reported), by final status; the order-to-email latency.",
			Buckets: latencyBuckets,
		}, []string{"status"}),
		charge: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "charge_duration_seconds",
			Help:    "Time of one bank charge call through the bank binding, by outcome (paid, declined, error).",
			Buckets: latencyBuckets,
		}, []string{"outcome"}),
		email: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "email_send_duration_seconds",
			Help:    "Time of one email send through the SMTP binding, by outcome (sent, error).",
			Buckets: latencyBuckets,
		}, []string{"outcome"}),
		events: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "event_processing_duration_seconds",
			Help:    "Time to handle one delivered event, by topic and the answer given to daprd (SUCCESS, RETRY, DROP).",
			Buckets: latencyBuckets,
		}, []string{"topic", "result"}),
	}
	reg.MustRegister(m.requests, m.requestDuration, m.orders, m.completion, m.charge, m.email, m.events)
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

// OrderReached counts an order reaching status. Call it once per order and status (the
// API does, when a transition changes the record).
func (m *Metrics) OrderReached(status string) { m.orders.WithLabelValues(status).Inc() }

// OrderCompleted records how long an order took from being placed to its final status.
func (m *Metrics) OrderCompleted(status string, d time.Duration) {
	m.completion.WithLabelValues(status).Observe(d.Seconds())
}

// ObserveCharge records one bank charge call.
func (m *Metrics) ObserveCharge(outcome string, d time.Duration) {
	m.charge.WithLabelValues(outcome).Observe(d.Seconds())
}

// ObserveEmail records one email send.
func (m *Metrics) ObserveEmail(outcome string, d time.Duration) {
	m.email.WithLabelValues(outcome).Observe(d.Seconds())
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
