package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
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

const (
	orderID = "ord_01jd8xq3v7k2m9p4r6t8w0y2za"
	lease   = time.Minute
)

type storedClaim struct {
	c    claim
	etag int
}

// fakeClaims is a claim store with ETags and first-write-wins inserts, like the state
// store behind it. Errors can be injected; onMarkFail runs when a "sent" mark fails.
type fakeClaims struct {
	mu         sync.Mutex
	byOrder    map[string]storedClaim
	getErr     error
	claimErr   error
	markErr    error
	onMarkFail func()
	releases   int
	reads      int // Get calls
	writes     int // Claim and MarkSent calls
}

func newFakeClaims() *fakeClaims { return &fakeClaims{byOrder: map[string]storedClaim{}} }

func (s *fakeClaims) Get(_ context.Context, id string) (claim, string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.getErr != nil {
		return claim{}, "", false, s.getErr
	}
	sc, ok := s.byOrder[id]
	if !ok {
		return claim{}, "", false, nil
	}
	return sc.c, strconv.Itoa(sc.etag), true, nil
}

func (s *fakeClaims) Claim(_ context.Context, id string, c claim, etag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.claimErr != nil {
		return s.claimErr
	}
	sc, ok := s.byOrder[id]
	switch {
	case etag == "" && ok:
		return errTaken
	case etag != "" && (!ok || strconv.Itoa(sc.etag) != etag):
		return errTaken
	}
	s.byOrder[id] = storedClaim{c: c, etag: sc.etag + 1}
	return nil
}

func (s *fakeClaims) MarkSent(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if err := ctx.Err(); err != nil { // as the sidecar client does
		return err
	}
	if s.markErr != nil {
		if s.onMarkFail != nil {
			s.onMarkFail()
		}
		return s.markErr
	}
	s.byOrder[id] = storedClaim{c: claim{State: claimSent, At: at}, etag: s.byOrder[id].etag + 1}
	return nil
}

func (s *fakeClaims) MarkRejected(_ context.Context, id string, at time.Time, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.markErr != nil {
		return s.markErr
	}
	s.byOrder[id] = storedClaim{c: claim{State: claimRejected, At: at, Code: code}, etag: s.byOrder[id].etag + 1}
	return nil
}

func (s *fakeClaims) Release(_ context.Context, id string, mine claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releases++
	if sc, ok := s.byOrder[id]; ok && sc.c == mine {
		delete(s.byOrder, id)
	}
	return nil
}

func (s *fakeClaims) state(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.byOrder[id]
	return sc.c.State, ok
}

type fakeMailer struct {
	mu       sync.Mutex
	err      error
	sent     []message
	attempts int
	onSend   func() // runs after a successful send
}

func (m *fakeMailer) Send(_ context.Context, msg message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts++
	if m.err != nil {
		return m.err
	}
	m.sent = append(m.sent, msg)
	if m.onSend != nil {
		m.onSend()
	}
	return nil
}

// fakeNotices records every `order_notified` published; it can fail.
type fakeNotices struct {
	mu    sync.Mutex
	err   error
	calls []events.OrderNotified
}

func (n *fakeNotices) PublishNotified(_ context.Context, e events.OrderNotified) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil {
		return n.err
	}
	n.calls = append(n.calls, e)
	return nil
}

// statusOf is the order status a published notice leads to.
func statusOf(e events.OrderNotified) order.Status { return order.AfterNotice(e.Outcome, e.Notice) }

type harness struct {
	c      *consumer
	claims *fakeClaims
	mail   *fakeMailer
	pub    *fakeNotices
	logs   *bytes.Buffer
}

func newHarness() *harness {
	h := &harness{claims: newFakeClaims(), mail: &fakeMailer{}, pub: &fakeNotices{}, logs: &bytes.Buffer{}}
	h.c = &consumer{
		log: service.NewLogger(h.logs, "email"), claims: h.claims, mailer: h.mail, notices: h.pub,
		lease: lease, baseURL: "http://localhost:8080/", now: func() time.Time { return testNow },
	}
	return h
}

