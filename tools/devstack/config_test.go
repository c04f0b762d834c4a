package devstack

import (
	"os"
	"path/filepath"
	"strings"
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

// The dapr CLI's path rules (dapr/cli v1.18.0, pkg/runfileconfig), one per case, on a tree
//
//	run/dapr.yaml run/config.yaml run/components/      the run file's folder
//	apps/a/{cfg.yaml,res/}                             an app's own files
//	apps/b/.dapr/{config.yaml,resources/}              an app with the CLI's local folder
//	rt/ rt2/ home/                                     runtime folders and $HOME
//
// so that `make run` (devstack) and `dapr run -f dapr/` can never read dapr.yaml apart.
func TestResolveFollowsTheDaprCLI(t *testing.T) {
	tmp := t.TempDir()
	for _, d := range []string{"run/components", "apps/a/res", "apps/b/.dapr/resources", "rt", "rt2", "home"} {
		require.NoError(t, os.MkdirAll(filepath.Join(tmp, d), 0o755))
	}
	for _, f := range []string{"run/config.yaml", "apps/a/cfg.yaml", "apps/b/.dapr/config.yaml", "home/cfg.yaml"} {
		require.NoError(t, os.WriteFile(filepath.Join(tmp, f), nil, 0o644))
	}
	at := func(p string) string { return filepath.Join(tmp, p) }
	type want struct {
		appDir, config, daprd, command string
		resources                      []string
		chosen                         bool // runtime folder named, not the $HOME default
	}
	cases := []struct {
		name        string
		common, app string // YAML under common: and the one app (indented by the test)
		runtimeEnv  string // DAPR_RUNTIME_PATH
		want        want
		wantErr     string
		check       func(t *testing.T, a AppConfig)
	}{
		{
			name:   "common paths resolve against the run file's folder",
			common: "configFilePath: config.yaml\nresourcesPaths: [components]",
			app:    "appDirPath: ../apps/a",
			want:   want{appDir: at("apps/a"), config: at("run/config.yaml"), resources: []string{at("run/components")}, daprd: at("home/.dapr/bin/daprd")},
		},
		{
			name:    "common paths written relative to an app are not found (the issue's error)",
			common:  "configFilePath: ../../run/config.yaml",
			app:     "appDirPath: ../apps/a",
			wantErr: "error in getting the file info for " + filepath.Join(filepath.Dir(tmp), "run/config.yaml"),
		},
		{
			name: "app paths resolve against its appDirPath",
			app:  "appDirPath: ../apps/a\nconfigFilePath: cfg.yaml\nresourcesPaths: [res, ../../run/components]",
			want: want{appDir: at("apps/a"), config: at("apps/a/cfg.yaml"), resources: []string{at("apps/a/res"), at("run/components")}, daprd: at("home/.dapr/bin/daprd")},
		},
		{
			name:   "app paths win over common",
			common: "configFilePath: config.yaml\nresourcesPaths: [components]",
			app:    "appDirPath: ../apps/a\nconfigFilePath: cfg.yaml\nresourcesPaths: [res]",
			want:   want{appDir: at("apps/a"), config: at("apps/a/cfg.yaml"), resources: []string{at("apps/a/res")}, daprd: at("home/.dapr/bin/daprd")},
		},
		{
			name:   "the app's .dapr folder wins over common",
			common: "configFilePath: config.yaml\nresourcesPaths: [components]",
			app:    "appDirPath: ../apps/b",
			want:   want{appDir: at("apps/b"), config: at("apps/b/.dapr/config.yaml"), resources: []string{at("apps/b/.dapr/resources")}, daprd: at("home/.dapr/bin/daprd")},
		},
		{
			name: "the app's own paths win over its .dapr folder",
			app:  "appDirPath: ../apps/b\nconfigFilePath: ../a/cfg.yaml\nresourcesPaths: [../a/res]",
			want: want{appDir: at("apps/b"), config: at("apps/a/cfg.yaml"), resources: []string{at("apps/a/res")}, daprd: at("home/.dapr/bin/daprd")},
		},
		{
			name: "nothing named: the default runtime folder $HOME/.dapr",
			app:  "appDirPath: ../apps/a",
			want: want{appDir: at("apps/a"), config: at("home/.dapr/config.yaml"), resources: []string{at("home/.dapr/components")}, daprd: at("home/.dapr/bin/daprd")},
		},
		{
			name:       "DAPR_RUNTIME_PATH over $HOME",
			app:        "appDirPath: ../apps/a",
			runtimeEnv: at("rt"),
			want:       want{appDir: at("apps/a"), config: at("rt/.dapr/config.yaml"), resources: []string{at("rt/.dapr/components")}, daprd: at("rt/.dapr/bin/daprd"), chosen: true},
		},
		{
			name:       "common runtimePath, against the run file's folder, over DAPR_RUNTIME_PATH",
			common:     "runtimePath: ../rt",
			app:        "appDirPath: ../apps/a",
			runtimeEnv: at("rt2"),
			want:       want{appDir: at("apps/a"), config: at("rt/.dapr/config.yaml"), resources: []string{at("rt/.dapr/components")}, daprd: at("rt/.dapr/bin/daprd"), chosen: true},
		},
		{
			name:   "app runtimePath, against its appDirPath, over common's",
			common: "runtimePath: ../rt",
			app:    "appDirPath: ../apps/a\nruntimePath: ../../rt2",
			want:   want{appDir: at("apps/a"), config: at("rt2/.dapr/config.yaml"), resources: []string{at("rt2/.dapr/components")}, daprd: at("rt2/.dapr/bin/daprd"), chosen: true},
		},
		{
			name:   "~/ is the home folder; absolute paths stay",
			common: "configFilePath: ~/cfg.yaml",
			app:    "appDirPath: " + at("apps/a") + "\nresourcesPaths: [" + at("run/components") + "]",
			want:   want{appDir: at("apps/a"), config: at("home/cfg.yaml"), resources: []string{at("run/components")}, daprd: at("home/.dapr/bin/daprd")},
		},
		{
			name: "a relative command runs from appDirPath; a bare one is left to PATH",
			app:  "appDirPath: ../apps/a\ncommand: [../../bin/a, -flag]",
			want: want{appDir: at("apps/a"), config: at("home/.dapr/config.yaml"), resources: []string{at("home/.dapr/components")}, daprd: at("home/.dapr/bin/daprd"), command: at("bin/a")},
		},
		{
			name: "bare command",
			app:  "appDirPath: ../apps/a\ncommand: [nginx]",
			want: want{appDir: at("apps/a"), config: at("home/.dapr/config.yaml"), resources: []string{at("home/.dapr/components")}, daprd: at("home/.dapr/bin/daprd"), command: "nginx"},
		},
		{
			name:    "a missing appDirPath folder is an error",
			app:     "appDirPath: ../apps/nope",
			wantErr: "error in getting the file info for " + at("apps/nope"),
		},
		{
			name:    "a missing app path is an error",
			app:     "appDirPath: ../apps/a\nresourcesPaths: [../../components]",
			wantErr: "error in getting the file info for " + at("components"),
		},
		{
			name:   "other settings and env: the app's over common's",
			common: "logLevel: info\nappProtocol: http\nplacementHostAddress: \"\"\nappHealthCheckPath: /healthz\nenv: {A: common, B: common}",
			app:    "appDirPath: ../apps/a\nlogLevel: debug\nenv: {B: app, C: app}",
			want:   want{appDir: at("apps/a"), config: at("home/.dapr/config.yaml"), resources: []string{at("home/.dapr/components")}, daprd: at("home/.dapr/bin/daprd")},
			check: func(t *testing.T, a AppConfig) {
				assert.Equal(t, "debug", a.LogLevel)
				assert.Equal(t, "http", a.AppProtocol)
				assert.Equal(t, "/healthz", a.AppHealthCheckPath)
				require.NotNil(t, a.PlacementHostAddress, "an empty common address is kept (it disables placement)")
				assert.Empty(t, *a.PlacementHostAddress)
				assert.Nil(t, a.SchedulerHostAddress)
				assert.Equal(t, map[string]string{"A": "common", "B": "app", "C": "app"}, a.Env)
			},
		},
	}
	indent := func(s, by string) string { return by + strings.ReplaceAll(s, "\n", "\n"+by) }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			content := "version: 1\n"
			if tc.common != "" {
				content += "common:\n" + indent(tc.common, "  ") + "\n"
			}
			content += "apps:\n  - appID: x\n    daprHTTPPort: 1\n    daprGRPCPort: 2\n    metricsPort: 3\n" + indent(tc.app, "    ") + "\n"
			runFile := filepath.Join(tmp, "run", "dapr.yaml")
			require.NoError(t, os.WriteFile(runFile, []byte(content), 0o644))
			f, err := LoadRunFile(runFile)
			require.NoError(t, err)
			h := host{
				getenv: func(k string) string {
					if k == "DAPR_RUNTIME_PATH" {
						return tc.runtimeEnv
					}
					return ""
				},
				home: func() (string, error) { return at("home"), nil },
			}
			apps, err := f.resolve(runFile, h)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, apps, 1)
			a := apps[0]
			assert.Equal(t, tc.want.appDir, a.AppDirPath, "appDirPath")
			assert.Equal(t, tc.want.config, a.ConfigFilePath, "configFilePath")
			assert.Equal(t, tc.want.resources, a.ResourcesPaths, "resourcesPaths")
			assert.Equal(t, tc.want.daprd, a.daprd, "daprd")
			assert.Equal(t, tc.want.chosen, a.runtimeChosen, "runtime folder named")
			if tc.want.command != "" {
				assert.Equal(t, tc.want.command, a.Command[0], "command")
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

// The repository's run file resolves, by the CLI's rules, to the repository's components/
// and dapr/config.yaml for every app, the commands to bin/ and frontend/nginx; and a copy
// elsewhere with absolute appDirPaths (what the fault suite runs) resolves the same.
func TestRepositoryRunFileResolves(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	home := t.TempDir()
	h := host{getenv: func(string) string { return "" }, home: func() (string, error) { return home, nil }}
	f, err := LoadRunFile(filepath.Join(root, "dapr", "dapr.yaml"))
	require.NoError(t, err)
	apps, err := f.resolve(filepath.Join(root, "dapr", "dapr.yaml"), h)
	require.NoError(t, err)
	for _, a := range apps {
		assert.Equal(t, []string{filepath.Join(root, "components")}, a.ResourcesPaths, a.AppID)
		assert.Equal(t, filepath.Join(root, "dapr", "config.yaml"), a.ConfigFilePath, a.AppID)
		assert.FileExists(t, a.ConfigFilePath)
		if a.AppID == "frontend" {
			assert.Equal(t, filepath.Join(root, "frontend", "nginx", "run-local.sh"), a.Command[0])
		} else {
			assert.Equal(t, filepath.Join(root, "bin", a.AppID), a.Command[0], a.AppID)
		}
	}

	for i := range f.Apps {
		f.Apps[i].AppDirPath = filepath.Join(root, "dapr", f.Apps[i].AppDirPath)
	}
	copied := filepath.Join(t.TempDir(), "dapr.yaml")
	again, err := f.resolve(copied, h)
	require.NoError(t, err)
	assert.Equal(t, apps, again)
}

// devstack takes daprd from Options.Daprd, else from the runtime folder the run file or
// DAPR_RUNTIME_PATH names (as the CLI would), else from .tools/bin in place of the CLI's
// $HOME/.dapr/bin (which only `dapr init` fills).
func TestDaprdChoice(t *testing.T) {
	resolved := AppConfig{daprd: "/rt/.dapr/bin/daprd"}
	named := resolved
	named.runtimeChosen = true
	cases := []struct {
		name  string
		opt   string
		app   AppConfig
		daprd string
	}{
		{"option wins", "/opt/daprd", named, "/opt/daprd"},
		{"a named runtime folder, as the CLI", "", named, "/rt/.dapr/bin/daprd"},
		{"otherwise the repository's .tools/bin", "", resolved, "/repo/.tools/bin/daprd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Stack{opts: Options{Root: "/repo", Daprd: tc.opt}}
			assert.Equal(t, tc.daprd, s.daprdFor(tc.app))
		})
	}
}

// With Options.ComponentsDir, the repository's components/ (and only it) is swapped.
func TestComponentsDirReplacesTheRepositorysComponents(t *testing.T) {
	s := &Stack{opts: Options{Root: "/repo", ComponentsDir: "/data/pg"}}
	assert.Equal(t, []string{"/data/pg", "/data/pg/sub", "/repo/components-extra", "/elsewhere"},
		s.componentsFor([]string{"/repo/components", "/repo/components/sub", "/repo/components-extra", "/elsewhere"}))
	s.opts.ComponentsDir = ""
	assert.Equal(t, []string{"/repo/components"}, s.componentsFor([]string{"/repo/components"}))
}
