package k8s

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
)

// `helm lint --strict` for every chart and values profile: warnings fail too. The
// charts' CRD checks are switched off here because lint has no cluster to ask.
func TestHelmLintStrict(t *testing.T) {
	offline := map[string]map[string]any{
		"kafka-restaurants": {"dapr.requireCRDs": false},
		"kafka-cluster":     {"requireCRDs": false},
	}
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = p.ns
			res := lint.Run([]string{filepath.Join(repoRoot(t), "helm", p.chart)}, profileValues(t, p, offline[p.chart]))
			require.Equal(t, 1, res.TotalChartsLinted)
			for _, m := range res.Messages {
				t.Log(m.Error())
			}
			require.Empty(t, res.Errors)
		})
	}
}
