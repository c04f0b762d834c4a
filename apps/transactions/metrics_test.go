package main

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// Each charge call is timed under its outcome: the bank's verdict, or "error" for a call
// it did not answer with one.
func TestTimedBankRecordsEachChargeByOutcome(t *testing.T) {
	m := service.NewMetrics()
	bank := &fakeBank{result: chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_1"}}
	timed := newTimedBank(bank, m)
	_, err := timed.Charge(context.Background(), events.OrderPlaced{OrderID: "ord_1"})
	require.NoError(t, err)
	bank.err = errors.Join(errTransient, errors.New("timeout"))
	_, err = timed.Charge(context.Background(), events.OrderPlaced{OrderID: "ord_2"})
	require.Error(t, err)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `kafkarestaurants_charge_duration_seconds_count{outcome="paid"} 1`+"\n")
	assert.Contains(t, string(body), `kafkarestaurants_charge_duration_seconds_count{outcome="error"} 1`+"\n")
}
