package k8s

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func byKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func strings_(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// podTemplates returns the pod template of every workload, by workload id.
func podTemplates(objs []object) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		switch o.kind() {
		case "Deployment", "StatefulSet", "DaemonSet", "Job":
			if tpl, ok := dig(o.obj, "spec", "template").(map[string]any); ok {
				out[o.kind()+"/"+o.name()] = tpl
			}
		case "CronJob":
			if tpl, ok := dig(o.obj, "spec", "jobTemplate", "spec", "template").(map[string]any); ok {
				out[o.kind()+"/"+o.name()] = tpl
			}
		}
	}
	return out
}

// daprAppIDs maps each Dapr app id to the pod template annotations that declare it.
func daprAppIDs(objs []object) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, tpl := range podTemplates(objs) {
		ann, _ := dig(tpl, "metadata", "annotations").(map[string]any)
		if ann["dapr.io/enabled"] == "true" {
			out[ann["dapr.io/app-id"].(string)] = ann
		}
	}
	return out
}

func labelsMatch(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Every app id that components, subscriptions, resiliency and access control name is
// a Dapr app the chart deploys, and every app uses the chart's Configuration: a typo
// in a scope would silently hide a component from its app.
func TestDaprAppIDsMatchScopes(t *testing.T) {
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			objs := mustRender(t, p)
			apps := daprAppIDs(objs)
			require.ElementsMatch(t, []string{"frontend", "api", "transactions", "email", "catalog"}, keys(apps))

			configs := byKind(objs, "Configuration")
			require.Len(t, configs, 1)
			for id, ann := range apps {
				assert.Equal(t, configs[0].name(), ann["dapr.io/config"], "app %s", id)
				for _, a := range []string{"dapr.io/app-port", "dapr.io/app-protocol", "dapr.io/log-as-json", "dapr.io/enable-metrics",
					"dapr.io/metrics-port", "dapr.io/sidecar-cpu-limit", "dapr.io/sidecar-memory-limit",
					"dapr.io/sidecar-cpu-request", "dapr.io/sidecar-memory-request", "dapr.io/app-token-secret"} {
					assert.NotEmpty(t, ann[a], "app %s lacks %s", id, a)
				}
			}
			components := map[string]bool{}
			for _, kind := range []string{"Component", "Subscription", "Resiliency"} {
				for _, o := range byKind(objs, kind) {
					if kind == "Component" {
						components[o.name()] = true
					}
					scopes := strings_(o.obj["scopes"])
					assert.NotEmpty(t, scopes, "%s has no scopes: every app would load it", o.id())
					for _, s := range scopes {
						assert.Contains(t, apps, s, "%s is scoped to %q, which no Deployment runs", o.id(), s)
					}
				}
			}
			for _, o := range byKind(objs, "Subscription") {
				assert.True(t, components[str(o.obj, "spec", "pubsubname")], "%s names a pub/sub component that does not exist", o.id())
			}
			for _, o := range byKind(objs, "Resiliency") {
				for app := range mapAt(o.obj, "spec", "targets", "apps") {
					assert.Contains(t, apps, app, "%s targets unknown app", o.id())
				}
				for c := range mapAt(o.obj, "spec", "targets", "components") {
					assert.True(t, components[c], "%s targets unknown component %q", o.id(), c)
				}
			}
			for _, pol := range sliceAt(configs[0].obj, "spec", "accessControl", "policies") {
				assert.Contains(t, apps, str(pol, "appId"), "access control names an unknown app")
			}
			// Secrets the annotations and components name are rendered (or declared external).
			secrets := map[string]bool{}
			for _, o := range byKind(objs, "Secret") {
				secrets[o.name()] = true
			}
			external := existingTokenSecrets(effectiveValues(t, p))
			for id, ann := range apps {
				for _, a := range []string{"dapr.io/api-token-secret", "dapr.io/app-token-secret"} {
					if name, ok := ann[a].(string); ok {
						assert.True(t, secrets[name] || external[name], "app %s: %s names secret %q that nobody creates", id, a, name)
					}
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mapAt(m any, path ...string) map[string]any {
	v, _ := dig(m, path...).(map[string]any)
	return v
}

func sliceAt(m any, path ...string) []any {
	v, _ := dig(m, path...).([]any)
	return v
}

// Every Service, PodDisruptionBudget, HPA and NetworkPolicy points at pods the chart
// runs, and every named Service port exists on those pods.
func TestSelectorsMatchPods(t *testing.T) {
	profiles := append(append([]profile{}, appProfiles...), allProfiles[6:9]...) // + postgresql
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			objs := mustRender(t, p)
			tpls := podTemplates(objs)
			matching := func(sel map[string]any) []map[string]any {
				var out []map[string]any
				for _, tpl := range tpls {
					labels, _ := dig(tpl, "metadata", "labels").(map[string]any)
					if labelsMatch(sel, labels) {
						out = append(out, tpl)
					}
				}
				return out
			}
			for _, o := range byKind(objs, "Service") {
				pods := matching(mapAt(o.obj, "spec", "selector"))
				require.NotEmpty(t, pods, "%s selects no pod", o.id())
				for _, port := range sliceAt(o.obj, "spec", "ports") {
					target := dig(port, "targetPort")
					if name, ok := target.(string); ok {
						found := false
						for _, c := range sliceAt(pods[0], "spec", "containers") {
							for _, cp := range sliceAt(c, "ports") {
								found = found || str(cp, "name") == name
							}
						}
						assert.True(t, found, "%s: targetPort %q is no container port", o.id(), name)
					}
				}
			}
			for _, o := range append(byKind(objs, "PodDisruptionBudget"), byKind(objs, "NetworkPolicy")...) {
				sel := mapAt(o.obj, "spec", "selector", "matchLabels")
				if o.kind() == "NetworkPolicy" {
					sel = mapAt(o.obj, "spec", "podSelector", "matchLabels")
				}
				assert.NotEmpty(t, matching(sel), "%s selects no pod", o.id())
			}
			for _, o := range byKind(objs, "HorizontalPodAutoscaler") {
				ref := str(o.obj, "spec", "scaleTargetRef", "kind") + "/" + str(o.obj, "spec", "scaleTargetRef", "name")
				assert.Contains(t, tpls, ref, "%s scales a workload that does not exist", o.id())
			}
		})
	}
}

// Every container of every chart is locked down and sized: limits and requests,
// non-root, read-only root file system, no privilege escalation, no capabilities,
// seccomp RuntimeDefault, and both probes (the seed's readiness probe never existed).
func TestContainersAreLockedDown(t *testing.T) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			for id, tpl := range podTemplates(mustRender(t, p)) {
				pod := mapAt(tpl, "spec", "securityContext")
				inits := len(sliceAt(tpl, "spec", "containers"))
				for i, cv := range append(sliceAt(tpl, "spec", "containers"), sliceAt(tpl, "spec", "initContainers")...) {
					c := cv.(map[string]any)
					name := id + "/" + str(c, "name")
					isInit := i >= inits // init containers run to completion: Kubernetes refuses probes on them
					// A Job's container is a command that runs to completion too: no server to probe.
					runsToCompletion := isInit || strings.HasPrefix(id, "Job/") || strings.HasPrefix(id, "CronJob/")
					sc := mapAt(c, "securityContext")
					require.NotNil(t, sc, "%s has no securityContext", name)
					for _, r := range []string{"cpu", "memory"} {
						assert.NotEmpty(t, dig(c, "resources", "limits", r), "%s has no %s limit", name, r)
						assert.NotEmpty(t, dig(c, "resources", "requests", r), "%s has no %s request", name, r)
					}
					assert.Equal(t, true, firstNonNil(sc["runAsNonRoot"], pod["runAsNonRoot"]), "%s may run as root", name)
					assert.Equal(t, true, sc["readOnlyRootFilesystem"], "%s has a writable root file system", name)
					assert.Equal(t, false, sc["allowPrivilegeEscalation"], "%s allows privilege escalation", name)
					assert.Equal(t, []string{"ALL"}, strings_(dig(sc, "capabilities", "drop")), "%s keeps capabilities", name)
					assert.Empty(t, dig(sc, "capabilities", "add"), "%s adds capabilities", name)
					assert.Equal(t, "RuntimeDefault", firstNonNil(dig(sc, "seccompProfile", "type"), dig(pod, "seccompProfile", "type")), "%s has no seccomp profile", name)
					if runsToCompletion {
						assert.Nil(t, c["livenessProbe"], "%s: a container that runs to completion has no probes", name)
						continue
					}
					assert.NotNil(t, c["livenessProbe"], "%s has no liveness probe", name)
					assert.NotNil(t, c["readinessProbe"], "%s has no readiness probe", name)
				}
				ann := mapAt(tpl, "metadata", "annotations")
				if ann["dapr.io/enabled"] == "true" {
					assert.Equal(t, "RuntimeDefault", ann["dapr.io/sidecar-seccomp-profile-type"], "%s: sidecar without seccomp", id)
				}
			}
		})
	}
}

