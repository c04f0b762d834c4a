package attack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// brokerAdmin is the broker's fault endpoint (tools/cmd/broker, BROKER_ADMIN).
const brokerAdmin = "http://127.0.0.1:9644"

// The give-up window of this stack's transactions service: short, so the "no charge past
// the window" path ends quickly, and shorter than a bank that hangs takes to time out
// (Resiliency: 5 s per attempt, 3 retries), so a hang is judged past it.
const giveUp = "8s"

// TestUnknownOutcomes reproduces, on the real stack, the two outcomes nobody saw (issue
// 14): a broker that accepts an order and then times out, and a bank that charges and
// then hangs. Neither may charge twice or send a wrong email (docs/ORDERS.md).
func TestUnknownOutcomes(t *testing.T) {
	s := stack.Start(t, stack.Options{Env: map[string]map[string]string{
		"frontend":     {"NGINX_ORDER_RATE": "1000r/s", "NGINX_ORDER_BURST": "1000"},
		"broker":       {"BROKER_ADMIN": "127.0.0.1:9644"},
		"api":          {"PUBLISH_TIMEOUT": "2s"},
		"transactions": {"BANK_GIVE_UP_AFTER": giveUp},
		// mailpit refuses (550) every recipient outside example.com.
		"mailpit": {"MP_SMTP_ALLOWED_RECIPIENTS": `@example\.com$`},
	}})
	t.Run("a broker that accepts then times out", func(t *testing.T) { brokerAcceptsThenTimesOut(t, s) })
	t.Run("a bank that charges then hangs", func(t *testing.T) { bankChargesThenHangs(t, s) })
	t.Run("a bank that never answers past the window", func(t *testing.T) { bankNeverAnswers(t, s) })
	t.Run("a mail server that refuses the email for good", func(t *testing.T) { mailRefused(t, s) })
	t.Run("a charge standing under a failed order is refunded", func(t *testing.T) { strayChargeRefunded(t, s) })
}

