package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
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
		{"charged", "201", `{"id":"ch_1","status":"succeeded"}`, nil, chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_1"}, false, false},
		{"replayed charge", "200", `{"id":"ch_1","status":"succeeded"}`, nil, chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_1"}, false, false},
		{"declined with a reason", "402", `{"id":"ch_2","status":"declined","code":"insufficient_funds"}`, nil, chargeResult{Outcome: order.OutcomeDeclined, ChargeID: "ch_2", Reason: "insufficient_funds"}, false, false},
		{"declined without a reason", "402", `{}`, nil, chargeResult{Outcome: order.OutcomeDeclined, Reason: "card_declined"}, false, false},
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
			o := events.OrderPlaced{OrderID: orderID, Details: order.Details{Total: 1300, Currency: "ILS",
				Card: order.Card{Token: "tok_abc123", Brand: "visa", Last4: "4242"}, PlacedAt: time.Now()}}
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

func TestDaprBankAsksByKey(t *testing.T) {
	const charged = `{"idempotencyKey":"` + orderID + `","state":"charged","charge":{"id":"ch_1","status":"succeeded","amount":1300}}`
	tests := []struct {
		name         string
		status, body string
		err          error
		want         chargeKey
		wantErr      bool
	}{
		{"charged", "200", charged, nil, chargeKey{State: keyCharged, Result: chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_1"}}, false},
		{"declined", "200", `{"idempotencyKey":"` + orderID + `","state":"charged","charge":{"id":"ch_2","status":"declined","code":"stolen_card"}}`,
			nil, chargeKey{State: keyCharged, Result: chargeResult{Outcome: order.OutcomeDeclined, ChargeID: "ch_2", Reason: "stolen_card"}}, false},
		{"no charge", "200", `{"idempotencyKey":"` + orderID + `","state":"none"}`, nil, chargeKey{State: keyNone}, false},
		{"voided", "200", `{"idempotencyKey":"` + orderID + `","state":"voided","voidedAt":"2026-11-27T18:00:00Z"}`, nil, chargeKey{State: keyVoided}, false},
		{"binding failed", "", ``, errors.New("context deadline exceeded"), chargeKey{}, true},
		{"bank error", "503", `{"code":"unavailable"}`, nil, chargeKey{}, true},
		{"not JSON", "200", `charged`, nil, chargeKey{}, true},
		{"another key", "200", strings.Replace(charged, orderID, "ord_other0000000", 1), nil, chargeKey{}, true},
		{"unknown state", "200", `{"idempotencyKey":"` + orderID + `","state":"maybe"}`, nil, chargeKey{}, true},
		{"charged without the charge", "200", `{"idempotencyKey":"` + orderID + `","state":"charged"}`, nil, chargeKey{}, true},
		{"charged with an unknown status", "200", strings.Replace(charged, "succeeded", "pending", 1), nil, chargeKey{}, true},
		{"charged without an id", "200", strings.Replace(charged, `"id":"ch_1",`, "", 1), nil, chargeKey{}, true},
		{"none with a charge", "200", strings.Replace(charged, `"state":"charged"`, `"state":"none"`, 1), nil, chargeKey{}, true},
	}
	for _, tc := range tests {
		for _, op := range []string{"lookup", "void"} {
			t.Run(tc.name+"/"+op, func(t *testing.T) {
				f := &fakeBinding{status: tc.status, body: tc.body, err: tc.err}
				b := &daprBank{client: f, binding: "bank"}
				ask := b.Lookup
				if op == "void" {
					ask = b.Void
				}
				got, err := ask(context.Background(), orderID)
				if tc.wantErr {
					require.ErrorIs(t, err, errTransient, "an answer not understood leaves the outcome unknown")
				} else {
					require.NoError(t, err)
					assert.Equal(t, tc.want, got)
				}
				require.Len(t, f.calls, 1)
				in := f.calls[0]
				assert.Equal(t, "bank", in.Name)
				if op == "lookup" {
					assert.Equal(t, "get", in.Operation)
					assert.Equal(t, "/v1/charges?idempotencyKey="+orderID, in.Metadata["path"])
				} else {
					assert.Equal(t, "post", in.Operation)
					assert.Equal(t, "/v1/charges/void", in.Metadata["path"])
					assert.Equal(t, orderID, in.Metadata["Idempotency-Key"])
					assert.Empty(t, in.Data)
				}
			})
		}
	}
}

func TestDaprBankRefund(t *testing.T) {
	tests := []struct {
		name, status, body string
		err                error
		want               string
	}{
		{"refunded", "201", `{"id":"re_1","chargeId":"ch_1","status":"succeeded"}`, nil, "re_1"},
		{"refunded before", "200", `{"id":"re_1","chargeId":"ch_1","status":"succeeded"}`, nil, "re_1"},
		{"binding failed", "", ``, errors.New("timeout"), ""},
		{"not refundable", "409", `{"code":"charge_not_refundable"}`, nil, ""},
		{"another charge's refund", "201", `{"id":"re_1","chargeId":"ch_9"}`, nil, ""},
		{"no id", "201", `{"chargeId":"ch_1"}`, nil, ""},
		{"not JSON", "201", `ok`, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeBinding{status: tc.status, body: tc.body, err: tc.err}
			got, err := (&daprBank{client: f, binding: "bank"}).Refund(context.Background(), orderID, "ch_1")
			if tc.want == "" {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}
			require.Len(t, f.calls, 1)
			assert.Equal(t, "/v1/refunds", f.calls[0].Metadata["path"])
			assert.Equal(t, "refund-"+orderID, f.calls[0].Metadata["Idempotency-Key"], "one refund per order, however often asked")
			assert.JSONEq(t, `{"chargeId":"ch_1"}`, string(f.calls[0].Data))
		})
	}
}
