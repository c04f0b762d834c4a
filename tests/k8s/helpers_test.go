package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// Versions of the modules whose CRDs are the reference schemas. The Dapr version is the
// control plane the ArgoCD app installs; Argo CD's is a recent v3 release.
const (
	daprModule   = "github.com/dapr/dapr@v1.18.0"
	argoCDModule = "github.com/argoproj/argo-cd/v3@v3.5.7"
)

// repoRoot is the checkout root, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// profile is one chart rendered with one values file.
type profile struct {
	chart  string         // folder under helm/
	values string         // values file inside the chart folder ("" = defaults only)
	ns     string         // release namespace
	name   string         // release name
	set    map[string]any // extra values (dotted keys), like --set
}

func (p profile) String() string {
	v := p.values
	if v == "" {
		v = "values.yaml"
	}
	for k, x := range p.set {
		v += fmt.Sprintf(",%s=%v", k, x)
	}
	return p.chart + "/" + v
}

// appProfiles are the values profiles of the application chart.
var appProfiles = []profile{
	{chart: "kafka-restaurants", values: "", ns: "kafka-restaurants", name: "kafka-restaurants"},
	{chart: "kafka-restaurants", values: "values-minikube.yaml", ns: "kafka-restaurants", name: "kafka-restaurants"},
	{chart: "kafka-restaurants", values: "values-production.yaml", ns: "kafka-restaurants", name: "kafka-restaurants"},
}

// allProfiles is every chart with every profile it ships.
var allProfiles = append(append([]profile{}, appProfiles...),
	profile{chart: "kafka-cluster", values: "", ns: "kafka", name: "kafka-cluster"},
	profile{chart: "kafka-cluster", values: "values-minikube.yaml", ns: "kafka", name: "kafka-cluster"},
	profile{chart: "kafka-cluster", values: "values-production.yaml", ns: "kafka", name: "kafka-cluster"},
	profile{chart: "postgresql", values: "", ns: "kafka-restaurants", name: "postgresql"},
	profile{chart: "postgresql", values: "values-minikube.yaml", ns: "kafka-restaurants", name: "postgresql"},
	profile{chart: "postgresql", values: "values-production.yaml", ns: "kafka-restaurants", name: "postgresql"},
	profile{chart: "argocd", values: "", ns: "argocd", name: "kafka-restaurants-root"},
	profile{chart: "argocd", values: "", ns: "argocd", name: "kafka-restaurants-root", set: map[string]any{"bootstrap": true}},
	profile{chart: "argocd", values: "", ns: "argocd", name: "kafka-restaurants-root", set: map[string]any{"profile": "production"}},
)

// object is one rendered manifest.
type object struct {
	source string // template file it came from
	yaml   string
	obj    map[string]any
}

func (o object) kind() string       { s, _ := o.obj["kind"].(string); return s }
func (o object) apiVersion() string { s, _ := o.obj["apiVersion"].(string); return s }
func (o object) name() string       { return str(o.obj, "metadata", "name") }
func (o object) id() string         { return o.kind() + "/" + o.name() + " (" + o.source + ")" }

// str walks nested maps and returns the string at the end, or "".
func str(m any, path ...string) string {
	v := dig(m, path...)
	s, _ := v.(string)
	return s
}