// brokerAcceptsThenTimesOut: the API's publish of `order` times out while the broker holds
// the record, which lands once the broker answers again. The client's retry with the same
// Idempotency-Key must be the same order: one order, one charge, one email.
func brokerAcceptsThenTimesOut(t *testing.T, s *stack.Stack) {
	charges, mails := len(s.Bank.Charges(t, "")), len(s.Mail.All(t))
	before := stack.TopicSize(t, "order")
	r := stack.Do(t, http.MethodPost, brokerAdmin+"/produce-hang?for=2m", nil, nil)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	t.Cleanup(func() { stack.Do(t, http.MethodDelete, brokerAdmin+"/produce-hang", nil, nil) })

	key := map[string]string{"Idempotency-Key": "unknown-broker-" + fmt.Sprint(time.Now().UnixNano())}
	body := `{"restaurant":"Sabich","email":"broker-hang@example.com","creditCard":"4242424242424242"}`
	first := stack.PlaceOrder(t, body, key)
	require.Equal(t, http.StatusServiceUnavailable, first.Status, string(first.Body))
	e := errorOf(t, first)
	assert.Equal(t, "outcome_unknown", e.Code)
	assert.Contains(t, e.Message, "same Idempotency-Key")
	assert.NotContains(t, e.Message, "nothing was charged", "an outcome not seen is never \"not charged\"")

	// The broker took the record: it lands when the broker answers again.
	var hang struct{ Held int }
	stack.Do(t, http.MethodGet, brokerAdmin+"/produce-hang", nil, nil).JSON(t, &hang)
	require.GreaterOrEqual(t, hang.Held, 1, "the publish reached the broker")
	r = stack.Do(t, http.MethodDelete, brokerAdmin+"/produce-hang", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	stack.Eventually(t, 30*time.Second, "the held order on the topic", func() bool {
		return stack.TopicSize(t, "order") > before
	})

	// The client retries with the same key, as the answer told it to.
	retry := stack.PlaceOrder(t, body, key)
	require.Equal(t, http.StatusAccepted, retry.Status, string(retry.Body))
	var acc struct{ OrderID string }
	retry.JSON(t, &acc)
	o := stack.WaitFinal(t, acc.OrderID, 60*time.Second)
	assert.Equal(t, "confirmed", o.Status)

	assert.Len(t, s.Bank.Charges(t, acc.OrderID), 1, "one charge for the order")
	assert.Len(t, s.Bank.Charges(t, ""), charges+1, "and no other: the retry was not a second order")
	stack.Eventually(t, 30*time.Second, "the order's email", func() bool { return len(s.Mail.Search(t, acc.OrderID)) == 1 })
	assert.Len(t, s.Mail.All(t), mails+1, "one email in all")
	// Every record on `order` (this stack's first order) is this one order's event: the
	// retry re-published the same event id, never a second order.
	recs := stack.ReadTopic(t, "order")
	require.NotEmpty(t, recs)
	for _, rec := range recs {
		var ce struct{ ID string }
		require.NoError(t, json.Unmarshal(rec.Value, &ce))
		assert.Equal(t, acc.OrderID, ce.ID)
	}
}

// bankChargesThenHangs: the bank charges and then never answers, so every charge call times
// out. Transactions must learn the charge from the bank (by the order's key) rather than
// call the order failed: confirmed, one charge, one "confirmed" email, no "failed" one.
func bankChargesThenHangs(t *testing.T, s *stack.Stack) {
	s.Bank.SetFaults(t, map[string]any{"hangRate": 1.0})
	t.Cleanup(func() { s.Bank.SetFaults(t, map[string]any{"hangRate": 0.0}) })

	r := stack.PlaceOrder(t, `{"restaurant":"Nam","email":"bank-hang@example.com","creditCard":"4242424242424242"}`,
		map[string]string{"Idempotency-Key": "unknown-bank-" + fmt.Sprint(time.Now().UnixNano())})
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	var acc struct{ OrderID string }
	r.JSON(t, &acc)
	id := acc.OrderID

	stack.Eventually(t, 30*time.Second, "the bank to charge the order", func() bool { return len(s.Bank.Charges(t, id)) == 1 })
	o := stack.WaitFinal(t, id, 2*time.Minute)
	assert.Equal(t, "confirmed", o.Status, "charged: never \"failed\"")
	charges := s.Bank.Charges(t, id)
	require.Len(t, charges, 1, "one charge")
	assert.Equal(t, "succeeded", charges[0].Status)
	msgs := s.Mail.Search(t, id)
	require.Len(t, msgs, 1, "one email")
	assert.Contains(t, msgs[0].Subject, "confirmed")
	assert.NotContains(t, strings.ToLower(s.Mail.Body(t, msgs[0].ID)), "could not process")
	assert.Contains(t, s.ReadLog(t, "transactions"), "its outcome learned from the bank")
}

// bankNeverAnswers: every charge is refused with 503 (nothing charged) until past the
// window. The order fails only after the bank voided its key, so a charge that arrives
// late cannot succeed: the "failed" email stays true.
func bankNeverAnswers(t *testing.T, s *stack.Stack) {
	s.Bank.SetFaults(t, map[string]any{"failureRate": 1.0})
	t.Cleanup(func() { s.Bank.SetFaults(t, map[string]any{"failureRate": 0.0}) })

	r := stack.PlaceOrder(t, `{"restaurant":"Nam","email":"bank-down@example.com","creditCard":"4242424242424242"}`, nil)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	var acc struct{ OrderID string }
	r.JSON(t, &acc)
	id := acc.OrderID
	o := stack.WaitFinal(t, id, 2*time.Minute)
	assert.Equal(t, "notified_failed", o.Status)
	assert.Empty(t, s.Bank.Charges(t, id), "never charged")
	msgs := s.Mail.Search(t, id)
	require.Len(t, msgs, 1)
	assert.Contains(t, msgs[0].Subject, "failed")

	// A late charge with the order's key (a retry still in flight somewhere) is refused.
	s.Bank.SetFaults(t, map[string]any{"failureRate": 0.0})
	var tok struct{ Token string }
	stack.Do(t, http.MethodPost, stack.BankURL+"/v1/tokens", []byte(`{"number":"4242424242424242"}`), nil).JSON(t, &tok)
	late := stack.Do(t, http.MethodPost, stack.BankURL+"/v1/charges",
		[]byte(`{"token":"`+tok.Token+`","amount":100,"currency":"ILS","orderId":"`+id+`"}`), map[string]string{"Idempotency-Key": id})
	assert.Equal(t, http.StatusConflict, late.Status, string(late.Body))
	assert.Equal(t, "charge_voided", errorOf(t, late).Code)
	assert.Empty(t, s.Bank.Charges(t, id), "still never charged")
}

// mailRefused: the SMTP server answers 550 for the order's address. That is a definite "not
// sent": the order ends email_rejected at once, rather than cycling through claim leases
// as an unknown outcome until it is dead-lettered.
func mailRefused(t *testing.T, s *stack.Stack) {
	r := stack.PlaceOrder(t, `{"restaurant":"Nam","email":"dana@refused.test","creditCard":"4242424242424242"}`, nil)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	var acc struct{ OrderID string }
	r.JSON(t, &acc)
	id := acc.OrderID
	o := stack.WaitFinal(t, id, 60*time.Second)
	assert.Equal(t, "email_rejected", o.Status)
	last := o.Timeline[len(o.Timeline)-1]
	assert.Equal(t, "the mail server refused the email (550)", last.Detail)
	assert.Equal(t, "paid", o.Timeline[len(o.Timeline)-2].Status, "the charge stands; only the email failed")
	assert.Len(t, s.Bank.Charges(t, id), 1)
	assert.Empty(t, s.Mail.Search(t, id), "nothing was sent")
	log := s.ReadLog(t, "email")
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, id) && strings.Contains(line, "refused the email for good") {
			n++
		}
	}
	assert.Equal(t, 1, n, "one attempt, no retry loop")
}

