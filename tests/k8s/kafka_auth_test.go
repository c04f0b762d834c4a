package k8s

import (
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
)

// The secured Kafka profiles: values.yaml (the production-shaped baseline) and
// values-production.yaml of both charts, each paired as they are installed together.
var securedKafkaPairs = []struct{ app, kafka profile }{
	{appProfiles[0], allProfiles[3]},
	{appProfiles[2], allProfiles[5]},
}

// Production Kafka is reached only with TLS and credentials (issue 14): every listener is
// TLS with SCRAM-SHA-512 or client certificates, ACLs are enforced (simple authorization),
// and the User Operator watches the namespace the KafkaUsers are rendered into. Every
// object of the profile, KafkaUsers included, validates against the Strimzi CRD schemas
// the cluster test applies (testdata/strimzi-crds.yaml). The minikube profile is plaintext
// and says so.
func TestKafkaListenersNeedTLSAndCredentials(t *testing.T) {
	for _, pr := range securedKafkaPairs {
		t.Run(pr.kafka.String(), func(t *testing.T) {
			objs := mustRender(t, pr.kafka)
			for _, o := range objs {
				require.Empty(t, validateObject(t, o), "%s", o.id())
			}
			kafka := byKind(objs, "Kafka")
			require.Len(t, kafka, 1)
			listeners := sliceAt(kafka[0].obj, "spec", "kafka", "listeners")
			require.NotEmpty(t, listeners)
			for _, l := range listeners {
				name := str(l, "name")
				assert.Equal(t, true, dig(l, "tls"), "listener %s without TLS", name)
				assert.Contains(t, []string{"scram-sha-512", "tls"}, str(l, "authentication", "type"), "listener %s without authentication", name)
			}
			assert.Equal(t, "simple", str(kafka[0].obj, "spec", "kafka", "authorization", "type"), "ACLs are not enforced")
			for _, l := range listeners {
				if str(l, "name") == "tls" {
					// Strimzi's NetworkPolicy for a listener without peers lets every pod in.
					assert.Equal(t, []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": pr.app.ns}}}},
						dig(l, "networkPolicyPeers"), "the apps' listener must be reachable from the apps' namespace only")
				}
			}

			users := byKind(objs, "KafkaUser")
			require.NotEmpty(t, users)
			watched := str(kafka[0].obj, "spec", "entityOperator", "userOperator", "watchedNamespace")
			for _, u := range users {
				ns := str(u.obj, "metadata", "namespace")
				assert.Equal(t, watched, ns, "%s: the User Operator does not watch its namespace, so it is never created", u.id())
				assert.Equal(t, pr.app.ns, ns, "%s: its Secret must be where the apps' pods read it", u.id())
				assert.Equal(t, kafka[0].name(), mapAt(u.obj, "metadata", "labels")["strimzi.io/cluster"], u.id())
				assert.Equal(t, "scram-sha-512", str(u.obj, "spec", "authentication", "type"), u.id())
				assert.Equal(t, "simple", str(u.obj, "spec", "authorization", "type"), u.id())
			}
		})
	}

	t.Run("minikube is plaintext and says so", func(t *testing.T) {
		objs := mustRender(t, allProfiles[4])
		kafka := byKind(objs, "Kafka")
		require.Len(t, kafka, 1)
		for _, l := range sliceAt(kafka[0].obj, "spec", "kafka", "listeners") {
			assert.Equal(t, false, dig(l, "tls"), str(l, "name"))
		}
		assert.Empty(t, byKind(objs, "KafkaUser"))
		for _, f := range []string{"helm/kafka-cluster/values-minikube.yaml", "helm/kafka-restaurants/values-minikube.yaml"} {
			raw, err := os.ReadFile(filepath.Join(repoRoot(t), f))
			require.NoError(t, err)
			assert.Contains(t, string(raw), "PLAINTEXT", "%s must say that it is plaintext", f)
		}
	})
}

// kafkaACL is one (resource, operation) a KafkaUser is allowed.
type kafkaACL struct{ kind, name, op string }

