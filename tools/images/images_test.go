package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Unix(1700000000, 0).UTC()

// staticBinary builds tools/cmd/pause the way the images are built (static, linux/amd64)
// into dir: a small real binary to put in images.
func staticBinary(t *testing.T, dir string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("builds a linux binary and reads it back")
	}
	out := filepath.Join(dir, "pause")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, "../cmd/pause")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	raw, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", raw)
	return out
}

func recipe(t *testing.T, n string) Recipe {
	t.Helper()
	rs, err := Select([]string{n})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	return rs[0]
}

// layerFiles reads the single layer of img: headers by path (no leading slash) and the
// content of regular files.
func layerFiles(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	mt, err := layers[0].MediaType()
	require.NoError(t, err)
	assert.Equal(t, types.OCILayer, mt)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		n := strings.TrimSuffix(h.Name, "/")
		require.NotContains(t, hdrs, n, "%s twice in the layer", n)
		hdrs[n] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			data[n] = b
		}
	}
	return hdrs, data
}

func TestImageFromBinary(t *testing.T) {
	bin := staticBinary(t, t.TempDir())
	b := &Builder{Cache: t.TempDir(), Epoch: epoch}
	tests := []struct {
		image      string
		entrypoint []string
		cmd        []string
		user       string
		xattrs     map[string]string
	}{
		{image: "api", entrypoint: []string{"/api"}, user: "65532:65532"},
		{image: "broker", entrypoint: []string{"/broker"}, user: "65532:65532"},
		// Dapr's injector gives the sidecar args ["/daprd", ...] and no command.
		{image: "daprd", cmd: []string{"/daprd"}, user: "65532:65532"},
		{image: "operator", cmd: []string{"/operator"}, user: "65532:65532"},
		{image: "mailpit", entrypoint: []string{"/mailpit"}, user: "65532:65532"},
		{image: "coredns", entrypoint: []string{"/coredns"}, user: "65532:65532",
			xattrs: map[string]string{"SCHILY.xattr.security.capability": coreDNSCapability}},
		{image: "pause", entrypoint: []string{"/pause"}, user: "65535:65535"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			img, err := b.FromBinary(recipe(t, tt.image), bin)
			require.NoError(t, err)

			mt, err := img.MediaType()
			require.NoError(t, err)
			assert.Equal(t, types.OCIManifestSchema1, mt)
			cf, err := img.ConfigFile()
			require.NoError(t, err)
			assert.Equal(t, "linux", cf.OS)
			assert.Equal(t, "amd64", cf.Architecture)
			assert.Equal(t, tt.user, cf.Config.User)
			assert.Equal(t, tt.entrypoint, cf.Config.Entrypoint)
			assert.Equal(t, tt.cmd, cf.Config.Cmd)
			assert.True(t, cf.Created.Time.Equal(epoch), "created %v", cf.Created.Time)

			hdrs, data := layerFiles(t, img)
			passwd := string(data["etc/passwd"])
			assert.Contains(t, passwd, "\nnonroot:x:65532:65532:")
			assert.Contains(t, string(data["etc/group"]), "\nnonroot:x:65532:\n")
			h := hdrs[tt.image]
			require.NotNil(t, h, "/%s is not in the layer", tt.image)
			assert.Equal(t, byte(tar.TypeReg), h.Typeflag)
			assert.Equal(t, int64(0o755), h.Mode)
			want, err := os.ReadFile(bin)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, data[tt.image]), "the binary in the layer differs from the one built")
			var xattrs map[string]string
			for k, v := range h.PAXRecords {
				if strings.HasPrefix(k, "SCHILY.xattr.") {
					if xattrs == nil {
						xattrs = map[string]string{}
					}
					xattrs[k] = v
				}
			}
			assert.Equal(t, tt.xattrs, xattrs)
			assert.Equal(t, int64(0o1777), hdrs["tmp"].Mode)
			for n, h := range hdrs {
				assert.Equal(t, 0, h.Uid, "%s uid", n)
				assert.Equal(t, 0, h.Gid, "%s gid", n)
				assert.True(t, h.ModTime.Equal(epoch), "%s mtime %v", n, h.ModTime)
				if n != "tmp" {
					assert.Equal(t, int64(0), h.Mode&0o022, "%s is writable by group or others: %o", n, h.Mode)
				}
			}
		})
	}
}

