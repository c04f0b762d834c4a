// Package orderstatus is how the transactions and email services report an order's status
// change to the API, which owns the order record: Dapr service invocation of
// POST /internal/orders/{id}/transitions through the caller's own sidecar.
package orderstatus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// ErrRefused means the API refused the transition as illegal for the order's state: the
// report must not be retried.
var ErrRefused = errors.New("transition refused by the order's state machine")

// Reporter calls the API through the local sidecar's HTTP invocation API, which answers
// with the app's own status code.
type Reporter struct {
	// SidecarURL is the local sidecar, e.g. http://127.0.0.1:3502.
	SidecarURL string
	// APIAppID is the API's Dapr app id.
	APIAppID string
	// APIToken is the sidecar's Dapr API token, if it has one.
	APIToken string
	Client   *http.Client
}

// NewReporter returns a Reporter with a pooled HTTP client whose every report is a client
// span ("report transition") carried to the API as traceparent.
func NewReporter(sidecarURL, apiAppID, apiToken string) *Reporter {
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	return &Reporter{
		SidecarURL: sidecarURL, APIAppID: apiAppID, APIToken: apiToken,
		Client: &http.Client{Timeout: 10 * time.Second, Transport: service.TracingTransport("report transition", transport)},
	}
}

// Report sends the transition. Repeating a report is harmless: the API answers 200 for a
// status the order already reached. A 409 is ErrRefused; anything else but 2xx is an error
// worth retrying.
func (r *Reporter) Report(ctx context.Context, orderID string, t events.TransitionRequest) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	u := fmt.Sprintf("%s/v1.0/invoke/%s/method/internal/orders/%s/transitions", r.SidecarURL, r.APIAppID, url.PathEscape(orderID))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.APIToken != "" {
		req.Header.Set("dapr-api-token", r.APIToken)
	}
	if tp, ok := ctx.Value(traceparentKey{}).(string); ok && tp != "" {
		req.Header.Set("traceparent", tp)
	}
	resp, err := r.Client.Do(req)
	if err != nil {
		return fmt.Errorf("report %s to the API: %w", t.To, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrRefused, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("report %s to the API: status %d: %s", t.To, resp.StatusCode, bytes.TrimSpace(msg))
	}
}

type traceparentKey struct{}

// WithTraceparent carries an incoming W3C traceparent to the report, so the API's span
// joins the trace of the event being handled.
func WithTraceparent(ctx context.Context, tp string) context.Context {
	return context.WithValue(ctx, traceparentKey{}, tp)
}
