package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
)

// Benchmarks of the event payloads every order crosses twice (encoded by one service,
// decoded and validated by the next). Numbers in docs/BENCHMARKS.md.

func benchPlaced() OrderPlaced {
	return OrderPlaced{
		OrderID: "ord_01JDQ4ZK7Y3N8V6T2R9W5XHCBA",
		Details: order.Details{RestaurantID: "china-city", RestaurantName: "China city",
			Email: "dana@example.com",
			Items: []order.Item{
				{MenuItemID: "m1", Name: "Spring rolls", Quantity: 2, UnitPrice: 650},
				{MenuItemID: "m2", Name: "Kung pao chicken", Quantity: 1, UnitPrice: 5400},
			},
			Total: 6700, Currency: "ILS",
			Card:     order.Card{Token: "tok_abcdef123456", Brand: "visa", Last4: "4242"},
			PlacedAt: time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC),
		},
	}
}

func benchCharged() OrderCharged {
	p := benchPlaced()
	return OrderCharged{
		OrderID: p.OrderID, Details: p.Public(),
		Charge: order.Charge{Outcome: order.OutcomePaid, ChargeID: "ch_0123456789", DecidedAt: p.PlacedAt.Add(time.Second)},
	}
}

func BenchmarkEncode(b *testing.B) {
	cases := []struct {
		name string
		v    any
	}{
		{"OrderPlaced", benchPlaced()},
		{"OrderCharged", benchCharged()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			raw, err := json.Marshal(c.v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	placed, _ := json.Marshal(benchPlaced())
	charged, _ := json.Marshal(benchCharged())
	cases := []struct {
		name   string
		data   []byte
		decode func([]byte) error
	}{
		{"OrderPlaced", placed, func(d []byte) error { _, err := DecodeOrderPlaced(d); return err }},
		{"OrderCharged", charged, func(d []byte) error { _, err := DecodeOrderCharged(d); return err }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := c.decode(c.data); err != nil {
				b.Fatalf("the benchmark's event must be valid: %v", err)
			}
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.decode(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
