// Package images builds the container images of Kafka Restaurants without a container
// daemon: Go services and prebuilt static tools in images from nothing, and the
// Debian-based frontend (nginx) and PostgreSQL from a minimal bookworm root file system
// made by mmdebstrap. Every image is one layer, linux/amd64, with fixed time stamps, so
// the same inputs give the same digest. tools/cmd/images is its command line.
package images

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Source says where an image's content comes from.
type Source int

const (
	// GoPackage: `CGO_ENABLED=0 go build -trimpath` of a main package of the workspace.
	GoPackage Source = iota
	// Prebuilt: a static binary that tools/build-tools.sh built under .tools/bin.
	Prebuilt
	// Debian: a minimal Debian bookworm root file system with packages, plus files.
	Debian
)

// Recipe is one image.
type Recipe struct {
	// Name is the recipe's name, and the image's repository under the registry unless
	// Repo says otherwise: <registry>/<Name>:<tag>.
	Name string
	Repo string
	// Pin, when set, names the version pin in tools/build-tools.sh (DAPRD_VERSION...) of a
	// prebuilt tool: its value, not the tag of the run, tags the image, without its "v"
	// when TrimV (as upstream tags Dapr and CoreDNS). Stamp is the version file the build
	// wrote next to the binary, which must say the same.
	Pin, Stamp string
	TrimV      bool
	// FixedRef, when set, is the image's whole reference regardless of registry and tag
	// (the pause image is looked up by containerd under registry.k8s.io's name).
	FixedRef string
	Source   Source
	// Package (GoPackage) is the main package, relative to the repository root.
	Package string
	// Binary (Prebuilt) is the binary, relative to the repository root, and BuildHint
	// the command that builds it.
	Binary, BuildHint string
	// Xattrs of the binary in the image (a file capability).
	Xattrs map[string]string
	// Debian (Debian) is the root file system.
	Debian *DebianSpec
	Config Config
	// Extra images are built only when named (or their group is): not part of a plain
	// `make images`.
	Extra bool
}

// Config is the part of the OCI image configuration a recipe sets.
type Config struct {
	User       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	Ports      []string // "8080/tcp"
	WorkingDir string
	StopSignal string
}

// DebianSpec is a root file system made by mmdebstrap, and what goes over it.
type DebianSpec struct {
	Suite    string
	Packages []string
	// Hook runs on the host after the packages are installed, with the root file system
	// as $1 (an mmdebstrap customize hook).
	Hook string
	// Drop are paths of the root file system left out of the image, with everything
	// below them ("dir/": only what is below).
	Drop []string
	// Files go over the root file system, in order.
	Files []Overlay
	// Require are paths that must be in the image (a check that the packages still put
	// things where the configuration expects them).
	Require []string
}

// Overlay is a file, directory tree or empty directory added to a Debian image.
type Overlay struct {
	Dst string // path in the image
	Src string // a file or directory of the repository, or
	// Package is a main package of the workspace, built as GoPackage recipes are, or
	Package string
	Data    []byte // the content, or
	Dir     bool   // an empty directory, or
	Link    string // a symbolic link to this target
	Mode    int64  // for Data, Dir and single files; trees get 0755 directories and 0644 files
	// UID and GID own Data and Dir entries (root otherwise).
	UID, GID int
}

// UID and GID of the user every image from nothing runs as (distroless' "nonroot").
// Dapr's sidecar injector and control plane check for exactly 65532:65532.
const (
	NonRootUID = 65532
	NonRootGID = 65532
)

const nonRoot = "65532:65532"

// HostCABundle is the host's CA bundle (Debian's ca-certificates), which the command
// copies into images from nothing as distroless has it, for the few outbound TLS
// connections (daprd to a managed PostgreSQL or Kafka, an SMTP relay).
const HostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// coreDNSCapability is the file capability cap_net_bind_service=+ep (vfs_cap_data revision
// 2, effective), which upstream's CoreDNS image sets so that nonroot can bind port 53.
var coreDNSCapability = string([]byte{
	0x01, 0x00, 0x00, 0x02, // magic: revision 2, effective
	0x00, 0x04, 0x00, 0x00, // permitted[0]: 1 << CAP_NET_BIND_SERVICE (10)
	0x00, 0x00, 0x00, 0x00, // inheritable[0]
	0x00, 0x00, 0x00, 0x00, // permitted[1]
	0x00, 0x00, 0x00, 0x00, // inheritable[1]
})

