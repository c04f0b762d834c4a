package order

import (
	"errors"
	"net/mail"
	"strings"
)

// ValidateEmail accepts exactly one plain address ("dana@example.com"). It refuses display
// names, lists and anything with ';', ',', CR or LF: the SMTP binding splits recipients on
// ';', so a lenient check would let anyone mail anyone through us.
func ValidateEmail(s string) error {
	if s == "" || len(s) > 254 {
		return errors.New("email must be one address of at most 254 characters")
	}
	if strings.ContainsAny(s, ";,\r\n<> \t\"") {
		return errors.New("email must be exactly one plain address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return errors.New("email is not a valid address")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return errors.New("email needs a domain like example.com")
	}
	return nil
}
