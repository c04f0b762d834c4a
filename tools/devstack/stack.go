package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options says what to run and where.
type Options struct {
	// Root is the repository folder.
	Root string
	// RunFile and InfraFile default to Root/dapr/dapr.yaml and Root/dapr/infra.yaml.
	RunFile, InfraFile string
	// DataDir holds this run's state (SQLite files, the broker's log, mailpit's store,
	// the bank's ledger, process logs). Default Root/.data. Tests pass a temporary folder
	// so their runs never touch a developer's data.
	DataDir string
	// Daprd is the daprd binary for every sidecar. Default: where the dapr CLI would take
	// it from when the run file names a runtimePath or DAPR_RUNTIME_PATH is set
	// (<runtime>/.dapr/bin/daprd), else Root/.tools/bin/daprd (built by `make tools`), in
	// place of the CLI's $HOME/.dapr/bin/daprd from `dapr init`.
	Daprd string
	// Env adds or overrides environment variables per process name (an app id, an infra
	// process name, or "<appid>-dapr" for a sidecar), e.g. {"catalog": {"CATALOG_FILE": ...}}.
	Env map[string]map[string]string
	// Console receives every process's output, prefixed with its name; nil discards it
	// (the per-process log files under DataDir/logs are always written).
	Console io.Writer
	// ReadyTimeout bounds the wait for everything to become ready (default 90 s).
	ReadyTimeout time.Duration
	// ComponentsDir replaces components/ for this run (tests use it to run the same apps on
	// production-style components, e.g. PostgreSQL state stores). Needs a DataDir of its own.
	ComponentsDir string
	// NoTokens runs the sidecars without a Dapr API token and the apps without an app API
	// token (as `dapr run -f` does). By default every app gets a fresh random pair of its
	// own each run (Tokens): its sidecar answers 401 to a caller without the app's
	// DAPR_API_TOKEN, and the app answers 401 to anyone without its APP_API_TOKEN, which
	// only its own sidecar presents. No two apps share a token, so one app's tokens (or a
	// sidecar steered at another app's address) open nothing of another app.
	NoTokens bool
	// Replicas runs more than one instance of an app: {"transactions": 2} adds
	// transactions-2 with its own sidecar (same app id, so the same Kafka consumer group)
	// on ports shifted by 1000. Fault tests use it to kill one replica mid-stream.
	Replicas map[string]int
	// InfraOnly starts only the infrastructure (broker, mailpit, bank), for running the
	// apps with the real dapr CLI (`dapr run -f dapr/`).
	InfraOnly bool
	// TraceSampling, when set ("0" to "1"), replaces the samplingRate of the Dapr
	// Configuration every sidecar loads, through a copy under DataDir (benchmarks run at the
	// production chart's 0.1; the checked-in dapr/config.yaml keeps 1 for debugging).
	TraceSampling string
	// Profiling serves pprof from every sidecar (daprd --enable-profiling, on its metrics
	// port + 100) and from every Go app (PPROF_ADDR, on its app port + 200): see
	// docs/BENCHMARKS.md for how the profiles are read.
	Profiling bool
}

// Stack is a running local system.
type Stack struct {
	opts   Options
	tokens map[string]Tokens // by app id; empty with NoTokens
	run    *RunFile
	infra  *Infra
	procs  map[string]*proc
	order  []string // start order; stopped in reverse
	probe  map[string]Probe
	sink   *logSink
}

// Tokens is one app's pair, given to the app and its sidecar and to nothing else (the
// frontend's nginx is that app, so it holds the frontend sidecar's API token).
type Tokens struct {
	// DaprAPI is the app's DAPR_API_TOKEN: its sidecar serves only callers that present it.
	DaprAPI string
	// App is the app's APP_API_TOKEN: its sidecar presents it to the app (and to any
	// address it is asked to invoke), and the app serves only callers that present it.
	App string
}

