package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// testNow is the API's clock in tests: a Friday evening in Tel Aviv.
var testNow = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)

// Card numbers used by the tests; the bank fake answers every Luhn-valid one.
const (
	cardVisa     = "4242424242424242"
	cardVisaSpcd = "4242 4242 4242 4242"
)

var (
	catalogOnce sync.Once
	testIndex   *catalog.Index
)

// loadTestIndex builds the index of testdata/catalog.json: three restaurants, two of them
// Chinese and vegetarian-friendly (the seed's example query), one priced in EUR.
func loadTestIndex(tb testing.TB) *catalog.Index {
	tb.Helper()
	catalogOnce.Do(func() {
		data, err := os.ReadFile("testdata/catalog.json")
		if err != nil {
			panic(err)
		}
		c, err := catalog.Parse(data)
		if err != nil {
			panic(err)
		}
		testIndex = catalog.NewIndex(c)
	})
	return testIndex
}

// fakeCatalog serves a fixed index; nil means "not loaded yet".
type fakeCatalog struct{ ix *catalog.Index }

func (f *fakeCatalog) Index() *catalog.Index { return f.ix }

// fakeStore is the real Dapr order store over an in-memory state store (fakeState, with
// first-write conflicts like Dapr's), with errors to inject on reads and order records.
type fakeStore struct {
	*daprOrderStore
	state     *fakeState
	mu        sync.Mutex
	getErr    error
	createErr error
}

func newFakeStore() *fakeStore {
	st := newFakeState()
	return &fakeStore{daprOrderStore: &daprOrderStore{client: st, store: "orderstore"}, state: st}
}

func (s *fakeStore) Get(ctx context.Context, id string) (order.Progress, error) {
	s.mu.Lock()
	err := s.getErr
	s.mu.Unlock()
	if err != nil {
		return order.Progress{}, err
	}
	return s.daprOrderStore.Get(ctx, id)
}

func (s *fakeStore) Create(ctx context.Context, r record) error {
	s.mu.Lock()
	err := s.createErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.daprOrderStore.Create(ctx, r)
}

// order is the order as GET /orders/{id} would show it, if anything is known of it.
func (s *fakeStore) order(id string) (orderView, bool) {
	p, err := s.daprOrderStore.Get(context.Background(), id)
	if err != nil {
		return orderView{}, false
	}
	v, _ := view(p)
	return v, true
}

// claimed is what an Idempotency-Key holds, if it was claimed.
func (s *fakeStore) claimed(key string) (idemRecord, bool) {
	rec, found, err := s.GetIdempotency(context.Background(), key)
	return rec, found && err == nil
}

// count is how many order records and idempotency keys are stored.
func (s *fakeStore) count() (orders, keys int) {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	for k := range s.state.items {
		switch {
		case strings.HasPrefix(k, "idem-"):
			keys++
		case strings.HasPrefix(k, "order-") && !strings.Contains(k, "."):
			orders++
		}
	}
	return orders, keys
}

// fakePublisher records every `order` event; it can fail or "crash" (panic) once.
type fakePublisher struct {
	mu         sync.Mutex
	events     []events.OrderPlaced
	err        error
	panicOnce  bool
	beforeSend func()
}

func (p *fakePublisher) PublishOrder(_ context.Context, e events.OrderPlaced) error {
	if p.beforeSend != nil {
		p.beforeSend()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.panicOnce {
		p.panicOnce = false
		panic("process killed mid-publish")
	}
	if p.err != nil {
		return p.err
	}
	p.events = append(p.events, e)
	return nil
}

func (p *fakePublisher) published() []events.OrderPlaced {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.OrderPlaced(nil), p.events...)
}

// fakeBank tokenizes like the mock bank: a token, the brand and the last four digits.
type fakeBank struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (b *fakeBank) Tokenize(_ context.Context, number string, _, _ int) (order.Card, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.err != nil {
		return order.Card{}, b.err
	}
	return order.Card{Token: "tok_" + strconv.Itoa(b.calls) + "abcd", Brand: "visa", Last4: number[len(number)-4:]}, nil
}

func (b *fakeBank) callCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// logSink collects the API's log lines (through the kit's redacting logger).
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// harness is the API wired to fakes, served through its real router.
type harness struct {
	api     *api
	h       http.Handler
	catalog *fakeCatalog
	store   *fakeStore
	pub     *fakePublisher
	bank    *fakeBank
	logs    *logSink
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	hs := &harness{
		catalog: &fakeCatalog{ix: loadTestIndex(tb)},
		store:   newFakeStore(),
		pub:     &fakePublisher{},
		bank:    &fakeBank{},
		logs:    &logSink{},
	}
	hs.api = &api{
		log:       service.NewLogger(hs.logs, "api"),
		catalog:   hs.catalog,
		orders:    hs.store,
		publisher: hs.pub,
		bank:      hs.bank,
		ready:     func(context.Context) error { return nil },
		now:       func() time.Time { return testNow },
	}
	hs.h = hs.api.routes("")
	return hs
}

// do sends a request through the router; body may be a string or a value to encode.
func (hs *harness) do(method, path string, body any, header map[string]string) *httptest.ResponseRecorder {
	var r *http.Request
	switch b := body.(type) {
	case nil:
		r = httptest.NewRequest(method, path, nil)
	case string:
		r = httptest.NewRequest(method, path, strings.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		r = httptest.NewRequest(method, path, bytes.NewReader(raw))
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, r)
	return rec
}

// errorBody decodes a {"code","message"} answer.
func errorBody(t *testing.T, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var e struct{ Code, Message string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "body %q", rec.Body.String())
	require.NotEmpty(t, e.Message)
	return e.Code, e.Message
}

// accepted decodes a 202 answer.
func accepted(t *testing.T, rec *httptest.ResponseRecorder) orderResponse {
	t.Helper()
	require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body.String())
	var resp orderResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	return resp
}

var errBoom = errors.New("boom")
