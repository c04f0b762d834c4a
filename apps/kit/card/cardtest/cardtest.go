// Package cardtest helps tests build and find card numbers with a Luhn check of its own,
// independent of the card package it checks.
package cardtest

import "strings"

// WithCheckDigit appends the Luhn check digit to prefix, so tests build valid card
// numbers of any length instead of trusting hard-coded ones.
func WithCheckDigit(prefix string) string {
	for d := byte('0'); d <= '9'; d++ {
		if luhn(prefix + string(d)) {
			return prefix + string(d)
		}
	}
	panic("unreachable")
}

// luhn is the tests' own Luhn check, independent of the one under test (card.Luhn).
func luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// Runs returns every window of 13 to 19 digits in s (digits adjacent or separated by
// spaces and dashes, one or several, as card numbers are written) that passes the Luhn check.
func Runs(s string) []string {
	var found []string
	var run []byte
	flush := func() {
		for n := 13; n <= 19; n++ {
			for i := 0; i+n <= len(run); i++ {
				if luhn(string(run[i : i+n])) {
					found = append(found, string(run[i:i+n]))
				}
			}
		}
		run = run[:0]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			run = append(run, c)
		case (c == ' ' || c == '-') && len(run) > 0 && nextIsDigit(s[i+1:]):
		default:
			flush()
		}
	}
	flush()
	return found
}

// nextIsDigit reports whether the first byte of s that is not a space or dash is a digit.
func nextIsDigit(s string) bool {
	t := strings.TrimLeft(s, " -")
	return t != "" && t[0] >= '0' && t[0] <= '9'
}
