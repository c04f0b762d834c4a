// Package stack starts the real local system for a test: the Kafka-protocol broker, mailpit,
// the bank, nginx and every service with its own daprd sidecar, through the same launcher as
// `make run` (tools/devstack), in a temporary data folder, and stops it when the test ends.
// It also gives tests the clients they need to look at what a user would see: the website
// through nginx, mailpit's REST API, the bank's ledger and the Kafka topics.
package stack

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/tools/devstack"
)

// Fixed local addresses (docs/ARCHITECTURE.md).
const (
	WebURL     = "http://127.0.0.1:8080"
	MailpitURL = "http://127.0.0.1:8025"
	BankURL    = "http://127.0.0.1:5100"
	APIURL     = "http://127.0.0.1:5000"
	Broker     = "127.0.0.1:9092"
)

// Stack is a running system owned by one test.
type Stack struct {
	*devstack.Stack
	Root string
	Mail *Mailpit
	Bank *Bank
}

// Options tune a test's stack.
type Options struct {
	// Env adds environment per process (see devstack.Options.Env).
	Env map[string]map[string]string
	// Catalog replaces the default catalog file.
	Catalog string
	// ComponentsDir replaces components/ (see devstack.Options.ComponentsDir).
	ComponentsDir string
	// RunFile replaces dapr/dapr.yaml (e.g. a copy with sidecars at debug level).
	RunFile string
	// Replicas runs more instances of an app (see devstack.Options.Replicas).
	Replicas map[string]int
	// Locked says the caller already holds the stack lock (a suite that holds it across
	// several stacks); Start then does not take it.
	Locked bool
}

// Start starts the stack and registers its shutdown with t.Cleanup. Stack tests in all
// packages take a machine-wide lock first: they share fixed ports. On failure the tail of
// every process log is printed.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the whole stack; skipped with -short")
	}
	root := Root(t)
	for _, bin := range []string{"bin/api", "bin/transactions", "bin/email", "bin/bank", "bin/catalog", "bin/broker", ".tools/bin/daprd", ".tools/bin/mailpit", ".tools/bin/jaeger"} {
		if _, err := os.Stat(filepath.Join(root, bin)); err != nil {
			t.Fatalf("%s is missing: run `make tools build` (make test does)", bin)
		}
	}
	unlock := func() {}
	if !opts.Locked {
		unlock = Lock(t)
	}
	data := t.TempDir()
	env := opts.Env
	if env == nil {
		env = map[string]map[string]string{}
	}
	if opts.Catalog != "" {
		if env["catalog"] == nil {
			env["catalog"] = map[string]string{}
		}
		env["catalog"]["CATALOG_FILE"] = opts.Catalog
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, devstack.Options{Root: root, DataDir: data, Env: env, ComponentsDir: opts.ComponentsDir,
		RunFile: opts.RunFile, Replicas: opts.Replicas})
	if err != nil {
		dumpLogs(t, filepath.Join(data, "logs"))
		unlock()
		t.Fatalf("start stack: %v", err)
	}
	st := &Stack{Stack: s, Root: root, Mail: &Mailpit{URL: MailpitURL}, Bank: &Bank{URL: BankURL}}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, filepath.Join(data, "logs"))
		}
		s.Stop()
		unlock()
	})
	return st
}

// Root finds the repository root (the folder with go.work) above the working directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test's folder")
		}
		dir = parent
	}
}

// Lock serialises stack tests across test binaries with an flock; it returns the unlock.
// Start takes it; a test that runs the launcher itself takes it directly.
func Lock(t testing.TB) func() {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "kafka-restaurants-stack.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
}

func dumpLogs(t testing.TB, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		lines := tail(filepath.Join(dir, e.Name()), 15)
		if len(lines) > 0 {
			t.Logf("---- %s (last %d lines)\n%s", e.Name(), len(lines), strings.Join(lines, "\n"))
		}
	}
}

func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}

// ReadLog returns the named process's whole log.
func (s *Stack) ReadLog(t testing.TB, name string) string {
	b, err := os.ReadFile(s.LogFile(name))
	if err != nil {
		t.Fatalf("read log %s: %v", name, err)
	}
	return string(b)
}

// Eventually polls cond every 100 ms until it returns true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func must(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
