package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shippedCatalog is the one catalog file the local stack and the Helm chart read.
const shippedCatalog = "../../../helm/kafka-restaurants/files/restaurants.json"

func loadShipped(t testing.TB) *Catalog {
	t.Helper()
	data, err := os.ReadFile(shippedCatalog)
	require.NoError(t, err)
	c, err := Parse(data)
	require.NoError(t, err)
	return c
}

// minimal returns a valid one-restaurant catalog with fields overridden by patch,
// so each rejection case shows only what it breaks.
func minimal(patch string) string {
	base := `"id":"a","name":"A","style":"Thai","vegetarian":false,"delivery":false,"rating":4,` +
		`"menu":[{"id":"m1","name":"Pad thai","price":100}]`
	if patch != "" {
		base = patch
	}
	return `{"restaurants":[{` + base + `}]}`
}

func TestShippedCatalogKeepsTheSeed(t *testing.T) {
	c := loadShipped(t)
	// The seed's 15 restaurants with their original name, style, vegetarian and
	// delivery values: enriching the file must not change what the seed promised.
	seed := []struct {
		name, style   string
		veg, delivery bool
	}{
		{"Hummus Sababa", "Israeli", false, false},
		{"pizza Makpiza", "Italian", false, false},
		{"China town", "Chinese", false, false},
		{"China city", "Chinese", true, true},
		{"Shawarma", "Israeli", false, false},
		{"Sabich", "Israeli", true, true},
		{"Ima", "Israeli", true, false},
		{"Peking Duck House", "Chinese", true, true},
		{"Amore Mio", "Italian", true, true},
		{"Port Oren", "Israeli", false, true},
		{"The Chinese Wall", "Chinese", false, false},
		{"Long Sang", "Chinese", false, false},
		{"La Shuk", "Israeli", true, true},
		{"Cafe Italia", "Italian", false, true},
		{"Nam", "Israeli", false, false},
	}
	require.Len(t, c.Restaurants, len(seed))
	for i, s := range seed {
		r := c.Restaurants[i]
		t.Run(s.name, func(t *testing.T) {
			assert.Equal(t, s.name, r.Name)
			assert.Equal(t, s.style, r.Style)
			assert.Equal(t, s.veg, r.Vegetarian)
			assert.Equal(t, s.delivery, r.Delivery)
			assert.Equal(t, Slug(r.Name), r.ID, "ids are the slug of the seed name")
			assert.NotEmpty(t, r.Area)
			assert.NotEmpty(t, r.Address)
			assert.False(t, r.Hours.IsZero())
			assert.Equal(t, r.Delivery, r.DeliveryMinutes > 0, "only places that deliver have a delivery time")
			assert.GreaterOrEqual(t, len(r.Menu), 4)
			assert.LessOrEqual(t, len(r.Menu), 8)
			if r.Vegetarian {
				veg := 0
				for _, m := range r.Menu {
					if strings.Contains(strings.Join(m.Tags, " "), "vegetarian") {
						veg++
					}
				}
				assert.GreaterOrEqual(t, veg, 2, "a vegetarian place has vegetarian dishes")
			}
		})
	}
	data, err := os.ReadFile(shippedCatalog)
	require.NoError(t, err)
	assert.Less(t, len(data), 512<<10, "the catalog becomes a ConfigMap (1 MiB at most)")
}

func TestParseAppliesDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal("")))
	require.NoError(t, err)
	r := c.Restaurants[0]
	assert.Equal(t, DefaultTimezone, r.Timezone)
	assert.Equal(t, DefaultCurrency, r.Currency)
	assert.Equal(t, "Asia/Jerusalem", r.Location().String())
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // every fragment must appear in the one-line error
	}{
		{"empty input", ``, []string{"invalid JSON"}},
		{"bad JSON", `{"restaurants":[{"id":"a",}]}`, []string{"invalid JSON", "at byte"}},
		{"not an object", `[{"name":"Nam"}]`, []string{"invalid JSON"}},
		{"seed's bare array", `[]`, []string{"invalid JSON"}},
		{"trailing data", minimal("") + `{}`, []string{"unexpected data after"}},
		{"unknown top-level field", `{"restaurants":[],"version":2}`, []string{`unknown field "version"`}},
		{"unknown restaurant field", minimal(`"id":"a","name":"A","style":"Thai","stars":5`), []string{`unknown field "stars"`}},
		{"unknown day", minimal(`"id":"a","name":"A","style":"Thai","hours":{"tues":[["10:00","11:00"]]}`), []string{`unknown field "tues"`}},
		{"wrong type", minimal(`"id":"a","name":"A","style":"Thai","menu":[{"id":"m1","name":"X","price":"12"}]`), []string{"price", "int64"}},
		{"interval shape", minimal(`"id":"a","name":"A","style":"Thai","hours":{"mon":[["10:00"]]}`), []string{`["HH:MM","HH:MM"]`}},
		{"restaurants missing", `{}`, []string{"restaurants missing"}},
		{"restaurants empty", `{"restaurants":[]}`, []string{"restaurants is empty"}},
		{"id missing", minimal(`"name":"A","style":"Thai"`), []string{"restaurants[0].id missing"}},
		{"id not a slug", minimal(`"id":"China City","name":"A","style":"Thai"`), []string{"restaurants[0].id", "lower-case"}},
		{"name missing", minimal(`"id":"a","style":"Thai"`), []string{"restaurants[0].name missing"}},
		{"name blank", minimal(`"id":"a","name":"  ","style":"Thai"`), []string{"restaurants[0].name missing"}},
		{"style missing", minimal(`"id":"a","name":"A"`), []string{"restaurants[0].style missing"}},
		{"control character", minimal(`"id":"a","name":"A\u0007","style":"Thai"`), []string{"restaurants[0].name contains control"}},
		{"rating above 5", minimal(`"id":"a","name":"A","style":"Thai","rating":5.5`), []string{"restaurants[0].rating 5.5 is outside 0..5"}},
		{"negative rating", minimal(`"id":"a","name":"A","style":"Thai","rating":-1`), []string{"rating -1 is outside"}},
		{"negative delivery time", minimal(`"id":"a","name":"A","style":"Thai","deliveryMinutes":-5`), []string{"deliveryMinutes -5"}},
		{"bad time zone", minimal(`"id":"a","name":"A","style":"Thai","timezone":"Mars/Olympus"`), []string{`timezone "Mars/Olympus"`}},
		{"server-local time zone", minimal(`"id":"a","name":"A","style":"Thai","timezone":"Local"`), []string{`timezone "Local"`}},
		{"bad currency", minimal(`"id":"a","name":"A","style":"Thai","currency":"shekel"`), []string{`currency "shekel"`}},
		{"bad hour", minimal(`"id":"a","name":"A","style":"Thai","hours":{"mon":[["25:00","26:00"]]}`), []string{"restaurants[0].hours.mon[0] times must be HH:MM"}},
		{"bad minute", minimal(`"id":"a","name":"A","style":"Thai","hours":{"fri":[["10:00","10:60"]]}`), []string{"hours.fri[0] times must be HH:MM"}},
		{"opens at 24:00", minimal(`"id":"a","name":"A","style":"Thai","hours":{"sun":[["24:00","02:00"]]}`), []string{"hours.sun[0]"}},
		{"empty interval", minimal(`"id":"a","name":"A","style":"Thai","hours":{"mon":[["10:00","10:00"]]}`), []string{"opens and closes at 10:00"}},
		{"negative price", minimal(`"id":"a","name":"A","style":"Thai","menu":[{"id":"m1","name":"X","price":-1}]`), []string{"restaurants[0].menu[0].price -1 is negative"}},
		{"menu item id missing", minimal(`"id":"a","name":"A","style":"Thai","menu":[{"name":"X","price":1}]`), []string{"restaurants[0].menu[0].id missing"}},
		{"menu item name missing", minimal(`"id":"a","name":"A","style":"Thai","menu":[{"id":"m1","price":1}]`), []string{"restaurants[0].menu[0].name missing"}},
		{"duplicate menu item", minimal(`"id":"a","name":"A","style":"Thai","menu":[{"id":"m1","name":"X","price":1},{"id":"m1","name":"Y","price":2}]`), []string{`restaurants[0].menu[1].id "m1" duplicates restaurants[0].menu[0]`}},
		{"bad tag", minimal(`"id":"a","name":"A","style":"Thai","menu":[{"id":"m1","name":"X","price":1,"tags":["Very Spicy"]}]`), []string{`tags[0] "Very Spicy"`}},
		{"duplicate restaurant id", `{"restaurants":[{"id":"a","name":"A","style":"Thai"},{"id":"a","name":"B","style":"Thai"}]}`, []string{`restaurants[1].id "a" duplicates restaurants[0]`}},
		{"duplicate name in another case", `{"restaurants":[{"id":"a","name":"Nam","style":"Thai"},{"id":"b","name":"NAM","style":"Thai"}]}`, []string{`restaurants[1].name "NAM" duplicates restaurants[0]`}},
		{"several problems at once", `{"restaurants":[{"name":"A","style":"Thai"},{"id":"b","style":"Thai","rating":9}]}`,
			[]string{"catalog rejected: 3 problems: ", "restaurants[0].id missing; ", "restaurants[1].name missing; ", "restaurants[1].rating 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.data))
			require.Error(t, err)
			assert.Nil(t, c)
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "want a *ParseError, got %T", err)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, "catalog rejected: "), msg)
			assert.NotContains(t, msg, "\n", "the error is one log line")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

func TestParseErrorListIsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"restaurants":[`)
	for i := 0; i < 25; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name":"x` + strings.Repeat("y", i) + `","style":"Thai"}`)
	}
	b.WriteString(`]}`)
	_, err := Parse([]byte(b.String()))
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "catalog rejected: 25 problems: ")
	assert.Equal(t, maxListedProblems-1, strings.Count(msg, "; restaurants["), "only the first problems are spelled out")
	assert.True(t, strings.HasSuffix(msg, "; and 15 more"), msg)
}

func TestVersion(t *testing.T) {
	data, err := os.ReadFile(shippedCatalog)
	require.NoError(t, err)
	first := loadShipped(t)
	require.Len(t, first.Version, 24)

	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, data))
	changed := bytes.Replace(data, []byte(`"price": 650`), []byte(`"price": 700`), 1)
	require.NotEqual(t, data, changed, "the fixture has China city's spring rolls at 650")
	defaulted := []byte(strings.Replace(minimal(""), `"rating":4,`, `"rating":4,"timezone":"Asia/Jerusalem","currency":"ILS",`, 1))

	tests := []struct {
		name string
		a, b []byte
		same bool
	}{
		{"same bytes parsed twice", data, data, true},
		{"reformatted", data, compact.Bytes(), true},
		{"defaults spelled out", []byte(minimal("")), defaulted, true},
		{"one price changed", data, changed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.a)
			require.NoError(t, err)
			b, err := Parse(tt.b)
			require.NoError(t, err)
			if tt.same {
				assert.Equal(t, a.Version, b.Version)
			} else {
				assert.NotEqual(t, a.Version, b.Version)
			}
		})
	}

	t.Run("marshal round trip", func(t *testing.T) {
		out, err := first.Marshal()
		require.NoError(t, err)
		again, err := Parse(out)
		require.NoError(t, err)
		assert.Equal(t, first.Version, again.Version)
		assert.Equal(t, first.Restaurants, again.Restaurants)
	})
}

func TestGenerate(t *testing.T) {
	a := Generate(2000, 7)
	b := Generate(2000, 7)
	other := Generate(2000, 8)
	assert.Equal(t, a.Version, b.Version, "same seed, same catalog")
	assert.NotEqual(t, a.Version, other.Version)

	out, err := a.Marshal()
	require.NoError(t, err)
	parsed, err := Parse(out)
	require.NoError(t, err, "Parse accepts what Generate writes")
	assert.Equal(t, a.Version, parsed.Version)

	styles := map[string]bool{}
	unicodeNames := 0
	for _, r := range a.Restaurants {
		styles[r.Style] = true
		if !isPlainASCII(r.Name) {
			unicodeNames++
		}
		assert.GreaterOrEqual(t, len(r.Menu), 4, r.Name)
		assert.LessOrEqual(t, len(r.Menu), 8, r.Name)
	}
	assert.GreaterOrEqual(t, len(styles), 12)
	assert.Positive(t, unicodeNames, "some names need Unicode folding")
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"China city", "china-city"},
		{"Café Noir", "cafe-noir"},
		{"Dr. Shakshuka", "dr-shakshuka"},
		{"  --  ", "restaurant"},
		{"Ramen Ōsaka #2", "ramen-osaka-2"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Slug(tt.in)
			assert.Equal(t, tt.want, got)
			assert.True(t, isSlug(got))
		})
	}
}
