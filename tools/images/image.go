package images

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Builder makes images. Layers are cached under Cache (by a digest of their inputs), so
// building again from the same inputs is quick and gives the same digests.
type Builder struct {
	Root  string    // repository root (the Go workspace)
	Cache string    // cache folder: layers, root file systems, binaries
	Epoch time.Time // every time stamp in the images
	// CABundle is copied to /etc/ssl/certs/ca-certificates.crt of images from nothing
	// ("" for none).
	CABundle string
	// Mirrors are the apt sources for mmdebstrap (deb822 one-line form).
	Mirrors []string
	// Pins are the version pins of tools/build-tools.sh (ReadPins).
	Pins map[string]string
	// RefreshRootfs makes Debian root file systems again instead of taking the cached one.
	RefreshRootfs bool
	Logf          func(format string, args ...any)
}

func (b *Builder) logf(format string, args ...any) {
	if b.Logf != nil {
		b.Logf(format, args...)
	}
}

// passwd and group of images from nothing: root, nonroot (65532) and nobody.
var (
	passwdFile = []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")
	groupFile = []byte("root:x:0:\nnonroot:x:65532:\nnobody:x:65534:\n")
)

// fromNothingEntries is the one layer of an image from nothing: /etc/passwd and
// /etc/group, the CA bundle, an empty /tmp and the binary at /<name>.
func (b *Builder) fromNothingEntries(r Recipe, binary string) []Entry {
	entries := []Entry{
		Dir("etc", 0o755),
		File("etc/group", 0o644, groupFile),
		File("etc/passwd", 0o644, passwdFile),
	}
	if b.CABundle != "" {
		entries = append(entries,
			Dir("etc/ssl", 0o755), Dir("etc/ssl/certs", 0o755),
			HostFile("etc/ssl/certs/ca-certificates.crt", 0o644, b.CABundle))
	}
	entries = append(entries, Dir("tmp", 0o1777))
	bin := HostFile(r.Name, 0o755, binary)
	bin.Xattrs = r.Xattrs
	return append(entries, bin)
}

// FromBinary builds the image of a GoPackage or Prebuilt recipe from its binary.
func (b *Builder) FromBinary(r Recipe, binary string) (v1.Image, error) {
	if err := checkStatic(binary); err != nil {
		hint := ""
		if r.BuildHint != "" {
			hint = " (" + r.BuildHint + " builds it)"
		}
		return nil, fmt.Errorf("image %s: %w%s", r.Name, err, hint)
	}
	p := plan{entries: b.fromNothingEntries(r, binary), epoch: b.Epoch}
	return b.image(r, p, "binary "+filepath.Base(binary))
}

// FromRootfs builds the image of a Debian recipe over a root file system tarball.
func (b *Builder) FromRootfs(r Recipe, rootfs string) (v1.Image, error) {
	d := r.Debian
	p := plan{base: rootfs, drop: append([]string{"dev/"}, d.Drop...), epoch: b.Epoch}
	for _, o := range d.Files {
		switch {
		case o.Dir:
			d := Dir(o.Dst, o.Mode)
			d.UID, d.GID = o.UID, o.GID
			p.entries = append(p.entries, d)
		case o.Link != "":
			p.entries = append(p.entries, Symlink(o.Dst, o.Link))
		case o.Src == "":
			f := File(o.Dst, o.Mode, o.Data)
			f.UID, f.GID = o.UID, o.GID
			p.entries = append(p.entries, f)
		default:
			src := o.Src
			if !filepath.IsAbs(src) {
				src = filepath.Join(b.Root, src)
			}
			st, err := os.Stat(src)
			if err != nil {
				return nil, fmt.Errorf("image %s: %w", r.Name, err)
			}
			if !st.IsDir() {
				p.entries = append(p.entries, HostFile(o.Dst, o.Mode, src))
				continue
			}
			tree, err := treeEntries(src, o.Dst)
			if err != nil {
				return nil, fmt.Errorf("image %s: %w", r.Name, err)
			}
			p.entries = append(p.entries, tree...)
		}
	}
	img, err := b.image(r, p, "debian "+d.Suite+" "+strings.Join(d.Packages, " "))
	if err != nil {
		return nil, err
	}
	if err := requirePaths(img, d.Require); err != nil {
		return nil, fmt.Errorf("image %s: %w", r.Name, err)
	}
	return img, nil
}

// image makes the one-layer image of plan p with r's configuration.
func (b *Builder) image(r Recipe, p plan, createdBy string) (v1.Image, error) {
	start := time.Now()
	layer, cached, err := p.layer(filepath.Join(b.Cache, "layers"))
	if err != nil {
		return nil, fmt.Errorf("image %s: layer: %w", r.Name, err)
	}
	img, err := assemble(layer, r.Config, b.Epoch, "kafka-restaurants tools/images: "+createdBy)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", r.Name, err)
	}
	size, _ := layer.Size()
	how := "built"
	if cached {
		how = "cached"
	}
	b.logf("%-12s layer %s %5.1f MB (%s, %s)", r.Name, how, float64(size)/1e6, time.Since(start).Round(time.Millisecond), createdBy)
	return img, nil
}

// assemble makes an OCI image for linux/amd64 of one layer and a configuration.
func assemble(layer v1.Layer, c Config, created time.Time, createdBy string) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: createdBy},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		User:       c.User,
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		Env:        c.Env,
		WorkingDir: c.WorkingDir,
		StopSignal: c.StopSignal,
	}
	if len(c.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range c.Ports {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

// checkStatic refuses what cannot run in an image from nothing: a missing file, a binary
// for another machine, or one that needs a dynamic loader (built with cgo).
func checkStatic(binary string) error {
	f, err := elf.Open(binary)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s is not built", binary)
		}
		return fmt.Errorf("%s: %w", binary, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s is for %s, not linux/amd64", binary, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it needs a loader and libc that an image from nothing lacks): build it with CGO_ENABLED=0", binary)
		}
	}
	return nil
}

// requirePaths checks that each path is a regular file (or a link) in the image's layers.
func requirePaths(img v1.Image, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Typeflag != tar.TypeDir {
				delete(want, cleanName(h.Name))
			}
		}
		rc.Close()
	}
	if len(want) > 0 {
		var missing []string
		for _, p := range paths {
			if want[p] {
				missing = append(missing, "/"+p)
			}
		}
		return fmt.Errorf("missing from the image: %s", strings.Join(missing, ", "))
	}
	return nil
}