func firstNonNil(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// The catalog ConfigMap carries helm/kafka-restaurants/files/restaurants.json byte for
// byte: one catalog file, locally and in the cluster.
func TestCatalogConfigMapIsTheCatalogFile(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(repoRoot(t), "helm", "kafka-restaurants", "files", "restaurants.json"))
	require.NoError(t, err, "the canonical catalog file")
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			var found bool
			objs := mustRender(t, p)
			for _, o := range byKind(objs, "ConfigMap") {
				if data, ok := mapAt(o.obj, "data")["restaurants.json"].(string); ok {
					found = true
					require.Equal(t, string(want), data, "%s differs from the catalog file", o.id())
					// and it is the ConfigMap the catalogsource component watches
					for _, c := range byKind(objs, "Component") {
						if c.name() == "catalogsource" {
							assert.Equal(t, o.name(), componentMeta(c.obj)["configMapName"])
						}
					}
				}
			}
			require.True(t, found, "no ConfigMap carries restaurants.json")
		})
	}
}

// A chart renders no catalog rather than a wrong one when the file is missing.
func TestChartRefusesAMissingCatalog(t *testing.T) {
	ch := *loadChart(t, filepath.Join(repoRoot(t), "helm", "kafka-restaurants"))
	var files = ch.Files[:0:0]
	for _, f := range ch.Files {
		if f.Name != "files/restaurants.json" {
			files = append(files, f)
		}
	}
	ch.Files = files
	_, err := renderChart(t, &ch, appProfiles[0], nil, clusterAPIVersions)
	require.ErrorContains(t, err, "files/restaurants.json is missing")
}

