package k8s

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The dead letters' way home in a cluster (templates/dlq.yaml, docs/RELIABILITY.md): in
// every profile two suspended CronJobs, dlq-list and dlq-replay, run the dlq image with its
// command against the brokers the sidecars use, as a Job that does not restart in place,
// with no Kubernetes API token; with kafka.auth=password they sign in over TLS, verified
// against kafka.caSecret, as the dlq's own KafkaUser, whose password comes from its Secret
// and appears in no argument.
func TestDeadLetterJobs(t *testing.T) {
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			vals := effectiveValues(t, p)
			objs := mustRender(t, p)
			jobs := map[string]object{}
			for _, o := range byKind(objs, "CronJob") {
				jobs[o.name()] = o
			}
			require.Len(t, jobs, 2, "dlq-list and dlq-replay")
			auth := str(vals, "kafka", "auth") == "password"
			for cmd, o := range map[string]object{"list": jobs["dlq-list"], "replay": jobs["dlq-replay"]} {
				require.NotNil(t, o.obj, "no CronJob dlq-%s", cmd)
				assert.Equal(t, true, dig(o.obj, "spec", "suspend"), "%s runs on a schedule: only by hand (kubectl create job --from)", o.id())
				assert.Equal(t, "Forbid", str(o.obj, "spec", "concurrencyPolicy"), o.id())
				pod := mapAt(o.obj, "spec", "jobTemplate", "spec", "template")
				assert.Equal(t, "Never", str(pod, "spec", "restartPolicy"), o.id())
				assert.Equal(t, false, dig(pod, "spec", "automountServiceAccountToken"), "%s needs no Kubernetes API token", o.id())
				assert.NotContains(t, mapAt(pod, "metadata", "annotations"), "dapr.io/enabled", "%s talks to Kafka itself, without a sidecar", o.id())
				cs := sliceAt(pod, "spec", "containers")
				require.Len(t, cs, 1)
				c := cs[0].(map[string]any)
				assert.Equal(t, str(vals, "image", "registry")+"/dlq:"+str(vals, "image", "tag"), str(c, "image"))
				args := strings_(c["args"])
				require.NotEmpty(t, args)
				assert.Equal(t, cmd, args[0], o.id())
				assert.Contains(t, args, "-brokers="+str(vals, "kafka", "brokers"), "%s: the brokers the sidecars use", o.id())
				env := envOf(c)
				if !auth {
					assert.NotContains(t, strings.Join(args, " "), "-sasl", o.id())
					assert.Empty(t, env, o.id())
					continue
				}
				user := str(vals, "dlq", "kafkaUser")
				assert.Equal(t, "dlq-kafka", user, "helm/kafka-cluster's user for the dead-letter tool")
				assert.Subset(t, args, []string{"-tls-ca=/etc/kafka-ca/ca.crt", "-sasl=SCRAM-SHA-512", "-user=" + user}, o.id())
				for _, a := range args {
					assert.NotContains(t, strings.ToLower(a), "password", "%s: a password in an argument", o.id())
				}
				var ref map[string]any
				for _, e := range sliceAt(c, "env") {
					if str(e, "name") == "KAFKA_PASSWORD" {
						ref = mapAt(e, "valueFrom", "secretKeyRef")
					}
				}
				require.NotNil(t, ref, "%s: KAFKA_PASSWORD from the user's Secret", o.id())
				assert.Equal(t, user, str(ref, "name"))
				assert.Equal(t, "password", str(ref, "key"))
				mounts := sliceAt(c, "volumeMounts")
				require.Len(t, mounts, 1)
				assert.Equal(t, "/etc/kafka-ca", str(mounts[0], "mountPath"))
				vols := sliceAt(pod, "spec", "volumes")
				require.Len(t, vols, 1)
				assert.Equal(t, str(vals, "kafka", "caSecret"), str(vols[0], "secret", "secretName"), "%s: the CA the sidecars verify the brokers with", o.id())
			}
		})
	}
}

// dlq.enabled=false leaves out the Jobs, their ServiceAccount and their NetworkPolicy.
func TestDeadLetterJobsCanBeLeftOut(t *testing.T) {
	p := appProfiles[1]
	p.set = map[string]any{"dlq.enabled": false}
	for _, o := range mustRender(t, p) {
		assert.NotEqual(t, "dlq", str(o.obj, "metadata", "labels", "app.kubernetes.io/name"), "%s rendered with dlq.enabled=false", o.id())
	}
}
