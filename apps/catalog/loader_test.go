package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalogstate"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

var testNow = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)

const catalogV1 = `{"restaurants":[{"id":"china-city","name":"China city","style":"Chinese","vegetarian":true,"delivery":true,"rating":4,
"menu":[{"id":"m1","name":"Spring rolls","price":650}]}]}`

// catalogV1Reformatted is v1 written differently: the same content, so the same version.
const catalogV1Reformatted = `{
  "restaurants": [
    {"id": "china-city", "name": "China city", "style": "Chinese", "vegetarian": true, "delivery": true, "rating": 4,
     "currency": "ILS", "timezone": "Asia/Jerusalem", "menu": [{"id": "m1", "name": "Spring rolls", "price": 650}]}
  ]
}`

const catalogV2 = `{"restaurants":[{"id":"china-city","name":"China city","style":"Chinese","vegetarian":true,"delivery":true,"rating":4,
"menu":[{"id":"m1","name":"Spring rolls","price":700}]}]}`

func version(t *testing.T, data string) string {
	t.Helper()
	c, err := catalog.Parse([]byte(data))
	require.NoError(t, err)
	return c.Version
}

// fakeCatalogStore records what the loader publishes.
type fakeCatalogStore struct {
	mu         sync.Mutex
	current    catalogstate.Pointer
	found      bool
	chunks     map[string][][]byte
	publishes  []string
	publishErr []error // answered in turn by Publish, then nil
	published  chan string
	deleted    []string
}

func newFakeCatalogStore() *fakeCatalogStore {
	return &fakeCatalogStore{chunks: map[string][][]byte{}, published: make(chan string, 16)}
}

func (s *fakeCatalogStore) Current(context.Context) (catalogstate.Pointer, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current, s.found, nil
}

func (s *fakeCatalogStore) Publish(_ context.Context, p catalogstate.Pointer, chunks [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.publishErr) > 0 {
		err := s.publishErr[0]
		s.publishErr = s.publishErr[1:]
		return err
	}
	s.chunks[p.Version] = chunks
	s.current, s.found = p, true
	s.publishes = append(s.publishes, p.Version)
	s.published <- p.Version
	return nil
}

func (s *fakeCatalogStore) Delete(_ context.Context, p catalogstate.Pointer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.chunks, p.Version)
	s.deleted = append(s.deleted, p.Version)
	return nil
}

func (s *fakeCatalogStore) has(version string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.chunks[version]
	return ok
}

func (s *fakeCatalogStore) state() (string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.Version, append([]string(nil), s.publishes...)
}

// listSource yields each of its versions in turn, then waits; a send returns only once the
// loader has taken it, which means the one before it is fully handled.
type listSource struct {
	data [][]byte
	done chan struct{}
}

func (s *listSource) Watch(ctx context.Context, updates chan<- []byte) error {
	for _, d := range s.data {
		select {
		case updates <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	close(s.done)
	<-ctx.Done()
	return ctx.Err()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(level string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, `"level":"`+level+`"`) {
			out = append(out, line)
		}
	}
	return out
}

func TestLoaderPublishesNewVersionsOnly(t *testing.T) {
	store := newFakeCatalogStore()
	logs := &lockedBuffer{}
	l := &loader{store: store, log: service.NewLogger(logs, "catalog"), now: func() time.Time { return testNow }}
	src := &listSource{
		data: [][]byte{
			[]byte(catalogV1),
			[]byte(`{"restaurants":[{"id":"Bad Id","name":"","style":"x","rating":9}]}`),
			[]byte(catalogV1Reformatted),
			[]byte(catalogV2),
			[]byte(catalogV2), // its send returns once v2 is handled
		},
		done: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() { l.run(ctx, src); close(finished) }()
	<-src.done
	cancel()
	<-finished

	current, publishes := store.state()
	assert.Equal(t, []string{version(t, catalogV1), version(t, catalogV2)}, publishes,
		"the malformed file and the reformatted v1 publish nothing")
	assert.Equal(t, version(t, catalogV2), current)

	errLines := logs.lines("ERROR")
	require.Len(t, errLines, 1, "a malformed catalog is one log line")
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(errLines[0]), &line))
	msg, _ := line["msg"].(string)
	assert.Contains(t, msg, "previous version keeps serving")
	assert.Contains(t, msg, "rating")
	assert.Contains(t, msg, "id")
}

