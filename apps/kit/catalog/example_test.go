package catalog_test

import (
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
)

// The API's path from a catalog file to a search response: parse once per
// version, index once, then answer every request from the index.
func Example() {
	data, err := os.ReadFile("../../../helm/kafka-restaurants/files/restaurants.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := catalog.Parse(data)
	if err != nil {
		fmt.Println(err) // one line, e.g. "catalog rejected: 2 problems: ..."
		return
	}
	ix := catalog.NewIndex(c)

	q, err := catalog.ParseQuery(url.Values{"restaurant_style": {"Chinese"}, "vegetarian": {"true"}, "sort": {"rating"}})
	if err != nil {
		fmt.Println(err) // a *catalog.QueryError: answer 400 with its Code and Message
		return
	}
	now := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)
	results, total := ix.Search(q, now) // total goes in X-Total-Count
	fmt.Println(total, "matches")
	for _, r := range results {
		fmt.Printf("%s (%s) rating %.1f, open now: %v\n", r.Name, r.ID, r.Rating, r.OpenNow)
	}

	r, _ := ix.Lookup("china city") // orders name a restaurant by id or name
	item, _ := r.Item("m1")
	fmt.Printf("%s: %s costs %d agorot\n", r.Name, item.Name, item.Price)
	fmt.Println(ix.Styles())
	// Output:
	// 2 matches
	// Peking Duck House (peking-duck-house) rating 4.6, open now: true
	// China city (china-city) rating 4.3, open now: false
	// China city: Spring rolls costs 650 agorot
	// [Chinese Israeli Italian]
}
