package main

import (
	"context"
	"encoding/json"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalogstate"
)

// stateClient is the part of the Dapr client the catalog store uses.
type stateClient interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	SaveBulkState(ctx context.Context, storeName string, items ...*dapr.SetStateItem) error
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
	DeleteBulkState(ctx context.Context, storeName string, keys []string, meta map[string]string) error
}

type daprCatalogStore struct {
	client stateClient
	name   string
}

func (s *daprCatalogStore) Current(ctx context.Context) (catalogstate.Pointer, bool, error) {
	item, err := s.client.GetState(ctx, s.name, catalogstate.CurrentKey, nil)
	if err != nil {
		return catalogstate.Pointer{}, false, fmt.Errorf("read catalog pointer: %w", err)
	}
	if item == nil || len(item.Value) == 0 {
		return catalogstate.Pointer{}, false, nil
	}
	p, err := catalogstate.DecodePointer(item.Value)
	if err != nil {
		// A damaged pointer is replaced by the next publish.
		return catalogstate.Pointer{}, false, nil
	}
	return p, true, nil
}

// Publish writes every chunk, then the pointer: until the pointer moves, readers keep
// reading the previous version's chunks, which are still there.
func (s *daprCatalogStore) Publish(ctx context.Context, p catalogstate.Pointer, chunks [][]byte) error {
	items := make([]*dapr.SetStateItem, len(chunks))
	for i, c := range chunks {
		items[i] = &dapr.SetStateItem{Key: catalogstate.ChunkKey(p.Version, i), Value: c}
	}
	// One chunk per call keeps each gRPC message under the sidecar's limit.
	for _, it := range items {
		if err := s.client.SaveBulkState(ctx, s.name, it); err != nil {
			return fmt.Errorf("write catalog chunk %s: %w", it.Key, err)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := s.client.SaveState(ctx, s.name, catalogstate.CurrentKey, b, map[string]string{"contentType": "application/json"}); err != nil {
		return fmt.Errorf("move catalog pointer: %w", err)
	}
	return nil
}

// Delete removes an old version's chunks.
func (s *daprCatalogStore) Delete(ctx context.Context, p catalogstate.Pointer) error {
	return s.client.DeleteBulkState(ctx, s.name, p.Keys(), nil)
}
