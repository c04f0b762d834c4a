package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// SidecarMetrics are the local sidecars' metrics endpoints (dapr/dapr.yaml metricsPort).
var SidecarMetrics = map[string]string{
	"frontend":     "http://127.0.0.1:9190/metrics",
	"api":          "http://127.0.0.1:9191/metrics",
	"transactions": "http://127.0.0.1:9192/metrics",
	"email":        "http://127.0.0.1:9193/metrics",
	"catalog":      "http://127.0.0.1:9194/metrics",
}

// callFamilies are the sidecar metrics that count one call each, by kind: a state
// operation, an output binding call, a publish, a delivery to the app, and a service
// invocation sent to or received from another sidecar. Their sum is the number of times
// an order crosses a sidecar, read from the sidecars' own counters.
// (The *_latencies histograms are not: daprd 1.18 leaves calls out of them.) The catalog's
// store is left out: the API polls it whatever the orders do.
var callFamilies = map[string]string{
	"dapr_component_state_count":                     "state",
	"dapr_component_output_binding_count":            "binding",
	"dapr_component_pubsub_egress_count":             "publish",
	"dapr_component_pubsub_ingress_count":            "delivery",
	"dapr_runtime_service_invocation_req_sent_total": "invoke to",
	"dapr_runtime_service_invocation_req_recv_total": "invoke from",
}

// notOrderCalls are components whose calls no order makes.
var notOrderCalls = map[string]bool{"catalogstore": true}

// sidecarCalls is what each sidecar has counted so far, by app and "kind op" (the state
// operation, the binding, the topic).
type sidecarCalls map[string]map[string]float64

// readSidecarCalls scrapes every sidecar. A sidecar that does not answer is left out: the
// report then says which.
func readSidecarCalls(ctx context.Context, client *http.Client, urls map[string]string) (sidecarCalls, []string) {
	out := sidecarCalls{}
	var missing []string
	for app, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			missing = append(missing, app)
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			missing = append(missing, app)
			continue
		}
		out[app] = parseCalls(resp.Body)
		resp.Body.Close()
	}
	sort.Strings(missing)
	return out, missing
}

// parseCalls sums the call families of one sidecar's Prometheus text, by kind and the one
// label that says what was called (operation, component, topic).
func parseCalls(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value, ok := splitSeries(line)
		kind, counted := callFamilies[name]
		if !ok || !counted || notOrderCalls[labels["component"]] {
			continue
		}
		what := ""
		for _, l := range []string{"component", "operation", "topic", "dst_app_id", "src_app_id"} {
			if v := labels[l]; v != "" {
				what += " " + v
			}
		}
		out[kind+what] += value
	}
	return out
}

// splitSeries reads `name{a="x",b="y"} 12` (label values without escaped quotes or commas,
// as the sidecars write them).
func splitSeries(line string) (name string, labels map[string]string, value float64, ok bool) {
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", nil, 0, false
	}
	series := line[:sp]
	labels = map[string]string{}
	if i := strings.IndexByte(series, '{'); i >= 0 {
		name = series[:i]
		for _, kv := range strings.Split(strings.TrimSuffix(series[i+1:], "}"), ",") {
			k, val, found := strings.Cut(kv, "=")
			if found {
				labels[k] = strings.Trim(val, `"`)
			}
		}
	} else {
		name = series
	}
	return name, labels, v, true
}

// SidecarReport is how many sidecar calls the run cost, per order that reached its end.
type SidecarReport struct {
	// PerOrder is every sidecar call during the run divided by the orders that became
	// final, searches and the tool's own status reads included (run -orders 1 for a clean
	// count: one status read per order, through two sidecars and one state read).
	PerOrder float64 `json:"perOrder"`
	// ByCall is the same, by sidecar and call ("api state get", "email binding smtp create").
	ByCall  map[string]float64 `json:"byCall"`
	Missing []string           `json:"missing,omitempty"`
}

func sidecarReport(before, after sidecarCalls, orders int64, missing []string) *SidecarReport {
	if orders <= 0 {
		return nil
	}
	rep := &SidecarReport{ByCall: map[string]float64{}, Missing: missing}
	for app, calls := range after {
		for call, n := range calls {
			d := n - before[app][call]
			if d <= 0 {
				continue
			}
			per := d / float64(orders)
			rep.ByCall[app+" "+call] = round2(per)
			rep.PerOrder += per
		}
	}
	rep.PerOrder = round2(rep.PerOrder)
	return rep
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// writeSidecars prints the per-order sidecar calls, largest first.
func writeSidecars(w io.Writer, s *SidecarReport) {
	if s == nil {
		return
	}
	fmt.Fprintf(w, "\nsidecar calls per final order: %.2f", s.PerOrder)
	if len(s.Missing) > 0 {
		fmt.Fprintf(w, " (not read: %s)", strings.Join(s.Missing, ", "))
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(s.ByCall))
	for k := range s.ByCall {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.ByCall[keys[i]] != s.ByCall[keys[j]] {
			return s.ByCall[keys[i]] > s.ByCall[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "  %6.2f  %s\n", s.ByCall[k], k)
	}
}
