package main

import (
	"context"
	"strings"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

func chargedEvent(name string) events.OrderCharged {
	return events.OrderCharged{
		OrderID: orderID, Details: order.Details{RestaurantName: name, Email: "dana@example.com",
			Items: []order.Item{{MenuItemID: "m1", Name: `Rolls "&" <b>more</b>`, Quantity: 2, UnitPrice: 650}}, Total: 1300,
			Currency: "ILS", Card: order.Card{Brand: "visa", Last4: "4242"}},
		Charge: order.Charge{Outcome: order.OutcomePaid},
	}
}

func TestRenderEscapesHostileNames(t *testing.T) {
	tests := []struct {
		name       string
		restaurant string
		forbidden  []string
		want       []string
	}{
		{"script tag", `<script>alert(1)</script>`, []string{"<script>"}, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"attribute breakout", `"><img src=x onerror=alert(1)>`, []string{"<img"}, []string{"&lt;img src=x onerror=alert(1)&gt;"}},
		{"link", `<a href="http://evil.example">pay here</a>`, []string{`<a href="http://evil.example"`}, []string{"&lt;a href="}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := render(chargedEvent(tc.restaurant), "http://localhost:8080")
			for _, f := range tc.forbidden {
				assert.NotContains(t, m.HTML, f)
			}
			for _, w := range tc.want {
				assert.Contains(t, m.HTML, w)
			}
			assert.NotContains(t, m.HTML, "<b>more</b>", "item names are escaped too")
			assert.Contains(t, m.Subject, orderID)
		})
	}
}

func TestRenderPerOutcome(t *testing.T) {
	tests := []struct {
		outcome             order.Outcome
		reason              string
		wantSubject, wantIn string
	}{
		{order.OutcomePaid, "", "Order " + orderID + " confirmed: China city", "We charged your card"},
		{order.OutcomeDeclined, "stolen_card", "Order " + orderID + " declined: China city", "(stolen card)"},
		{order.OutcomeFailed, "bank_unavailable", "Order " + orderID + " failed: China city", "Please try again later"},
	}
	for _, tc := range tests {
		t.Run(string(tc.outcome), func(t *testing.T) {
			e := chargedEvent("China city")
			e.Outcome, e.Reason = tc.outcome, tc.reason
			m := render(e, "https://food.example/")
			assert.Equal(t, "dana@example.com", m.To)
			assert.Equal(t, tc.wantSubject, m.Subject)
			assert.Contains(t, m.HTML, tc.wantIn)
			assert.Contains(t, m.HTML, `href="https://food.example/status.html?id=`+orderID+`"`)
			assert.Contains(t, m.HTML, "₪13.00")
			assert.Contains(t, m.HTML, "₪6.50")
		})
	}
}

func TestRenderRefundedFailure(t *testing.T) {
	e := chargedEvent("China city")
	e.Outcome, e.Reason, e.ChargeID, e.RefundID = order.OutcomeFailed, "payment_error", "ch_1", "re_abcd1234"
	m := render(e, "https://food.example/")
	assert.Equal(t, "Order "+orderID+" failed: China city", m.Subject)
	assert.Contains(t, m.HTML, "we have refunded that charge in full (refund re_abcd1234)")
	assert.NotContains(t, m.HTML, "Nothing was charged", "a refunded order was charged")

	e.RefundID = ""
	assert.Contains(t, render(e, "").HTML, "Nothing was charged")
}

func TestMoney(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{1250, "ILS", "₪12.50"},
		{5, "USD", "$0.05"},
		{100000, "EUR", "€1000.00"},
		{0, "GBP", "£0.00"},
		{1999, "CHF", "CHF 19.99"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) { assert.Equal(t, tc.want, money(tc.minor, tc.currency)) })
	}
}

// fakeSMTP records the binding calls the mailer makes.
type fakeSMTP struct{ calls []*dapr.InvokeBindingRequest }

func (f *fakeSMTP) InvokeBinding(_ context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error) {
	f.calls = append(f.calls, in)
	return &dapr.BindingEvent{}, nil
}

func TestMailerSetsRecipientAndSubjectOnEveryCall(t *testing.T) {
	f := &fakeSMTP{}
	m := &daprMailer{client: f, binding: "smtp"}
	msgs := []message{
		{To: "dana@example.com", Subject: "Order 1 confirmed", HTML: "<p>1</p>"},
		{To: "noa@example.org", Subject: "Order 2 declined", HTML: "<p>2</p>"},
	}
	for _, msg := range msgs {
		require.NoError(t, m.Send(context.Background(), msg))
	}
	require.Len(t, f.calls, 2)
	for i, in := range f.calls {
		assert.Equal(t, "smtp", in.Name)
		assert.Equal(t, "create", in.Operation)
		assert.Equal(t, msgs[i].To, in.Metadata["emailTo"], "never the previous email's recipient")
		assert.Equal(t, msgs[i].Subject, in.Metadata["subject"])
		assert.Contains(t, in.Metadata, "emailCC")
		assert.Empty(t, in.Metadata["emailCC"])
		assert.Contains(t, in.Metadata, "emailBCC")
		assert.Empty(t, in.Metadata["emailBCC"])
		assert.Equal(t, msgs[i].HTML, string(in.Data))
	}
}

func TestMailerRefusesBadRecipients(t *testing.T) {
	for _, to := range []string{"", "a@b.com;eve@evil.example", "a@b.com,eve@evil.example", "a@b.com\r\nBcc: eve@evil.example", "Dana <a@b.com>"} {
		t.Run(strings.ReplaceAll(to, "\r\n", `\r\n`), func(t *testing.T) {
			f := &fakeSMTP{}
			err := (&daprMailer{client: f, binding: "smtp"}).Send(context.Background(), message{To: to, Subject: "s", HTML: "h"})
			require.Error(t, err)
			assert.Empty(t, f.calls, "nothing reaches the SMTP binding")
		})
	}
}

func TestSubjectHasNoControlCharacters(t *testing.T) {
	o := events.OrderCharged{OrderID: "ord_0123456789abcdef", Details: order.Details{RestaurantName: "Evil\r\nBcc: victim@example.com", Currency: "ILS"},
		Charge: order.Charge{Outcome: order.OutcomePaid}}
	m := render(o, "http://127.0.0.1:8080")
	assert.NotContains(t, m.Subject, "\r")
	assert.NotContains(t, m.Subject, "\n")
	assert.Contains(t, m.Subject, "ord_0123456789abcdef")
}
