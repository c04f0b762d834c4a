// Package devstack runs the whole system locally without the dapr CLI: it reads the same
// multi-app run file that `dapr run -f dapr/` reads (one source of truth), starts daprd and
// the app for every entry, plus the infrastructure the run file assumes (the Kafka broker,
// mailpit and the bank mock, from dapr/infra.yaml), waits until everything is ready, and
// stops it all in order. `make run` and the integration, browser and fault tests use it.
package devstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// RunFile is the subset of the dapr CLI's multi-app run file (pkg/runfileconfig in
// dapr/cli) that this system uses. Unknown fields are rejected so a typo cannot hide.
type RunFile struct {
	Version int       `json:"version"`
	Common  AppConfig `json:"common"`
	Apps    []AppConfig
}

// AppConfig is one app entry (or the common section) of the run file.
type AppConfig struct {
	AppID                string            `json:"appID,omitempty"`
	AppDirPath           string            `json:"appDirPath,omitempty"`
	AppPort              int               `json:"appPort,omitempty"`
	AppProtocol          string            `json:"appProtocol,omitempty"`
	DaprHTTPPort         int               `json:"daprHTTPPort,omitempty"`
	DaprGRPCPort         int               `json:"daprGRPCPort,omitempty"`
	MetricsPort          int               `json:"metricsPort,omitempty"`
	DaprInternalGRPCPort int               `json:"daprInternalGRPCPort,omitempty"`
	Command              []string          `json:"command,omitempty"`
	Env                  map[string]string `json:"env,omitempty"`
	ResourcesPaths       []string          `json:"resourcesPaths,omitempty"`
	ConfigFilePath       string            `json:"configFilePath,omitempty"`
	LogLevel             string            `json:"logLevel,omitempty"`
	PlacementHostAddress *string           `json:"placementHostAddress,omitempty"`
	SchedulerHostAddress *string           `json:"schedulerHostAddress,omitempty"`
	AppHealthCheckPath   string            `json:"appHealthCheckPath,omitempty"`
	EnableAppHealthCheck bool              `json:"enableAppHealthCheck,omitempty"`
	MaxBodySize          string            `json:"maxBodySize,omitempty"`
	DaprdLogDestination  string            `json:"daprdLogDestination,omitempty"`
	AppLogDestination    string            `json:"appLogDestination,omitempty"`
	RuntimePath          string            `json:"runtimePath,omitempty"`

	// name is the process name of an extra replica ("transactions-2"); empty for the
	// run file's own entry, whose processes are named after its app id.
	name string
	// daprd is where the dapr CLI would take daprd from (<runtime>/bin/daprd), set by
	// resolve; runtimeChosen says the runtime folder was named (runtimePath or
	// DAPR_RUNTIME_PATH) rather than the CLI's $HOME/.dapr default.
	daprd         string
	runtimeChosen bool
}

// procName is the name of the app's process; its sidecar's is procName()+"-dapr".
func (a AppConfig) procName() string {
	if a.name != "" {
		return a.name
	}
	return a.AppID
}

// replicaPortStep separates the ports of replica r from replica r-1 (5001 → 6001 → 7001).
const replicaPortStep = 1000

// withReplicas appends, for every app in n with a count above one, further copies with the
// same app id (so one Kafka consumer group) on shifted ports, named <appid>-2, <appid>-3...
func (f *RunFile) withReplicas(n map[string]int) {
	for _, a := range append([]AppConfig(nil), f.Apps...) {
		for r := 2; r <= n[a.AppID]; r++ {
			c := a
			shift := (r - 1) * replicaPortStep
			c.name = fmt.Sprintf("%s-%d", a.AppID, r)
			if c.AppPort > 0 {
				c.AppPort += shift
			}
			c.DaprHTTPPort += shift
			c.DaprGRPCPort += shift
			c.MetricsPort += shift
			f.Apps = append(f.Apps, c)
		}
	}
}

// Infra lists the processes outside Dapr that the run file's components talk to.
type Infra struct {
	Processes []InfraProcess `json:"processes"`
}

