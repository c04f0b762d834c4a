package k8s

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// endpoint is a pod (ours or a stand-in for the rest of the cluster) or an address
// outside the cluster, with the ports it listens on.
type endpoint struct {
	name   string
	ns     string // "" = outside the cluster
	labels map[string]string
	ip     string
	ports  []int32
	ours   bool
}

// evaluator applies NetworkPolicy semantics: a connection needs an egress rule of
// every... of at least one policy selecting the source (if any selects it for Egress)
// and an ingress rule of at least one policy selecting the destination (likewise).
type evaluator struct {
	policies []networkingv1.NetworkPolicy
	nsLabels func(ns string) map[string]string
}

func (e evaluator) selected(ep endpoint, typ networkingv1.PolicyType) []networkingv1.NetworkPolicy {
	var out []networkingv1.NetworkPolicy
	if ep.ns == "" {
		return nil
	}
	for _, p := range e.policies {
		if p.Namespace != ep.ns {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(ep.labels)) {
			continue
		}
		for _, t := range p.Spec.PolicyTypes {
			if t == typ {
				out = append(out, p)
			}
		}
	}
	return out
}

func (e evaluator) peerMatches(policyNS string, peer networkingv1.NetworkPolicyPeer, ep endpoint) bool {
	if peer.IPBlock != nil {
		_, cidr, err := net.ParseCIDR(peer.IPBlock.CIDR)
		if err != nil || !cidr.Contains(net.ParseIP(ep.ip)) {
			return false
		}
		for _, ex := range peer.IPBlock.Except {
			if _, c, err := net.ParseCIDR(ex); err == nil && c.Contains(net.ParseIP(ep.ip)) {
				return false
			}
		}
		return true
	}
	if ep.ns == "" {
		return false // pod and namespace selectors never match outside addresses
	}
	if peer.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if err != nil || !sel.Matches(labels.Set(e.nsLabels(ep.ns))) {
			return false
		}
	} else if ep.ns != policyNS {
		return false
	}
	if peer.PodSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
		if err != nil || !sel.Matches(labels.Set(ep.labels)) {
			return false
		}
	}
	return true
}

func portMatches(ports []networkingv1.NetworkPolicyPort, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil || (p.Port.IntValue() == int(port)) ||
			(p.EndPort != nil && int32(p.Port.IntValue()) <= port && port <= *p.EndPort) {
			return true
		}
	}
	return false
}

func (e evaluator) allowed(src, dst endpoint, port int32) bool {
	if egress := e.selected(src, networkingv1.PolicyTypeEgress); len(egress) > 0 {
		ok := false
		for _, p := range egress {
			for _, r := range p.Spec.Egress {
				if !portMatches(r.Ports, port) {
					continue
				}
				if len(r.To) == 0 {
					ok = true
				}
				for _, peer := range r.To {
					ok = ok || e.peerMatches(p.Namespace, peer, dst)
				}
			}
		}
		if !ok {
			return false
		}
	}
	if ingress := e.selected(dst, networkingv1.PolicyTypeIngress); len(ingress) > 0 {
		for _, p := range ingress {
			for _, r := range p.Spec.Ingress {
				if !portMatches(r.Ports, port) {
					continue
				}
				if len(r.From) == 0 {
					return true
				}
				for _, peer := range r.From {
					if e.peerMatches(p.Namespace, peer, src) {
						return true
					}
				}
			}
		}
		return false
	}
	return true
}

