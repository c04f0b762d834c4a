// Package kafkatls proves the production Kafka settings on real parts: the project's broker
// (tools/cmd/broker) serving TLS and requiring SCRAM-SHA-512 with the exact KafkaUsers and
// ACLs helm/kafka-cluster renders for production, and real daprd sidecars loading the
// pubsub component and Subscription helm/kafka-restaurants renders for production (only the
// broker address changed), each with its own credentials in its environment, as
// dapr.io/env-from-secret gives them in the cluster. A client without TLS, without
// credentials, with a wrong password or beyond its ACLs is refused.
package kafkatls

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"sigs.k8s.io/yaml"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

func TestProductionPubSubOnTLSAndSCRAM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and two daprd; skipped with -short")
	}
	root := stack.Root(t)
	daprd := filepath.Join(root, ".tools", "bin", "daprd")
	helm := filepath.Join(root, ".tools", "bin", "helm")
	for _, bin := range []string{daprd, helm} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s is missing: run `make tools` (make test does)", bin)
		}
	}
	dir := t.TempDir()

	// The broker, built from this checkout, with a certificate from a CA of our own and the
	// production KafkaUsers, each with a fresh password.
	broker := filepath.Join(dir, "broker")
	build := exec.Command("go", "build", "-o", broker, "./tools/cmd/broker")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build the broker: %s", out)
	caPEM, certFile, keyFile := certificates(t, dir)
	passwords := map[string]string{}
	var users []map[string]any
	for _, u := range renderDocs(t, helm, root, "kafka-cluster", "-n", "kafka", "--set", "requireCRDs=false", "--show-only", "templates/users.yaml") {
		name := dig(u, "metadata", "name").(string)
		passwords[name] = secret(t)
		users = append(users, map[string]any{"name": name, "password": passwords[name], "acls": dig(u, "spec", "authorization", "acls")})
	}
	require.Contains(t, passwords, "api-kafka")
	require.Contains(t, passwords, "transactions-kafka")
	usersFile := filepath.Join(dir, "users.json")
	raw, err := json.Marshal(users)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(usersFile, raw, 0o600))
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start(t, dir, "broker", nil, broker, "-port", fmt.Sprint(port), "-tls-cert", certFile, "-tls-key", keyFile, "-users", usersFile)
	caPool := x509.NewCertPool()
	require.True(t, caPool.AppendCertsFromPEM(caPEM))
	tlsConfig := &tls.Config{RootCAs: caPool, MinVersion: tls.VersionTLS12}
	eventually(t, 30*time.Second, "the broker's TLS listener", func() bool {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, tlsConfig)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})

	// The chart's production pubsub component and the `order` Subscription; the brokers'
	// address is the one connection detail that differs.
	resources := filepath.Join(dir, "resources")
	require.NoError(t, os.MkdirAll(resources, 0o755))
	appArgs := []string{"-n", "kafka-restaurants", "-f", filepath.Join(root, "helm", "kafka-restaurants", "values-production.yaml"), "--set", "dapr.requireCRDs=false"}
	for _, tpl := range []string{"templates/dapr/pubsub.yaml", "templates/dapr/subscription-order.yaml"} {
		for i, doc := range renderDocs(t, helm, root, "kafka-restaurants", append(appArgs, "--show-only", tpl)...) {
			if doc["kind"] == "Component" {
				for _, m := range dig(doc, "spec", "metadata").([]any) {
					if item := m.(map[string]any); item["name"] == "brokers" {
						item["value"] = addr
					}
				}
			}
			b, err := yaml.Marshal(doc)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(resources, fmt.Sprintf("%s-%d.yaml", filepath.Base(tpl), i)), b, 0o644))
		}
	}
	// Name resolution from a file: no mDNS, nothing leaves the loopback interface.
	config := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: kafkatls}
spec:
  nameResolution:
    component: sqlite
    configuration:
      connectionString: %q
