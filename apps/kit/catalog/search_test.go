package catalog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func names(rs []Summary) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// search parses raw URL parameters as the API does, then searches.
func search(t *testing.T, ix *Index, raw string, now time.Time) ([]Summary, int) {
	t.Helper()
	v, err := url.ParseQuery(raw)
	require.NoError(t, err)
	q, err := ParseQuery(v)
	require.NoError(t, err)
	return ix.Search(q, now)
}

// jerusalem is a time in the shipped catalog's zone.
func jerusalem(t testing.TB, value string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Jerusalem")
	require.NoError(t, err)
	at, err := time.ParseInLocation("2006-01-02 15:04", value, loc)
	require.NoError(t, err)
	return at
}

func TestSearchShippedCatalog(t *testing.T) {
	ix := NewIndex(loadShipped(t))
	noon := jerusalem(t, "2026-11-25 12:00") // a Wednesday
	all := []string{"Amore Mio", "Cafe Italia", "China city", "China town", "Hummus Sababa", "Ima", "La Shuk",
		"Long Sang", "Nam", "Peking Duck House", "pizza Makpiza", "Port Oren", "Sabich", "Shawarma", "The Chinese Wall"}
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"no filter returns all, by name", "", all},
		{"seed form with empty fields", "restaurant_name=&restaurant_style=&vegetarian=false&delivery=false", all},
		{"style", "restaurant_style=Chinese", []string{"China city", "China town", "Long Sang", "Peking Duck House", "The Chinese Wall"}},
		{"style ignores case", "restaurant_style=iTALIAN", []string{"Amore Mio", "Cafe Italia", "pizza Makpiza"}},
		{"style is exact, not a substring", "restaurant_style=Chin", nil},
		{"unknown style", "restaurant_style=Thai", nil},
		{"vegetarian", "vegetarian=true", []string{"Amore Mio", "China city", "Ima", "La Shuk", "Peking Duck House", "Sabich"}},
		{"delivery", "delivery=true", []string{"Amore Mio", "Cafe Italia", "China city", "La Shuk", "Peking Duck House", "Port Oren", "Sabich"}},
		{"Chinese and vegetarian", "restaurant_style=Chinese&vegetarian=true", []string{"China city", "Peking Duck House"}},
		{"vegetarian and delivery", "vegetarian=true&delivery=true", []string{"Amore Mio", "China city", "La Shuk", "Peking Duck House", "Sabich"}},
		{"Israeli with delivery", "restaurant_style=Israeli&delivery=true", []string{"La Shuk", "Port Oren", "Sabich"}},
		{"Italian, vegetarian, delivery", "restaurant_style=Italian&vegetarian=1&delivery=1", []string{"Amore Mio"}},
		{"Italian, vegetarian, no delivery", "restaurant_style=Italian&vegetarian=true&delivery=false", []string{"Amore Mio"}},
		{"name substring", "restaurant_name=china", []string{"China city", "China town"}},
		{"name substring in the middle", "restaurant_name=hin", []string{"China city", "China town", "The Chinese Wall"}},
		{"name ignores case", "restaurant_name=SHUK", []string{"La Shuk"}},
		{"name with a space", "restaurant_name=duck%20house", []string{"Peking Duck House"}},
		{"name with an accent finds the plain name", "restaurant_name=caf%C3%A9", []string{"Cafe Italia"}},
		{"name and style", "restaurant_name=a&restaurant_style=Israeli&vegetarian=true", []string{"Ima", "La Shuk", "Sabich"}},
		{"name with no match", "restaurant_name=sushi", nil},
		{"text finds a menu item", "q=duck", []string{"Peking Duck House"}},
		{"text folds accents in the menu", "q=tiramisu", []string{"Amore Mio"}},
		{"text with the accent", "q=Tiramis%C3%B9", []string{"Amore Mio"}},
		{"text matches word prefixes", "q=piz", []string{"pizza Makpiza"}},
		{"text needs every word", "q=vegan%20chinese", []string{"China city", "Long Sang", "Peking Duck House"}},
		{"text finds tags", "q=gluten-free%20shawarma", []string{"Shawarma"}},
		{"text finds areas", "q=jaffa", []string{"Port Oren", "Shawarma"}},
		{"text with words from different places", "q=hummus%20mushrooms", []string{"Hummus Sababa"}},
		{"text with no match", "q=hummus%20pizza", nil},
		{"text that is only punctuation matches all", "q=%21%21", all},
		{"text with other filters", "q=spicy&delivery=true&restaurant_style=Chinese", []string{"China city", "Peking Duck House"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := search(t, ix, tt.query, noon)
			if tt.want == nil {
				tt.want = []string{}
			}
			assert.Equal(t, tt.want, names(got))
			assert.Equal(t, len(tt.want), total)
		})
	}
}