func componentMeta(obj map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range sliceAt(obj, "spec", "metadata") {
		mm := m.(map[string]any)
		if ref, ok := mm["secretKeyRef"]; ok {
			out[mm["name"].(string)] = ref
			continue
		}
		out[mm["name"].(string)] = mm["value"]
	}
	return out
}

// The Dapr CRD check fails the install with a message that says what to do when the
// cluster lacks Dapr's CRDs (eShopOnDapr's failure), and can be switched off for
// offline rendering; the Kafka chart does the same for Strimzi.
func TestChartsRequireTheirCRDs(t *testing.T) {
	withoutDapr := []string{"kafka.strimzi.io/v1beta2", "monitoring.coreos.com/v1"}
	withoutStrimzi := []string{"dapr.io/v1alpha1", "dapr.io/v2alpha1"}
	cases := []struct {
		name    string
		p       profile
		apis    []string
		set     map[string]any
		wantErr string
	}{
		{"app without Dapr CRDs", appProfiles[1], withoutDapr, nil, "the Dapr CRDs (dapr.io/v1alpha1) are not installed"},
		{"app without Subscription v2alpha1", appProfiles[1], append([]string{"dapr.io/v1alpha1"}, withoutDapr...), nil, "dapr.io/v2alpha1"},
		{"app offline", appProfiles[1], withoutDapr, map[string]any{"dapr.requireCRDs": false}, ""},
		{"app with Dapr", appProfiles[1], clusterAPIVersions, nil, ""},
		{"kafka without Strimzi CRDs", allProfiles[4], withoutStrimzi, nil, "the Strimzi CRDs (kafka.strimzi.io/v1beta2) are not installed"},
		{"kafka offline", allProfiles[4], withoutStrimzi, map[string]any{"requireCRDs": false}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := render(t, tc.p, tc.set, tc.apis)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, objs)
		})
	}
}

// localDapr reads components/*.yaml, the resources the local stack runs with.
func localDapr(t *testing.T) map[string]object {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "components")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("components/ has no Dapr resources yet")
	}
	out := map[string]object{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &m), f)
		o := object{source: "components/" + filepath.Base(f), yaml: string(raw), obj: m}
		out[o.kind()+"/"+o.name()] = o
	}
	return out
}

// Metadata that is a connection detail, allowed to differ between the local stack and
// the cluster; everything else must be equal.
var connectionKeys = map[string][]string{
	"pubsub.kafka":  {"brokers", "version", "authType", "saslMechanism", "saslUsername", "saslPassword", "caCert"},
	"state":         {"connectionString", "busyTimeout", "metadataTableName"},
	"bindings.http": {"url"},
	"bindings.smtp": {"host"},
}

