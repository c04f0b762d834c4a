package k8s

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dapr/components-contrib/metadata"
	"github.com/dapr/components-contrib/state"
	pgstate "github.com/dapr/components-contrib/state/postgresql/v1"
	"github.com/dapr/kit/logger"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postgresAdminURL is the development machine's PostgreSQL (issue 6: the state
// component is tested for real against it). KR_TEST_POSTGRES overrides it.
func postgresAdminURL() string {
	if u := os.Getenv("KR_TEST_POSTGRES"); u != "" {
		return u
	}
	return "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable connect_timeout=2"
}

// tempDatabase creates a database for one test and drops it afterwards.
func tempDatabase(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, postgresAdminURL())
	if err != nil {
		t.Skipf("no PostgreSQL at %q (set KR_TEST_POSTGRES): %v", postgresAdminURL(), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "kr_k8s_test_" + hex.EncodeToString(b)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		assert.NoError(t, err)
		_ = admin.Close(ctx)
	})
	return strings.Replace(postgresAdminURL(), "dbname=postgres", "dbname="+name, 1)
}

// openStore initialises Dapr's state.postgresql v1 with a component's metadata, the
// connection string swapped for the test database's.
func openStore(t *testing.T, meta map[string]any, conn string) (state.Store, error) {
	t.Helper()
	props := map[string]string{}
	for k, v := range meta {
		if s, ok := v.(string); ok {
			props[k] = s
		}
	}
	props["connectionString"] = conn
	s := pgstate.NewPostgreSQLStateStore(logger.NewLogger("test"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Init(ctx, state.Metadata{Base: metadata.Base{Name: "test", Properties: props}}); err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, nil
}

// The chart's state stores work on a real PostgreSQL, all in one database as in the
// cluster: each creates and uses its own table, keys stay apart, ETags and
// first-write-wins (the claims the services rely on) behave.
func TestChartStateStoresOnPostgres(t *testing.T) {
	conn := tempDatabase(t)
	stores := map[string]state.Store{}
	for _, c := range byKind(mustRender(t, appProfiles[1]), "Component") {
		if str(c.obj, "spec", "type") != "state.postgresql" {
			continue
		}
		s, err := openStore(t, componentMeta(c.obj), conn)
		require.NoError(t, err, "component %s", c.name())
		stores[c.name()] = s
	}
	require.ElementsMatch(t, []string{"orderstore", "paymentstore", "notificationstore", "catalogstore"}, keys(stores))

	ctx := context.Background()
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			key := "ord_1"
			require.NoError(t, s.Set(ctx, &state.SetRequest{Key: key, Value: map[string]string{"store": name},
				Options: state.SetStateOption{Concurrency: state.FirstWrite}}), "first write")
			err := s.Set(ctx, &state.SetRequest{Key: key, Value: map[string]string{"store": "again"},
				Options: state.SetStateOption{Concurrency: state.FirstWrite}})
			require.Error(t, err, "a second first-write claim must fail")
			// Unlike state.sqlite (an ETag mismatch: gRPC Aborted, HTTP 409), PostgreSQL v1
			// reports a lost claim as a plain error (gRPC Internal, HTTP 500): an app must
			// re-read the key to tell "already claimed" from a failure.
			var etagErr *state.ETagError
			require.False(t, errors.As(err, &etagErr), "a lost claim is an ETag error now: the apps' special case may go")
			require.EqualError(t, err, "no item was updated")

			got, err := s.Get(ctx, &state.GetRequest{Key: key})
			require.NoError(t, err)
			require.JSONEq(t, fmt.Sprintf(`{"store":%q}`, name), string(got.Data), "each store keeps its own value under the same key")
			require.NotNil(t, got.ETag)

			stale := "1"
			err = s.Set(ctx, &state.SetRequest{Key: key, Value: "x", ETag: &stale})
			require.True(t, errors.As(err, &etagErr), "a stale ETag must be refused, got %v", err)
			require.NoError(t, s.Set(ctx, &state.SetRequest{Key: key, Value: map[string]string{"store": name, "v": "2"}, ETag: got.ETag}))
		})
	}
}

// Why every store names its own metadataTableName: with the shared default, the
// second store finds the migrations done and never creates its table.
func TestSharedMetadataTableLosesTables(t *testing.T) {
	conn := tempDatabase(t)
	ctx := context.Background()
	first, err := openStore(t, map[string]any{"tableName": "first"}, conn)
	require.NoError(t, err)
	require.NoError(t, first.Set(ctx, &state.SetRequest{Key: "k", Value: "v"}))
	second, err := openStore(t, map[string]any{"tableName": "second"}, conn)
	require.NoError(t, err)
	err = second.Set(ctx, &state.SetRequest{Key: "k", Value: "v"})
	require.Error(t, err, "the second store's table was created after all: the chart's metadataTableName may no longer be needed")
	require.Contains(t, err.Error(), "second")
}
