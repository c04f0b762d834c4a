package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dapr/go-sdk/service/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

var testNow = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)

const orderID = "ord_01jd8xq3v7k2m9p4r6t8w0y2za"

// fakeBank answers charges, key lookups, voids and refunds as told, and records them. By
// default a key has no charge and a void voids it.
type fakeBank struct {
	mu        sync.Mutex
	result    chargeResult
	err       error
	calls     []events.OrderPlaced
	lookup    chargeKey
	lookupErr error
	lookups   int
	void      chargeKey
	voidErr   error
	voids     int
	refundErr error
	refunds   []string // charge ids
}

func (b *fakeBank) Charge(_ context.Context, o events.OrderPlaced) (chargeResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, o)
	return b.result, b.err
}

func (b *fakeBank) Lookup(context.Context, string) (chargeKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lookups++
	if b.lookup.State == "" {
		return chargeKey{State: keyNone}, b.lookupErr
	}
	return b.lookup, b.lookupErr
}

func (b *fakeBank) Void(context.Context, string) (chargeKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.voids++
	if b.void.State == "" {
		return chargeKey{State: keyVoided}, b.voidErr
	}
	return b.void, b.voidErr
}

func (b *fakeBank) Refund(_ context.Context, _, chargeID string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refundErr != nil {
		return "", b.refundErr
	}
	b.refunds = append(b.refunds, chargeID)
	return "re_" + chargeID, nil
}

// fakeDecisions is a first-write-wins decision store.
type fakeDecisions struct {
	mu        sync.Mutex
	byOrder   map[string]decision
	getErr    error
	decideErr error
	decides   int
}

func (s *fakeDecisions) Get(_ context.Context, id string) (decision, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.getErr != nil {
		return decision{}, false, s.getErr
	}
	d, ok := s.byOrder[id]
	return d, ok, nil
}

func (s *fakeDecisions) Decide(_ context.Context, id string, d decision) (decision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decides++
	if s.decideErr != nil {
		return d, s.decideErr
	}
	if existing, ok := s.byOrder[id]; ok {
		return existing, nil
	}
	s.byOrder[id] = d
	return d, nil
}

type fakePublisher struct {
	mu     sync.Mutex
	err    error
	events []events.OrderCharged
}

func (p *fakePublisher) PublishCharged(_ context.Context, e events.OrderCharged) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.events = append(p.events, e)
	return nil
}

type harness struct {
	c    *consumer
	bank *fakeBank
	dec  *fakeDecisions
	pub  *fakePublisher
	logs *bytes.Buffer
}

func newHarness() *harness {
	h := &harness{
		bank: &fakeBank{result: chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_1"}},
		dec:  &fakeDecisions{byOrder: map[string]decision{}},
		pub:  &fakePublisher{},
		logs: &bytes.Buffer{},
	}
	h.c = &consumer{
		log: service.NewLogger(h.logs, "transactions"), bank: h.bank, decisions: h.dec,
		publisher: h.pub, giveUp: time.Minute, now: func() time.Time { return testNow },
	}
	return h
}

// placed is a valid `order` event placed age ago, changed by the given fields.
func placed(t *testing.T, age time.Duration, fields map[string]any) []byte {
	t.Helper()
	e := events.OrderPlaced{
		OrderID: orderID, Details: order.Details{RestaurantID: "china-city", RestaurantName: "China city", Email: "dana@example.com",
			Items: []order.Item{{MenuItemID: "m1", Name: "Spring rolls", Quantity: 2, UnitPrice: 650}}, Total: 1300,
			Currency: "ILS", Card: order.Card{Token: "tok_abc123", Brand: "visa", Last4: "4242"}, PlacedAt: testNow.Add(-age)},
	}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	if len(fields) == 0 {
		return b
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err = json.Marshal(m)
	require.NoError(t, err)
	return b
}

// assertUndecided checks a delivery that must be redelivered with nothing decided,
// or published.
func (h *harness) assertUndecided(t *testing.T, retry bool, err error, why string) {
	t.Helper()
	require.Error(t, err)
	assert.True(t, retry, why)
	assert.Empty(t, h.dec.byOrder, "nothing decided")
	assert.Empty(t, h.pub.events)
}

// assertDecided checks a delivery that was acknowledged with this decision recorded, and
// returns the decision.
func (h *harness) assertDecided(t *testing.T, retry bool, err error, outcome order.Outcome, reason string) decision {
	t.Helper()
	require.NoError(t, err)
	assert.False(t, retry)
	d := h.dec.byOrder[orderID]
	assert.Equal(t, outcome, d.Outcome)
	assert.Equal(t, reason, d.Reason)
	return d
}

func (h *harness) handle(data []byte) (bool, error) {
	return h.c.handleOrder(context.Background(), &common.TopicEvent{ID: orderID, Topic: events.TopicOrder, RawData: data})
}

func TestHandleOrderDropsMalformedEvents(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not JSON", []byte("order please")},
		{"trailing data", append(placed(t, 0, nil), []byte(`{}`)...)},
		{"total as a string", placed(t, 0, map[string]any{"total": "1300"})},
		{"items as an object", placed(t, 0, map[string]any{"items": map[string]any{"m1": 2}})},
		{"missing order id", placed(t, 0, map[string]any{"orderId": nil})},
		{"missing card", placed(t, 0, map[string]any{"card": nil})},
		{"missing email", placed(t, 0, map[string]any{"email": nil})},
		{"two recipients", placed(t, 0, map[string]any{"email": "a@b.com;c@d.com"})},
		{"total does not match the items", placed(t, 0, map[string]any{"total": 1})},
		{"card number in place of the token", placed(t, 0, map[string]any{"card": map[string]any{"token": "4242424242424242", "brand": "visa", "last4": "4242"}})},
		{"card number in an extra field", placed(t, 0, map[string]any{"creditCard": "4242424242424242"})},
		{"no currency", placed(t, 0, map[string]any{"currency": nil})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			retry, err := h.handle(tc.data)
			require.Error(t, err)
			assert.False(t, retry, "a malformed event goes to dead letter, not round again")
			assert.ErrorIs(t, err, events.ErrMalformed)
			assert.Empty(t, h.bank.calls, "nothing charged")
			assert.Empty(t, h.pub.events)
			assert.Empty(t, h.dec.byOrder)
		})
	}
}