// The chart's Dapr resources mean the same as components/: same names, types (SQLite
// becomes PostgreSQL), topics, routes, dead-letter topics, scopes, pub/sub settings and
// resiliency policies. Only connection details differ.
func TestChartDaprResourcesMatchLocalComponents(t *testing.T) {
	local := localDapr(t)
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			chart := map[string]object{}
			for _, o := range mustRender(t, p) {
				if strings.HasPrefix(o.apiVersion(), "dapr.io/") && o.kind() != "Configuration" {
					chart[o.kind()+"/"+o.name()] = o
				}
			}
			want := keys(local)
			got := slices.DeleteFunc(keys(chart), func(k string) bool { return k == "Component/catalogsource" })
			require.Equal(t, want, got, "the chart and components/ define different Dapr resources")
			for _, k := range want {
				l, c := local[k], chart[k]
				assert.Equal(t, l.apiVersion(), c.apiVersion(), k)
				assert.ElementsMatch(t, strings_(l.obj["scopes"]), strings_(c.obj["scopes"]), "%s scopes", k)
				switch l.kind() {
				case "Component":
					lt, ct := str(l.obj, "spec", "type"), str(c.obj, "spec", "type")
					if lt == "state.sqlite" {
						lt = "state.postgresql"
					}
					assert.Equal(t, lt, ct, "%s type", k)
					assert.Equal(t, str(l.obj, "spec", "version"), str(c.obj, "spec", "version"), "%s version", k)
					group := ct
					if strings.HasPrefix(ct, "state.") {
						group = "state"
					}
					lm, cm := componentMeta(l.obj), componentMeta(c.obj)
					for _, key := range connectionKeys[group] {
						delete(lm, key)
						delete(cm, key)
					}
					assert.Equal(t, lm, cm, "%s metadata (besides connection details)", k)
				case "Subscription":
					assert.Equal(t, l.obj["spec"], c.obj["spec"], "%s spec", k)
				case "Resiliency":
					assert.Equal(t, resiliencyMeaning(t, l.obj), resiliencyMeaning(t, c.obj), "%s policies and targets", k)
				}
			}
		})
	}
}

// resiliencyMeaning decodes a Resiliency spec into the fields Dapr reads (its Go
// types), so a field Dapr ignores cannot make two equal policies look different.
func resiliencyMeaning(t *testing.T, obj map[string]any) any {
	t.Helper()
	type retry struct {
		Policy      string `json:"policy"`
		Duration    string `json:"duration"`
		MaxInterval string `json:"maxInterval"`
		MaxRetries  *int   `json:"maxRetries"`
		Matching    any    `json:"matching"`
	}
	type breaker struct {
		MaxRequests int    `json:"maxRequests"`
		Interval    string `json:"interval"`
		Timeout     string `json:"timeout"`
		Trip        string `json:"trip"`
	}
	type spec struct {
		Policies struct {
			Timeouts        map[string]string  `json:"timeouts"`
			Retries         map[string]retry   `json:"retries"`
			CircuitBreakers map[string]breaker `json:"circuitBreakers"`
		} `json:"policies"`
		Targets any `json:"targets"`
	}
	raw, err := json.Marshal(obj["spec"])
	require.NoError(t, err)
	var s spec
	require.NoError(t, json.Unmarshal(raw, &s))
	return s
}

// The local components are valid Dapr resources too: the same CRD schemas the cluster
// applies, so a field Dapr does not know (and silently drops) shows up here.
func TestLocalComponentsMatchDaprSchemas(t *testing.T) {
	for k, o := range localDapr(t) {
		t.Run(k, func(t *testing.T) {
			assert.Empty(t, validateObject(t, o), "%s", o.source)
		})
	}
}

