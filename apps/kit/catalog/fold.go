package catalog

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// fold maps text to the form search compares: case-folded and without diacritics,
// so "cafe", "CAFE" and "Café" are the same word. Catalog strings are folded once
// when the index is built; a query is folded once per request.
func fold(s string) string {
	if isPlainASCII(s) {
		return strings.ToLower(s)
	}
	// Transformers keep state, so each call builds its own chain; this runs once per
	// query and once per catalog string, never per candidate.
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), cases.Fold(), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// words splits folded text into the words free-text search matches on: runs of
// letters and digits. "gluten-free" is two words, as a user typing it expects.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}
