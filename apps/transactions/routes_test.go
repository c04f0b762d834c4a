package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// The sender's words an attack plants in an event: none may reach a span, a log or the bank.
const (
	planted     = "planted-by-sender"
	plantedCard = "4111111111111111"
)

// recordSpans sends this test's spans to a recorder, the global provider restored after.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(prev)
	})
	return rec
}

// spanText is everything the recorded spans say: names, attributes, events, statuses.
func spanText(rec *tracetest.SpanRecorder) string {
	var b strings.Builder
	for _, s := range rec.Ended() {
		b.WriteString(s.Name() + " " + s.Status().Description + "\n")
		for _, a := range s.Attributes() {
			b.WriteString(string(a.Key) + "=" + a.Value.String() + "\n")
		}
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				b.WriteString(e.Name + ":" + string(a.Key) + "=" + a.Value.String() + "\n")
			}
		}
	}
	return b.String()
}

func spanAttr(rec *tracetest.SpanRecorder, span, key string) (string, bool) {
	for _, s := range rec.Ended() {
		if s.Name() != span {
			continue
		}
		for _, a := range s.Attributes() {
			if string(a.Key) == key {
				return a.Value.String(), true
			}
		}
	}
	return "", false
}

// deliver posts a CloudEvent to the order route as daprd would and returns Dapr's status.
func deliver(t *testing.T, h *harness, id, topic string, data []byte) string {
	t.Helper()
	env, err := json.Marshal(map[string]any{"id": id, "specversion": "1.0", "type": events.TypeOrderPlaced, "topic": topic,
		"pubsubname": "pubsub", "datacontenttype": "application/json", "data": json.RawMessage(data)})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, routeOrder, strings.NewReader(string(env)))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	rec := httptest.NewRecorder()
	h.c.routes(config{}).ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	var ans struct{ Status string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
	return ans.Status
}

// An event is validated before anything records it: an invalid one leaves no word of the
// sender's in the consumer span, its error, the logs or the bank.
func TestInvalidEventIsRecordedNowhere(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"order id of card digits, no email", placed(t, time.Second, map[string]any{"orderId": "ord_" + plantedCard, "email": nil})},
		{"order id of card digits, bad total", placed(t, time.Second, map[string]any{"orderId": "ord_" + plantedCard, "total": -1})},
		{"an unknown field named by the sender", placed(t, time.Second, map[string]any{planted + "-" + plantedCard: 1})},
		{"data that is not an order", []byte(`"` + planted + " " + plantedCard + `"`)},
		{"an email holding the card", placed(t, time.Second, map[string]any{"email": planted + "@" + plantedCard + ".example.com;x@example.com"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spans := recordSpans(t)
			h := newHarness()
			assert.Equal(t, "DROP", deliver(t, h, planted+"-"+plantedCard, planted+"-topic", tc.data))
			text := spanText(spans)
			require.Contains(t, text, "consume order", "the drop is still traced")
			for _, word := range []string{planted, plantedCard, plantedCard[:12]} {
				assert.NotContains(t, text, word, "spans")
				assert.NotContains(t, h.logs.String(), word, "logs")
			}
			id, _ := spanAttr(spans, "consume order", order.TraceTag)
			assert.Empty(t, id, "no order id on an invalid event")
			assert.Empty(t, h.bank.calls, "the bank is not charged")
			assert.Empty(t, h.pub.events, "nothing published")
		})
	}
}

// A valid event is processed and tagged with its order id; an envelope id that is not the
// one the API gives (the order id) is left out of the span, not the processing.
func TestValidEventIsTaggedAfterValidation(t *testing.T) {
	for _, tc := range []struct{ name, id, wantID string }{
		{"the API's event id", orderID, orderID},
		{"an event id the API never gives", planted + "-" + plantedCard, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans := recordSpans(t)
			h := newHarness()
			assert.Equal(t, "SUCCESS", deliver(t, h, tc.id, events.TopicOrder, placed(t, time.Second, nil)))
			got, _ := spanAttr(spans, "consume order", order.TraceTag)
			assert.Equal(t, orderID, got)
			msgID, _ := spanAttr(spans, "consume order", "messaging.message.id")
			assert.Equal(t, tc.wantID, msgID)
			assert.NotContains(t, spanText(spans), planted)
			assert.NotContains(t, h.logs.String(), planted)
			assert.Len(t, h.bank.calls, 1)
		})
	}
}