// InfraProcess is one infrastructure process. Command and Env may use ${ROOT} (the
// repository) and ${DATA} (the data folder of this run).
type InfraProcess struct {
	Name    string            `json:"name"`
	Command []string          `json:"command"`
	Env     map[string]string `json:"env,omitempty"`
	Ports   []int             `json:"ports"`
	Ready   Probe             `json:"ready"`
}

// Probe says how to tell that a process is ready: a TCP port that accepts connections or
// an HTTP URL that answers 2xx.
type Probe struct {
	TCP  string `json:"tcp,omitempty"`
	HTTP string `json:"http,omitempty"`
}

// LoadRunFile reads and checks a run file; its paths stay as written (resolve makes them
// absolute by the dapr CLI's rules).
func LoadRunFile(path string) (*RunFile, error) {
	var rf struct {
		Version int         `json:"version"`
		Common  AppConfig   `json:"common"`
		Apps    []AppConfig `json:"apps"`
	}
	if err := readYAML(path, &rf); err != nil {
		return nil, err
	}
	f := &RunFile{Version: rf.Version, Common: rf.Common, Apps: rf.Apps}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: version must be 1", path)
	}
	seen := map[string]bool{}
	var problems []string
	for i, a := range f.Apps {
		switch {
		case a.AppID == "":
			problems = append(problems, fmt.Sprintf("apps[%d] has no appID", i))
		case seen[a.AppID]:
			problems = append(problems, fmt.Sprintf("appID %q appears twice", a.AppID))
		case a.AppDirPath == "":
			problems = append(problems, fmt.Sprintf("app %q has no appDirPath (the dapr CLI requires it)", a.AppID))
		case a.DaprHTTPPort == 0 || a.DaprGRPCPort == 0 || a.MetricsPort == 0:
			problems = append(problems, fmt.Sprintf("app %q must pin daprHTTPPort, daprGRPCPort and metricsPort", a.AppID))
		}
		seen[a.AppID] = true
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %s", path, strings.Join(problems, "; "))
	}
	return f, nil
}

// LoadInfra reads the infrastructure file.
func LoadInfra(path string) (*Infra, error) {
	var inf Infra
	if err := readYAML(path, &inf); err != nil {
		return nil, err
	}
	for _, p := range inf.Processes {
		if p.Name == "" || len(p.Command) == 0 {
			return nil, fmt.Errorf("%s: every process needs a name and a command", path)
		}
	}
	return &inf, nil
}

func readYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// The dapr CLI's rules for a run file (dapr/cli v1.18.0, pkg/runfileconfig GetApps and
// pkg/standalone), which resolve below follows so that `make run` and `dapr run -f dapr/`
// read dapr/dapr.yaml the same way:
//   - every path may start with ~/ (the home folder); an absolute path stays as it is;
//   - common's configFilePath, resourcesPaths and runtimePath are relative to the folder
//     of the run file; each app's appDirPath too;
//   - an app's own configFilePath, resourcesPaths and runtimePath are relative to its
//     appDirPath; a path that is named but does not exist is an error;
//   - resources: the app's resourcesPaths, else <appDirPath>/.dapr/resources if it exists,
//     else common's resourcesPaths, else <runtime>/components;
//   - Configuration: the app's configFilePath, else <appDirPath>/.dapr/config.yaml if it
//     exists, else common's configFilePath, else <runtime>/config.yaml;
//   - <runtime> is <runtimePath>/.dapr (the app's runtimePath, else common's), else
//     $DAPR_RUNTIME_PATH/.dapr, else $HOME/.dapr; daprd is <runtime>/bin/daprd;
//   - any other setting the app leaves unset is common's; env is common's with the app's
//     keys on top;
//   - daprd and the app's command run in appDirPath, so a relative command (one with a /)
//     and any relative path in the env or in the components are relative to it.
const (
	cliDir       = ".dapr"       // standalone.DefaultDaprDirName
	cliResources = "resources"   // standalone.DefaultResourcesDirName
	cliConfig    = "config.yaml" // standalone.DefaultConfigFileName
	cliComps     = "components"  // the runtime folder's components (dapr init)
)

// host is what the dapr CLI reads from the machine while it resolves a run file.
type host struct {
	getenv func(string) string    // DAPR_RUNTIME_PATH
	home   func() (string, error) // ~/ and the default runtime folder $HOME/.dapr
}

