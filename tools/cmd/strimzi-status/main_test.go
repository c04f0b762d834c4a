package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decode(t *testing.T, raw string) resource {
	t.Helper()
	var r resource
	require.NoError(t, json.Unmarshal([]byte(raw), &r))
	return r
}

// A resource is reported on until its status says Ready for the generation it has now:
// an edit (a new generation) is reported again, as Strimzi's operator does.
func TestReadyOnlyForTheCurrentGeneration(t *testing.T) {
	cases := map[string]struct {
		raw   string
		ready bool
	}{
		"no status":        {`{"metadata":{"name":"k","generation":1}}`, false},
		"ready":            {`{"metadata":{"name":"k","generation":2},"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"True"}]}}`, true},
		"older generation": {`{"metadata":{"name":"k","generation":3},"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"True"}]}}`, false},
		"not ready":        {`{"metadata":{"name":"k","generation":1},"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"False"}]}}`, false},
		"other condition":  {`{"metadata":{"name":"k","generation":1},"status":{"observedGeneration":1,"conditions":[{"type":"NotReady","status":"True"}]}}`, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.ready, decode(t, tc.raw).ready())
		})
	}
}

// The patch is what Argo CD's health checks for Strimzi's kinds read: a Ready condition,
// True, for the resource's generation; applied, it makes the resource ready.
func TestReadyPatchMakesTheResourceReady(t *testing.T) {
	r := decode(t, `{"metadata":{"name":"kafka-restaurants","generation":4}}`)
	patch, err := readyPatch(r, time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	var applied resource
	require.NoError(t, json.Unmarshal([]byte(`{"metadata":{"name":"kafka-restaurants","generation":4}}`), &applied))
	require.NoError(t, json.Unmarshal(patch, &applied))
	assert.True(t, applied.ready())
	assert.Equal(t, "2026-12-01T03:00:00Z", applied.Status.Conditions[0].LastTransitionTime)
}
