package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func broker(t *testing.T) (string, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "order", "order_confirm", "order_notified", "order-dlq", "order_confirm-dlq", "order_notified-dlq"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return addr, cl
}

func count(t *testing.T, cl *kgo.Client, topic string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	letters, err := read(ctx, []kgo.Opt{kgo.SeedBrokers(cl.OptValue(kgo.SeedBrokers).([]string)[0])}, []string{topic}, "")
	require.NoError(t, err)
	return len(letters)
}

func TestListAndReplayOnce(t *testing.T) {
	addr, cl := broker(t)
	ctx := context.Background()
	for _, v := range []string{
		`{"specversion":"1.0","id":"ord_a","type":"kafkarestaurants.order.placed.v1","data":{"note":"card 4242 4242 4242 4242"}}`,
		`{"specversion":"1.0","id":"ord_b","type":"kafkarestaurants.order.placed.v1","data":{}}`,
	} {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "order-dlq", Key: []byte("k"), Value: []byte(v)}).FirstErr())
	}

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"list", "-brokers", addr}, noEnv, &out))
	assert.Contains(t, out.String(), "ord_a")
	assert.Contains(t, out.String(), "ord_b")
	assert.NotContains(t, out.String(), "4242 4242 4242 4242", "list output masks card numbers")

	out.Reset()
	require.NoError(t, run(ctx, []string{"replay", "-brokers", addr}, noEnv, &out))
	assert.Contains(t, out.String(), "2 replayed")
	assert.Equal(t, 2, count(t, cl, "order"), "both events are back on their source topic")

	out.Reset()
	require.NoError(t, run(ctx, []string{"replay", "-brokers", addr}, noEnv, &out))
	assert.Contains(t, out.String(), "0 replayed", "a dead letter is replayed once")
	assert.Equal(t, 2, count(t, cl, "order"))
}

func noEnv(string) string { return "" }

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{
		nil, {"explode"}, {"list", "-topic", "nope"},
		{"list", "-sasl", "SCRAM-SHA-512"},                       // no user, no password
		{"list", "-sasl", "SCRAM-SHA-512", "-user", "dlq-kafka"}, // no $KAFKA_PASSWORD
		{"list", "-user", "dlq-kafka"},                           // a user without a mechanism
		{"list", "-sasl", "GSSAPI", "-user", "u"},
		{"list", "-tls-ca", "/nonexistent/ca.crt"},
	} {
		assert.Error(t, run(context.Background(), args, noEnv, &bytes.Buffer{}), "%v", args)
	}
}

// A Kafka as the cluster profile runs it: TLS with a private CA, SCRAM-SHA-512 users.
func TestTLSAndSCRAM(t *testing.T) {
	dir := t.TempDir()
	serverTLS, caFile := selfSigned(t, dir)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "order", "order_confirm", "order_notified", "order-dlq", "order_confirm-dlq", "order_notified-dlq"),
		kfake.TLS(serverTLS), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "dlq-kafka", "s3cret"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]

	conn, err := connection([]string{addr}, true, caFile, "SCRAM-SHA-512", "dlq-kafka", "s3cret")
	require.NoError(t, err)
	cl, err := kgo.NewClient(conn...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	ctx := context.Background()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "order_confirm-dlq", Key: []byte("ord_c"),
		Value: []byte(`{"specversion":"1.0","id":"ord_c.charged","type":"kafkarestaurants.order.charged.v1","data":{}}`)}).FirstErr())

	env := func(k string) string {
		if k == "KAFKA_PASSWORD" {
			return "s3cret"
		}
		return ""
	}
	flags := []string{"-brokers", addr, "-tls-ca", caFile, "-sasl", "SCRAM-SHA-512", "-user", "dlq-kafka"}
	var out bytes.Buffer
	require.NoError(t, run(ctx, append([]string{"list"}, flags...), env, &out))
	assert.Contains(t, out.String(), "ord_c.charged")
	out.Reset()
	require.NoError(t, run(ctx, append([]string{"replay"}, flags...), env, &out))
	assert.Contains(t, out.String(), "1 replayed")

	wrong := func(k string) string { return "wrong" }
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	assert.Error(t, run(tctx, append([]string{"list"}, flags...), wrong, &bytes.Buffer{}), "a wrong password is refused")
}

// selfSigned returns a server TLS config for 127.0.0.1 and the PEM file of its certificate,
// which clients trust as their CA.
func selfSigned(t *testing.T, dir string) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafka"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile
}