// Start checks tools and ports, then starts the infrastructure, then every app with its
// sidecar, and returns once all of them are ready. On any failure it stops what it started.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	if err := s.startAll(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func prepare(opts Options) (*Stack, error) {
	if opts.Root == "" {
		return nil, errors.New("devstack: Root is required")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	opts.Root = root
	if opts.RunFile == "" {
		opts.RunFile = filepath.Join(root, "dapr", "dapr.yaml")
	}
	if opts.InfraFile == "" {
		opts.InfraFile = filepath.Join(root, "dapr", "infra.yaml")
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(root, ".data")
	}
	if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
		return nil, err
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 90 * time.Second
	}
	if opts.ComponentsDir != "" {
		if opts.ComponentsDir, err = filepath.Abs(opts.ComponentsDir); err != nil {
			return nil, err
		}
	}
	if opts.ComponentsDir != "" && opts.DataDir == filepath.Join(root, ".data") {
		return nil, errors.New("devstack: ComponentsDir needs a DataDir of its own")
	}
	rf, err := LoadRunFile(opts.RunFile)
	if err != nil {
		return nil, err
	}
	inf, err := LoadInfra(opts.InfraFile)
	if err != nil {
		return nil, err
	}
	if opts.InfraOnly {
		rf = &RunFile{Version: 1}
	}
	// Every path as the dapr CLI resolves it (config.go), so both read the file alike.
	if rf.Apps, err = rf.resolve(opts.RunFile, osHost); err != nil {
		return nil, err
	}
	rf.withReplicas(opts.Replicas)
	rf.pinInternalPorts()
	portMap, err := ports(rf, inf)
	if err != nil {
		return nil, err
	}
	if err := checkPortsFree(portMap); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.DataDir, "logs"), 0o755); err != nil {
		return nil, err
	}
	s := &Stack{opts: opts, run: rf, infra: inf, tokens: map[string]Tokens{}, procs: map[string]*proc{}, probe: map[string]Probe{}}
	if !opts.NoTokens {
		// One pair per app id: a replica is the same app (as pods of one Deployment share
		// their app's Secrets in the chart).
		for _, a := range rf.Apps {
			if _, ok := s.tokens[a.AppID]; !ok {
				s.tokens[a.AppID] = Tokens{DaprAPI: randomToken(), App: randomToken()}
			}
		}
	}
	s.sink = &logSink{console: opts.Console, dir: filepath.Join(opts.DataDir, "logs"), width: 16}
	if err := s.build(); err != nil {
		return nil, err
	}
	return s, nil
}

