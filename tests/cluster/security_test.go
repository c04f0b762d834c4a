//go:build cluster

package cluster

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// portForward forwards a free loopback port to port of pod and returns its address.
func portForward(t *testing.T, ns, pod string, port int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), ".tools", "bin", "kubectl"),
		"-n", ns, "port-forward", "--address", "127.0.0.1", "pod/"+pod, fmt.Sprintf("0:%d", port))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		for sc.Scan() { // keep draining
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(30 * time.Second):
		t.Fatalf("port-forward to %s/%s:%d did not start", ns, pod, port)
		return ""
	}
}

func secretValue(t *testing.T, ns, name, key string) string {
	t.Helper()
	v := kubectl(t, "-n", ns, "get", "secret", name, "-o", "jsonpath={.data."+key+"}")
	b, err := base64.StdEncoding.DecodeString(string(v))
	require.NoError(t, err)
	return string(b)
}

// The frontend's sidecar, asked directly (as nginx asks it), may invoke only the API's
// public routes: Dapr's access control, at the callee's sidecar, decides on the caller's
// SPIFFE identity from its Sentry-issued mTLS certificate — so the allowed calls show
// that sidecars talk over mTLS, and the refused ones that the policy holds. Among them
// the API's event routes: the frontend cannot forge an order's progress.
func TestSidecarMTLSAndAccessControl(t *testing.T) {
	mtls := strings.TrimSpace(string(kubectl(t, "-n", daprNS, "get", "configurations.dapr.io", "daprsystem", "-o", "jsonpath={.spec.mtls.enabled}")))
	assert.Equal(t, "true", mtls, "Dapr's system Configuration must keep mTLS on")

	fe := pods(t, appNS, "app.kubernetes.io/name=frontend")
	require.NotEmpty(t, fe)
	sidecar := "http://" + portForward(t, appNS, fe[0].Metadata.Name, 3500)
	token := secretValue(t, appNS, "frontend-dapr-api-token", "token")
	call := func(method, path string, withToken bool) int {
		h := map[string]string{}
		if withToken {
			h["dapr-api-token"] = token
		}
		var body []byte
		if method == http.MethodPost {
			body = []byte(`{}`)
		}
		return stack.Do(t, method, sidecar+path, body, h).Status
	}
	cases := []struct {
		name, method, path string
		token              bool
		allowed            bool
	}{
		{"search", http.MethodGet, "/v1.0/invoke/api/method/search?restaurant_style=Chinese", true, true},
		{"styles", http.MethodGet, "/v1.0/invoke/api/method/styles", true, true},
		{"an order's status", http.MethodGet, "/v1.0/invoke/api/method/orders/ord_doesnotexist", true, true},
		{"the API's old internal transitions", http.MethodPost, "/v1.0/invoke/api/method/internal/orders/x/transitions", true, false},
		{"the API's order_confirm route", http.MethodPost, "/v1.0/invoke/api/method/events/order-confirm", true, false},
		{"the API's order_notified route", http.MethodPost, "/v1.0/invoke/api/method/events/order-notified", true, false},
		{"the API's readiness", http.MethodGet, "/v1.0/invoke/api/method/readyz", true, false},
		{"DELETE of an order", http.MethodDelete, "/v1.0/invoke/api/method/orders/x", true, false},
		// Other apps: the NetworkPolicy keeps the frontend's sidecar from their sidecars'
		// invocation port, so the call fails at the caller (500) before access control
		// (403) would refuse it; either way it never reaches the app.
		{"the transactions consumer", http.MethodPost, "/v1.0/invoke/transactions/method/events/order", true, false},
		{"the email consumer", http.MethodPost, "/v1.0/invoke/email/method/events/order-confirm", true, false},
		{"the catalog loader", http.MethodGet, "/v1.0/invoke/catalog/method/readyz", true, false},
		{"search without the API token", http.MethodGet, "/v1.0/invoke/api/method/search", false, false},
	}
	// Each app has its own tokens (the chart's Secret per app and kind): the API's Dapr API
	// token, or its app token, does not open the frontend's sidecar.
	t.Run("another app's tokens", func(t *testing.T) {
		for _, name := range []string{"api-dapr-api-token", "api-dapr-app-token", "frontend-dapr-app-token"} {
			other := secretValue(t, appNS, name, "token")
			require.NotEqual(t, token, other, "%s is the frontend's Dapr API token", name)
			r := stack.Do(t, http.MethodGet, sidecar+"/v1.0/invoke/api/method/styles", nil, map[string]string{"dapr-api-token": other})
			assert.Equal(t, http.StatusUnauthorized, r.Status, "the frontend's sidecar given %s", name)
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status := call(tc.method, tc.path, tc.token)
			if tc.allowed {
				assert.Contains(t, []int{http.StatusOK, http.StatusNotFound}, status, "%s %s", tc.method, tc.path)
				if strings.Contains(tc.path, "search") {
					assert.Equal(t, http.StatusOK, status)
				}
			} else if strings.Contains(tc.path, "/invoke/api/") || !tc.token {
				assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, status, "%s %s was not refused", tc.method, tc.path)
			} else {
				assert.Contains(t, []int{http.StatusForbidden, http.StatusInternalServerError}, status, "%s %s was not refused", tc.method, tc.path)
			}
		})
	}
}

