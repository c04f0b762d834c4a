package browser

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

type menuItem struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
}

type restaurant struct {
	ID   string     `json:"id"`
	Name string     `json:"name"`
	Menu []menuItem `json:"menu"`
}

// getRestaurant reads a restaurant the way the page does, through nginx.
func getRestaurant(t *testing.T, id string) restaurant {
	t.Helper()
	r := stack.Do(t, http.MethodGet, stack.WebURL+"/api/restaurants/"+url.PathEscape(id), nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var rest restaurant
	r.JSON(t, &rest)
	require.NotEmpty(t, rest.Menu, "%s has a menu", id)
	return rest
}

// searchNames asks the API directly what a search should show, in page order.
func searchNames(t *testing.T, query string) []string {
	t.Helper()
	r := stack.Do(t, http.MethodGet, stack.WebURL+"/api/search?"+query, nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var rs []restaurant
	r.JSON(t, &rs)
	names := make([]string, 0, len(rs))
	for _, x := range rs {
		names = append(names, x.Name)
	}
	return names
}

// shekels formats minor units as the page does for ILS in English: ₪1,234.50.
func shekels(minor int64) string {
	whole := fmt.Sprint(minor / 100)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return fmt.Sprintf("₪%s.%02d", whole, minor%100)
}

func addOne(item string) string {
	return fmt.Sprintf(`[data-item=%q] button[aria-label^="Add one"]`, item)
}

// orderOnStatusPage waits for the browser to land on the status page and returns the id.
func orderOnStatusPage(t *testing.T, b *browser) string {
	t.Helper()
	b.waitFor(t, "the status page", `location.pathname === '/status.html' && !!new URLSearchParams(location.search).get('id')`)
	id := eval[string](t, b, `new URLSearchParams(location.search).get('id')`)
	require.True(t, strings.HasPrefix(id, "ord_"), "order id %q", id)
	return id
}

func waitStatus(t *testing.T, b *browser, status string) {
	t.Helper()
	b.waitFor(t, "status "+status, fmt.Sprintf(`document.getElementById('banner').dataset.status === %q`, status))
}

// TestSite drives the whole site in Chromium against the real local stack: search, order,
// the status page, keyboard-only use, client-side checks, and the security headers.
func TestSite(t *testing.T) {
	b := newBrowser(t)
	s := stack.Start(t, stack.Options{})
	web := stack.WebURL

	t.Run("searching china with vegetarian shows the matching cards", func(t *testing.T) {
		b.setViewport(t, desktop)
		b.run(t, "open the search page", chromedp.Navigate(web+"/"))
		b.waitFor(t, "the first page of results", `document.querySelectorAll('#results .card').length > 0 && !document.getElementById('results').hasAttribute('aria-busy')`)
		b.waitFor(t, "the styles from the API", `document.querySelectorAll('#style option').length > 1`)
		assert.Equal(t, searchNames(t, "limit=6"), b.texts(t, "#results .card__title"), "first page in name order")
		b.screenshot(t, "search-desktop")
		b.setViewport(t, mobile)
		b.screenshot(t, "search-mobile")
		b.setViewport(t, desktop)

		b.run(t, "type china and tick vegetarian",
			chromedp.SendKeys(chromedp.CSS("#q"), "china"),
			chromedp.Click(chromedp.CSS("#vegetarian")))
		b.waitFor(t, "the filtered results", `location.search.includes('q=china') && location.search.includes('vegetarian=true') && !document.getElementById('results').hasAttribute('aria-busy') && document.querySelectorAll('#results .card').length > 0`)
		want := searchNames(t, "q=china&vegetarian=true")
		got := b.texts(t, "#results .card__title")
		assert.Equal(t, want, got)
		assert.Contains(t, got, "China city")
		assert.NotContains(t, got, "China town", "China town is not vegetarian")
		// The count is a live region: announce() writes it one animation frame after the
		// results (so a screen reader hears a repeat); wait for it rather than race it.
		b.waitFor(t, "the count announced", fmt.Sprintf(`document.getElementById('count').textContent.startsWith('%d restaurant')`, len(want)))
		b.clean(t)
	})

	t.Run("paging walks through every restaurant", func(t *testing.T) {
		b.run(t, "open the search page", chromedp.Navigate(web+"/"))
		b.waitFor(t, "the pager", `!document.getElementById('pager').hidden && document.querySelectorAll('#results .card').length > 0`)
		assert.Equal(t, "Page 1 of 3", b.texts(t, "#page-info")[0])
		b.run(t, "next page", chromedp.Click(chromedp.CSS("#next")))
		b.waitFor(t, "page 2", `document.getElementById('page-info').textContent === 'Page 2 of 3' && !document.getElementById('results').hasAttribute('aria-busy')`)
		assert.Equal(t, searchNames(t, "limit=6&offset=6"), b.texts(t, "#results .card__title"))
		b.clean(t)
	})

	t.Run("an approved order reaches confirmed and is emailed", func(t *testing.T) {
		rest := getRestaurant(t, "china-city")
		first, second := rest.Menu[0], rest.Menu[1]
		total := 2*first.Price + second.Price
		email := "browser-approved@example.com"

		b.run(t, "open China city", chromedp.Navigate(web+"/restaurant.html?id=china-city"))
		b.waitFor(t, "the menu", `document.querySelectorAll('#menu .menu-item').length > 0`)
		assert.Equal(t, []string{rest.Name}, b.texts(t, "h1"))
		b.run(t, "choose dishes",
			chromedp.Click(chromedp.CSS(addOne(first.ID))),
			chromedp.Click(chromedp.CSS(addOne(first.ID))),
			chromedp.Click(chromedp.CSS(addOne(second.ID))))
		assert.Equal(t, shekels(total), b.texts(t, "#total")[0], "running total from minor units")
		assert.Equal(t, []string{"2 × " + first.Name, "1 × " + second.Name}, b.texts(t, "#basket li span:first-child"))
		b.run(t, "fill the form",
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#card"), "4242424242424242"),
			chromedp.SendKeys(chromedp.CSS("#expiry"), "1230"))
		assert.Equal(t, "4242 4242 4242 4242", eval[string](t, b, `document.getElementById('card').value`), "grouped as typed")
		assert.Equal(t, "12/30", eval[string](t, b, `document.getElementById('expiry').value`))
		assert.Contains(t, b.texts(t, "#card-hint")[0], "Visa")
		b.screenshot(t, "restaurant-desktop")
		b.setViewport(t, mobile)
		b.screenshot(t, "restaurant-mobile")
		b.setViewport(t, desktop)

		b.run(t, "place the order", chromedp.Click(chromedp.CSS("#submit")))
		id := orderOnStatusPage(t, b)
		waitStatus(t, b, "confirmed")
		assert.Equal(t, []string{"Order confirmed"}, b.texts(t, "#status-heading"))
		steps := eval[[]string](t, b, `Array.from(document.querySelectorAll('#timeline li'), (li) => li.dataset.status)`)
		assert.Equal(t, []string{"accepted", "paid", "confirmed"}, steps)
		summary := strings.Join(b.texts(t, "#summary dd"), " | ")
		assert.Contains(t, summary, "•••• 4242")
		assert.Contains(t, summary, shekels(total))
		assert.NotContains(t, summary, "4242424242424242")
		b.screenshot(t, "status-confirmed-desktop")
		b.setViewport(t, mobile)
		b.screenshot(t, "status-confirmed-mobile")
		b.setViewport(t, desktop)

		msgs := s.Mail.Search(t, id)
		require.Len(t, msgs, 1, "one confirmation email")
		assert.Equal(t, email, msgs[0].To[0].Address)
		assert.Contains(t, s.Mail.Body(t, msgs[0].ID), "/status.html?id="+id, "the email links to this page")
		charges := s.Bank.Charges(t, id)
		require.Len(t, charges, 1, "charged once")
		assert.Equal(t, total, charges[0].Amount, "charged the catalog price of what was chosen")
		b.clean(t)
	})

	t.Run("a declined card shows declined", func(t *testing.T) {
		b.run(t, "open Sabich", chromedp.Navigate(web+"/restaurant.html?id=sabich"))
		b.waitFor(t, "the menu", `document.querySelectorAll('#menu .menu-item').length > 0`)
		// No dishes: the seed's order (restaurant, email, card) still works.
		b.run(t, "order with the declined test card",
			chromedp.SendKeys(chromedp.CSS("#email"), "browser-declined@example.com"),
			chromedp.SendKeys(chromedp.CSS("#card"), "4000 0000 0000 0002"),
			chromedp.Click(chromedp.CSS("#submit")))
		id := orderOnStatusPage(t, b)
		waitStatus(t, b, "notified_declined")
		assert.Equal(t, []string{"Card declined"}, b.texts(t, "#status-heading"))
		assert.Contains(t, b.texts(t, "#status-text")[0], "nothing was charged")
		assert.True(t, eval[bool](t, b, `!!document.querySelector('#actions a[href="/restaurant.html?id=sabich"]')`), "offers to try another card")
		b.screenshot(t, "status-declined-desktop")
		stack.Eventually(t, 10*time.Second, "the decline email", func() bool { return len(s.Mail.Search(t, id)) == 1 })
		b.clean(t)
	})

	t.Run("keyboard-only ordering works", func(t *testing.T) {
		rest := getRestaurant(t, "china-town")
		b.run(t, "open the search page", chromedp.Navigate(web+"/"))
		b.waitFor(t, "results", `document.querySelectorAll('#results .card').length > 0`)
		b.tabTo(t, "the China town card", `el.matches('#results .card__title a') && el.textContent === 'China town'`)
		b.press(t, "\r")
		b.waitFor(t, "the restaurant page", `location.pathname === '/restaurant.html' && document.querySelectorAll('#menu .menu-item').length > 0`)
		b.tabTo(t, "the first dish's add button", fmt.Sprintf(`el.getAttribute('aria-label') === %q`, "Add one "+rest.Menu[0].Name))
		b.press(t, "\r")
		b.press(t, " ")
		assert.Equal(t, "2", b.texts(t, fmt.Sprintf(`[data-item=%q] output`, rest.Menu[0].ID))[0], "Enter and Space each add one")
		b.tabTo(t, "the email field", `el.id === 'email'`)
		b.press(t, "keyboard@example.com\t")
		assert.Equal(t, "card", eval[string](t, b, `document.activeElement.id`), "Tab goes from email to card")
		b.press(t, "5555555555554444\t")
		assert.Equal(t, "expiry", eval[string](t, b, `document.activeElement.id`))
		b.press(t, "\t")
		assert.Equal(t, "submit", eval[string](t, b, `document.activeElement.id`))
		assert.NotEqual(t, "none", eval[string](t, b, `getComputedStyle(document.activeElement).outlineStyle`), "focus is visible")
		b.press(t, "\r")
		orderOnStatusPage(t, b)
		waitStatus(t, b, "confirmed")
		b.clean(t)
	})

	t.Run("bad input is caught before sending and a double submit places one order", func(t *testing.T) {
		email := "browser-double@example.com"
		b.run(t, "open Ima", chromedp.Navigate(web+"/restaurant.html?id=ima"))
		b.waitFor(t, "the menu", `document.querySelectorAll('#menu .menu-item').length > 0`)
		b.run(t, "mistype the card",
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#card"), "4242424242424241"),
			chromedp.Click(chromedp.CSS("#submit")))
		assert.Contains(t, b.texts(t, "#card-error")[0], "not valid")
		assert.Equal(t, "true", eval[string](t, b, `document.getElementById('card').getAttribute('aria-invalid')`))
		assert.Equal(t, "card", eval[string](t, b, `document.activeElement.id`), "focus moves to the field in error")
		assert.Equal(t, 0, eval[int](t, b, `performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/orders')).length`), "nothing sent")

		b.run(t, "fix the card", chromedp.Evaluate[chromedp.Void](`(() => { const c = document.getElementById('card'); c.value = ''; c.focus(); })()`))
		b.press(t, "4242424242424242")
		assert.Empty(t, b.texts(t, "#card-error")[0])
		b.run(t, "submit twice at once", chromedp.Evaluate[chromedp.Void](`(() => { const f = document.getElementById('order-form'); f.requestSubmit(); f.requestSubmit(); })()`))
		id := orderOnStatusPage(t, b)
		waitStatus(t, b, "confirmed")
		stack.Eventually(t, 10*time.Second, "the email", func() bool { return len(s.Mail.Search(t, "to:"+email)) > 0 })
		assert.Len(t, s.Mail.Search(t, "to:"+email), 1, "one order, one email")
		assert.Len(t, s.Bank.Charges(t, id), 1)
		b.clean(t)
	})

	t.Run("security headers are on pages, assets, errors and API answers", func(t *testing.T) {
		for _, path := range []string{"/", "/restaurant.html?id=ima", "/status.html?id=x", "/does-not-exist", "/css/site.css", "/api/styles", "/api/restaurants/nope", "/api/internal/orders/x/transitions"} {
			t.Run(path, func(t *testing.T) {
				r := stack.Do(t, http.MethodGet, web+path, nil, nil)
				csp := r.Header.Get("Content-Security-Policy")
				for _, d := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
					assert.Contains(t, csp, d)
				}
				assert.NotContains(t, csp, "unsafe-inline")
				assert.NotContains(t, csp, "unsafe-eval")
				assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
				assert.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
				assert.Contains(t, r.Header.Get("Strict-Transport-Security"), "max-age=")
				assert.Equal(t, "nginx", r.Header.Get("Server"), "no version")
			})
		}
	})

	t.Run("pages run under the CSP, which blocks injected markup and script", func(t *testing.T) {
		for _, path := range []string{"/", "/restaurant.html?id=ima", "/status.html"} {
			b.run(t, "open "+path, chromedp.Navigate(web+path))
			b.waitFor(t, "the page's script", `document.readyState === 'complete' && document.querySelector('h1').textContent.trim() !== 'Loading…'`)
			b.clean(t)
		}
		blocked := eval[string](t, b, `(() => { try { document.body.innerHTML = '<b>x</b>'; return 'allowed'; } catch (e) { return e.name; } })()`)
		assert.Equal(t, "TypeError", blocked, "Trusted Types refuse innerHTML")
		b.clean(t, "TrustedHTML")

		b.run(t, "open a missing page", chromedp.Navigate(web+"/nope"))
		assert.Equal(t, []string{"Page not found"}, b.texts(t, "h1"))
		b.clean(t, "404")
	})
}
