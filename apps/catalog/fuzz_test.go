package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalogstate"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// FuzzLoad feeds the loader any file: it never panics; a file it rejects leaves the
// published version alone; a file it publishes reassembles, from its chunks, into a
// catalog that parses to the published version.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(catalogV1))
	f.Add([]byte(catalogV1Reformatted))
	f.Add([]byte(`{"restaurants":[]}`))
	f.Add([]byte(`{"restaurants":[{"id":"a","name":"A","style":"S","menu":[{"id":"m","name":"M","price":-1}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		store := newFakeCatalogStore()
		l := &loader{store: store, log: service.NewLogger(&bytes.Buffer{}, "catalog"), now: func() time.Time { return time.Unix(0, 0) }}
		if err := l.load(context.Background(), []byte(catalogV1)); err != nil {
			t.Fatal(err)
		}
		before, _ := store.state()
		err := l.load(context.Background(), data)
		current, _ := store.state()
		if err != nil {
			if current != before {
				t.Fatalf("a rejected file moved the pointer from %s to %s", before, current)
			}
			return
		}
		store.mu.Lock()
		p, chunks := store.current, store.chunks[current]
		store.mu.Unlock()
		joined, jerr := catalogstate.Join(p, chunks)
		if jerr != nil {
			t.Fatalf("published chunks do not join: %v", jerr)
		}
		c, perr := catalog.Parse(joined)
		if perr != nil {
			t.Fatalf("published bytes do not parse: %v", perr)
		}
		if c.Version != current {
			t.Fatalf("published version %s, content version %s", current, c.Version)
		}
	})
}