// strayChargeRefunded: the bank already holds a charge under the order's key, made with
// another request (another amount), so it refuses transactions' charge (409). The order
// fails, and the charge standing under its key is refunded; the email says so.
func strayChargeRefunded(t *testing.T, s *stack.Stack) {
	id := "ord_" + strings.ToLower(fmt.Sprintf("%026d", time.Now().UnixNano()))[:26]
	var tok struct{ Token, Brand, Last4 string }
	stack.Do(t, http.MethodPost, stack.BankURL+"/v1/tokens", []byte(`{"number":"4242424242424242"}`), nil).JSON(t, &tok)
	stray := stack.Do(t, http.MethodPost, stack.BankURL+"/v1/charges",
		[]byte(`{"token":"`+tok.Token+`","amount":999,"currency":"ILS","orderId":"`+id+`"}`), map[string]string{"Idempotency-Key": id})
	require.Equal(t, http.StatusCreated, stray.Status, string(stray.Body))

	data := fmt.Sprintf(`{"orderId":%q,"restaurantId":"nam","restaurantName":"Nam","email":"stray@example.com","items":[],"total":0,"currency":"ILS","card":{"token":%q,"brand":%q,"last4":%q},"placedAt":%q}`,
		id, tok.Token, tok.Brand, tok.Last4, time.Now().UTC().Format(time.RFC3339Nano))
	ce := `{"specversion":"1.0","id":"` + id + `","source":"api","type":"kafkarestaurants.order.placed.v1","datacontenttype":"application/json","data":` + data + `}`
	stack.Produce(t, "order", []byte(id), []byte(ce))

	o := stack.WaitFinal(t, id, 60*time.Second)
	assert.Equal(t, "notified_failed", o.Status)
	require.GreaterOrEqual(t, len(o.Timeline), 2)
	assert.Equal(t, "payment_error; charge refunded", o.Timeline[1].Detail)
	assert.True(t, o.Refunded, "the order says the charge was refunded (the status page's wording)")
	var ledger struct {
		Charges []struct{ ID string }
		Refunds []struct{ ChargeID, OrderID string }
	}
	stack.Do(t, http.MethodGet, stack.BankURL+"/v1/ledger?orderId="+id, nil, nil).JSON(t, &ledger)
	require.Len(t, ledger.Charges, 1, "the stray charge only")
	require.Len(t, ledger.Refunds, 1, "refunded once")
	assert.Equal(t, ledger.Charges[0].ID, ledger.Refunds[0].ChargeID)
	msgs := s.Mail.Search(t, id)
	require.Len(t, msgs, 1)
	assert.Contains(t, msgs[0].Subject, "failed")
	assert.Contains(t, s.Mail.Body(t, msgs[0].ID), "we have refunded that charge in full")
}
