package k8s

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenRefs are the token Secrets one app's pod names: the sidecar's, from the Dapr
// annotations, and the app container's, from its env (secretKeyRef), by variable.
type tokenRefs struct {
	sidecar map[string]string // "api" / "app" -> Secret (dapr.io/<kind>-token-secret)
	app     map[string]string // DAPR_API_TOKEN / APP_API_TOKEN -> Secret
}

func podTokenRefs(t *testing.T, tpl map[string]any, appID string) tokenRefs {
	t.Helper()
	refs := tokenRefs{sidecar: map[string]string{}, app: map[string]string{}}
	for _, kind := range []string{"api", "app"} {
		if name := str(tpl, "metadata", "annotations", "dapr.io/"+kind+"-token-secret"); name != "" {
			refs.sidecar[kind] = name
		}
	}
	for _, c := range sliceAt(tpl, "spec", "containers") {
		if str(c, "name") != appID {
			continue
		}
		for _, e := range sliceAt(c, "env") {
			if ref := str(e, "valueFrom", "secretKeyRef", "name"); ref != "" {
				refs.app[str(e, "name")] = ref
				assert.Equal(t, "token", str(e, "valueFrom", "secretKeyRef", "key"), "%s: %s", appID, str(e, "name"))
			}
		}
	}
	return refs
}

// existingTokenSecrets are the token Secrets the values say are managed outside the chart.
func existingTokenSecrets(vals map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, kinds := range mapAt(vals, "dapr", "tokens") {
		for _, cfg := range kinds.(map[string]any) {
			if name := str(cfg, "existingSecret"); name != "" {
				out[name] = true
			}
		}
	}
	return out
}

// Each app's sidecar and app container name the same pair of token Secrets, a pair no
// other app names (so one app's tokens open neither another app nor its sidecar), and each
// Secret exists: rendered with a token of its own, or managed outside the chart.
func TestEachAppHasItsOwnTokenSecrets(t *testing.T) {
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			objs := mustRender(t, p)
			vals := effectiveValues(t, p)
			external := existingTokenSecrets(vals)
			rendered := map[string]string{} // Secret -> its token
			for _, o := range byKind(objs, "Secret") {
				if tok := str(o.obj, "data", "token"); tok != "" {
					b, err := base64.StdEncoding.DecodeString(tok)
					require.NoError(t, err, o.id())
					rendered[o.name()] = string(b)
				}
			}
			owner := map[string]string{} // Secret -> "app kind" that names it
			pods := map[string]map[string]any{}
			for _, tpl := range podTemplates(objs) {
				if id := str(tpl, "metadata", "annotations", "dapr.io/app-id"); id != "" {
					pods[id] = tpl
				}
			}
			require.ElementsMatch(t, []string{"frontend", "api", "transactions", "email", "catalog"}, keys(pods))
			for id, tpl := range pods {
				refs := podTokenRefs(t, tpl, id)
				require.NotEmpty(t, refs.sidecar["api"], "%s's sidecar takes no Dapr API token", id)
				require.NotEmpty(t, refs.sidecar["app"], "%s's sidecar presents no app token", id)
				assert.NotEqual(t, refs.sidecar["api"], refs.sidecar["app"], "%s: one Secret for both tokens", id)
				if id == "frontend" {
					// nginx presents the API token to its sidecar and checks no app token.
					assert.Equal(t, map[string]string{"DAPR_API_TOKEN": refs.sidecar["api"]}, refs.app, "nginx")
				} else {
					assert.Equal(t, map[string]string{"DAPR_API_TOKEN": refs.sidecar["api"], "APP_API_TOKEN": refs.sidecar["app"]}, refs.app,
						"%s's app container reads its own sidecar's pair", id)
				}
				for kind, name := range refs.sidecar {
					who := id + " " + kind + " token"
					assert.NotContains(t, owner, name, "Secret %s is both %s and %s", name, owner[name], who)
					owner[name] = who
					assert.True(t, rendered[name] != "" || external[name], "%s: Secret %s is neither rendered nor existing", who, name)
				}
			}
			seen := map[string]string{}
			for name, tok := range rendered {
				assert.Contains(t, owner, name, "token Secret %s belongs to no app (a leftover shared one?)", name)
				assert.NotContains(t, seen, tok, "Secrets %s and %s hold the same token", name, seen[tok])
				seen[tok] = name
			}
		})
	}
}

// Token settings are per app: the old chart-wide ones, and two apps (or two kinds) given
// one Secret or one value, fail the render with a message that says what to set instead;
// a value or an existing Secret for one app's token changes that token only.
func TestTokenValuesAreChecked(t *testing.T) {
	p := appProfiles[0]
	for name, tc := range map[string]struct {
		set  map[string]any
		fail string
	}{
		"the old shared API token Secret": {map[string]any{"dapr.apiToken.existingSecret": "dapr-api-token"}, "dapr.tokens"},
		"the old shared app token value":  {map[string]any{"dapr.appToken.value": "s3cret"}, "dapr.tokens"},
		"one Secret for two apps": {map[string]any{
			"dapr.tokens.api.apiToken.existingSecret":          "shared",
			"dapr.tokens.transactions.apiToken.existingSecret": "shared"}, "shared"},
		"one Secret for both of an app's tokens": {map[string]any{
			"dapr.tokens.email.apiToken.existingSecret": "email-tokens",
			"dapr.tokens.email.appToken.existingSecret": "email-tokens"}, "email-tokens"},
		"one value for two apps": {map[string]any{
			"dapr.tokens.api.appToken.value":     "same-token",
			"dapr.tokens.catalog.appToken.value": "same-token"}, "same value"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, p, tc.set, clusterAPIVersions)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.fail)
		})
	}

	t.Run("one app's own value and existing Secret", func(t *testing.T) {
		objs, err := render(t, p, map[string]any{
			"dapr.tokens.api.apiToken.value":                   "api-sidecar-token",
			"dapr.tokens.email.appToken.existingSecret":        "email-app-token-from-vault",
			"dapr.tokens.transactions.appToken.existingSecret": "",
		}, clusterAPIVersions)
		require.NoError(t, err)
		secrets := map[string]string{}
		for _, o := range byKind(objs, "Secret") {
			secrets[o.name()] = str(o.obj, "data", "token")
		}
		assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("api-sidecar-token")), secrets["api-dapr-api-token"])
		assert.NotContains(t, secrets, "email-dapr-app-token", "an existing Secret is not rendered")
		for _, tpl := range podTemplates(objs) {
			if str(tpl, "metadata", "annotations", "dapr.io/app-id") == "email" {
				assert.Equal(t, "email-app-token-from-vault", podTokenRefs(t, tpl, "email").sidecar["app"])
				assert.Equal(t, "email-app-token-from-vault", podTokenRefs(t, tpl, "email").app["APP_API_TOKEN"])
			}
		}
	})

	t.Run("a frontend without a sidecar token has no Secret for one", func(t *testing.T) {
		objs, err := render(t, p, map[string]any{"frontend.sidecarApiToken": false}, clusterAPIVersions)
		require.NoError(t, err)
		for _, o := range byKind(objs, "Secret") {
			assert.NotEqual(t, "frontend-dapr-api-token", o.name())
		}
		for _, tpl := range podTemplates(objs) {
			if str(tpl, "metadata", "annotations", "dapr.io/app-id") == "frontend" {
				refs := podTokenRefs(t, tpl, "frontend")
				assert.Empty(t, refs.sidecar["api"])
				assert.Empty(t, refs.app)
				assert.NotEmpty(t, refs.sidecar["app"])
			}
		}
	})
}
