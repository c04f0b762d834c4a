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

// LoadRunFile reads and checks a run file; relative paths stay relative to the file's folder.
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

// merged returns the app's settings with the common section filling what the app leaves unset.
func (f *RunFile) merged(a AppConfig) AppConfig {
	c := f.Common
	if a.AppProtocol == "" {
		a.AppProtocol = c.AppProtocol
	}
	if len(a.ResourcesPaths) == 0 {
		a.ResourcesPaths = c.ResourcesPaths
	}
	if a.ConfigFilePath == "" {
		a.ConfigFilePath = c.ConfigFilePath
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
	if a.MaxBodySize == "" {
		a.MaxBodySize = c.MaxBodySize
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
