package card

import (
	"testing"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card/cardtest"
)

// FuzzRedact: whatever the input, the output holds no Luhn-valid run of 13 to 19 digits,
// keeps its length (only digits turn into '*') and changes nothing when there is none.
func FuzzRedact(f *testing.F) {
	f.Add("card 4242424242424242 refused")
	f.Add("4242 4242 4242 4242 4111 1111 1111 1111")
	f.Add("2026-11-27T18:00:00Z order ord_01jd8xq3v7k2m9p4r6t8w0y2za total 1300")
	f.Add("0000000000000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		got := Redact(s)
		if len(got) != len(s) {
			t.Fatalf("length changed: %q → %q", s, got)
		}
		for i := 0; i < len(s); i++ {
			if got[i] != s[i] && (got[i] != '*' || !isDigit(s[i])) {
				t.Fatalf("byte %d changed from %q to %q", i, s[i], got[i])
			}
		}
		if runs := cardtest.Runs(got); len(runs) > 0 {
			t.Fatalf("Redact(%q) = %q still holds %v", s, got, runs)
		}
		if len(cardtest.Runs(s)) == 0 && got != s {
			t.Fatalf("Redact(%q) = %q changed a string with no card number", s, got)
		}
	})
}
