package attack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// The order rate limit of this stack: one order a minute per address after a burst of five,
// so a test's quick orders meet it at exactly the seventh, however slow the machine is.
const (
	orderRate  = "1r/m"
	orderBurst = 5
)

// Local app ports (docs/ARCHITECTURE.md).
const (
	apiPort          = 5000
	transactionsPort = 5001
	emailPort        = 5002
)

// TestHostileWorld runs every attack against one real stack, then the legitimate journey.
// The order matters: the attacks that could reach the consumers run before any real order
// exists, so "the consumers served no request" is exact.
func TestHostileWorld(t *testing.T) {
	s := stack.Start(t, stack.Options{Env: map[string]map[string]string{
		"frontend": {"NGINX_ORDER_RATE": orderRate, "NGINX_ORDER_BURST": fmt.Sprint(orderBurst), "NGINX_TRUSTED_PROXIES": trustedProxy},
	}})
	ledger := len(s.Bank.Charges(t, ""))
	bankFaults := faults(t)
	require.Zero(t, stack.TopicSize(t, "order"))

	// Each attack's requests and answers, for the table the suite prints at the end.
	var tried []attackRow
	attack := func(name string, f func(t *testing.T)) {
		takeTally()
		t.Run(name, f)
		tried = append(tried, attackRow{name, takeTally()})
	}
	attack("headers cannot steer the sidecar", func(t *testing.T) { headersCannotSteer(t) })
	attack("only the public routes reach the API", func(t *testing.T) { onlyPublicRoutes(t) })
	attack("trace context from the browser is not continued", func(t *testing.T) { traceNotContinued(t, s) })
	attack("an email holding a card number is refused", func(t *testing.T) { cardInEmailRefused(t, s) })

	var reached reachedCount
	t.Run("nothing reached the bank, the consumers or a mailbox", func(t *testing.T) {
		reached.charges = len(s.Bank.Charges(t, "")) - ledger
		assert.Zero(t, reached.charges, "the bank's ledger is unchanged")
		reached.faultsChanged = bankFaults != faults(t)
		assert.Equal(t, bankFaults, faults(t), "the bank's fault settings are unchanged")
		for _, app := range []struct {
			name string
			port int
		}{{"transactions", transactionsPort}, {"email", emailPort}} {
			for _, r := range servedRequests(t, s, app.name, app.port) {
				if !sidecarStartup.MatchString(r.Path) {
					reached.consumers++
				}
				assert.Regexp(t, sidecarStartup, r.Path, "%s served %s %s", app.name, r.Method, r.Path)
			}
		}
		for _, r := range servedRequests(t, s, "api", apiPort) {
			if !sidecarStartup.MatchString(r.Path) {
				if !publicRoute.MatchString(r.Path) {
					reached.apiOffRoute++
				}
				assert.Regexp(t, publicRoute, r.Path, "the API served %s %s", r.Method, r.Path)
			}
		}
		reached.emails = len(s.Mail.All(t))
		assert.Zero(t, reached.emails, "no email was sent")
		reached.records = stack.TopicSize(t, "order") + stack.TopicSize(t, "order_confirm") + stack.TopicSize(t, "order_notified")
		assert.Zero(t, stack.TopicSize(t, "order"), "no order was published")
		assert.Zero(t, stack.TopicSize(t, "order_confirm"), "no order outcome was published")
		assert.Zero(t, stack.TopicSize(t, "order_notified"), "no email's fate was published")
	})

	attack("the order rate limit holds for every spelling", func(t *testing.T) { rateLimitHolds(t) })
	attack("forwarded addresses count only from the trusted proxy", func(t *testing.T) { forwardedAddresses(t) })
	t.Run("the legitimate journey still works", func(t *testing.T) { legitimateJourney(t, s) })
	t.Logf("attacks tried:\n%s", attackTable(tried, reached))
}

// attackRow is one attack's requests, counted by the status they were answered with.
type attackRow struct {
	name     string
	byStatus map[int]int
}

