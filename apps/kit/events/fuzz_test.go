package events

import (
	"encoding/json"
	"math/big"
	"regexp"
	"testing"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// The test's own shapes of what an accepted event holds.
var (
	cardNumber = regexp.MustCompile(`[0-9]{13,19}`)
	token      = regexp.MustCompile(`^tok_[0-9a-zA-Z_]{4,64}$`)
	last4      = regexp.MustCompile(`^[0-9]{4}$`)
)

// FuzzDecodeOrderPlaced: any bytes decode or are refused with ErrMalformed, without a
// panic; whatever is accepted is an event the consumers can trust.
func FuzzDecodeOrderPlaced(f *testing.F) {
	f.Add([]byte(validPlaced))
	f.Add([]byte(`{"orderId":"ord_0123456789","card":{"token":"4242424242424242"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := DecodeOrderPlaced(data)
		if err != nil {
			if !isMalformed(err) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		checkAccepted(t, o.OrderID, o.Email, o.Items, o.Total, o.Currency)
		if !token.MatchString(o.Card.Token) || cardNumber.MatchString(o.Card.Token) || !last4.MatchString(o.Card.Last4) {
			t.Fatalf("accepted card %+v", o.Card)
		}
		if o.PlacedAt.IsZero() {
			t.Fatal("accepted without placedAt")
		}
		roundTrip(t, o, DecodeOrderPlaced)
	})
}

// FuzzDecodeOrderCharged is the same for `order_confirm`.
func FuzzDecodeOrderCharged(f *testing.F) {
	f.Add([]byte(validCharged))
	f.Add([]byte(`{"orderId":"ord_0123456789","outcome":"paid","card":{"token":"tok_1234"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := DecodeOrderCharged(data)
		if err != nil {
			if !isMalformed(err) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		checkDecided(t, o.OrderID, o.Details, o.Charge)
		roundTrip(t, o, DecodeOrderCharged)
	})
}

// FuzzDecodeOrderNotified is the same for `order_notified`.
func FuzzDecodeOrderNotified(f *testing.F) {
	f.Add([]byte(validNotified))
	f.Add([]byte(`{"orderId":"ord_0123456789","outcome":"paid","delivery":"rejected","smtpCode":"550"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := DecodeOrderNotified(data)
		if err != nil {
			if !isMalformed(err) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		checkDecided(t, o.OrderID, o.Details, o.Charge)
		if !(o.Delivery == "sent" && o.SMTPCode == "") && !(o.Delivery == "rejected" && regexp.MustCompile(`^5[0-9]{2}$`).MatchString(o.SMTPCode)) {
			t.Fatalf("accepted delivery %q with code %q", o.Delivery, o.SMTPCode)
		}
		roundTrip(t, o, DecodeOrderNotified)
	})
}

// checkDecided: an accepted event past the charge has good details without a token, and
// a decision the state machine knows.
func checkDecided(t *testing.T, id string, d order.Details, c order.Charge) {
	t.Helper()
	checkAccepted(t, id, d.Email, d.Items, d.Total, d.Currency)
	if d.Card.Token != "" || !last4.MatchString(d.Card.Last4) {
		t.Fatalf("accepted card %+v", d.Card)
	}
	switch c.Outcome {
	case order.OutcomePaid, order.OutcomeDeclined, order.OutcomeFailed:
	default:
		t.Fatalf("accepted outcome %q", c.Outcome)
	}
	if c.RefundID != "" && (c.Outcome != order.OutcomeFailed || c.ChargeID == "") {
		t.Fatalf("accepted refund %+v", c)
	}
}

func isMalformed(err error) bool {
	for e := err; e != nil; {
		if e == ErrMalformed {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func checkAccepted(t *testing.T, id, email string, items []order.Item, total int64, currency string) {
	t.Helper()
	if !order.ValidID(id) {
		t.Fatalf("accepted order id %q", id)
	}
	if order.ValidateEmail(email) != nil {
		t.Fatalf("accepted email %q", email)
	}
	// The sum in big integers: a total that only matches after int64 wrap-around is wrong.
	sum := new(big.Int)
	for _, it := range items {
		if it.Quantity < 1 || it.UnitPrice < 0 || it.MenuItemID == "" {
			t.Fatalf("accepted item %+v", it)
		}
		sum.Add(sum, new(big.Int).Mul(big.NewInt(int64(it.Quantity)), big.NewInt(it.UnitPrice)))
	}
	if sum.Cmp(big.NewInt(total)) != 0 || total < 0 || len(currency) != 3 {
		t.Fatalf("accepted total %d for items summing to %d in %q", total, sum, currency)
	}
}

// roundTrip: what was accepted, encoded again, is accepted again as the same event.
func roundTrip[T any](t *testing.T, v T, decode func([]byte) (T, error)) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := decode(b)
	if err != nil {
		t.Fatalf("re-encoded event refused: %v", err)
	}
	b2, _ := json.Marshal(again)
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the event:\n%s\n%s", b, b2)
	}
}