var (
	//go:embed files/nginx.conf
	nginxConf []byte
	//go:embed files/nginx-entrypoint.sh
	nginxEntrypoint []byte
	//go:embed files/postgres-entrypoint.sh
	postgresEntrypoint []byte
)

const debianPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// PostgresMajor is the PostgreSQL of Debian bookworm.
const PostgresMajor = "15"

func goService(name, pkg string, ports ...string) Recipe {
	return Recipe{Name: name, Source: GoPackage, Package: pkg,
		Config: Config{User: nonRoot, Entrypoint: []string{"/" + name}, Ports: ports}}
}

// daprImage is one image of Dapr's Helm chart: <global.registry>/<name>:<global.tag> with
// the binary at /<name> and no entrypoint, like Dapr's own images. The chart's control
// plane containers set command: ["/<name>"], and the sidecar injector gives daprd
// args: ["/daprd", "--app-id", ...] without a command: an entrypoint would run
// "/daprd /daprd --app-id ...", and daprd would ignore every flag after the first word.
func daprImage(name, binary, stamp string) Recipe {
	return Recipe{Name: name, Repo: "dapr/" + name, Source: Prebuilt, Binary: binary,
		Pin: "DAPRD_VERSION", Stamp: stamp, TrimV: true,
		BuildHint: "tools/build-tools.sh daprd dapr-cp",
		Config:    Config{User: nonRoot, Cmd: []string{"/" + name}}}
}

