//go:build cluster || argocd

package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

func TestMain(m *testing.M) {
	if os.Getenv("KUBECONFIG") == "" { // a test that cannot reach its cluster fails, never skips
		fmt.Fprintln(os.Stderr, "tests/cluster: KUBECONFIG is not set; run make k8s-test (or make k8s-up first)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// catalogEntry is what the tests read of the chart's catalog file.
type catalogEntry struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Style      string `json:"style"`
	Vegetarian bool   `json:"vegetarian"`
	Delivery   bool   `json:"delivery"`
}

func chartCatalog(t *testing.T) []catalogEntry {
	b, err := os.ReadFile(filepath.Join(repoRoot(), "helm", "kafka-restaurants", "files", "restaurants.json"))
	require.NoError(t, err)
	var c struct {
		Restaurants []catalogEntry `json:"restaurants"`
	}
	require.NoError(t, json.Unmarshal(b, &c))
	require.NotEmpty(t, c.Restaurants)
	return c.Restaurants
}

func searchIDs(t *testing.T, web, query string) []string {
	t.Helper()
	r := stack.Do(t, http.MethodGet, web+"/api/search?"+query, nil, nil)
	require.Equal(t, http.StatusOK, r.Status, "search %s: %s", query, r.Body)
	var got []catalogEntry
	r.JSON(t, &got)
	ids := []string{}
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	return ids
}

// placeOrder posts an order through the frontend Service, pacing itself by the frontend's
// rate limit (a 429 or 503 from nginx's limit_req is retried with the same key).
func placeOrder(t testing.TB, web, restaurant, card, key string) string {
	t.Helper()
	body := fmt.Sprintf(`{"restaurant":%q,"email":"dana@example.com","creditCard":%q}`, restaurant, card)
	var id string
	stack.Eventually(t, time.Minute, "order accepted", func() bool {
		r := stack.Do(t, http.MethodPost, web+"/api/orders", []byte(body), map[string]string{"Idempotency-Key": key})
		switch r.Status {
		case http.StatusAccepted, http.StatusOK:
			var a struct {
				OrderID string `json:"orderId"`
			}
			r.JSON(t, &a)
			id = a.OrderID
			return id != ""
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return false
		default:
			t.Fatalf("order %s: %d %s", key, r.Status, r.Body)
			return false
		}
	})
	return id
}
