package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func receive(t *testing.T, updates <-chan []byte) []byte {
	t.Helper()
	select {
	case d := <-updates:
		return d
	case <-time.After(3 * time.Second):
		t.Fatal("no update")
		return nil
	}
}

// watch starts src.Watch and returns its updates and a stop that waits for it to return.
func watch(src source) (updates chan []byte, stop func()) {
	updates = make(chan []byte)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- src.Watch(ctx, updates) }()
	return updates, func() { cancel(); <-errc }
}

func TestFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restaurants.json")
	require.NoError(t, os.WriteFile(path, []byte(catalogV1), 0o644))
	updates, stop := watch(&fileSource{path: path, poll: 10 * time.Millisecond})
	t.Cleanup(stop)

	assert.Equal(t, catalogV1, string(receive(t, updates)), "the file as it is at start")

	// An atomic replace, as editors and ConfigMap symlink swaps do.
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(catalogV2), 0o644))
	require.NoError(t, os.Rename(tmp, path))
	assert.Equal(t, catalogV2, string(receive(t, updates)))

	// Rewriting the same bytes (a touch) is no update; the next real change is.
	require.NoError(t, os.WriteFile(path, []byte(catalogV2), 0o644))
	require.NoError(t, os.Chtimes(path, time.Now(), time.Now().Add(time.Minute)))
	require.NoError(t, os.WriteFile(path, []byte(catalogV1Reformatted), 0o644))
	assert.Equal(t, catalogV1Reformatted, string(receive(t, updates)), "the touch yielded nothing in between")
}

func TestFileSourceSeesASameSizeChangeRightAfterARead(t *testing.T) {
	// v1 and v2 differ only in a price of the same width: same size, and written within
	// one filesystem clock tick they have the same mtime too.
	require.Equal(t, len(catalogV1), len(catalogV2))
	for i := range 20 {
		path := filepath.Join(t.TempDir(), "restaurants.json")
		require.NoError(t, os.WriteFile(path, []byte(catalogV1), 0o644))
		updates, stop := watch(&fileSource{path: path, poll: 5 * time.Millisecond})
		require.Equal(t, catalogV1, string(receive(t, updates)))
		require.NoError(t, os.WriteFile(path+".tmp", []byte(catalogV2), 0o644))
		require.NoError(t, os.Rename(path+".tmp", path))
		assert.Equal(t, catalogV2, string(receive(t, updates)), "round %d", i)
		stop()
	}
}

func TestFileSourceMissingFile(t *testing.T) {
	src := &fileSource{path: filepath.Join(t.TempDir(), "nope.json"), poll: 10 * time.Millisecond}
	err := src.Watch(context.Background(), make(chan []byte))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.json")
}

// fakeConfig is a Dapr configuration store holding one key.
type fakeConfig struct {
	value   string
	missing bool
	err     error
	handler dapr.ConfigurationHandleFunction
	ready   chan struct{}
}

func (f *fakeConfig) GetConfigurationItem(context.Context, string, string, ...dapr.ConfigurationOpt) (*dapr.ConfigurationItem, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.missing {
		return nil, nil
	}
	return &dapr.ConfigurationItem{Value: f.value}, nil
}

func (f *fakeConfig) SubscribeConfigurationItems(_ context.Context, _ string, _ []string, h dapr.ConfigurationHandleFunction, _ ...dapr.ConfigurationOpt) (string, error) {
	f.handler = h
	close(f.ready)
	return "sub-1", nil
}

func TestConfigSource(t *testing.T) {
	f := &fakeConfig{value: catalogV1, ready: make(chan struct{})}
	src := &configSource{client: f, store: "catalogsource", key: "restaurants.json", log: service.NewLogger(&bytes.Buffer{}, "catalog")}
	updates, stop := watch(src)
	t.Cleanup(stop)

	assert.Equal(t, catalogV1, string(receive(t, updates)))
	<-f.ready
	go f.handler("sub-1", map[string]*dapr.ConfigurationItem{"restaurants.json": {Value: catalogV2}, "other": {Value: "x"}})
	assert.Equal(t, catalogV2, string(receive(t, updates)), "a ConfigMap change arrives without a restart")
}

func TestConfigSourceFailures(t *testing.T) {
	tests := []struct {
		name string
		f    *fakeConfig
	}{
		{"store unreachable", &fakeConfig{err: errors.New("unavailable")}},
		{"key missing", &fakeConfig{missing: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &configSource{client: tc.f, store: "catalogsource", key: "restaurants.json"}
			err := src.Watch(context.Background(), make(chan []byte))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "restaurants.json")
		})
	}
}

func TestLoaderStatusRoute(t *testing.T) {
	store := newFakeCatalogStore()
	l := &loader{store: store, log: service.NewLogger(&bytes.Buffer{}, "catalog"), now: func() time.Time { return testNow }}
	require.NoError(t, l.load(context.Background(), []byte(catalogV1)))
	require.Error(t, l.load(context.Background(), []byte(`{"restaurants":[]}`)))

	rec := httptest.NewRecorder()
	l.routes("", "1").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var got struct {
		Published struct {
			Version string `json:"version"`
		} `json:"published"`
		LastRejection string `json:"lastRejection"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, version(t, catalogV1), got.Published.Version)
	assert.Contains(t, got.LastRejection, "restaurants")
}
