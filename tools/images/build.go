package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Built is a recipe's image.
type Built struct {
	Recipe Recipe
	Image  v1.Image
}

// DefaultMirrors are Debian bookworm with its updates and security updates.
var DefaultMirrors = []string{
	"deb http://deb.debian.org/debian bookworm main",
	"deb http://deb.debian.org/debian bookworm-updates main",
	"deb http://deb.debian.org/debian-security bookworm-security main",
}

// Build makes the images of recipes: the Go binaries in one `go build`, the Debian root
// file systems with mmdebstrap (or from the cache), then two images at a time.
func (b *Builder) Build(ctx context.Context, recipes []Recipe) ([]Built, error) {
	bins, err := b.goBuild(ctx, recipes)
	if err != nil {
		return nil, err
	}
	out := make([]Built, len(recipes))
	errs := make([]error, len(recipes))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, r := range recipes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var img v1.Image
			var err error
			switch r.Source {
			case GoPackage:
				img, err = b.FromBinary(r, bins[r.Name])
			case Prebuilt:
				if err = b.checkStamp(r); err == nil {
					img, err = b.FromBinary(r, filepath.Join(b.Root, r.Binary))
				}
			case Debian:
				var rootfs string
				if err = b.checkStamp(r); err != nil {
					break
				}
				if rootfs, err = b.Rootfs(ctx, r); err == nil {
					img, err = b.FromRootfs(withBinaries(r, bins), rootfs)
				}
			}
			out[i], errs[i] = Built{Recipe: r, Image: img}, err
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// checkStamp makes sure a prebuilt tool was built at the version its image is tagged with.
func (b *Builder) checkStamp(r Recipe) error {
	if r.Pin == "" || r.Stamp == "" {
		return nil
	}
	want := b.Pins[r.Pin]
	raw, err := os.ReadFile(filepath.Join(b.Root, r.Stamp))
	if err != nil {
		return fmt.Errorf("image %s: %s is not built (%s builds it)", r.Name, r.Binary, r.BuildHint)
	}
	if got := strings.TrimSpace(string(raw)); got != want {
		return fmt.Errorf("image %s: %s was built at %s, tools/build-tools.sh pins %s=%s (%s rebuilds it)", r.Name, r.Binary, got, r.Pin, want, r.BuildHint)
	}
	return nil
}

// goBuild builds every GoPackage recipe's binary in one go build (static, trimmed, no
// VCS stamp: the same source gives the same binary) and returns name → path.
func (b *Builder) goBuild(ctx context.Context, recipes []Recipe) (map[string]string, error) {
	var pkgs []string
	for _, r := range recipes {
		switch {
		case r.Source == GoPackage:
			pkgs = append(pkgs, r.Package)
		case r.Source == Debian:
			for _, o := range r.Debian.Files {
				if o.Package != "" {
					pkgs = append(pkgs, o.Package)
				}
			}
		}
	}
	if len(pkgs) == 0 {
		return nil, nil
	}
	dir := filepath.Join(b.Cache, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", dir + "/"}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	b.logf("go build of %d binaries: %s", len(pkgs), time.Since(start).Round(time.Millisecond))
	bins := map[string]string{}
	for _, r := range recipes {
		if r.Source == GoPackage {
			bins[r.Name] = filepath.Join(dir, filepath.Base(r.Package))
		}
	}
	for _, p := range pkgs {
		bins[p] = filepath.Join(dir, filepath.Base(p))
	}
	return bins, nil
}

// withBinaries points the overlays of a Debian recipe that carry a Go package at the
// binaries goBuild made of them (keyed by package).
func withBinaries(r Recipe, bins map[string]string) Recipe {
	d := *r.Debian
	d.Files = slices.Clone(d.Files)
	for i, o := range d.Files {
		if o.Package != "" {
			d.Files[i].Src, d.Files[i].Package = bins[o.Package], ""
		}
	}
	r.Debian = &d
	return r
}

// rootfsFormat changes when the way root file systems are made changes.
const rootfsFormat = "kafka-restaurants-rootfs-1"

// dpkgOptions keep documentation, manuals and translations out of the root file system
// (copyright files stay).
var dpkgOptions = []string{
	"path-exclude=/usr/share/doc/*",
	"path-include=/usr/share/doc/*/copyright",
	"path-exclude=/usr/share/man/*",
	"path-exclude=/usr/share/info/*",
	"path-exclude=/usr/share/locale/*",
	"path-exclude=/usr/share/lintian/*",
	"path-exclude=/usr/share/bug/*",
}

// trimHook removes what the package scripts leave behind and an image does not need.
const trimHook = `r="$1"
rm -rf "$r"/var/log/* "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old "$r"/var/cache/ldconfig/aux-cache
rm -f "$r"/etc/passwd- "$r"/etc/group- "$r"/etc/shadow- "$r"/etc/gshadow-`

// mergedUsrHooks is mmdebstrap's own hook for a merged /usr made with directory links in
// the setup phase (as debootstrap does): without it, apt satisfies init-system-helpers'
// "usrmerge | usr-is-merged" with usrmerge, and usrmerge brings 50 MB of perl.
const mergedUsrHooks = "/usr/share/mmdebstrap/hooks/merged-usr"

// rootfsArgs is mmdebstrap's command line for r, writing the tarball out.
func (b *Builder) rootfsArgs(r Recipe, out string) []string {
	d := r.Debian
	args := []string{"--variant=minbase", "--format=tar", "--include=" + strings.Join(d.Packages, ","),
		"--hook-dir=" + mergedUsrHooks}
	for _, o := range dpkgOptions {
		args = append(args, "--dpkgopt="+o)
	}
	args = append(args, "--customize-hook="+trimHook)
	if d.Hook != "" {
		args = append(args, "--customize-hook="+d.Hook)
	}
	args = append(args, d.Suite, out)
	return append(args, b.mirrors()...)
}

func (b *Builder) mirrors() []string {
	if len(b.Mirrors) > 0 {
		return b.Mirrors
	}
	return DefaultMirrors
}

// Rootfs returns the root file system tarball of a Debian recipe: made by mmdebstrap
// once and then kept under Cache/rootfs, keyed by everything that goes into it (suite,
// packages, hooks, mirrors). RefreshRootfs makes it again (for security updates).
func (b *Builder) Rootfs(ctx context.Context, r Recipe) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n", rootfsFormat, b.rootfsArgs(r, "OUT"))
	key := hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(b.Cache, "rootfs")
	out := filepath.Join(dir, r.Name+"-"+key+".tar")
	if _, err := os.Stat(out); err == nil && !b.RefreshRootfs {
		return out, nil
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return "", fmt.Errorf("image %s: mmdebstrap is not installed (apt-get install mmdebstrap)", r.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	start := time.Now()
	b.logf("%-12s mmdebstrap %s %s (a minute or two)...", r.Name, r.Debian.Suite, strings.Join(r.Debian.Packages, " "))
	logFile := filepath.Join(dir, r.Name+"-"+key+".log")
	lf, err := os.Create(logFile)
	if err != nil {
		return "", err
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, "mmdebstrap", b.rootfsArgs(r, tmp)...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Interrupted: let mmdebstrap unmount and remove its temporary root file system.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		hint := ""
		if os.Geteuid() != 0 {
			hint = "; run as root"
		}
		return "", fmt.Errorf("image %s: mmdebstrap: %w (log: %s%s)", r.Name, err, logFile, hint)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	// Older root file systems of this image are not needed any more.
	old, _ := filepath.Glob(filepath.Join(dir, r.Name+"-*"))
	for _, o := range old {
		if o != out && o != logFile {
			os.Remove(o)
		}
	}
	st, _ := os.Stat(out)
	b.logf("%-12s root file system %.1f MB in %s", r.Name, float64(st.Size())/1e6, time.Since(start).Round(time.Second))
	return out, nil
}

// WriteTarballs writes one `docker save`-style tarball per image, dir/<name>.tar, tagged
// with its Ref (what `docker load`, `ctr images import` and `minikube image load` read). A
// tarball that already holds the same image under the same name is left as it is. It
// returns the paths.
func WriteTarballs(dir string, n Naming, built []Built, logf func(string, ...any)) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, bi := range built {
		s, err := n.Ref(bi.Recipe)
		if err != nil {
			return nil, err
		}
		ref, err := name.ParseReference(s)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, bi.Recipe.Name+".tar")
		paths = append(paths, p)
		want, err := tarball.ComputeManifest(map[name.Reference]v1.Image{ref: bi.Image})
		if err != nil {
			return nil, err
		}
		if have, err := tarballManifest(p); err == nil && sameManifest(have, want) {
			if logf != nil {
				logf("%-12s %s unchanged", bi.Recipe.Name, p)
			}
			continue
		}
		tmp := p + ".tmp"
		if err := tarball.MultiRefWriteToFile(tmp, map[name.Reference]v1.Image{ref: bi.Image}); err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return nil, err
		}
		if logf != nil {
			st, _ := os.Stat(p)
			logf("%-12s %s %.1f MB (%s)", bi.Recipe.Name, p, float64(st.Size())/1e6, ref)
		}
	}
	return paths, nil
}

// tarballManifest reads manifest.json of an image tarball.
func tarballManifest(p string) (tarball.Manifest, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		if h.Name == "manifest.json" {
			var m tarball.Manifest
			err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m)
			return m, err
		}
	}
}

func sameManifest(a, b tarball.Manifest) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// Push writes every image to n.Registry as its PushRef, with the credentials of the
// Docker config (~/.docker/config.json) when there are any.
func Push(ctx context.Context, n Naming, built []Built, insecure bool, logf func(string, ...any)) error {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	for _, bi := range built {
		s, err := n.PushRef(bi.Recipe)
		if err != nil {
			return err
		}
		ref, err := name.ParseReference(s, opts...)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := remote.Write(ref, bi.Image, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		d, _ := bi.Image.Digest()
		if logf != nil {
			logf("%-12s pushed %s@%s (%s)", bi.Recipe.Name, ref, d, time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}
