package catalog

import (
	"net/url"
	"os"
	"testing"
	"time"
)

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and whatever it
// accepts must index, search and round-trip to the same version.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(shippedCatalog); err == nil {
		f.Add(data)
	}
	f.Add([]byte(minimal("")))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("a rejected catalog must not be returned")
			}
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("marshal an accepted catalog: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse rejects its own canonical form: %v", err)
		}
		if again.Version != c.Version {
			t.Fatalf("version changed on round trip: %s != %s", c.Version, again.Version)
		}
		ix := NewIndex(c)
		got, total := ix.Search(Query{OpenNow: true, Text: "a"}, time.Now())
		if len(got) > total || total > ix.Len() {
			t.Fatalf("%d results of %d, %d restaurants", len(got), total, ix.Len())
		}
		all, total := ix.Search(Query{}, time.Now())
		if total != len(c.Restaurants) || len(all) != min(total, DefaultLimit) {
			t.Fatalf("empty query found %d of %d", total, len(c.Restaurants))
		}
	})
}

// FuzzParseQuery feeds ParseQuery arbitrary query strings: it must never panic,
// and whatever it accepts must search without breaking the paging contract.
func FuzzParseQuery(f *testing.F) {
	c := Generate(300, 1)
	ix := NewIndex(c)
	f.Add("restaurant_style=Chinese&vegetarian=true")
	f.Add("q=caf%C3%A9&sort=rating&limit=5&offset=3&open_now=1")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			if _, ok := err.(*QueryError); !ok {
				t.Fatalf("want a *QueryError, got %T", err)
			}
			return
		}
		got, total := ix.Search(q, time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC))
		if len(got) > q.Limit || len(got) > total || total > ix.Len() {
			t.Fatalf("%d results, limit %d, total %d", len(got), q.Limit, total)
		}
		if want := min(q.Limit, max(total-q.Offset, 0)); len(got) != want {
			t.Fatalf("page has %d results, want %d (total %d, offset %d)", len(got), want, total, q.Offset)
		}
	})
}