func charged(t *testing.T, outcome order.Outcome, fields map[string]any) []byte {
	t.Helper()
	e := events.OrderCharged{
		OrderID: orderID, Details: order.Details{RestaurantID: "china-city", RestaurantName: "China city", Email: "dana@example.com",
			Items: []order.Item{{MenuItemID: "m1", Name: "Spring rolls", Quantity: 2, UnitPrice: 650}}, Total: 1300,
			Currency: "ILS", Card: order.Card{Brand: "visa", Last4: "4242"}, PlacedAt: testNow.Add(-time.Second)},
		Charge: order.Charge{Outcome: outcome, ChargeID: "ch_1", DecidedAt: testNow},
	}
	if outcome == order.OutcomeDeclined {
		e.Reason = "insufficient_funds"
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

func (h *harness) handle(ctx context.Context, data []byte) (bool, error) {
	return h.c.handleConfirm(ctx, &common.TopicEvent{ID: orderID + ".charged", Topic: events.TopicOrderConfirm, RawData: data})
}

func TestHandleConfirmDropsMalformedEvents(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not JSON", []byte("<html>")},
		{"unknown outcome", charged(t, "refunded", nil)},
		{"two recipients", charged(t, order.OutcomePaid, map[string]any{"email": "a@b.com;eve@evil.com"})},
		{"header injection", charged(t, order.OutcomePaid, map[string]any{"email": "a@b.com\r\nBcc: eve@evil.com"})},
		{"display name", charged(t, order.OutcomePaid, map[string]any{"email": "Dana <a@b.com>"})},
		{"a bank token travels on", charged(t, order.OutcomePaid, map[string]any{"card": map[string]any{"token": "tok_abc123", "brand": "visa", "last4": "4242"}})},
		{"total does not match", charged(t, order.OutcomePaid, map[string]any{"total": 5})},
		{"unknown field", charged(t, order.OutcomePaid, map[string]any{"creditCard": "4242424242424242"})},
		{"missing order id", charged(t, order.OutcomePaid, map[string]any{"orderId": nil})},
		{"a refund of a paid order", charged(t, order.OutcomePaid, map[string]any{"refundId": "re_abcd1234"})},
		{"a refund id of another shape", charged(t, order.OutcomeFailed, map[string]any{"refundId": "<script>"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			retry, err := h.handle(context.Background(), tc.data)
			require.ErrorIs(t, err, events.ErrMalformed)
			assert.False(t, retry)
			assert.Empty(t, h.mail.sent)
			assert.Empty(t, h.claims.byOrder)
			assert.Empty(t, h.pub.calls)
		})
	}
}

func TestHandleConfirmSendsOneEmailPerOrder(t *testing.T) {
	tests := []struct {
		outcome     order.Outcome
		wantStatus  order.Status
		wantSubject string
		wantBody    string
	}{
		{order.OutcomePaid, order.StatusConfirmed, "confirmed", "Your order is confirmed"},
		{order.OutcomeDeclined, order.StatusNotifiedDeclined, "declined", "insufficient funds"},
		{order.OutcomeFailed, order.StatusNotifiedFailed, "failed", "could not reach the bank"},
	}
	for _, tc := range tests {
		t.Run(string(tc.outcome), func(t *testing.T) {
			h := newHarness()
			data := charged(t, tc.outcome, nil)
			for delivery := range 3 {
				retry, err := h.handle(context.Background(), data)
				require.NoError(t, err, "delivery %d", delivery)
				require.False(t, retry)
			}
			require.Len(t, h.mail.sent, 1, "one email across redeliveries")
			m := h.mail.sent[0]
			assert.Equal(t, "dana@example.com", m.To)
			assert.Contains(t, m.Subject, orderID)
			assert.Contains(t, m.Subject, tc.wantSubject)
			assert.Contains(t, m.HTML, tc.wantBody)
			assert.Contains(t, m.HTML, "visa ending in 4242")
			state, ok := h.claims.state(orderID)
			require.True(t, ok)
			assert.Equal(t, claimSent, state)

			require.Len(t, h.pub.calls, 3, "every delivery publishes the notice; the API keeps it once")
			for _, e := range h.pub.calls {
				assert.Equal(t, tc.wantStatus, statusOf(e))
				assert.Equal(t, h.pub.calls[0], e, "the same event each time")
				assert.Equal(t, "china-city", e.RestaurantID, "the order's details travel whole")
				assert.Equal(t, tc.outcome, e.Outcome, "with the decision the email told")
				assert.True(t, testNow.Equal(e.NotifiedAt))
				raw, _ := json.Marshal(e)
				_, err := events.DecodeOrderNotified(raw)
				assert.NoError(t, err, "the API accepts what we publish")
			}
		})
	}
}

// The usual path writes the claim and then "sent", and reads nothing: the state store's
// cost per email. A redelivery of a sent email costs one refused insert and one read.
func TestHandleConfirmStoreTraffic(t *testing.T) {
	h := newHarness()
	data := charged(t, order.OutcomePaid, nil)
	_, err := h.handle(context.Background(), data)
	require.NoError(t, err)
	assert.Equal(t, 2, h.claims.writes)
	assert.Zero(t, h.claims.reads)

	_, err = h.handle(context.Background(), data)
	require.NoError(t, err)
	assert.Equal(t, 3, h.claims.writes)
	assert.Equal(t, 1, h.claims.reads)
	assert.Len(t, h.mail.sent, 1)
}

func TestHandleConfirmClaims(t *testing.T) {
	tests := []struct {
		name      string
		existing  *claim
		wantRetry bool
		wantSent  int
		wantState string
	}{
		{"another delivery is sending (fresh claim)", &claim{State: claimSending, At: testNow.Add(-10 * time.Second)}, true, 0, claimSending},
		{"a claim just inside the lease", &claim{State: claimSending, At: testNow.Add(-lease + time.Millisecond)}, true, 0, claimSending},
		{"a claim older than the lease is taken over", &claim{State: claimSending, At: testNow.Add(-lease)}, false, 1, claimSent},
		{"a crash long ago", &claim{State: claimSending, At: testNow.Add(-24 * time.Hour)}, false, 1, claimSent},
		{"already sent, however old", &claim{State: claimSent, At: testNow.Add(-24 * time.Hour)}, false, 0, claimSent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.claims.byOrder[orderID] = storedClaim{c: *tc.existing, etag: 7}
			retry, err := h.handle(context.Background(), charged(t, order.OutcomePaid, nil))
			assert.Equal(t, tc.wantRetry, retry)
			assert.Equal(t, tc.wantRetry, err != nil)
			assert.Len(t, h.mail.sent, tc.wantSent)
			state, _ := h.claims.state(orderID)
			assert.Equal(t, tc.wantState, state)
			if tc.wantRetry {
				assert.Empty(t, h.pub.calls, "nothing published while another delivery sends")
			} else {
				assert.Len(t, h.pub.calls, 1)
			}
		})
	}
}

func TestHandleConfirmSMTPFailureReleasesTheClaim(t *testing.T) {
	h := newHarness()
	h.mail.err = errors.New("dial tcp 127.0.0.1:1025: connection refused")
	data := charged(t, order.OutcomePaid, nil)
	retry, err := h.handle(context.Background(), data)
	require.Error(t, err)
	assert.True(t, retry, "SMTP down: redeliver later")
	_, held := h.claims.state(orderID)
	assert.False(t, held, "the claim is freed so the redelivery need not wait a lease")
	assert.Empty(t, h.pub.calls)

	h.mail.err = nil
	retry, err = h.handle(context.Background(), data)
	require.NoError(t, err)
	assert.False(t, retry)
	assert.Len(t, h.mail.sent, 1)
}

func TestHandleConfirmSentButNotPublished(t *testing.T) {
	h := newHarness()
	h.pub.err = errors.New("broker down")
	data := charged(t, order.OutcomeDeclined, nil)
	retry, err := h.handle(context.Background(), data)
	require.Error(t, err)
	assert.True(t, retry)
	require.Len(t, h.mail.sent, 1)

	h.pub.err = nil
	retry, err = h.handle(context.Background(), data)
	require.NoError(t, err)
	assert.False(t, retry)
	assert.Len(t, h.mail.sent, 1, "the redelivery publishes without sending again")
	require.Len(t, h.pub.calls, 1)
	assert.Equal(t, order.StatusNotifiedDeclined, statusOf(h.pub.calls[0]))
}

func TestHandleConfirmOtherFailures(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*harness, context.CancelFunc)
		wantRetry bool
		wantErr   bool
		wantSent  int
	}{
		{"claim store unreachable", func(h *harness, _ context.CancelFunc) { h.claims.claimErr = errors.New("sidecar down") }, true, true, 0},
		{"a claim exists and cannot be read", func(h *harness, _ context.CancelFunc) {
			h.claims.byOrder[orderID] = storedClaim{c: claim{State: claimSending, At: testNow.Add(-time.Hour)}, etag: 3}
			h.claims.getErr = errors.New("sidecar down")
		}, true, true, 0},
		{"sent, but the notice is not published", func(h *harness, _ context.CancelFunc) {
			h.pub.err = errors.New("broker down")
		}, true, true, 1},
		{"sent, but the mark is not recorded", func(h *harness, cancel context.CancelFunc) {
			h.claims.markErr = errors.New("sidecar down")
			h.claims.onMarkFail = cancel // end the backoff at once
		}, true, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tc.setup(h, cancel)
			retry, err := h.handle(ctx, charged(t, order.OutcomePaid, nil))
			assert.Equal(t, tc.wantRetry, retry)
			assert.Equal(t, tc.wantErr, err != nil, "err %v", err)
			assert.Len(t, h.mail.sent, tc.wantSent)
		})
	}
}

