package load

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sidecarText = `# HELP dapr_component_state_latencies The latency of the response from the state component.
# TYPE dapr_component_state_latencies histogram
dapr_component_state_latencies_bucket{app_id="api",component="orderstore",namespace="",operation="get",success="true",le="1"} 3
dapr_component_state_latencies_count{app_id="api",component="orderstore",namespace="",operation="get",success="true"} 1
dapr_component_state_count{app_id="api",component="orderstore",namespace="",operation="get",success="true"} 10
dapr_component_state_count{app_id="api",component="orderstore",namespace="",operation="set",success="false"} 2
dapr_component_state_count{app_id="api",component="orderstore",namespace="",operation="set",success="true"} 20
dapr_component_state_count{app_id="api",component="catalogstore",namespace="",operation="get",success="true"} 50
dapr_component_pubsub_egress_count{app_id="api",component="pubsub",namespace="",success="true",topic="order"} 10
dapr_runtime_service_invocation_req_recv_total{app_id="api",src_app_id="frontend"} 20
dapr_http_server_request_count{app_id="api",method="GET",path="/v1.0/healthz"} 99
`

func TestSidecarCallsCountEachCallOnce(t *testing.T) {
	calls := parseCalls(strings.NewReader(sidecarText))
	assert.Equal(t, map[string]float64{
		"state orderstore get": 10, "state orderstore set": 22, "publish pubsub order": 10, "invoke from frontend": 20,
	}, calls, "histograms, the catalog's polls, health checks and other families are not order calls")

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(sidecarText)) }))
	defer srv.Close()
	before := sidecarCalls{"api": {"state orderstore get": 4, "state orderstore set": 2, "publish pubsub order": 0, "invoke from frontend": 0}}
	after, missing := readSidecarCalls(t.Context(), srv.Client(), map[string]string{"api": srv.URL, "email": "http://127.0.0.1:1/metrics"})
	assert.Equal(t, []string{"email"}, missing)
	rep := sidecarReport(before, after, 10, missing)
	require.NotNil(t, rep)
	assert.Equal(t, 0.6+2+1+2, rep.PerOrder)
	assert.Equal(t, 2.0, rep.ByCall["api state orderstore set"])
	var b bytes.Buffer
	writeSidecars(&b, rep)
	assert.Contains(t, b.String(), "sidecar calls per final order: 5.60 (not read: email)")
	assert.Nil(t, sidecarReport(before, after, 0, nil), "no final order, no per-order count")
}
