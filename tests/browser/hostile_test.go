package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

const (
	hostileName = `<img src=x onerror=alert(1)>`
	hostileDish = `<script>alert(2)</script>`
	hostileDesc = `<b onmouseover=alert(3)>bold</b>"><svg onload=alert(4)>`
)

// hostileCatalog writes the default catalog plus one restaurant whose texts are markup,
// as a careless or malicious catalog editor could, and returns the file's path.
func hostileCatalog(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(stack.Root(t), "helm", "kafka-restaurants", "files", "restaurants.json"))
	require.NoError(t, err)
	var cat map[string][]map[string]any
	require.NoError(t, json.Unmarshal(raw, &cat))
	cat["restaurants"] = append(cat["restaurants"], map[string]any{
		"id": "xss-test", "name": hostileName, "style": "Italian",
		"vegetarian": true, "delivery": true, "area": `<i>Area</i>`, "address": "1 <u>Test</u> St",
		"timezone": "Asia/Jerusalem", "rating": 3.0, "currency": "ILS",
		"hours": map[string]any{"mon": [][]string{{"00:00", "24:00"}}},
		"menu":  []map[string]any{{"id": "m1", "name": hostileDish, "description": hostileDesc, "price": 1000, "tags": []string{"spicy"}}},
	})
	out, err := json.Marshal(cat)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "restaurants.json")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// TestHostileCatalog proves that catalog data is shown as text and never runs: a restaurant
// named <img src=x onerror=alert(1)> is searched, opened, ordered from and followed on the
// status page, and no dialog opens, no element is injected, and no page reports an error.
func TestHostileCatalog(t *testing.T) {
	b := newBrowser(t)
	stack.Start(t, stack.Options{Catalog: hostileCatalog(t)})
	web := stack.WebURL

	injected := `document.querySelectorAll('main img, main script, main svg, main b, main i, main u, main em').length`

	t.Run("search results show the name as text", func(t *testing.T) {
		b.run(t, "search for it", chromedp.Navigate(web+"/?q=onerror&vegetarian=true"))
		b.waitFor(t, "the results", `document.querySelectorAll('#results .card').length > 0 && !document.getElementById('results').hasAttribute('aria-busy')`)
		assert.Equal(t, []string{hostileName}, b.texts(t, "#results .card__title"))
		assert.Equal(t, 0, eval[int](t, b, injected), "no element made from catalog data")
		b.clean(t)
	})

	t.Run("the restaurant page shows every text as text", func(t *testing.T) {
		b.run(t, "open it", chromedp.Navigate(web+"/restaurant.html?id=xss-test"))
		b.waitFor(t, "the menu", `document.querySelectorAll('#menu .menu-item').length > 0`)
		assert.Equal(t, []string{hostileName}, b.texts(t, "h1"))
		assert.Equal(t, []string{hostileDish}, b.texts(t, "#menu h3"))
		assert.Equal(t, []string{hostileDesc}, b.texts(t, "#menu .menu-item__info > p"))
		assert.Equal(t, fmt.Sprintf("%s · Kafka Restaurants", hostileName), eval[string](t, b, `document.title`))
		assert.Equal(t, 0, eval[int](t, b, injected))
		b.run(t, "hover everything and order",
			chromedp.Click(chromedp.CSS(addOne("m1"))),
			chromedp.SendKeys(chromedp.CSS("#email"), "hostile@example.com"),
			chromedp.SendKeys(chromedp.CSS("#card"), "4242424242424242"),
			chromedp.Click(chromedp.CSS("#submit")))
		orderOnStatusPage(t, b)
		waitStatus(t, b, "confirmed")
		assert.Contains(t, b.texts(t, "#summary dd"), hostileName)
		assert.Contains(t, b.texts(t, "#items li span:first-child"), "1 × "+hostileDish)
		assert.Equal(t, 0, eval[int](t, b, injected))
		b.clean(t)
	})

	t.Run("the API returns the name unchanged", func(t *testing.T) {
		// The page, not the API, is responsible for the escaping: the data stays as written.
		r := stack.Do(t, http.MethodGet, web+"/api/restaurants/xss-test", nil, nil)
		require.Equal(t, http.StatusOK, r.Status)
		var rest restaurant
		r.JSON(t, &rest)
		assert.Equal(t, hostileName, rest.Name)
	})
}
