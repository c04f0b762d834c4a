//go:build cluster

package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// The apps that run with a Dapr sidecar (dapr.io/enabled), and the ones that do not.
var daprApps = []string{"api", "catalog", "email", "frontend", "transactions"}

// Every pod of the system is Ready, every app pod carries the sidecar the injector added,
// and nothing has restarted.
func TestPodsReadyWithInjectedSidecars(t *testing.T) {
	for _, ns := range []string{appNS, kafkaNS, daprNS, "kube-system"} {
		waitPodsReady(t, ns, 3*time.Minute)
	}
	seen := map[string]bool{}
	for _, ns := range []string{appNS, kafkaNS, daprNS, "kube-system"} {
		for _, p := range pods(t, ns) {
			assert.True(t, p.ready(), "%s/%s not ready", ns, p.Metadata.Name)
			assert.Zero(t, p.restarts(), "%s/%s restarted", ns, p.Metadata.Name)
			if ns != appNS {
				continue
			}
			names := []string{}
			for _, c := range p.Spec.Containers {
				names = append(names, c.Name)
			}
			if slices.Contains(daprApps, p.app()) {
				seen[p.app()] = true
				assert.Equal(t, "true", p.Metadata.Annotations["dapr.io/enabled"], p.Metadata.Name)
				assert.Contains(t, names, "daprd", "%s has no injected sidecar", p.Metadata.Name)
			} else {
				assert.NotContains(t, names, "daprd", "%s (outside Dapr by design) has a sidecar", p.Metadata.Name)
			}
		}
	}
	for _, app := range daprApps {
		assert.True(t, seen[app], "no pod of %s", app)
	}
}

// The seed's search, through the frontend Service (nginx, its sidecar, mTLS, the API's
// sidecar, the API), answers what the catalog file says, as it does locally.
func TestSearchThroughTheFrontendService(t *testing.T) {
	sys := system(t)
	catalog := chartCatalog(t)
	cases := []struct {
		name  string
		query string
		keep  func(catalogEntry) bool
	}{
		{"chinese and vegetarian (the seed's example)", "restaurant_style=Chinese&vegetarian=true",
			func(e catalogEntry) bool { return e.Style == "Chinese" && e.Vegetarian }},
		{"delivery", "delivery=true", func(e catalogEntry) bool { return e.Delivery }},
		{"everything", "", func(catalogEntry) bool { return true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := []string{}
			for _, e := range catalog {
				if tc.keep(e) {
					want = append(want, e.ID)
				}
			}
			sort.Strings(want)
			require.NotEmpty(t, want)
			assert.Equal(t, want, searchIDs(t, sys.Web, tc.query+"&limit=100"))
		})
	}
}

// An order with a good card ends confirmed with one charge and one email; a declined card
// ends declined with its email and no charge.
func TestOrdersEndToEnd(t *testing.T) {
	sys := system(t)
	cases := []struct {
		card, status, subject string
		charges               int
	}{
		{"4242424242424242", "confirmed", "confirmed", 1},
		{"4000000000000002", "notified_declined", "declined", 0},
	}
	for _, tc := range cases {
		t.Run(tc.status, func(t *testing.T) {
			t0 := time.Now()
			id := placeOrder(t, sys.Web, "China city", tc.card, fmt.Sprintf("cluster-%s-%d", tc.status, time.Now().UnixNano()))
			o := stack.WaitFinalAt(t, sys.Web, id, 2*time.Minute)
			assert.Equal(t, tc.status, o.Status)
			t.Logf("order %s: %s in %v", id, o.Status, time.Since(t0).Round(time.Millisecond))
			for _, step := range o.Timeline {
				t.Logf("  %s  %s  %s", step.At.Format(time.RFC3339Nano), step.Status, step.Detail)
			}
			var msgs []stack.Message
			stack.Eventually(t, time.Minute, "the email of "+id, func() bool {
				msgs = sys.Mail.Search(t, id)
				return len(msgs) > 0
			})
			require.Len(t, msgs, 1, "emails for %s", id)
			assert.Contains(t, strings.ToLower(msgs[0].Subject), tc.subject)
			charged := 0
			for _, c := range sys.Bank.Charges(t, id) {
				if c.Status == "succeeded" {
					charged++
				}
			}
			assert.Equal(t, tc.charges, charged, "charges of %s: %+v", id, sys.Bank.Charges(t, id))
		})
	}
}

