package card

// Redact masks every run of 13 to 19 digits (optionally split by spaces or dashes, one or
// several, as card numbers are written and mistyped: "4242 4242", "4242  4242", "4242 - 4242")
// that passes the Luhn check, keeping only the last four digits: "4242 4242 4242 4242"
// becomes "**** **** **** 4242". It is the last line of defence: code never puts a card
// number in a log line on purpose.
func Redact(s string) string {
	if !hasLongDigitRun(s) {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b); {
		if !isDigit(b[i]) || (i > 0 && isDigit(b[i-1])) {
			i++
			continue
		}
		// Collect a run of digits with separators (any number of spaces and dashes) between
		// them; separators after the last digit are not part of the run.
		var pos []int
		j := i
		for j < len(b) {
			if isDigit(b[j]) {
				pos = append(pos, j)
				j++
				continue
			}
			k := j
			for k < len(b) && isSeparator(b[k]) {
				k++
			}
			if k > j && k < len(b) && isDigit(b[k]) {
				j = k
				continue
			}
			break
		}
		maskRun(b, pos)
		i = j
	}
	return string(b)
}

// maskRun masks the longest card-like window of the digit positions pos, then looks again
// in the digits left on either side of it: one run can hold several card numbers
// ("cards 4242… 4111…" reads as one run, since spaces join groups).
func maskRun(b []byte, pos []int) {
	for n := min(len(pos), 19); n >= 13; n-- {
		for start := 0; start+n <= len(pos); start++ {
			w := pos[start : start+n]
			if luhnAt(b, w) {
				for _, p := range w[:n-4] {
					b[p] = '*'
				}
				maskRun(b, pos[:start])
				maskRun(b, pos[start+n-4:])
				return
			}
		}
	}
}

func luhnAt(b []byte, pos []int) bool {
	return luhnOf(len(pos), func(k int) byte { return b[pos[k]] })
}

func hasLongDigitRun(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch {
		case isDigit(s[i]):
			n++
			if n >= 13 {
				return true
			}
		case isSeparator(s[i]):
		default:
			n = 0
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSeparator is what may stand between the digit groups of a written card number.
func isSeparator(c byte) bool { return c == ' ' || c == '-' }