// Recipes are every image, in build order.
func Recipes() []Recipe {
	return []Recipe{
		goService("api", "./apps/api", "5000/tcp"),
		goService("transactions", "./apps/transactions", "5001/tcp"),
		goService("email", "./apps/email", "5002/tcp"),
		goService("catalog", "./apps/catalog", "5003/tcp"),
		goService("bank", "./apps/bank", "5100/tcp"),
		// The Kafka-protocol broker (kfake) that runs in the cluster in Strimzi's place.
		goService("broker", "./tools/cmd/broker", "9092/tcp"),
		// Beside it, what reports that Kafka cluster and its topics Ready as Strimzi would.
		goService("strimzi-status", "./tools/cmd/strimzi-status"),
		// The app chart's wait-for-dependencies init container, and the cluster tests' probe.
		goService("netcheck", "./tools/cmd/netcheck"),
		// Lists and replays the dead-letter topics: `make dlq` locally, the chart's dlq Jobs
		// in a cluster (helm/kafka-restaurants/templates/dlq.yaml).
		goService("dlq", "./tools/cmd/dlq"),
		{
			Name: "frontend", Source: Debian,
			Debian: &DebianSpec{
				Suite:    "bookworm",
				Packages: []string{"nginx-light", "gettext-base"},
				// The chart runs nginx as uid/gid 101 (the official nginx images' user);
				// logs go to the container's stdout and stderr; Debian's default site
				// and its /var/www are not used.
				Hook: `r="$1"
if grep -q '^[^:]*:[^:]*:101:' "$r/etc/passwd" || grep -q '^[^:]*:[^:]*:101:' "$r/etc/group"; then
	echo "uid or gid 101 is taken in the root file system" >&2; exit 1
fi
echo 'nginx:x:101:101:nginx:/nonexistent:/usr/sbin/nologin' >>"$r/etc/passwd"
echo 'nginx:x:101:' >>"$r/etc/group"
rm -rf "$r/etc/nginx/sites-available" "$r/etc/nginx/sites-enabled" "$r/var/www"
mkdir -p "$r/var/log/nginx" "$r/var/cache/nginx" "$r/etc/nginx/conf.d"
# Where nginx writes at run time: emptyDirs in the chart; uid 101's own for docker run.
chown 101:101 "$r/var/cache/nginx" "$r/etc/nginx/conf.d"
ln -sf /dev/stdout "$r/var/log/nginx/access.log"
ln -sf /dev/stderr "$r/var/log/nginx/error.log"`,
				Drop: []string{"etc/nginx/nginx.conf", "usr/share/nginx/html"},
				Files: []Overlay{
					{Dst: "etc/nginx/nginx.conf", Data: nginxConf, Mode: 0o644},
					{Dst: "etc/nginx/templates/default.conf.template", Src: "frontend/nginx/default.conf.template", Mode: 0o644},
					{Dst: "usr/share/nginx/html", Src: "frontend/public"},
					{Dst: "docker-entrypoint.sh", Data: nginxEntrypoint, Mode: 0o755},
				},
				Require: []string{"usr/sbin/nginx", "usr/bin/envsubst", "etc/nginx/mime.types", "usr/share/nginx/html/index.html"},
			},
			Config: Config{
				User:       "101:101",
				Entrypoint: []string{"/docker-entrypoint.sh"},
				Cmd:        []string{"nginx", "-e", "stderr"},
				// What the chart sets too; the defaults for running the image by hand.
				Env: []string{
					debianPath,
					"NGINX_PORT=8080",
					"DAPR_HTTP_PORT=3500",
					"API_APP_ID=api",
					"NGINX_ROOT=/usr/share/nginx/html",
					"NGINX_ORDER_RATE=2r/s",
					"NGINX_ORDER_BURST=5",
					"DAPR_API_TOKEN=",
					"NGINX_CACHE_DIR=/var/cache/nginx/catalog",
					"NGINX_REAL_IP=", // no trusted proxy: every client is its peer address
					"NGINX_ENVSUBST_FILTER=^(NGINX_PORT|DAPR_HTTP_PORT|API_APP_ID|NGINX_ROOT|NGINX_ORDER_RATE|NGINX_ORDER_BURST|DAPR_API_TOKEN|NGINX_CACHE_DIR|NGINX_REAL_IP)$",
				},
				Ports:      []string{"8080/tcp"},
				StopSignal: "SIGQUIT", // nginx's graceful shutdown
			},
		},
		{
			Name: "postgresql", Source: Debian,
			Debian: &DebianSpec{
				Suite:    "bookworm",
				Packages: []string{"postgresql-" + PostgresMajor},
				// helm/postgresql runs PostgreSQL as uid/gid 70 (the official Alpine
				// image's): Debian's postgres user gets those ids. The cluster and the
				// snake-oil TLS key that the package's scripts create are removed: the
				// entrypoint makes the cluster in $PGDATA on first start.
				Hook: `r="$1"
ou=$(sed -n 's/^postgres:[^:]*:\([0-9]*\):.*/\1/p' "$r/etc/passwd")
og=$(sed -n 's/^postgres:[^:]*:\([0-9]*\):.*/\1/p' "$r/etc/group")
[ -n "$ou" ] && [ -n "$og" ] || { echo "no postgres user or group" >&2; exit 1; }
if grep -v '^postgres:' "$r/etc/passwd" | grep -q '^[^:]*:[^:]*:70:' || grep -v '^postgres:' "$r/etc/group" | grep -q '^[^:]*:[^:]*:70:'; then
	echo "uid or gid 70 is taken in the root file system" >&2; exit 1
fi
sed -i "s/^postgres:\([^:]*\):$ou:$og:/postgres:\1:70:70:/" "$r/etc/passwd"
sed -i "s/^postgres:\([^:]*\):$og:/postgres:\1:70:/" "$r/etc/group"
find "$r" -xdev -uid "$ou" -exec chown -h 70 {} +
find "$r" -xdev -gid "$og" -exec chgrp -h 70 {} +
rm -rf "$r/etc/postgresql/` + PostgresMajor + `" "$r/var/lib/postgresql/` + PostgresMajor + `" "$r/var/log/postgresql"
rm -f "$r/etc/ssl/private/ssl-cert-snakeoil.key" "$r/etc/ssl/certs/ssl-cert-snakeoil.pem"
mkdir -p "$r/var/lib/postgresql/data"
chown 70:70 "$r/var/lib/postgresql" "$r/var/lib/postgresql/data"
chmod 700 "$r/var/lib/postgresql/data"`,
				// JIT compilation (LLVM and Z3, 170 MB of the 330) stays out: PostgreSQL
				// runs without JIT when its provider is missing, and the entrypoint turns
				// it off. So do the locale sources (C.UTF-8 is built into libc).
				Drop: []string{
					"usr/lib/postgresql/" + PostgresMajor + "/lib/llvmjit.so",
					"usr/lib/postgresql/" + PostgresMajor + "/lib/llvmjit_types.bc",
					"usr/lib/postgresql/" + PostgresMajor + "/lib/bitcode",
					"usr/lib/x86_64-linux-gnu/libLLVM-14.so",
					"usr/lib/x86_64-linux-gnu/libLLVM-14.so.1",
					"usr/lib/x86_64-linux-gnu/libz3.so.4",
					"usr/share/i18n",
				},
				Files: []Overlay{
					{Dst: "usr/local/bin/docker-entrypoint.sh", Data: postgresEntrypoint, Mode: 0o755},
					// The socket folder (a volume in the chart); mmdebstrap empties /run.
					{Dst: "run/postgresql", Dir: true, Mode: 0o2775, UID: 70, GID: 70},
				},
				Require: []string{
					"usr/lib/postgresql/" + PostgresMajor + "/bin/postgres",
					"usr/lib/postgresql/" + PostgresMajor + "/bin/initdb",
					"usr/lib/postgresql/" + PostgresMajor + "/bin/pg_isready",
					"usr/lib/locale/C.utf8/LC_CTYPE",
				},
			},
			Config: Config{
				User:       "70:70",
				Entrypoint: []string{"/usr/local/bin/docker-entrypoint.sh"},
				Cmd:        []string{"postgres"},
				Env: []string{
					"PATH=/usr/lib/postgresql/" + PostgresMajor + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					"PGDATA=/var/lib/postgresql/data",
					"LANG=C.UTF-8",
				},
				Ports:      []string{"5432/tcp"},
				StopSignal: "SIGINT", // PostgreSQL's fast shutdown
			},
		},
		// The Dapr runtime and control plane at the Dapr version, for Dapr's own Helm chart:
		// --set global.registry=<registry>/dapr --set global.tag=1.18.0.
		daprImage("daprd", ".tools/bin/daprd", ".tools/bin/daprd.version"),
		daprImage("operator", ".tools/bin/dapr-cp/operator", ".tools/bin/dapr-cp/operator.version"),
		daprImage("sentry", ".tools/bin/dapr-cp/sentry", ".tools/bin/dapr-cp/operator.version"),
		daprImage("placement", ".tools/bin/dapr-cp/placement", ".tools/bin/dapr-cp/operator.version"),
		daprImage("injector", ".tools/bin/dapr-cp/injector", ".tools/bin/dapr-cp/operator.version"),
		daprImage("scheduler", ".tools/bin/dapr-cp/scheduler", ".tools/bin/dapr-cp/operator.version"),
		{
			// <registry>/mailpit:v1.33.1, tagged as axllent/mailpit is.
			Name: "mailpit", Source: Prebuilt, Binary: ".tools/bin/mailpit", BuildHint: "tools/build-tools.sh mailpit",
			Pin: "MAILPIT_VERSION", Stamp: ".tools/bin/mailpit.version",
			Config: Config{User: nonRoot, Entrypoint: []string{"/mailpit"}, Ports: []string{"1025/tcp", "8025/tcp"}},
		},
		{
			// <registry>/coredns:1.13.2, tagged as coredns/coredns is.
			Name: "coredns", Source: Prebuilt, Binary: ".tools/bin/coredns", BuildHint: "tools/build-tools.sh coredns",
			Pin: "COREDNS_VERSION", Stamp: ".tools/bin/coredns.version", TrimV: true,
			Xattrs: map[string]string{"security.capability": coreDNSCapability},
			Config: Config{User: nonRoot, Entrypoint: []string{"/coredns"}, Ports: []string{"53/tcp", "53/udp"}},
		},
		{
			// The pod sandbox's process, under the name containerd's sandbox_image uses.
			Name: "pause", FixedRef: "registry.k8s.io/pause:3.10", Source: GoPackage, Package: "./tools/cmd/pause",
			Config: Config{User: "65535:65535", Entrypoint: []string{"/pause"}},
		},
		argoCD(), argoCDRedis(), gitServer(),
	}
}

