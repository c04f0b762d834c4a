package catalog

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search parameters, as the seed's frontend and the API contract name them.
const (
	ParamName       = "restaurant_name"
	ParamStyle      = "restaurant_style"
	ParamVegetarian = "vegetarian"
	ParamDelivery   = "delivery"
	ParamText       = "q"
	ParamOpenNow    = "open_now"
	ParamSort       = "sort"
	ParamLimit      = "limit"
	ParamOffset     = "offset"
)

// Paging and input limits. The seed returned every match, so the default page is
// the largest one: a seed-era client still sees all 15 restaurants.
const (
	DefaultLimit = 100
	MaxLimit     = 100
	MaxQueryLen  = 200
)

// SortKey orders search results; ties always fall back to name, then id.
type SortKey string

// The sort orders a client can ask for.
const (
	SortName     SortKey = "name"     // by name, A to Z (the default)
	SortRating   SortKey = "rating"   // best rated first
	SortDelivery SortKey = "delivery" // fastest delivery first; places that do not deliver last
)

type sortIndex int

const (
	sortByName sortIndex = iota
	sortByRating
	sortByDelivery
	sortKinds
)

func sortKind(k SortKey) sortIndex {
	switch k {
	case SortRating:
		return sortByRating
	case SortDelivery:
		return sortByDelivery
	default:
		return sortByName
	}
}

// Query is one search. The zero value matches every restaurant, sorted by name,
// first page. Vegetarian, Delivery and OpenNow only ever narrow the results: false
// means "no filter", as in the seed.
type Query struct {
	Name       string // substring of the restaurant name
	Style      string // exact style, any case; empty for all
	Vegetarian bool
	Delivery   bool
	Text       string // free text: every word must start a word of the name, style, area, a menu item or a tag
	OpenNow    bool
	Sort       SortKey // empty means SortName
	Limit      int     // 1..MaxLimit; 0 means DefaultLimit
	Offset     int
}

// page clamps paging so a hand-built Query cannot misbehave.
func (q Query) page() (limit, offset int) {
	limit = q.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	return limit, max(q.Offset, 0)
}

// QueryError is a search request the API must answer with 400; Code is stable for
// clients, Message says what to change.
type QueryError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the message a client sees.
func (e *QueryError) Error() string { return e.Message }

// Codes of QueryError.
const (
	CodeInvalidSort    = "invalid_sort"
	CodeInvalidLimit   = "invalid_limit"
	CodeInvalidOffset  = "invalid_offset"
	CodeQueryTooLong   = "query_too_long"
	CodeInvalidBoolean = "invalid_boolean"
	CodeInvalidText    = "invalid_text"
)

// ParseQuery reads search parameters from a URL query. Unknown parameters are
// ignored (browsers add cache busters); an empty value counts as absent, which is
// what the seed's form sends for an untouched field.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	var err error
	for _, t := range []struct {
		param string
		dst   *string
	}{{ParamName, &q.Name}, {ParamStyle, &q.Style}, {ParamText, &q.Text}} {
		s := v.Get(t.param)
		switch {
		case !utf8.ValidString(s):
			return Query{}, &QueryError{CodeInvalidText, t.param + " is not valid UTF-8"}
		case utf8.RuneCountInString(s) > MaxQueryLen:
			return Query{}, &QueryError{CodeQueryTooLong, fmt.Sprintf("%s is longer than %d characters", t.param, MaxQueryLen)}
		case strings.IndexFunc(s, unicode.IsControl) >= 0:
			return Query{}, &QueryError{CodeInvalidText, t.param + " contains control characters"}
		}
		*t.dst = strings.TrimSpace(s)
	}
	for _, b := range []struct {
		param string
		dst   *bool
	}{{ParamVegetarian, &q.Vegetarian}, {ParamDelivery, &q.Delivery}, {ParamOpenNow, &q.OpenNow}} {
		if *b.dst, err = parseBool(b.param, v.Get(b.param)); err != nil {
			return Query{}, err
		}
	}
	switch s := SortKey(strings.ToLower(strings.TrimSpace(v.Get(ParamSort)))); s {
	case "", SortName:
		q.Sort = SortName
	case SortRating, SortDelivery:
		q.Sort = s
	default:
		return Query{}, &QueryError{CodeInvalidSort, fmt.Sprintf("sort must be name, rating or delivery, not %q", truncate(string(s)))}
	}
	q.Limit = DefaultLimit
	if s := strings.TrimSpace(v.Get(ParamLimit)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Query{}, &QueryError{CodeInvalidLimit, fmt.Sprintf("limit must be a whole number from 1 to %d, not %q", MaxLimit, truncate(s))}
		}
		q.Limit = n
	}
	if s := strings.TrimSpace(v.Get(ParamOffset)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Query{}, &QueryError{CodeInvalidOffset, fmt.Sprintf("offset must be a whole number 0 or more, not %q", truncate(s))}
		}
		q.Offset = n
	}
	return q, nil
}

func parseBool(param, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "off", "no":
		return false, nil
	case "true", "1", "on", "yes":
		return true, nil
	}
	return false, &QueryError{CodeInvalidBoolean, fmt.Sprintf("%s must be true or false, not %q", param, truncate(s))}
}

// truncate keeps echoed input short, so an error message cannot be used to make
// the API reflect a large payload.
func truncate(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
