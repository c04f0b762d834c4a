//go:build cluster || argocd

package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// Namespaces of the system (docs/KUBERNETES.md).
const (
	appNS   = "kafka-restaurants"
	kafkaNS = "kafka"
	daprNS  = "dapr-system"
)

// kubectl runs the cluster's kubectl (the one `make k8s-tools` built) and returns stdout.
func kubectl(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := kubectlErr(args...)
	require.NoError(t, err, "kubectl %s", strings.Join(args, " "))
	return out
}

func kubectlErr(args ...string) ([]byte, error) {
	bin := filepath.Join(repoRoot(), ".tools", "bin", "kubectl")
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd)) // tests/cluster → repository root
}

// pod is what the tests read of a Pod.
type pod struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		UID         string            `json:"uid"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Name string `json:"name"`
		} `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase             string `json:"phase"`
		PodIP             string `json:"podIP"`
		ContainerStatuses []struct {
			Name         string `json:"name"`
			Ready        bool   `json:"ready"`
			RestartCount int    `json:"restartCount"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func (p pod) ready() bool {
	if p.Status.Phase != "Running" || len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, c := range p.Status.ContainerStatuses {
		if !c.Ready {
			return false
		}
	}
	return true
}

func (p pod) restarts() int {
	n := 0
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

func (p pod) app() string { return p.Metadata.Labels["app.kubernetes.io/name"] }

func pods(t testing.TB, ns string, selector ...string) []pod {
	t.Helper()
	args := []string{"-n", ns, "get", "pods", "-o", "json"}
	if len(selector) > 0 {
		args = append(args, "-l", strings.Join(selector, ","))
	}
	var list struct {
		Items []pod `json:"items"`
	}
	require.NoError(t, json.Unmarshal(kubectl(t, args...), &list))
	return list.Items
}

// serviceURL is http://<ClusterIP>:<port> of a Service: the node reaches ClusterIPs
// through kube-proxy, as a pod would.
func serviceURL(t testing.TB, ns, name, port string) string {
	t.Helper()
	ip := strings.TrimSpace(string(kubectl(t, "-n", ns, "get", "svc", name, "-o", "jsonpath={.spec.clusterIP}")))
	require.NotEmpty(t, ip, "service %s/%s has no ClusterIP", ns, name)
	if port == "" {
		port = strings.TrimSpace(string(kubectl(t, "-n", ns, "get", "svc", name, "-o", "jsonpath={.spec.ports[0].port}")))
	}
	return "http://" + ip + ":" + port
}

// System is the deployed system as the tests reach it.
type System struct {
	Web  string // the frontend Service
	Mail *stack.Mailpit
	Bank *stack.Bank
}

func system(t testing.TB) System {
	t.Helper()
	return System{
		Web:  serviceURL(t, appNS, "frontend", ""),
		Mail: &stack.Mailpit{URL: serviceURL(t, appNS, "mailpit", "8025")},
		Bank: &stack.Bank{URL: serviceURL(t, appNS, "bank", "")},
	}
}

// waitPodsReady waits until every pod of ns is Ready.
func waitPodsReady(t testing.TB, ns string, timeout time.Duration) {
	t.Helper()
	stack.Eventually(t, timeout, "every pod of "+ns+" Ready", func() bool {
		ps := pods(t, ns)
		for _, p := range ps {
			if !p.ready() {
				return false
			}
		}
		return len(ps) > 0
	})
}

// podUIDs maps each app pod to its UID and restart count.
func podUIDs(t testing.TB) map[string]string {
	out := map[string]string{}
	for _, p := range pods(t, appNS) {
		out[p.Metadata.Name] = fmt.Sprintf("%s/%d", p.Metadata.UID, p.restarts())
	}
	return out
}
