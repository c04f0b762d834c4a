package catalog

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxListedProblems caps the error line: enough to fix a file in one pass, short
// enough to stay one readable log line when a whole file is wrong.
const maxListedProblems = 10

// ParseError is why a catalog was rejected: every problem found, each prefixed with
// the path of the offending value (restaurants[4].menu[2].price).
type ParseError struct {
	Problems []string
}

// Error is one line: "catalog rejected: 3 problems: a; b; c", capped with a count
// of the problems left out.
func (e *ParseError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	if n == 1 {
		b.WriteString("catalog rejected: ")
	} else {
		fmt.Fprintf(&b, "catalog rejected: %d problems: ", n)
	}
	for i, p := range e.Problems {
		if i == maxListedProblems {
			fmt.Fprintf(&b, "; and %d more", n-maxListedProblems)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p)
	}
	return b.String()
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// problems collects what is wrong with a catalog, stopping once there are far more
// than anyone will read.
type problems struct{ list []string }

func (p *problems) addf(format string, args ...any) {
	if len(p.list) < 1000 {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

// normalize validates the catalog and fills in defaults. With intern set (a freshly
// decoded file) it makes repeated strings share memory; a catalog built in code may
// share slices between restaurants, so it is only read.
func (c *Catalog) normalize(intern bool) error {
	var p problems
	if len(c.Restaurants) == 0 {
		p.addf("restaurants is empty")
	}
	if len(c.Restaurants) > MaxRestaurants {
		return &ParseError{Problems: []string{fmt.Sprintf("%d restaurants, more than the %d allowed", len(c.Restaurants), MaxRestaurants)}}
	}
	in := make(interner)
	shared := sharer{hours: map[string]Hours{}, tags: map[string][]string{}}
	ids := make(map[string]int, len(c.Restaurants))
	names := make(map[string]int, len(c.Restaurants))
	for i := range c.Restaurants {
		r := &c.Restaurants[i]
		at := fmt.Sprintf("restaurants[%d]", i)
		checkSlug(&p, at+".id", r.ID)
		if j, dup := ids[r.ID]; dup && r.ID != "" {
			p.addf("%s.id %q duplicates restaurants[%d]", at, r.ID, j)
		} else {
			ids[r.ID] = i
		}
		checkText(&p, at+".name", r.Name, maxNameLen, true)
		// Orders may name a restaurant instead of giving its id, so names must be
		// unique regardless of case.
		if key := lookupKey(r.Name); key != "" {
			if j, dup := names[key]; dup {
				p.addf("%s.name %q duplicates restaurants[%d]", at, r.Name, j)
			} else {
				names[key] = i
			}
		}
		checkText(&p, at+".style", r.Style, maxNameLen, true)
		checkText(&p, at+".area", r.Area, maxTextLen, false)
		checkText(&p, at+".address", r.Address, maxTextLen, false)
		if r.Timezone == "" {
			r.Timezone = DefaultTimezone
		}
		if _, err := loadLocation(r.Timezone); err != nil {
			p.addf("%s.timezone %q is not an IANA time zone", at, r.Timezone)
		}
		checkHours(&p, at+".hours", &r.Hours)
		if math.IsNaN(r.Rating) || r.Rating < 0 || r.Rating > 5 {
			p.addf("%s.rating %v is outside 0..5", at, r.Rating)
		}
		if r.DeliveryMinutes < 0 || r.DeliveryMinutes > maxDeliveryMins {
			p.addf("%s.deliveryMinutes %d is outside 0..%d", at, r.DeliveryMinutes, maxDeliveryMins)
		}
		if r.Currency == "" {
			r.Currency = DefaultCurrency
		}
		if !isCurrencyCode(r.Currency) {
			p.addf("%s.currency %q is not an ISO 4217 code like ILS", at, r.Currency)
		}
		checkMenu(&p, at+".menu", r.Menu)

		if !intern {
			continue
		}
		r.Style, r.Area, r.Timezone, r.Currency = in.of(r.Style), in.of(r.Area), in.of(r.Timezone), in.of(r.Currency)
		r.Hours = shared.ofHours(r.Hours)
		for k := range r.Menu {
			m := &r.Menu[k]
			m.ID, m.Name, m.Description = in.of(m.ID), in.of(m.Name), in.of(m.Description)
			m.Tags = shared.ofTags(m.Tags, in)
		}
	}
	if len(p.list) > 0 {
		return &ParseError{Problems: p.list}
	}
	return nil
}

// interner makes equal strings share one copy; a generated 100,000-restaurant
// catalog repeats the same menu texts and tags over and over.
type interner map[string]string

func (in interner) of(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

// sharer lets restaurants with the same opening hours, and menu items with the
// same tags, share one read-only copy: catalogs repeat both constantly.
type sharer struct {
	hours map[string]Hours
	tags  map[string][]string
	key   []byte
}

func (s *sharer) ofHours(h Hours) Hours {
	s.key = s.key[:0]
	for _, ivs := range h.days() {
		for _, iv := range ivs {
			s.key = append(s.key, byte(iv.Open>>8), byte(iv.Open), byte(iv.Close>>8), byte(iv.Close))
		}
		s.key = append(s.key, '|')
	}
	if v, ok := s.hours[string(s.key)]; ok {
		return v
	}
	s.hours[string(s.key)] = h
	return h
}

func (s *sharer) ofTags(tags []string, in interner) []string {
	if len(tags) == 0 {
		return tags
	}
	key := strings.Join(tags, "\x00")
	if v, ok := s.tags[key]; ok {
		return v
	}
	for t := range tags {
		tags[t] = in.of(tags[t])
	}
	s.tags[key] = tags
	return tags
}

// lookupKey is how orders match a restaurant name: case-insensitive, but accents
// count, so "Cafe" and "Café" stay distinct names.
func lookupKey(name string) string {
	return strings.ToLower(strings.TrimSpace(name))
}

func checkSlug(p *problems, at, s string) {
	switch {
	case s == "":
		p.addf("%s missing", at)
	case len(s) > maxIDLen:
		p.addf("%s is longer than %d characters", at, maxIDLen)
	case !isSlug(s):
		p.addf("%s %q must be lower-case letters, digits and single dashes", at, s)
	}
}

// isSlug accepts ids like "china-city" and "m1": safe in URLs, logs and keys.
func isSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
		case ch == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

func checkText(p *problems, at, s string, max int, required bool) {
	switch {
	case strings.TrimSpace(s) == "":
		if required {
			p.addf("%s missing", at)
		} else if s != "" {
			p.addf("%s is blank", at)
		}
	case !utf8.ValidString(s):
		p.addf("%s is not valid UTF-8", at)
	case utf8.RuneCountInString(s) > max:
		p.addf("%s is longer than %d characters", at, max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		p.addf("%s contains control characters", at)
	}
}

func checkHours(p *problems, at string, h *Hours) {
	for d, ivs := range h.days() {
		if len(ivs) > MaxIntervalsDay {
			p.addf("%s.%s has %d intervals, more than %d", at, dayNames[d], len(ivs), MaxIntervalsDay)
		}
		for k, iv := range ivs {
			switch {
			case iv.Open == badMinute || iv.Close == badMinute:
				p.addf("%s.%s[%d] times must be HH:MM (00:00 to 24:00)", at, dayNames[d], k)
			case iv.Open == minutesPerDay:
				p.addf("%s.%s[%d] cannot open at 24:00", at, dayNames[d], k)
			case iv.Open == iv.Close:
				p.addf("%s.%s[%d] opens and closes at %s: write [\"00:00\",\"24:00\"] for all day", at, dayNames[d], k, formatClock(iv.Open))
			}
		}
	}
}

func checkMenu(p *problems, at string, menu []MenuItem) {
	if len(menu) > MaxMenuItems {
		p.addf("%s has %d items, more than %d", at, len(menu), MaxMenuItems)
		return
	}
	ids := make(map[string]int, len(menu))
	for k, m := range menu {
		mat := fmt.Sprintf("%s[%d]", at, k)
		checkSlug(p, mat+".id", m.ID)
		if j, dup := ids[m.ID]; dup && m.ID != "" {
			p.addf("%s.id %q duplicates %s[%d]", mat, m.ID, at, j)
		} else {
			ids[m.ID] = k
		}
		checkText(p, mat+".name", m.Name, maxNameLen, true)
		checkText(p, mat+".description", m.Description, maxDescriptionLen, false)
		switch {
		case m.Price < 0:
			p.addf("%s.price %d is negative", mat, m.Price)
		case m.Price > maxPrice:
			p.addf("%s.price %d is more than %d", mat, m.Price, maxPrice)
		}
		if len(m.Tags) > MaxTags {
			p.addf("%s.tags has %d tags, more than %d", mat, len(m.Tags), MaxTags)
			continue
		}
		for t, tag := range m.Tags {
			if tag == "" || len(tag) > maxTagLen || !isSlug(tag) {
				p.addf("%s.tags[%d] %q must be a short lower-case word like gluten-free", mat, t, tag)
			}
		}
	}
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
