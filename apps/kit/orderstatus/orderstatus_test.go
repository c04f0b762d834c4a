package orderstatus

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
)

// fakeSidecar stands in for the caller's daprd: it records each invocation and answers
// with the status the API would.
type fakeSidecar struct {
	mu       sync.Mutex
	status   int
	requests []recorded
}

type recorded struct {
	Path, Token, Traceparent, ContentType string
	Body                                  events.TransitionRequest
}

func (f *fakeSidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body events.TransitionRequest
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.URL.EscapedPath(), r.Header.Get("dapr-api-token"), r.Header.Get("traceparent"), r.Header.Get("Content-Type"), body})
	status := f.status
	f.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"code":"illegal_transition","message":"confirmed → paid"}`)
}

func TestReport(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		wantErr     bool
		wantRefused bool
	}{
		{"200 is done", 200, false, false},
		{"204 is done", 204, false, false},
		{"409 is refused, not retried", 409, true, true},
		{"400 is an error", 400, true, false},
		{"404 is an error", 404, true, false},
		{"500 is an error", 500, true, false},
		{"503 is an error", 503, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			side := &fakeSidecar{status: tc.status}
			srv := httptest.NewServer(side)
			t.Cleanup(srv.Close)
			r := NewReporter(srv.URL, "api", "tok3n")
			ctx := WithTraceparent(context.Background(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			at := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
			err := r.Report(ctx, "ord_01jd8xq3v7k2m9p4r6t8w0y2za", events.TransitionRequest{
				Transition: events.Transition{To: events.StatusPaid, At: at, Detail: "ch_1"},
				Order:      &events.Snapshot{RestaurantName: "China city", Email: "dana@example.com", Total: 0, Currency: "ILS"},
			})
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantRefused, err != nil && errors.Is(err, ErrRefused))

			require.Len(t, side.requests, 1)
			got := side.requests[0]
			assert.Equal(t, "/v1.0/invoke/api/method/internal/orders/ord_01jd8xq3v7k2m9p4r6t8w0y2za/transitions", got.Path)
			assert.Equal(t, "tok3n", got.Token)
			assert.Equal(t, "application/json", got.ContentType)
			assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", got.Traceparent)
			assert.Equal(t, events.StatusPaid, got.Body.To)
			assert.True(t, at.Equal(got.Body.At))
			require.NotNil(t, got.Body.Order)
			assert.Equal(t, "China city", got.Body.Order.RestaurantName)
		})
	}
}

func TestReportEscapesTheOrderID(t *testing.T) {
	side := &fakeSidecar{status: 200}
	srv := httptest.NewServer(side)
	t.Cleanup(srv.Close)
	require.NoError(t, NewReporter(srv.URL, "api", "").Report(context.Background(), "ord_x/../../admin", events.TransitionRequest{}))
	require.Len(t, side.requests, 1)
	assert.Equal(t, "/v1.0/invoke/api/method/internal/orders/ord_x%2F..%2F..%2Fadmin/transitions", side.requests[0].Path)
	assert.Empty(t, side.requests[0].Token, "no token header without a token")
}

func TestReportSidecarUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := NewReporter(url, "api", "").Report(context.Background(), "ord_0123456789", events.TransitionRequest{})
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrRefused), "an unreachable sidecar is worth retrying")
}