// Naming turns recipes into image references: <Registry>/<repo>:<Tag>, or the version
// of a prebuilt tool (Pins, from tools/build-tools.sh), or a recipe's FixedRef.
type Naming struct {
	Registry, Tag string
	Pins          map[string]string
}

// tag is the recipe's tag: the run's, or its tool's pinned version.
func (n Naming) tag(r Recipe) (string, error) {
	if r.Pin == "" {
		return n.Tag, nil
	}
	v, ok := n.Pins[r.Pin]
	if !ok {
		return "", fmt.Errorf("image %s: no %s in tools/build-tools.sh", r.Name, r.Pin)
	}
	if r.TrimV {
		v = strings.TrimPrefix(v, "v")
	}
	return v, nil
}

func (r Recipe) repo() string {
	if r.Repo != "" {
		return r.Repo
	}
	return r.Name
}

// Ref is the image's reference in the tarballs.
func (n Naming) Ref(r Recipe) (string, error) {
	if r.FixedRef != "" {
		return r.FixedRef, nil
	}
	tag, err := n.tag(r)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%s:%s", strings.TrimSuffix(n.Registry, "/"), r.repo(), tag), nil
}

// PushRef is where -push puts the image: its Ref under the push registry; a FixedRef
// becomes <registry>/<name>:<its own tag> (a registry of one's own cannot hold
// registry.k8s.io's name).
func (n Naming) PushRef(r Recipe) (string, error) {
	if r.FixedRef == "" {
		return n.Ref(r)
	}
	tag := n.Tag
	if i := strings.LastIndex(r.FixedRef, ":"); i > strings.LastIndex(r.FixedRef, "/") {
		tag = r.FixedRef[i+1:]
	}
	return fmt.Sprintf("%s/%s:%s", strings.TrimSuffix(n.Registry, "/"), r.repo(), tag), nil
}

