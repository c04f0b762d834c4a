package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
)

// fakeBinding answers like the HTTP binding with errorIfNot2XX off: the bank's status in
// the response metadata, its body as data.
type fakeBinding struct {
	status string
	body   string
	err    error
	calls  []*dapr.InvokeBindingRequest
}

func (f *fakeBinding) InvokeBinding(_ context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &dapr.BindingEvent{Data: []byte(f.body), Metadata: map[string]string{"statusCode": f.status}}, nil
}

func TestDaprBankCharge(t *testing.T) {
	tests := []struct {
		name          string
		status, body  string
		err           error
		want          chargeResult
		wantTransient bool
		wantErr       bool
	}{
		{"charged", "201", `{"id":"ch_1","status":"succeeded"}`, nil, chargeResult{Outcome: events.OutcomePaid, ChargeID: "ch_1"}, false, false},
		{"replayed charge", "200", `{"id":"ch_1","status":"succeeded"}`, nil, chargeResult{Outcome: events.OutcomePaid, ChargeID: "ch_1"}, false, false},
		{"declined with a reason", "402", `{"id":"ch_2","status":"declined","code":"insufficient_funds"}`, nil, chargeResult{Outcome: events.OutcomeDeclined, ChargeID: "ch_2", Reason: "insufficient_funds"}, false, false},
		{"declined without a reason", "402", `{}`, nil, chargeResult{Outcome: events.OutcomeDeclined, Reason: "card_declined"}, false, false},
		{"bank error", "500", `{"code":"processing_error"}`, nil, chargeResult{}, true, true},
		{"bank unavailable", "503", ``, nil, chargeResult{}, true, true},
		{"rate limited", "429", ``, nil, chargeResult{}, true, true},
		{"binding failed", "", ``, errors.New("connection refused"), chargeResult{}, true, true},
		{"no status", "", `garbage`, nil, chargeResult{}, true, true},
		{"idempotency conflict is not transient", "409", `{"code":"idempotency_conflict"}`, nil, chargeResult{}, false, true},
		{"bad request is not transient", "400", `{"code":"invalid_token"}`, nil, chargeResult{}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeBinding{status: tc.status, body: tc.body, err: tc.err}
			b := &daprBank{client: f, binding: "bank"}
			o := events.OrderPlaced{
				OrderID: orderID, Total: 1300, Currency: "ILS",
				Card: events.Card{Token: "tok_abc123", Brand: "visa", Last4: "4242"}, PlacedAt: time.Now(),
			}
			got, err := b.Charge(context.Background(), o)
			if tc.wantErr {
				require.Error(t, err)
				assert.Equal(t, tc.wantTransient, errors.Is(err, errTransient))
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}

			require.Len(t, f.calls, 1)
			in := f.calls[0]
			assert.Equal(t, "bank", in.Name)
			assert.Equal(t, "post", in.Operation)
			assert.Equal(t, "/v1/charges", in.Metadata["path"])
			assert.Equal(t, orderID, in.Metadata["Idempotency-Key"], "the order id makes a repeated charge harmless")
			var body map[string]any
			require.NoError(t, json.Unmarshal(in.Data, &body))
			assert.Equal(t, map[string]any{"token": "tok_abc123", "amount": float64(1300), "currency": "ILS", "orderId": orderID}, body)
		})
	}
}
