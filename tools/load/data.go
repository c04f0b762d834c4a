package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// restaurant is what the mix needs of a catalog restaurant: where to order and what.
type restaurant struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Style string   `json:"style"`
	Menu  []string `json:"-"`
}

// mix holds the realistic data requests are drawn from: real restaurants, their menu items,
// and the searches a user of the site makes.
type mix struct {
	searches []string // query strings
	orders   []restaurant
}

// maxOrderRestaurants bounds the restaurants whose menus are fetched up front.
const maxOrderRestaurants = 20

// fetchMix reads the catalog the stack serves, through the same target the load goes to, so
// that a run against a 10,000-restaurant catalog searches and orders from that catalog.
func fetchMix(ctx context.Context, client *http.Client, target string, limit int) (*mix, error) {
	var list []restaurant
	if err := getJSON(ctx, client, target+"/search?limit=100", &list); err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("read the catalog: the search returned no restaurant")
	}
	var styles []string
	if err := getJSON(ctx, client, target+"/styles", &styles); err != nil {
		return nil, fmt.Errorf("read the styles: %w", err)
	}
	m := &mix{}
	for _, r := range list {
		if len(m.orders) == maxOrderRestaurants {
			break
		}
		var full struct {
			Menu []struct {
				ID string `json:"id"`
			} `json:"menu"`
		}
		if err := getJSON(ctx, client, target+"/restaurants/"+url.PathEscape(r.ID), &full); err != nil {
			return nil, fmt.Errorf("read restaurant %s: %w", r.ID, err)
		}
		for _, it := range full.Menu {
			r.Menu = append(r.Menu, it.ID)
		}
		if len(r.Menu) > 0 {
			m.orders = append(m.orders, r)
		}
	}
	if len(m.orders) == 0 {
		return nil, fmt.Errorf("read the catalog: no restaurant has a menu to order from")
	}
	m.searches = searches(list, styles, limit)
	return m, nil
}

// searches builds the query strings of the search form: by style, by part of a name, the
// vegetarian and delivery filters, and combinations, as the seed's form sent them.
func searches(list []restaurant, styles []string, limit int) []string {
	l := "&limit=" + strconv.Itoa(limit)
	out := []string{"limit=" + strconv.Itoa(limit), "vegetarian=true" + l, "delivery=true" + l}
	for _, s := range styles {
		q := url.QueryEscape(s)
		out = append(out, "restaurant_style="+q+l, "restaurant_style="+q+"&vegetarian=true"+l)
	}
	seen := map[string]bool{}
	for _, r := range list {
		word := strings.ToLower(strings.Fields(r.Name + " x")[0])
		if len(word) < 3 || seen[word] {
			continue
		}
		seen[word] = true
		out = append(out, "restaurant_name="+url.QueryEscape(word)+l)
		if len(seen) == 20 {
			break
		}
	}
	return out
}

// search picks a search.
func (m *mix) search(rng *rand.Rand) string { return m.searches[rng.IntN(len(m.searches))] }

// order builds an order body: one to three real menu items of a real restaurant, and the
// declined card with probability declined.
func (m *mix) order(rng *rand.Rand, n uint64, declined bool) []byte {
	r := m.orders[rng.IntN(len(m.orders))]
	type item struct {
		MenuItemID string `json:"menuItemId"`
		Quantity   int    `json:"quantity"`
	}
	body := struct {
		Restaurant string `json:"restaurant"`
		Email      string `json:"email"`
		CreditCard string `json:"creditCard"`
		Items      []item `json:"items"`
	}{Restaurant: r.ID, Email: fmt.Sprintf("load%d@example.com", n), CreditCard: ApprovedCard}
	if declined {
		body.CreditCard = DeclinedCard
	}
	// Distinct items: the API refuses an item listed twice.
	for _, i := range rng.Perm(len(r.Menu))[:min(len(r.Menu), 1+rng.IntN(3))] {
		body.Items = append(body.Items, item{MenuItemID: r.Menu[i], Quantity: 1 + rng.IntN(3)})
	}
	b, _ := json.Marshal(body) // plain strings and ints: cannot fail
	return b
}

func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, truncate(string(b), 200))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", u, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
