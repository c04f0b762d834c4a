package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// liftRateLimit lets one test client place many orders quickly.
var liftRateLimit = map[string]string{"NGINX_ORDER_RATE": "1000r/s", "NGINX_ORDER_BURST": "1000"}

func place(t *testing.T, body string, header map[string]string) string {
	t.Helper()
	r := stack.PlaceOrder(t, body, header)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	var acc struct{ OrderID string }
	r.JSON(t, &acc)
	return acc.OrderID
}

// orderRecord finds the order's record on the `order` topic.
func orderRecord(t *testing.T, orderID string) stack.Record {
	t.Helper()
	for _, rec := range stack.ReadTopic(t, "order") {
		if bytes.Contains(rec.Value, []byte(orderID)) {
			return rec
		}
	}
	t.Fatalf("order %s not found on the order topic", orderID)
	return stack.Record{}
}

func countLines(log, orderID, msg string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, orderID) && strings.Contains(line, msg) {
			n++
		}
	}
	return n
}

// TestOrderLifecycle proves the order path's guarantees under redelivery, poison events,
// bank failures and client retries, on real sidecars and the real broker.
func TestOrderLifecycle(t *testing.T) {
	s := stack.Start(t, stack.Options{Env: map[string]map[string]string{
		"frontend": liftRateLimit,
		// A short give-up window so the "bank stays down" path ends quickly.
		"transactions": {"BANK_GIVE_UP_AFTER": "4s"},
	}})
	const approved = `{"restaurant":"china-city","email":"life@example.com","creditCard":"4242424242424242","items":[{"menuItemId":"%s","quantity":2}]}`

	t.Run("the same order event delivered twice charges once and emails once", func(t *testing.T) {
		id := place(t, `{"restaurant":"Ima","email":"dup@example.com","creditCard":"5555555555554444"}`, nil)
		stack.WaitFinal(t, id, 30*time.Second)
		rec := orderRecord(t, id)
		stack.Produce(t, "order", rec.Key, rec.Value) // a redelivery, byte for byte
		stack.Eventually(t, 30*time.Second, "the redelivered event to be handled", func() bool {
			return countLines(s.ReadLog(t, "transactions"), id, "order already decided") == 1 &&
				countLines(s.ReadLog(t, "email"), id, "email already sent") == 1
		})
		assert.Len(t, s.Bank.Charges(t, id), 1, "one charge")
		assert.Len(t, s.Mail.Search(t, id), 1, "one email")
		assert.Equal(t, "confirmed", stack.WaitFinal(t, id, time.Second).Status)
	})

	t.Run("a malformed event goes to the dead-letter topic and charges nothing", func(t *testing.T) {
		before := stack.TopicSize(t, "order-dlq")
		charges := len(s.Bank.Charges(t, ""))
		poison := `{"specversion":"1.0","id":"poison-1","source":"test","type":"kafkarestaurants.order.placed.v1","datacontenttype":"application/json","data":{"orderId":"ord_not-valid","total":-5}}`
		stack.Produce(t, "order", []byte("poison-1"), []byte(poison))
		stack.Eventually(t, 30*time.Second, "the poison event on order-dlq", func() bool {
			return stack.TopicSize(t, "order-dlq") == before+1
		})
		assert.Len(t, s.Bank.Charges(t, ""), charges, "nothing charged")
		// Later orders are not blocked by it.
		id := place(t, `{"restaurant":"Sabich","email":"after-poison@example.com","creditCard":"4242424242424242"}`, nil)
		assert.Equal(t, "confirmed", stack.WaitFinal(t, id, 30*time.Second).Status)
	})

	t.Run("a bank failing then recovering charges once", func(t *testing.T) {
		s.Bank.SetFaults(t, map[string]any{"failureRate": 1.0})
		id := place(t, `{"restaurant":"Nam","email":"flaky@example.com","creditCard":"4242424242424242"}`, nil)
		stack.Eventually(t, 20*time.Second, "a redelivery after the bank failed", func() bool {
			return countLines(s.ReadLog(t, "transactions"), id, "event will be redelivered") > 0
		})
		s.Bank.SetFaults(t, map[string]any{"failureRate": 0.0})
		o := stack.WaitFinal(t, id, 30*time.Second)
		assert.Equal(t, "confirmed", o.Status)
		charges := s.Bank.Charges(t, id)
		require.Len(t, charges, 1)
		assert.Equal(t, "succeeded", charges[0].Status)
		assert.Len(t, s.Mail.Search(t, id), 1)
	})

	t.Run("a bank that stays unavailable fails the order and says so by email", func(t *testing.T) {
		id := place(t, `{"restaurant":"Shawarma","email":"failed@example.com","creditCard":"4000000000000119"}`, nil)
		o := stack.WaitFinal(t, id, 60*time.Second)
		assert.Equal(t, "notified_failed", o.Status)
		msgs := s.Mail.Search(t, id)
		require.Len(t, msgs, 1)
		assert.Contains(t, msgs[0].Subject, "failed")
		for _, c := range s.Bank.Charges(t, id) {
			assert.NotEqual(t, "succeeded", c.Status, "a failed order is never charged")
		}
	})

	t.Run("Idempotency-Key: same body same order, other body 422", func(t *testing.T) {
		var menu struct {
			Menu []struct{ ID string } `json:"menu"`
		}
		stack.Do(t, http.MethodGet, stack.WebURL+"/api/restaurants/china-city", nil, nil).JSON(t, &menu)
		require.NotEmpty(t, menu.Menu)
		body := strings.Replace(approved, "%s", menu.Menu[0].ID, 1)
		before := stack.TopicSize(t, "order")
		key := map[string]string{"Idempotency-Key": "form-" + t.Name()}
		first := place(t, body, key)
		second := place(t, body, key)
		assert.Equal(t, first, second, "a retry returns the same order")
		assert.Equal(t, before+1, stack.TopicSize(t, "order"), "the retry published nothing")

		other := strings.Replace(body, `"quantity":2`, `"quantity":3`, 1)
		r := stack.PlaceOrder(t, other, key)
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))

		o := stack.WaitFinal(t, first, 30*time.Second)
		assert.Equal(t, "confirmed", o.Status)
		assert.Len(t, s.Bank.Charges(t, first), 1)
		assert.Len(t, s.Mail.Search(t, first), 1)
	})

	t.Run("prices come from the catalog", func(t *testing.T) {
		var rest struct {
			Menu []struct {
				ID    string `json:"id"`
				Price int64  `json:"price"`
			} `json:"menu"`
		}
		stack.Do(t, http.MethodGet, stack.WebURL+"/api/restaurants/china-city", nil, nil).JSON(t, &rest)
		id := place(t, strings.Replace(approved, "%s", rest.Menu[0].ID, 1), nil)
		o := stack.WaitFinal(t, id, 30*time.Second)
		assert.Equal(t, 2*rest.Menu[0].Price, o.Total)
		charges := s.Bank.Charges(t, id)
		require.Len(t, charges, 1)
		assert.Equal(t, 2*rest.Menu[0].Price, charges[0].Amount)
	})

	t.Run("no full card number in any topic, log or state", func(t *testing.T) {
		cards := []string{"4242424242424242", "5555555555554444", "4000000000000119", "4000000000000002"}
		for _, topic := range []string{"order", "order_confirm", "order_notified", "order-dlq", "order_confirm-dlq", "order_notified-dlq"} {
			for _, rec := range stack.ReadTopic(t, topic) {
				for _, c := range cards {
					require.NotContains(t, string(rec.Value), c, "topic %s", topic)
				}
			}
		}
		for _, name := range s.Names() {
			log := s.ReadLog(t, name)
			for _, c := range cards {
				require.NotContains(t, log, c, "log of %s", name)
			}
		}
		var o map[string]any
		stack.Do(t, http.MethodGet, stack.WebURL+"/api/orders/"+place(t, `{"restaurant":"Ima","email":"scan@example.com","creditCard":"4242424242424242"}`, nil), nil, nil).JSON(t, &o)
		b, _ := json.Marshal(o)
		assert.NotContains(t, string(b), "4242424242424242")
		assert.Contains(t, string(b), `"last4":"4242"`)
	})
}
