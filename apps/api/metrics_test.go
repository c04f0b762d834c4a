package main

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func scrape(t *testing.T, m *service.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(body)
}

// The API counts each status an order reaches once, only for a write that won, and times
// the final one from the order's creation: a lost ETag race or a repeated create counts
// nothing.
func TestCountedOrdersCountOnlyWritesThatWon(t *testing.T) {
	ctx := context.Background()
	m := service.NewMetrics()
	store := newFakeStore()
	orders := newCountedOrders(store, m)

	o := Order{OrderID: "ord_1", Status: events.StatusAccepted, CreatedAt: time.Now().Add(-3 * time.Second)}
	require.NoError(t, orders.Create(ctx, o))
	require.Error(t, orders.Create(ctx, o), "a second create of the same order loses")

	o.Status = events.StatusPaid
	require.Error(t, orders.Update(ctx, o, "stale"), "a stale ETag loses")
	require.NoError(t, orders.Update(ctx, o, "1"))
	o.Status = events.StatusConfirmed
	require.NoError(t, orders.Update(ctx, o, "2"))

	got := scrape(t, m)
	for _, line := range []string{
		`kafkarestaurants_orders_total{status="accepted"} 1`,
		`kafkarestaurants_orders_total{status="paid"} 1`,
		`kafkarestaurants_orders_total{status="confirmed"} 1`,
		`kafkarestaurants_order_completion_seconds_count{status="confirmed"} 1`,
		`kafkarestaurants_order_completion_seconds_bucket{status="confirmed",le="2.5"} 0`,
		`kafkarestaurants_order_completion_seconds_bucket{status="confirmed",le="5"} 1`,
	} {
		assert.Contains(t, got, line+"\n")
	}
	assert.NotContains(t, got, `order_completion_seconds_count{status="paid"}`, "paid is not final")
}
