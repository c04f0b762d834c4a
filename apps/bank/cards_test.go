package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTestCardsAreLuhnValid(t *testing.T) {
	wantBrand := map[string]string{
		"4242424242424242": "visa", "5555555555554444": "mastercard", "378282246310005": "amex",
		"4000000000000002": "visa", "4000000000009995": "visa", "4000000000009979": "visa",
		"4000000000000069": "visa", "4000000000000119": "visa", "4000000000003063": "visa",
	}
	require.Len(t, testCards, len(wantBrand), "every test card needs an expected brand here")
	for number := range testCards {
		t.Run(number, func(t *testing.T) {
			require.NoError(t, validateNumber(number))
			assert.Equal(t, wantBrand[number], brandOf(number))
		})
	}
}

func TestValidateNumber(t *testing.T) {
	tests := []struct {
		name   string
		number string
		want   error
	}{
		{"valid visa", "4242424242424242", nil},
		{"valid 13 digits", "4222222222222", nil},
		{"valid 19 digits", "6011000000000000001", nil},
		{"empty", "", errNumberNotDigits},
		{"spaces", "4242 4242 4242 4242", errNumberNotDigits},
		{"letters", "42424242424242a2", errNumberNotDigits},
		{"unicode digits", "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", errNumberNotDigits},
		{"too short", "424242424242", errNumberLength},
		{"too long", "42424242424242424242", errNumberLength},
		{"bad check digit", "4242424242424241", errNumberLuhn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, validateNumber(tt.number))
		})
	}
}

func TestBrandOf(t *testing.T) {
	tests := []struct{ number, want string }{
		{"4111111111111111", "visa"},
		{"5105105105105100", "mastercard"},
		{"2223003122003222", "mastercard"},
		{"371449635398431", "amex"},
		{"6011111111111117", "discover"},
		{"6500000000000002", "discover"},
		{"3530111333300000", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			require.True(t, luhnValid(tt.number), "fixture must be Luhn-valid")
			assert.Equal(t, tt.want, brandOf(tt.number))
		})
	}
}

func TestExpiryValidate(t *testing.T) {
	const year, month = 2026, 6
	tests := []struct {
		name    string
		exp     expiry
		wantErr string
	}{
		{"not given", expiry{}, ""},
		{"this month is still valid", expiry{Month: 6, Year: 2026}, ""},
		{"future", expiry{Month: 1, Year: 2030}, ""},
		{"last month", expiry{Month: 5, Year: 2026}, "card expired at the end of 05/2026"},
		{"last year", expiry{Month: 12, Year: 2025}, "card expired at the end of 12/2025"},
		{"month zero with year", expiry{Year: 2030}, "expMonth must be 1 to 12, got 0"},
		{"month 13", expiry{Month: 13, Year: 2030}, "expMonth must be 1 to 12, got 13"},
		{"two-digit year", expiry{Month: 1, Year: 30}, "expYear must be a four-digit year, got 30"},
		{"month without year", expiry{Month: 1}, "expYear must be a four-digit year, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.exp.validate(year, month)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}