// reachedCount is what the attacks before the audit got past nginx: each must be zero.
type reachedCount struct {
	charges, consumers, apiOffRoute, emails int
	records                                 int64
	faultsChanged                           bool
}

// attackTable renders the attacks as Markdown: requests and answers per attack, then what
// reached anything internal.
func attackTable(rows []attackRow, r reachedCount) string {
	var b strings.Builder
	b.WriteString("| attack | requests | answers |\n|---|---:|---|\n")
	total := 0
	for _, row := range rows {
		n := 0
		var codes []int
		for code, k := range row.byStatus {
			n += k
			codes = append(codes, code)
		}
		slices.Sort(codes)
		var parts []string
		for _, code := range codes {
			parts = append(parts, fmt.Sprintf("%d × %d", row.byStatus[code], code))
		}
		total += n
		fmt.Fprintf(&b, "| %s | %d | %s |\n", row.name, n, strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "| all | %d | |\n\n", total)
	fmt.Fprintf(&b, "reached: bank charges %d, bank faults changed %v, requests served by transactions or email %d, "+
		"API requests off its public routes %d, emails %d, records on order, order_confirm and order_notified %d\n",
		r.charges, r.faultsChanged, r.consumers, r.apiOffRoute, r.emails, r.records)
	return b.String()
}

// publicRoute is what the API may serve to the browser (apps/api/routes.go; the frontend's
// Dapr access control in the chart allows the same).
var publicRoute = regexp.MustCompile(`^/(search|styles|restaurants/[A-Za-z0-9_-]+|orders|orders/[A-Za-z0-9_-]+)$`)

// sidecarStartup is what an app's own sidecar asks it when it starts (its configuration and
// subscriptions): the only requests the consumers may have served before any order exists.
var sidecarStartup = regexp.MustCompile(`^/dapr/(config|subscribe)$`)

func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// attackEvents are CloudEvents an attacker would post to the consumers' subscription routes
// if any header could steer the frontend's sidecar to them: valid events, so a consumer that
// received one would charge, publish and email (to an address the test then looks for).
func orderEvent(id string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%[1]q,"type":"kafkarestaurants.order.placed.v1","source":"attack","topic":"order","pubsubname":"pubsub","datacontenttype":"application/json",`+
		`"data":{"orderId":%[1]q,"restaurantId":"china-city","restaurantName":"China city","email":"attack-tx@example.com","items":[],"total":0,"currency":"ILS",`+
		`"card":{"token":"tok_attack0000","brand":"visa","last4":"4242"},"placedAt":"2026-11-27T18:00:00Z"}}`, id)
}

func chargedEvent(id string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":"%[1]s.charged","type":"kafkarestaurants.order.charged.v1","source":"attack","topic":"order_confirm","pubsubname":"pubsub","datacontenttype":"application/json",`+
		`"data":{"orderId":%[1]q,"restaurantName":"China city","email":"attack-email@example.com","items":[],"total":0,"currency":"ILS",`+
		`"card":{"brand":"visa","last4":"4242"},"outcome":"paid","chargeId":"ch_attack","decidedAt":"2026-11-27T18:00:00Z"}}`, id)
}

