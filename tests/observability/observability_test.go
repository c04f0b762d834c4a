// Package observability checks what an operator sees of one order on the real local stack:
// one trace in Jaeger from nginx's sidecar to the SMTP call, counters on every /metrics
// that move by exactly one, and one order id to grep through every service's log.
package observability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// JaegerURL is the local Jaeger's query API (dapr/infra.yaml).
const JaegerURL = "http://127.0.0.1:16686"

// otlp points every app's OpenTelemetry exporter at the local Jaeger, as `make run` does.
var otlp = map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}

// appMetrics are the services' own /metrics; sidecarMetrics daprd's (docs/ARCHITECTURE.md).
var (
	appMetrics     = map[string]string{"api": "http://127.0.0.1:5000", "transactions": "http://127.0.0.1:5001", "email": "http://127.0.0.1:5002", "catalog": "http://127.0.0.1:5003"}
	sidecarMetrics = map[string]string{"api": "http://127.0.0.1:9191", "transactions": "http://127.0.0.1:9192", "email": "http://127.0.0.1:9193"}
)

func TestOneOrderIsObservableEndToEnd(t *testing.T) {
	if _, err := os.Stat(filepath.Join(stack.Root(t), ".tools", "bin", "jaeger")); err != nil && !testing.Short() {
		t.Fatal(".tools/bin/jaeger is missing: run tools/build-tools.sh jaeger (make tools)")
	}
	s := stack.Start(t, stack.Options{Env: map[string]map[string]string{
		"api": otlp, "transactions": otlp, "email": otlp, "catalog": otlp,
	}})

	before := scrapeAll(t)
	r := stack.PlaceOrder(t, `{"restaurant":"China city","email":"traced@example.com","creditCard":"4242 4242 4242 4242"}`, nil)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	var acc struct{ OrderID string }
	r.JSON(t, &acc)
	id := acc.OrderID
	require.NotEmpty(t, id)
	o := stack.WaitFinal(t, id, 60*time.Second)
	require.Equal(t, "confirmed", o.Status)

	var traceID string
	t.Run("the order's spans form one trace from nginx's sidecar to the SMTP call", func(t *testing.T) {
		traceID = oneTraceOf(t, id)
		// Every process exports on its own schedule: wait until the whole chain is in.
		want := []struct{ service, span string }{
			{"frontend", ""},                                  // nginx's sidecar: where the trace starts
			{"api", "POST /orders"},                           // the API's handler
			{"api", "publish order"},                          // publishing `order` ...
			{"transactions", "consume order"},                 // ... and consuming it
			{"transactions", "binding bank post /v1/charges"}, // the bank call
			{"transactions", "publish order_confirm"},         // publishing `order_confirm` ...
			{"email", "consume order_confirm"},                // ... and consuming it, to email
			{"api", "consume order_confirm"},                  // ... and to show "paid"
			{"email", "binding smtp create"},                  // the SMTP call
			{"email", "publish order_notified"},               // publishing `order_notified` ...
			{"api", "consume order_notified"},                 // ... and consuming it: "confirmed"
		}
		var tr jaegerTrace
		missing := func() []string {
			tr = getTrace(t, traceID)
			var out []string
			for _, w := range want {
				if !tr.has(w.service, w.span) {
					out = append(out, w.service+": "+w.span)
				}
			}
			return out
		}
		// Sidecars export their spans in batches, so a step's span can arrive before its
		// parent's: wait for every step and for every parent, then assert.
		orphans := func() int {
			ids := map[string]bool{}
			for _, sp := range tr.Spans {
				ids[sp.SpanID] = true
			}
			n := 0
			for _, sp := range tr.Spans {
				if p := sp.parent(); p != "" && !ids[p] {
					n++
				}
			}
			return n
		}
		stack.Eventually(t, 30*time.Second, "every step of the order in its trace, every parent exported", func() bool {
			return len(missing()) == 0 && orphans() == 0
		})
		assert.Empty(t, missing())

		// The sidecars' own spans are in the same trace: Dapr carried the context through
		// Kafka and the bindings, not just the apps.
		sidecarSpans := 0
		for _, sp := range tr.Spans {
			if tr.scope(sp) != "github.com/kafka-restaurants/kafka-restaurants/apps/kit/service" {
				sidecarSpans++
			}
		}
		assert.Greater(t, sidecarSpans, 5, "daprd's spans (invoke, publish, deliver, bindings) join the trace")

		// One connected tree: exactly one root, and every other span's parent is in it.
		ids := map[string]bool{}
		for _, sp := range tr.Spans {
			ids[sp.SpanID] = true
		}
		var roots []string
		for _, sp := range tr.Spans {
			parent := sp.parent()
			if parent == "" {
				roots = append(roots, tr.Processes[sp.ProcessID].ServiceName+" "+sp.OperationName)
				continue
			}
			assert.True(t, ids[parent], "span %q (%s) has its parent %s in the trace", sp.OperationName, tr.Processes[sp.ProcessID].ServiceName, parent)
		}
		assert.Len(t, roots, 1, "one root span: %v", roots)
		if len(roots) == 1 {
			assert.True(t, strings.HasPrefix(roots[0], "frontend "), "the trace starts at nginx's sidecar, not %q", roots[0])
		}
	})

	t.Run("each service's order counters moved by exactly one", func(t *testing.T) {
		cases := []struct {
			name, target, series string
			moved                float64 // how far the order moves it
		}{
			{"accepted", "api", `kafkarestaurants_orders_total{status="accepted"}`, 1},
			{"paid", "api", `kafkarestaurants_orders_total{status="paid"}`, 1},
			{"confirmed", "api", `kafkarestaurants_orders_total{status="confirmed"}`, 1},
			{"order-to-email latency observed", "api", `kafkarestaurants_order_completion_seconds_count{status="confirmed"}`, 1},
			{"POST /orders answered 202", "api", `kafkarestaurants_http_requests_total{code="202",method="POST",route="/orders"}`, 1},
			{"order_confirm consumed by the API", "api", `kafkarestaurants_event_processing_duration_seconds_count{result="SUCCESS",topic="order_confirm"}`, 1},
			{"order_notified consumed by the API", "api", `kafkarestaurants_event_processing_duration_seconds_count{result="SUCCESS",topic="order_notified"}`, 1},
			{"order consumed", "transactions", `kafkarestaurants_event_processing_duration_seconds_count{result="SUCCESS",topic="order"}`, 1},
			{"card charged", "transactions", `kafkarestaurants_charge_duration_seconds_count{outcome="paid"}`, 1},
			{"order_confirm consumed", "email", `kafkarestaurants_event_processing_duration_seconds_count{result="SUCCESS",topic="order_confirm"}`, 1},
			{"email sent", "email", `kafkarestaurants_email_send_duration_seconds_count{outcome="sent"}`, 1},
			{"api sidecar published one order", "api-dapr", `dapr_component_pubsub_egress_count{app_id="api",component="pubsub",namespace="",success="true",topic="order"}`, 1},
			{"email sidecar published one notice", "email-dapr", `dapr_component_pubsub_egress_count{app_id="email",component="pubsub",namespace="",success="true",topic="order_notified"}`, 1},
			{"email sidecar called SMTP once", "email-dapr", `dapr_component_output_binding_count{app_id="email",component="smtp",namespace="",operation="create",success="true"}`, 1},
		}
		var after map[string]map[string]float64
		// The last counters move after the API already shows "confirmed" (a handler
		// records its result once it returns): wait for them, then compare.
		stack.Eventually(t, 15*time.Second, "the email service's and the API's last counters", func() bool {
			after = scrapeAll(t)
			email := `kafkarestaurants_event_processing_duration_seconds_count{result="SUCCESS",topic="order_confirm"}`
			api := `kafkarestaurants_event_processing_duration_seconds_count{result="SUCCESS",topic="order_notified"}`
			return after["email"][email] > before["email"][email] && after["api"][api] > before["api"][api]
		})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, ok := after[c.target][c.series]
				require.True(t, ok, "%s exports %s; it has:\n%s", c.target, c.series, names(after[c.target], strings.SplitN(c.series, "{", 2)[0]))
				assert.Equal(t, before[c.target][c.series]+c.moved, got)
			})
		}
		t.Run("the API and the loader report the same catalog", func(t *testing.T) {
			apiVersion, loaderVersion := catalogVersion(after["api"]), catalogVersion(after["catalog"])
			assert.NotEmpty(t, apiVersion)
			assert.Equal(t, loaderVersion, apiVersion)
			assert.Equal(t, 15.0, after["api"]["kafkarestaurants_catalog_restaurants"])
			assert.Equal(t, 15.0, after["catalog"]["kafkarestaurants_catalog_restaurants"])
		})
	})

	// Dapr's default labels HTTP metrics with the raw path: every order id would become a
	// label value, one new time series per order in each sidecar on its way, without bound.
	// dapr/config.yaml labels them by route instead.
	t.Run("sidecar metrics are labelled by route, never by order id", func(t *testing.T) {
		sidecars := map[string]string{"frontend": "http://127.0.0.1:9190"}
		for name, u := range sidecarMetrics {
			sidecars[name] = u
		}
		routes := map[string]bool{}
		for name, u := range sidecars {
			for series := range scrape(t, u+"/metrics") {
				assert.NotContains(t, series, id, "%s sidecar", name)
				for _, r := range []string{"/orders/{id}"} {
					if strings.Contains(series, `path="`) && strings.Contains(series, r+`"`) {
						routes[name+" "+r] = true
					}
				}
			}
		}
		assert.True(t, routes["frontend /orders/{id}"], "the status polls through nginx count under their route: %v", routes)
	})

	t.Run("one scan of the logs follows the order through every service", func(t *testing.T) {
		byFile := map[string][]map[string]any{}
		dir := filepath.Join(s.DataDir(), "logs")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				if !strings.Contains(sc.Text(), id) { // the grep
					continue
				}
				var line map[string]any
				if json.Unmarshal(sc.Bytes(), &line) == nil && line["orderId"] == id {
					byFile[strings.TrimSuffix(e.Name(), ".log")] = append(byFile[strings.TrimSuffix(e.Name(), ".log")], line)
				}
			}
			_ = f.Close()
		}
		want := map[string][]string{
			"api":          {"order accepted", "order status changed"},
			"transactions": {"order processed"},
			"email":        {"email sent", "order notified"},
		}
		for service, msgs := range want {
			t.Run(service, func(t *testing.T) {
				lines := byFile[service]
				var got []string
				for _, l := range lines {
					got = append(got, fmt.Sprint(l["msg"]))
					assert.Equal(t, traceID, l["traceId"], "line %q carries the order's trace id", l["msg"])
					assert.Equal(t, service, l["service"])
				}
				for _, m := range msgs {
					assert.Contains(t, got, m)
				}
			})
		}
		t.Run("no full card number in any line", func(t *testing.T) {
			for _, lines := range byFile {
				for _, l := range lines {
					b, _ := json.Marshal(l)
					assert.NotContains(t, string(b), "4242424242424242")
				}
			}
		})
	})
}

