package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
)

// The state machine as docs/ARCHITECTURE.md states it, written out here independently of
// order.go so the tests check the code against the contract.
var (
	allStatuses = []events.Status{
		events.StatusAccepted, events.StatusPaid, events.StatusDeclined, events.StatusFailed,
		events.StatusConfirmed, events.StatusNotifiedDeclined, events.StatusNotifiedFailed,
		events.StatusEmailRejected,
	}
	// pathTo is the statuses an order passes through, after accepted, to reach each one.
	pathTo = map[events.Status][]events.Status{
		events.StatusAccepted:         {},
		events.StatusPaid:             {events.StatusPaid},
		events.StatusDeclined:         {events.StatusDeclined},
		events.StatusFailed:           {events.StatusFailed},
		events.StatusConfirmed:        {events.StatusPaid, events.StatusConfirmed},
		events.StatusNotifiedDeclined: {events.StatusDeclined, events.StatusNotifiedDeclined},
		events.StatusNotifiedFailed:   {events.StatusFailed, events.StatusNotifiedFailed},
		events.StatusEmailRejected:    {events.StatusPaid, events.StatusEmailRejected},
	}
	legal = map[events.Status][]events.Status{
		events.StatusAccepted: {events.StatusPaid, events.StatusDeclined, events.StatusFailed},
		// The mail server refusing the email for good (SMTP 5xx) ends any outcome.
		events.StatusPaid:     {events.StatusConfirmed, events.StatusEmailRejected},
		events.StatusDeclined: {events.StatusNotifiedDeclined, events.StatusEmailRejected},
		events.StatusFailed:   {events.StatusNotifiedFailed, events.StatusEmailRejected},
	}
)

const orderID = "ord_01jd8xq3v7k2m9p4r6t8w0y2za"

// storeOrderAt records an order that has walked to status s.
func storeOrderAt(t *testing.T, hs *harness, s events.Status) Order {
	t.Helper()
	o := newOrder(events.OrderPlaced{
		OrderID: orderID, RestaurantID: "china-city", RestaurantName: "China city", Email: "dana@example.com",
		Items: []events.Item{{MenuItemID: "m1", Name: "Spring rolls", Quantity: 2, UnitPrice: 650}}, Total: 1300,
		Currency: "ILS", Card: events.Card{Brand: "visa", Last4: "4242"}, PlacedAt: testNow,
	})
	for i, step := range pathTo[s] {
		_, err := o.Apply(events.Transition{To: step, At: testNow.Add(time.Duration(i+1) * time.Minute)})
		require.NoError(t, err)
	}
	require.NoError(t, hs.store.Create(t.Context(), o))
	return o
}

type transitionAnswer struct {
	OrderID string        `json:"orderId"`
	Status  events.Status `json:"status"`
	Changed bool          `json:"changed"`
}

func postTransition(hs *harness, id string, body any) *httptest.ResponseRecorder {
	return hs.do("POST", "/internal/orders/"+id+"/transitions", body, nil)
}

func TestTransitionsOverTheWholeStateMachine(t *testing.T) {
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				hs := newHarness(t)
				before := storeOrderAt(t, hs, from)
				at := testNow.Add(time.Hour)
				rec := postTransition(hs, orderID, map[string]any{"to": to, "at": at, "detail": "ch_1"})
				after, _ := hs.store.order(orderID)

				reached := to == events.StatusAccepted || slices.Contains(pathTo[from], to)
				switch {
				case to == events.StatusAccepted:
					// Nobody reports "accepted": the API sets it when the order is placed.
					assert.Equal(t, http.StatusBadRequest, rec.Code)
					assert.Equal(t, before, after)
				case reached:
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					var ans transitionAnswer
					require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
					assert.False(t, ans.Changed, "repeating a reached status changes nothing")
					assert.Equal(t, from, ans.Status)
					assert.Equal(t, before, after)
				case slices.Contains(legal[from], to):
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					var ans transitionAnswer
					require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
					assert.True(t, ans.Changed)
					assert.Equal(t, to, ans.Status)
					assert.Equal(t, to, after.Status)
					require.Len(t, after.Timeline, len(before.Timeline)+1)
					last := after.Timeline[len(after.Timeline)-1]
					assert.Equal(t, to, last.Status)
					assert.True(t, at.Equal(last.At))
					assert.Equal(t, "ch_1", last.Detail)
					assert.True(t, at.Equal(after.UpdatedAt))
				default:
					assert.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
					code, _ := errorBody(t, rec)
					assert.Equal(t, "illegal_transition", code)
					assert.Equal(t, before, after, "an illegal transition changes nothing")
					assert.Contains(t, hs.logs.String(), "transition refused", "and is logged")
				}
			})
		}
	}
}

