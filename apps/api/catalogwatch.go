package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalogstate"
)

// catalogClient is the part of the Dapr client the catalog watcher uses.
type catalogClient interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
}

// catalogWatcher keeps the search index of the catalog version the loader last published.
// It polls the small pointer key; only a new version costs a read of the catalog, a parse
// and an index build, after which the new index replaces the old one in one atomic step.
type catalogWatcher struct {
	client catalogClient
	store  string
	poll   time.Duration
	log    *slog.Logger

	index    atomic.Pointer[catalog.Index]
	mu       sync.Mutex
	loaded   string // the pointer version of the index being served
	rejected string // a version that failed to load: not retried every poll
	lastErr  error
}

func newCatalogWatcher(c catalogClient, store string, poll time.Duration, log *slog.Logger) *catalogWatcher {
	return &catalogWatcher{client: c, store: store, poll: poll, log: log}
}

// Index returns the index being served, or nil before the first version is loaded.
func (w *catalogWatcher) Index() *catalog.Index { return w.index.Load() }

// Ready is nil once a catalog is loaded.
func (w *catalogWatcher) Ready() error {
	if w.index.Load() != nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastErr != nil {
		return fmt.Errorf("catalog: %w", w.lastErr)
	}
	return errors.New("catalog: not loaded yet")
}

// Run polls until ctx ends.
func (w *catalogWatcher) Run(ctx context.Context) {
	t := time.NewTicker(w.poll)
	defer t.Stop()
	for {
		err := w.refresh(ctx)
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh loads the published version if it is new. A version that does not load is
// logged once and skipped; the previous index keeps serving.
func (w *catalogWatcher) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	item, err := w.client.GetState(ctx, w.store, catalogstate.CurrentKey, nil)
	if err != nil {
		return fmt.Errorf("read pointer: %w", err)
	}
	if item == nil || len(item.Value) == 0 {
		return errors.New("no catalog published yet")
	}
	p, err := catalogstate.DecodePointer(item.Value)
	if err != nil {
		return err
	}
	if p.Version == w.loaded || p.Version == w.rejected {
		return nil
	}
	start := time.Now()
	ix, err := w.load(ctx, p)
	if err != nil {
		w.rejected = p.Version
		w.log.Error("catalog version rejected; still serving the previous one", "version", p.Version, "error", err)
		return err
	}
	w.index.Store(ix)
	w.loaded = p.Version
	w.log.Info("catalog loaded", "version", p.Version, "restaurants", ix.Len(), "bytes", p.Size, "took", time.Since(start).String())
	return nil
}

func (w *catalogWatcher) load(ctx context.Context, p catalogstate.Pointer) (*catalog.Index, error) {
	// One chunk per read: every message stays under the sidecar's gRPC limit (4 MiB by
	// default) whatever the catalog's size; a bulk read of a 10,000-restaurant catalog
	// would not.
	chunks := make([][]byte, 0, p.Chunks)
	for _, k := range p.Keys() {
		item, err := w.client.GetState(ctx, w.store, k, nil)
		if err != nil {
			return nil, fmt.Errorf("read chunk %s: %w", k, err)
		}
		if item == nil || len(item.Value) == 0 {
			return nil, fmt.Errorf("chunk %s is missing", k)
		}
		chunks = append(chunks, item.Value)
	}
	data, err := catalogstate.Join(p, chunks)
	if err != nil {
		return nil, err
	}
	// The bytes are exactly what the loader published (Join checked their hash); parsing
	// them again is the reader's own validation.
	c, err := catalog.Parse(data)
	if err != nil {
		return nil, err
	}
	return catalog.NewIndex(c), nil
}