// The rules of issue 8 (configuration lint) over the chart: oldest offset, retries
// never off, a dead-letter topic and bounded inbound retries for every subscription,
// and the topics the components allow exist as KafkaTopics with 12 partitions for the
// three event topics; the Kafka protocol version is the cluster's. Each app subscribes to
// exactly the topics of the Subscriptions scoped to it, and may publish to their
// dead-letter topics (daprd dead-letters an event as the app that failed it).
func TestPubSubRulesAndTopics(t *testing.T) {
	pairs := []struct{ app, kafka profile }{
		{appProfiles[0], allProfiles[3]},
		{appProfiles[1], allProfiles[4]},
		{appProfiles[2], allProfiles[5]},
	}
	for _, pr := range pairs {
		t.Run(pr.app.String(), func(t *testing.T) {
			app, kafka := mustRender(t, pr.app), mustRender(t, pr.kafka)
			var pubsub map[string]any
			for _, c := range byKind(app, "Component") {
				if str(c.obj, "spec", "type") == "pubsub.kafka" {
					pubsub = componentMeta(c.obj)
				}
			}
			require.NotNil(t, pubsub)
			assert.Equal(t, "oldest", pubsub["initialOffset"])
			assert.NotEqual(t, "false", pubsub["consumeRetryEnabled"], "retries off lose messages")
			kafkaCR := byKind(kafka, "Kafka")
			require.Len(t, kafkaCR, 1)
			assert.Equal(t, str(kafkaCR[0].obj, "spec", "kafka", "version"), pubsub["version"], "Dapr must speak the broker's Kafka version")
			assert.True(t, strings.HasPrefix(pubsub["brokers"].(string), fmt.Sprintf("%s-kafka-bootstrap.%s.svc", kafkaCR[0].name(), pr.kafka.ns)),
				"brokers %v is not the Strimzi bootstrap service", pubsub["brokers"])

			topics := map[string]map[string]any{}
			for _, kt := range byKind(kafka, "KafkaTopic") {
				topics[str(kt.obj, "spec", "topicName")] = mapAt(kt.obj, "spec")
			}
			for _, topic := range strings.Split(pubsub["allowedTopics"].(string), ",") {
				assert.Contains(t, topics, topic, "topic %s has no KafkaTopic", topic)
			}
			for _, topic := range []string{"order", "order_confirm", "order_notified"} {
				assert.EqualValues(t, 12, topics[topic]["partitions"], topic)
			}
			pub := parseScopes(pubsub["publishingScopes"].(string))
			sub := parseScopes(pubsub["subscriptionScopes"].(string))
			subscribed := map[string][]string{}
			for _, s := range byKind(app, "Subscription") {
				dlq := str(s.obj, "spec", "deadLetterTopic")
				assert.NotEmpty(t, dlq, "%s has no dead-letter topic", s.id())
				assert.Contains(t, topics, dlq)
				assert.NotEmpty(t, dig(topics[dlq], "config", "retention.ms"), "%s: dead-letter topic without retention", s.id())
				for _, id := range strings_(s.obj["scopes"]) {
					subscribed[id] = append(subscribed[id], str(s.obj, "spec", "topic"))
					assert.Contains(t, pub[id], dlq, "%s: app %s may not publish its dead letters", s.id(), id)
				}
			}
			for id, want := range sub {
				assert.ElementsMatch(t, want, subscribed[id], "app %s: subscriptionScopes and its Subscriptions differ", id)
			}
			for id := range subscribed {
				assert.Contains(t, sub, id, "app %s subscribes without a subscription scope", id)
			}
			res := byKind(app, "Resiliency")
			require.Len(t, res, 1)
			policy := str(res[0].obj, "spec", "targets", "components", "pubsub", "inbound", "retry")
			require.NotEmpty(t, policy, "no inbound retry policy: a subscription with a dead-letter topic would dead-letter at once")
			maxRetries, ok := dig(res[0].obj, "spec", "policies", "retries", policy, "maxRetries").(float64)
			require.True(t, ok, "inbound retries must be bounded")
			assert.Greater(t, maxRetries, 0.0)
		})
	}
}

// The app chart reads its PostgreSQL connection string from the Secret the PostgreSQL
// chart writes, under the same key.
func TestPostgresSecretIsShared(t *testing.T) {
	for i, p := range appProfiles {
		pg := allProfiles[6+i]
		t.Run(p.String(), func(t *testing.T) {
			vals := effectiveValues(t, p)
			pgVals := effectiveValues(t, pg)
			name := str(vals, "postgresql", "secretName")
			var secrets []string
			for _, s := range byKind(mustRender(t, pg), "Secret") {
				secrets = append(secrets, s.name())
				assert.Contains(t, mapAt(s.obj, "data"), "connectionString")
			}
			if ext := str(pgVals, "existingSecret"); ext != "" {
				secrets = append(secrets, ext)
			}
			assert.Contains(t, secrets, name)
			for _, c := range byKind(mustRender(t, p), "Component") {
				if strings.HasPrefix(str(c.obj, "spec", "type"), "state.") {
					ref, _ := componentMeta(c.obj)["connectionString"].(map[string]any)
					require.NotNil(t, ref, "%s: connection string not from a Secret", c.id())
					assert.Equal(t, name, ref["name"])
					assert.Equal(t, "connectionString", ref["key"])
				}
			}
		})
	}
}

