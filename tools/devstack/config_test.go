package devstack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dapr.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// The repository's own run file is what `make run` and the dapr CLI both read.
func TestRepositoryRunFileLoads(t *testing.T) {
	f, err := LoadRunFile("../../dapr/dapr.yaml")
	require.NoError(t, err)
	var ids []string
	for _, a := range f.Apps {
		ids = append(ids, a.AppID)
		assert.NotEmpty(t, a.AppDirPath, a.AppID)
	}
	assert.ElementsMatch(t, []string{"frontend", "api", "transactions", "email", "catalog"}, ids)
	inf, err := LoadInfra("../../dapr/infra.yaml")
	require.NoError(t, err)
	f.withReplicas(map[string]int{"transactions": 2, "email": 2})
	f.pinInternalPorts()
	_, err = ports(f, inf)
	require.NoError(t, err, "no port is claimed twice, replicas included")
}

func TestRunFileRejects(t *testing.T) {
	cases := map[string]string{
		"wrong version":   "version: 2\napps: []\n",
		"unknown field":   "version: 1\napps:\n  - appID: a\n    appDirPath: x\n    daprHTTPPort: 1\n    daprGRPCPort: 2\n    metricsPort: 3\n    appPrt: 5\n",
		"no appDirPath":   "version: 1\napps:\n  - appID: a\n    daprHTTPPort: 1\n    daprGRPCPort: 2\n    metricsPort: 3\n",
		"unpinned ports":  "version: 1\napps:\n  - appID: a\n    appDirPath: x\n",
		"duplicate appID": "version: 1\napps:\n  - {appID: a, appDirPath: x, daprHTTPPort: 1, daprGRPCPort: 2, metricsPort: 3}\n  - {appID: a, appDirPath: y, daprHTTPPort: 4, daprGRPCPort: 5, metricsPort: 6}\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadRunFile(writeFile(t, content))
			assert.Error(t, err)
		})
	}
}

func TestReplicasShiftPortsAndKeepTheAppID(t *testing.T) {
	f := &RunFile{Version: 1, Apps: []AppConfig{{AppID: "tx", AppDirPath: "x", AppPort: 5001, DaprHTTPPort: 3502, DaprGRPCPort: 50002, MetricsPort: 9192}}}
	f.withReplicas(map[string]int{"tx": 3})
	f.pinInternalPorts()
	require.Len(t, f.Apps, 3)
	assert.Equal(t, "tx", f.Apps[0].procName())
	assert.Equal(t, "tx-2", f.Apps[1].procName())
	assert.Equal(t, "tx", f.Apps[1].AppID, "same app id: same consumer group")
	assert.Equal(t, 6001, f.Apps[1].AppPort)
	assert.Equal(t, 7001, f.Apps[2].AppPort)
	assert.Equal(t, 52002, f.Apps[2].DaprGRPCPort)
	m, err := ports(f, &Infra{})
	require.NoError(t, err)
	assert.Equal(t, 3602, f.Apps[0].DaprInternalGRPCPort, "internal ports are pinned below the ephemeral range")
	assert.Equal(t, 4602, f.Apps[1].DaprInternalGRPCPort, "replicas pin distinct internal ports")
	assert.Len(t, m, 15, "4 ports and an internal one per replica")
}

func TestPortClaimedTwiceIsAnError(t *testing.T) {
	f := &RunFile{Version: 1, Apps: []AppConfig{{AppID: "a", AppDirPath: "x", DaprHTTPPort: 9092, DaprGRPCPort: 2, MetricsPort: 3}}}
	_, err := ports(f, &Infra{Processes: []InfraProcess{{Name: "broker", Ports: []int{9092}}}})
	assert.ErrorContains(t, err, "9092")
}

func TestDaprdArgsSwitchOffPlacementAndScheduler(t *testing.T) {
	args := daprdArgs(AppConfig{AppID: "api", AppPort: 5000, DaprHTTPPort: 3501, DaprGRPCPort: 50001, MetricsPort: 9191, ResourcesPaths: []string{"../../components"}})
	assert.Contains(t, args, "--placement-host-address")
	assert.Equal(t, "", args[len(args)-1], "empty scheduler address")
	assert.Contains(t, args, "127.0.0.1", "sidecar APIs on loopback only")
}

// -trace-sampling rewrites the repository's Configuration into the data folder, changing
// the sampling rate and nothing else; a rate that is not a number is refused.
func TestSampledConfig(t *testing.T) {
	data := t.TempDir()
	s := &Stack{opts: Options{DataDir: data, TraceSampling: "0.1"}}
	orig, err := os.ReadFile("../../dapr/config.yaml")
	require.NoError(t, err)
	path, err := s.sampledConfig("../../dapr/config.yaml")
	require.NoError(t, err)
	assert.Equal(t, data, filepath.Dir(path))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(got), `samplingRate: "0.1"`)
	assert.NotContains(t, string(got), `samplingRate: "1"`)
	assert.Equal(t, len(orig)+2, len(got), "only the rate changed")

	s.opts.TraceSampling = "lots"
	_, err = s.sampledConfig("../../dapr/config.yaml")
	assert.ErrorContains(t, err, "trace sampling")
}

// PostgresComponents turns each of the repository's four SQLite stores into PostgreSQL,
// keeping its table and dropping the SQLite-only settings, and copies the rest unchanged.
func TestPostgresComponents(t *testing.T) {
	dst := t.TempDir()
	n, err := PostgresComponents("../../components", dst, "host=db dbname=kr")
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	src, _ := filepath.Glob("../../components/*.yaml")
	out, _ := filepath.Glob(filepath.Join(dst, "*.yaml"))
	assert.Len(t, out, len(src))
	b, err := os.ReadFile(filepath.Join(dst, "orderstore.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "state.postgresql")
	assert.Contains(t, string(b), "host=db dbname=kr")
	assert.NotContains(t, string(b), "sqlite")
	assert.NotContains(t, string(b), "busyTimeout")
	orig, _ := os.ReadFile("../../components/pubsub.yaml")
	copied, _ := os.ReadFile(filepath.Join(dst, "pubsub.yaml"))
	assert.Equal(t, orig, copied)
}