func TestHandleConfirmConcurrentDeliveriesSendOnce(t *testing.T) {
	// Two replicas get the same event during a rebalance; first write wins the claim.
	h := newHarness()
	data := charged(t, order.OutcomePaid, nil)
	var wg sync.WaitGroup
	results := make([]bool, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			retry, _ := h.handle(context.Background(), data)
			results[i] = retry
		}()
	}
	wg.Wait()
	assert.Len(t, h.mail.sent, 1)
}

func TestConfirmRouteAnswersDapr(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		smtpErr error
		want    string
	}{
		{"valid event", "", nil, "SUCCESS"},
		{"malformed event", `{"orderId":"x"}`, nil, "DROP"},
		{"SMTP down", "", errors.New("refused"), "RETRY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.mail.err = tc.smtpErr
			data := tc.data
			if data == "" {
				data = string(charged(t, order.OutcomePaid, nil))
			}
			body := `{"id":"x","specversion":"1.0","topic":"order_confirm","pubsubname":"pubsub","datacontenttype":"application/json","data":` + data + `}`
			req := httptest.NewRequest(http.MethodPost, routeOrderConfirm, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/cloudevents+json")
			rec := httptest.NewRecorder()
			h.c.routes(config{}).ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.JSONEq(t, `{"status":"`+tc.want+`"}`, rec.Body.String())
		})
	}
}