func TestHandleOrderDecides(t *testing.T) {
	tests := []struct {
		name       string
		age        time.Duration
		bankResult chargeResult
		bankErr    error
		wantRetry  bool
		want       order.Outcome // "" when nothing is decided yet
		wantReason string
		wantCharge string
	}{
		{"paid", time.Second, chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_1"}, nil, false, order.OutcomePaid, "", "ch_1"},
		{"declined", time.Second, chargeResult{Outcome: order.OutcomeDeclined, ChargeID: "ch_2", Reason: "insufficient_funds"}, nil, false, order.OutcomeDeclined, "insufficient_funds", "ch_2"},
		{"bank down, inside the retry window", 10 * time.Second, chargeResult{}, fmt.Errorf("%w: timeout", errTransient), true, "", "", ""},
		{"bank down, just inside the window", time.Minute - time.Millisecond, chargeResult{}, fmt.Errorf("%w: 503", errTransient), true, "", "", ""},
		{"bank down past the window", time.Minute, chargeResult{}, fmt.Errorf("%w: 503", errTransient), false, order.OutcomeFailed, "bank_unavailable", ""},
		{"bank refuses the request", time.Second, chargeResult{}, errors.New("bank answered 409"), false, order.OutcomeFailed, "payment_error", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.bank.result, h.bank.err = tc.bankResult, tc.bankErr
			retry, err := h.handle(placed(t, tc.age, nil))
			require.Len(t, h.bank.calls, 1)
			assert.Equal(t, "tok_abc123", h.bank.calls[0].Card.Token)
			assert.Equal(t, int64(1300), h.bank.calls[0].Total)

			if tc.want == "" {
				h.assertUndecided(t, retry, err, "redeliver: the bank may come back")
				return
			}
			d := h.assertDecided(t, retry, err, tc.want, tc.wantReason)
			assert.True(t, testNow.Equal(d.DecidedAt))

			require.Len(t, h.pub.events, 1, "published once")
			e := h.pub.events[0]
			assert.Equal(t, orderID, e.OrderID)
			assert.Equal(t, tc.want, e.Outcome)
			assert.Equal(t, tc.wantReason, e.Reason)
			assert.Equal(t, tc.wantCharge, e.ChargeID)
			assert.Equal(t, order.Card{Brand: "visa", Last4: "4242"}, e.Card, "the token stays in transactions")
			assert.Equal(t, "china-city", e.RestaurantID, "the order's details travel whole")
			assert.True(t, testNow.Add(-tc.age).Equal(e.PlacedAt))
			assert.True(t, testNow.Equal(e.DecidedAt))
			raw, _ := json.Marshal(e)
			_, derr := events.DecodeOrderCharged(raw)
			assert.NoError(t, derr, "the email service accepts what we publish")
		})
	}
}