// dig walks nested maps.
func dig(m any, path ...string) any {
	cur := m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// daprCapabilities are the API versions a cluster with Dapr 1.18 and Strimzi serves:
// the charts' CRD checks pass with them and fail without them.
var clusterAPIVersions = []string{
	"dapr.io/v1alpha1", "dapr.io/v2alpha1",
	"kafka.strimzi.io/v1beta2",
	"argoproj.io/v1alpha1",
	"monitoring.coreos.com/v1",
}

var chartCache sync.Map // dir -> *chart.Chart

func loadChart(t testing.TB, dir string) *chart.Chart {
	t.Helper()
	if c, ok := chartCache.Load(dir); ok {
		return c.(*chart.Chart)
	}
	c, err := loader.Load(dir)
	require.NoError(t, err, "load chart %s", dir)
	chartCache.Store(dir, c)
	return c
}

// profileValues reads the profile's values file and applies overrides (dotted keys).
func profileValues(t testing.TB, p profile, overrides map[string]any) map[string]any {
	t.Helper()
	vals := map[string]any{}
	if p.values != "" {
		raw, err := os.ReadFile(filepath.Join(repoRoot(t), "helm", p.chart, p.values))
		require.NoError(t, err)
		require.NoError(t, yaml.Unmarshal(raw, &vals), "parse %s", p)
	}
	for _, o := range []map[string]any{p.set, overrides} {
		for k, v := range o {
			setPath(vals, strings.Split(k, "."), v)
		}
	}
	return vals
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// render renders a chart the way `helm template` does, with the given API versions
// served by the (imaginary) cluster, and returns every object in a stable order.
func render(t testing.TB, p profile, overrides map[string]any, apiVersions []string) ([]object, error) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "helm", p.chart)
	return renderChart(t, loadChart(t, dir), p, overrides, apiVersions)
}

func renderChart(t testing.TB, ch *chart.Chart, p profile, overrides map[string]any, apiVersions []string) ([]object, error) {
	t.Helper()
	vals := profileValues(t, p, overrides)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.APIVersions = append(chartutil.VersionSet{}, caps.APIVersions...)
	caps.APIVersions = append(caps.APIVersions, apiVersions...)
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: p.name, Namespace: p.ns, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs []object
	for _, n := range names {
		if strings.HasSuffix(n, "NOTES.txt") {
			continue
		}
		docs := releaseutil.SplitManifests(files[n])
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return manifestIndex(keys[i]) < manifestIndex(keys[j]) })
		for _, k := range keys {
			doc := docs[k]
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var m map[string]any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				return nil, fmt.Errorf("%s: not YAML: %w\n%s", n, err, doc)
			}
			if m == nil {
				continue
			}
			objs = append(objs, object{source: n, yaml: doc, obj: m})
		}
	}
	return objs, nil
}

func manifestIndex(k string) int {
	var i int
	_, _ = fmt.Sscanf(k, "manifest-%d", &i)
	return i
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// mustRender renders with every cluster API present and fails the test on error.
func mustRender(t testing.TB, p profile) []object {
	t.Helper()
	objs, err := render(t, p, nil, clusterAPIVersions)
	require.NoError(t, err, "render %s", p)
	require.NotEmpty(t, objs, "render %s", p)
	return objs
}

var moduleDirs sync.Map

// moduleDir returns the module cache folder of module@version, downloading it through
// the Go module proxy if needed: the CRDs are read from there, never copied into the repo.
func moduleDir(t testing.TB, modVersion string) string {
	t.Helper()
	if d, ok := moduleDirs.Load(modVersion); ok {
		return d.(string)
	}
	cmd := exec.Command("go", "mod", "download", "-json", modVersion)
	cmd.Dir = t.TempDir() // outside the workspace: no go.work, no go.mod to change
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "go mod download %s: %s", modVersion, errb.String())
	var info struct{ Dir, Error string }
	require.NoError(t, json.Unmarshal(out.Bytes(), &info))
	require.Empty(t, info.Error, "go mod download %s", modVersion)
	require.DirExists(t, info.Dir)
	moduleDirs.Store(modVersion, info.Dir)
	return info.Dir
}

// effectiveValues is the chart's values.yaml with the profile on top, as templates see them.
func effectiveValues(t testing.TB, p profile) map[string]any {
	t.Helper()
	ch := loadChart(t, filepath.Join(repoRoot(t), "helm", p.chart))
	vals, err := chartutil.CoalesceValues(ch, profileValues(t, p, nil))
	require.NoError(t, err)
	return vals
}