func userACLs(t *testing.T, u object) []kafkaACL {
	t.Helper()
	var out []kafkaACL
	for _, a := range sliceAt(u.obj, "spec", "authorization", "acls") {
		require.Contains(t, []string{"", "allow"}, str(a, "type"), "%s: only allow rules", u.id())
		require.Equal(t, "literal", str(a, "resource", "patternType"), "%s: no prefix rules", u.id())
		require.NotEqual(t, "*", str(a, "resource", "name"), "%s: no wildcard", u.id())
		for _, op := range strings_(dig(a, "operations")) {
			out = append(out, kafkaACL{str(a, "resource", "type"), str(a, "resource", "name"), op})
		}
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// wantACLs is least privilege for a client that writes `produce`, reads `consume` and
// commits offsets in `groups`: nothing on the cluster, no other topic or group.
func wantACLs(produce, consume, groups []string) []kafkaACL {
	var out []kafkaACL
	for _, tp := range produce {
		out = append(out, kafkaACL{"topic", tp, "Write"}, kafkaACL{"topic", tp, "Describe"})
	}
	for _, tp := range consume {
		out = append(out, kafkaACL{"topic", tp, "Read"}, kafkaACL{"topic", tp, "Describe"})
	}
	for _, g := range groups {
		out = append(out, kafkaACL{"group", g, "Read"}, kafkaACL{"group", g, "Describe"})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// deadLetterTopics maps each dead-letter topic of the chart's Subscriptions to the topic
// its events come from.
func deadLetterTopics(t *testing.T, app []object) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range byKind(app, "Subscription") {
		dead, source := str(s.obj, "spec", "deadLetterTopic"), str(s.obj, "spec", "topic")
		require.NotEmpty(t, dead, s.id())
		if prev, ok := out[dead]; ok {
			require.Equal(t, prev, source, "%s: one dead-letter topic for two topics cannot be replayed", s.id())
		}
		out[dead] = source
	}
	return out
}

// The dead-letter tool (tools/cmd/dlq, the chart's dlq-list and dlq-replay Jobs) lists
// and replays every dead-letter topic of the chart's Subscriptions, each onto its own
// source topic: a dead-letter topic it does not know would keep its orders stranded.
func TestDeadLetterToolKnowsEveryDeadLetterTopic(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "tools", "cmd", "dlq", "main.go"))
	require.NoError(t, err)
	m := regexp.MustCompile(`dlqTopics\s*=\s*map\[string\]string\{([^}]*)\}`).FindSubmatch(raw)
	require.NotNil(t, m, "tools/cmd/dlq maps its dead-letter topics (dlqTopics)")
	tool := map[string]string{}
	for _, kv := range regexp.MustCompile(`"([^"]+)"\s*:\s*"([^"]+)"`).FindAllSubmatch(m[1], -1) {
		tool[string(kv[1])] = string(kv[2])
	}
	for _, p := range appProfiles {
		assert.Equal(t, deadLetterTopics(t, mustRender(t, p)), tool, "%s: the chart's dead-letter topics and tools/cmd/dlq's", p)
	}
}

// parseScopes reads a pubsub.kafka publishingScopes/subscriptionScopes value.
func parseScopes(v string) map[string][]string {
	out := map[string][]string{}
	for _, part := range strings.Split(v, ";") {
		app, topics, _ := strings.Cut(part, "=")
		out[app] = nil
		for _, tp := range strings.Split(topics, ",") {
			if tp != "" {
				out[app] = append(out[app], tp)
			}
		}
	}
	return out
}

// Each app signs in as its own KafkaUser, whose ACLs allow exactly what the pubsub
// component's scopes let the app do (publish: Write; subscribe: Read and its consumer
// group, the app id) and nothing else; the dead-letter tool may read the dead-letter
// topics, write their source topics and use its replay group. The component takes the
// credentials from each sidecar's environment, which the app's own pod fills from its
// own user's Secret, and speaks to the TLS listener's port.
func TestKafkaUsersAllowOnlyWhatEachAppNeeds(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "tools", "cmd", "dlq", "main.go"))
	require.NoError(t, err)
	m := regexp.MustCompile(`replayGroup\s*=\s*"([^"]+)"`).FindSubmatch(raw)
	require.NotNil(t, m, "tools/cmd/dlq names its consumer group")
	replayGroup := string(m[1])

	for _, pr := range securedKafkaPairs {
		t.Run(pr.app.String(), func(t *testing.T) {
			app, kafka := mustRender(t, pr.app), mustRender(t, pr.kafka)
			users := map[string]object{}
			for _, u := range byKind(kafka, "KafkaUser") {
				users[u.name()] = u
			}
			var pubsub object
			for _, c := range byKind(app, "Component") {
				if str(c.obj, "spec", "type") == "pubsub.kafka" {
					pubsub = c
				}
			}
			require.NotNil(t, pubsub.obj)
			meta := map[string]map[string]any{}
			for _, item := range sliceAt(pubsub.obj, "spec", "metadata") {
				meta[str(item, "name")] = item.(map[string]any)
			}
			assert.Equal(t, "password", meta["authType"]["value"])
			assert.Equal(t, "SHA-512", meta["saslMechanism"]["value"])
			assert.Equal(t, "{appID}-kafka", meta["saslUsername"]["value"])
			assert.Equal(t, "KAFKA_SASL_PASSWORD", meta["saslPassword"]["envRef"])
			assert.Equal(t, "KAFKA_CA_CERT", meta["caCert"]["envRef"])
			assert.NotContains(t, meta, "skipVerify")
			assert.NotContains(t, meta, "disableTls")

			var tlsPort any
			for _, l := range sliceAt(byKind(kafka, "Kafka")[0].obj, "spec", "kafka", "listeners") {
				if str(l, "name") == "tls" {
					tlsPort = dig(l, "port")
				}
			}
			require.NotNil(t, tlsPort)
			for _, b := range strings.Split(meta["brokers"]["value"].(string), ",") {
				assert.True(t, strings.HasSuffix(b, fmt.Sprintf(":%v", tlsPort)), "broker %s is not the tls listener", b)
			}
			assert.EqualValues(t, tlsPort, dig(effectiveValues(t, pr.app), "kafka", "port"), "NetworkPolicy egress must open the tls listener's port")

			pub := parseScopes(meta["publishingScopes"]["value"].(string))
			sub := parseScopes(meta["subscriptionScopes"]["value"].(string))
			scoped := strings_(pubsub.obj["scopes"])
			ids := daprAppIDs(app)
			for _, id := range scoped {
				u, ok := users[id+"-kafka"]
				require.True(t, ok, "app %s has no KafkaUser %s-kafka", id, id)
				var groups []string
				if len(sub[id]) > 0 {
					groups = []string{id} // Dapr's consumer group is the app id
				}
				assert.Equal(t, wantACLs(pub[id], sub[id], groups), userACLs(t, u), "%s: exactly what app %s's scopes allow", u.id(), id)
				require.Contains(t, ids, id)
				assert.Equal(t, fmt.Sprintf("KAFKA_SASL_PASSWORD=%s-kafka:password,KAFKA_CA_CERT=%s:ca.crt", id, dig(effectiveValues(t, pr.app), "kafka", "caSecret")),
					ids[id]["dapr.io/env-from-secret"], "app %s's sidecar must get its own user's password and the cluster CA", id)
				delete(users, id+"-kafka")
			}
			for id, ann := range ids {
				if !slices.Contains(scoped, id) {
					assert.NotContains(t, ann, "dapr.io/env-from-secret", "app %s does not use Kafka: no credentials", id)
				}
			}
			dlq, ok := users["dlq-kafka"]
			require.True(t, ok, "no KafkaUser for the dead-letter tool")
			// It reads every Subscription's dead-letter topic and writes its source topic.
			var sources, letters []string
			for dead, source := range deadLetterTopics(t, app) {
				sources, letters = append(sources, source), append(letters, dead)
			}
			assert.Equal(t, wantACLs(sources, letters, []string{replayGroup}), userACLs(t, dlq))
			delete(users, "dlq-kafka")
			assert.Empty(t, users, "KafkaUsers nobody uses")
		})
	}
}
