//go:build argocd

package cluster

// The Argo CD path (docs/KUBERNETES.md, path 2), on a cluster where Argo CD alone
// installed everything: tools/k8s/deploy.sh argocd applied only Argo CD's own manifests,
// the in-cluster git server and the root Application of helm/argocd. Run by make k8s-test
// (go test -tags argocd) after the Helm path's tests, on a fresh cluster.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
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

const argoNS = "argocd"

// application is what the tests read of an Argo CD Application.
type application struct {
	Metadata struct {
		Name              string            `json:"name"`
		CreationTimestamp time.Time         `json:"creationTimestamp"`
		Annotations       map[string]string `json:"annotations"`
	} `json:"metadata"`
	Status struct {
		Sync struct {
			Status   string `json:"status"`
			Revision string `json:"revision"`
		} `json:"sync"`
		Health struct {
			Status string `json:"status"`
		} `json:"health"`
		History []struct {
			Revision   string    `json:"revision"`
			DeployedAt time.Time `json:"deployedAt"`
		} `json:"history"`
		Conditions []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"conditions"`
	} `json:"status"`
}

func (a application) ready() bool {
	return a.Status.Sync.Status == "Synced" && a.Status.Health.Status == "Healthy"
}

func (a application) wave() int {
	w, _ := strconv.Atoi(a.Metadata.Annotations["argocd.argoproj.io/sync-wave"])
	return w
}

func applications(t testing.TB) map[string]application {
	var list struct {
		Items []application `json:"items"`
	}
	require.NoError(t, json.Unmarshal(kubectl(t, "-n", argoNS, "get", "applications", "-o", "json"), &list))
	out := map[string]application{}
	for _, a := range list.Items {
		out[a.Metadata.Name] = a
	}
	return out
}

// The app-of-apps' Applications, by wave (helm/argocd).
var argoWaves = map[string]int{
	"strimzi-operator": 0, "dapr": 0,
	"kafka-cluster": 1, "postgresql": 1,
	"kafka-restaurants": 2,
}

// servedRepo is the repository the in-cluster git server serves (tools/k8s/deploy.sh).
func servedRepo() string {
	return filepath.Join(repoRoot(), ".run", "k8s", "gitops", "git", "kafka-restaurants.git")
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=tests/cluster", "GIT_AUTHOR_EMAIL=tests@kafka-restaurants.invalid",
		"GIT_COMMITTER_NAME=tests/cluster", "GIT_COMMITTER_EMAIL=tests@kafka-restaurants.invalid")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// Argo CD installs the whole system from the root Application: every Application of the
// app-of-apps reaches Synced and Healthy, each wave only after the one before it had been
// deployed, and the system it installed works (search, an order with its email and charge).
func TestArgoCDSyncsTheAppOfApps(t *testing.T) {
	var apps map[string]application
	t0 := time.Now()
	stack.Eventually(t, 12*time.Minute, "every Application Synced and Healthy", func() bool {
		apps = applications(t)
		for name := range argoWaves {
			if a, ok := apps[name]; !ok || !a.ready() {
				return false
			}
		}
		return apps["kafka-restaurants-root"].ready()
	})
	t.Logf("every Application Synced and Healthy %v after the test started", time.Since(t0).Round(time.Second))

	names := make([]string, 0, len(argoWaves))
	for name := range argoWaves {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return argoWaves[names[i]] < argoWaves[names[j]] || argoWaves[names[i]] == argoWaves[names[j]] && names[i] < names[j]
	})
	for _, name := range names {
		a := apps[name]
		require.NotEmpty(t, a.Status.History, "%s has no deployment in its history", name)
		assert.Equal(t, argoWaves[name], a.wave(), "%s's sync wave", name)
		t.Logf("wave %d %-18s created %s, first deployed %s (revision %.12s)", a.wave(), name,
			a.Metadata.CreationTimestamp.Format(time.TimeOnly), a.Status.History[0].DeployedAt.Format(time.TimeOnly), a.Status.History[0].Revision)
	}
	// The root creates a wave's Applications only once every Application of the wave
	// before is Synced and Healthy (tools/k8s/manifests/argocd-cm.yaml), so each was
	// created no earlier than the earlier wave's first deployment finished (the API's
	// times are whole seconds).
	for _, later := range names {
		for _, earlier := range names {
			if argoWaves[earlier] >= argoWaves[later] {
				continue
			}
			created, deployed := apps[later].Metadata.CreationTimestamp, apps[earlier].Status.History[0].DeployedAt
			assert.False(t, created.Before(deployed), "%s (wave %d) was created at %s, before %s (wave %d) was deployed at %s",
				later, argoWaves[later], created.Format(time.TimeOnly), earlier, argoWaves[earlier], deployed.Format(time.TimeOnly))
		}
	}

	t.Run("the system it installed works", func(t *testing.T) {
		for _, ns := range []string{appNS, kafkaNS, daprNS} {
			waitPodsReady(t, ns, 3*time.Minute)
		}
		sys := system(t)
		assert.NotEmpty(t, searchIDs(t, sys.Web, "restaurant_style=Chinese&vegetarian=true"))
		id := placeOrder(t, sys.Web, "China city", "4242424242424242", fmt.Sprintf("argocd-%d", time.Now().UnixNano()))
		o := stack.WaitFinalAt(t, sys.Web, id, 2*time.Minute)
		assert.Equal(t, "confirmed", o.Status)
		var msgs []stack.Message
		stack.Eventually(t, time.Minute, "the email of "+id, func() bool {
			msgs = sys.Mail.Search(t, id)
			return len(msgs) > 0
		})
		assert.Len(t, msgs, 1, "emails for %s", id)
		assert.Len(t, sys.Bank.Charges(t, id), 1, "charges of %s", id)
	})
}

// A catalog change committed to the served repository reaches the running app through
// Argo CD alone: nobody runs helm or kubectl. Argo CD sees the new commit, syncs the
// catalog ConfigMap, the loader publishes it, and search answers with it; no pod is
// replaced or restarted on the way.
func TestArgoCDDeliversACommittedCatalogChange(t *testing.T) {
	stack.Eventually(t, 12*time.Minute, "the app Application Synced and Healthy", func() bool {
		a, ok := applications(t)["kafka-restaurants"]
		return ok && a.ready()
	})
	waitPodsReady(t, appNS, 3*time.Minute)
	sys := system(t)
	before := podUIDs(t)

	work := filepath.Join(t.TempDir(), "work")
	git(t, filepath.Dir(work), "clone", "-q", servedRepo(), work)
	catalogFile := filepath.Join(work, "helm", "kafka-restaurants", "files", "restaurants.json")
	raw, err := os.ReadFile(catalogFile)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	list := doc["restaurants"].([]any)
	added := map[string]any{}
	for k, v := range list[0].(map[string]any) {
		added[k] = v
	}
	newName := fmt.Sprintf("Argo Kitchen %d", time.Now().UnixNano()%100000)
	added["id"], added["name"] = "argo-kitchen", newName
	doc["restaurants"] = append(list, added)
	next, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(catalogFile, append(next, '\n'), 0o644))
	git(t, work, "commit", "-q", "-am", "catalog: add "+newName)
	git(t, work, "push", "-q", "origin", "HEAD:main")
	commit := git(t, work, "rev-parse", "HEAD")

	t0 := time.Now()
	stack.Eventually(t, 3*time.Minute, "the committed restaurant in search", func() bool {
		r := stack.Do(t, http.MethodGet, sys.Web+"/api/search?restaurant_name="+url.QueryEscape(newName), []byte(nil), map[string]string{"Cache-Control": "no-cache"})
		return r.Status == http.StatusOK && strings.Contains(string(r.Body), "argo-kitchen")
	})
	t.Logf("commit %.12s → search: %v", commit, time.Since(t0).Round(time.Second))
	app := applications(t)["kafka-restaurants"]
	assert.Equal(t, commit, app.Status.Sync.Revision, "the app Application's synced revision")
	assert.Equal(t, before, podUIDs(t), "pods were replaced or restarted by a catalog commit")
}