func TestSearchSummary(t *testing.T) {
	ix := NewIndex(loadShipped(t))
	got, _ := search(t, ix, "restaurant_name=China%20city", jerusalem(t, "2026-11-25 12:00"))
	require.Len(t, got, 1)
	r, ok := ix.Restaurant("china-city")
	require.True(t, ok)
	assert.Equal(t, Summary{
		ID: r.ID, Name: "China city", Style: "Chinese", Vegetarian: true, Delivery: true,
		Area: r.Area, Address: r.Address, Rating: r.Rating, DeliveryMinutes: r.DeliveryMinutes,
		Currency: "ILS", OpenNow: true,
	}, got[0])
}

func TestSearchSort(t *testing.T) {
	ix := NewIndex(loadShipped(t))
	now := jerusalem(t, "2026-11-25 12:00")
	t.Run("rating, best first, ties by name", func(t *testing.T) {
		got, total := search(t, ix, "sort=rating", now)
		require.Len(t, got, 15)
		assert.Equal(t, 15, total)
		assert.Equal(t, "La Shuk", got[0].Name)
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			assert.True(t, a.Rating > b.Rating || a.Rating == b.Rating && fold(a.Name) < fold(b.Name), "%s before %s", a.Name, b.Name)
		}
	})
	t.Run("delivery time, fastest first, ties by name", func(t *testing.T) {
		got, _ := search(t, ix, "sort=delivery&delivery=true", now)
		assert.Equal(t, []string{"Sabich", "Cafe Italia", "La Shuk", "China city", "Amore Mio", "Peking Duck House", "Port Oren"}, names(got))
	})
	t.Run("delivery time puts places that do not deliver last", func(t *testing.T) {
		got, _ := search(t, ix, "sort=delivery", now)
		require.Len(t, got, 15)
		assert.Equal(t, "Port Oren", got[6].Name)
		assert.Equal(t, "China town", got[7].Name, "then the rest by name")
		for _, s := range got[7:] {
			assert.False(t, s.Delivery, s.Name)
		}
	})
	t.Run("sort key ignores case", func(t *testing.T) {
		a, _ := search(t, ix, "sort=RATING", now)
		b, _ := search(t, ix, "sort=rating", now)
		assert.Equal(t, names(b), names(a))
	})
}

func TestSearchPaging(t *testing.T) {
	ix := NewIndex(loadShipped(t))
	now := jerusalem(t, "2026-11-25 12:00")
	everything, _ := search(t, ix, "", now)
	byRating, _ := search(t, ix, "sort=rating", now)
	tests := []struct {
		name      string
		query     string
		want      []Summary
		wantTotal int
	}{
		{"limit 1", "limit=1", everything[:1], 15},
		{"limit 1, offset 1", "limit=1&offset=1", everything[1:2], 15},
		{"limit 100", "limit=100", everything, 15},
		{"last partial page", "limit=4&offset=12", everything[12:], 15},
		{"offset at the end", "offset=15", []Summary{}, 15},
		{"offset past the end", "offset=1000", []Summary{}, 15},
		{"page of a filtered search", "restaurant_style=Chinese&limit=2&offset=2", []Summary{everything[7], everything[9]}, 5},
		{"page of a sorted search", "sort=rating&limit=3&offset=3", byRating[3:6], 15},
		{"empty page of a filtered search", "vegetarian=true&offset=6", []Summary{}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := search(t, ix, tt.query, now)
			assert.Equal(t, names(tt.want), names(got))
			assert.Equal(t, tt.wantTotal, total)
		})
	}

	t.Run("pages of a large catalog join up to the whole result", func(t *testing.T) {
		big := NewIndex(Generate(3000, 3))
		for _, sort := range []string{"name", "rating", "delivery"} {
			whole := []string{}
			total := -1
			for offset := 0; ; offset += 100 {
				page, n := search(t, big, fmt.Sprintf("q=vegan&sort=%s&offset=%d", sort, offset), now)
				total = n
				if len(page) == 0 {
					break
				}
				whole = append(whole, names(page)...)
			}
			assert.Len(t, whole, total, sort)
			assert.Greater(t, total, 100, "the query spans several pages")
			assert.Len(t, slices.Compact(slices.Sorted(slices.Values(whole))), total, "no restaurant twice")
		}
	})

	t.Run("a hand-built query is clamped, not trusted", func(t *testing.T) {
		got, total := ix.Search(Query{Limit: 1000, Offset: -5}, now)
		assert.Len(t, got, 15)
		assert.Equal(t, 15, total)
		got, _ = ix.Search(Query{Limit: 1000}, now)
		assert.LessOrEqual(t, len(got), MaxLimit)
	})
}

