package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// Benchmarks of the API's hot paths through its real router (middleware, logging, metrics,
// tracing included), on the 10,000-restaurant catalog the published load runs use. The
// numbers and what they say are in docs/BENCHMARKS.md.

var (
	bigOnce  sync.Once
	bigIndex *catalog.Index
)

// benchAPI is the API over a generated catalog of 10,000 restaurants with fakes for the
// sidecar, logging to nowhere through the real (redacting) logger.
func benchAPI(b *testing.B) (*api, http.Handler, *fakePublisher) {
	b.Helper()
	bigOnce.Do(func() { bigIndex = catalog.NewIndex(catalog.Generate(10000, 1)) })
	pub := &fakePublisher{}
	a := &api{
		log:       service.NewLogger(io.Discard, "api"),
		catalog:   &fakeCatalog{ix: bigIndex},
		orders:    newFakeStore(),
		publisher: pub,
		bank:      &fakeBank{},
		ready:     func(context.Context) error { return nil },
		now:       func() time.Time { return testNow },
	}
	return a, a.routes(""), pub
}

// firstRestaurant is the first search hit: a real restaurant of the generated catalog.
func firstRestaurant(b *testing.B, h http.Handler) *catalog.Restaurant {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/search?limit=1", nil))
	_, after, _ := strings.Cut(rec.Body.String(), `"id":"`)
	id, _, _ := strings.Cut(after, `"`)
	r, ok := bigIndex.Restaurant(id)
	if !ok || len(r.Menu) < 2 {
		b.Fatalf("no restaurant with a menu in %s", rec.Body)
	}
	return r
}

func BenchmarkSearchThroughRouter(b *testing.B) {
	_, h, _ := benchAPI(b)
	first := bigIndex.Styles()[0]
	word := strings.ToLower(strings.Fields(firstRestaurant(b, h).Name)[0])
	cases := []struct{ name, query string }{
		{"all, default page of 100", ""},
		{"all, page of 20", "limit=20"},
		{"style, page of 20", "restaurant_style=" + first + "&limit=20"},
		{"style and vegetarian (seed query)", "restaurant_style=" + first + "&vegetarian=true"},
		{"name fragment", "restaurant_name=" + word + "&limit=20"},
		{"open now, by rating", "open_now=true&sort=rating&limit=20"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/search?"+c.query, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("GET /search?%s: %d %s", c.query, rec.Code, rec.Body)
			}
			b.SetBytes(int64(rec.Body.Len()))
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/search?"+c.query, nil))
			}
		})
	}
}

func BenchmarkRestaurantThroughRouter(b *testing.B) {
	_, h, _ := benchAPI(b)
	id := firstRestaurant(b, h).ID
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/restaurants/"+id, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /restaurants/%s: %d", id, rec.Code)
		}
	}
}

// BenchmarkPlaceOrderThroughRouter is POST /orders minus the sidecar: decoding, validation
// against the catalog, pricing, the idempotency bookkeeping in a fake store, the event.
func BenchmarkPlaceOrderThroughRouter(b *testing.B) {
	_, h, pub := benchAPI(b)
	r := firstRestaurant(b, h)
	body := fmt.Sprintf(`{"restaurant":%q,"email":"dana@example.com","creditCard":"4242424242424242","items":[{"menuItemId":%q,"quantity":2},{"menuItemId":%q,"quantity":1}]}`,
		r.ID, r.Menu[0].ID, r.Menu[1].ID)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("POST /orders: %d %s", rec.Code, rec.Body)
		}
	}
	if len(pub.published()) == 0 {
		b.Fatal("no order event was published")
	}
}

// BenchmarkDecodeOrderRequest is the body decoding alone (strict JSON, size limit).
func BenchmarkDecodeOrderRequest(b *testing.B) {
	body := `{"restaurant":"china-city","email":"dana@example.com","creditCard":"4242424242424242","items":[{"menuItemId":"m1","quantity":2},{"menuItemId":"m2","quantity":1}]}`
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var o orderRequest
		if err := service.DecodeJSON(httptest.NewRecorder(), req, &o); err != nil {
			b.Fatal(err)
		}
	}
}
