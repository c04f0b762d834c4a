package card

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card/cardtest"
)

func TestRedact(t *testing.T) {
	visa16 := cardtest.WithCheckDigit("424242424242424")
	amex15 := cardtest.WithCheckDigit("37828224631000")
	visa13 := cardtest.WithCheckDigit("422222222222")
	long19 := cardtest.WithCheckDigit("620000000000000000")
	notLuhn := "1234567812345678" // no window of it passes Luhn
	require.Empty(t, cardtest.Runs(notLuhn))

	tests := []struct {
		name string
		in   string
		want string
	}{
		{"16 digits", "card " + visa16 + " refused", "card ************" + visa16[12:] + " refused"},
		{"15 digits", amex15, "***********" + amex15[11:]},
		{"13 digits", "n=" + visa13, "n=*********" + visa13[9:]},
		{"19 digits", long19 + ".", "***************" + long19[15:] + "."},
		{"spaces between groups", "4242 4242 4242 4242", "**** **** **** 4242"},
		{"dashes between groups", "4242-4242-4242-4242", "****-****-****-4242"},
		{"two spaces between groups", "4242  4242  4242  4242", "****  ****  ****  4242"},
		{"runs of spaces and dashes", "4242 - 4242 -- 4242   4242", "**** - **** -- ****   4242"},
		{"one digit per group", "4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2", "* * * * * * * * * * * * 4 2 4 2"},
		{"separators around the number stay", " - " + visa16 + " - ", " - ************" + visa16[12:] + " - "},
		{"15 digits with double spaces", "3782  822463  10005", "****  ******  *0005"},
		{"date and time with double spaces", "2026-11-27  18:00:00", "2026-11-27  18:00:00"},
		{"inside JSON", `{"number":"` + visa16 + `"}`, `{"number":"************` + visa16[12:] + `"}`},
		{"not Luhn-valid", "ref " + notLuhn, "ref " + notLuhn},
		{"12 digits", "424242424242", "424242424242"},
		{"date", "2026-11-27 18:00:00", "2026-11-27 18:00:00"},
		{"order id", "ord_01jd8xq3v7k2m9p4r6t8w0y2za", "ord_01jd8xq3v7k2m9p4r6t8w0y2za"},
		{"empty", "", ""},
		{"text", "no digits here", "no digits here"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.in)
			assert.Equal(t, tc.want, got)
			assert.Empty(t, cardtest.Runs(got), "a card number survived")
		})
	}
}

// Two cards side by side, as a careless "cards: A B" log line would hold them, read as one
// run of digits: both must be masked, not only the first window found.
func TestRedactSeveralCardsInOneRun(t *testing.T) {
	a := cardtest.WithCheckDigit("424242424242424")
	b := cardtest.WithCheckDigit("411111111111111")
	tests := []struct{ name, in string }{
		{"separated by a space", "cards " + a + " " + b},
		{"separated by a dash", a + "-" + b},
		{"separated by several spaces", a + "    " + b},
		{"separated by spaces and dashes", a + " -- " + b},
		{"glued together", a + b},
		{"three cards", a + " " + b + " " + a},
		{"card after long digits", "000000000000000000000000" + a},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.in)
			assert.Empty(t, cardtest.Runs(got), "output %q", got)
			assert.NotContains(t, got, a[:12])
			assert.NotContains(t, got, b[:12])
		})
	}
}
