//go:build !race

package catalog

import "testing"

// TestHeap100k holds the index to its memory budget: 100,000 restaurants in under
// 200 MiB. The race detector inflates the heap, so this runs without it.
func TestHeap100k(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-restaurant catalog")
	}
	mib := heapOf100k(t)
	t.Logf("100,000 restaurants parsed and indexed: %.1f MiB heap", mib)
	if mib >= 200 {
		t.Fatalf("100,000 restaurants take %.1f MiB, budget 200 MiB", mib)
	}
}