// build turns the two files into processes, checking that every program exists.
func (s *Stack) build() error {
	root, data := s.opts.Root, s.opts.DataDir
	var missing []string
	need := func(bin string) string {
		path, err := exec.LookPath(bin)
		if err != nil {
			missing = append(missing, bin)
			return bin
		}
		return path
	}
	base := baseEnv()
	for _, ip := range s.infra.Processes {
		argv := make([]string, len(ip.Command))
		for i, a := range ip.Command {
			argv[i] = expand(a, root, data)
		}
		if strings.Contains(argv[0], "/") {
			argv[0] = absJoin(root, argv[0])
		}
		argv[0] = need(argv[0])
		env := withEnv(base, ip.Env, root, data)
		env = withEnv(env, s.opts.Env[ip.Name], root, data)
		s.add(&proc{name: ip.Name, dir: root, argv: argv, env: env, log: s.sink}, ip.Ready)
	}
	if s.opts.InfraOnly {
		if len(missing) > 0 {
			return fmt.Errorf("missing programs: %s (run `make tools build`)", strings.Join(missing, ", "))
		}
		return nil
	}
	appTops := map[string]bool{}
	sampled := map[string]string{} // Configuration path -> its copy with TraceSampling
	for _, a := range s.run.Apps {
		if rel, err := filepath.Rel(root, a.AppDirPath); err == nil {
			appTops[strings.SplitN(rel, string(filepath.Separator), 2)[0]] = true
		}
	}
	for _, a := range s.run.Apps {
		daprd := need(s.daprdFor(a))
		// The app folder (resolved, as the dapr CLI sees it), re-rooted under the data folder
		// when that is not the repository's own, so relative paths in components
		// (../../.data/x.db) land in this run's data folder. Code and config are reached
		// through links to the repository.
		appDir := a.AppDirPath
		rel, err := filepath.Rel(root, appDir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("app %q: appDirPath %s is outside the repository", a.AppID, a.AppDirPath)
		}
		dir, err := s.sandbox(rel, appTops)
		if err != nil {
			return err
		}
		env := withEnv(base, a.Env, root, data)
		env = append(env,
			"APP_ID="+a.AppID,
			"APP_PORT="+strconv.Itoa(a.AppPort),
			"DAPR_HTTP_PORT="+strconv.Itoa(a.DaprHTTPPort),
			"DAPR_GRPC_PORT="+strconv.Itoa(a.DaprGRPCPort),
			"DAPR_METRICS_PORT="+strconv.Itoa(a.MetricsPort),
			"DATA_DIR="+data,
		)
		if t, ok := s.tokens[a.AppID]; ok {
			// The app's own pair, for the sidecar and its app alone: the app calls its
			// sidecar with DAPR_API_TOKEN, the sidecar calls the app with APP_API_TOKEN.
			env = append(env, "DAPR_API_TOKEN="+t.DaprAPI, "APP_API_TOKEN="+t.App)
		}
		sidecarEnv := withEnv(env, s.opts.Env[a.AppID+"-dapr"], root, data)
		appEnv := withEnv(env, s.opts.Env[a.AppID], root, data)
		if s.opts.TraceSampling != "" {
			// Every app names the same Configuration: write its copy once.
			orig := a.ConfigFilePath
			if sampled[orig] == "" {
				if sampled[orig], err = s.sampledConfig(orig); err != nil {
					return err
				}
			}
			a.ConfigFilePath = sampled[orig]
		}
		a.ResourcesPaths = s.componentsFor(a.ResourcesPaths)
		dargs := daprdArgs(a)
		if s.opts.Profiling {
			dargs = append(dargs, "--enable-profiling", "--profile-port", strconv.Itoa(a.MetricsPort+profilePortOffset))
			if a.AppPort > 0 {
				appEnv = append(appEnv, "PPROF_ADDR=127.0.0.1:"+strconv.Itoa(a.AppPort+appPprofOffset))
			}
		}
		s.add(&proc{name: a.procName() + "-dapr", dir: dir, argv: append([]string{daprd}, dargs...), env: sidecarEnv, log: s.sink},
			Probe{HTTP: fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", a.DaprHTTPPort)})
		if len(a.Command) > 0 {
			argv := append([]string(nil), a.Command...)
			argv[0] = need(argv[0]) // resolve made a relative command absolute
			probe := Probe{}
			if a.AppPort > 0 {
				path := a.AppHealthCheckPath
				if path == "" {
					path = "/healthz"
				}
				probe.HTTP = fmt.Sprintf("http://127.0.0.1:%d%s", a.AppPort, path)
			}
			s.add(&proc{name: a.procName(), dir: dir, argv: argv, env: appEnv, log: s.sink}, probe)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing programs: %s (run `make tools build`; nginx comes from Debian's nginx-light package)", strings.Join(missing, ", "))
	}
	return nil
}

// daprdFor is the daprd binary for app a: Options.Daprd, else the dapr CLI's choice when
// the run file or DAPR_RUNTIME_PATH names a runtime folder, else Root/.tools/bin/daprd.
func (s *Stack) daprdFor(a AppConfig) string {
	switch {
	case s.opts.Daprd != "":
		return s.opts.Daprd
	case a.runtimeChosen:
		return a.daprd
	default:
		return filepath.Join(s.opts.Root, ".tools", "bin", "daprd")
	}
}

// componentsFor swaps the repository's components/ in resources paths for
// Options.ComponentsDir when that is set.
func (s *Stack) componentsFor(paths []string) []string {
	if s.opts.ComponentsDir == "" {
		return paths
	}
	repo := filepath.Join(s.opts.Root, "components")
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p
		if rel, err := filepath.Rel(repo, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			out[i] = filepath.Join(s.opts.ComponentsDir, rel)
		}
	}
	return out
}

func (s *Stack) add(p *proc, probe Probe) {
	s.procs[p.name] = p
	s.order = append(s.order, p.name)
	s.probe[p.name] = probe
}

// sandbox returns the folder an app runs in: the repository's own folder for a run on the
// repository's data, otherwise DATA/sandbox/<rel>, where DATA/sandbox plays the repository
// root: the top-level folders that hold apps (apps/, frontend/) are real, empty folders,
// every other top-level entry is a link to the repository, and DATA/sandbox/.data is the
// data folder that the components' relative paths (../../.data/x.db) name.
func (s *Stack) sandbox(rel string, appTops map[string]bool) (string, error) {
	root, data := s.opts.Root, s.opts.DataDir
	if data == filepath.Join(root, ".data") {
		return filepath.Join(root, rel), nil
	}
	sb := filepath.Join(data, "sandbox")
	if err := os.MkdirAll(filepath.Join(sb, rel), 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		name := e.Name()
		if name == ".data" || name == ".git" || appTops[name] {
			continue
		}
		link := filepath.Join(sb, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		target := filepath.Join(root, name)
		if name == "components" && s.opts.ComponentsDir != "" {
			target = s.opts.ComponentsDir
		}
		if err := os.Symlink(target, link); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Join(sb, ".data"), 0o755); err != nil {
		return "", err
	}
	return filepath.Join(sb, rel), nil
}

// Where profiles are served when Options.Profiling is on: a sidecar on its metrics port
// plus profilePortOffset (9190 → 9290), an app on its app port plus appPprofOffset
// (5000 → 5200).
const (
	profilePortOffset = 100
	appPprofOffset    = 200
)

var samplingRateLine = regexp.MustCompile(`(?m)^(\s*samplingRate:\s*).*$`)

// sampledConfig writes a copy of the Dapr Configuration at path with the tracing
// samplingRate set to Options.TraceSampling, and returns the copy's path.
func (s *Stack) sampledConfig(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("trace sampling: %w", err)
	}
	if _, err := strconv.ParseFloat(s.opts.TraceSampling, 64); err != nil || !samplingRateLine.Match(b) {
		return "", fmt.Errorf("trace sampling %q: need a number from 0 to 1 and a samplingRate line in %s", s.opts.TraceSampling, path)
	}
	out := samplingRateLine.ReplaceAll(b, []byte(`${1}"`+s.opts.TraceSampling+`"`))
	dst := filepath.Join(s.opts.DataDir, "dapr-config-"+strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+"-sampled.yaml")
	return dst, os.WriteFile(dst, out, 0o644)
}

func daprdArgs(a AppConfig) []string {
	args := []string{
		"--app-id", a.AppID,
		"--dapr-http-port", strconv.Itoa(a.DaprHTTPPort),
		"--dapr-grpc-port", strconv.Itoa(a.DaprGRPCPort),
		"--metrics-port", strconv.Itoa(a.MetricsPort),
		"--dapr-listen-addresses", "127.0.0.1",
	}
	if a.DaprInternalGRPCPort > 0 {
		args = append(args, "--dapr-internal-grpc-port", strconv.Itoa(a.DaprInternalGRPCPort))
	}
	if a.AppPort > 0 {
		args = append(args, "--app-port", strconv.Itoa(a.AppPort))
		if a.AppProtocol != "" {
			args = append(args, "--app-protocol", a.AppProtocol)
		}
	}
	for _, p := range a.ResourcesPaths {
		args = append(args, "--resources-path", p)
	}
	if a.ConfigFilePath != "" {
		args = append(args, "--config", a.ConfigFilePath)
	}
	if a.LogLevel != "" {
		args = append(args, "--log-level", a.LogLevel)
	}
	if a.MaxBodySize != "" {
		args = append(args, "--max-body-size", a.MaxBodySize)
	}
	if a.EnableAppHealthCheck {
		args = append(args, "--enable-app-health-check", "--app-health-check-path", a.AppHealthCheckPath)
	}
	// Empty addresses switch actors, workflows and jobs off: this system uses none of them.
	placement, scheduler := "", ""
	if a.PlacementHostAddress != nil {
		placement = *a.PlacementHostAddress
	}
	if a.SchedulerHostAddress != nil {
		scheduler = *a.SchedulerHostAddress
	}
	return append(args, "--placement-host-address", placement, "--scheduler-host-address", scheduler)
}

func (s *Stack) startAll(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.ReadyTimeout)
	// Infrastructure first, each ready before the apps start.
	var infra, apps []string
	for _, name := range s.order {
		if _, ok := s.infraProcess(name); ok {
			infra = append(infra, name)
		} else {
			apps = append(apps, name)
		}
	}
	for _, group := range [][]string{infra, apps} {
		for _, name := range group {
			if err := s.procs[name].start(); err != nil {
				return err
			}
		}
		for _, name := range group {
			if err := s.waitReady(ctx, name, deadline); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Stack) infraProcess(name string) (InfraProcess, bool) {
	for _, p := range s.infra.Processes {
		if p.Name == name {
			return p, true
		}
	}
	return InfraProcess{}, false
}

// WaitReady waits until the named process answers its readiness probe.
func (s *Stack) WaitReady(ctx context.Context, name string, timeout time.Duration) error {
	return s.waitReady(ctx, name, time.Now().Add(timeout))
}

func (s *Stack) waitReady(ctx context.Context, name string, deadline time.Time) error {
	p, probe := s.procs[name], s.probe[name]
	client := &http.Client{Timeout: time.Second}
	for {
		if alive, err := p.running(); !alive {
			return fmt.Errorf("%s exited before it was ready (%v); see %s/%s.log", name, err, s.sink.dir, name)
		}
		if checkProbe(ctx, client, probe) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s was not ready in time; see %s/%s.log", name, s.sink.dir, name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func checkProbe(ctx context.Context, client *http.Client, p Probe) error {
	switch {
	case p.HTTP != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.HTTP, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return errNotReady
		}
	case p.TCP != "":
		c, err := net.DialTimeout("tcp", p.TCP, time.Second)
		if err != nil {
			return err
		}
		_ = c.Close()
	}
	return nil
}

// Stop stops everything in reverse start order: apps before their sidecars, sidecars
// before the infrastructure, so in-flight work can finish. It returns once all have exited.
func (s *Stack) Stop() {
	for i := len(s.order) - 1; i >= 0; i-- {
		s.procs[s.order[i]].stop(10 * time.Second)
	}
}

// Kill sends sig to the named process (an app id, "<appid>-dapr", or an infra name) and
// waits for it to exit. Fault tests use SIGKILL.
func (s *Stack) Kill(ctx context.Context, name string, sig syscall.Signal) error {
	p, ok := s.procs[name]
	if !ok {
		return fmt.Errorf("no process %q (have %s)", name, strings.Join(s.Names(), ", "))
	}
	p.signal(sig)
	p.wait(ctx)
	return ctx.Err()
}

// Restart starts the named process again and waits for it to be ready.
func (s *Stack) Restart(ctx context.Context, name string) error {
	p, ok := s.procs[name]
	if !ok {
		return fmt.Errorf("no process %q", name)
	}
	if err := p.start(); err != nil {
		return err
	}
	return s.waitReady(ctx, name, time.Now().Add(s.opts.ReadyTimeout))
}

// DaprAPIToken is the token the sidecar of app appID requires of its callers: that app's
// DAPR_API_TOKEN ("" with NoTokens or for an app id the run file does not have).
func (s *Stack) DaprAPIToken(appID string) string { return s.tokens[appID].DaprAPI }

// AppAPIToken is the token the sidecar of app appID presents to its app, the only one that
// app accepts ("" with NoTokens or for an app id the run file does not have).
func (s *Stack) AppAPIToken(appID string) string { return s.tokens[appID].App }

// AppIDs lists the apps that run with a sidecar, in the run file's order (a replica is
// its app, listed once).
func (s *Stack) AppIDs() []string {
	var ids []string
	seen := map[string]bool{}
	for _, a := range s.run.Apps {
		if !seen[a.AppID] {
			seen[a.AppID] = true
			ids = append(ids, a.AppID)
		}
	}
	return ids
}

func randomToken() string { return rand.Text() }

// Names lists the processes in start order.
func (s *Stack) Names() []string { return append([]string(nil), s.order...) }

// LogFile is the path of the named process's log.
func (s *Stack) LogFile(name string) string { return filepath.Join(s.sink.dir, name+".log") }

// DataDir is this run's data folder.
func (s *Stack) DataDir() string { return s.opts.DataDir }

// Wait blocks until ctx ends or any process exits on its own, and says which one.
func (s *Stack) Wait(ctx context.Context) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			for _, name := range s.order {
				if alive, err := s.procs[name].running(); !alive {
					return fmt.Errorf("%s exited (%v); see %s", name, err, s.LogFile(name))
				}
			}
		}
	}
}

// Summary is the table of what runs where that `make run` prints once everything is ready.
func (s *Stack) Summary() string {
	var b strings.Builder
	b.WriteString("\nKafka Restaurants is running:\n")
	b.WriteString("  website            http://127.0.0.1:8080\n")
	b.WriteString("  API through nginx  http://127.0.0.1:8080/api/search?restaurant_style=Chinese\n")
	b.WriteString("  mailpit (emails)   http://127.0.0.1:8025\n")
	b.WriteString("  bank ledger        http://127.0.0.1:5100/v1/ledger\n")
	b.WriteString("  Kafka              127.0.0.1:9092 (kcat -b 127.0.0.1:9092 -L)\n")
	b.WriteString("  sidecars           ")
	var parts []string
	for _, a := range s.run.Apps {
		parts = append(parts, fmt.Sprintf("%s :%d", a.AppID, a.DaprHTTPPort))
	}
	b.WriteString(strings.Join(parts, ", "))
	fmt.Fprintf(&b, "\n  logs               %s/<name>.log\nPress Ctrl-C to stop everything.\n", s.sink.dir)
	return b.String()
}

func checkPortsFree(m map[int]string) error {
	var taken []string
	for _, port := range sortedPorts(m) {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			taken = append(taken, fmt.Sprintf("%d (%s)", port, m[port]))
			continue
		}
		_ = ln.Close()
	}
	if len(taken) > 0 {
		return fmt.Errorf("ports already in use: %s; is another `make run` or test running? (ss -ltnp shows who holds them)", strings.Join(taken, ", "))
	}
	return nil
}

// baseEnv is the launcher's environment without Dapr variables of an outer run, which would
// point an app at the wrong sidecar.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "DAPR_"), strings.HasPrefix(k, "APP_"):
			continue
		}
		env = append(env, kv)
	}
	sort.Strings(env)
	return env
}

func withEnv(env []string, add map[string]string, root, data string) []string {
	out := append([]string(nil), env...)
	for k, v := range add {
		out = append(out, k+"="+expand(v, root, data))
	}
	return out
}
