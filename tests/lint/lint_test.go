package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.work above the test")
		dir = parent
	}
}

// TestComponentsPass is the lint itself: the repository's components/ break no rule.
func TestComponentsPass(t *testing.T) {
	r, err := Load(filepath.Join(root(t), "components"))
	require.NoError(t, err)
	apps, err := LoadApps(root(t))
	require.NoError(t, err)
	// The lint must have seen what it checks, or passing proves nothing.
	require.NotEmpty(t, r.Subscriptions)
	require.NotEmpty(t, r.Resiliencies)
	require.Contains(t, apps.Routes, "/events/order")
	for _, app := range []string{"api", "transactions", "email"} {
		require.True(t, apps.FirstWrite[app], "%s's first-write claims not found in its source", app)
	}
	assert.Empty(t, Check(r, apps, OrderChain))
}

// TestEveryRuleCatchesABrokenCopy copies components/ to a temporary folder, breaks one
// file per case and expects the matching problem: a rule that cannot fail proves nothing.
func TestEveryRuleCatchesABrokenCopy(t *testing.T) {
	src := filepath.Join(root(t), "components")
	apps, err := LoadApps(root(t))
	require.NoError(t, err)

	cases := []struct {
		name     string
		file     string
		old, new string // replace old with new in file; new "" with old "" deletes the file
		want     string // a problem containing this, or a Load error when wantLoad
		wantLoad bool
	}{
		{"initialOffset newest", "pubsub.yaml", `value: "oldest"`, `value: "newest"`, `initialOffset is "newest"`, false},
		{"initialOffset missing", "pubsub.yaml", "- name: initialOffset\n      value: \"oldest\"\n", "", `initialOffset is ""`, false},
		{"consumeRetryEnabled false", "pubsub.yaml", "consumeRetryEnabled\n      value: \"true\"", "consumeRetryEnabled\n      value: \"false\"", `consumeRetryEnabled is "false"`, false},
		{"no deadLetterTopic", "subscription-order.yaml", "  deadLetterTopic: order-dlq\n", "", `"order" has no deadLetterTopic`, false},
		{"dead-letter topic not allowed", "subscription-order.yaml", "deadLetterTopic: order-dlq", "deadLetterTopic: order-dead", `"order-dead" is not in allowedTopics`, false},
		{"inbound retry unbounded", "resiliency.yaml", "maxInterval: 15s\n        maxRetries: 20", "maxInterval: 15s\n        maxRetries: -1", `maxRetries -1: unbounded`, false},
		{"inbound retry without maxRetries", "resiliency.yaml", "maxInterval: 15s\n        maxRetries: 20\n", "maxInterval: 15s\n", `has no maxRetries`, false},
		{"no inbound retry", "resiliency.yaml", "        inbound:\n          retry: inbound\n", "", "inbound.retry", false},
		{"inbound retry names no policy", "resiliency.yaml", "retry: inbound\n", "retry: nosuch\n", `"nosuch" of "pubsub" is not defined`, false},
		{"component without scopes", "smtp.yaml", "scopes:\n  - email\n", "", `"smtp" has no scopes`, false},
		{"email may publish order", "pubsub.yaml", "email=order_notified,order_confirm-dlq", "email=order_notified,order_confirm-dlq,order", `"email" may publish "order"; only "api" may`, false},
		{"api may publish order_confirm", "pubsub.yaml", "api=order,", "api=order,order_confirm,", `"api" may publish "order_confirm"`, false},
		{"app missing from publishingScopes", "pubsub.yaml", ";email=order_notified,order_confirm-dlq\"", "\"", `publishingScopes does not list "email"`, false},
		{"no publishingScopes", "pubsub.yaml", "- name: publishingScopes\n", "- name: publishingScopesX\n", "publishingScopes is not set", false},
		{"transactions subscribes order_confirm", "pubsub.yaml", "transactions=order;", "transactions=order,order_confirm;", `"transactions" may subscribe to "order_confirm"`, false},
		{"email may subscribe order", "pubsub.yaml", "email=order_confirm\"", "email=order_confirm,order\"", `"email" may subscribe to "order"`, false},
		{"the API no longer learns of emails", "pubsub.yaml", "api=order_confirm,order_notified;", "api=order_confirm;", `"api" may not subscribe to "order_notified"`, false},
		{"transactions may publish order_notified", "pubsub.yaml", "transactions=order_confirm,", "transactions=order_confirm,order_notified,", `"transactions" may publish "order_notified"; only "email" may`, false},
		{"email loses its topic", "pubsub.yaml", "email=order_confirm\"", "email=\"", `"email" may not subscribe to "order_confirm"`, false},
		{"subscription scoped to the wrong app", "subscription-order.yaml", "scopes:\n  - transactions", "scopes:\n  - email", `scoped to [email] but "transactions" serves /events/order`, false},
		{"a shared subscription missing one of its apps", "subscription-order-confirm.yaml", "scopes:\n  - api\n  - email", "scopes:\n  - email", `scoped to [email] but [api email] serve /events/order-confirm`, false},
		{"subscription to a route nobody serves", "subscription-order.yaml", "default: /events/order\n", "default: /events/orders\n", `no app serves route "/events/orders"`, false},
		{"claim store not transactional", "notificationstore.yaml", "type: state.sqlite", "type: state.memcached", `"notificationstore" keeps first-write claims of "email"`, false},
		{"claim store in memory", "paymentstore.yaml", "type: state.sqlite", "type: state.in-memory", `"paymentstore" keeps first-write claims of "transactions"`, false},
		{"component named unlike its file", "bank.yaml", "name: bank\n", "name: bank2\n", `named "bank2"`, false},
		{"unknown field (typo)", "subscription-order.yaml", "deadLetterTopic:", "deadLeterTopic:", `unknown field "deadLeterTopic"`, true},
		{"unknown kind", "smtp.yaml", "kind: Component", "kind: Componnt", `unexpected kind "Componnt"`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, src)
			path := filepath.Join(dir, c.file)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Contains(t, string(b), c.old, "the case no longer matches %s; update it", c.file)
			require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), c.old, c.new, 1)), 0o644))

			r, err := Load(dir)
			if c.wantLoad {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.want)
				return
			}
			require.NoError(t, err)
			problems := Check(r, apps, OrderChain)
			assert.True(t, anyContains(problems, c.want), "want a problem with %q, got %q", c.want, problems)
		})
	}
}

