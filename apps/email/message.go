package main

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// message is one email to send.
type message struct {
	To, Subject, HTML string
}

// The email body: HTML, since the SMTP binding sends text/html. html/template escapes every
// value, so a restaurant named <script> arrives as text.
var bodyTemplate = template.Must(template.New("email").Funcs(template.FuncMap{"money": money}).Parse(`<!doctype html>
<html><body style="font-family: sans-serif; color: #1a1a2e">
<h2>{{.Headline}}</h2>
<p>{{.Lead}}</p>
<table cellpadding="4" style="border-collapse: collapse">
<tr><td>Order</td><td><strong>{{.O.OrderID}}</strong></td></tr>
<tr><td>Restaurant</td><td>{{.O.RestaurantName}}</td></tr>
{{range .O.Items}}<tr><td>{{.Quantity}} × {{.Name}}</td><td>{{money .UnitPrice $.O.Currency}}</td></tr>
{{end}}<tr><td>Total</td><td><strong>{{money .O.Total .O.Currency}}</strong></td></tr>
<tr><td>Card</td><td>{{.O.Card.Brand}} ending in {{.O.Card.Last4}}</td></tr>
</table>
<p><a href="{{.StatusURL}}">See your order</a></p>
<p style="color: #666">Kafka Restaurants</p>
</body></html>
`))

// render writes the email for an order's outcome.
func render(o events.OrderCharged, baseURL string) message {
	var headline, lead, subject string
	// A header line: no control characters, whatever the catalog holds.
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, o.RestaurantName)
	switch o.Outcome {
	case order.OutcomePaid:
		subject = fmt.Sprintf("Order %s confirmed: %s", o.OrderID, name)
		headline = "Your order is confirmed"
		lead = "Thank you! We charged your card and passed your order to the restaurant."
	case order.OutcomeDeclined:
		subject = fmt.Sprintf("Order %s declined: %s", o.OrderID, name)
		headline = "Your payment was declined"
		lead = "Your bank declined the payment (" + strings.ReplaceAll(o.Reason, "_", " ") + "), so the order was not placed. Nothing was charged."
	default:
		subject = fmt.Sprintf("Order %s failed: %s", o.OrderID, name)
		headline = "We could not process your order"
		lead = "We could not reach the bank to complete your payment, so the order was not placed. Nothing was charged. Please try again later."
		if o.RefundID != "" {
			// The order failed with a charge standing: the charge was refunded.
			lead = "We could not complete your payment, so the order was not placed. Your card was charged, and we have refunded that charge in full (refund " + o.RefundID + "); it can take a few days to show on your statement."
		}
	}
	var b bytes.Buffer
	_ = bodyTemplate.Execute(&b, map[string]any{
		"O": o, "Headline": headline, "Lead": lead,
		"StatusURL": strings.TrimRight(baseURL, "/") + "/status.html?id=" + url.QueryEscape(o.OrderID),
	})
	return message{To: o.Email, Subject: subject, HTML: b.String()}
}

// money formats minor units: 1250 ILS → "₪12.50".
func money(minor int64, currency string) string {
	sym := map[string]string{"ILS": "₪", "USD": "$", "EUR": "€", "GBP": "£"}[currency]
	if sym == "" {
		sym = currency + " "
	}
	return fmt.Sprintf("%s%d.%02d", sym, minor/100, minor%100)
}