// The same binary gives the same image digest, built from scratch each time (separate
// caches); a different binary or time stamp gives another.
func TestImagesAreReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := staticBinary(t, dir)
	other := filepath.Join(dir, "other")
	raw, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(other, append(raw, 0), 0o755))

	digest := func(bin string, at time.Time) v1.Hash {
		b := &Builder{Cache: t.TempDir(), Epoch: at}
		img, err := b.FromBinary(recipe(t, "api"), bin)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		return d
	}
	first := digest(bin, epoch)
	assert.Equal(t, first, digest(bin, epoch), "same binary, same time stamps")
	assert.NotEqual(t, first, digest(other, epoch), "another binary")
	assert.NotEqual(t, first, digest(bin, epoch.Add(time.Second)), "another time stamp")

	// From the cache: the same digest again.
	b := &Builder{Cache: t.TempDir(), Epoch: epoch}
	for range 2 {
		img, err := b.FromBinary(recipe(t, "api"), bin)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		assert.Equal(t, first, d)
	}
}

func TestFromBinaryRefusesWhatCannotRun(t *testing.T) {
	b := &Builder{Cache: t.TempDir(), Epoch: epoch}
	_, err := b.FromBinary(recipe(t, "daprd"), filepath.Join(t.TempDir(), "daprd"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not built")
	assert.Contains(t, err.Error(), "tools/build-tools.sh daprd dapr-cp")

	notELF := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755))
	_, err = b.FromBinary(recipe(t, "mailpit"), notELF)
	require.Error(t, err)

	// A dynamically linked binary (the host's shell) needs a loader the image lacks.
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	_, err = b.FromBinary(recipe(t, "mailpit"), sh)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dynamically linked")
}

// Each tarball reads back through ggcr's tarball reader under its name, as the same image.
func TestTarballsRoundTrip(t *testing.T) {
	bin := staticBinary(t, t.TempDir())
	b := &Builder{Cache: t.TempDir(), Epoch: epoch}
	var built []Built
	for _, n := range []string{"api", "daprd", "pause"} {
		r := recipe(t, n)
		img, err := b.FromBinary(r, bin)
		require.NoError(t, err)
		built = append(built, Built{Recipe: r, Image: img})
	}
	dir := t.TempDir()
	naming := Naming{Registry: "example.test/kr", Tag: "1.2.3", Pins: map[string]string{"DAPRD_VERSION": "v1.18.0"}}
	paths, err := WriteTarballs(dir, naming, built, t.Logf)
	require.NoError(t, err)
	require.Len(t, paths, len(built))
	wantRefs := []string{"example.test/kr/api:1.2.3", "example.test/kr/dapr/daprd:1.18.0", "registry.k8s.io/pause:3.10"}
	for i, bi := range built {
		assert.Equal(t, filepath.Join(dir, bi.Recipe.Name+".tar"), paths[i])
		tag, err := name.NewTag(wantRefs[i])
		require.NoError(t, err)
		back, err := tarball.ImageFromPath(paths[i], &tag)
		require.NoError(t, err)
		// The docker-save format keeps the configuration (the image id) and the layers as
		// they are; the loader writes its own manifest, so the manifest digest is not kept.
		want, err := bi.Image.ConfigName()
		require.NoError(t, err)
		got, err := back.ConfigName()
		require.NoError(t, err)
		assert.Equal(t, want, got, "%s", tag)
		wantLayers, err := bi.Image.Layers()
		require.NoError(t, err)
		gotLayers, err := back.Layers()
		require.NoError(t, err)
		require.Len(t, gotLayers, len(wantLayers))
		for j := range wantLayers {
			wd, _ := wantLayers[j].Digest()
			gd, err := gotLayers[j].Digest()
			require.NoError(t, err)
			assert.Equal(t, wd, gd)
		}
		cf, err := back.ConfigFile()
		require.NoError(t, err)
		assert.Equal(t, "amd64", cf.Architecture)

		m, err := tarballManifest(paths[i])
		require.NoError(t, err)
		require.Len(t, m, 1)
		assert.Equal(t, []string{wantRefs[i]}, m[0].RepoTags)
	}

	// Written again: the same image is left alone, a changed one is rewritten.
	before, err := os.Stat(paths[0])
	require.NoError(t, err)
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(paths[0], old, old))
	_, err = WriteTarballs(dir, naming, built[:1], nil)
	require.NoError(t, err)
	after, err := os.Stat(paths[0])
	require.NoError(t, err)
	assert.True(t, after.ModTime().Equal(old), "an unchanged tarball was rewritten")
	naming.Tag = "1.2.4"
	_, err = WriteTarballs(dir, naming, built[:1], nil)
	require.NoError(t, err)
	after, err = os.Stat(paths[0])
	require.NoError(t, err)
	assert.False(t, after.ModTime().Equal(old), "a tarball under a new tag was not rewritten")
	assert.Equal(t, before.Size(), after.Size())
}

