package card

import (
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card/cardtest"
)

func TestLuhnAgreesWithAnIndependentCheck(t *testing.T) {
	for _, prefix := range []string{"424242424242424", "37828224631000", "422222222222", "620000000000000000"} {
		valid := cardtest.WithCheckDigit(prefix)
		assert.True(t, Luhn(valid), valid)
		for d := byte('0'); d <= '9'; d++ {
			other := prefix + string(d)
			assert.Equal(t, other == valid, Luhn(other), other)
		}
	}
}

func TestNormalize(t *testing.T) {
	visa := cardtest.WithCheckDigit("424242424242424")
	tests := []struct {
		name, in, want, err string
	}{
		{"bare digits", visa, visa, ""},
		{"spaces", visa[:4] + " " + visa[4:8] + " " + visa[8:12] + " " + visa[12:], visa, ""},
		{"dashes", visa[:4] + "-" + visa[4:], visa, ""},
		{"letters", visa[:15] + "x", "", "only digits"},
		{"too short", "424242424242", "", "13 to 19"},
		{"too long", visa + visa, "", "13 to 19"},
		{"check digit", visa[:15] + string('0'+(visa[15]-'0'+1)%10), "", "check digit"},
		{"empty", "", "", "13 to 19"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.NotContains(t, err.Error(), visa, "an error never repeats the number")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in          string
		month, year int
		ok          bool
	}{
		{"12/26", 12, 2026, true},
		{"01/2030", 1, 2030, true},
		{" 3 / 27 ", 3, 2027, true},
		{"11/26", 0, 0, false},
		{"13/27", 0, 0, false},
		{"00/27", 0, 0, false},
		{"12/60", 0, 0, false},
		{"1227", 0, 0, false},
		{"ab/cd", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			m, y, err := ParseExpiry(tc.in, now)
			if !tc.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []int{tc.month, tc.year}, []int{m, y})
		})
	}
}

func TestHoldsNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"4242424242424242", true},
		{"4242 4242 4242 4242", true},
		{"4242--4242..4242__4242", true},
		{"x4242424242424242y", true},
		{"card 4242424242424242, thanks", true},
		{"00004111111111111111", true},
		{"6200000000000000003", true},
		{"４２４２４２４２４２４２４２４２", true},
		{"424242424242", false},
		{"4242a4242b4242c4242", false},
		{"1234567812345678", false},
		{"", false},
		{"dana@example.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, HoldsNumber(tc.in))
		})
	}
}

// digitValue leans on Unicode encoding every script's digits as runs of ten from a zero.
func TestDigitRangesAreRunsOfTen(t *testing.T) {
	for _, rg := range unicode.Nd.R16 {
		assert.Equal(t, uint16(1), rg.Stride)
		assert.Zero(t, (int(rg.Hi)-int(rg.Lo)+1)%10, "%x-%x", rg.Lo, rg.Hi)
		assert.Equal(t, byte(0), digitValue(rune(rg.Lo)))
		assert.Equal(t, byte(9), digitValue(rune(rg.Hi)))
	}
	for _, rg := range unicode.Nd.R32 {
		assert.Equal(t, uint32(1), rg.Stride)
		assert.Zero(t, (int(rg.Hi)-int(rg.Lo)+1)%10, "%x-%x", rg.Lo, rg.Hi)
	}
	assert.Equal(t, byte(7), digitValue('７'))
	assert.Equal(t, byte(4), digitValue('٤'))
}
