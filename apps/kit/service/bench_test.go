package service

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dapr/go-sdk/service/common"
)

// Benchmarks of what every request and every delivered event pays in the kit: the router's
// middleware chain, strict body decoding, the redacting JSON logger and the CloudEvent
// envelope of a topic delivery. Numbers in docs/BENCHMARKS.md.

// orderEnvelope is an `order` event as daprd delivers it to a subscriber.
const orderEnvelope = `{"specversion":"1.0","id":"ord_01JDQ4ZK7Y3N8V6T2R9W5XHCBA","source":"api","type":"kafkarestaurants.order.placed.v1",` +
	`"datacontenttype":"application/json","topic":"order","pubsubname":"pubsub","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",` +
	`"data":{"orderId":"ord_01JDQ4ZK7Y3N8V6T2R9W5XHCBA","restaurantId":"china-city","restaurantName":"China city","email":"dana@example.com",` +
	`"items":[{"menuItemId":"m1","name":"Spring rolls","quantity":2,"unitPrice":650}],"total":1300,"currency":"ILS",` +
	`"card":{"token":"tok_abcdef123456","brand":"visa","last4":"4242"},"placedAt":"2026-11-27T18:00:00Z"}}`

func BenchmarkTopicHandler(b *testing.B) {
	h := TopicHandler(NewLogger(io.Discard, "bench"), func(_ context.Context, e *common.TopicEvent) (bool, error) {
		if len(e.RawData) == 0 {
			return false, errors.New("no data")
		}
		return false, nil
	})
	b.SetBytes(int64(len(orderEnvelope)))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodPost, "/events/order", strings.NewReader(orderEnvelope)))
		if !strings.Contains(rec.Body.String(), statusSuccess) {
			b.Fatalf("answer %s", rec.Body)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	const body = `{"restaurant":"china-city","email":"dana@example.com","creditCard":"4242424242424242","items":[{"menuItemId":"m1","quantity":2}]}`
	type request struct {
		Restaurant string `json:"restaurant"`
		Email      string `json:"email"`
		CreditCard string `json:"creditCard"`
		Items      []struct {
			MenuItemID string `json:"menuItemId"`
			Quantity   int    `json:"quantity"`
		} `json:"items"`
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var v request
		if err := DecodeJSON(httptest.NewRecorder(), r, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouterOverhead is the cost of the shared middleware (request id, tracing,
// metrics, recovery, request log, app token) around the cheapest route.
func BenchmarkRouterOverhead(b *testing.B) {
	cases := []struct {
		name  string
		token string
	}{
		{"no app token", ""},
		{"app token checked", "s3cret"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := NewRouter(NewLogger(io.Discard, "bench"), c.token, func(context.Context) error { return nil })
			r.Get("/ping", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/ping", nil)
				req.Header.Set("dapr-api-token", c.token)
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("GET /ping: %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkLogLine is one request log line through the redacting JSON logger.
func BenchmarkLogLine(b *testing.B) {
	log := NewLogger(io.Discard, "bench")
	b.ReportAllocs()
	for b.Loop() {
		log.Info("request", "method", "GET", "path", "/search", "status", 200, "durationMs", 0.61, "requestId", "vm/Z7J0tXF4LQ-000699")
	}
}
