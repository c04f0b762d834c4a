package main

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeState behaves like a Dapr state store over gRPC: first-write saves of an existing key
// and writes or deletes with a stale ETag fail with codes.Aborted.
type fakeState struct {
	mu    sync.Mutex
	items map[string][]byte
	etags map[string]int
}

func newFakeState() *fakeState {
	return &fakeState{items: map[string][]byte{}, etags: map[string]int{}}
}

func (f *fakeState) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[key]
	if !ok {
		return &dapr.StateItem{Key: key}, nil
	}
	return &dapr.StateItem{Key: key, Value: v, Etag: strconv.Itoa(f.etags[key])}, nil
}

func (f *fakeState) SaveState(_ context.Context, _, key string, data []byte, _ map[string]string, so ...dapr.StateOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var o dapr.StateOptions
	for _, opt := range so {
		opt(&o)
	}
	if _, ok := f.items[key]; ok && o.Concurrency == dapr.StateConcurrencyFirstWrite {
		return status.Error(codes.Aborted, "possible etag mismatch")
	}
	f.items[key] = data
	f.etags[key]++
	return nil
}

func (f *fakeState) SaveStateWithETag(_ context.Context, _, key string, data []byte, etag string, _ map[string]string, _ ...dapr.StateOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.items[key]; !ok || strconv.Itoa(f.etags[key]) != etag {
		return status.Error(codes.Aborted, "possible etag mismatch")
	}
	f.items[key] = data
	f.etags[key]++
	return nil
}

func (f *fakeState) DeleteStateWithETag(_ context.Context, _, key string, etag *dapr.ETag, _ map[string]string, _ *dapr.StateOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if etag == nil || strconv.Itoa(f.etags[key]) != etag.Value {
		return status.Error(codes.Aborted, "possible etag mismatch")
	}
	delete(f.items, key)
	return nil
}

func TestDaprClaims(t *testing.T) {
	ctx := context.Background()
	s := &daprClaims{client: newFakeState(), store: "notificationstore"}
	sending := claim{State: claimSending, At: testNow}

	_, _, found, err := s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.False(t, found)

	etag, err := s.Claim(ctx, orderID, sending, "")
	require.NoError(t, err)
	require.NotEmpty(t, etag)

	_, err = s.Claim(ctx, orderID, claim{State: claimSending, At: testNow.Add(time.Second)}, "")
	assert.ErrorIs(t, err, errTaken, "a second delivery does not get the claim")

	_, err = s.Claim(ctx, orderID, claim{State: claimSent, At: testNow}, "stale")
	assert.ErrorIs(t, err, errTaken, "a stale ETag does not get it either")

	sentTag, err := s.Claim(ctx, orderID, claim{State: claimSent, At: testNow}, etag)
	require.NoError(t, err, "the holder marks it sent")
	got, gotTag, found, err := s.Get(ctx, orderID)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, claimSent, got.State)
	assert.Equal(t, sentTag, gotTag)

	assert.Error(t, s.Release(ctx, orderID, etag), "an old ETag cannot free a newer claim")
	require.NoError(t, s.Release(ctx, orderID, sentTag))
	_, _, found, err = s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.False(t, found)
}

// concurrencyProbe is a binding client that records how many calls overlap.
type concurrencyProbe struct {
	mu       sync.Mutex
	inFlight int
	maxSeen  int
}

func (p *concurrencyProbe) InvokeBinding(_ context.Context, _ *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error) {
	p.mu.Lock()
	p.inFlight++
	p.maxSeen = max(p.maxSeen, p.inFlight)
	p.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
	return &dapr.BindingEvent{}, nil
}

// The SMTP binding keeps per-request metadata in shared defaults, so concurrent calls mix
// recipients and bodies: the mailer must send one at a time.
func TestMailerSendsOneAtATime(t *testing.T) {
	probe := &concurrencyProbe{}
	m := &daprMailer{client: probe, binding: "smtp"}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, m.Send(context.Background(), message{To: "a@example.com", Subject: "s", HTML: "h"}))
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, probe.maxSeen)
}