// The app-of-apps installs operators first, then Kafka and PostgreSQL, then the app;
// every child points at a chart and values file that exist in this repository.
func TestArgoCDAppOfApps(t *testing.T) {
	objs := mustRender(t, allProfiles[9])
	waves := map[string]string{}
	for _, o := range byKind(objs, "Application") {
		waves[o.name()] = str(o.obj, "metadata", "annotations", "argocd.argoproj.io/sync-wave")
		if path := str(o.obj, "spec", "source", "path"); path != "" {
			require.FileExists(t, filepath.Join(repoRoot(t), path, "Chart.yaml"), o.id())
			for _, vf := range strings_(dig(o.obj, "spec", "source", "helm", "valueFiles")) {
				assert.FileExists(t, filepath.Join(repoRoot(t), path, vf), o.id())
			}
		}
	}
	require.Equal(t, map[string]string{
		"strimzi-operator": "0", "dapr": "0",
		"kafka-cluster": "1", "postgresql": "1",
		"kafka-restaurants": "2",
	}, waves)

	root := byKind(mustRender(t, allProfiles[10]), "Application")
	require.Len(t, root, 1, "bootstrap renders only the root")
	assert.Equal(t, "helm/argocd", str(root[0].obj, "spec", "source", "path"))
	assert.Equal(t, false, dig(root[0].obj, "spec", "source", "helm", "valuesObject", "bootstrap"))

	// Strimzi's operator (wave 0) watches the app namespace, which the chart itself makes
	// before it (wave -1): the wave-1 Applications' CreateNamespace would come too late.
	ns := byKind(objs, "Namespace")
	require.Len(t, ns, 1)
	assert.Equal(t, "kafka-restaurants", ns[0].name())
	assert.Equal(t, "-1", str(ns[0].obj, "metadata", "annotations", "argocd.argoproj.io/sync-wave"))
	for _, o := range byKind(objs, "Application") {
		if o.name() == "strimzi-operator" {
			assert.Equal(t, []any{"kafka-restaurants"}, dig(o.obj, "spec", "source", "helm", "valuesObject", "watchNamespaces"))
		}
	}
}

// values.<child> of helm/argocd reach that child's Helm values, over its defaults, and the
// root passes them (and the chart mirrors) on to the children it renders: how the local
// cluster points Argo CD at its own images and chart copies (tools/k8s/deploy.sh).
func TestArgoCDChildValues(t *testing.T) {
	p := allProfiles[9]
	objs, err := render(t, p, map[string]any{
		"dapr":   map[string]any{"repoURL": "http://mirror.example/charts"},
		"values": map[string]any{"dapr": map[string]any{"global": map[string]any{"registry": "r.example/dapr"}}, "kafkaRestaurants": map[string]any{"image": map[string]any{"tag": "0.9.0"}}},
	}, nil)
	require.NoError(t, err)
	apps := map[string]object{}
	for _, o := range byKind(objs, "Application") {
		apps[o.name()] = o
	}
	assert.Equal(t, "http://mirror.example/charts", str(apps["dapr"].obj, "spec", "source", "repoURL"))
	assert.Equal(t, "r.example/dapr", dig(apps["dapr"].obj, "spec", "source", "helm", "valuesObject", "global", "registry"))
	assert.Equal(t, true, dig(apps["dapr"].obj, "spec", "source", "helm", "valuesObject", "global", "logAsJson"), "the chart's own defaults stay")
	assert.Equal(t, "0.9.0", dig(apps["kafka-restaurants"].obj, "spec", "source", "helm", "valuesObject", "image", "tag"))
	assert.Nil(t, dig(apps["postgresql"].obj, "spec", "source", "helm", "valuesObject"), "no values given, none passed")

	boot, err := render(t, allProfiles[10], map[string]any{
		"values": map[string]any{"postgresql": map[string]any{"image": map[string]any{"tag": "x"}}},
	}, nil)
	require.NoError(t, err)
	root := byKind(boot, "Application")
	require.Len(t, root, 1)
	assert.Equal(t, "x", dig(root[0].obj, "spec", "source", "helm", "valuesObject", "values", "postgresql", "image", "tag"))
}

// The catalog loader's ServiceAccount, and only it, may read the catalog ConfigMap
// (the catalogsource component watches it); nothing in the chart grants more.
func TestOnlyTheCatalogReadsItsConfigMap(t *testing.T) {
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			objs := mustRender(t, p)
			var catalogSA, configMap string
			for _, tpl := range podTemplates(objs) {
				if mapAt(tpl, "metadata", "annotations")["dapr.io/app-id"] == "catalog" {
					catalogSA = str(tpl, "spec", "serviceAccountName")
				}
			}
			for _, c := range byKind(objs, "Component") {
				if c.name() == "catalogsource" {
					configMap, _ = componentMeta(c.obj)["configMapName"].(string)
				}
			}
			require.NotEmpty(t, catalogSA)
			require.NotEmpty(t, configMap)
			require.Empty(t, byKind(objs, "ClusterRole"))
			require.Empty(t, byKind(objs, "ClusterRoleBinding"))
			roles := map[string]object{}
			for _, r := range byKind(objs, "Role") {
				roles[r.name()] = r
			}
			bindings := byKind(objs, "RoleBinding")
			require.Len(t, bindings, 1)
			b := bindings[0]
			subjects := sliceAt(b.obj, "subjects")
			require.Len(t, subjects, 1)
			assert.Equal(t, "ServiceAccount", str(subjects[0], "kind"))
			assert.Equal(t, catalogSA, str(subjects[0], "name"))
			role, ok := roles[str(b.obj, "roleRef", "name")]
			require.True(t, ok, "RoleBinding refers to a Role the chart does not create")
			rules := sliceAt(role.obj, "rules")
			require.Len(t, rules, 1)
			assert.Equal(t, []string{"configmaps"}, strings_(dig(rules[0], "resources")))
			assert.Equal(t, []string{configMap}, strings_(dig(rules[0], "resourceNames")))
			assert.ElementsMatch(t, []string{"get", "list", "watch"}, strings_(dig(rules[0], "verbs")))
		})
	}
}

