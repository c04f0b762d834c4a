package attack

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// trustedProxy is the one address this stack's nginx takes a forwarded client address from
// (NGINX_TRUSTED_PROXIES): it plays the Ingress controller. Every other test client comes
// from 127.1.x.y, which nginx trusts with nothing.
const trustedProxy = "127.2.0.1"

// proxyClient is the Ingress controller: every request from the trusted address.
func proxyClient() *http.Client {
	return &http.Client{
		Timeout:       15 * time.Second,
		Transport:     &http.Transport{DialContext: dialFrom(net.ParseIP(trustedProxy)), DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refusedOrder is an order the API turns down (no such restaurant): it spends the
// allowance like any order and places nothing.
const refusedOrder = `{"restaurant":"no-such-place","email":"realip@example.com","creditCard":"4242424242424242"}`

// postOrders sends n refused orders as c with the given headers and returns the statuses:
// 400 means nginx let it through to the API, 429 that the rate limit held.
func postOrders(t *testing.T, c *http.Client, n int, header func(i int) map[string]string) []int {
	t.Helper()
	var out []int
	for i := range n {
		r := send(t, c, http.MethodPost, "/api/orders", []byte(refusedOrder), header(i))
		if r.Status == http.StatusTooManyRequests {
			assert.Equal(t, "rate_limited", errorOf(t, r).Code)
		} else {
			assert.Equal(t, "unknown_restaurant", errorOf(t, r).Code, "%d %s", r.Status, r.Body)
		}
		out = append(out, r.Status)
	}
	return out
}

// allowance is what one client address may do from a full bucket: orderBurst+1 orders
// served, then 429s.
func allowance(n int) []int {
	want := make([]int, n)
	for i := range want {
		want[i] = http.StatusTooManyRequests
		if i <= orderBurst {
			want[i] = http.StatusBadRequest
		}
	}
	return want
}

// forwardedAddresses: nginx takes a forwarded client address only from a trusted proxy.
// A browser that sends X-Forwarded-For or X-Real-IP itself keeps its own bucket, whatever
// it writes; through the trusted proxy each forwarded client has a bucket of its own, and
// what a browser wrote in front of the address the proxy appended is not read.
func forwardedAddresses(t *testing.T) {
	t.Run("a browser cannot pick its bucket with forwarded headers", func(t *testing.T) {
		n := 2 * (orderBurst + 1)
		got := postOrders(t, client(), n, func(i int) map[string]string {
			a := fmt.Sprintf("203.0.113.%d", i+1)
			return map[string]string{"X-Forwarded-For": a, "X-Real-IP": a, "Forwarded": "for=" + a}
		})
		assert.Equal(t, allowance(n), got, "every spoofed address spent the browser's own allowance")
	})

	t.Run("behind the trusted proxy each client has its own bucket", func(t *testing.T) {
		proxy := proxyClient()
		n := orderBurst + 3
		alice := postOrders(t, proxy, n, func(int) map[string]string { return map[string]string{"X-Forwarded-For": "198.51.100.1"} })
		assert.Equal(t, allowance(n), alice, "the first forwarded client meets the limit")

		bob := postOrders(t, proxy, orderBurst+1, func(int) map[string]string { return map[string]string{"X-Forwarded-For": "198.51.100.2"} })
		assert.Equal(t, allowance(orderBurst+1), bob, "the second forwarded client has a full bucket of its own")

		// Alice's browser wrote an address of its own; the proxy appended the one it saw.
		// nginx reads from the right: still Alice, still refused.
		spoofed := postOrders(t, proxy, 3, func(i int) map[string]string {
			return map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d, %s, 198.51.100.1", 50+i, trustedProxy)}
		})
		assert.Equal(t, []int{429, 429, 429}, spoofed, "what the browser put in front of the proxy's entry is not read")
	})
}
