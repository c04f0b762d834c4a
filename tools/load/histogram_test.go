package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHistogramQuantilesWithinTwoPercent(t *testing.T) {
	cases := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform 1-10 ms", func(r *rand.Rand) time.Duration {
			return time.Millisecond + time.Duration(r.Int64N(int64(9*time.Millisecond)))
		}},
		{"long tail", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * float64(5*time.Millisecond)) }},
		{"seconds", func(r *rand.Rand) time.Duration { return time.Second + time.Duration(r.Int64N(int64(30*time.Second))) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			var h Histogram
			var all []time.Duration
			for range 20000 {
				d := c.gen(r)
				all = append(all, d)
				h.Record(d)
			}
			slices.Sort(all)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				exact := all[int(q*float64(len(all)))-1]
				got := h.Quantile(q)
				if exact < histMin {
					assert.LessOrEqual(t, got, histMin)
					continue
				}
				assert.InEpsilon(t, float64(exact), float64(got), 0.021, "q%v: exact %v, got %v", q, exact, got)
			}
			assert.Equal(t, all[len(all)-1], h.Quantile(1))
			assert.EqualValues(t, len(all), h.Count())
		})
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	var a, b, empty Histogram
	assert.Equal(t, time.Duration(0), empty.Quantile(0.99))
	assert.Equal(t, Summary{}, empty.Summary())
	for i := 1; i <= 100; i++ {
		a.Record(time.Duration(i) * time.Millisecond)
		b.Record(time.Duration(i) * time.Second)
	}
	a.Merge(&b)
	a.Merge(&empty)
	s := a.Summary()
	assert.EqualValues(t, 200, s.Count)
	assert.InDelta(t, 1.0, s.MinMs, 0.001)
	assert.InDelta(t, 100000.0, s.MaxMs, 0.001)
	assert.InEpsilon(t, 100.0, s.P50Ms, 0.021, "the median sits at the top of the fast half")
}
