package load

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeStack is a hand-written stand-in for the API, mailpit and the bank in one server. It
// settles each order at once, except the ones it is told to lose, to email twice or to
// charge twice, so the report's counts can be checked against what it did.
type fakeStack struct {
	mu         sync.Mutex
	n          int
	orders     map[string]bool // id -> final
	mails      []mailMessage
	charges    []string
	lose       map[int]bool // by order number (1-based)
	twiceMail  map[int]bool
	twiceBank  map[int]bool
	searchFail map[int]bool // by search number
	searches   int
	noCache    int // searches that asked past caches
	bodies     []map[string]any
}

func newFakeStack() *fakeStack {
	return &fakeStack{orders: map[string]bool{}, lose: map[int]bool{}, twiceMail: map[int]bool{}, twiceBank: map[int]bool{}, searchFail: map[int]bool{}}
}

func (f *fakeStack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	js := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	switch {
	case r.URL.Path == "/search":
		f.searches++
		if r.Header.Get("Cache-Control") == "no-cache" {
			f.noCache++
		}
		if f.searchFail[f.searches] {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		js([]map[string]string{{"id": "china-city", "name": "China City", "style": "Chinese"}, {"id": "pasta-bar", "name": "Pasta Bar", "style": "Italian"}})
	case r.URL.Path == "/styles":
		js([]string{"Chinese", "Italian"})
	case strings.HasPrefix(r.URL.Path, "/restaurants/"):
		js(map[string]any{"menu": []map[string]string{{"id": "m1"}, {"id": "m2"}, {"id": "m3"}}})
	case r.URL.Path == "/orders" && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.bodies = append(f.bodies, body)
		f.n++
		id := fmt.Sprintf("ord_%020d", f.n)
		f.orders[id] = !f.lose[f.n]
		if !f.lose[f.n] {
			mails := 1
			if f.twiceMail[f.n] {
				mails = 2
			}
			for i := range mails {
				f.mails = append([]mailMessage{{ID: id + "-" + strconv.Itoa(i), Subject: "Order " + id + " confirmed: China City", Created: time.Now()}}, f.mails...)
			}
			f.charges = append(f.charges, id)
			if f.twiceBank[f.n] {
				f.charges = append(f.charges, id)
			}
		}
		w.WriteHeader(http.StatusAccepted)
		js(map[string]string{"orderId": id, "status": "accepted"})
	case strings.HasPrefix(r.URL.Path, "/orders/"):
		id := strings.TrimPrefix(r.URL.Path, "/orders/")
		final, ok := f.orders[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		now := time.Now().UTC()
		status := "accepted"
		tl := []map[string]any{{"status": "accepted", "at": now.Add(-20 * time.Millisecond)}}
		if final {
			status = "confirmed"
			tl = append(tl, map[string]any{"status": "confirmed", "at": now})
		}
		js(map[string]any{"orderId": id, "status": status, "final": final, "timeline": tl})
	case r.URL.Path == "/api/v1/messages":
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		end := min(start+limit, len(f.mails))
		start = min(start, end)
		js(map[string]any{"messages": f.mails[start:end]})
	case r.URL.Path == "/v1/ledger":
		var cs []map[string]string
		for _, id := range f.charges {
			cs = append(cs, map[string]string{"orderId": id, "status": "succeeded"})
		}
		js(map[string]any{"charges": cs})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func testConfig(url string) Config {
	cfg := Defaults()
	cfg.Target, cfg.Mailpit, cfg.Bank = url, url, url
	cfg.Mode, cfg.Concurrency = Closed, 1
	cfg.Duration, cfg.Count = 0, 30
	cfg.Ramp, cfg.Warmup = 0, 0
	cfg.OrderShare, cfg.DeclineShare = 0.5, 0.2
	cfg.Deadline = 3 * time.Second
	cfg.Sample = 0
	return cfg
}

func TestRunFindsLostDuplicatedAndFailed(t *testing.T) {
	f := newFakeStack()
	f.lose[2] = true
	f.twiceMail[3] = true
	f.twiceBank[4] = true
	f.searchFail[5] = true // the 5th search overall: one of the load's, after the mix is read
	srv := httptest.NewServer(f)
	defer srv.Close()

	rep, err := Run(context.Background(), testConfig(srv.URL), nil)
	require.NoError(t, err)

	o := rep.Orders
	f.mu.Lock()
	placed := f.n
	bodies := f.bodies
	f.mu.Unlock()
	require.GreaterOrEqual(t, placed, 4, "the mix must have placed orders")
	assert.EqualValues(t, placed, o.Accepted)
	assert.EqualValues(t, 1, o.Lost)
	assert.Equal(t, []string{fmt.Sprintf("ord_%020d", 2)}, o.LostIDs)
	assert.EqualValues(t, 1, o.DuplicateEmails)
	assert.Equal(t, []string{fmt.Sprintf("ord_%020d", 3)}, o.DuplicateEmailIDs)
	assert.EqualValues(t, 1, o.DuplicateCharges)
	assert.Equal(t, []string{fmt.Sprintf("ord_%020d", 4)}, o.DuplicateChargeIDs)
	assert.EqualValues(t, placed-1, o.Final)
	assert.EqualValues(t, placed-1, o.ToEmail.Count)
	assert.EqualValues(t, placed-1, o.ToFinal.Count)
	assert.Equal(t, map[string]int64{"search http_503": 1}, rep.Errors)
	assert.False(t, rep.Clean())
	assert.EqualValues(t, rep.Requests["search"].OK+rep.Requests["order"].OK+1, rep.Requests["search"].Sent+rep.Requests["order"].Sent)

	for _, b := range bodies {
		items, _ := b["items"].([]any)
		assert.NotEmpty(t, items, "every order names menu items")
		assert.Contains(t, []any{ApprovedCard, DeclinedCard}, b["creditCard"])
	}
}

func TestRunCleanOpenModel(t *testing.T) {
	srv := httptest.NewServer(newFakeStack())
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Mode, cfg.Rate, cfg.Concurrency = Open, 200, 16
	cfg.Count, cfg.Duration, cfg.Warmup, cfg.Ramp = 0, 500*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond

	rep, err := Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.True(t, rep.Clean(), "errors %v, orders %+v", rep.Errors, rep.Orders)
	sent := rep.Requests["search"].Sent + rep.Requests["order"].Sent
	// 200/s for 0.5 s after the warm-up: about 100 measured requests; timers are coarse.
	assert.InDelta(t, 100, sent, 25)
	assert.Greater(t, rep.Orders.Accepted, rep.Orders.Measured, "warm-up orders are followed but not measured")

	dir := t.TempDir()
	require.NoError(t, rep.WriteSVG(filepath.Join(dir, "r.svg")))
	svg, err := os.ReadFile(filepath.Join(dir, "r.svg"))
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(svg, new(struct{})), "the chart must be well-formed XML")
	assert.Contains(t, string(svg), "<polyline")
	require.NoError(t, rep.WriteJSON(filepath.Join(dir, "r.json")))
	var back Report
	raw, err := os.ReadFile(filepath.Join(dir, "r.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, rep.Orders.Accepted, back.Orders.Accepted)

	var table strings.Builder
	rep.WriteTable(&table)
	assert.Contains(t, table.String(), "lost (never final): 0")
	assert.Contains(t, table.String(), "errors: none")
}

// -no-cache asks past nginx's cache on every measured search, and only when told to.
func TestNoCacheAsksPastTheCache(t *testing.T) {
	for _, noCache := range []bool{false, true} {
		f := newFakeStack()
		srv := httptest.NewServer(f)
		cfg := testConfig(srv.URL)
		cfg.OrderShare, cfg.NoCache = 0, noCache
		rep, err := Run(context.Background(), cfg, nil)
		srv.Close()
		require.NoError(t, err)
		require.EqualValues(t, 30, rep.Requests["search"].Sent)
		if noCache {
			assert.Equal(t, 30, f.noCache, "every measured search says no-cache")
		} else {
			assert.Zero(t, f.noCache)
		}
	}
}

func TestRunRefusesAStackWithoutCatalog(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":"catalog_unavailable"}`))
	}))
	defer srv.Close()
	_, err := Run(context.Background(), testConfig(srv.URL), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503")
	assert.Contains(t, err.Error(), "catalog_unavailable")
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"closed without rate", func(c *Config) { c.Mode, c.Rate = Closed, 0 }, ""},
		{"open without rate", func(c *Config) { c.Rate = 0 }, "rate must be > 0"},
		{"unknown mode", func(c *Config) { c.Mode = "burst" }, `mode must be "open" or "closed"`},
		{"no end", func(c *Config) { c.Duration, c.Count = 0, 0 }, "set a duration or a count"},
		{"order share", func(c *Config) { c.OrderShare = 1.5 }, "orders share must be within 0..1"},
		{"page size", func(c *Config) { c.SearchLimit = 500 }, "search limit must be within 1..100"},
		{"target", func(c *Config) { c.Target = "ftp://x" }, "want nginx, api or an http URL"},
		{"no concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency must be >= 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			c.edit(&cfg)
			err := cfg.Validate()
			if c.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestResolveTarget(t *testing.T) {
	cases := []struct{ in, want string }{
		{"nginx", NginxURL}, {"", NginxURL}, {"api", APIURL}, {"http://10.0.0.1:8080/api/", "http://10.0.0.1:8080/api"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ResolveTarget(c.in)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestEmailSeenBeforeThe202StillCounts(t *testing.T) {
	r := &runner{cfg: testConfig("http://unused")}
	tr := newTracker(r)
	id := fmt.Sprintf("ord_%020d", 9)
	sent := time.Now()
	// The pipeline finished and mailpit listed the email before the API's 202 arrived.
	assert.True(t, tr.noteMail(mailMessage{ID: "m1", Subject: "Order " + id + " confirmed: China City", Created: sent}, sent))
	tr.add(id, sent.Add(50*time.Millisecond), true, false)
	assert.False(t, tr.noteMail(mailMessage{ID: "m1", Subject: "Order " + id + " confirmed: China City", Created: sent}, sent), "a message is noted once")

	tr.mu.Lock()
	defer tr.mu.Unlock()
	assert.Equal(t, sent, tr.orders[id].emailAt)
	assert.EqualValues(t, 1, tr.toEmail.Count())
	assert.Equal(t, time.Duration(0), tr.toEmail.Quantile(1), "an email before the 202 counts as zero latency")
}