// fakeRootfs writes a root file system tarball as mmdebstrap does ("./" names, owners).
func fakeRootfs(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(p)
	require.NoError(t, err)
	tw := tar.NewWriter(f)
	add := func(h tar.Header, body string) {
		h.Size = int64(len(body))
		h.ModTime = time.Now()
		require.NoError(t, tw.WriteHeader(&h))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	add(tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}, "")
	add(tar.Header{Typeflag: tar.TypeDir, Name: "./dev/", Mode: 0o755}, "")
	add(tar.Header{Typeflag: tar.TypeChar, Name: "./dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}, "")
	add(tar.Header{Typeflag: tar.TypeDir, Name: "./etc/", Mode: 0o755}, "")
	add(tar.Header{Typeflag: tar.TypeReg, Name: "./etc/passwd", Mode: 0o644}, "root:x:0:0::/root:/bin/sh\n")
	add(tar.Header{Typeflag: tar.TypeReg, Name: "./etc/old.conf", Mode: 0o644}, "replaced")
	add(tar.Header{Typeflag: tar.TypeDir, Name: "./var/lib/postgresql/", Mode: 0o700, Uid: 70, Gid: 70}, "")
	add(tar.Header{Typeflag: tar.TypeDir, Name: "./usr/bin/", Mode: 0o755}, "")
	add(tar.Header{Typeflag: tar.TypeReg, Name: "./usr/bin/tool", Mode: 0o4755}, "tool")
	add(tar.Header{Typeflag: tar.TypeLink, Name: "./usr/bin/tool2", Linkname: "./usr/bin/tool"}, "")
	add(tar.Header{Typeflag: tar.TypeSymlink, Name: "./usr/bin/sh", Linkname: "dash"}, "")
	add(tar.Header{Typeflag: tar.TypeDir, Name: "./srv/www/", Mode: 0o755}, "")
	add(tar.Header{Typeflag: tar.TypeReg, Name: "./srv/www/index.html", Mode: 0o644}, "debian's")
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())
	return p
}

func TestImageFromRootfs(t *testing.T) {
	repo := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "site", "css"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "site", "index.html"), []byte("ours"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "site", "css", "a.css"), []byte("a{}"), 0o600))
	r := Recipe{
		Name: "web", Source: Debian,
		Debian: &DebianSpec{
			Suite: "bookworm", Packages: []string{"x"},
			Drop: []string{"etc/old.conf", "srv/www"},
			Files: []Overlay{
				{Dst: "etc/old.conf", Data: []byte("new"), Mode: 0o644},
				{Dst: "srv/www", Src: "site"},
				{Dst: "opt/app/run.sh", Data: []byte("#!/bin/sh\n"), Mode: 0o755},
				{Dst: "run/app", Dir: true, Mode: 0o2775, UID: 70, GID: 70},
			},
			Require: []string{"usr/bin/tool", "srv/www/index.html"},
		},
		Config: Config{User: "70:70", Entrypoint: []string{"/opt/app/run.sh"}, Env: []string{"A=1"}, Ports: []string{"5432/tcp"}, StopSignal: "SIGINT"},
	}
	b := &Builder{Root: repo, Cache: t.TempDir(), Epoch: epoch}
	rootfs := fakeRootfs(t)
	img, err := b.FromRootfs(r, rootfs)
	require.NoError(t, err)

	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "70:70", cf.Config.User)
	assert.Equal(t, []string{"A=1"}, cf.Config.Env)
	assert.Equal(t, map[string]struct{}{"5432/tcp": {}}, cf.Config.ExposedPorts)
	assert.Equal(t, "SIGINT", cf.Config.StopSignal)

	hdrs, data := layerFiles(t, img)
	for n, h := range hdrs {
		assert.True(t, h.ModTime.Equal(epoch), "%s mtime %v", n, h.ModTime)
		assert.False(t, strings.HasPrefix(h.Name, "./") || strings.HasPrefix(h.Name, "/"), "%s", h.Name)
	}
	// Device nodes go (the runtime makes /dev), the folder stays.
	assert.Contains(t, hdrs, "dev")
	assert.NotContains(t, hdrs, "dev/null")
	// The root file system's owners, modes and links stay.
	assert.Equal(t, 70, hdrs["var/lib/postgresql"].Uid)
	assert.Equal(t, 70, hdrs["var/lib/postgresql"].Gid)
	assert.Equal(t, int64(0o700), hdrs["var/lib/postgresql"].Mode)
	assert.Equal(t, int64(0o4755), hdrs["usr/bin/tool"].Mode)
	assert.Equal(t, "usr/bin/tool", hdrs["usr/bin/tool2"].Linkname)
	assert.Equal(t, "dash", hdrs["usr/bin/sh"].Linkname)
	// Dropped paths are replaced by the overlay, which is root-owned with normal modes.
	assert.Equal(t, "new", string(data["etc/old.conf"]))
	assert.Equal(t, "ours", string(data["srv/www/index.html"]))
	assert.Equal(t, "a{}", string(data["srv/www/css/a.css"]))
	assert.Equal(t, int64(0o644), hdrs["srv/www/index.html"].Mode)
	assert.Equal(t, int64(0o755), hdrs["srv/www/css"].Mode)
	assert.Equal(t, 0, hdrs["srv/www/index.html"].Uid)
	assert.Equal(t, int64(0o755), hdrs["opt/app/run.sh"].Mode)
	assert.Equal(t, int64(0o755), hdrs["opt"].Mode, "missing parent folders are added")
	assert.Contains(t, hdrs, "opt/app")
	assert.Equal(t, byte(tar.TypeDir), hdrs["run/app"].Typeflag)
	assert.Equal(t, int64(0o2775), hdrs["run/app"].Mode)
	assert.Equal(t, 70, hdrs["run/app"].Uid)
	assert.Equal(t, 70, hdrs["run/app"].Gid)

	// Building again from scratch gives the same digest.
	again, err := (&Builder{Root: repo, Cache: t.TempDir(), Epoch: epoch}).FromRootfs(r, rootfs)
	require.NoError(t, err)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := again.Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2)

	// A path the configuration relies on is missing: refused.
	r.Debian.Require = append(r.Debian.Require, "usr/sbin/nginx")
	_, err = b.FromRootfs(r, rootfs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/usr/sbin/nginx")
}