// scrapeAll reads every app's and sidecar's /metrics ("api", "api-dapr", ...).
func scrapeAll(t *testing.T) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for name, u := range appMetrics {
		out[name] = scrape(t, u+"/metrics")
	}
	for name, u := range sidecarMetrics {
		out[name+"-dapr"] = scrape(t, u+"/metrics")
	}
	return out
}

// scrape parses the Prometheus text format into value by series, with each series'
// labels sorted by name so a test can spell them in one order.
func scrape(t *testing.T, u string) map[string]float64 {
	t.Helper()
	r := stack.Do(t, http.MethodGet, u, nil, nil)
	require.Equal(t, http.StatusOK, r.Status, u)
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue // a timestamped sample; none of ours
		}
		out[canonical(line[:i])] = v
	}
	return out
}

// canonical sorts a series' labels: name{b="2",a="1"} → name{a="1",b="2"}.
func canonical(series string) string {
	name, labels, ok := strings.Cut(series, "{")
	if !ok {
		return series
	}
	labels = strings.TrimSuffix(labels, "}")
	var parts []string
	for labels != "" {
		// label="value" where value may hold escaped quotes and commas.
		eq := strings.Index(labels, `="`)
		if eq < 0 {
			break
		}
		j := eq + 2
		for j < len(labels) && (labels[j] != '"' || labels[j-1] == '\\') {
			j++
		}
		parts = append(parts, labels[:j+1])
		labels = strings.TrimPrefix(labels[min(j+1, len(labels)):], ",")
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func catalogVersion(m map[string]float64) string {
	for series, v := range m {
		if strings.HasPrefix(series, "kafkarestaurants_catalog_info{") && v == 1 {
			return series
		}
	}
	return ""
}

// names lists the series of one metric, for a failure message.
func names(m map[string]float64, metric string) string {
	var out []string
	for series := range m {
		if strings.HasPrefix(series, metric) {
			out = append(out, series)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// jaegerTrace is a trace as Jaeger's query API (/api/traces) returns it.
type jaegerTrace struct {
	TraceID   string       `json:"traceID"`
	Spans     []jaegerSpan `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	ProcessID     string `json:"processID"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
}

func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

func (s jaegerSpan) tag(key string) string {
	for _, t := range s.Tags {
		if t.Key == key {
			return fmt.Sprint(t.Value)
		}
	}
	return ""
}

// has reports a span of service named span ("" matches any span of the service).
func (tr jaegerTrace) has(service, span string) bool {
	for _, sp := range tr.Spans {
		if tr.Processes[sp.ProcessID].ServiceName == service && (span == "" || sp.OperationName == span) {
			return true
		}
	}
	return false
}

func (tr jaegerTrace) scope(sp jaegerSpan) string { return sp.tag("otel.scope.name") }

// oneTraceOf finds the traces that hold a span tagged with the order id, in each service
// that tags them, and requires that there is exactly one.
func oneTraceOf(t *testing.T, orderID string) string {
	t.Helper()
	found := map[string][]string{}
	stack.Eventually(t, 30*time.Second, "spans tagged with order "+orderID+" in api, transactions and email", func() bool {
		for _, service := range []string{"api", "transactions", "email"} {
			q := url.Values{"service": {service}, "tags": {`{"order.id":"` + orderID + `"}`}, "limit": {"20"}, "lookback": {"1h"}}
			r := stack.Do(t, http.MethodGet, JaegerURL+"/api/traces?"+q.Encode(), nil, nil)
			if r.Status != http.StatusOK {
				return false
			}
			var res struct {
				Data []jaegerTrace `json:"data"`
			}
			r.JSON(t, &res)
			var ids []string
			for _, tr := range res.Data {
				ids = append(ids, tr.TraceID)
			}
			found[service] = ids
		}
		return len(found["api"]) > 0 && len(found["transactions"]) > 0 && len(found["email"]) > 0
	})
	all := map[string]bool{}
	for _, ids := range found {
		for _, id := range ids {
			all[id] = true
		}
	}
	require.Len(t, all, 1, "every span about the order is in one trace: %v", found)
	return found["api"][0]
}

func getTrace(t *testing.T, id string) jaegerTrace {
	t.Helper()
	r := stack.Do(t, http.MethodGet, JaegerURL+"/api/traces/"+id, nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var res struct {
		Data []jaegerTrace `json:"data"`
	}
	r.JSON(t, &res)
	require.Len(t, res.Data, 1)
	return res.Data[0]
}
