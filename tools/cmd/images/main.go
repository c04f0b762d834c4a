// Command images builds the container images of Kafka Restaurants without a container
// daemon (tools/images has the recipes) and writes them as `docker save`-style tarballs,
// one per image, or pushes them to a registry.
//
//	go run ./tools/cmd/images                                  # every image → .run/images/<name>.tar
//	go run ./tools/cmd/images -registry kafka-restaurants -tag dev api frontend
//	go run ./tools/cmd/images -push ghcr.io/you -tag 0.1.0 app # push instead of writing tarballs
//	go run ./tools/cmd/images -list                            # the images and their names
//
// Load a tarball with `ctr -n k8s.io images import`, `minikube image load` or
// `docker load -i`. Run from the repository root (helm/images.mk does: make images).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/tools/images"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: images [flags] [image or group...]   (groups: go, app, dapr, debian, cluster; none: all)")
		fs.PrintDefaults()
	}
	registry := fs.String("registry", "kafka-restaurants", "registry (and path) of the image names: <registry>/<name>:<tag>")
	tag := fs.String("tag", "dev", "tag of the images built from this repository (prebuilt tools are tagged with their pinned version)")
	out := fs.String("out", ".run/images", "folder for the tarballs, one <name>.tar per image (relative: to the repository root)")
	push := fs.String("push", "", "push every image to this registry (in place of -registry) instead of writing tarballs")
	insecure := fs.Bool("insecure", false, "with -push: the registry speaks plain HTTP")
	list := fs.Bool("list", false, "list the images and their names, build nothing")
	refresh := fs.Bool("refresh-rootfs", false, "make the Debian root file systems again (security updates) instead of using the cached ones")
	cache := fs.String("cache", ".tools/images", "cache of layers, root file systems and binaries (relative: to the repository root)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	recipes, err := images.Select(fs.Args())
	if err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	pins, err := images.ReadPins(root)
	if err != nil {
		return err
	}
	naming := images.Naming{Registry: *registry, Tag: *tag, Pins: pins}
	if *list {
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		for _, r := range recipes {
			ref, err := naming.Ref(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, ref, source(r))
		}
		return tw.Flush()
	}
	epoch := time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		epoch = time.Unix(n, 0).UTC()
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	b := &images.Builder{
		Root:          root,
		Cache:         abs(root, *cache),
		Epoch:         epoch,
		Pins:          pins,
		RefreshRootfs: *refresh,
		Logf:          logf,
	}
	if _, err := os.Stat(images.HostCABundle); err == nil {
		b.CABundle = images.HostCABundle
	} else {
		logf("no %s on this machine: images from nothing get no CA bundle", images.HostCABundle)
	}
	start := time.Now()
	built, err := b.Build(ctx, recipes)
	if err != nil {
		return err
	}
	if *push != "" {
		naming.Registry = *push
		err = images.Push(ctx, naming, built, *insecure, logf)
	} else {
		_, err = images.WriteTarballs(abs(root, *out), naming, built, logf)
	}
	if err != nil {
		return err
	}
	logf("%d images in %s", len(built), time.Since(start).Round(time.Millisecond))
	return nil
}

func source(r images.Recipe) string {
	switch r.Source {
	case images.GoPackage:
		return "go build " + r.Package
	case images.Prebuilt:
		return r.Binary + " (" + r.BuildHint + ")"
	default:
		return fmt.Sprintf("debian %s %v", r.Debian.Suite, r.Debian.Packages)
	}
}

// repoRoot is the folder with go.work, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("run from inside the repository (no go.work above " + dir + ")")
		}
	}
}

func abs(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}
