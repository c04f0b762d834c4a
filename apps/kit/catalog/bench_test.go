package catalog

import (
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"
)

// benchCatalogs are generated once per test binary: building 100,000 restaurants
// takes seconds, and every benchmark reads the same ones.
var benchCatalogs sync.Map // size -> *benchCatalog

type benchCatalog struct {
	once sync.Once
	data []byte
	ix   *Index
}

func benchIndex(b *testing.B, n int) (*Index, []byte) {
	b.Helper()
	v, _ := benchCatalogs.LoadOrStore(n, &benchCatalog{})
	bc := v.(*benchCatalog)
	bc.once.Do(func() {
		c := Generate(n, 1)
		data, err := c.Marshal()
		if err != nil {
			panic(err)
		}
		// Index what the API would index: the catalog as parsed from its file.
		parsed, err := Parse(data)
		if err != nil {
			panic(err)
		}
		bc.data, bc.ix = data, NewIndex(parsed)
	})
	return bc.ix, bc.data
}

// typicalQueries are what the frontend sends: the seed's filters, a page of 20,
// sometimes free text, a sort or open now.
var typicalQueries = []struct{ name, raw string }{
	{"style+vegetarian", "restaurant_style=Italian&vegetarian=true&limit=20"},
	{"style+delivery+sort=rating", "restaurant_style=Chinese&delivery=true&sort=rating&limit=20"},
	{"name=cafe", "restaurant_name=cafe&limit=20"},
	{"q=pizza", "q=pizza&limit=20"},
	{"q=vegan+spicy+delivery", "q=vegan%20spicy&delivery=true&limit=20"},
	{"open_now+sort=delivery", "open_now=true&sort=delivery&limit=20"},
	{"everything+page=3", "limit=20&offset=40"},
	{"seed: all, limit 100", ""},
}

func benchmarkSearch(b *testing.B, n int) {
	ix, _ := benchIndex(b, n)
	now := time.Date(2026, 11, 27, 19, 30, 0, 0, time.UTC)
	for _, tq := range typicalQueries {
		v, err := url.ParseQuery(tq.raw)
		if err != nil {
			b.Fatal(err)
		}
		q, err := ParseQuery(v)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tq.name, func(b *testing.B) {
			b.ReportAllocs()
			total := 0
			for b.Loop() {
				_, total = ix.Search(q, now)
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}

func BenchmarkSearch10k(b *testing.B)  { benchmarkSearch(b, 10_000) }
func BenchmarkSearch100k(b *testing.B) { benchmarkSearch(b, 100_000) }

// BenchmarkSearchParallel10k is the API's situation: every core searching at once.
func BenchmarkSearchParallel10k(b *testing.B) {
	ix, _ := benchIndex(b, 10_000)
	q := Query{Style: "Italian", Vegetarian: true, Limit: 20}
	now := time.Date(2026, 11, 27, 19, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ix.Search(q, now)
		}
	})
}

func BenchmarkParseQuery(b *testing.B) {
	v, _ := url.ParseQuery("restaurant_name=caf%C3%A9&restaurant_style=French&vegetarian=true&delivery=false&q=cr%C3%A8me&sort=rating&limit=20&offset=20")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseQuery(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse10k(b *testing.B) {
	_, data := benchIndex(b, 10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewIndex(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		ix, _ := benchIndex(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NewIndex(ix.Catalog())
			}
		})
	}
}

// BenchmarkHeap100k reports the live heap of a parsed 100,000-restaurant catalog
// and its index: what one API replica holds per catalog version.
func BenchmarkHeap100k(b *testing.B) {
	// A plain loop: b.Loop keeps values alive, which would be measured as heap.
	for i := 0; i < b.N; i++ {
		b.ReportMetric(heapOf100k(b), "MiB-heap")
	}
}

// heapOf100k parses a generated 100,000-restaurant file (so no strings are
// shared with the generator), indexes it, drops the file and measures what stays.
//
//go:noinline
func heapOf100k(t testing.TB) float64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	data := func() []byte {
		out, err := Generate(100_000, 1).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}()
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	data = nil
	ix := NewIndex(c)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ix)
	return float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
}