`, filepath.Join(dir, "nr.db"))), 0o644))

	// transactions' app: records what its sidecar delivers on the chart's route.
	var mu sync.Mutex
	var delivered []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/events/order" {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			delivered = append(delivered, string(b))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"SUCCESS"}`))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(app.Close)
	appPort := app.Listener.Addr().(*net.TCPAddr).Port

	env := func(user string) []string {
		return []string{"KAFKA_SASL_PASSWORD=" + passwords[user], "KAFKA_CA_CERT=" + string(caPEM)}
	}
	sidecar := func(appID string, env []string, appPort int) int {
		httpPort := freePort(t)
		args := []string{"--app-id", appID, "--dapr-http-port", fmt.Sprint(httpPort), "--dapr-grpc-port", fmt.Sprint(freePort(t)),
			"--dapr-internal-grpc-port", fmt.Sprint(freePort(t)), "--metrics-port", fmt.Sprint(freePort(t)),
			"--dapr-listen-addresses", "127.0.0.1", "--resources-path", resources, "--config", config,
			"--placement-host-address", "", "--scheduler-host-address", "", "--log-level", "info"}
		if appPort > 0 {
			args = append(args, "--app-port", fmt.Sprint(appPort), "--app-protocol", "http")
		}
		start(t, dir, appID+"-dapr", env, daprd, args...)
		return httpPort
	}
	apiHTTP := sidecar("api", env("api-kafka"), 0)
	sidecar("transactions", env("transactions-kafka"), appPort)
	for _, p := range []int{apiHTTP} {
		eventually(t, 60*time.Second, "api's sidecar healthy (its pubsub component signed in)", func() bool { return healthy(p) })
	}

	t.Run("an order published by api's sidecar reaches transactions over TLS and SCRAM", func(t *testing.T) {
		id := "ord_" + secret(t)[:16]
		body := fmt.Sprintf(`{"orderId":%q}`, id)
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1.0/publish/pubsub/order?metadata.partitionKey=%s", apiHTTP, id), "application/json", strings.NewReader(body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode, "publish: %s", b)
		eventually(t, 60*time.Second, "transactions' app to receive the order", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, d := range delivered {
				if strings.Contains(d, id) {
					return true
				}
			}
			return false
		})
	})

	produce := func(t *testing.T, topic string, opts ...kgo.Opt) error {
		t.Helper()
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.RecordRetries(1),
			kgo.ProduceRequestTimeout(5 * time.Second)}, opts...)...)
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(`{}`)}).FirstErr()
	}
	sasl := func(user, password string) kgo.Opt {
		return kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism())
	}
	tlsOpt := kgo.DialTLSConfig(tlsConfig.Clone())

	t.Run("api's credentials write order and its subscriptions' dead letters, nothing else", func(t *testing.T) {
		for _, topic := range []string{"order", "order_confirm-dlq", "order_notified-dlq"} {
			require.NoError(t, produce(t, topic, tlsOpt, sasl("api-kafka", passwords["api-kafka"])), topic)
		}
		for _, topic := range []string{"order_confirm", "order_notified", "order-dlq"} {
			err := produce(t, topic, tlsOpt, sasl("api-kafka", passwords["api-kafka"]))
			assert.True(t, errors.Is(err, kerr.TopicAuthorizationFailed), "%s: %v", topic, err)
		}
	})

	t.Run("no client gets in without TLS and its own password", func(t *testing.T) {
		cases := []struct {
			name string
			opts []kgo.Opt
			want string // in the client's error, "" = any refusal (the broker hangs up)
		}{
			{"TLS without credentials", []kgo.Opt{tlsOpt}, "SASL is required"},
			{"a wrong password", []kgo.Opt{tlsOpt, sasl("api-kafka", "not-the-password")}, ""},
			{"another user's password", []kgo.Opt{tlsOpt, sasl("api-kafka", passwords["transactions-kafka"])}, ""},
			{"the right password without TLS", []kgo.Opt{sasl("api-kafka", passwords["api-kafka"])}, "requires TLS"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := produce(t, "order", c.opts...)
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.want)
			})
		}
	})

	t.Run("a sidecar with a wrong password does not start", func(t *testing.T) {
		wrong := []string{"KAFKA_SASL_PASSWORD=not-the-password", "KAFKA_CA_CERT=" + string(caPEM)}
		p := startProcess(t, dir, "api-wrong-dapr", wrong, daprd, "--app-id", "api", "--dapr-http-port", fmt.Sprint(freePort(t)),
			"--dapr-grpc-port", fmt.Sprint(freePort(t)), "--dapr-internal-grpc-port", fmt.Sprint(freePort(t)), "--metrics-port", fmt.Sprint(freePort(t)),
			"--dapr-listen-addresses", "127.0.0.1", "--resources-path", resources, "--config", config,
			"--placement-host-address", "", "--scheduler-host-address", "")
		select {
		case <-p.done:
			assert.Error(t, p.err, "daprd must fail when Kafka refuses its component")
			assert.Contains(t, tailFile(filepath.Join(dir, "api-wrong-dapr.log")), "process component pubsub error")
		case <-time.After(90 * time.Second):
			t.Fatal("daprd with a wrong Kafka password still runs after 90 s")
		}
	})
}

// process is a child process that a test started; done closes when it has exited.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start runs a long-lived process for the test; it must not exit before the test ends.
func start(t *testing.T, dir, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	p := startProcess(t, dir, name, env, bin, args...)
	t.Cleanup(func() {
		select {
		case <-p.done:
			t.Errorf("%s exited early: %v\n%s", name, p.err, tailFile(filepath.Join(dir, name+".log")))
		default:
		}
	})
	return p
}

// startProcess starts bin in its own process group, logging to dir/<name>.log, and stops
// the whole group when the test ends.
func startProcess(t *testing.T, dir, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start(), "start %s", name)
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = log.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("---- %s\n%s", name, tailFile(filepath.Join(dir, name+".log")))
		}
	})
	return p
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}

// renderDocs renders one chart of helm/ with the given arguments and returns its objects.
func renderDocs(t *testing.T, helm, root, chart string, args ...string) []map[string]any {
	t.Helper()
	cmd := exec.Command(helm, append([]string{"template", chart, filepath.Join(root, "helm", chart)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "helm template %s: %s", chart, stderr.String())
	var docs []map[string]any
	for _, d := range strings.Split(string(out), "\n---") {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(d), &m))
		if m != nil {
			docs = append(docs, m)
		}
	}
	require.NotEmpty(t, docs, "helm template %s %v rendered nothing", chart, args)
	return docs
}

func dig(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// certificates makes a CA and a broker certificate for 127.0.0.1 signed by it, and returns
// the CA's PEM and the broker's certificate and key files.
func certificates(t *testing.T, dir string) (caPEM []byte, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafkatls test cluster CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certFile, keyFile = filepath.Join(dir, "broker.crt"), filepath.Join(dir, "broker.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o644))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return caPEM, certFile, keyFile
}

func secret(t *testing.T) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func healthy(port int) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNoContent
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
