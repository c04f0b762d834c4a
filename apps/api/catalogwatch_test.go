package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
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

// fakeCatalogState is the catalog store as the loader leaves it: chunks and a pointer.
type fakeCatalogState struct {
	mu        sync.Mutex
	items     map[string][]byte
	bulkReads int
}

func (f *fakeCatalogState) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &dapr.StateItem{Key: key, Value: f.items[key]}, nil
}

func (f *fakeCatalogState) GetBulkState(_ context.Context, _ string, keys []string, _ map[string]string, _ int32) ([]*dapr.BulkStateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bulkReads++
	var out []*dapr.BulkStateItem
	for _, k := range keys {
		out = append(out, &dapr.BulkStateItem{Key: k, Value: f.items[k]})
	}
	return out, nil
}

// publish writes data as the loader would, under the given version; tamper may change
// the chunks or the pointer afterwards.
func (f *fakeCatalogState) publish(t *testing.T, version string, data []byte, tamper func(p *catalogstate.Pointer, chunks [][]byte)) {
	t.Helper()
	p, chunks := catalogstate.Split(version, data, 1, testNow)
	if tamper != nil {
		tamper(&p, chunks)
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.items == nil {
		f.items = map[string][]byte{}
	}
	for i, c := range chunks {
		f.items[catalogstate.ChunkKey(version, i)] = c
	}
	f.items[catalogstate.CurrentKey] = b
}

func canonical(t *testing.T, data []byte) ([]byte, string) {
	t.Helper()
	c, err := catalog.Parse(data)
	require.NoError(t, err)
	out, err := c.Marshal()
	require.NoError(t, err)
	return out, c.Version
}

func TestCatalogWatcher(t *testing.T) {
	raw, err := os.ReadFile("testdata/catalog.json")
	require.NoError(t, err)
	v1Data, v1 := canonical(t, raw)
	v2Data, v2 := canonical(t, bytes.Replace(raw, []byte(`"price": 650`), []byte(`"price": 700`), 1))
	require.NotEqual(t, v1, v2)

	f := &fakeCatalogState{}
	var logs logSink
	w := newCatalogWatcher(f, "catalogstore", time.Second, service.NewLogger(&logs, "api"))
	ctx := context.Background()

	require.Error(t, w.refresh(ctx), "nothing published yet")
	assert.Nil(t, w.Index())

	f.publish(t, v1, v1Data, nil)
	require.NoError(t, w.refresh(ctx))
	require.NotNil(t, w.Index())
	assert.Equal(t, v1, w.Index().Version())
	reads := f.bulkReads
	require.NoError(t, w.refresh(ctx))
	assert.Equal(t, reads, f.bulkReads, "an unchanged pointer costs no catalog read")

	bad := []struct {
		name    string
		version string
		data    []byte
		tamper  func(p *catalogstate.Pointer, chunks [][]byte)
	}{
		{"content that does not parse", "bad1", []byte(`{"restaurants":[]}`), nil},
		{"chunks that do not match the hash", "bad2", v2Data, func(_ *catalogstate.Pointer, chunks [][]byte) { chunks[0] = append([]byte(" "), chunks[0][1:]...) }},
		{"a missing chunk", "bad3", v2Data, func(p *catalogstate.Pointer, _ [][]byte) { p.Chunks++ }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(logs.String(), "catalog version rejected")
			f.publish(t, tc.version, tc.data, tc.tamper)
			require.Error(t, w.refresh(ctx))
			assert.Equal(t, v1, w.Index().Version(), "the previous version keeps serving")
			assert.Equal(t, before+1, strings.Count(logs.String(), "catalog version rejected"))

			reads := f.bulkReads
			_ = w.refresh(ctx)
			assert.Equal(t, reads, f.bulkReads, "a rejected version is not read again every poll")
			assert.Equal(t, before+1, strings.Count(logs.String(), "catalog version rejected"), "and is logged once")
			assert.NoError(t, w.Ready(), "still ready: a catalog is served")
		})
	}

	f.publish(t, v2, v2Data, nil)
	require.NoError(t, w.refresh(ctx))
	assert.Equal(t, v2, w.Index().Version())
	r, ok := w.Index().Restaurant("china-city")
	require.True(t, ok)
	item, _ := r.Item("m1")
	assert.Equal(t, int64(700), item.Price, "orders are priced from the new version")
}

func TestCatalogWatcherRunAndReady(t *testing.T) {
	raw, err := os.ReadFile("testdata/catalog.json")
	require.NoError(t, err)
	data, v := canonical(t, raw)
	f := &fakeCatalogState{}
	w := newCatalogWatcher(f, "catalogstore", 100*time.Millisecond, service.NewLogger(&logSink{}, "api"))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool { return w.Ready() != nil && strings.Contains(w.Ready().Error(), "no catalog published") },
		5*time.Second, 10*time.Millisecond, "not ready, and says why")
	f.publish(t, v, data, nil)
	require.Eventually(t, func() bool { return w.Ready() == nil }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, v, w.Index().Version())
}
