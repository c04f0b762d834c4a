package devstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenRepo is a repository of two apps and no infrastructure whose sidecars and apps are
// /bin/true, so prepare builds every process without starting any.
func tokenRepo(t *testing.T) Options {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"dapr", "apps/a", "apps/b"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	run := `version: 1
apps:
  - {appID: a, appDirPath: ../apps/a, appPort: 47100, daprHTTPPort: 47101, daprGRPCPort: 47102, metricsPort: 47103, command: ["/bin/true"]}
  - {appID: b, appDirPath: ../apps/b, appPort: 47110, daprHTTPPort: 47111, daprGRPCPort: 47112, metricsPort: 47113, command: ["/bin/true"]}
`
	require.NoError(t, os.WriteFile(filepath.Join(root, "dapr", "dapr.yaml"), []byte(run), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "dapr", "infra.yaml"), []byte("processes: []\n"), 0o644))
	return Options{Root: root, DataDir: filepath.Join(root, "data"), Daprd: "/bin/true"}
}

// envOf is the value of key in the named process's environment (the last one wins, as in
// os/exec), and whether it is set at all.
func envOf(s *Stack, name, key string) (string, bool) {
	val, found := "", false
	for _, kv := range s.procs[name].env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			val, found = v, true
		}
	}
	return val, found
}

// Each app and its sidecar get one fresh pair of their own; a replica shares its app's;
// no token is given to two apps or serves as both kinds.
func TestEachAppGetsItsOwnTokens(t *testing.T) {
	opts := tokenRepo(t)
	opts.Replicas = map[string]int{"b": 2}
	s, err := prepare(opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, s.AppIDs(), "a replica is its app")

	seen := map[string]string{}
	for _, proc := range []struct{ name, app string }{{"a", "a"}, {"b", "b"}, {"b-2", "b"}} {
		for _, name := range []string{proc.name, proc.name + "-dapr"} {
			api, _ := envOf(s, name, "DAPR_API_TOKEN")
			app, _ := envOf(s, name, "APP_API_TOKEN")
			assert.Equal(t, s.DaprAPIToken(proc.app), api, "%s has its app's Dapr API token", name)
			assert.Equal(t, s.AppAPIToken(proc.app), app, "%s has its app's app token", name)
		}
	}
	for _, app := range s.AppIDs() {
		for kind, tok := range map[string]string{"Dapr API": s.DaprAPIToken(app), "app": s.AppAPIToken(app)} {
			require.Len(t, tok, 26, "%s's %s token is random", app, kind)
			owner := app + "'s " + kind + " token"
			assert.NotContains(t, seen, tok, "%s is also %s", owner, seen[tok])
			seen[tok] = owner
		}
	}

	again, err := prepare(opts)
	require.NoError(t, err)
	assert.NotEqual(t, s.DaprAPIToken("a"), again.DaprAPIToken("a"), "every run draws new tokens")
	assert.Empty(t, s.DaprAPIToken("nope"), "an app the run file lacks has none")
}

// NoTokens (the dapr CLI's way) gives no process a token, and an outer run's tokens in the
// launcher's environment do not leak into this one.
func TestNoTokensSetsNone(t *testing.T) {
	t.Setenv("DAPR_API_TOKEN", "outer")
	t.Setenv("APP_API_TOKEN", "outer")
	opts := tokenRepo(t)
	opts.NoTokens = true
	s, err := prepare(opts)
	require.NoError(t, err)
	for _, name := range s.Names() {
		for _, key := range []string{"DAPR_API_TOKEN", "APP_API_TOKEN"} {
			_, set := envOf(s, name, key)
			assert.False(t, set, "%s has %s", name, key)
		}
	}
	assert.Empty(t, s.DaprAPIToken("a"))
	assert.Empty(t, s.AppAPIToken("a"))
}
