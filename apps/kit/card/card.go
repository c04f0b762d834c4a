// Package card holds the rules of payment card numbers, in one place for everything that
// checks or hides them: the API's checks of what a customer typed (Normalize, ParseExpiry,
// HoldsNumber) and the redaction of logs and error messages (Redact) use the same Luhn.
// The system keeps no card number: past the API's exchange with the bank there is only a
// token, the brand and the last four digits.
package card

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Luhn reports whether digits (ASCII 0-9 only) pass the mod-10 check digit that every
// card scheme uses.
func Luhn(digits string) bool {
	return luhnOf(len(digits), func(i int) byte { return digits[i] })
}

// luhnOf runs the check over n digits read through at, so redaction can check a window of
// a log line in place.
func luhnOf(n int, at func(int) byte) bool {
	sum := 0
	double := false
	for k := n - 1; k >= 0; k-- {
		d := int(at(k) - '0')
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

// Normalize accepts digits with optional spaces or dashes and checks the length (13 to 19
// digits) and the check digit. It returns the bare digits.
func Normalize(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", errors.New("a card number has only digits")
		}
	}
	n := b.String()
	if len(n) < 13 || len(n) > 19 {
		return "", errors.New("a card number has 13 to 19 digits")
	}
	if !Luhn(n) {
		return "", errors.New("this card number is not valid (check digit); please check it")
	}
	return n, nil
}

// ParseExpiry reads "MM/YY" or "MM/YYYY" and refuses an expired card, or one more than 25
// years out.
func ParseExpiry(s string, now time.Time) (month, year int, err error) {
	m, y, ok := strings.Cut(strings.TrimSpace(s), "/")
	month, merr := strconv.Atoi(strings.TrimSpace(m))
	year, yerr := strconv.Atoi(strings.TrimSpace(y))
	if !ok || merr != nil || yerr != nil || month < 1 || month > 12 || year < 0 {
		return 0, 0, errors.New("expiry must look like MM/YY")
	}
	if year < 100 {
		year += 2000
	}
	if year < now.Year() || (year == now.Year() && month < int(now.Month())) || year > now.Year()+25 {
		return 0, 0, errors.New("this card has expired or the expiry is not plausible")
	}
	return month, year, nil
}

// HoldsNumber reports whether s holds a card-like number: 13 to 19 digits in a row that
// pass the Luhn check, written together or split by any characters that are neither
// letters nor digits ("4111111111111111@…", "4111.1111.1111.1111@…", "4111_1111+1111-1111",
// even across the "@"). A letter ends a run. Digits of other scripts (full-width "４",
// Arabic-Indic "٤") count as the digit they are. It is stricter than Redact, which keeps
// to how card numbers are written in logs: it guards a field that must never carry one (an
// email address would carry it into the order event, the store and the email).
func HoldsNumber(s string) bool {
	var run []byte
	found := func() bool {
		for n := 13; n <= min(len(run), 19); n++ {
			for i := 0; i+n <= len(run); i++ {
				if Luhn(string(run[i : i+n])) {
					return true
				}
			}
		}
		run = run[:0]
		return false
	}
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			run = append(run, '0'+digitValue(r))
		case unicode.IsLetter(r):
			if found() {
				return true
			}
		}
	}
	return found()
}

// digitValue is the value of a decimal digit of any script. Unicode encodes every script's
// digits as contiguous runs 0…9, and the Nd table's ranges start at a zero.
func digitValue(r rune) byte {
	if r <= '9' {
		return byte(r - '0')
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10)
		}
	}
	return 0
}