// With the dashboard switch on, every JSON file under files/dashboards reaches Grafana
// unchanged in a labelled ConfigMap, and each is a valid dashboard document.
func TestGrafanaDashboardsShip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "helm", "kafka-restaurants", "files", "dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	p := appProfiles[2] // production turns dashboards on
	var data map[string]any
	for _, o := range byKind(mustRender(t, p), "ConfigMap") {
		if mapAt(o.obj, "metadata", "labels")["grafana_dashboard"] == "1" {
			data = mapAt(o.obj, "data")
		}
	}
	require.NotNil(t, data, "no dashboard ConfigMap in %s", p)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Equal(t, string(raw), data[filepath.Base(f)], f)
		var dash struct {
			Title  string `json:"title"`
			UID    string `json:"uid"`
			Panels []any  `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(raw, &dash), f)
		assert.NotEmpty(t, dash.Title)
		assert.NotEmpty(t, dash.UID)
		assert.NotEmpty(t, dash.Panels)
	}
}

// The catalog loader is told to read the `catalogsource` store under the ConfigMap's
// key (without a source it refuses to start), and every app listens on the pod
// address at its Dapr app port (locally the apps bind 127.0.0.1 only).
func TestAppsAreWiredToTheirSources(t *testing.T) {
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			objs := mustRender(t, p)
			for _, tpl := range podTemplates(objs) {
				ann := mapAt(tpl, "metadata", "annotations")
				app, _ := ann["dapr.io/app-id"].(string)
				if app == "" || app == "frontend" {
					continue
				}
				env := map[string]string{}
				for _, e := range sliceAt(sliceAt(tpl, "spec", "containers")[0], "env") {
					env[str(e, "name")] = str(e, "value")
				}
				assert.Equal(t, ":"+ann["dapr.io/app-port"].(string), env[strings.ToUpper(app)+"_ADDR"], "app %s listen address", app)
				if app == "catalog" {
					require.Equal(t, "catalogsource", env["CATALOG_CONFIG_STORE"])
					found := false
					for _, cm := range byKind(objs, "ConfigMap") {
						_, ok := mapAt(cm.obj, "data")[env["CATALOG_CONFIG_KEY"]]
						found = found || ok
					}
					assert.True(t, found, "no ConfigMap has key %q", env["CATALOG_CONFIG_KEY"])
				}
			}
		})
	}
}

// Each broker advertises its own stable pod address on the plain listener, one per
// node of the pool, so clients in the cluster reach partition leaders directly. The tls
// listener keeps Strimzi's own per-pod addresses: the ones its broker certificates name.
func TestKafkaAdvertisesEveryBroker(t *testing.T) {
	for _, p := range allProfiles[3:6] {
		t.Run(p.String(), func(t *testing.T) {
			objs := mustRender(t, p)
			kafka, pools := byKind(objs, "Kafka"), byKind(objs, "KafkaNodePool")
			require.Len(t, kafka, 1)
			require.Len(t, pools, 1)
			assert.Equal(t, kafka[0].name(), mapAt(pools[0].obj, "metadata", "labels")["strimzi.io/cluster"])
			assert.ElementsMatch(t, []string{"controller", "broker"}, strings_(dig(pools[0].obj, "spec", "roles")), "KRaft: the pool must hold the controllers")
			replicas := int(dig(pools[0].obj, "spec", "replicas").(float64))
			var plain map[string]any
			for _, l := range sliceAt(kafka[0].obj, "spec", "kafka", "listeners") {
				if str(l, "name") == "plain" {
					plain = l.(map[string]any)
				}
				if str(l, "name") == "tls" {
					assert.Nil(t, dig(l, "configuration", "brokers"), "tls listener: an advertised host its certificate may not name")
				}
			}
			if plain == nil {
				return // TLS only (values.yaml, values-production.yaml)
			}
			assert.EqualValues(t, 9092, plain["port"])
			brokers := sliceAt(plain, "configuration", "brokers")
			require.Len(t, brokers, replicas)
			for i, b := range brokers {
				assert.EqualValues(t, i, dig(b, "broker"))
				assert.Equal(t, fmt.Sprintf("%s-%s-%d.%s-kafka-brokers.%s.svc.cluster.local", kafka[0].name(), pools[0].name(), i, kafka[0].name(), p.ns), str(b, "advertisedHost"))
			}
		})
	}
}

// The chart's Configuration is the local dapr/config.yaml plus what only the cluster
// has (OTLP export, access control): same name, metrics on, same features, and on
// minikube the same sampling. The local file is itself a valid Configuration.
func TestChartConfigurationMatchesLocal(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "dapr", "config.yaml"))
	if os.IsNotExist(err) {
		t.Skip("dapr/config.yaml not written yet")
	}
	require.NoError(t, err)
	var local map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &local))
	require.Empty(t, validateObject(t, object{source: "dapr/config.yaml", yaml: string(raw), obj: local}))
	configs := byKind(mustRender(t, appProfiles[1]), "Configuration")
	require.Len(t, configs, 1)
	chart := configs[0].obj
	assert.Equal(t, str(local, "metadata", "name"), str(chart, "metadata", "name"))
	assert.Equal(t, dig(local, "spec", "metrics"), dig(chart, "spec", "metrics"), "the same metrics settings, route labels included")
	assert.Equal(t, true, dig(chart, "spec", "metrics", "enabled"))
	assert.Equal(t, str(local, "spec", "tracing", "samplingRate"), str(chart, "spec", "tracing", "samplingRate"))
	assert.ElementsMatch(t, sliceAt(local, "spec", "features"), sliceAt(chart, "spec", "features"))
	assert.Equal(t, "deny", str(chart, "spec", "accessControl", "defaultAction"))
}

// servedPaths reads the literal GET routes an app's source registers (its own routes.go
// and, when it mounts the kit's router, the kit's /healthz and /readyz).
func servedPaths(t *testing.T, app string) map[string]bool {
	t.Helper()
	get := regexp.MustCompile(`\.Get\("(/[^"]*)"`)
	out := map[string]bool{}
	dirs := []string{filepath.Join(repoRoot(t), "apps", app)}
	src, _ := filepath.Glob(filepath.Join(dirs[0], "*.go"))
	for _, f := range src {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if strings.Contains(string(b), "service.NewRouter(") {
			dirs = append(dirs, filepath.Join(repoRoot(t), "apps", "kit", "service"))
			break
		}
	}
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range get.FindAllStringSubmatch(string(b), -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}

