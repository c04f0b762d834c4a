package main

import (
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card"

	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
)

// FuzzPlaceOrder posts any body with any Idempotency-Key: the API never answers 5xx or
// panics (its dependencies are healthy fakes), never publishes or stores anything for a
// request it does not accept, and never lets a card number into an event or a log line,
// nor an email address that holds one (whatever separates its digits).
func FuzzPlaceOrder(f *testing.F) {
	good, _ := json.Marshal(goodOrder())
	f.Add(good, "")
	f.Add(good, "checkout-1")
	f.Add([]byte(`{"restaurant":"China city","email":"dana@example.com","creditCard":"4242424242424242"}`), "")
	f.Add([]byte(`{"restaurant":"China city","email":"a@b.com;c@d.com","creditCard":"4242424242424242"}`), "k")
	f.Add([]byte(`{"restaurant":"4242424242424242","email":"x","creditCard":"1"}`), "\x00")
	f.Add([]byte(`{"restaurant":"China city","email":"4111111111111111@example.com","creditCard":"4242424242424242"}`), "")
	f.Add([]byte(`{"items":[{"menuItemId":"m1","quantity":1e9}]}`), "")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		hs := newHarness(t)
		r := httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if key != "" {
			r.Header["Idempotency-Key"] = []string{key}
		}
		rec := httptest.NewRecorder()
		hs.h.ServeHTTP(rec, r)

		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		pub := hs.pub.published()
		orders, keys := hs.store.count()
		if rec.Code != http.StatusAccepted {
			if len(pub) > 0 || orders > 0 || keys > 0 {
				t.Fatalf("status %d but %d events, %d orders, %d keys", rec.Code, len(pub), orders, keys)
			}
			if hs.bank.callCount() > 0 && rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d after asking the bank", rec.Code)
			}
			return
		}
		if len(pub) != 1 || orders != 1 {
			t.Fatalf("accepted with %d events and %d orders", len(pub), orders)
		}
		raw, _ := json.Marshal(pub[0])
		if _, err := events.DecodeOrderPlaced(raw); err != nil {
			t.Fatalf("accepted an order whose event the consumers refuse: %v\n%s", err, raw)
		}
		if s := luhnRun(string(raw)); s != "" {
			t.Fatalf("event holds card number %s", s)
		}
		if s := luhnRun(notAlnum.ReplaceAllString(pub[0].Email, "")); s != "" {
			t.Fatalf("accepted an email holding card number %s (separators taken out): %q", s, pub[0].Email)
		}
		if s := luhnRun(hs.logs.String()); s != "" {
			t.Fatalf("log holds card number %s:\n%s", s, hs.logs.String())
		}
	})
}

// notAlnum is every run of characters that are neither ASCII letters nor digits: taken out,
// "4111.1111.1111.1111" reads as the card number it is.
var notAlnum = regexp.MustCompile(`[^A-Za-z0-9]+`)

// luhnRun returns a Luhn-valid window of 13 to 19 consecutive digits in s, or "".
func luhnRun(s string) string {
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			run := s[start:i]
			for n := 13; n <= 19; n++ {
				for j := 0; j+n <= len(run); j++ {
					if card.Luhn(run[j : j+n]) {
						return run[j : j+n]
					}
				}
			}
			start = -1
		}
	}
	return ""
}
