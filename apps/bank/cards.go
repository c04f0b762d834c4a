package main

import (
	"errors"
	"fmt"
	"strings"
)

// outcome is what a tokenized card does when it is charged. It is decided once, at
// tokenization, because the full number is thrown away right after: the bank keeps
// only brand, last four digits, expiry and this outcome.
type outcome string

const (
	outcomeApprove           outcome = "approve"
	outcomeCardDeclined      outcome = "card_declined"
	outcomeInsufficientFunds outcome = "insufficient_funds"
	outcomeStolenCard        outcome = "stolen_card"
	outcomeExpiredCard       outcome = "expired_card"
	outcomeProcessingError   outcome = "processing_error"
	outcomeSlow              outcome = "slow"
)

// declined reports whether charges on a card with this outcome are refused; the
// outcome doubles as the decline code the client sees.
func (o outcome) declined() bool {
	switch o {
	case outcomeCardDeclined, outcomeInsufficientFunds, outcomeStolenCard, outcomeExpiredCard:
		return true
	}
	return false
}

// testCards is the table documented in README.md. Every other Luhn-valid number is
// approved, so any real-looking number works in a demo.
var testCards = map[string]outcome{
	"4242424242424242": outcomeApprove,
	"5555555555554444": outcomeApprove,
	"378282246310005":  outcomeApprove,
	"4000000000000002": outcomeCardDeclined,
	"4000000000009995": outcomeInsufficientFunds,
	"4000000000009979": outcomeStolenCard,
	"4000000000000069": outcomeExpiredCard,
	"4000000000000119": outcomeProcessingError,
	"4000000000003063": outcomeSlow,
}

// Card number validation errors; each is answered as 400 invalid_number with its text.
var (
	errNumberNotDigits = errors.New("number must contain only digits 0-9")
	errNumberLength    = errors.New("number must have 13 to 19 digits")
	errNumberLuhn      = errors.New("number fails the Luhn check")
)

// validateNumber checks a primary account number without echoing it back: error
// messages must never contain the number itself.
func validateNumber(number string) error {
	if number == "" || strings.IndexFunc(number, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return errNumberNotDigits
	}
	if len(number) < 13 || len(number) > 19 {
		return errNumberLength
	}
	if !luhnValid(number) {
		return errNumberLuhn
	}
	return nil
}

// luhnValid implements the mod-10 check digit used by every card scheme; the caller
// has already made sure the string holds only ASCII digits.
func luhnValid(number string) bool {
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// brandOf maps the issuer identification number prefix to a scheme name.
func brandOf(number string) string {
	prefix := func(n int) int {
		v := 0
		for i := 0; i < n && i < len(number); i++ {
			v = v*10 + int(number[i]-'0')
		}
		return v
	}
	switch {
	case number[0] == '4':
		return "visa"
	case prefix(2) >= 51 && prefix(2) <= 55, prefix(4) >= 2221 && prefix(4) <= 2720:
		return "mastercard"
	case prefix(2) == 34 || prefix(2) == 37:
		return "amex"
	case prefix(4) == 6011, prefix(2) == 65, prefix(3) >= 644 && prefix(3) <= 649,
		prefix(6) >= 622126 && prefix(6) <= 622925:
		return "discover"
	}
	return "unknown"
}

// outcomeOf says how a validated number behaves when charged.
func outcomeOf(number string) outcome {
	if o, ok := testCards[number]; ok {
		return o
	}
	return outcomeApprove
}

// expiry is a card's month and year; a card is valid through the last day of that month.
type expiry struct {
	Month int `json:"expMonth,omitempty"`
	Year  int `json:"expYear,omitempty"`
}

// set reports whether the client gave an expiry at all (it is optional).
func (e expiry) set() bool { return e.Month != 0 || e.Year != 0 }

// validate rejects half-given, impossible or already past expiry dates.
func (e expiry) validate(nowYear, nowMonth int) error {
	if !e.set() {
		return nil
	}
	if e.Month < 1 || e.Month > 12 {
		return fmt.Errorf("expMonth must be 1 to 12, got %d", e.Month)
	}
	if e.Year < 2000 || e.Year > 2100 {
		return fmt.Errorf("expYear must be a four-digit year, got %d", e.Year)
	}
	if e.expiredAt(nowYear, nowMonth) {
		return fmt.Errorf("card expired at the end of %02d/%d", e.Month, e.Year)
	}
	return nil
}

// expiredAt reports whether the card's last valid month lies before the given month.
func (e expiry) expiredAt(year, month int) bool {
	if !e.set() {
		return false
	}
	return e.Year < year || (e.Year == year && e.Month < month)
}