func TestLoaderRejectsAMalformedCatalog(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"not JSON", `restaurants: []`},
		{"empty", ``},
		{"no restaurants", `{"restaurants":[]}`},
		{"unknown field", `{"restaurants":[],"extra":1}`},
		{"negative price", strings.Replace(catalogV1, `"price":650`, `"price":-1`, 1)},
		{"trailing data", catalogV1 + `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeCatalogStore()
			l := &loader{store: store, log: service.NewLogger(&bytes.Buffer{}, "catalog"), now: func() time.Time { return testNow }}
			require.NoError(t, l.load(context.Background(), []byte(catalogV1)))

			err := l.load(context.Background(), []byte(tc.data))
			require.Error(t, err)
			current, publishes := store.state()
			assert.Equal(t, version(t, catalogV1), current, "the previous version stays published")
			assert.Len(t, publishes, 1)
			p, rejection := l.status()
			assert.Equal(t, version(t, catalogV1), p.Version)
			assert.NotEmpty(t, rejection, "/status says why")
		})
	}
}

func TestLoaderRetriesTheStoreUntilItAnswers(t *testing.T) {
	store := newFakeCatalogStore()
	store.publishErr = []error{errors.New("sidecar not up yet"), errors.New("still not")}
	l := &loader{store: store, log: service.NewLogger(&bytes.Buffer{}, "catalog"), now: func() time.Time { return testNow }}
	require.NoError(t, l.load(context.Background(), []byte(catalogV1)))
	current, publishes := store.state()
	assert.Equal(t, version(t, catalogV1), current)
	assert.Len(t, publishes, 1)
	_, rejection := l.status()
	assert.Empty(t, rejection)

	// A context that ends stops the retries.
	store.publishErr = []error{errors.New("down"), errors.New("down"), errors.New("down")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, l.load(ctx, []byte(catalogV2)), context.Canceled)
}

func TestLoaderRecognisesTheVersionAlreadyInTheStore(t *testing.T) {
	// After a restart the loader finds its version already published: nothing is rewritten.
	store := newFakeCatalogStore()
	p, _ := catalogstate.Split(version(t, catalogV1), []byte(catalogV1), 1, testNow)
	store.current, store.found = p, true
	l := &loader{store: store, log: service.NewLogger(&bytes.Buffer{}, "catalog"), now: func() time.Time { return testNow }}
	require.NoError(t, l.load(context.Background(), []byte(catalogV1)))
	_, publishes := store.state()
	assert.Empty(t, publishes)
	got, _ := l.status()
	assert.Equal(t, p.Version, got.Version)
}

// op is one call the catalog store made to the state API.
type op struct {
	kind string
	key  string
	data []byte
}

// fakeState records the order of state writes.
type fakeState struct {
	mu      sync.Mutex
	ops     []op
	failKey string
	pointer []byte
	getErr  error
}

func (f *fakeState) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	return &dapr.StateItem{Key: key, Value: f.pointer}, nil
}

func (f *fakeState) SaveBulkState(_ context.Context, _ string, items ...*dapr.SetStateItem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range items {
		if it.Key == f.failKey {
			return errors.New("write failed")
		}
		f.ops = append(f.ops, op{"chunk", it.Key, it.Value})
	}
	return nil
}

func (f *fakeState) SaveState(_ context.Context, _, key string, data []byte, _ map[string]string, _ ...dapr.StateOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op{"pointer", key, data})
	return nil
}

func (f *fakeState) DeleteBulkState(_ context.Context, _ string, keys []string, _ map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		f.ops = append(f.ops, op{"delete", k, nil})
	}
	return nil
}

func TestStorePublishWritesChunksBeforeThePointer(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), (catalogstate.ChunkSize*5/2)/16) // 2.5 chunks
	p, chunks := catalogstate.Split("v2", data, 1, testNow)
	require.Equal(t, 3, p.Chunks)

	f := &fakeState{}
	s := &daprCatalogStore{client: f, name: "catalogstore"}
	require.NoError(t, s.Publish(context.Background(), p, chunks))

	require.Len(t, f.ops, 4)
	var joined []byte
	for i, o := range f.ops[:3] {
		assert.Equal(t, "chunk", o.kind)
		assert.Equal(t, catalogstate.ChunkKey("v2", i), o.key)
		joined = append(joined, o.data...)
	}
	assert.Equal(t, data, joined)
	last := f.ops[3]
	assert.Equal(t, "pointer", last.kind, "the pointer moves last")
	assert.Equal(t, catalogstate.CurrentKey, last.key)
	got, err := catalogstate.DecodePointer(last.data)
	require.NoError(t, err)
	assert.Equal(t, p.Version, got.Version)
	assert.Equal(t, p.SHA256, got.SHA256)
}

func TestStorePublishKeepsThePointerWhenAChunkFails(t *testing.T) {
	data := bytes.Repeat([]byte("x"), catalogstate.ChunkSize+10)
	p, chunks := catalogstate.Split("v3", data, 1, testNow)
	f := &fakeState{failKey: catalogstate.ChunkKey("v3", 1)}
	err := (&daprCatalogStore{client: f, name: "catalogstore"}).Publish(context.Background(), p, chunks)
	require.Error(t, err)
	for _, o := range f.ops {
		assert.NotEqual(t, "pointer", o.kind, "readers keep the previous version")
	}
}

func TestStoreCurrent(t *testing.T) {
	good, _ := json.Marshal(catalogstate.Pointer{Version: "v1", Chunks: 1, Size: 10, SHA256: strings.Repeat("a", 64)})
	tests := []struct {
		name      string
		pointer   []byte
		getErr    error
		wantFound bool
		wantErr   bool
	}{
		{"published", good, nil, true, false},
		{"nothing published", nil, nil, false, false},
		{"damaged pointer: replaced by the next publish", []byte(`{"version":`), nil, false, false},
		{"incomplete pointer", []byte(`{"version":"v1"}`), nil, false, false},
		{"store unreachable", nil, errors.New("unavailable"), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &daprCatalogStore{client: &fakeState{pointer: tc.pointer, getErr: tc.getErr}, name: "catalogstore"}
			p, found, err := s.Current(context.Background())
			assert.Equal(t, tc.wantErr, err != nil)
			assert.Equal(t, tc.wantFound, found)
			if found {
				assert.Equal(t, "v1", p.Version)
			}
		})
	}
}

func TestStoreDeleteRemovesEveryChunk(t *testing.T) {
	f := &fakeState{}
	p := catalogstate.Pointer{Version: "v1", Chunks: 3}
	require.NoError(t, (&daprCatalogStore{client: f, name: "catalogstore"}).Delete(context.Background(), p))
	var keys []string
	for _, o := range f.ops {
		keys = append(keys, fmt.Sprintf("%s %s", o.kind, o.key))
	}
	assert.Equal(t, []string{"delete catalog-v1-0", "delete catalog-v1-1", "delete catalog-v1-2"}, keys)
}

// A catalog changed and changed back before the old version's deletion (A → B → A) keeps
// A's chunks: the deletion that B's publish scheduled for A finds A current again. B's
// chunks, no longer current, go.
func TestLoaderKeepsAVersionThatIsCurrentAgain(t *testing.T) {
	store := newFakeCatalogStore()
	timers := make(chan chan time.Time, 4)
	after := func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		timers <- c
		return c
	}
	l := &loader{store: store, log: service.NewLogger(&bytes.Buffer{}, "catalog"), now: func() time.Time { return testNow }, after: after}
	ctx := context.Background()
	a, b := version(t, catalogV1), version(t, catalogV2)
	require.NoError(t, l.load(ctx, []byte(catalogV1)))
	require.NoError(t, l.load(ctx, []byte(catalogV2)))
	retireA := <-timers
	require.NoError(t, l.load(ctx, []byte(catalogV1)))
	retireB := <-timers

	retireA <- time.Time{}
	retireB <- time.Time{}
	require.Eventually(t, func() bool { return !store.has(b) }, 10*time.Second, 5*time.Millisecond, "B's chunks are deleted")
	assert.True(t, store.has(a), "A is current again and keeps its chunks")
	current, _ := store.state()
	assert.Equal(t, a, current)
	store.mu.Lock()
	defer store.mu.Unlock()
	assert.Equal(t, []string{b}, store.deleted)
}