// A send that timed out may have reached the server (a hung SMTP server stores it when it
// wakes up): the claim stays, the redelivery within the lease sends nothing, and only a
// claim older than the lease is sent again.
func TestHandleConfirmUnknownSendOutcomeKeepsTheClaim(t *testing.T) {
	h := newHarness()
	h.mail.err = errors.New("rpc error: code = DeadlineExceeded desc = context deadline exceeded")
	data := charged(t, order.OutcomePaid, nil)
	retry, err := h.handle(context.Background(), data)
	require.Error(t, err)
	assert.True(t, retry)
	_, held := h.claims.state(orderID)
	assert.True(t, held, "the claim is kept: the email may have gone out")

	h.mail.err = nil
	retry, err = h.handle(context.Background(), data)
	require.Error(t, err, "within the lease the redelivery waits")
	assert.True(t, retry)
	assert.Empty(t, h.mail.sent, "nothing sent twice while the outcome is unknown")
}

func TestSurelyNotSent(t *testing.T) {
	for msg, want := range map[string]bool{
		"dial tcp 127.0.0.1:1025: connect: connection refused": true,
		"circuit breaker is open":                              true,
		"context deadline exceeded":                            false,
		"read tcp: connection reset by peer":                   false,
		"smtp: 451 temporary failure":                          false,
	} {
		assert.Equal(t, want, surelyNotSent(errors.New(msg)), msg)
	}
}

