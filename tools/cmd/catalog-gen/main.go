// Command catalog-gen writes a large, realistic restaurant catalog for load runs,
// benchmarks and trying the stack with more than the shipped 15 restaurants:
//
//	go run ./tools/cmd/catalog-gen -n 10000 -seed 1 -o .data/catalog-10k.json
//
// The same -n and -seed always write the same file. Output goes through a
// temporary file and a rename, so a loader watching the path never reads half a
// catalog.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "catalog-gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("catalog-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 10_000, "number of restaurants (1 to 200000)")
	seed := fs.Int64("seed", 1, "random seed; the same seed writes the same catalog")
	out := fs.String("o", "-", "output file, or - for standard output")
	indent := fs.Bool("indent", false, "indent the JSON for reading (larger file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags: -n, -seed, -o, -indent)", fs.Arg(0))
	}
	if *n < 1 || *n > catalog.MaxRestaurants {
		return fmt.Errorf("-n must be from 1 to %d, not %d", catalog.MaxRestaurants, *n)
	}

	c := catalog.Generate(*n, *seed)
	data, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("encode catalog: %w", err)
	}
	if *indent {
		if data, err = indentJSON(data); err != nil {
			return err
		}
	}
	data = append(data, '\n')

	if *out == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if err := writeAtomic(*out, data); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d restaurants, version %s, %d bytes, to %s\n", *n, c.Version, len(data), *out)
	return nil
}

func indentJSON(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return nil, fmt.Errorf("indent catalog: %w", err)
	}
	return buf.Bytes(), nil
}

// writeAtomic replaces path in one rename: a reader sees the old file or the new
// one, never a partial write.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := errors.Join(tmp.Chmod(0o644), tmp.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