func TestTransitionRejectsBadReports(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		body     any
		want     int
		wantCode string
	}{
		{"unknown status", orderID, map[string]any{"to": "shipped"}, 400, "invalid_transition"},
		{"no status", orderID, map[string]any{"detail": "x"}, 400, "invalid_transition"},
		{"malformed order id", "not-an-order", map[string]any{"to": "paid"}, 400, "invalid_transition"},
		{"unknown field", orderID, map[string]any{"to": "paid", "extra": 1}, 400, "unknown_field"},
		{"malformed JSON", orderID, `{"to":`, 400, "malformed_json"},
		{"unknown order, no snapshot", "ord_0000000000zzzzzzzzzz", map[string]any{"to": "paid"}, 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			before := storeOrderAt(t, hs, events.StatusAccepted)
			rec := postTransition(hs, tc.id, tc.body)
			assert.Equal(t, tc.want, rec.Code, rec.Body.String())
			code, _ := errorBody(t, rec)
			assert.Equal(t, tc.wantCode, code)
			after, _ := hs.store.order(orderID)
			assert.Equal(t, before, after)
		})
	}
}

func TestTransitionRebuildsAMissingOrderFromItsSnapshot(t *testing.T) {
	hs := newHarness(t)
	placed := testNow.Add(-time.Minute)
	rec := postTransition(hs, orderID, map[string]any{
		"to": "paid", "at": testNow, "detail": "ch_9",
		"order": map[string]any{
			"restaurantId": "china-city", "restaurantName": "China city", "email": "dana@example.com",
			"items": []any{map[string]any{"menuItemId": "m1", "name": "Spring rolls", "quantity": 2, "unitPrice": 650}},
			"total": 1300, "currency": "ILS", "card": map[string]any{"brand": "visa", "last4": "4242"}, "placedAt": placed,
		},
	})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	o, ok := hs.store.order(orderID)
	require.True(t, ok)
	assert.Equal(t, events.StatusPaid, o.Status)
	assert.Equal(t, "China city", o.RestaurantName)
	assert.Equal(t, int64(1300), o.Total)
	assert.Equal(t, []events.Status{events.StatusAccepted, events.StatusPaid}, statuses(o.Timeline))
	assert.True(t, placed.Equal(o.CreatedAt), "placed at the event's time")
	assert.Contains(t, hs.logs.String(), "rebuilt")

	view := hs.do("GET", "/orders/"+orderID, nil, nil)
	assert.Equal(t, http.StatusOK, view.Code)
	assert.Contains(t, view.Body.String(), `"status":"paid"`)
}

func TestTransitionRetriesETagConflicts(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int
		want      int
	}{
		{"one conflict", 1, 200},
		{"nine conflicts", 9, 200},
		{"endless conflicts give up", 1000, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			storeOrderAt(t, hs, events.StatusAccepted)
			hs.store.conflicts = tc.conflicts
			rec := postTransition(hs, orderID, map[string]any{"to": "declined", "at": testNow})
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			o, _ := hs.store.order(orderID)
			if tc.want == 200 {
				assert.Equal(t, tc.conflicts+1, hs.store.updates)
				assert.Equal(t, events.StatusDeclined, o.Status)
			} else {
				assert.Equal(t, 10, hs.store.updates, "bounded retries")
				assert.Equal(t, events.StatusAccepted, o.Status)
				code, _ := errorBody(t, rec)
				assert.Equal(t, "busy", code)
			}
		})
	}
}