// headersCannotSteer sends every public route with headers daprd obeys: each answer is the
// API's own answer to that route, as if the headers were not there.
func headersCannotSteer(t *testing.T) {
	steer := []struct {
		name   string
		header map[string]string
	}{
		{"app id: the bank's ledger URL ending in #", map[string]string{"dapr-app-id": "http://127.0.0.1:5100/v1/ledger#"}},
		{"app id: the bank's ledger URL ending in ?", map[string]string{"dapr-app-id": "http://127.0.0.1:5100/v1/ledger?"}},
		{"app id: the bank's fault admin", map[string]string{"Dapr-App-Id": "http://127.0.0.1:5100/v1/admin/faults#"}},
		{"app id: the transactions app's subscription route", map[string]string{"dapr-app-id": "http://127.0.0.1:5001/events/order#"}},
		{"app id: the email app's subscription route", map[string]string{"dapr-app-id": "http://127.0.0.1:5002/events/order-confirm#"}},
		{"app id: the API's own subscription route", map[string]string{"dapr-app-id": "http://127.0.0.1:5000/events/order-notified#"}},
		{"app id: the transactions sidecar's publish API", map[string]string{"dapr-app-id": "http://127.0.0.1:3502/v1.0/publish/pubsub/order_confirm#"}},
		{"app id: the API sidecar's state API", map[string]string{"dapr-app-id": "http://127.0.0.1:3501/v1.0/state/orderstore/x#"}},
		{"app id: mailpit", map[string]string{"dapr-app-id": "http://127.0.0.1:8025/api/v1/messages#"}},
		{"app id: another app by name", map[string]string{"dapr-app-id": "transactions"}},
		{"app id: the email app by name", map[string]string{"DAPR-APP-ID": "email"}},
		{"app id with underscores", map[string]string{"dapr_app_id": "http://127.0.0.1:5100/v1/ledger#"}},
		{"a wrong sidecar token", map[string]string{"dapr-api-token": "guess"}},
		{"caller and callee ids", map[string]string{"dapr-caller-app-id": "transactions", "dapr-caller-namespace": "default", "dapr-callee-app-id": "bank"}},
		{"an Authorization header", map[string]string{"Authorization": "Bearer attacker"}},
		{"method override to DELETE", map[string]string{"X-HTTP-Method-Override": "DELETE", "X-HTTP-Method": "DELETE", "X-Method-Override": "DELETE"}},
		{"method override to PUT", map[string]string{"X-HTTP-Method-Override": "PUT"}},
		{"a forwarded-for chain", map[string]string{"X-Forwarded-For": "10.0.0.1", "Forwarded": "for=10.0.0.1", "X-Real-IP": "10.0.0.1"}},
	}
	missing := "ord_nosuchordernosuchorder" // letters only: a run of digits would be redacted in the log
	routes := []struct {
		name, method, path string
		body               func() []byte
		want               int
		wantCode           string // for refusals: the code
		nginx              bool   // the refusal is nginx's own
	}{
		{"search", http.MethodGet, "/api/search?restaurant_style=Chinese", nil, http.StatusOK, "", false},
		{"styles", http.MethodGet, "/api/styles", nil, http.StatusOK, "", false},
		{"a restaurant", http.MethodGet, "/api/restaurants/china-city", nil, http.StatusOK, "", false},
		{"an order's status", http.MethodGet, "/api/orders/" + missing, nil, http.StatusNotFound, "not_found", false},
		// A CloudEvent is not an order: the API refuses it (its fields are unknown).
		{"placing an order (an order event as body)", http.MethodPost, "/api/orders", func() []byte { return []byte(orderEvent("ord_attack" + nonce())) }, http.StatusBadRequest, "unknown_field", false},
		{"placing an order (an order_confirm event as body)", http.MethodPost, "/api/orders", func() []byte { return []byte(chargedEvent("ord_attack" + nonce())) }, http.StatusBadRequest, "unknown_field", false},
		{"a path that is no route", http.MethodPost, "/api/x", func() []byte { return []byte(orderEvent("ord_attack" + nonce())) }, http.StatusNotFound, "not_found", true},
		{"a PUT that is no route", http.MethodPut, "/api/x", func() []byte { return []byte(`{"failureRate":1}`) }, http.StatusNotFound, "not_found", true},
	}
	// A cached public read is keyed by its path: a steered answer, had the header gone
	// through, would have been served to everyone for a second.
	t.Run("a steered read is not what the next browser is served", func(t *testing.T) {
		for _, path := range []string{"/api/styles", "/api/search", "/api/restaurants/china-city"} {
			send(t, client(), http.MethodGet, path, nil, map[string]string{"dapr-app-id": "http://127.0.0.1:5100/v1/ledger#"})
			r := send(t, client(), http.MethodGet, path, nil, nil)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.NotContains(t, string(r.Body), `"charges"`, "%s served the bank's ledger from the cache", path)
		}
	})
	for _, h := range steer {
		t.Run(h.name, func(t *testing.T) {
			for _, rt := range routes {
				t.Run(rt.name, func(t *testing.T) {
					var body []byte
					if rt.body != nil {
						body = rt.body()
					}
					// Every request from a new address: the order rate limit is not under test here.
					r := send(t, client(), rt.method, rt.path, body, h.header)
					require.Equal(t, rt.want, r.Status, "%s", r.Body)
					assert.NotContains(t, string(r.Body), `"charges"`, "the bank's ledger")
					assert.NotContains(t, string(r.Body), `"failureRate"`, "the bank's faults")
					assert.NotContains(t, string(r.Body), `"messages"`, "mailpit")
					assert.NotContains(t, string(r.Body), `"status":"SUCCESS"`, "a consumer's answer")
					switch {
					case rt.nginx:
						assert.Equal(t, apiError{rt.wantCode, nginxNoRoute}, errorOf(t, r))
					case rt.wantCode != "":
						e := errorOf(t, r)
						assert.Equal(t, rt.wantCode, e.Code)
						assert.NotEqual(t, nginxNoRoute, e.Message, "the API answered, not nginx")
					case rt.path == "/api/restaurants/china-city":
						assert.Contains(t, string(r.Body), `"id":"china-city"`)
					default:
						var list []json.RawMessage
						assert.NoError(t, json.Unmarshal(r.Body, &list), "the API's JSON list: %s", r.Body)
					}
				})
			}
		})
	}
}

