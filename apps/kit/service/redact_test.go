package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	visa16 := withCheckDigit("424242424242424")
	amex15 := withCheckDigit("37828224631000")
	visa13 := withCheckDigit("422222222222")
	long19 := withCheckDigit("620000000000000000")
	notLuhn := "1234567812345678" // no window of it passes Luhn
	require.Empty(t, cardRuns(notLuhn))

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
			assert.Empty(t, cardRuns(got), "a card number survived")
		})
	}
}

// Two cards side by side, as a careless "cards: A B" log line would hold them, read as one
// run of digits: both must be masked, not only the first window found.
func TestRedactSeveralCardsInOneRun(t *testing.T) {
	a := withCheckDigit("424242424242424")
	b := withCheckDigit("411111111111111")
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
			assert.Empty(t, cardRuns(got), "output %q", got)
			assert.NotContains(t, got, a[:12])
			assert.NotContains(t, got, b[:12])
		})
	}
}

func TestNewLoggerRedactsEveryKindOfValue(t *testing.T) {
	card := withCheckDigit("400000000000000")
	type payload struct {
		Number string `json:"number"`
	}
	tests := []struct {
		name string
		log  func(l interface {
			Info(string, ...any)
		})
	}{
		{"message", func(l interface{ Info(string, ...any) }) { l.Info("charging " + card) }},
		{"string attribute", func(l interface{ Info(string, ...any) }) { l.Info("x", "card", card) }},
		{"error attribute", func(l interface{ Info(string, ...any) }) {
			l.Info("x", "error", fmt.Errorf("bank: %w", errors.New("card "+card+" refused")))
		}},
		{"integer attribute", func(l interface{ Info(string, ...any) }) {
			var n int64
			_, _ = fmt.Sscan(card, &n)
			l.Info("x", "number", n)
		}},
		{"struct attribute", func(l interface{ Info(string, ...any) }) { l.Info("x", "body", payload{Number: card}) }},
		{"grouped attribute", func(l interface{ Info(string, ...any) }) {
			l.Info("x", "req", map[string]string{"creditCard": card})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, buf := testLogger(t)
			tc.log(log)
			out := buf.String()
			require.NotEmpty(t, out)
			var line map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &line), "one JSON line")
			assert.Equal(t, "test", line["service"])
			assert.NotContains(t, out, card[:12])
			assert.Empty(t, cardRuns(out))
			assert.Contains(t, out, card[12:], "the last four digits stay for support")
		})
	}
}

func TestNewLoggerLeavesOrdinaryValuesAlone(t *testing.T) {
	log, buf := testLogger(t)
	log.Info("order accepted", "orderId", "ord_01jd8xq3v7k2m9p4r6t8w0y2za", "total", 1300, "at", "2026-11-27T18:00:00Z")
	out := buf.String()
	for _, want := range []string{"ord_01jd8xq3v7k2m9p4r6t8w0y2za", `"total":1300`, "2026-11-27T18:00:00Z"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, strings.ToLower(out), "***")
}