// No app but the frontend invokes the API: the consumers report an order's progress as
// events (`order_confirm`, `order_notified`), so their sidecars, asked with their own Dapr
// API tokens, are refused the API altogether, the transitions route they once called and
// a public route alike. The chart closes that path twice: no NetworkPolicy lets a consumer
// reach the API's sidecar, so the call fails at the caller (500); were the network open,
// access control, which has no policy for them, would refuse it at the API's sidecar
// (403). A call that reached the API would answer 404 (no such route) or 200.
func TestOnlyTheFrontendInvokesTheAPI(t *testing.T) {
	cases := []struct{ name, method, path string }{
		{"the old transitions route", http.MethodPost, "/v1.0/invoke/api/method/internal/orders/x/transitions"},
		{"an order's status", http.MethodGet, "/v1.0/invoke/api/method/orders/ord_doesnotexist"},
		{"styles", http.MethodGet, "/v1.0/invoke/api/method/styles"},
	}
	// Longer than stack.HTTP's 15 s: a refused call may wait out the caller's invoke
	// timeout and retries (the chart's Resiliency, about 25 s at most).
	client := &http.Client{Timeout: 90 * time.Second}
	do := func(t *testing.T, method, u, token string) (int, string) {
		t.Helper()
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"to":"confirmed"}`)
		}
		req, err := http.NewRequest(method, u, body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("dapr-api-token", token)
		resp, err := client.Do(req)
		require.NoError(t, err, "%s %s", method, u)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, app := range []string{"transactions", "email"} {
		t.Run(app, func(t *testing.T) {
			ps := pods(t, appNS, "app.kubernetes.io/name="+app)
			require.NotEmpty(t, ps, "no pod of %s", app)
			sidecar := "http://" + portForward(t, appNS, ps[0].Metadata.Name, 3500)
			token := secretValue(t, appNS, app+"-dapr-api-token", "token")
			// The sidecar takes this token (its metadata API needs it): a refusal below is
			// the invocation's, not a 401 for a wrong token.
			status, body := do(t, http.MethodGet, sidecar+"/v1.0/metadata", token)
			require.Equal(t, http.StatusOK, status, "%s's sidecar refused its own token: %s", app, body)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					status, body := do(t, tc.method, sidecar+tc.path, token)
					t.Logf("%s %s from %s's sidecar: %d %s", tc.method, tc.path, app, status, body)
					assert.Contains(t, []int{http.StatusForbidden, http.StatusInternalServerError}, status,
						"%s's sidecar invoked the API: %s %s answered %d %s", app, tc.method, tc.path, status, body)
				})
			}
		})
	}
}

// A pod that no NetworkPolicy names reaches none of the system's inner ports (the API and
// its sidecar, the consumers, the catalog loader, the bank, mailpit's SMTP, PostgreSQL),
// while it does reach the website, which is open to anyone: kube-router enforces the
// chart's policies. (Every allowed path is exercised by the order tests.)
func TestNetworkPoliciesAreEnforced(t *testing.T) {
	type target struct {
		name string
		addr string
		open bool
	}
	podIP := func(app string) string {
		ps := pods(t, appNS, "app.kubernetes.io/name="+app)
		require.NotEmpty(t, ps, "no pod of %s", app)
		return ps[0].Status.PodIP
	}
	svcIP := func(ns, name string) string {
		return strings.TrimSpace(string(kubectl(t, "-n", ns, "get", "svc", name, "-o", "jsonpath={.spec.clusterIP}")))
	}
	targets := []target{
		{"website (frontend nginx)", podIP("frontend") + ":8080", true},
		{"api", podIP("api") + ":5000", false},
		{"api sidecar HTTP", podIP("api") + ":3500", false},
		{"api sidecar invocation", podIP("api") + ":50002", false},
		{"frontend sidecar HTTP", podIP("frontend") + ":3500", false},
		{"transactions", podIP("transactions") + ":5001", false},
		{"transactions sidecar", podIP("transactions") + ":50002", false},
		{"email", podIP("email") + ":5002", false},
		{"catalog loader", podIP("catalog") + ":5003", false},
		{"bank", svcIP(appNS, "bank") + ":5100", false},
		{"bank pod", podIP("bank") + ":5100", false},
		{"mailpit SMTP", svcIP(appNS, "mailpit") + ":1025", false},
		{"postgresql", svcIP(appNS, "postgresql") + ":5432", false},
	}
	args := []string{"-timeout=3s"}
	for _, tg := range targets {
		args = append(args, tg.addr)
	}
	overrides, _ := json.Marshal(map[string]any{
		"spec": map[string]any{
			"automountServiceAccountToken": false,
			"securityContext":              map[string]any{"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
			"containers": []any{map[string]any{
				"name": "intruder", "image": "kafka-restaurants/netcheck:dev", "imagePullPolicy": "Never", "args": args,
				"securityContext": map[string]any{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []string{"ALL"}}},
			}},
		},
	})
	name := fmt.Sprintf("intruder-%d", time.Now().UnixNano()%1000000)
	kubectl(t, "-n", appNS, "run", name, "--image=kafka-restaurants/netcheck:dev", "--restart=Never",
		"--labels=app.kubernetes.io/name=intruder", "--overrides="+string(overrides))
	t.Cleanup(func() { _, _ = kubectlErr("-n", appNS, "delete", "pod", name, "--wait=false") })
	stack.Eventually(t, 2*time.Minute, "the intruder pod to finish", func() bool {
		phase := strings.TrimSpace(string(kubectl(t, "-n", appNS, "get", "pod", name, "-o", "jsonpath={.status.phase}")))
		return phase == "Succeeded" || phase == "Failed"
	})
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(kubectl(t, "-n", appNS, "logs", name))), "\n") {
		var r struct {
			Addr string `json:"addr"`
			Open bool   `json:"open"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		got[r.Addr] = r.Open
	}
	for _, tg := range targets {
		open, ok := got[tg.addr]
		require.True(t, ok, "no result for %s", tg.addr)
		assert.Equal(t, tg.open, open, "%s (%s): reachable=%v from a pod outside the policies", tg.name, tg.addr, open)
	}
}