// assertNginxNotFound: a 404 nginx made itself, never the API's: its JSON "no such API
// route" for a path under /api, or the site's 404 page for one whose dot segments lead
// out of /api.
func assertNginxNotFound(t *testing.T, r stack.Response) {
	t.Helper()
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
	if strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		assert.Contains(t, string(r.Body), "Page not found")
		return
	}
	assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
	assert.Equal(t, apiError{"not_found", nginxNoRoute}, errorOf(t, r))
}

// onlyPublicRoutes sends every other path and spelling nginx may meet: each is nginx's own
// JSON 404 (or 405 for a public route's wrong verb, or nginx's 400/414 for what HTTP
// itself forbids) and none reaches the API (checked once all have run, from the API's log).
func onlyPublicRoutes(t *testing.T) {
	notRoutes := []string{
		"/api/orders/", "/api/orders//", "//api/orders/", "/api/orders/.", "/api/orders/./",
		"/api/orders%2F", "/api/orders%2f", "/api/orders%2F.", "/api/orders;x", "/api/orders%3Bx",
		"/api/orders%23", "/api/orders%3F", "/api/orders%3Fx=1", "/api/orders%20", "/api/orders.json",
		"/api/internal/orders/ord_x/transitions", "/api/internal/", "/api/./internal/orders/x/transitions",
		"//api//internal//orders//x//transitions", "/api/x/../internal/orders/x/transitions",
		"/api/search/../internal/orders/x/transitions", "/api/%2e%2e/api/internal/orders/x/transitions",
		"/api%2Finternal%2Forders%2Fx%2Ftransitions", "/api/restaurants/..%2F..%2Finternal%2Forders%2Fx%2Ftransitions",
		"/api/restaurants/%2e%2e/%2e%2e/internal", "/api/restaurants/%c0%ae%c0%ae/internal",
		"/API/orders", "/Api/Search", "/api/ORDERS", "/api/Styles", "/API/INTERNAL/orders/x/transitions",
		"/api/events/order", "/api/events/order-confirm", "/api/events/order-notified", "/api/v1.0/invoke/bank/method/v1/ledger",
		"/api/v1.0/invoke/transactions/method/events/order", "/api/v1.0/publish/pubsub/order",
		"/api/healthz", "/api/readyz", "/api/metrics", "/api/search/", "/api/styles/", "/api/restaurants/",
		"/api/restaurants/china-city/", "/api/restaurants/china-city/menu", "/api/orders/ord_x/transitions",
		"/api/restaurants/" + strings.Repeat("a", 65), "/api/orders/" + strings.Repeat("1", 65),
		"/api/restaurants/china%20city", "/api/restaurants/china.city", "/api", "/api/", "/API",
	}
	for _, path := range notRoutes {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			t.Run(method+" "+path, func(t *testing.T) {
				r := raw(t, method+" "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
				assertNginxNotFound(t, r)
			})
		}
	}

	// The request line itself: a raw '#' starts a fragment nginx drops, an absolute URI is
	// its path; either way only the path's own route can answer.
	lines := []struct {
		name, line string
		want       int
		nginx      bool // the answer is nginx's own "no such API route"
	}{
		{"a raw # after a trailing slash", "POST /api/orders/#x HTTP/1.1", http.StatusNotFound, true},
		{"a raw # hiding dot segments", "POST /api/x#/../../orders HTTP/1.1", http.StatusNotFound, true},
		{"a raw # before internal", "GET /api/internal/orders/x/transitions#/search HTTP/1.1", http.StatusNotFound, true},
		{"an absolute URI to the bank", "GET http://127.0.0.1:5100/v1/ledger HTTP/1.1", http.StatusNotFound, false},
		{"an absolute URI to an internal route", "POST http://127.0.0.1:5000/api/internal/orders/x/transitions HTTP/1.1", http.StatusNotFound, true},
		{"a NUL byte", "GET /api/search%00/../internal HTTP/1.1", http.StatusBadRequest, false},
		{"a space in the path", "GET /api/search /../internal HTTP/1.1", http.StatusBadRequest, false},
		{"an overlong path", "GET /api/search/" + strings.Repeat("..%2F", 4000) + " HTTP/1.1", http.StatusRequestURITooLong, false},
		{"an overlong query", "GET /api/search?q=" + strings.Repeat("a", 20000) + " HTTP/1.1", http.StatusRequestURITooLong, false},
	}
	for _, l := range lines {
		t.Run(l.name, func(t *testing.T) {
			r := raw(t, l.line+"\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
			require.Equal(t, l.want, r.Status, "%s", r.Body)
			if l.nginx {
				assertNginxNotFound(t, r)
			}
		})
	}

	// A public route with another verb is refused by nginx, naming the verbs it takes.
	verbs := []struct {
		path, allow string
		methods     []string
	}{
		{"/api/search", "GET, HEAD", []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"}},
		{"/api/styles", "GET, HEAD", []string{http.MethodPost, http.MethodDelete}},
		{"/api/restaurants/china-city", "GET, HEAD", []string{http.MethodPost, http.MethodPut, http.MethodDelete}},
		{"/api/orders/ord_x", "GET, HEAD", []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}},
		{"/api/orders", "POST", []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions}},
	}
	for _, v := range verbs {
		for _, m := range v.methods {
			t.Run(m+" "+v.path, func(t *testing.T) {
				r := send(t, client(), m, v.path, []byte(`{}`), nil)
				require.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s", r.Body)
				assert.Equal(t, v.allow, r.Header.Get("Allow"))
				if m != http.MethodHead {
					assert.Equal(t, "method_not_allowed", errorOf(t, r).Code)
				}
			})
		}
	}

	// Spellings of a public route are that route, and only that route.
	same := []struct{ path, want string }{
		{"//api/search?restaurant_style=Chinese", "list"},
		{"/api/./search?restaurant_style=Chinese", "list"},
		{"/api/x/../search?restaurant_style=Chinese", "list"},
		{"/api/%73earch?restaurant_style=Chinese", "list"},
		{"/api%2Fstyles", "list"},
		{"/api/restaurants/china%2Dcity", "china-city"},
		{"/api/restaurants/x/../china-city", "china-city"},
	}
	for _, c := range same {
		t.Run("GET "+c.path, func(t *testing.T) {
			r := send(t, client(), http.MethodGet, c.path, nil, nil)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			if c.want == "list" {
				var list []json.RawMessage
				assert.NoError(t, json.Unmarshal(r.Body, &list), "%s", r.Body)
			} else {
				assert.Contains(t, string(r.Body), `"id":"`+c.want+`"`)
			}
		})
	}
}