func TestSearchUnicode(t *testing.T) {
	c := &Catalog{Restaurants: []Restaurant{
		{ID: "cafe-noir", Name: "Café Noir", Style: "French", Menu: []MenuItem{{ID: "m1", Name: "Crème brûlée", Price: 100, Tags: []string{"vegetarian"}}}},
		{ID: "creperie-etoile", Name: "CRÊPERIE ÉTOILE", Style: "Français", Menu: []MenuItem{{ID: "m1", Name: "Galette", Price: 100}}},
		{ID: "strasse", Name: "Straßenküche", Style: "German"},
		{ID: "ramen-osaka", Name: "Ramen Ōsaka", Style: "Japanese"},
		{ID: "falafel", Name: "פלאפל הכוכב", Style: "Israeli"},
		{ID: "plain-cafe", Name: "Cafe Plain", Style: "Cafe"},
	}}
	require.NoError(t, c.Seal())
	ix := NewIndex(c)
	now := time.Now()
	tests := []struct {
		name  string
		query Query
		want  []string
	}{
		{"plain letters find accented", Query{Name: "cafe"}, []string{"Café Noir", "Cafe Plain"}},
		{"accented letters find plain", Query{Name: "CAFÉ"}, []string{"Café Noir", "Cafe Plain"}},
		{"upper-case accented name", Query{Name: "creperie"}, []string{"CRÊPERIE ÉTOILE"}},
		{"sharp s folds to ss", Query{Name: "strasse"}, []string{"Straßenküche"}},
		{"macron", Query{Text: "osaka"}, []string{"Ramen Ōsaka"}},
		{"Hebrew", Query{Name: "כוכב"}, []string{"פלאפל הכוכב"}},
		{"Hebrew free text", Query{Text: "פלאפל"}, []string{"פלאפל הכוכב"}},
		{"menu with accents", Query{Text: "creme brulee"}, []string{"Café Noir"}},
		{"style with an accent, any case", Query{Style: "FRANCAIS"}, []string{"CRÊPERIE ÉTOILE"}},
		{"default order folds too", Query{}, []string{"Café Noir", "Cafe Plain", "CRÊPERIE ÉTOILE", "Ramen Ōsaka", "Straßenküche", "פלאפל הכוכב"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := ix.Search(tt.query, now)
			assert.Equal(t, tt.want, names(got))
			assert.Equal(t, len(tt.want), total)
		})
	}
	assert.Equal(t, []string{"Cafe", "Français", "French", "German", "Israeli", "Japanese"}, ix.Styles())
}

func TestOpenNow(t *testing.T) {
	ix := NewIndex(loadShipped(t))
	// 2026-11-27 is a Friday. Shabbat closes most places; late places stay open
	// past midnight into Saturday.
	tests := []struct {
		name string
		at   string
		want []string
	}{
		{"Friday night 23:30", "2026-11-27 23:30", []string{"Amore Mio", "Long Sang", "Nam", "pizza Makpiza", "Port Oren"}},
		{"just after midnight into Saturday", "2026-11-28 00:30", []string{"Long Sang", "Nam", "pizza Makpiza"}},
		{"01:00 closes pizza Makpiza and Long Sang", "2026-11-28 01:00", []string{"Nam"}},
		{"02:59 Saturday", "2026-11-28 02:59", []string{"Nam"}},
		{"03:00 Saturday, everything closed", "2026-11-28 03:00", nil},
		{"Saturday night", "2026-11-28 21:00", []string{"Amore Mio", "Cafe Italia", "China city", "China town", "Long Sang", "Nam", "Peking Duck House", "pizza Makpiza", "Port Oren", "Shawarma", "The Chinese Wall", "La Shuk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := jerusalem(t, tt.at)
			got, total := search(t, ix, "open_now=true", now)
			want := tt.want
			if want == nil {
				want = []string{}
			}
			slices.SortFunc(want, func(a, b string) int { return strings.Compare(fold(a), fold(b)) })
			assert.Equal(t, want, names(got))
			assert.Equal(t, len(want), total)
			for _, s := range got {
				assert.True(t, s.OpenNow, s.Name)
			}
			// Without the filter every place is listed, each marked open or not.
			everything, _ := search(t, ix, "", now)
			open := 0
			for _, s := range everything {
				if s.OpenNow {
					open++
				}
			}
			assert.Equal(t, len(want), open)
		})
	}
}