// The recipes are what the charts and Dapr expect of them.
func TestRecipes(t *testing.T) {
	all := Recipes()
	seen := map[string]bool{}
	for _, r := range all {
		t.Run(r.Name, func(t *testing.T) {
			assert.False(t, seen[r.Name], "two recipes named %s", r.Name)
			seen[r.Name] = true
			assert.NotEmpty(t, r.Config.User)
			assert.NotEqual(t, "0", strings.Split(r.Config.User, ":")[0], "runs as root")
			switch r.Source {
			case GoPackage:
				assert.True(t, strings.HasPrefix(r.Package, "./apps/") || strings.HasPrefix(r.Package, "./tools/cmd/"), r.Package)
				assert.Equal(t, []string{"/" + r.Name}, r.Config.Entrypoint)
			case Prebuilt:
				assert.True(t, strings.HasPrefix(r.Binary, ".tools/bin/"), r.Binary)
				assert.NotEmpty(t, r.BuildHint)
				if r.Config.Entrypoint == nil {
					assert.Equal(t, []string{"/" + r.Name}, r.Config.Cmd)
				} else {
					assert.Equal(t, []string{"/" + r.Name}, r.Config.Entrypoint)
				}
			case Debian:
				require.NotNil(t, r.Debian)
				assert.NotEmpty(t, r.Debian.Packages)
				assert.NotEmpty(t, r.Debian.Require)
				assert.NotEmpty(t, r.Config.Entrypoint)
			}
		})
	}
	for _, n := range []string{"daprd", "operator", "sentry", "placement", "injector", "scheduler"} {
		r := recipe(t, n)
		assert.Nil(t, r.Config.Entrypoint, "%s: Dapr's chart and injector give the binary as the first word", n)
		assert.Equal(t, nonRoot, r.Config.User, "%s: Dapr checks uid and gid 65532", n)
	}
	pins := map[string]string{"DAPRD_VERSION": "v1.18.0", "MAILPIT_VERSION": "v1.33.1", "COREDNS_VERSION": "v1.13.2", "ARGOCD_VERSION": "v3.6.1"}
	local := Naming{Registry: "kafka-restaurants", Tag: "dev", Pins: pins}
	pushTo := Naming{Registry: "ghcr.io/me/", Tag: "0.1.0", Pins: pins}
	refs := []struct{ image, ref, push string }{
		{"api", "kafka-restaurants/api:dev", "ghcr.io/me/api:0.1.0"},
		{"postgresql", "kafka-restaurants/postgresql:dev", "ghcr.io/me/postgresql:0.1.0"},
		// Dapr's chart: --set global.registry=<registry>/dapr --set global.tag=1.18.0.
		{"daprd", "kafka-restaurants/dapr/daprd:1.18.0", "ghcr.io/me/dapr/daprd:1.18.0"},
		{"scheduler", "kafka-restaurants/dapr/scheduler:1.18.0", "ghcr.io/me/dapr/scheduler:1.18.0"},
		{"mailpit", "kafka-restaurants/mailpit:v1.33.1", "ghcr.io/me/mailpit:v1.33.1"},
		{"coredns", "kafka-restaurants/coredns:1.13.2", "ghcr.io/me/coredns:1.13.2"},
		// Argo CD's manifests, images swapped: quay.io/argoproj/argocd:v3.6.1 → this.
		{"argocd", "kafka-restaurants/argocd:3.6.1", "ghcr.io/me/argocd:3.6.1"},
		{"pause", "registry.k8s.io/pause:3.10", "ghcr.io/me/pause:3.10"},
	}
	for _, tt := range refs {
		got, err := local.Ref(recipe(t, tt.image))
		require.NoError(t, err)
		assert.Equal(t, tt.ref, got)
		got, err = pushTo.PushRef(recipe(t, tt.image))
		require.NoError(t, err)
		assert.Equal(t, tt.push, got)
	}
	_, err := Naming{Registry: "r", Tag: "t"}.Ref(recipe(t, "daprd"))
	assert.ErrorContains(t, err, "DAPRD_VERSION")

	// The pins are read from tools/build-tools.sh as they are written there.
	read, err := ReadPins(filepath.Join("..", ".."))
	require.NoError(t, err)
	for _, r := range all {
		if r.Pin != "" {
			assert.Regexp(t, `^v[0-9]+\.[0-9]+\.[0-9]+$`, read[r.Pin], "%s: %s", r.Name, r.Pin)
		}
	}

	plain, err := Select(nil)
	require.NoError(t, err)
	assert.NotContains(t, Names(plain), "argocd", "a plain make images builds Argo CD's image (needs tools/build-tools.sh argocd)")
	assert.Contains(t, Names(plain), "api")
	gitops, err := Select([]string{"gitops"})
	require.NoError(t, err)
	assert.Equal(t, []string{"argocd", "argocd-redis", "gitserver"}, Names(gitops))

	app, err := Select([]string{"app", "pause"})
	require.NoError(t, err)
	assert.Equal(t, []string{"api", "transactions", "email", "catalog", "bank", "netcheck", "dlq", "frontend", "pause"}, Names(app))

	_, err = Select([]string{"nginx"})
	assert.ErrorContains(t, err, `no image "nginx"`)
}