// traceNotContinued sends trace context a browser could use to join a trace or force it to
// be sampled, each on a path of its own, and reads the trace id the API logged for it: it
// is a trace the frontend's sidecar started, never the browser's.
func traceNotContinued(t *testing.T, s *stack.Stack) {
	forged := func() (string, string) {
		id := nonce() + nonce()
		return id, nonce()
	}
	cases := []struct {
		name   string
		header func(trace, span string) map[string]string
	}{
		{"W3C traceparent, sampled", func(tr, sp string) map[string]string {
			return map[string]string{"traceparent": "00-" + tr + "-" + sp + "-01", "tracestate": "attacker=1", "baggage": "user=attacker"}
		}},
		{"B3 single header", func(tr, sp string) map[string]string { return map[string]string{"b3": tr + "-" + sp + "-1"} }},
		{"B3 multiple headers", func(tr, sp string) map[string]string {
			return map[string]string{"X-B3-TraceId": tr, "X-B3-SpanId": sp, "X-B3-Sampled": "1", "X-B3-Flags": "1"}
		}},
		{"gRPC binary trace context", func(tr, sp string) map[string]string {
			return map[string]string{"grpc-trace-bin": "AAB" + tr + sp + "AgE"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			trace, span := forged()
			path := "/restaurants/trace-" + nonce()
			r := send(t, client(), http.MethodGet, "/api"+path, nil, c.header(trace, span))
			require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
			var line requestLine
			stack.Eventually(t, 15*time.Second, "the API's log line for "+path, func() bool {
				for _, l := range requestLines(s.ReadLog(t, "api")) {
					if l.Path == path {
						line = l
						return true
					}
				}
				return false
			})
			assert.NotEmpty(t, line.TraceID, "the sidecar started a trace")
			assert.NotEqual(t, trace, line.TraceID, "the browser's trace id was adopted")
		})
	}
}

// cardInEmailRefused places orders whose email holds a card number, however written: each
// is a 400 that does not repeat the number, and the number is nowhere on disk afterwards
// (state stores, broker, logs, mailpit's store).
func cardInEmailRefused(t *testing.T, s *stack.Stack) {
	emails := []struct{ name, email, digits string }{
		{"the card as the local part", "4111111111111111@example.com", "4111111111111111"},
		{"dots between the groups", "5555.5555.5555.4444@example.com", "5555"},
		{"dashes between the groups", "dana-4012-8888-8888-1881@example.com", "4012"},
		{"after a plus", "dana+378282246310005@example.com", "378282246310005"},
		{"split by the @", "60111111@11111117.com", "60111111"},
		{"in the domain", "dana@4242424242424242.example.com", "4242424242424242"},
		{"in full-width digits", "４１１１１１１１１１１１１１１１@example.com", "４１１１"},
	}
	for _, e := range emails {
		t.Run(e.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"restaurant":"China city","email":%q,"creditCard":"4242424242424242","items":[{"menuItemId":"m1","quantity":1}]}`, e.email)
			r := send(t, client(), http.MethodPost, "/api/orders", []byte(body), nil)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			got := errorOf(t, r)
			assert.Equal(t, "invalid_email", got.Code)
			assert.Contains(t, got.Message, "card number")
			assert.NotContains(t, string(r.Body), e.digits, "the answer repeats the number")
			assert.NotContains(t, string(r.Body), e.email)
		})
	}
	assert.Zero(t, stack.TopicSize(t, "order"), "nothing was published")
	servedRequests(t, s, "api", apiPort) // every refusal is logged, so every log is written
	for _, e := range emails {
		assert.Empty(t, filesHolding(t, s.DataDir(), e.email), "%s is stored", e.email)
	}
}

// rateLimitHolds: the order rate limit counts every spelling of the order POST together,
// and a spelling that is not the order POST (a trailing slash) places nothing at all.
func rateLimitHolds(t *testing.T) {
	t.Run("25 quick posts to /api/orders/ place nothing", func(t *testing.T) {
		c := client()
		for i := range 25 {
			r := send(t, c, http.MethodPost, "/api/orders/", []byte(validOrder(fmt.Sprintf("slash-%d@example.com", i))), nil)
			assertNginxNotFound(t, r)
		}
		assert.Zero(t, stack.TopicSize(t, "order"), "no order was placed")
	})

	t.Run("every spelling of the order POST shares one allowance", func(t *testing.T) {
		spellings := []string{"/api/orders", "//api/orders", "/api/./orders", "/api/x/../orders", "/api/%6Frders", "/api%2Forders", "/api/orders?x=1", "/api//orders", "///api/orders"}
		c := client()
		var statuses []int
		for i := range 2 * len(spellings) {
			p := spellings[i%len(spellings)]
			// An order the API refuses (no such restaurant) still spends the allowance, and
			// places nothing.
			r := send(t, c, http.MethodPost, p, []byte(`{"restaurant":"no-such-place","email":"rate@example.com","creditCard":"4242424242424242"}`), nil)
			statuses = append(statuses, r.Status)
			if r.Status == http.StatusTooManyRequests {
				assert.Equal(t, "rate_limited", errorOf(t, r).Code)
				assert.Equal(t, "1", r.Header.Get("Retry-After"))
			} else {
				assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s", p, r.Body)
				assert.Equal(t, "unknown_restaurant", errorOf(t, r).Code, "%s reached the order route", p)
			}
		}
		want := make([]int, 2*len(spellings))
		for i := range want {
			want[i] = http.StatusTooManyRequests
			if i <= orderBurst {
				want[i] = http.StatusBadRequest
			}
		}
		assert.Equal(t, want, statuses, "the first %d are served, every later one is refused", orderBurst+1)
	})
}

func validOrder(email string) string {
	return fmt.Sprintf(`{"restaurant":"China city","email":%q,"creditCard":"4242424242424242","items":[{"menuItemId":"m1","quantity":2}]}`, email)
}

// legitimateJourney: search, a restaurant, an order, its status, its one charge and email.
func legitimateJourney(t *testing.T, s *stack.Stack) {
	c := client()
	r := send(t, c, http.MethodGet, "/api/search?restaurant_style=Chinese&vegetarian=true", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Contains(t, string(r.Body), `"id":"china-city"`)
	r = send(t, c, http.MethodHead, "/api/styles", nil, nil)
	assert.Equal(t, http.StatusOK, r.Status)
	r = send(t, c, http.MethodGet, "/api/restaurants/china-city", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	email := "journey-" + nonce() + "@example.com"
	r = send(t, c, http.MethodPost, "/api/orders", []byte(validOrder(email)), map[string]string{"Idempotency-Key": "journey-" + nonce()})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var placed struct {
		OrderID string `json:"orderId"`
	}
	r.JSON(t, &placed)
	require.NotEmpty(t, placed.OrderID)
	o := stack.WaitFinal(t, placed.OrderID, 30*time.Second)
	assert.Equal(t, "confirmed", o.Status)
	assert.Len(t, s.Bank.Charges(t, placed.OrderID), 1, "one charge")
	stack.Eventually(t, 15*time.Second, "the confirmation email", func() bool { return len(s.Mail.Search(t, "to:"+email)) == 1 })
}