func TestOpenNowAcrossMidnightAndZones(t *testing.T) {
	iv := func(open, close string) []Interval {
		i, err := NewInterval(open, close)
		require.NoError(t, err)
		return []Interval{i}
	}
	c := &Catalog{Restaurants: []Restaurant{
		{ID: "night-owl", Name: "Night Owl", Style: "Bar", Hours: Hours{Mon: iv("22:00", "02:00")}},
		{ID: "sunday-late", Name: "Sunday Late", Style: "Bar", Hours: Hours{Sun: iv("23:00", "01:00")}},
		{ID: "all-day", Name: "All Day", Style: "Diner", Hours: Hours{Tue: iv("00:00", "24:00")}},
		{ID: "new-york", Name: "New York Deli", Style: "Diner", Timezone: "America/New_York", Hours: Hours{Mon: iv("09:00", "17:00")}},
		{ID: "tel-aviv", Name: "Tel Aviv Deli", Style: "Diner", Hours: Hours{Mon: iv("09:00", "17:00")}},
		{ID: "no-hours", Name: "Hours Unknown", Style: "Diner"},
	}}
	require.NoError(t, c.Seal())
	ix := NewIndex(c)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name string
		now  time.Time
		want []string
	}{
		{"Monday 21:59 before opening; 14:59 in New York", jerusalem(t, "2026-11-23 21:59"), []string{"New York Deli"}},
		{"Monday 22:00 opens", jerusalem(t, "2026-11-23 22:00"), []string{"New York Deli", "Night Owl"}},
		{"Tuesday 01:59 still open from Monday", jerusalem(t, "2026-11-24 01:59"), []string{"All Day", "Night Owl"}},
		{"Tuesday 02:00 closed", jerusalem(t, "2026-11-24 02:00"), []string{"All Day"}},
		{"Tuesday 23:59 all day", jerusalem(t, "2026-11-24 23:59"), []string{"All Day"}},
		{"Wednesday 00:00 all day is over", jerusalem(t, "2026-11-25 00:00"), nil},
		{"Sunday night into Monday wraps the week", jerusalem(t, "2026-11-23 00:30"), []string{"Sunday Late"}},
		{"same instant, other zone: 08:00 in New York is 15:00 in Tel Aviv", time.Date(2026, 11, 23, 8, 0, 0, 0, ny), []string{"Tel Aviv Deli"}},
		{"10:00 in New York is 17:00 in Tel Aviv", time.Date(2026, 11, 23, 10, 0, 0, 0, ny), []string{"New York Deli"}},
		{"the caller's zone does not matter", time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC), []string{"New York Deli"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := ix.Search(Query{OpenNow: true}, tt.now)
			want := tt.want
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, names(got))
			for _, r := range c.Restaurants {
				assert.Equal(t, slices.Contains(want, r.Name), r.OpenAt(tt.now), "Restaurant.OpenAt agrees for %s", r.Name)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	ix := NewIndex(loadShipped(t))
	assert.Equal(t, 15, ix.Len())
	assert.Equal(t, loadShipped(t).Version, ix.Version())
	assert.Equal(t, []string{"Chinese", "Israeli", "Italian"}, ix.Styles())
	styles := ix.Styles()
	styles[0] = "changed"
	assert.Equal(t, "Chinese", ix.Styles()[0], "callers cannot change the index")

	r, ok := ix.Restaurant("china-city")
	require.True(t, ok)
	assert.Equal(t, "China city", r.Name)
	item, ok := r.Item("m1")
	require.True(t, ok)
	assert.Equal(t, int64(650), item.Price)
	_, ok = r.Item("m99")
	assert.False(t, ok)
	_, ok = ix.Restaurant("China city")
	assert.False(t, ok, "Restaurant takes an id only")

	tests := []struct {
		in   string
		want string // empty for not found
	}{
		{"china-city", "china-city"},
		{"China city", "china-city"},
		{"CHINA CITY", "china-city"},
		{"  china city ", "china-city"},
		{"China-City", "china-city"},
		{"pizza makpiza", "pizza-makpiza"},
		{"China", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, ok := ix.Lookup(tt.in)
			if tt.want == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, r.ID)
		})
	}
}