var osHost = host{getenv: os.Getenv, home: os.UserHomeDir}

// resolve returns every app of the run file at runFile as the dapr CLI runs it: common
// merged in, every path absolute (see the rules above), daprd's location found.
func (f *RunFile) resolve(runFile string, h host) ([]AppConfig, error) {
	baseDir, err := filepath.Abs(filepath.Dir(runFile))
	if err != nil {
		return nil, err
	}
	common := f.Common
	common.ResourcesPaths = append([]string(nil), common.ResourcesPaths...)
	if err := h.absPaths(baseDir, &common); err != nil {
		return nil, fmt.Errorf("%s: common: %w", runFile, err)
	}
	apps := make([]AppConfig, 0, len(f.Apps))
	for _, a := range f.Apps {
		a.ResourcesPaths = append([]string(nil), a.ResourcesPaths...)
		a.Command = append([]string(nil), a.Command...)
		if err := h.absPath(baseDir, &a.AppDirPath); err != nil {
			return nil, fmt.Errorf("%s: app %q: %w", runFile, a.AppID, err)
		}
		if err := h.absPaths(a.AppDirPath, &a); err != nil {
			return nil, fmt.Errorf("%s: app %q: %w", runFile, a.AppID, err)
		}
		if a.RuntimePath == "" {
			a.RuntimePath = common.RuntimePath
		}
		runtime, explicit, err := h.runtimeDir(a.RuntimePath)
		if err != nil {
			return nil, fmt.Errorf("%s: app %q: %w", runFile, a.AppID, err)
		}
		if len(a.ResourcesPaths) == 0 {
			local := filepath.Join(a.AppDirPath, cliDir, cliResources)
			switch {
			case exists(local):
				a.ResourcesPaths = []string{local}
			case len(common.ResourcesPaths) > 0:
				a.ResourcesPaths = common.ResourcesPaths
			default:
				a.ResourcesPaths = []string{filepath.Join(runtime, cliComps)}
			}
		}
		if a.ConfigFilePath == "" {
			local := filepath.Join(a.AppDirPath, cliDir, cliConfig)
			switch {
			case exists(local):
				a.ConfigFilePath = local
			case strings.TrimSpace(common.ConfigFilePath) != "":
				a.ConfigFilePath = common.ConfigFilePath
			default:
				a.ConfigFilePath = filepath.Join(runtime, cliConfig)
			}
		}
		a.daprd = filepath.Join(runtime, "bin", "daprd")
		a.runtimeChosen = explicit
		if len(a.Command) > 0 && strings.Contains(a.Command[0], "/") {
			a.Command[0] = absJoin(a.AppDirPath, a.Command[0])
		}
		apps = append(apps, mergeCommon(common, a))
	}
	return apps, nil
}

// absPaths resolves c's configFilePath, runtimePath and resourcesPaths against base.
func (h host) absPaths(base string, c *AppConfig) error {
	for _, p := range []*string{&c.ConfigFilePath, &c.RuntimePath} {
		if err := h.absPath(base, p); err != nil {
			return err
		}
	}
	for i := range c.ResourcesPaths {
		if err := h.absPath(base, &c.ResourcesPaths[i]); err != nil {
			return err
		}
	}
	return nil
}

// absPath makes *p absolute against base (after ~/) and checks that it exists, as the
// CLI's resolvePathToAbsAndValidate does, with the CLI's own words when it does not.
func (h host) absPath(base string, p *string) error {
	if *p == "" {
		return nil
	}
	if rest, ok := strings.CutPrefix(*p, "~/"); ok {
		home, err := h.home()
		if err != nil {
			return fmt.Errorf("error in getting the home directory for %s: %w", *p, err)
		}
		*p = filepath.Join(home, rest)
	}
	*p = absJoin(base, *p)
	if _, err := os.Stat(*p); err != nil {
		return fmt.Errorf("error in getting the file info for %s: %w", *p, err)
	}
	return nil
}

