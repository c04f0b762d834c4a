package load

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	cases := []struct {
		name, line string
		want       procInfo
		ok         bool
	}{
		{"plain", "123 (api) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 800000000 5000 18446744073709551615", procInfo{name: "api", ticks: 300, rss: 5000}, true},
		{"comm with spaces and parens", "7 (nginx: (worker)) S 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 42 1", procInfo{name: "nginx: (worker)", ticks: 7, rss: 42}, true},
		{"truncated", "7 (x) S 1 2 3", procInfo{}, false},
		{"garbage", "no parens here", procInfo{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseStat(c.line)
			assert.Equal(t, c.ok, ok)
			assert.Equal(t, c.want, got)
		})
	}
}

// writeProc fakes /proc/<pid> for the sampler.
func writeProc(t *testing.T, root string, pid int, comm string, ticks, rssPages int64, cmdline string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	line := strconv.Itoa(pid) + " (" + comm + ") S 1 1 1 0 -1 0 0 0 0 0 " + strconv.FormatInt(ticks, 10) + " 0 0 0 20 0 1 0 1 1 " + strconv.FormatInt(rssPages, 10) + " 1"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644))
}

func TestProcSamplerNamesSidecarsAndComputesCPU(t *testing.T) {
	root := t.TempDir()
	stat := func(busy, idle int64) {
		line := "cpu " + strconv.FormatInt(busy, 10) + " 0 0 " + strconv.FormatInt(idle, 10) + " 0 0 0 0 0 0\n"
		require.NoError(t, os.WriteFile(filepath.Join(root, "stat"), []byte(line), 0o644))
	}
	page := int64(os.Getpagesize())
	writeProc(t, root, 10, "daprd", 0, 256, "daprd\x00--app-id\x00api\x00--app-port\x005000\x00")
	writeProc(t, root, 11, "api", 0, 512, "api\x00")
	writeProc(t, root, 12, "bash", 0, 1, "bash\x00")
	stat(0, 0)
	s := newProcSampler(root, 99)
	t0 := time.Unix(1000, 0)
	s.measure = t0
	s.sample(t0)
	// One second later: the sidecar used half a core, the API a fifth; the machine (two
	// cores) was busy 100 of 200 ticks.
	writeProc(t, root, 10, "daprd", 50, 256, "daprd\x00--app-id\x00api\x00")
	writeProc(t, root, 11, "api", 20, 1024, "api\x00")
	stat(100, 100)
	s.sample(t0.Add(time.Second))

	procs, machine := s.report(false)
	require.Len(t, procs, 2, "bash is not part of the stack")
	assert.Equal(t, "daprd api", procs[0].Name)
	assert.InDelta(t, 50, procs[0].CPUAvgPct, 0.01)
	assert.Equal(t, "api", procs[1].Name)
	assert.InDelta(t, 20, procs[1].CPUAvgPct, 0.01)
	assert.InDelta(t, mb(1024*page), procs[1].RSSEndMB, 0.01)
	assert.InDelta(t, 50, machine, 0.01)
}
