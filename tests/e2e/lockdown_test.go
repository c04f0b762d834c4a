package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// lockedApp is where an app and its sidecar listen locally (dapr/dapr.yaml) and a request
// the app serves only behind its app token, with no effect: its answer with the right token.
type lockedApp struct {
	sidecar, app int
	path         string
	served       int
}

// lockedApps is every app with a sidecar. The frontend's app is nginx, the public website:
// it asks nobody for a token (app 0: not probed as a callee).
var lockedApps = map[string]lockedApp{
	"frontend": {sidecar: 3500},
	"api":      {sidecar: 3501, app: 5000, path: "/styles", served: http.StatusOK},
	// The subscription routes take only POST: a GET passes the token check and does nothing.
	"transactions": {sidecar: 3502, app: 5001, path: "/events/order", served: http.StatusMethodNotAllowed},
	"email":        {sidecar: 3503, app: 5002, path: "/events/order-confirm", served: http.StatusMethodNotAllowed},
	"catalog":      {sidecar: 3504, app: 5003, path: "/status", served: http.StatusOK},
}

// TestLockedDown proves each refusal: every app has a Dapr API token and an app token of
// its own; a sidecar wants its own app's Dapr API token, an app wants the app token only
// its own sidecar has, and no app's tokens open another app or its sidecar, even when a
// sidecar is steered at another app's address; pub/sub scopes keep each app to its own
// topic; the browser reaches nothing but the public API through nginx; and the order
// chain, every hop of it behind these tokens, still works.
func TestLockedDown(t *testing.T) {
	s := stack.Start(t, stack.Options{})
	require.ElementsMatch(t, keys(lockedApps), s.AppIDs(), "every app with a sidecar is checked")
	dapr := func(app string) map[string]string { return map[string]string{"dapr-api-token": s.DaprAPIToken(app)} }

	// Every token of the run, and whose it is.
	type token struct{ owner, kind, value string }
	var tokens []token
	for _, app := range s.AppIDs() {
		tokens = append(tokens, token{app, "Dapr API", s.DaprAPIToken(app)}, token{app, "app", s.AppAPIToken(app)})
	}
	t.Run("every app has tokens no other app has", func(t *testing.T) {
		seen := map[string]string{}
		for _, tok := range tokens {
			require.NotEmpty(t, tok.value, "%s has no %s token", tok.owner, tok.kind)
			assert.NotContains(t, seen, tok.value, "%s's %s token is also %s's", tok.owner, tok.kind, seen[tok.value])
			seen[tok.value] = tok.owner + " " + tok.kind
		}
	})

	t.Run("a sidecar serves only its own app's Dapr API token", func(t *testing.T) {
		for callee, c := range lockedApps {
			for _, tok := range tokens {
				want := http.StatusUnauthorized
				if tok.owner == callee && tok.kind == "Dapr API" {
					want = http.StatusOK
				}
				r := stack.Do(t, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/v1.0/metadata", c.sidecar), nil, map[string]string{"dapr-api-token": tok.value})
				assert.Equal(t, want, r.Status, "%s's sidecar given %s's %s token", callee, tok.owner, tok.kind)
			}
		}
	})

	t.Run("an app serves only its own sidecar's app token", func(t *testing.T) {
		for callee, c := range lockedApps {
			if c.app == 0 {
				continue
			}
			for _, tok := range tokens {
				want := http.StatusUnauthorized
				if tok.owner == callee && tok.kind == "app" {
					want = c.served
				}
				r := stack.Do(t, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", c.app, c.path), nil, map[string]string{"dapr-api-token": tok.value})
				assert.Equal(t, want, r.Status, "%s given %s's %s token: %s", callee, tok.owner, tok.kind, r.Body)
			}
		}
	})

	// A sidecar asked to invoke an address (a URL as the app id, Dapr's invocation of
	// non-Dapr endpoints) presents its own app token there: another app refuses it. Asked
	// for its own app's address, the same call is served, so the refusals are the tokens'.
	t.Run("a sidecar steered at another app's address is refused there", func(t *testing.T) {
		for caller, a := range lockedApps {
			for callee, c := range lockedApps {
				if c.app == 0 {
					continue
				}
				want := http.StatusUnauthorized
				if caller == callee {
					want = c.served
				}
				h := dapr(caller)
				h["dapr-app-id"] = fmt.Sprintf("http://127.0.0.1:%d", c.app)
				r := stack.Do(t, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", a.sidecar, c.path), nil, h)
				assert.Equal(t, want, r.Status, "%s's sidecar steered at %s: %s", caller, callee, r.Body)
			}
		}
	})

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
		{"a sidecar serves a caller with its token", http.MethodGet, "http://127.0.0.1:3501/v1.0/invoke/api/method/styles", nil, dapr("api"), 200},
		{"another app's sidecar invokes the API with the API's own app token", http.MethodGet, "http://127.0.0.1:3500/v1.0/invoke/api/method/styles", nil, dapr("frontend"), 200},
		{"the state API is closed without the token", http.MethodGet, "http://127.0.0.1:3501/v1.0/state/orderstore/x", nil, nil, 401},
		{"the state API is closed to another app's token", http.MethodGet, "http://127.0.0.1:3501/v1.0/state/orderstore/x", nil, dapr("transactions"), 401},
		{"an app refuses anyone but its sidecar", http.MethodGet, stack.APIURL + "/styles", nil, nil, 401},
		{"an app refuses the Dapr token in place of its own", http.MethodGet, stack.APIURL + "/styles", nil, dapr("api"), 401},
		{"an app serves its sidecar's token", http.MethodGet, stack.APIURL + "/styles", nil, map[string]string{"dapr-api-token": s.AppAPIToken("api")}, 200},
		{"an app's probes stay open", http.MethodGet, stack.APIURL + "/healthz", nil, nil, 200},
		{"the old status route is refused to the browser", http.MethodPost, stack.WebURL + "/api/internal/orders/ord_x/transitions", []byte(`{}`), nil, 404},
		{"the API's event routes are refused to the browser", http.MethodPost, stack.WebURL + "/api/events/order-notified", orderEvent, nil, 404},
		{"the API no longer serves status reports", http.MethodPost, "http://127.0.0.1:3502/v1.0/invoke/api/method/internal/orders/ord_x/transitions", []byte(`{}`), dapr("transactions"), 404},
		{"transactions may not publish orders", http.MethodPost, "http://127.0.0.1:3502/v1.0/publish/pubsub/order", orderEvent, dapr("transactions"), 403},
		{"the API's token does not publish through another sidecar", http.MethodPost, "http://127.0.0.1:3502/v1.0/publish/pubsub/order", orderEvent, dapr("api"), 401},
		{"email may not publish order_confirm", http.MethodPost, "http://127.0.0.1:3503/v1.0/publish/pubsub/order_confirm", orderEvent, dapr("email"), 403},
		{"transactions may not publish order_notified", http.MethodPost, "http://127.0.0.1:3502/v1.0/publish/pubsub/order_notified", orderEvent, dapr("transactions"), 403},
		{"the frontend's sidecar has no pub/sub at all", http.MethodPost, "http://127.0.0.1:3500/v1.0/publish/pubsub/order", orderEvent, dapr("frontend"), 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := stack.Do(t, c.method, c.url, c.body, c.header)
			assert.Equal(t, c.want, r.Status, string(r.Body))
		})
	}
	assert.Equal(t, int64(0), stack.TopicSize(t, "order"), "no refused publish reached the broker")

	// nginx → frontend sidecar → API sidecar → API → `order` → transactions (the bank
	// binding) → `order_confirm` → email (SMTP binding) and the API → `order_notified` →
	// the API: each hop with the tokens of the app it leaves and the app it reaches.
	t.Run("an order still goes through every app", func(t *testing.T) {
		id := place(t, `{"restaurant":"China city","email":"locked@example.com","creditCard":"4242 4242 4242 4242"}`, nil)
		o := stack.WaitFinal(t, id, 30*time.Second)
		assert.Equal(t, "confirmed", o.Status)
		assert.Len(t, s.Bank.Charges(t, id), 1, "one charge")
		stack.Eventually(t, 15*time.Second, "the confirmation email", func() bool { return len(s.Mail.Search(t, id)) == 1 })
		assert.Contains(t, s.Mail.Search(t, id)[0].Subject, "confirmed")
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
