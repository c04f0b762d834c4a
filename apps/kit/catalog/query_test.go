package catalog

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseQuery(t *testing.T) {
	defaults := Query{Sort: SortName, Limit: DefaultLimit}
	with := func(f func(q *Query)) Query { q := defaults; f(&q); return q }
	tests := []struct {
		name string
		raw  string
		want Query
	}{
		{"nothing", "", defaults},
		{"seed form, untouched", "restaurant_name=&restaurant_style=&vegetarian=&delivery=", defaults},
		{"seed form, all set", "restaurant_name=China&restaurant_style=Chinese&vegetarian=true&delivery=false",
			with(func(q *Query) { q.Name, q.Style, q.Vegetarian = "China", "Chinese", true })},
		{"text is trimmed", "q=%20%20pad%20thai%20", with(func(q *Query) { q.Text = "pad thai" })},
		{"booleans in other spellings", "vegetarian=1&delivery=ON&open_now=Yes", with(func(q *Query) { q.Vegetarian, q.Delivery, q.OpenNow = true, true, true })},
		{"false booleans", "vegetarian=0&delivery=off&open_now=FALSE", defaults},
		{"sort rating", "sort=rating", with(func(q *Query) { q.Sort = SortRating })},
		{"sort delivery, any case", "sort=Delivery", with(func(q *Query) { q.Sort = SortDelivery })},
		{"sort name", "sort=name", defaults},
		{"limit 1", "limit=1", with(func(q *Query) { q.Limit = 1 })},
		{"limit 100", "limit=100", with(func(q *Query) { q.Limit = 100 })},
		{"offset 0", "offset=0", defaults},
		{"large offset", "offset=1000000", with(func(q *Query) { q.Offset = 1000000 })},
		{"first of repeated values", "limit=5&limit=7", with(func(q *Query) { q.Limit = 5 })},
		{"unknown parameters are ignored", "_=12345&page=2", defaults},
		{"200 characters is allowed", "q=" + strings.Repeat("é", 200), with(func(q *Query) { q.Text = strings.Repeat("é", 200) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			require.NoError(t, err)
			got, err := ParseQuery(v)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		wantCode string
		wantMsg  string
	}{
		{"unknown sort", "sort=price", CodeInvalidSort, `sort must be name, rating or delivery, not "price"`},
		{"limit 0", "limit=0", CodeInvalidLimit, `limit must be a whole number from 1 to 100, not "0"`},
		{"limit 101", "limit=101", CodeInvalidLimit, `not "101"`},
		{"negative limit", "limit=-1", CodeInvalidLimit, `not "-1"`},
		{"limit not a number", "limit=ten", CodeInvalidLimit, `not "ten"`},
		{"limit with a fraction", "limit=1.5", CodeInvalidLimit, `not "1.5"`},
		{"negative offset", "offset=-1", CodeInvalidOffset, `offset must be a whole number 0 or more, not "-1"`},
		{"offset not a number", "offset=abc", CodeInvalidOffset, `not "abc"`},
		{"offset overflows", "offset=99999999999999999999999", CodeInvalidOffset, "offset must be"},
		{"name too long", "restaurant_name=" + strings.Repeat("a", 201), CodeQueryTooLong, "restaurant_name is longer than 200 characters"},
		{"style too long", "restaurant_style=" + strings.Repeat("a", 201), CodeQueryTooLong, "restaurant_style is longer than 200 characters"},
		{"text too long", "q=" + strings.Repeat("é", 201), CodeQueryTooLong, "q is longer than 200 characters"},
		{"bad vegetarian", "vegetarian=maybe", CodeInvalidBoolean, `vegetarian must be true or false, not "maybe"`},
		{"bad delivery", "delivery=2", CodeInvalidBoolean, `delivery must be true or false`},
		{"bad open_now", "open_now=now", CodeInvalidBoolean, `open_now must be true or false`},
		{"invalid UTF-8", "q=%ff%fe", CodeInvalidText, "q is not valid UTF-8"},
		{"control characters", "restaurant_name=a%00b", CodeInvalidText, "restaurant_name contains control characters"},
		{"echoed input is truncated", "sort=" + strings.Repeat("x", 500), CodeInvalidSort, strings.Repeat("x", 32) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			require.NoError(t, err)
			_, err = ParseQuery(v)
			require.Error(t, err)
			var qe *QueryError
			require.True(t, errors.As(err, &qe), "want a *QueryError, got %T", err)
			assert.Equal(t, tt.wantCode, qe.Code)
			assert.Contains(t, qe.Message, tt.wantMsg)
			assert.Equal(t, qe.Message, err.Error())
			assert.Less(t, len(qe.Message), 200, "messages stay short whatever the input")
		})
	}
}