// Every HTTP probe of one of our Go services asks for a route that service serves: the
// bank's readiness probe once asked for /readyz, which it did not serve, so the bank
// Service never had endpoints and every order answered 503 on a first deploy.
func TestProbesAskForServedRoutes(t *testing.T) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			checked := 0
			for id, tpl := range podTemplates(mustRender(t, p)) {
				for _, cv := range sliceAt(tpl, "spec", "containers") {
					c := cv.(map[string]any)
					app := str(c, "name")
					if _, err := os.Stat(filepath.Join(repoRoot(t), "apps", app, "go.mod")); err != nil {
						continue
					}
					served := servedPaths(t, app)
					for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
						if path := str(c, probe, "httpGet", "path"); path != "" {
							checked++
							assert.True(t, served[path], "%s: %s asks for %s, which %s does not serve (it serves %v)", id, probe, path, app, keys(served))
						}
					}
				}
			}
			if p.chart == "kafka-restaurants" {
				assert.NotZero(t, checked, "no probe of a Go service found")
			}
		})
	}
}

// The cluster test's stand-in for Strimzi (tools/k8s/charts/strimzi-kafka-operator) seeds
// its broker with exactly the chart's KafkaTopics, each with its partitions: the charts
// run in tests/cluster against the topics they declare.
func TestKafkaStandInHasTheChartsTopics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "tools", "k8s", "charts", "strimzi-kafka-operator", "values.yaml"))
	require.NoError(t, err)
	var vals struct {
		Topics string `json:"topics"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &vals))
	standIn := map[string]string{}
	for _, tp := range strings.Split(vals.Topics, ",") {
		name, partitions, _ := strings.Cut(strings.TrimSpace(tp), ":")
		standIn[name] = partitions
	}
	chart := map[string]string{}
	for _, kt := range byKind(mustRender(t, allProfiles[4]), "KafkaTopic") {
		chart[str(kt.obj, "spec", "topicName")] = fmt.Sprint(dig(kt.obj, "spec", "partitions"))
	}
	assert.Equal(t, chart, standIn, "topic:partitions of the stand-in broker and of helm/kafka-cluster (minikube)")
}
