package e2e

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// TestLauncherCtrlC runs the launcher behind `make run` as a user does, presses Ctrl-C
// (SIGINT) once everything is up, and checks that it exits cleanly and leaves no process
// running and no port bound.
func TestLauncherCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack; skipped with -short")
	}
	root := stack.Root(t)
	defer stack.Lock(t)()
	data := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "bin", "devstack"), "-quiet", "-data", data)
	cmd.Dir = root
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Press Ctrl-C") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "the launcher exited before the stack was up")
	case <-time.After(3 * time.Minute):
		t.Fatal("the stack did not come up")
	}
	r := stack.Do(t, "GET", stack.WebURL+"/api/styles", nil, nil)
	require.Equal(t, 200, r.Status, "the stack serves before Ctrl-C")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "a clean exit after Ctrl-C")
	case <-time.After(time.Minute):
		t.Fatal("the launcher did not stop within a minute of Ctrl-C")
	}

	// No port of the stack is still bound (docs/ARCHITECTURE.md lists them).
	for _, port := range []int{8080, 3500, 3501, 3502, 3503, 3504, 3600, 3601, 3602, 3603, 3604, 5000, 5001, 5002, 5003, 5100, 1025, 8025, 9092, 4317, 4318, 16686,
		3700, 3701, 3702, 3703, 3704, 9190, 9191, 9192, 9193, 9194} {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if assert.NoError(t, err, "port %d is still bound", port) {
			_ = ln.Close()
		}
	}
	// No process of this run is left: the launcher's children all named the data folder
	// or ran from its sandbox.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), data) {
			t.Errorf("left running: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
		cwd, err := os.Readlink(filepath.Join(filepath.Dir(p), "cwd"))
		if err == nil && strings.HasPrefix(cwd, data) {
			t.Errorf("left running in %s: pid %s", cwd, filepath.Base(filepath.Dir(p)))
		}
	}
}
