package load

import (
	"sync"
	"time"
)

// second is what happened in one second of the run, by completion time.
type second struct {
	requests int64 // answered successfully, any kind
	searches int64
	orders   int64 // orders accepted (202)
	errors   int64
	finals   int64 // orders that reached a final status
	search   Histogram
	order    Histogram
	toFinal  Histogram
}

// series keeps one second per element, for the progress line and the latency-over-time
// chart.
type series struct {
	mu    sync.Mutex
	start time.Time
	secs  []*second
}

func newSeries(start time.Time) *series { return &series{start: start} }

func (s *series) bucket(t time.Time) *second {
	i := int(t.Sub(s.start) / time.Second)
	if i < 0 {
		i = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.secs) <= i {
		s.secs = append(s.secs, &second{})
	}
	return s.secs[i]
}

func (s *series) request(kind op, done time.Time, lat time.Duration, _ bool) {
	b := s.bucket(done)
	s.mu.Lock()
	b.requests++
	switch kind {
	case opSearch:
		b.searches++
	case opOrder:
		b.orders++
	}
	s.mu.Unlock()
	switch kind {
	case opSearch:
		b.search.Record(lat)
	case opOrder:
		b.order.Record(lat)
	}
}

func (s *series) failure(at time.Time) {
	b := s.bucket(at)
	s.mu.Lock()
	b.errors++
	s.mu.Unlock()
}

func (s *series) final(at time.Time, d time.Duration) {
	b := s.bucket(at)
	s.mu.Lock()
	b.finals++
	s.mu.Unlock()
	b.toFinal.Record(d)
}

// count is a second's counters, copied.
type count struct{ requests, errors int64 }

func (s *series) at(t time.Time) count {
	b := s.bucket(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	return count{b.requests, b.errors}
}

// Second is one second of the run in the report and its chart.
type Second struct {
	T            int     `json:"t"`
	Searches     int64   `json:"searches"`
	Orders       int64   `json:"orders"`
	Finals       int64   `json:"finals"`
	Errors       int64   `json:"errors"`
	SearchP50Ms  float64 `json:"searchP50Ms"`
	SearchP99Ms  float64 `json:"searchP99Ms"`
	OrderP99Ms   float64 `json:"orderP99Ms"`
	ToFinalP99Ms float64 `json:"toFinalP99Ms"`
}

func (s *series) export() []Second {
	s.mu.Lock()
	secs := append([]*second(nil), s.secs...)
	s.mu.Unlock()
	out := make([]Second, len(secs))
	for i, b := range secs {
		out[i] = Second{
			T: i, Searches: b.searches, Orders: b.orders, Finals: b.finals, Errors: b.errors,
			SearchP50Ms:  ms(b.search.Quantile(0.5)),
			SearchP99Ms:  ms(b.search.Quantile(0.99)),
			OrderP99Ms:   ms(b.order.Quantile(0.99)),
			ToFinalP99Ms: ms(b.toFinal.Quantile(0.99)),
		}
	}
	return out
}
