package main

import (
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceHang makes the broker a broker that accepts and then times out: while it is on,
// every Produce request is taken off the wire and held unanswered; when it ends, each held
// request is appended and answered as usual. A producer whose deadline is shorter than the
// hang sees an error (a timeout) for a record that does reach the topic: the outcome its
// client could not learn. Fetches and other requests on other connections carry on.
type produceHang struct {
	mu    sync.Mutex
	until time.Time
	off   chan struct{} // closed when the current hang ends; nil when none runs
	timer *time.Timer
	held  int
	hangs int
}

// control is the kfake control function for Produce requests: it never handles a request
// itself (the cluster appends it), it only makes it wait out a hang.
func (h *produceHang) control(c *kfake.Cluster) func(kmsg.Request) (kmsg.Response, error, bool) {
	return func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		h.mu.Lock()
		off := h.off
		if off != nil {
			h.held++
		}
		h.mu.Unlock()
		if off != nil {
			c.SleepControl(func() { <-off })
		}
		return nil, nil, false
	}
}

// start begins a hang of d, or extends the running one to end d from now.
func (h *produceHang) start(d time.Duration) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.until = time.Now().Add(d)
	if h.off == nil {
		h.off = make(chan struct{})
		h.hangs++
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	off := h.off
	h.timer = time.AfterFunc(d, func() { h.end(off) })
	return h.until
}

// stop ends the running hang now.
func (h *produceHang) stop() {
	h.mu.Lock()
	off := h.off
	h.mu.Unlock()
	h.end(off)
}

func (h *produceHang) end(off chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if off == nil || h.off != off {
		return
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	close(off)
	h.off, h.until = nil, time.Time{}
}

type hangStatus struct {
	On    bool       `json:"on"`
	Until *time.Time `json:"until,omitempty"`
	Held  int        `json:"held"`
	Hangs int        `json:"hangs"`
}

func (h *produceHang) status() hangStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := hangStatus{On: h.off != nil, Held: h.held, Hangs: h.hangs}
	if s.On {
		until := h.until
		s.Until = &until
	}
	return s
}

func (a *admin) getProduceHang(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.hang.status())
}

// postProduceHang starts a hang: POST /produce-hang?for=10s (1 s to 10 min).
func (a *admin) postProduceHang(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("for"))
	if err != nil || d < time.Second || d > 10*time.Minute {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "invalid_duration", "message": `query "for" must be a duration from 1s to 10m, such as "10s"`})
		return
	}
	until := a.hang.start(d)
	a.log.Warn("fault injected: produce requests held unanswered", "for", d.String(), "until", until)
	writeJSON(w, http.StatusAccepted, a.hang.status())
}

func (a *admin) deleteProduceHang(w http.ResponseWriter, _ *http.Request) {
	a.hang.stop()
	a.log.Info("produce hang ended by request")
	writeJSON(w, http.StatusOK, a.hang.status())
}