// runtimeDir is the CLI's standalone.GetDaprRuntimePath: <runtimePath>/.dapr, else
// $DAPR_RUNTIME_PATH/.dapr, else $HOME/.dapr. explicit says it was not the $HOME default.
func (h host) runtimeDir(runtimePath string) (dir string, explicit bool, err error) {
	if p := strings.TrimSpace(runtimePath); p != "" {
		return filepath.Join(p, cliDir), true, nil
	}
	if p := strings.TrimSpace(h.getenv("DAPR_RUNTIME_PATH")); p != "" {
		return filepath.Join(p, cliDir), true, nil
	}
	home, err := h.home()
	if err != nil {
		return "", false, err
	}
	return filepath.Join(home, cliDir), false, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// mergeCommon returns the app's settings with the common section filling what the app
// leaves unset, and common's env under the app's.
func mergeCommon(c, a AppConfig) AppConfig {
	if a.AppProtocol == "" {
		a.AppProtocol = c.AppProtocol
	}
	if a.LogLevel == "" {
		a.LogLevel = c.LogLevel
	}
	if a.PlacementHostAddress == nil {
		a.PlacementHostAddress = c.PlacementHostAddress
	}
	if a.SchedulerHostAddress == nil {
		a.SchedulerHostAddress = c.SchedulerHostAddress
	}
	if a.AppHealthCheckPath == "" {
		a.AppHealthCheckPath = c.AppHealthCheckPath
	}
	if !a.EnableAppHealthCheck {
		a.EnableAppHealthCheck = c.EnableAppHealthCheck
	}
	if a.MaxBodySize == "" {
		a.MaxBodySize = c.MaxBodySize
	}
	if a.DaprdLogDestination == "" {
		a.DaprdLogDestination = c.DaprdLogDestination
	}
	if a.AppLogDestination == "" {
		a.AppLogDestination = c.AppLogDestination
	}
	env := map[string]string{}
	for k, v := range c.Env {
		env[k] = v
	}
	for k, v := range a.Env {
		env[k] = v
	}
	a.Env = env
	return a
}

// pinInternalPorts gives every sidecar a fixed internal (sidecar-to-sidecar) gRPC port, its
// HTTP port + 100 (3600 for 3500). Left unset, daprd derives one from the app id in
// 47300-49347: inside the kernel's ephemeral range, where an outgoing connection can take
// it first, and the same for two replicas of one app.
func (f *RunFile) pinInternalPorts() {
	for i := range f.Apps {
		if f.Apps[i].DaprInternalGRPCPort == 0 {
			f.Apps[i].DaprInternalGRPCPort = f.Apps[i].DaprHTTPPort + 100
		}
	}
}

// ports lists every port the stack will bind, named, for the fail-fast check; a port
// that two processes claim is an error in the files.
func ports(f *RunFile, inf *Infra) (map[int]string, error) {
	m := map[int]string{}
	var clashes []string
	add := func(port int, who string) {
		if prev, ok := m[port]; ok {
			clashes = append(clashes, fmt.Sprintf("%d (%s and %s)", port, prev, who))
		}
		m[port] = who
	}
	for _, p := range inf.Processes {
		for _, port := range p.Ports {
			add(port, p.Name)
		}
	}
	for _, a := range f.Apps {
		if a.AppPort > 0 {
			add(a.AppPort, a.procName())
		}
		add(a.DaprHTTPPort, a.procName()+" sidecar (HTTP)")
		add(a.DaprGRPCPort, a.procName()+" sidecar (gRPC)")
		add(a.MetricsPort, a.procName()+" sidecar (metrics)")
		if a.DaprInternalGRPCPort > 0 {
			add(a.DaprInternalGRPCPort, a.procName()+" sidecar (internal gRPC)")
		}
	}
	if len(clashes) > 0 {
		return nil, fmt.Errorf("ports claimed twice: %s", strings.Join(clashes, ", "))
	}
	return m, nil
}

func sortedPorts(m map[int]string) []int {
	ps := make([]int, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	return ps
}

// expand replaces ${ROOT} and ${DATA}.
func expand(s, root, data string) string {
	return strings.NewReplacer("${ROOT}", root, "${DATA}", data).Replace(s)
}

func absJoin(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Clean(filepath.Join(base, p))
}

var errNotReady = errors.New("not ready")
