package browser

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// orderAPI stands in for the frontend's sidecar with orders in final statuses the whole
// stack reaches only through rare faults (a refunded charge, a mail server that refuses the
// email for good): GET /v1.0/invoke/api/method/orders/{id} answers the order as the API's
// GET /orders/{id} would.
type orderAPI map[string]map[string]any

func (o orderAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/v1.0/invoke/api/method/orders/")
	order, found := o[id]
	w.Header().Set("Content-Type", "application/json")
	if !ok || !found {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":"not_found","message":"no order with that id"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(order)
}

// finalOrder is an order as GET /orders/{id} shows it, final after the given steps.
func finalOrder(id string, refunded bool, steps ...string) map[string]any {
	timeline := []map[string]any{{"status": "accepted", "at": "2026-12-01T03:00:00Z"}}
	for _, s := range steps {
		timeline = append(timeline, map[string]any{"status": s, "at": "2026-12-01T03:00:01Z"})
	}
	o := map[string]any{
		"orderId": id, "status": steps[len(steps)-1], "restaurantId": "china-city", "restaurant": "China city",
		"email": "d***@example.com", "items": []any{}, "total": 1300, "currency": "ILS",
		"card": map[string]any{"brand": "visa", "last4": "4242"}, "timeline": timeline, "final": true,
	}
	if refunded {
		o["refunded"] = true
	}
	return o
}

// TestStatusPageTexts shows the status page, in Chromium behind the real nginx template,
// every final status with its wording: a refunded failure never says "nothing was charged",
// and email_rejected says no email will come, with the outcome its timeline records.
func TestStatusPageTexts(t *testing.T) {
	tests := []struct {
		name     string
		order    map[string]any
		heading  string
		contains []string
		lacks    []string
		tone     string
		failed   []string // the progress steps marked failed
	}{
		{"confirmed", finalOrder("ord_confirmed0001", false, "paid", "confirmed"),
			"Order confirmed", []string{"confirmation email is on its way"}, nil, "ok", nil},
		{"declined", finalOrder("ord_declined00001", false, "declined", "notified_declined"),
			"Card declined", []string{"nothing was charged", "We emailed you"}, nil, "bad", []string{"step-payment"}},
		{"failed, nothing charged", finalOrder("ord_failed0000001", false, "failed", "notified_failed"),
			"Payment failed", []string{"nothing was charged", "We emailed you"}, []string{"refunded"}, "bad", []string{"step-payment"}},
		{"failed, the charge refunded", finalOrder("ord_refunded00001", true, "failed", "notified_failed"),
			"Payment failed", []string{"charge made on your card was refunded", "We emailed you"}, []string{"nothing was charged"}, "bad", []string{"step-payment"}},
		{"paid, the email refused", finalOrder("ord_rejectedpaid1", false, "paid", "email_rejected"),
			"Order placed, email refused", []string{"Payment received and your order is placed", "refused our confirmation email", "none will arrive"}, []string{"nothing was charged"}, "ok", []string{"step-email"}},
		{"declined, the email refused", finalOrder("ord_rejecteddecl1", false, "declined", "email_rejected"),
			"Card declined", []string{"nothing was charged", "refused our email", "none will arrive"}, []string{"We emailed you"}, "bad", []string{"step-payment", "step-email"}},
		{"failed and refunded, the email refused", finalOrder("ord_rejectedrefd1", true, "failed", "email_rejected"),
			"Payment failed", []string{"was refunded", "refused our email", "none will arrive"}, []string{"nothing was charged", "We emailed you"}, "bad", []string{"step-payment", "step-email"}},
	}
	api := orderAPI{}
	for _, tc := range tests {
		api[tc.order["orderId"].(string)] = tc.order
	}
	side := httptest.NewServer(api)
	defer side.Close()
	base := startNginx(t, side.Listener.Addr().(*net.TCPAddr).Port)
	b := newBrowser(t)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.order["status"].(string)
			b.run(t, "open the status page", chromedp.Navigate(base+"/status.html?id="+tc.order["orderId"].(string)))
			waitStatus(t, b, status)
			assert.Equal(t, []string{tc.heading}, b.texts(t, "#status-heading"))
			text := b.texts(t, "#status-text")
			require.Len(t, text, 1)
			for _, s := range tc.contains {
				assert.Contains(t, text[0], s)
			}
			for _, s := range tc.lacks {
				assert.NotContains(t, text[0], s)
			}
			assert.Contains(t, eval[string](t, b, `document.getElementById('banner').className`), "status--"+tc.tone)
			assert.ElementsMatch(t, tc.failed, eval[[]string](t, b, `Array.from(document.querySelectorAll('#progress li.failed'), (li) => li.id)`))
			labels := b.texts(t, "#timeline li strong")
			assert.NotContains(t, labels, status, "every step has a label, not the raw status")
			b.clean(t)
		})
	}
}
