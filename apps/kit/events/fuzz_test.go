package events

import (
	"encoding/json"
	"math/big"
	"regexp"
	"testing"
)

// cardNumber finds 13 to 19 digits in a row, the shape of a card number.
var cardNumber = regexp.MustCompile(`[0-9]{13,19}`)

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
		if !tokenPattern.MatchString(o.Card.Token) || cardNumber.MatchString(o.Card.Token) || !last4Pattern.MatchString(o.Card.Last4) {
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
		checkAccepted(t, o.OrderID, o.Email, o.Items, o.Total, o.Currency)
		switch o.Outcome {
		case OutcomePaid, OutcomeDeclined, OutcomeFailed:
		default:
			t.Fatalf("accepted outcome %q", o.Outcome)
		}
		if o.Card.Token != "" || !last4Pattern.MatchString(o.Card.Last4) {
			t.Fatalf("accepted card %+v", o.Card)
		}
		roundTrip(t, o, DecodeOrderCharged)
	})
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

func checkAccepted(t *testing.T, id, email string, items []Item, total int64, currency string) {
	t.Helper()
	if !ValidOrderID(id) {
		t.Fatalf("accepted order id %q", id)
	}
	if ValidateEmail(email) != nil {
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
