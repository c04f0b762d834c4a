package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// fault is what the injector decided for one charge call.
type fault int

const (
	faultNone fault = iota
	// faultFail answers 503 without charging: the easy transient failure.
	faultFail
	// faultDropReply charges, then closes the connection without a reply: the client
	// cannot know whether it paid, and only a retry with the same key is safe.
	faultDropReply
	// faultHang charges (or replays the charge already made), then sends nothing until the
	// client gives up: a bank that charges and then hangs. Retrying the charge learns
	// nothing; only asking the bank by key (GET /v1/charges?idempotencyKey=) does.
	faultHang
)

// duration is a time.Duration that reads and writes as "250ms" in JSON.
type duration time.Duration

// MarshalJSON writes the duration in Go syntax so PUT and GET use the same form.
func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts Go duration strings such as "0s" or "1.5s".
func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("latency must be a string such as \"250ms\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("latency %q is not a duration such as \"250ms\"", s)
	}
	*d = duration(v)
	return nil
}

// faultSettings is the body of PUT and GET /v1/admin/faults.
type faultSettings struct {
	FailureRate   float64  `json:"failureRate"`
	DropReplyRate float64  `json:"dropReplyRate"`
	HangRate      float64  `json:"hangRate,omitempty"`
	Latency       duration `json:"latency"`
	// Seed restarts the random source when given, so a fault test can replay the
	// exact sequence of failures without restarting the bank.
	Seed *uint64 `json:"seed,omitempty"`
}

// validate keeps rates meaningful: one draw in [0,1) picks fail, drop or neither.
func (s faultSettings) validate() error {
	switch {
	case s.FailureRate < 0 || s.FailureRate > 1:
		return fmt.Errorf("failureRate must be from 0 to 1, got %g", s.FailureRate)
	case s.DropReplyRate < 0 || s.DropReplyRate > 1:
		return fmt.Errorf("dropReplyRate must be from 0 to 1, got %g", s.DropReplyRate)
	case s.HangRate < 0 || s.HangRate > 1:
		return fmt.Errorf("hangRate must be from 0 to 1, got %g", s.HangRate)
	case s.FailureRate+s.DropReplyRate+s.HangRate > 1:
		return fmt.Errorf("failureRate + dropReplyRate + hangRate must not exceed 1, got %g", s.FailureRate+s.DropReplyRate+s.HangRate)
	case s.Latency < 0:
		return fmt.Errorf("latency must not be negative")
	}
	return nil
}

// faults is the run-time fault injector shared by all requests.
type faults struct {
	mu   sync.Mutex
	cur  faultSettings
	seed uint64
	rng  *rand.Rand
}

// newFaults starts from the configured settings and seed.
func newFaults(s faultSettings, seed uint64) *faults {
	f := &faults{}
	s.Seed = &seed
	f.set(s)
	return f
}

// set replaces the settings; the random source restarts only when a seed is given.
func (f *faults) set(s faultSettings) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.Seed != nil {
		f.seed = *s.Seed
		f.rng = rand.New(rand.NewPCG(f.seed, f.seed))
	}
	s.Seed = nil
	f.cur = s
}

// settings returns the current settings with the last seed given.
func (f *faults) settings() faultSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.cur
	seed := f.seed
	s.Seed = &seed
	return s
}

// latency is the delay added to every bank API call.
func (f *faults) latency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Duration(f.cur.Latency)
}

// roll decides the fault for one charge call. It draws even when both rates are
// zero so the sequence for a seed does not depend on when rates were changed.
func (f *faults) roll() fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rng.Float64()
	switch {
	case r < f.cur.FailureRate:
		return faultFail
	case r < f.cur.FailureRate+f.cur.DropReplyRate:
		return faultDropReply
	case r < f.cur.FailureRate+f.cur.DropReplyRate+f.cur.HangRate:
		return faultHang
	}
	return faultNone
}