func TestTransitionStoreFailure(t *testing.T) {
	hs := newHarness(t)
	storeOrderAt(t, hs, events.StatusAccepted)
	hs.store.getErr = errBoom
	rec := postTransition(hs, orderID, map[string]any{"to": "paid"})
	assert.Equal(t, http.StatusInternalServerError, rec.Code, "the consumer retries a 5xx")
	assert.False(t, strings.Contains(rec.Body.String(), "boom"))
}

func TestOrderApply(t *testing.T) {
	placed := testNow
	tests := []struct {
		name   string
		at     time.Time
		wantAt time.Time
	}{
		{"reported time kept", placed.Add(time.Minute), placed.Add(time.Minute)},
		{"no time: the last known", time.Time{}, placed},
		{"time before the last step: clamped so the timeline stays in order", placed.Add(-time.Hour), placed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrder(events.OrderPlaced{OrderID: orderID, PlacedAt: placed})
			changed, err := o.Apply(events.Transition{To: events.StatusPaid, At: tc.at})
			require.NoError(t, err)
			assert.True(t, changed)
			assert.True(t, tc.wantAt.Equal(o.UpdatedAt))
			assert.True(t, tc.wantAt.Equal(o.Timeline[1].At))
			assert.NotNil(t, o.Items, "an order without items shows [] rather than null")
		})
	}
}

func TestOrderFinal(t *testing.T) {
	for _, s := range allStatuses {
		t.Run(string(s), func(t *testing.T) {
			o := Order{Status: s}
			assert.Equal(t, len(legal[s]) == 0, o.Final())
		})
	}
}

func statuses(steps []Step) []events.Status {
	out := make([]events.Status, len(steps))
	for i, s := range steps {
		out[i] = s.Status
	}
	return out
}

// A failed order whose charge was refunded says so on GET /orders/{id}, so the status page
// does not tell the customer "nothing was charged"; only a transition to failed can say it.
func TestTransitionRecordsARefund(t *testing.T) {
	tests := []struct {
		name         string
		steps        []events.Transition
		wantRefunded bool
	}{
		{"failed with a refund", []events.Transition{
			{To: events.StatusFailed, Detail: "payment_error; charge refunded", Refunded: true},
			{To: events.StatusNotifiedFailed},
		}, true},
		{"failed with a refund, the report repeated", []events.Transition{
			{To: events.StatusFailed, Refunded: true},
			{To: events.StatusFailed, Refunded: true},
			{To: events.StatusEmailRejected},
		}, true},
		{"failed without one", []events.Transition{
			{To: events.StatusFailed, Detail: "bank_unavailable"},
			{To: events.StatusNotifiedFailed},
		}, false},
		{"paid: the flag means nothing there", []events.Transition{
			{To: events.StatusPaid, Refunded: true},
			{To: events.StatusConfirmed},
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			storeOrderAt(t, hs, events.StatusAccepted)
			for i, step := range tc.steps {
				step.At = testNow.Add(time.Duration(i+1) * time.Minute)
				rec := postTransition(hs, orderID, events.TransitionRequest{Transition: step})
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			}
			rec := hs.do("GET", "/orders/"+orderID, nil, nil)
			require.Equal(t, http.StatusOK, rec.Code)
			var got map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, true, got["final"])
			if tc.wantRefunded {
				assert.Equal(t, true, got["refunded"])
			} else {
				assert.NotContains(t, got, "refunded")
			}
		})
	}
}