// The NetworkPolicies leave exactly the order chain open: the world reaches only the
// frontend; only the frontend's sidecar reaches the API's sidecar (the consumers report
// an order's progress through Kafka, never by invoking the API); Kafka, PostgreSQL, the
// bank and mailpit only from the apps that use them; DNS and the Dapr control plane from
// every Dapr pod; Prometheus the metrics ports. Every other connection to or from our
// pods, on every port they listen on, is closed.
func TestNetworkPoliciesOpenOnlyTheOrderChain(t *testing.T) {
	const ns = "kafka-restaurants"
	objs := append(mustRender(t, appProfiles[0]), mustRender(t, allProfiles[6])...)
	var policies []networkingv1.NetworkPolicy
	for _, o := range byKind(objs, "NetworkPolicy") {
		var np networkingv1.NetworkPolicy
		require.NoError(t, yaml.UnmarshalStrict([]byte(o.yaml), &np), o.id())
		np.Namespace = ns
		policies = append(policies, np)
	}
	require.NotEmpty(t, policies)

	// Our pods, from the rendered pod templates; ports: the app's, daprd's HTTP, gRPC,
	// internal gRPC and metrics ports on Dapr pods.
	var eps []endpoint
	ip := 10
	for id, tpl := range podTemplates(objs) {
		ep := endpoint{name: strings.SplitN(id, "/", 2)[1], ns: ns, ours: true, labels: map[string]string{}, ip: fmt.Sprintf("10.0.0.%d", ip)}
		ip++
		for k, v := range mapAt(tpl, "metadata", "labels") {
			ep.labels[k] = v.(string)
		}
		for _, c := range sliceAt(tpl, "spec", "containers") {
			for _, p := range sliceAt(c, "ports") {
				ep.ports = append(ep.ports, int32(dig(p, "containerPort").(float64)))
			}
		}
		if mapAt(tpl, "metadata", "annotations")["dapr.io/enabled"] == "true" {
			ep.ports = append(ep.ports, 3500, 50001, 50002, 9090)
		}
		eps = append(eps, ep)
	}
	eps = append(eps,
		endpoint{name: "kafka", ns: "kafka", labels: map[string]string{"strimzi.io/kind": "Kafka"}, ip: "10.1.0.1", ports: []int32{9092, 9093}},
		endpoint{name: "dapr-sentry", ns: "dapr-system", labels: map[string]string{"app": "dapr-sentry"}, ip: "10.1.0.2", ports: []int32{50001}},
		endpoint{name: "kube-dns", ns: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}, ip: "10.1.0.3", ports: []int32{53}},
		endpoint{name: "prometheus", ns: "monitoring", labels: map[string]string{"app": "prometheus"}, ip: "10.1.0.4", ports: []int32{9090}},
		endpoint{name: "intruder", ns: ns, labels: map[string]string{"app": "intruder"}, ip: "10.1.0.5", ports: []int32{8080}},
		endpoint{name: "other-ns-pod", ns: "other", labels: map[string]string{"app": "other"}, ip: "10.1.0.6", ports: []int32{8080}},
		endpoint{name: "internet", ip: "203.0.113.9", ports: []int32{443, 80}},
	)
	byName := map[string]endpoint{}
	for _, ep := range eps {
		byName[ep.name] = ep
	}
	for _, n := range []string{"frontend", "api", "transactions", "email", "catalog", "bank", "mailpit", "postgresql"} {
		require.Contains(t, byName, n, "pod %s not rendered", n)
	}

	want := map[string]bool{}
	allow := func(src, dst string, port int32) { want[fmt.Sprintf("%s -> %s:%d", src, dst, port)] = true }
	// the order chain
	for _, outsider := range []string{"internet", "intruder", "other-ns-pod", "prometheus", "kafka", "dapr-sentry", "kube-dns"} {
		allow(outsider, "frontend", 8080)
	}
	allow("frontend", "api", 50002) // service invocation, the only one
	for _, app := range []string{"api", "transactions", "email"} {
		allow(app, "kafka", 9093) // the tls listener (values.yaml)
	}
	for _, app := range []string{"api", "transactions", "email", "catalog"} {
		allow(app, "postgresql", 5432)
	}
	allow("api", "bank", 5100)
	allow("transactions", "bank", 5100)
	allow("email", "mailpit", 1025)
	// The dead-letter Jobs (templates/dlq.yaml) talk to Kafka, as the sidecars do, and DNS.
	var kafkaPort int32
	_, _ = fmt.Sscan(fmt.Sprint(dig(effectiveValues(t, appProfiles[0]), "kafka", "port")), &kafkaPort)
	for _, job := range []string{"dlq-list", "dlq-replay"} {
		allow(job, "kafka", kafkaPort)
		allow(job, "kube-dns", 53)
	}
	allow("catalog", "internet", 443) // the Kubernetes API server, by CIDR
	for _, app := range []string{"frontend", "api", "transactions", "email", "catalog"} {
		allow(app, "dapr-sentry", 50001)
		allow(app, "kube-dns", 53)
		allow("prometheus", app, 9090)
	}
	for app, port := range map[string]int32{"api": 5000, "transactions": 5001, "email": 5002, "catalog": 5003} {
		allow("prometheus", app, port)
	}

	ev := evaluator{policies: policies, nsLabels: func(n string) map[string]string {
		return map[string]string{"kubernetes.io/metadata.name": n}
	}}
	var unexpectedOpen, unexpectedClosed []string
	for _, src := range eps {
		for _, dst := range eps {
			if src.name == dst.name || (!src.ours && !dst.ours) {
				continue
			}
			for _, port := range dst.ports {
				key := fmt.Sprintf("%s -> %s:%d", src.name, dst.name, port)
				got := ev.allowed(src, dst, port)
				switch {
				case got && !want[key]:
					unexpectedOpen = append(unexpectedOpen, key)
				case !got && want[key]:
					unexpectedClosed = append(unexpectedClosed, key)
				}
			}
		}
	}
	sort.Strings(unexpectedOpen)
	sort.Strings(unexpectedClosed)
	require.Empty(t, unexpectedClosed, "connections the order chain needs are blocked")
	require.Empty(t, unexpectedOpen, "connections are open that nothing needs")

	// Said on its own, since it was open before progress became events: the consumers
	// reach no port of the API's pod, nor of any other Dapr app's.
	for _, src := range []string{"transactions", "email"} {
		for _, dst := range []string{"api", "frontend", "catalog", "transactions", "email"} {
			if src == dst {
				continue
			}
			for _, port := range byName[dst].ports {
				require.False(t, ev.allowed(byName[src], byName[dst], port), "%s reaches %s:%d", src, dst, port)
			}
		}
	}
}

// The evaluator itself: without the chart's policies everything is open, so the test
// above fails when a policy goes missing.
func TestNetworkPolicyEvaluatorDefaultsOpen(t *testing.T) {
	a := endpoint{name: "a", ns: "x", labels: map[string]string{"app": "a"}, ip: "10.0.0.1"}
	b := endpoint{name: "b", ns: "x", labels: map[string]string{"app": "b"}, ip: "10.0.0.2"}
	denyB := networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "b"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
	nsLabels := func(n string) map[string]string { return map[string]string{"kubernetes.io/metadata.name": n} }
	cases := []struct {
		name     string
		policies []networkingv1.NetworkPolicy
		want     bool
	}{
		{"no policy: open", nil, true},
		{"ingress policy without rules: closed", []networkingv1.NetworkPolicy{denyB}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, evaluator{policies: tc.policies, nsLabels: nsLabels}.allowed(a, b, 80))
		})
	}
}
