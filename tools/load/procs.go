package load

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// stackProcs are the stack's process names (their /proc comm), with the local trace
// collector. daprd sidecars are told apart by their --app-id.
var stackProcs = map[string]bool{
	"api": true, "transactions": true, "email": true, "catalog": true,
	"bank": true, "broker": true, "mailpit": true, "nginx": true, "jaeger": true,
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// procSample is one name's CPU and memory at one instant (all its processes summed: nginx
// has a master and workers).
type procSample struct {
	cpuPct float64 // over the interval before the sample
	rss    int64
}

// procSampler reads /proc at an interval: each stack process's CPU time and RSS, and the
// machine's busy share.
type procSampler struct {
	root      string
	self      int
	pageSize  int64
	prevTicks map[int]int64 // per pid
	prevAt    time.Time
	prevBusy  int64
	prevAll   int64
	measure   time.Time
	samples   map[string][]procSample // only samples after measure
	machine   []float64
}

func newProcSampler(root string, self int) *procSampler {
	return &procSampler{root: root, self: self, pageSize: int64(os.Getpagesize()), prevTicks: map[int]int64{}, samples: map[string][]procSample{}}
}

func (s *procSampler) run(ctx context.Context, every time.Duration, measure time.Time) {
	s.measure = measure
	s.sample(time.Now())
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sample(now)
		}
	}
}

// procInfo is one process as /proc/<pid>/stat shows it.
type procInfo struct {
	name  string
	ticks int64 // utime + stime
	rss   int64 // pages
}

// readProc names and measures one process; ok is false for a process not of the stack.
func (s *procSampler) readProc(pid int) (procInfo, bool) {
	dir := filepath.Join(s.root, strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return procInfo{}, false
	}
	p, ok := parseStat(string(b))
	if !ok {
		return procInfo{}, false
	}
	switch {
	case pid == s.self:
		p.name = "load (this tool)"
	case p.name == "daprd":
		cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		p.name = "daprd " + appID(strings.Split(string(cmd), "\x00"))
	case !stackProcs[p.name]:
		return procInfo{}, false
	}
	return p, true
}

// parseStat reads comm, utime+stime and rss from a /proc/<pid>/stat line. comm may hold
// spaces and parentheses, so the fields are counted from the last ')'.
func parseStat(line string) (procInfo, bool) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procInfo{}, false
	}
	f := strings.Fields(line[end+1:])
	if len(f) < 22 {
		return procInfo{}, false
	}
	utime, e1 := strconv.ParseInt(f[11], 10, 64)
	stime, e2 := strconv.ParseInt(f[12], 10, 64)
	rss, e3 := strconv.ParseInt(f[21], 10, 64)
	if e1 != nil || e2 != nil || e3 != nil {
		return procInfo{}, false
	}
	return procInfo{name: line[open+1 : end], ticks: utime + stime, rss: rss}, true
}

func appID(args []string) string {
	for i, a := range args {
		if a == "--app-id" || a == "-app-id" {
			if i+1 < len(args) {
				return args[i+1]
			}
		}
		if v, ok := strings.CutPrefix(a, "--app-id="); ok {
			return v
		}
	}
	return "?"
}

func (s *procSampler) sample(now time.Time) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return
	}
	dt := now.Sub(s.prevAt).Seconds()
	first := s.prevAt.IsZero()
	ticks := map[int]int64{}
	cpu := map[string]float64{}
	rss := map[string]int64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := s.readProc(pid)
		if !ok {
			continue
		}
		ticks[pid] = p.ticks
		rss[p.name] += p.rss * s.pageSize
		if prev, ok := s.prevTicks[pid]; ok && !first && dt > 0 {
			cpu[p.name] += float64(p.ticks-prev) / clockTicks / dt * 100
		} else {
			cpu[p.name] += 0
		}
	}
	busy, all := machineTicks(s.root)
	if !first && !now.Before(s.measure) {
		for name, r := range rss {
			s.samples[name] = append(s.samples[name], procSample{cpuPct: cpu[name], rss: r})
		}
		if all > s.prevAll {
			// Share of the whole machine (100% = every core busy).
			s.machine = append(s.machine, float64(busy-s.prevBusy)/float64(all-s.prevAll)*100)
		}
	}
	s.prevTicks, s.prevAt, s.prevBusy, s.prevAll = ticks, now, busy, all
}

// machineTicks reads the busy and total jiffies of all cores from /proc/stat.
func machineTicks(root string) (busy, all int64) {
	b, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already inside user time
			break
		}
		all += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, all
}

// ProcReport is one process's (or group's) CPU and memory over the measured run. CPU is
// in percent of one core.
type ProcReport struct {
	Name       string  `json:"name"`
	CPUAvgPct  float64 `json:"cpuAvgPct"`
	CPUMaxPct  float64 `json:"cpuMaxPct"`
	RSSStartMB float64 `json:"rssStartMB"`
	RSSEndMB   float64 `json:"rssEndMB"`
	RSSMaxMB   float64 `json:"rssMaxMB"`
	// RSSGrowthMB compares the last tenth of a soak with its first tenth.
	RSSGrowthMB float64 `json:"rssGrowthMB,omitempty"`
}

func (s *procSampler) report(soak bool) ([]ProcReport, float64) {
	var out []ProcReport
	for name, ss := range s.samples {
		if len(ss) == 0 {
			continue
		}
		p := ProcReport{Name: name, RSSStartMB: mb(ss[0].rss), RSSEndMB: mb(ss[len(ss)-1].rss)}
		var sum float64
		for _, x := range ss {
			sum += x.cpuPct
			p.CPUMaxPct = math.Max(p.CPUMaxPct, x.cpuPct)
			p.RSSMaxMB = math.Max(p.RSSMaxMB, mb(x.rss))
		}
		p.CPUAvgPct, p.CPUMaxPct = round1(sum/float64(len(ss))), round1(p.CPUMaxPct)
		if soak && len(ss) >= 10 {
			tenth := len(ss) / 10
			p.RSSGrowthMB = round1(avgRSS(ss[len(ss)-tenth:]) - avgRSS(ss[:tenth]))
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CPUAvgPct > out[j].CPUAvgPct })
	var m float64
	for _, x := range s.machine {
		m += x
	}
	if len(s.machine) > 0 {
		m = round1(m / float64(len(s.machine)))
	}
	return out, m
}

func avgRSS(ss []procSample) float64 {
	var sum float64
	for _, x := range ss {
		sum += mb(x.rss)
	}
	return sum / float64(len(ss))
}

func mb(b int64) float64 { return round1(float64(b) / (1 << 20)) }

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// loadAvg is the machine's load average line, noted with every measurement because other
// work shares the machine.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