// naive is the obvious, slow search the index must agree with: a linear scan over
// the catalog, with each restaurant's folded text computed once.
type naive struct {
	c          *Catalog
	name, styl []string
	text       [][]string
}

func newNaive(c *Catalog) *naive {
	n := &naive{c: c}
	for _, r := range c.Restaurants {
		text := []string{r.Name, r.Style, r.Area}
		for _, m := range r.Menu {
			text = append(text, m.Name, strings.Join(m.Tags, " "))
		}
		n.name = append(n.name, fold(r.Name))
		n.styl = append(n.styl, fold(r.Style))
		n.text = append(n.text, words(fold(strings.Join(text, " "))))
	}
	return n
}

func (n *naive) search(q Query, now time.Time) []string {
	c := n.c
	var hits []int
	for i := range c.Restaurants {
		r := &c.Restaurants[i]
		if q.Style != "" && n.styl[i] != fold(q.Style) ||
			q.Vegetarian && !r.Vegetarian || q.Delivery && !r.Delivery ||
			q.Name != "" && !strings.Contains(n.name[i], fold(q.Name)) ||
			q.OpenNow && !r.OpenAt(now) {
			continue
		}
		have := n.text[i]
		ok := true
		for _, w := range words(fold(q.Text)) {
			ok = ok && slices.ContainsFunc(have, func(h string) bool { return strings.HasPrefix(h, w) })
		}
		if ok {
			hits = append(hits, i)
		}
	}
	slices.SortStableFunc(hits, func(i, j int) int {
		a, b := &c.Restaurants[i], &c.Restaurants[j]
		byName := cmp.Or(strings.Compare(n.name[i], n.name[j]), strings.Compare(a.ID, b.ID))
		switch q.Sort {
		case SortRating:
			return cmp.Or(cmp.Compare(b.Rating, a.Rating), byName)
		case SortDelivery:
			key := func(r *Restaurant) int {
				if !r.Delivery || r.DeliveryMinutes == 0 {
					return 1 << 30
				}
				return r.DeliveryMinutes
			}
			return cmp.Or(cmp.Compare(key(a), key(b)), byName)
		}
		return byName
	})
	out := []string{}
	for _, i := range hits {
		out = append(out, c.Restaurants[i].Name)
	}
	return out
}

// randomQuery draws the kinds of searches users make, including combinations.
func randomQuery(rng *rand.Rand, ix *Index) Query {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	styles := ix.Styles()
	q := Query{Limit: 1 + rng.IntN(100), Offset: rng.IntN(3) * rng.IntN(200)}
	if rng.IntN(3) == 0 {
		q.Style = styles[rng.IntN(len(styles))]
	}
	if rng.IntN(4) == 0 {
		q.Name = pick("a", "cafe", "house", "ramen", "#1", "noir", "ö", "z", "bar", "kitchen")
	}
	if rng.IntN(3) == 0 {
		q.Text = pick("vegan", "spicy pad", "pizza", "gluten free", "falafel", "crème", "sh", "jaffa burger", "xyz",
			"noir", "ramen osaka", "vegan habesha", "tbilisi")
	}
	q.Vegetarian, q.Delivery, q.OpenNow = rng.IntN(3) == 0, rng.IntN(3) == 0, rng.IntN(4) == 0
	q.Sort = []SortKey{SortName, SortRating, SortDelivery, ""}[rng.IntN(4)]
	return q
}

func TestSearchAgreesWithNaiveSearch(t *testing.T) {
	c := Generate(4000, 11)
	ix := NewIndex(c)
	ref := newNaive(c)
	require.NotEmpty(t, ix.dense, "common words are bitsets")
	require.Less(t, len(ix.dense), len(ix.vocab), "rare words are lists")
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		q := randomQuery(rng, ix)
		now := start.Add(time.Duration(rng.IntN(7*24*60)) * time.Minute)
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			want := ref.search(q, now)
			got, total := ix.Search(q, now)
			require.Equal(t, len(want), total, "%+v", q)
			limit, offset := q.page()
			page := want[min(offset, len(want)):min(offset+limit, len(want))]
			require.Equal(t, page, names(got), "%+v at %s", q, now)
		})
	}
}