// The frontend's entrypoint renders the templates with only the filtered variables, as
// the official nginx image's does, and then runs the command.
func TestNginxEntrypointRendersTemplates(t *testing.T) {
	if _, err := exec.LookPath("envsubst"); err != nil {
		t.Skip("envsubst (gettext-base) is not installed")
	}
	dir := t.TempDir()
	tpl, out := filepath.Join(dir, "templates"), filepath.Join(dir, "conf.d")
	require.NoError(t, os.MkdirAll(tpl, 0o755))
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tpl, "default.conf.template"),
		[]byte("listen ${NGINX_PORT}; root ${NGINX_ROOT}; set $x $uri; ${OTHER}\n"), 0o644))
	script := filepath.Join(dir, "entrypoint.sh")
	require.NoError(t, os.WriteFile(script, nginxEntrypoint, 0o755))

	cmd := exec.Command("sh", script, "sh", "-c", "echo ran")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"NGINX_ENVSUBST_TEMPLATE_DIR=" + tpl, "NGINX_ENVSUBST_OUTPUT_DIR=" + out,
		"NGINX_PORT=8080", "NGINX_ROOT=/usr/share/nginx/html", "OTHER=left",
		"NGINX_ENVSUBST_FILTER=^(NGINX_PORT|NGINX_ROOT)$",
	}
	raw, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", raw)
	assert.Equal(t, "ran\n", string(raw))
	got, err := os.ReadFile(filepath.Join(out, "default.conf"))
	require.NoError(t, err)
	assert.Equal(t, "listen 8080; root /usr/share/nginx/html; set $x $uri; ${OTHER}\n", string(got))
}