func TestHandleOrderRedeliveryNeverChargesAgain(t *testing.T) {
	h := newHarness()
	data := placed(t, time.Second, nil)
	for range 3 {
		retry, err := h.handle(data)
		require.NoError(t, err)
		require.False(t, retry)
	}
	assert.Len(t, h.bank.calls, 1, "one charge")
	require.Len(t, h.pub.events, 3)
	assert.Equal(t, h.pub.events[0], h.pub.events[1], "the same decision is announced again")
	assert.Equal(t, h.pub.events[0], h.pub.events[2])
}

func TestHandleOrderAlreadyDecidedElsewhere(t *testing.T) {
	// Another replica decided before a rebalance handed us the same event.
	h := newHarness()
	earlier := decision{Outcome: order.OutcomeDeclined, Reason: "stolen_card", ChargeID: "ch_7", DecidedAt: testNow.Add(-time.Minute)}
	h.dec.byOrder[orderID] = earlier
	_, err := h.handle(placed(t, 2*time.Minute, nil))
	require.NoError(t, err)
	assert.Empty(t, h.bank.calls, "a decided order never calls the bank again")
	require.Len(t, h.pub.events, 1)
	assert.Equal(t, order.OutcomeDeclined, h.pub.events[0].Outcome)
	assert.Equal(t, "ch_7", h.pub.events[0].ChargeID)
	assert.True(t, earlier.DecidedAt.Equal(h.pub.events[0].DecidedAt))
}

func TestHandleOrderLosesTheDecisionRace(t *testing.T) {
	// Two replicas charged at once (same idempotency key at the bank); the first decision
	// written is the one announced, by both.
	h := newHarness()
	h.bank.result = chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_mine"}
	h.dec.byOrder = map[string]decision{}
	winner := decision{Outcome: order.OutcomePaid, ChargeID: "ch_theirs", DecidedAt: testNow.Add(-time.Second)}
	h.c.decisions = &racingDecisions{fakeDecisions: h.dec, winner: winner}
	_, err := h.handle(placed(t, time.Second, nil))
	require.NoError(t, err)
	require.Len(t, h.pub.events, 1)
	assert.Equal(t, "ch_theirs", h.pub.events[0].ChargeID)
}

// racingDecisions finds no decision on Get, but another replica's by the time it writes.
type racingDecisions struct {
	*fakeDecisions
	winner decision
}

func (r *racingDecisions) Get(context.Context, string) (decision, bool, error) {
	return decision{}, false, nil
}

func (r *racingDecisions) Decide(ctx context.Context, id string, d decision) (decision, error) {
	r.fakeDecisions.mu.Lock()
	r.fakeDecisions.byOrder[id] = r.winner
	r.fakeDecisions.mu.Unlock()
	return r.fakeDecisions.Decide(ctx, id, d)
}

func TestHandleOrderFailuresAfterTheDecision(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(*harness)
		wantRetry   bool
		wantErr     bool
		wantPublish int
	}{
		{"decision store unreadable", func(h *harness) { h.dec.getErr = errors.New("sidecar down") }, true, true, 0},
		{"decision not recorded", func(h *harness) { h.dec.decideErr = errors.New("sidecar down") }, true, true, 0},
		{"publish fails", func(h *harness) { h.pub.err = errors.New("broker down") }, true, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			tc.setup(h)
			data := placed(t, time.Second, nil)
			retry, err := h.handle(data)
			assert.Equal(t, tc.wantRetry, retry)
			assert.Equal(t, tc.wantErr, err != nil, "err %v", err)
			assert.Len(t, h.pub.events, tc.wantPublish)

			// The redelivery, once the trouble is gone, completes with still one charge at
			// most per decision recorded.
			h.dec.getErr, h.dec.decideErr, h.pub.err = nil, nil, nil
			retry, err = h.handle(data)
			require.NoError(t, err)
			assert.False(t, retry)
			assert.NotEmpty(t, h.pub.events)
			last := h.pub.events[len(h.pub.events)-1]
			assert.Equal(t, order.OutcomePaid, last.Outcome)
			if tc.name != "decision store unreadable" && tc.name != "decision not recorded" {
				assert.Len(t, h.bank.calls, 1, "the recorded decision is reused")
			}
		})
	}
}

