package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// TestLockedDown proves each refusal: sidecars want their Dapr API token, apps want the
// app token only their own sidecar has, pub/sub scopes keep each app to its own topic,
// and the browser reaches nothing but the public API through nginx.
func TestLockedDown(t *testing.T) {
	s := stack.Start(t, stack.Options{})
	daprToken, appToken := s.DaprAPIToken(), s.AppAPIToken()
	require.NotEmpty(t, daprToken)
	require.NotEmpty(t, appToken)
	withDapr := map[string]string{"dapr-api-token": daprToken}
	orderEvent := []byte(`{"orderId":"ord_0000000000000000000000x"}`)

	cases := []struct {
		name   string
		method string
		url    string
		body   []byte
		header map[string]string
		want   int
	}{
		{"a sidecar refuses a caller without its token", http.MethodGet, "http://127.0.0.1:3501/v1.0/invoke/api/method/styles", nil, nil, 401},
		{"a sidecar refuses a wrong token", http.MethodGet, "http://127.0.0.1:3501/v1.0/invoke/api/method/styles", nil, map[string]string{"dapr-api-token": "guess"}, 401},
		{"a sidecar serves a caller with its token", http.MethodGet, "http://127.0.0.1:3501/v1.0/invoke/api/method/styles", nil, withDapr, 200},
		{"the state API is closed without the token", http.MethodGet, "http://127.0.0.1:3501/v1.0/state/orderstore/x", nil, nil, 401},
		{"an app refuses anyone but its sidecar", http.MethodGet, stack.APIURL + "/styles", nil, nil, 401},
		{"an app refuses the Dapr token in place of its own", http.MethodGet, stack.APIURL + "/styles", nil, withDapr, 401},
		{"an app serves its sidecar's token", http.MethodGet, stack.APIURL + "/styles", nil, map[string]string{"dapr-api-token": appToken}, 200},
		{"an app's probes stay open", http.MethodGet, stack.APIURL + "/healthz", nil, nil, 200},
		{"the consumers' internal route is refused to the browser", http.MethodPost, stack.WebURL + "/api/internal/orders/ord_x/transitions", []byte(`{}`), nil, 404},
		{"transactions may not publish orders", http.MethodPost, "http://127.0.0.1:3502/v1.0/publish/pubsub/order", orderEvent, withDapr, 403},
		{"email may not publish anything but its dead letters", http.MethodPost, "http://127.0.0.1:3503/v1.0/publish/pubsub/order_confirm", orderEvent, withDapr, 403},
		{"the frontend's sidecar has no pub/sub at all", http.MethodPost, "http://127.0.0.1:3500/v1.0/publish/pubsub/order", orderEvent, withDapr, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := stack.Do(t, c.method, c.url, c.body, c.header)
			assert.Equal(t, c.want, r.Status, string(r.Body))
		})
	}
	assert.Equal(t, int64(0), stack.TopicSize(t, "order"), "no refused publish reached the broker")
}