// The layer cache's metadata is what the layer is: a cached layer's digests match its blob.
func TestCachedLayerDigests(t *testing.T) {
	p := plan{entries: []Entry{Dir("etc", 0o755), File("etc/hello", 0o644, []byte("hi"))}, epoch: epoch}
	dir := t.TempDir()
	l1, cached, err := p.layer(dir)
	require.NoError(t, err)
	assert.False(t, cached)
	l2, cached, err := p.layer(dir)
	require.NoError(t, err)
	assert.True(t, cached)
	for _, l := range []v1.Layer{l1, l2} {
		rc, err := l.Compressed()
		require.NoError(t, err)
		d, n, err := v1.SHA256(rc)
		rc.Close()
		require.NoError(t, err)
		want, _ := l.Digest()
		size, _ := l.Size()
		assert.Equal(t, want, d)
		assert.Equal(t, size, n)
		rc, err = l.Uncompressed()
		require.NoError(t, err)
		d, _, err = v1.SHA256(rc)
		rc.Close()
		require.NoError(t, err)
		want, _ = l.DiffID()
		assert.Equal(t, want, d)
	}
	// A corrupt cache entry (blob of another size) is rebuilt, not trusted.
	key, err := p.key()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, key+".tar.gz"), []byte("x"), 0o644))
	_, cached, err = p.layer(dir)
	require.NoError(t, err)
	assert.False(t, cached)
	var m layerMeta
	raw, err := os.ReadFile(filepath.Join(dir, key+".json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Greater(t, m.Size, int64(1))
}

// Push writes each image to a registry under its PushRef, byte for byte: the digest that
// comes back is the one built.
func TestPushToARegistry(t *testing.T) {
	bin := staticBinary(t, t.TempDir())
	b := &Builder{Cache: t.TempDir(), Epoch: epoch}
	var built []Built
	for _, n := range []string{"api", "pause"} {
		r := recipe(t, n)
		img, err := b.FromBinary(r, bin)
		require.NoError(t, err)
		built = append(built, Built{Recipe: r, Image: img})
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	n := Naming{Registry: host + "/kr", Tag: "0.1.0"}
	require.NoError(t, Push(context.Background(), n, built, true, t.Logf))
	for i, want := range []string{host + "/kr/api:0.1.0", host + "/kr/pause:3.10"} {
		ref, err := name.ParseReference(want, name.Insecure)
		require.NoError(t, err)
		got, err := remote.Image(ref)
		require.NoError(t, err, want)
		gd, err := got.Digest()
		require.NoError(t, err)
		wd, err := built[i].Image.Digest()
		require.NoError(t, err)
		assert.Equal(t, wd, gd, want)
		mt, err := got.MediaType()
		require.NoError(t, err)
		assert.Equal(t, types.OCIManifestSchema1, mt)
	}
}
