package main

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
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

// The API counts each status an order reaches once, only for a write that kept something
// new, and times the final one from the order being placed: a repeated record or event
// counts nothing, and the email's fate arriving first counts its status all the same.
func TestCountedOrdersCountOnlyWhatIsNew(t *testing.T) {
	ctx := context.Background()
	m := service.NewMetrics()
	orders := newCountedOrders(newFakeStore(), m)

	require.NoError(t, orders.Create(ctx, record{OrderID: orderID, Details: testDetails}))
	require.Error(t, orders.Create(ctx, record{OrderID: orderID, Details: testDetails}), "a second record of the same order loses")

	charged := chargedEvent(order.OutcomePaid, "", "")
	notified := notifiedEvent(charged, order.DeliverySent, "")
	notified.NotifiedAt = testNow.Add(3 * time.Second)
	require.NoError(t, orders.RecordNotice(ctx, notified))
	require.ErrorIs(t, orders.RecordNotice(ctx, notified), errExists)
	require.NoError(t, orders.RecordCharge(ctx, charged))
	require.ErrorIs(t, orders.RecordCharge(ctx, charged), errExists)

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