var pinLine = regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*_VERSION)=(\S+)\s*$`)

// ReadPins reads the version pins (NAME_VERSION=value lines) of tools/build-tools.sh.
func ReadPins(root string) (map[string]string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "tools", "build-tools.sh"))
	if err != nil {
		return nil, err
	}
	pins := map[string]string{}
	for _, m := range pinLine.FindAllStringSubmatch(string(raw), -1) {
		pins[m[1]] = m[2]
	}
	return pins, nil
}

// Select returns the recipes with the given names, all but the Extra ones for none. A group name
// selects several: "go" (the Go services), "dapr" (daprd and the control plane),
// "debian" (frontend and postgresql), "cluster" (what a cluster needs besides the
// application: Dapr, mailpit, coredns, pause, postgresql, broker), "gitops" (Argo CD,
// its Redis and the git server, for the local cluster's Argo CD run).
func Select(names []string) ([]Recipe, error) {
	all := Recipes()
	if len(names) == 0 {
		var out []Recipe
		for _, r := range all {
			if !r.Extra {
				out = append(out, r)
			}
		}
		return out, nil
	}
	groups := map[string][]string{
		"go":      {"api", "transactions", "email", "catalog", "bank", "broker", "strimzi-status", "netcheck", "dlq"},
		"app":     {"api", "transactions", "email", "catalog", "bank", "frontend", "netcheck", "dlq"},
		"dapr":    {"daprd", "operator", "sentry", "placement", "injector", "scheduler"},
		"debian":  {"frontend", "postgresql"},
		"cluster": {"broker", "strimzi-status", "postgresql", "daprd", "operator", "sentry", "placement", "injector", "scheduler", "mailpit", "coredns", "pause"},
		"gitops":  {"argocd", "argocd-redis", "gitserver"},
	}
	want := map[string]bool{}
	for _, n := range names {
		if g, ok := groups[n]; ok {
			for _, m := range g {
				want[m] = true
			}
			continue
		}
		found := false
		for _, r := range all {
			found = found || r.Name == n
		}
		if !found {
			return nil, fmt.Errorf("no image %q (images: %s; groups: go, app, dapr, debian, cluster, gitops)", n, strings.Join(Names(all), ", "))
		}
		want[n] = true
	}
	var out []Recipe
	for _, r := range all {
		if want[r.Name] {
			out = append(out, r)
		}
	}
	return out, nil
}

// Names lists the recipes' names.
func Names(rs []Recipe) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}