// A delivery abandoned right after the send (daprd closes the connection as its pod
// stops, which cancels the handler's context) still records the email as sent, so no
// redelivery sends it again.
func TestHandleConfirmAbandonedDeliveryStillRecordsTheSend(t *testing.T) {
	h := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	h.mail.onSend = cancel
	_, _ = h.handle(ctx, charged(t, order.OutcomePaid, nil))
	require.Len(t, h.mail.sent, 1)
	state, ok := h.claims.state(orderID)
	require.True(t, ok)
	assert.Equal(t, claimSent, state, "the send is recorded although the delivery was abandoned")

	retry, err := h.handle(context.Background(), charged(t, order.OutcomePaid, nil))
	require.NoError(t, err)
	assert.False(t, retry)
	assert.Len(t, h.mail.sent, 1, "the redelivery does not send again")
}

// The SMTP binding's error for a permanent refusal, as the Go SDK returns it.
const smtp550 = "error invoking binding smtp/create: rpc error: code = Internal desc = error invoking output binding smtp: error from smtp binding, sending email failed: gomail: could not send email 1: 550 5.1.1 <dana@example.com>: Recipient address rejected"

func TestHandleConfirmPermanentRejectionIsRecordedNotRetried(t *testing.T) {
	for _, outcome := range []order.Outcome{order.OutcomePaid, order.OutcomeDeclined, order.OutcomeFailed} {
		t.Run(string(outcome), func(t *testing.T) {
			h := newHarness()
			h.mail.err = errors.New(smtp550)
			data := charged(t, outcome, nil)
			retry, err := h.handle(context.Background(), data)
			require.NoError(t, err, "a definite answer: no retry loop")
			assert.False(t, retry)
			state, _ := h.claims.state(orderID)
			assert.Equal(t, claimRejected, state)
			require.Len(t, h.pub.calls, 1)
			assert.Equal(t, order.StatusEmailRejected, statusOf(h.pub.calls[0]), "the order's status shows it")
			assert.Equal(t, "550", h.pub.calls[0].SMTPCode, "the notice holds the code, not the server's text")

			// A redelivery (a repeated event) sends nothing and publishes the same notice.
			h.mail.err = nil
			retry, err = h.handle(context.Background(), data)
			require.NoError(t, err)
			assert.False(t, retry)
			assert.Equal(t, 1, h.mail.attempts, "never sent again")
			assert.Empty(t, h.mail.sent)
			require.Len(t, h.pub.calls, 2)
			assert.Equal(t, h.pub.calls[0], h.pub.calls[1])
		})
	}
}

func TestHandleConfirmRejectionNotRecordedIsRetried(t *testing.T) {
	h := newHarness()
	h.mail.err = errors.New(smtp550)
	h.claims.markErr = errors.New("sidecar down")
	retry, err := h.handle(context.Background(), charged(t, order.OutcomePaid, nil))
	require.Error(t, err)
	assert.True(t, retry)
	assert.Empty(t, h.pub.calls, "nothing published before it is recorded")
}

func TestRejectedCode(t *testing.T) {
	tests := []struct{ name, msg, want string }{
		{"recipient refused", smtp550, "550"},
		{"refused at the greeting", "error from smtp binding, sending email failed: 554 5.7.1 no service", "554"},
		{"message refused after DATA", "sending email failed: gomail: could not send email 1: 552-5.3.4 message too big", "552"},
		{"a temporary refusal is not permanent", "sending email failed: gomail: could not send email 1: 451 4.3.0 try later", ""},
		{"a timeout is unknown", "rpc error: code = DeadlineExceeded desc = context deadline exceeded", ""},
		{"a reset is unknown", "sending email failed: read tcp 127.0.0.1:50000->127.0.0.1:1025: connection reset by peer", ""},
		{"a port number is no reply code", "sending email failed: dial tcp 127.0.0.1:525: i/o timeout", ""},
		{"a number that is not a reply code", "sending email failed: 5500 bytes", ""},
		{"a 5xx outside the SMTP answer", "error invoking binding smtp/create: status 503", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, rejectedCode(errors.New(tc.msg)))
		})
	}
}
