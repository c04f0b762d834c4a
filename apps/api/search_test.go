package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type summary struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Style      string `json:"style"`
	Vegetarian bool   `json:"vegetarian"`
	Delivery   bool   `json:"delivery"`
	OpenNow    bool   `json:"openNow"`
}

func names(t *testing.T, body []byte) []string {
	t.Helper()
	var got []summary
	require.NoError(t, json.Unmarshal(body, &got), "a plain JSON array, as the seed answered")
	out := make([]string, 0, len(got))
	for _, s := range got {
		require.NotEmpty(t, s.ID)
		require.NotEmpty(t, s.Style)
		out = append(out, s.Name)
	}
	return out
}

func TestSearch(t *testing.T) {
	all := []string{"China city", "Peking Duck House", "Pizza Roma"}
	tests := []struct {
		name      string
		query     string
		want      []string
		wantTotal string
	}{
		{"everything", "", all, "3"},
		{"seed query: Chinese and vegetarian", "restaurant_name=&restaurant_style=Chinese&vegetarian=true", []string{"China city", "Peking Duck House"}, "2"},
		{"vegetarian=false does not filter", "vegetarian=false", all, "3"},
		{"delivery", "delivery=true", []string{"China city", "Pizza Roma"}, "2"},
		{"style in any case", "restaurant_style=italian", []string{"Pizza Roma"}, "1"},
		{"name substring", "restaurant_name=duck", []string{"Peking Duck House"}, "1"},
		{"no match is an empty array", "restaurant_name=sushi", []string{}, "0"},
		{"paged: total counts every match", "limit=1&offset=1", []string{"Peking Duck House"}, "3"},
		{"offset past the end", "offset=10", []string{}, "3"},
		{"open now", "open_now=true", []string{"China city"}, "1"},
		{"by rating", "sort=rating", []string{"Peking Duck House", "China city", "Pizza Roma"}, "3"},
		{"unknown parameters are ignored", "_=123456", all, "3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			rec := hs.do("GET", "/search?"+tc.query, nil, nil)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, tc.want, names(t, rec.Body.Bytes()))
			assert.Equal(t, tc.wantTotal, rec.Header().Get("X-Total-Count"))
			assert.Equal(t, hs.catalog.ix.Version(), rec.Header().Get("X-Catalog-Version"))
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		})
	}
}

func TestSearchRejectsBadParameters(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		wantCode string
	}{
		{"unknown sort", "sort=price", "invalid_sort"},
		{"limit 0", "limit=0", "invalid_limit"},
		{"limit over 100", "limit=101", "invalid_limit"},
		{"limit not a number", "limit=ten", "invalid_limit"},
		{"negative offset", "offset=-1", "invalid_offset"},
		{"offset not a number", "offset=1e3", "invalid_offset"},
		{"vegetarian not a boolean", "vegetarian=maybe", "invalid_boolean"},
		{"delivery not a boolean", "delivery=2", "invalid_boolean"},
		{"open_now not a boolean", "open_now=always", "invalid_boolean"},
		{"over-long name", "restaurant_name=" + strings.Repeat("a", 201), "query_too_long"},
		{"over-long text", "q=" + strings.Repeat("ש", 201), "query_too_long"},
		{"control characters", "restaurant_name=" + url.QueryEscape("a\x00b"), "invalid_text"},
		{"not UTF-8", "restaurant_style=%ff%fe", "invalid_text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			rec := hs.do("GET", "/search?"+tc.query, nil, nil)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			code, msg := errorBody(t, rec)
			assert.Equal(t, tc.wantCode, code)
			assert.Less(t, len(msg), 200, "the message does not echo a large input")
		})
	}
}

func TestCatalogNotLoadedYet(t *testing.T) {
	for _, tc := range []struct{ method, path string }{
		{"GET", "/search"}, {"GET", "/styles"}, {"GET", "/restaurants/china-city"}, {"POST", "/orders"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			hs := newHarness(t)
			hs.catalog.ix = nil
			var body any
			if tc.method == "POST" {
				body = goodOrder()
			}
			rec := hs.do(tc.method, tc.path, body, nil)
			assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
			code, _ := errorBody(t, rec)
			assert.Equal(t, "catalog_unavailable", code)
			assert.Empty(t, hs.pub.published())
		})
	}
}

func TestStyles(t *testing.T) {
	hs := newHarness(t)
	rec := hs.do("GET", "/styles", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	var styles []string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &styles))
	assert.Equal(t, []string{"Chinese", "Italian"}, styles)
}

func TestRestaurant(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		want     int
		wantName string
		wantOpen bool
		wantMenu int
	}{
		{"known, open around the clock", "china-city", 200, "China city", true, 2},
		{"known, no hours: never open", "peking-duck-house", 200, "Peking Duck House", false, 1},
		{"unknown id", "sushi-bar", 404, "", false, 0},
		{"a name is not an id", "China%20city", 404, "", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			rec := hs.do("GET", "/restaurants/"+tc.id, nil, nil)
			require.Equal(t, tc.want, rec.Code)
			if tc.want == 404 {
				code, _ := errorBody(t, rec)
				assert.Equal(t, "not_found", code)
				return
			}
			var got struct {
				Name    string `json:"name"`
				OpenNow bool   `json:"openNow"`
				Menu    []struct {
					ID    string `json:"id"`
					Price int64  `json:"price"`
				} `json:"menu"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, tc.wantName, got.Name)
			assert.Equal(t, tc.wantOpen, got.OpenNow)
			assert.Len(t, got.Menu, tc.wantMenu)
		})
	}
}