// A ConfigMap edit of the catalog reaches search within 10 s, without a pod restart.
func TestCatalogConfigMapEditShowsInSearch(t *testing.T) {
	sys := system(t)
	before := podUIDs(t)
	raw := kubectl(t, "-n", appNS, "get", "configmap", "catalog", "-o", "jsonpath={.data.restaurants\\.json}")
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	list := doc["restaurants"].([]any)
	first := list[0].(map[string]any)
	newName := fmt.Sprintf("Cluster Test Kitchen %d", time.Now().UnixNano()%100000)
	edited := map[string]any{}
	for k, v := range first {
		edited[k] = v
	}
	edited["id"] = "cluster-test-kitchen"
	edited["name"] = newName
	doc["restaurants"] = append(list, edited)
	patch := func(catalog []byte) {
		data, _ := json.Marshal(map[string]any{"data": map[string]string{"restaurants.json": string(catalog)}})
		kubectl(t, "-n", appNS, "patch", "configmap", "catalog", "--type", "merge", "-p", string(data))
	}
	next, _ := json.Marshal(doc)
	t.Cleanup(func() { patch(raw) })

	t0 := time.Now()
	patch(next)
	stack.Eventually(t, 10*time.Second, "the new restaurant in search", func() bool {
		r := stack.Do(t, http.MethodGet, sys.Web+"/api/search?restaurant_name="+url.QueryEscape(newName), []byte(nil), map[string]string{"Cache-Control": "no-cache"})
		return r.Status == http.StatusOK && strings.Contains(string(r.Body), "cluster-test-kitchen")
	})
	t.Logf("catalog edit → search: %v", time.Since(t0).Round(time.Millisecond))
	assert.Equal(t, before, podUIDs(t), "pods were replaced or restarted by a catalog edit")
}

// Deleting the transactions pod and the email pod while 100 orders stream in loses
// nothing: every order ends final, none is charged twice or emailed twice.
func TestConsumersSurvivePodDeletion(t *testing.T) {
	sys := system(t)
	const n = 100
	run := time.Now().UnixNano()
	ids := make([]string, n)
	var kill sync.WaitGroup
	for i := range n {
		ids[i] = placeOrder(t, sys.Web, "Sabich", "4242424242424242", fmt.Sprintf("cluster-stream-%d-%d", run, i))
		switch i {
		case n / 3:
			kill.Add(1)
			go func() { defer kill.Done(); deletePod(t, "transactions") }()
		case 2 * n / 3:
			kill.Add(1)
			go func() { defer kill.Done(); deletePod(t, "email") }()
		}
	}
	kill.Wait()
	for _, id := range ids {
		o := stack.WaitFinalAt(t, sys.Web, id, 4*time.Minute)
		assert.Equal(t, "confirmed", o.Status, id)
	}
	for _, id := range ids {
		charged := 0
		for _, c := range sys.Bank.Charges(t, id) {
			if c.Status == "succeeded" {
				charged++
			}
		}
		assert.Equal(t, 1, charged, "charges of %s", id)
	}
	stack.Eventually(t, 2*time.Minute, "an email for every order", func() bool {
		for _, id := range ids {
			if len(sys.Mail.Search(t, id)) == 0 {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		assert.Len(t, sys.Mail.Search(t, id), 1, "emails of %s", id)
	}
	waitPodsReady(t, appNS, 3*time.Minute)
}

// deletePod deletes the (one) pod of app and waits for its replacement to be Ready.
func deletePod(t testing.TB, app string) {
	ps := pods(t, appNS, "app.kubernetes.io/name="+app)
	require.NotEmpty(t, ps, "no pod of %s", app)
	// Its logs go with the pod: keep them, to read how its last messages ended.
	keepLogs(t, ps[0].Metadata.Name)
	kubectl(t, "-n", appNS, "delete", "pod", ps[0].Metadata.Name, "--wait=false")
	t.Logf("deleted pod %s (its logs: .run/cluster-logs/%s.log)", ps[0].Metadata.Name, ps[0].Metadata.Name)
}

// keepLogs follows every container's log of pod into .run/cluster-logs/<pod>.log until
// the pod is gone.
func keepLogs(t testing.TB, pod string) {
	dir := filepath.Join(repoRoot(), ".run", "cluster-logs")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	f, err := os.Create(filepath.Join(dir, pod+".log"))
	require.NoError(t, err)
	cmd := exec.Command(filepath.Join(repoRoot(), ".tools", "bin", "kubectl"), "-n", appNS, "logs", "-f", "--all-containers", "--prefix", "pod/"+pod)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); f.Close() })
}
