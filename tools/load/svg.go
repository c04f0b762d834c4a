package load

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// WriteSVG draws latency over time (top, log scale) and throughput over time (bottom) as a
// self-contained SVG: no plotting library, and it renders on GitHub.
func (r *Report) WriteSVG(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r.svg(f)
	return f.Close()
}

type svgLine struct {
	name  string
	color string
	value func(Second) float64
}

const (
	svgW, svgH       = 900, 560
	padL, padR, padT = 70, 170, 40
	panelH           = 200
	gap              = 60
)

func (r *Report) svg(w io.Writer) {
	n := len(r.Series)
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	var title string
	if r.Mode == Open {
		title = fmt.Sprintf("open model, %.0f req/s", r.Rate)
	} else {
		title = fmt.Sprintf("closed model, %d in flight", r.Concurrency)
	}
	fmt.Fprintf(w, `<text x="%d" y="20" font-size="14">%s, %.0f%% orders, target %s (warm-up %.0fs shaded)</text>`+"\n", padL, esc(title), r.OrderShare*100, esc(r.Target), r.WarmupS)
	plotW := float64(svgW - padL - padR)
	x := func(t int) float64 { return padL + plotW*float64(t)/math.Max(1, float64(n-1)) }
	if r.WarmupS > 0 && n > 1 {
		for _, top := range []int{padT, padT + panelH + gap} {
			fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#eee"/>`+"\n", padL, top, math.Min(x(int(r.WarmupS))-padL, plotW), panelH)
		}
	}
	latency := []svgLine{
		{"search p50", "#1f77b4", func(s Second) float64 { return s.SearchP50Ms }},
		{"search p99", "#aec7e8", func(s Second) float64 { return s.SearchP99Ms }},
		{"POST order p99", "#d62728", func(s Second) float64 { return s.OrderP99Ms }},
		{"accept→final p99", "#2ca02c", func(s Second) float64 { return s.ToFinalP99Ms }},
	}
	rate := []svgLine{
		{"searches/s", "#1f77b4", func(s Second) float64 { return float64(s.Searches) }},
		{"orders accepted/s", "#d62728", func(s Second) float64 { return float64(s.Orders) }},
		{"orders final/s", "#2ca02c", func(s Second) float64 { return float64(s.Finals) }},
		{"errors/s", "#ff7f0e", func(s Second) float64 { return float64(s.Errors) }},
	}
	r.panel(w, padT, "latency per second (ms, log scale)", latency, true, x)
	r.panel(w, padT+panelH+gap, "completions per second", rate, false, x)
	fmt.Fprintf(w, `<text x="%.0f" y="%d" text-anchor="middle">seconds since start</text>`+"\n", padL+plotW/2, svgH-10)
	fmt.Fprintln(w, "</svg>")
}

// panel draws one chart: axes, grid, one polyline per series, a legend on the right.
func (r *Report) panel(w io.Writer, top int, label string, lines []svgLine, logY bool, x func(int) float64) {
	bottom := float64(top + panelH)
	maxV := 0.0
	minV := math.Inf(1)
	for _, s := range r.Series {
		for _, l := range lines {
			v := l.value(s)
			maxV = math.Max(maxV, v)
			if v > 0 {
				minV = math.Min(minV, v)
			}
		}
	}
	var y func(float64) float64
	var ticks []float64
	if logY {
		lo := math.Pow(10, math.Floor(math.Log10(math.Min(minV, math.Max(maxV, 1)))))
		if math.IsInf(minV, 1) || lo <= 0 {
			lo = 0.1
		}
		hi := math.Pow(10, math.Ceil(math.Log10(math.Max(maxV, lo*10))))
		y = func(v float64) float64 {
			v = math.Max(v, lo)
			return bottom - float64(panelH)*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
		}
		for t := lo; t <= hi*1.0001; t *= 10 {
			ticks = append(ticks, t)
		}
	} else {
		hi := niceCeil(math.Max(maxV, 1))
		y = func(v float64) float64 { return bottom - float64(panelH)*v/hi }
		for i := 0; i <= 4; i++ {
			ticks = append(ticks, hi*float64(i)/4)
		}
	}
	right := float64(svgW - padR)
	fmt.Fprintf(w, `<text x="%d" y="%d">%s</text>`+"\n", padL, top-8, esc(label))
	for _, t := range ticks {
		fmt.Fprintf(w, `<line x1="%d" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, right, y(t), y(t), padL-6, y(t)+4, trimFloat(t))
	}
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.0f" height="%d" fill="none" stroke="#888"/>`+"\n", padL, top, right-padL, panelH)
	n := len(r.Series)
	step := max(1, n/10)
	for t := 0; t < n; t += step {
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" text-anchor="middle">%d</text>`+"\n", x(t), bottom+15, t)
	}
	for i, l := range lines {
		var pts []string
		for _, s := range r.Series {
			v := l.value(s)
			if logY && v <= 0 {
				continue // no observation in that second
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.T), y(v)))
		}
		if len(pts) > 0 {
			fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
		}
		ly := top + 15 + 18*i
		fmt.Fprintf(w, `<line x1="%.0f" x2="%.0f" y1="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%.0f" y="%d">%s</text>`+"\n",
			right+10, right+30, ly-4, ly-4, l.color, right+36, ly, esc(l.name))
	}
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(f float64) string {
	if f >= 1 || f == 0 {
		return fmt.Sprintf("%.0f", f)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", f), "0"), ".")
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
