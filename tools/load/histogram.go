package load

import (
	"math"
	"sync"
	"time"
)

// Histogram buckets: log-linear with 2% relative width from 10 µs to about 5 minutes. A
// fixed array keeps Record allocation-free and lets per-second histograms be merged, and 2%
// is finer than the run-to-run noise of this machine (see docs/BENCHMARKS.md).
const (
	histMin    = 10 * time.Microsecond
	histGrowth = 1.02
	histBins   = 870 // ln(300 s / 10 µs) / ln(1.02) ≈ 869
)

var logGrowth = math.Log(histGrowth)

// Histogram records durations with a bounded relative error (2%). The exact minimum, maximum
// and sum are kept as well. The zero value is ready to use; it is safe for concurrent use.
type Histogram struct {
	mu    sync.Mutex
	bins  [histBins]uint32
	count int64
	sum   time.Duration
	min   time.Duration
	max   time.Duration
}

func binOf(d time.Duration) int {
	if d <= histMin {
		return 0
	}
	b := int(math.Log(float64(d)/float64(histMin))/logGrowth) + 1
	if b >= histBins {
		return histBins - 1
	}
	return b
}

// binUpper is the upper edge of bin b: quantiles are reported as the edge, so they are never
// below the true value.
func binUpper(b int) time.Duration {
	if b == 0 {
		return histMin
	}
	return time.Duration(float64(histMin) * math.Pow(histGrowth, float64(b)))
}

// Record adds one observation.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	b := binOf(d)
	h.mu.Lock()
	h.bins[b]++
	if h.count == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.count++
	h.sum += d
	h.mu.Unlock()
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	o.mu.Lock()
	bins, count, sum, mn, mx := o.bins, o.count, o.sum, o.min, o.max
	o.mu.Unlock()
	if count == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, c := range bins {
		h.bins[i] += c
	}
	if h.count == 0 || mn < h.min {
		h.min = mn
	}
	if mx > h.max {
		h.max = mx
	}
	h.count += count
	h.sum += sum
}

// Count is the number of observations.
func (h *Histogram) Count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// Quantile returns the q-quantile (0 < q <= 1), clamped to the exact max; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.quantile(q)
}

func (h *Histogram) quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.count)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for b, c := range h.bins {
		seen += int64(c)
		if seen >= rank {
			return min(binUpper(b), h.max)
		}
	}
	return h.max
}

// Summary is a histogram's digest in milliseconds, as the report and its JSON show it.
type Summary struct {
	Count  int64   `json:"count"`
	MeanMs float64 `json:"meanMs"`
	MinMs  float64 `json:"minMs"`
	P50Ms  float64 `json:"p50Ms"`
	P90Ms  float64 `json:"p90Ms"`
	P95Ms  float64 `json:"p95Ms"`
	P99Ms  float64 `json:"p99Ms"`
	P999Ms float64 `json:"p999Ms"`
	MaxMs  float64 `json:"maxMs"`
}

// Summary digests the histogram.
func (h *Histogram) Summary() Summary {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.count == 0 {
		return Summary{}
	}
	return Summary{
		Count:  h.count,
		MeanMs: ms(h.sum / time.Duration(h.count)),
		MinMs:  ms(h.min),
		P50Ms:  ms(h.quantile(0.50)),
		P90Ms:  ms(h.quantile(0.90)),
		P95Ms:  ms(h.quantile(0.95)),
		P99Ms:  ms(h.quantile(0.99)),
		P999Ms: ms(h.quantile(0.999)),
		MaxMs:  ms(h.max),
	}
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*1000) / 1000
}