func TestParseScopes(t *testing.T) {
	cases := []struct {
		name, value string
		want        map[string][]string
		wantErr     string
	}{
		{"two apps", "api=order;email=", map[string][]string{"api": {"order"}, "email": {}}, ""},
		{"spaces and trailing separator", " api = order , x ;", map[string][]string{"api": {"order", "x"}}, ""},
		{"no equals sign", "api", nil, `"api" is not app=topic`},
		{"app twice", "api=a;api=b", nil, `lists "api" twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := Component{}
			comp.Spec.Metadata = []Meta{{Name: "publishingScopes", Value: c.value}}
			got, err := parseScopes(comp, "publishingScopes")
			if c.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func anyContains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

// Every route a sidecar calls is in the Configuration's metrics pathMatching list (the
// chart's list is the same, tests/k8s): a route left out is labelled "" and its requests
// vanish from the per-route sidecar dashboards. The probes come from the shared router.
func TestSidecarMetricsKnowEveryRoute(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "dapr", "config.yaml"))
	require.NoError(t, err)
	var cfg struct {
		Spec struct {
			Metrics struct {
				HTTP struct {
					IncreasedCardinality *bool    `json:"increasedCardinality"`
					PathMatching         []string `json:"pathMatching"`
				} `json:"http"`
			} `json:"metrics"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	h := cfg.Spec.Metrics.HTTP
	require.NotNil(t, h.IncreasedCardinality)
	assert.False(t, *h.IncreasedCardinality, "raw paths as labels make a series per order id")
	apps, err := LoadApps(root(t))
	require.NoError(t, err)
	routes := map[string]bool{"/healthz": true, "/readyz": true}
	for _, app := range []string{"api", "transactions", "email"} {
		for r := range apps.Served[app] {
			routes[r] = true
		}
	}
	require.Contains(t, routes, "/orders/{id}", "the route scan found the API's routes")
	require.Contains(t, routes, "/events/order-confirm", "the route scan found the consumers' routes")
	for r := range routes {
		assert.Contains(t, h.PathMatching, r, "dapr/config.yaml metrics.http.pathMatching")
	}
}