func TestOrderRouteAnswersDapr(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		bankErr error
		want    string
	}{
		{"valid event", "", nil, "SUCCESS"},
		{"malformed event", `{"orderId":"ord_01jd8xq3v7k2m9p4r6t8w0y2za","total":"x"}`, nil, "DROP"},
		{"bank down", "", errTransient, "RETRY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.bank.err = tc.bankErr
			data := tc.data
			if data == "" {
				data = string(placed(t, time.Second, nil))
			}
			body := `{"id":"` + orderID + `","specversion":"1.0","type":"` + events.TypeOrderPlaced + `","topic":"order","pubsubname":"pubsub","datacontenttype":"application/json","data":` + data + `}`
			req := httptest.NewRequest(http.MethodPost, routeOrder, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/cloudevents+json")
			rec := httptest.NewRecorder()
			h.c.routes(config{}).ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
			out, _ := io.ReadAll(rec.Body)
			assert.JSONEq(t, `{"status":"`+tc.want+`"}`, string(out))
		})
	}
}

func TestHandleOrderResolvesAnUnknownChargeOutcome(t *testing.T) {
	timeout := fmt.Errorf("%w: context deadline exceeded", errTransient)
	paidKey := chargeKey{State: keyCharged, Result: chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_late"}}
	declinedKey := chargeKey{State: keyCharged, Result: chargeResult{Outcome: order.OutcomeDeclined, ChargeID: "ch_no", Reason: "stolen_card"}}
	tests := []struct {
		name       string
		age        time.Duration
		setup      func(*fakeBank)
		want       order.Outcome // "" when nothing may be decided yet
		wantReason string
		wantCharge string
		wantVoids  int
	}{
		{"charged, then the answer was lost: paid", time.Second, func(b *fakeBank) { b.lookup = paidKey }, order.OutcomePaid, "", "ch_late", 0},
		{"charged past the window: still paid, never failed", 2 * time.Minute, func(b *fakeBank) { b.lookup = paidKey }, order.OutcomePaid, "", "ch_late", 0},
		{"declined, then the answer was lost", time.Second, func(b *fakeBank) { b.lookup = declinedKey }, order.OutcomeDeclined, "stolen_card", "ch_no", 0},
		{"no charge yet, inside the window: charge again later", time.Second, nil, "", "", "", 0},
		{"no charge past the window: the key is voided, then failed", 2 * time.Minute, nil, order.OutcomeFailed, "bank_unavailable", "", 1},
		{"a charge slipped in before the void: paid", 2 * time.Minute, func(b *fakeBank) { b.void = paidKey }, order.OutcomePaid, "", "ch_late", 1},
		{"voided by an earlier delivery: failed", 10 * time.Second, func(b *fakeBank) { b.lookup = chargeKey{State: keyVoided} }, order.OutcomeFailed, "bank_unavailable", "", 0},
		{"the bank cannot be asked: unknown, never failed", 2 * time.Minute, func(b *fakeBank) { b.lookupErr = timeout }, "", "", "", 0},
		{"the key cannot be voided: unknown, never failed", 2 * time.Minute, func(b *fakeBank) { b.voidErr = timeout }, "", "", "", 1},
		{"the void answers no charge and no void: unknown", 2 * time.Minute, func(b *fakeBank) { b.void = chargeKey{State: keyNone} }, "", "", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.bank.err = timeout
			if tc.setup != nil {
				tc.setup(h.bank)
			}
			retry, err := h.handle(placed(t, tc.age, nil))
			assert.Equal(t, 1, h.bank.lookups, "the bank is asked by key before anything is decided")
			assert.Equal(t, tc.wantVoids, h.bank.voids)
			assert.Empty(t, h.bank.refunds)
			if tc.want == "" {
				h.assertUndecided(t, retry, err, "an unknown outcome is retried")
				return
			}
			d := h.assertDecided(t, retry, err, tc.want, tc.wantReason)
			assert.Equal(t, tc.wantCharge, d.ChargeID)
			require.Len(t, h.pub.events, 1)
			assert.Equal(t, tc.want, h.pub.events[0].Outcome)
			assert.Equal(t, tc.wantCharge, h.pub.events[0].ChargeID)
			assert.Empty(t, h.pub.events[0].RefundID)
		})
	}
}

