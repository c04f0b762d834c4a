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

	require.NoError(t, s.Claim(ctx, orderID, sending, ""))
	got, etag, found, err := s.Get(ctx, orderID)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, sending, got)

	err = s.Claim(ctx, orderID, claim{State: claimSending, At: testNow.Add(time.Second)}, "")
	assert.ErrorIs(t, err, errTaken, "a second delivery does not get the claim")
	err = s.Claim(ctx, orderID, claim{State: claimSending, At: testNow.Add(time.Second)}, "stale")
	assert.ErrorIs(t, err, errTaken, "a stale ETag does not get it either")

	later := claim{State: claimSending, At: testNow.Add(3 * time.Minute)}
	require.NoError(t, s.Claim(ctx, orderID, later, etag), "the current ETag takes an expired claim over")
	require.NoError(t, s.Release(ctx, orderID, sending), "releasing a claim taken over is a no-op")
	got, _, found, err = s.Get(ctx, orderID)
	require.NoError(t, err)
	require.True(t, found, "the newer holder keeps it")
	assert.Equal(t, later, got)

	require.NoError(t, s.MarkSent(ctx, orderID, testNow.Add(4*time.Minute)))
	got, _, _, err = s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.Equal(t, claimSent, got.State)
	require.NoError(t, s.Release(ctx, orderID, later), "a sent claim is never released")
	_, _, found, err = s.Get(ctx, orderID)
	require.NoError(t, err)
	assert.True(t, found)

	other := "ord_01jd8xq3v7k2m9p4r6t8w0y2zb"
	mine := claim{State: claimSending, At: testNow}
	require.NoError(t, s.Claim(ctx, other, mine, ""))
	require.NoError(t, s.Release(ctx, other, mine), "the holder frees its claim")
	_, _, found, err = s.Get(ctx, other)
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
