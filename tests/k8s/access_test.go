package k8s

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aclAllows is Dapr's access-control decision at the callee's sidecar, as Dapr documents
// it: the policy of the caller's app id in its trust domain and namespace (from its mTLS
// SPIFFE id) or, when there is none, the global defaultAction; within the policy the
// first operation whose name matches the path ("*" one segment, "**" any number, none
// included) and whose verbs include the verb, else the policy's defaultAction.
// tests/cluster asks a real daprd the same questions.
func aclAllows(ac map[string]any, trustDomain, ns, caller, verb, path string) bool {
	allow := func(action string) bool { return strings.EqualFold(action, "allow") }
	for _, p := range sliceAt(ac, "policies") {
		if str(p, "appId") != caller || str(p, "trustDomain") != trustDomain || str(p, "namespace") != ns {
			continue
		}
		for _, op := range sliceAt(p, "operations") {
			verbs := strings_(dig(op, "httpVerb"))
			if aclPathMatches(strings.Split(strings.Trim(str(op, "name"), "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")) &&
				(slices.Contains(verbs, verb) || slices.Contains(verbs, "*")) {
				return allow(str(op, "action"))
			}
		}
		return allow(str(p, "defaultAction"))
	}
	return allow(str(ac, "defaultAction"))
}

func aclPathMatches(pattern, path []string) bool {
	if len(pattern) == 0 {
		return len(path) == 0
	}
	switch pattern[0] {
	case "**":
		for i := 0; i <= len(path); i++ {
			if aclPathMatches(pattern[1:], path[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(path) > 0 && aclPathMatches(pattern[1:], path[1:])
	default:
		return len(path) > 0 && path[0] == pattern[0] && aclPathMatches(pattern[1:], path[1:])
	}
}

// Service invocation is the frontend's alone: the chart's access control denies by
// default, has one policy, the frontend's (in the release's namespace and the chart's
// trust domain), and that policy allows the API's public routes with their verbs and
// nothing else. No other app (the consumers report an order's progress as events) may
// invoke anything: not the API's old /internal transitions, not even a public route.
func TestOnlyTheFrontendMayInvokeTheAPI(t *testing.T) {
	public := [][2]string{
		{"GET", "/search"}, {"GET", "/styles"}, {"GET", "/restaurants/china-city"},
		{"POST", "/orders"}, {"GET", "/orders/ord_1"},
	}
	closed := [][2]string{
		{"POST", "/internal/orders/ord_1/transitions"}, {"GET", "/internal/orders/ord_1"},
		{"POST", "/events/order-confirm"}, {"POST", "/events/order-notified"}, {"POST", "/events/order"},
		{"GET", "/readyz"}, {"GET", "/healthz"}, {"GET", "/metrics"},
		{"DELETE", "/orders/ord_1"}, {"PUT", "/orders/ord_1"}, {"POST", "/search"},
	}
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			configs := byKind(mustRender(t, p), "Configuration")
			require.Len(t, configs, 1)
			ac := mapAt(configs[0].obj, "spec", "accessControl")
			require.NotNil(t, ac, "no access control")
			td := str(effectiveValues(t, p), "dapr", "trustDomain")
			require.NotEmpty(t, td)
			assert.Equal(t, "deny", str(ac, "defaultAction"))
			assert.Equal(t, td, str(ac, "trustDomain"))

			policies := sliceAt(ac, "policies")
			require.Len(t, policies, 1, "one policy, the frontend's")
			fe := policies[0]
			assert.Equal(t, "frontend", str(fe, "appId"))
			assert.Equal(t, "deny", str(fe, "defaultAction"))
			assert.Equal(t, p.ns, str(fe, "namespace"))
			assert.Equal(t, td, str(fe, "trustDomain"))
			for _, op := range sliceAt(fe, "operations") {
				assert.False(t, strings.HasPrefix(str(op, "name"), "/internal"), "the frontend may invoke %s", str(op, "name"))
			}

			for _, c := range public {
				assert.True(t, aclAllows(ac, td, p.ns, "frontend", c[0], c[1]), "the frontend may not %s %s", c[0], c[1])
				assert.False(t, aclAllows(ac, td, "other", "frontend", c[0], c[1]), "a frontend of another namespace may %s %s", c[0], c[1])
				assert.False(t, aclAllows(ac, "evil.example", p.ns, "frontend", c[0], c[1]), "a frontend of another trust domain may %s %s", c[0], c[1])
			}
			for _, c := range closed {
				assert.False(t, aclAllows(ac, td, p.ns, "frontend", c[0], c[1]), "the frontend may %s %s", c[0], c[1])
			}
			for _, caller := range []string{"api", "transactions", "email", "catalog", "intruder"} {
				for _, c := range append(append([][2]string{}, public...), closed...) {
					assert.False(t, aclAllows(ac, td, p.ns, caller, c[0], c[1]), "%s may %s %s", caller, c[0], c[1])
				}
			}
		})
	}
}

// The evaluator above, on a policy of each kind, so the test cannot pass by denying
// everything.
func TestACLEvaluator(t *testing.T) {
	ac := map[string]any{
		"defaultAction": "allow",
		"policies": []any{map[string]any{
			"appId": "a", "trustDomain": "td", "namespace": "ns", "defaultAction": "deny",
			"operations": []any{
				map[string]any{"name": "/x/*", "httpVerb": []any{"GET"}, "action": "allow"},
				map[string]any{"name": "/y/**", "httpVerb": []any{"*"}, "action": "allow"},
			},
		}},
	}
	cases := []struct {
		caller, verb, path string
		want               bool
	}{
		{"a", "GET", "/x/1", true},
		{"a", "POST", "/x/1", false},
		{"a", "GET", "/x/1/2", false},
		{"a", "GET", "/x", false},
		{"a", "DELETE", "/y", true},
		{"a", "DELETE", "/y/1/2", true},
		{"a", "GET", "/z", false},
		{"b", "GET", "/z", true}, // no policy: the global default
	}
	for _, c := range cases {
		assert.Equal(t, c.want, aclAllows(ac, "td", "ns", c.caller, c.verb, c.path), "%s %s %s", c.caller, c.verb, c.path)
	}
}