func TestHandleOrderRefundsAChargeOfAFailedOrder(t *testing.T) {
	refusal := errors.New("bank answered 409 idempotency_conflict")
	h := newHarness()
	h.bank.err = refusal
	h.bank.void = chargeKey{State: keyCharged, Result: chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_stray"}}
	h.bank.refundErr = errors.New("bank unavailable")

	data := placed(t, time.Second, nil)
	retry, err := h.handle(data)
	require.Error(t, err)
	assert.True(t, retry, "not failed until the money is back")
	assert.Empty(t, h.dec.byOrder)
	assert.Empty(t, h.pub.events)

	h.bank.refundErr = nil
	for range 2 { // the redelivery, then a repeat of it
		retry, err = h.handle(data)
		require.NoError(t, err)
		assert.False(t, retry)
	}
	assert.Equal(t, []string{"ch_stray"}, h.bank.refunds, "refunded once")
	d := h.dec.byOrder[orderID]
	assert.Equal(t, order.OutcomeFailed, d.Outcome)
	assert.Equal(t, "payment_error", d.Reason)
	assert.Equal(t, "ch_stray", d.ChargeID)
	assert.Equal(t, "re_ch_stray", d.RefundID)
	require.Len(t, h.pub.events, 2)
	e := h.pub.events[0]
	assert.Equal(t, "re_ch_stray", e.RefundID)
	raw, _ := json.Marshal(e)
	_, derr := events.DecodeOrderCharged(raw)
	assert.NoError(t, derr, "the email service accepts a refunded failure")
}

func TestHandleOrderRefusedWithoutACharge(t *testing.T) {
	tests := []struct {
		name string
		void chargeKey
	}{
		{"the key is voided", chargeKey{State: keyVoided}},
		{"a declined charge stands: nothing to refund", chargeKey{State: keyCharged, Result: chargeResult{Outcome: order.OutcomeDeclined, ChargeID: "ch_d", Reason: "card_declined"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.bank.err = errors.New("bank answered 400 invalid_token")
			h.bank.void = tc.void
			_, err := h.handle(placed(t, time.Second, nil))
			require.NoError(t, err)
			assert.Equal(t, 1, h.bank.voids)
			assert.Empty(t, h.bank.refunds)
			d := h.dec.byOrder[orderID]
			assert.Equal(t, order.OutcomeFailed, d.Outcome)
			assert.Empty(t, d.RefundID)
		})
	}
	t.Run("the key cannot be voided: retried", func(t *testing.T) {
		h := newHarness()
		h.bank.err = errors.New("bank answered 400 invalid_token")
		h.bank.voidErr = fmt.Errorf("%w: timeout", errTransient)
		retry, err := h.handle(placed(t, time.Second, nil))
		require.Error(t, err)
		assert.True(t, retry)
		assert.Empty(t, h.dec.byOrder)
	})
}

func TestHandleOrderAsksFirstAfterAnUnknownOutcome(t *testing.T) {
	// A bank that charges and then hangs: the charge call never answers. The next delivery
	// asks the bank by key before it charges, so a hanging charge endpoint (and the breaker
	// it keeps open) does not stand between the order and its outcome.
	h := newHarness()
	h.bank.err = fmt.Errorf("%w: context deadline exceeded", errTransient)
	data := placed(t, time.Second, nil)
	retry, err := h.handle(data)
	require.Error(t, err)
	require.True(t, retry)
	require.Len(t, h.bank.calls, 1)

	h.bank.lookupErr = fmt.Errorf("%w: circuit breaker is open", errTransient)
	retry, err = h.handle(data)
	require.Error(t, err, "still unknown: retried")
	assert.True(t, retry)
	assert.Len(t, h.bank.calls, 1, "not charged again while the outcome is unknown")

	h.bank.lookupErr = nil
	h.bank.lookup = chargeKey{State: keyCharged, Result: chargeResult{Outcome: order.OutcomePaid, ChargeID: "ch_h"}}
	retry, err = h.handle(data)
	require.NoError(t, err)
	assert.False(t, retry)
	assert.Len(t, h.bank.calls, 1, "the outcome came from the lookup")
	assert.Equal(t, "ch_h", h.dec.byOrder[orderID].ChargeID)
	_, pending := h.c.unknown.Load(orderID)
	assert.False(t, pending, "forgotten once decided")
}

func TestHandleOrderAsksFirstAndFindsNoCharge(t *testing.T) {
	h := newHarness()
	h.bank.err = fmt.Errorf("%w: 503", errTransient)
	data := placed(t, time.Second, nil)
	_, err := h.handle(data)
	require.Error(t, err)

	// No charge yet: the redelivery charges again, with the same key.
	h.bank.err = nil
	_, err = h.handle(data)
	require.NoError(t, err)
	assert.Len(t, h.bank.calls, 2)
	assert.Equal(t, order.OutcomePaid, h.dec.byOrder[orderID].Outcome)
}