func TestConcurrentReaders(t *testing.T) {
	c := Generate(2000, 5)
	ix := NewIndex(c)
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)
	queries := make([]Query, 40)
	want := make([][]string, len(queries))
	for i := range queries {
		queries[i] = randomQuery(rng, ix)
		got, _ := ix.Search(queries[i], now)
		want[i] = names(got)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(queries))
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for k := range queries {
				i := (k + g*5) % len(queries)
				got, _ := ix.Search(queries[i], now)
				if !slices.Equal(want[i], names(got)) {
					errs <- fmt.Sprintf("query %d differs under concurrency", i)
				}
				if _, ok := ix.Lookup(c.Restaurants[i].Name); !ok {
					errs <- "lookup failed"
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestOpenNowManySchedules covers both ways open now is decided: per-schedule
// bitsets for a catalog with few distinct schedules, and a per-restaurant check
// when almost every restaurant keeps its own hours.
func TestOpenNowManySchedules(t *testing.T) {
	for _, n := range []int{maxSchedBitsets - 50, maxSchedBitsets + 50} {
		t.Run(fmt.Sprint(n, " schedules"), func(t *testing.T) {
			c := &Catalog{}
			for i := 0; i < n; i++ {
				// Restaurant i opens on Monday at minute 3*i for an hour.
				open := uint16(3 * i)
				c.Restaurants = append(c.Restaurants, Restaurant{
					ID: fmt.Sprintf("r%d", i), Name: fmt.Sprintf("R %d", i), Style: "Diner",
					Hours: Hours{Mon: []Interval{{Open: open, Close: open + 60}}},
				})
			}
			require.NoError(t, c.Seal())
			ix := NewIndex(c)
			require.Len(t, ix.scheds, n)
			assert.Equal(t, n <= maxSchedBitsets, ix.schedBits != nil, "the path under test")
			for _, at := range []string{"2026-11-23 00:00", "2026-11-23 05:30", "2026-11-23 13:31", "2026-11-24 05:30"} {
				now := jerusalem(t, at)
				got, total := ix.Search(Query{OpenNow: true, Limit: MaxLimit}, now)
				want := []string{}
				for _, r := range c.Restaurants {
					if r.OpenAt(now) {
						want = append(want, r.Name)
					}
				}
				slices.SortFunc(want, func(a, b string) int { return strings.Compare(fold(a), fold(b)) })
				assert.Equal(t, len(want), total, at)
				assert.Equal(t, want[:min(len(want), MaxLimit)], names(got), at)
			}
		})
	}
}

// AppendSearchJSON writes exactly what encoding/json writes for Search's results, over
// random queries and times, for restaurants whose names need escaping too; a second call
// (cached JSON) writes the same again.
func TestAppendSearchJSONMatchesEncodingJSON(t *testing.T) {
	c := Generate(3000, 7)
	c.Restaurants[0].Name = `Fish & Chips <"Best"> ` + "caf\u00e9 \u2028"
	c.Restaurants[1].Address = `1 "Quoted" Rd, <Tel Aviv>`
	require.NoError(t, c.Seal())
	ix := NewIndex(c)
	rng := rand.New(rand.NewPCG(5, 6))
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	queries := []Query{{}, {Name: "fish"}, {Limit: 100}}
	for range 200 {
		queries = append(queries, randomQuery(rng, ix))
	}
	for i, q := range queries {
		now := start.Add(time.Duration(rng.IntN(7*24*60)) * time.Minute)
		results, total := ix.Search(q, now)
		var want bytes.Buffer
		require.NoError(t, json.NewEncoder(&want).Encode(results))
		for pass := range 2 {
			got, gotTotal := ix.AppendSearchJSON(nil, q, now)
			require.Equal(t, total, gotTotal, "query %d %+v", i, q)
			require.Equal(t, want.String(), string(got), "query %d pass %d %+v", i, pass, q)
		}
	}
}

// Concurrent searches fill the JSON cache together and all write the same answer.
func TestAppendSearchJSONConcurrent(t *testing.T) {
	c := Generate(500, 9)
	ix := NewIndex(c)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	q := Query{Limit: 100}
	want, _ := ix.AppendSearchJSON(nil, q, now)
	ix = NewIndex(c) // a fresh, empty cache
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = ix.AppendSearchJSON(nil, q, now)
		}()
	}
	wg.Wait()
	for i := range got {
		assert.Equal(t, string(want), string(got[i]))
	}
}
