package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxDaprMessage bounds one message between an app and its sidecar (a catalog chunk, a
// bulk read); daprd's own limit is set with --max-body-size.
const maxDaprMessage = 16 << 20

// IsETagConflict reports whether a state write failed because the ETag no longer matched
// or, with first-write concurrency, because the key already exists.
func IsETagConflict(err error) bool {
	return status.Code(errors.Unwrap(err)) == codes.Aborted || status.Code(err) == codes.Aborted
}

// SidecarReady asks the sidecar's outbound health endpoint whether it can serve the app's
// calls (components loaded), for an app's /readyz.
func SidecarReady(ctx context.Context, httpPort string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+httpPort+"/v1.0/healthz/outbound", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sidecar: not ready (%d)", resp.StatusCode)
	}
	return nil
}

// Publisher is the part of the Dapr client PublishJSON needs.
type Publisher interface {
	PublishEvent(ctx context.Context, pubsubName, topicName string, data any, opts ...dapr.PublishEventOption) error
}

// Event is where and how one event is published: its topic, its CloudEvent id and type,
// and its partition key (the events of one key stay in order).
type Event struct {
	PubSub, Topic string
	ID, Type      string
	PartitionKey  string
}

// PublishJSON publishes v as the JSON data of a CloudEvent with the given id, type and
// partition key. A stable id per fact lets consumers tell a redelivery or a re-publish
// from a new event.
func PublishJSON(ctx context.Context, c Publisher, e Event, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.PublishEvent(ctx, e.PubSub, e.Topic, b,
		dapr.PublishEventWithContentType("application/json"),
		dapr.PublishEventWithMetadata(map[string]string{
			"cloudevent.id":   e.ID,
			"cloudevent.type": e.Type,
			"partitionKey":    e.PartitionKey,
		}))
}

// ErrKeyExists is returned by FirstWrite when the key was already written.
var ErrKeyExists = errors.New("key already exists")

// stateReadWriter is the part of the Dapr client FirstWrite needs.
type stateReadWriter interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
}

// FirstWrite saves value under key only if the key does not exist yet (first write wins),
// and returns ErrKeyExists when someone wrote it first. State stores report a lost claim
// differently (SQLite as an ETag mismatch, gRPC Aborted; PostgreSQL as a plain error), so a
// failed write is settled by reading the key back: present with our value means our write
// landed; present with another value means we lost; absent means a real failure.
func FirstWrite(ctx context.Context, c stateReadWriter, store, key string, value []byte, meta map[string]string) error {
	stored, err := insert(ctx, c, store, key, value, meta)
	if errors.Is(err, ErrKeyExists) && sameValue(stored, value) {
		return nil
	}
	return err
}

// Insert saves value under key only if the key does not exist yet, and returns
// ErrKeyExists whenever the key is there after a failed write, whoever wrote it (an
// earlier delivery of the same event, or this very write whose answer was lost): for a
// fact that must be kept, and counted, once.
func Insert(ctx context.Context, c stateReadWriter, store, key string, value []byte, meta map[string]string) error {
	_, err := insert(ctx, c, store, key, value, meta)
	return err
}

// insert is the write both share; on ErrKeyExists it returns the value stored.
func insert(ctx context.Context, c stateReadWriter, store, key string, value []byte, meta map[string]string) ([]byte, error) {
	err := c.SaveState(ctx, store, key, value, meta, dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	if err == nil {
		return nil, nil
	}
	item, gerr := c.GetState(ctx, store, key, nil)
	switch {
	case gerr != nil:
		return nil, fmt.Errorf("first write of %s: %w (and read back: %v)", key, err, gerr)
	case item == nil || len(item.Value) == 0:
		return nil, fmt.Errorf("first write of %s: %w", key, err)
	}
	return item.Value, ErrKeyExists
}

// sameValue compares stored values; JSON is compared by meaning, since a store may keep it
// reformatted (PostgreSQL's JSONB).
func sameValue(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
