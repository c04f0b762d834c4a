package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
	"github.com/kafka-restaurants/kafka-restaurants/tools/devstack"
)

// psql runs one SQL statement against the local PostgreSQL server.
func psql(t *testing.T, db, sql string) string {
	t.Helper()
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atc", sql).CombinedOutput()
	require.NoError(t, err, "psql: %s", out)
	return strings.TrimSpace(string(out))
}

// postgresComponents copies components/ and turns every SQLite state store into the
// state.postgresql store the Helm chart uses, on database db.
func postgresComponents(t *testing.T, root, db string) string {
	t.Helper()
	dir := t.TempDir()
	n, err := devstack.PostgresComponents(filepath.Join(root, "components"), dir,
		"host=127.0.0.1 port=5432 user=postgres dbname="+db+" sslmode=disable")
	require.NoError(t, err)
	require.Equal(t, 4, n, "the four state stores")
	return dir
}

// TestPostgresStateStores runs the order chain with the state stores on the real
// PostgreSQL server, as in the cluster.
func TestPostgresStateStores(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL must run on 127.0.0.1:5432 in CI: %v", err)
		}
		t.Skip("no PostgreSQL on 127.0.0.1:5432")
	} else {
		_ = c.Close()
	}
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	root := stack.Root(t)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	db := "kr_e2e_" + hex.EncodeToString(suffix)
	psql(t, "postgres", "CREATE DATABASE "+db)
	t.Cleanup(func() {
		_, _ = exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)").CombinedOutput()
	})

	s := stack.Start(t, stack.Options{ComponentsDir: postgresComponents(t, root, db), Env: map[string]map[string]string{"frontend": liftRateLimit}})

	assert.Equal(t, []string{"China city", "Peking Duck House"}, search(t, map[string][]string{"restaurant_style": {"Chinese"}, "vegetarian": {"true"}}))
	ok := place(t, `{"restaurant":"China city","email":"pg@example.com","creditCard":"4242424242424242"}`, map[string]string{"Idempotency-Key": "pg-1"})
	declined := place(t, `{"restaurant":"Sabich","email":"pg@example.com","creditCard":"4000000000009995"}`, nil)
	assert.Equal(t, "confirmed", stack.WaitFinal(t, ok, 30*time.Second).Status)
	assert.Equal(t, "notified_declined", stack.WaitFinal(t, declined, 30*time.Second).Status)
	assert.Equal(t, ok, place(t, `{"restaurant":"China city","email":"pg@example.com","creditCard":"4242424242424242"}`, map[string]string{"Idempotency-Key": "pg-1"}))
	assert.Len(t, s.Mail.Search(t, ok), 1)

	// The records are really in PostgreSQL, as JSON, without a card number: the API's
	// record of the order and the two facts its events brought, each under its own key.
	assert.Equal(t, "China city", psql(t, db, "SELECT value->>'restaurantName' FROM orders WHERE key = 'api||order-"+ok+"'"))
	assert.Equal(t, "paid", psql(t, db, "SELECT value->>'outcome' FROM orders WHERE key = 'api||order-"+ok+".charged'"))
	assert.Equal(t, "sent", psql(t, db, "SELECT value->>'delivery' FROM orders WHERE key = 'api||order-"+ok+".notified'"))
	assert.Equal(t, "paid", psql(t, db, "SELECT value->>'outcome' FROM payments WHERE key LIKE '%decision-"+ok+"'"))
	assert.Equal(t, "sent", psql(t, db, "SELECT value->>'state' FROM notifications WHERE key LIKE '%email-"+ok+"'"))
	assert.NotEqual(t, "0", psql(t, db, "SELECT count(*) FROM catalog WHERE key = 'catalog-current'"))
	for _, table := range []string{"orders", "payments", "notifications"} {
		assert.Equal(t, "0", psql(t, db, "SELECT count(*) FROM "+table+" WHERE value::text ~ '4242424242424242|4000000000009995'"), table)
	}
}
