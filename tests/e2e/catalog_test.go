package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// writeAtomic replaces the file the way an editor or a ConfigMap update does.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, data, 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// TestCatalogLiveUpdate edits the catalog file of a running stack and watches search
// results follow within 5 seconds, with no restart; a malformed catalog is rejected and
// the previous one keeps serving.
func TestCatalogLiveUpdate(t *testing.T) {
	root := stack.Root(t)
	orig, err := os.ReadFile(filepath.Join(root, "helm/kafka-restaurants/files/restaurants.json"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "catalog.json")
	require.NoError(t, os.WriteFile(path, orig, 0o644))
	s := stack.Start(t, stack.Options{Catalog: path})

	find := func(name string) []string { return search(t, url.Values{"restaurant_name": {name}}) }
	require.Empty(t, find("Falafel Fresh"))

	var cat map[string]any
	require.NoError(t, json.Unmarshal(orig, &cat))
	rs := cat["restaurants"].([]any)
	cat["restaurants"] = append(rs, map[string]any{
		"id": "falafel-fresh", "name": "Falafel Fresh", "style": "Israeli", "vegetarian": true, "delivery": true,
		"menu": []any{map[string]any{"id": "falafel", "name": "Falafel in pita", "price": 2800}},
	})
	updated, err := json.Marshal(cat)
	require.NoError(t, err)

	start := time.Now()
	writeAtomic(t, path, updated)
	stack.Eventually(t, 5*time.Second, "the new restaurant in search results", func() bool {
		return len(find("Falafel Fresh")) == 1
	})
	t.Logf("catalog change served through nginx after %s", time.Since(start).Round(time.Millisecond))

	r := stack.Do(t, http.MethodGet, stack.WebURL+"/api/restaurants/falafel-fresh", nil, nil)
	assert.Equal(t, http.StatusOK, r.Status)

	bad := []struct{ name, content string }{
		{"bad JSON", `{"restaurants": [`},
		{"duplicate ids", strings.Replace(string(updated), `"id":"falafel-fresh"`, `"id":"china-city"`, 1)},
		{"negative price", strings.Replace(string(updated), `"price":2800`, `"price":-1`, 1)},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			rejected := strings.Count(s.ReadLog(t, "catalog"), "catalog rejected")
			writeAtomic(t, path, []byte(b.content))
			stack.Eventually(t, 5*time.Second, "the rejection to be logged", func() bool {
				return strings.Count(s.ReadLog(t, "catalog"), "catalog rejected") == rejected+1
			})
			assert.Len(t, find("Falafel Fresh"), 1, "the previous catalog keeps serving")
			assert.Len(t, find("China city"), 1)
		})
	}
}

// TestLargeCatalog serves a generated 10,000-restaurant catalog (about 10 MB) through the
// whole chain: the loader's chunks and the API's reads each stay under the sidecar's
// message limit.
func TestLargeCatalog(t *testing.T) {
	c := catalog.Generate(10000, 1)
	data, err := c.Marshal()
	require.NoError(t, err)
	require.Greater(t, len(data), 4<<20, "bigger than one gRPC message")
	path := filepath.Join(t.TempDir(), "c10k.json")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	stack.Start(t, stack.Options{Catalog: path})

	r := stack.Do(t, http.MethodGet, stack.WebURL+"/api/search?limit=5", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, "10000", r.Header.Get("X-Total-Count"))
	var page []restaurant
	r.JSON(t, &page)
	assert.Len(t, page, 5)
}
