// Package e2e tests the whole system as a user meets it: through nginx on :8080, with real
// daprd sidecars, the Kafka-protocol broker, SQLite state stores, the bank and mailpit.
package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

type restaurant struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Style      string `json:"style"`
	Vegetarian bool   `json:"vegetarian"`
	Delivery   bool   `json:"delivery"`
}

func search(t *testing.T, query url.Values) []string {
	t.Helper()
	r := stack.Do(t, http.MethodGet, stack.WebURL+"/api/search?"+query.Encode(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var rs []restaurant
	r.JSON(t, &rs)
	names := make([]string, 0, len(rs))
	for _, x := range rs {
		names = append(names, x.Name)
	}
	sort.Strings(names)
	return names
}

// TestOrderChain runs the seed's user journeys through the real stack.
func TestOrderChain(t *testing.T) {
	// Many orders from one address in a second: lift the per-client rate limit.
	s := stack.Start(t, stack.Options{Env: map[string]map[string]string{"frontend": {"NGINX_ORDER_RATE": "1000r/s", "NGINX_ORDER_BURST": "1000"}}})

	t.Run("seed searches return the seed's answers", func(t *testing.T) {
		cases := []struct {
			name  string
			query url.Values
			want  []string
		}{
			{"chinese vegetarian", url.Values{"restaurant_style": {"Chinese"}, "vegetarian": {"true"}}, []string{"China city", "Peking Duck House"}},
			{"vegetarian=false does not filter", url.Values{"restaurant_style": {"Italian"}, "vegetarian": {"false"}}, []string{"Amore Mio", "Cafe Italia", "pizza Makpiza"}},
			{"name substring", url.Values{"restaurant_name": {"china"}}, []string{"China city", "China town"}},
			{"delivery", url.Values{"restaurant_style": {"Israeli"}, "delivery": {"true"}}, []string{"La Shuk", "Port Oren", "Sabich"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want := append([]string(nil), c.want...)
				sort.Strings(want)
				assert.Equal(t, want, search(t, c.query))
			})
		}
	})

	t.Run("an approved order is charged once, emailed once and confirmed", func(t *testing.T) {
		r := stack.PlaceOrder(t, `{"restaurant":"China city","email":"approved@example.com","creditCard":"4242 4242 4242 4242"}`, nil)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		var acc struct {
			OrderID string `json:"orderId"`
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		r.JSON(t, &acc)
		require.NotEmpty(t, acc.OrderID)
		assert.Equal(t, "accepted", acc.Status)
		assert.NotEmpty(t, acc.Message)

		o := stack.WaitFinal(t, acc.OrderID, 30*time.Second)
		assert.Equal(t, "confirmed", o.Status)
		var steps []string
		for _, st := range o.Timeline {
			steps = append(steps, st.Status)
		}
		assert.Equal(t, []string{"accepted", "paid", "confirmed"}, steps)

		msgs := s.Mail.Search(t, acc.OrderID)
		require.Len(t, msgs, 1, "exactly one email for the order")
		assert.Contains(t, msgs[0].Subject, acc.OrderID)
		assert.Contains(t, msgs[0].Subject, "confirmed")
		assert.Equal(t, "approved@example.com", msgs[0].To[0].Address)
		assert.Len(t, s.Bank.Charges(t, acc.OrderID), 1, "exactly one charge")
	})

	t.Run("a declined card gets a declined email and status", func(t *testing.T) {
		r := stack.PlaceOrder(t, `{"restaurant":"Sabich","email":"declined@example.com","creditCard":"4000000000000002"}`, nil)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		var acc struct{ OrderID string }
		r.JSON(t, &acc)
		o := stack.WaitFinal(t, acc.OrderID, 30*time.Second)
		assert.Equal(t, "notified_declined", o.Status)
		msgs := s.Mail.Search(t, acc.OrderID)
		require.Len(t, msgs, 1)
		assert.Contains(t, msgs[0].Subject, "declined")
		assert.Contains(t, strings.ToLower(s.Mail.Body(t, msgs[0].ID)), "declined")
	})

	t.Run("bad orders get 400 and nothing reaches the order topic", func(t *testing.T) {
		before := stack.TopicSize(t, "order")
		cases := []struct {
			name, body, code string
			status           int
		}{
			{"card failing Luhn", `{"restaurant":"China city","email":"a@example.com","creditCard":"4242424242424241"}`, "invalid_card", 400},
			{"unknown restaurant", `{"restaurant":"Nowhere","email":"a@example.com","creditCard":"4242424242424242"}`, "unknown_restaurant", 400},
			{"bad email", `{"restaurant":"China city","email":"not-an-email","creditCard":"4242424242424242"}`, "invalid_email", 400},
			{"two recipients", `{"restaurant":"China city","email":"a@example.com;b@example.com","creditCard":"4242424242424242"}`, "invalid_email", 400},
			{"header injection", `{"restaurant":"China city","email":"a@example.com\r\nBcc: b@example.com","creditCard":"4242424242424242"}`, "invalid_email", 400},
			{"malformed JSON", `{"restaurant":`, "malformed_json", 400},
			{"unknown field", `{"restaurant":"China city","email":"a@example.com","creditCard":"4242424242424242","price":1}`, "unknown_field", 400},
			{"too big", `{"restaurant":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := stack.PlaceOrder(t, c.body, nil)
				require.Equal(t, c.status, r.Status, string(r.Body))
				if c.code != "" {
					var e struct{ Code, Message string }
					r.JSON(t, &e)
					assert.Equal(t, c.code, e.Code)
					assert.NotEmpty(t, e.Message)
				}
			})
		}
		assert.Equal(t, before, stack.TopicSize(t, "order"), "a rejected order must publish nothing")
	})

	t.Run("public catalog reads are cached for a second at nginx, order status never", func(t *testing.T) {
		u := stack.WebURL + "/api/search?restaurant_style=Italian&cache_probe=" + t.Name()
		first := stack.Do(t, http.MethodGet, u, nil, nil)
		second := stack.Do(t, http.MethodGet, u, nil, nil)
		require.Equal(t, http.StatusOK, second.Status)
		assert.Equal(t, "MISS", first.Header.Get("X-Cache-Status"))
		assert.Equal(t, "HIT", second.Header.Get("X-Cache-Status"))
		assert.Equal(t, first.Body, second.Body)
		fresh := stack.Do(t, http.MethodGet, u, nil, map[string]string{"Cache-Control": "no-cache"})
		require.Equal(t, http.StatusOK, fresh.Status)
		assert.Equal(t, "BYPASS", fresh.Header.Get("X-Cache-Status"), "a hard reload goes through to the API")
		assert.Equal(t, first.Body, fresh.Body)
		r := stack.Do(t, http.MethodGet, stack.WebURL+"/api/orders/ord_00000000000000000000000000", nil, nil)
		assert.Empty(t, r.Header.Get("X-Cache-Status"))
	})

	t.Run("unknown order is 404", func(t *testing.T) {
		r := stack.Do(t, http.MethodGet, stack.WebURL+"/api/orders/ord_00000000000000000000000000", nil, nil)
		assert.Equal(t, http.StatusNotFound, r.Status)
	})

	t.Run("no card number on the order topic", func(t *testing.T) {
		for _, rec := range stack.ReadTopic(t, "order") {
			assert.NotContains(t, string(rec.Value), "4242424242424242")
			var ce struct {
				Data json.RawMessage `json:"data"`
			}
			require.NoError(t, json.Unmarshal(rec.Value, &ce))
			assert.Contains(t, string(ce.Data), `"last4"`)
		}
	})
}
