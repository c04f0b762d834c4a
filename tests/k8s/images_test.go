package k8s

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imagesFromMakefile reads the image names helm/images.mk builds.
func imagesFromMakefile(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "helm", "images.mk"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^GO_IMAGES := (.+)$`).FindStringSubmatch(string(raw))
	require.NotNil(t, m, "GO_IMAGES not found in helm/images.mk")
	return append(strings.Fields(m[1]), "frontend")
}

// Every image the app chart runs (besides the upstream mailpit) is one that
// `make images` builds, under the registry and tag of the values; and every
// Dockerfile builds what the design asks: a static, trimmed Go binary from the
// workspace on distroless as a non-root user, or nginx-unprivileged with the shared template.
func TestImagesAreBuiltByMake(t *testing.T) {
	built := imagesFromMakefile(t)
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			vals := effectiveValues(t, p)
			prefix := str(vals, "image", "registry") + "/"
			tag := ":" + str(vals, "image", "tag")
			for id, tpl := range podTemplates(mustRender(t, p)) {
				for _, c := range sliceAt(tpl, "spec", "containers") {
					image := str(c, "image")
					if strings.HasPrefix(image, "axllent/mailpit:") {
						continue
					}
					require.True(t, strings.HasPrefix(image, prefix) && strings.HasSuffix(image, tag), "%s runs %s, not %s<name>%s", id, image, prefix, tag)
					assert.Contains(t, built, strings.TrimSuffix(strings.TrimPrefix(image, prefix), tag), "%s: make images does not build %s", id, image)
				}
			}
		})
	}
	for _, name := range built {
		t.Run("Dockerfile "+name, func(t *testing.T) {
			path := filepath.Join(repoRoot(t), "apps", name, "Dockerfile")
			want := []string{"CGO_ENABLED=0", "-trimpath", "COPY go.work", "COPY apps/kit/", "COPY apps/" + name + "/",
				"FROM gcr.io/distroless/static-debian12:nonroot", "USER 65532:65532", `ENTRYPOINT ["/` + name + `"]`}
			if name == "frontend" {
				path = filepath.Join(repoRoot(t), "frontend", "Dockerfile")
				want = []string{"FROM nginxinc/nginx-unprivileged:stable", "/etc/nginx/templates/default.conf.template",
					"NGINX_ENVSUBST_FILTER", "USER 101:101"}
			}
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			for _, w := range want {
				assert.Contains(t, string(raw), w)
			}
		})
	}
}

// Every ${VAR} of the shared nginx template is set on the frontend container and
// passes NGINX_ENVSUBST_FILTER; otherwise nginx starts with a literal "${VAR}" in its
// configuration (or refuses to start).
func TestFrontendSetsEveryTemplateVariable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "frontend", "nginx", "default.conf.template"))
	if os.IsNotExist(err) {
		t.Skip("frontend/nginx/default.conf.template not written yet")
	}
	require.NoError(t, err)
	var vars []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(string(raw), -1) {
		vars = append(vars, m[1])
	}
	require.NotEmpty(t, vars)
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			env := map[string]string{}
			for id, tpl := range podTemplates(mustRender(t, p)) {
				if !strings.HasSuffix(id, "/frontend") {
					continue
				}
				for _, e := range sliceAt(tpl, "spec", "containers") {
					for _, v := range sliceAt(e, "env") {
						env[str(v, "name")] = str(v, "value")
					}
				}
			}
			filter, err := regexp.Compile(env["NGINX_ENVSUBST_FILTER"])
			require.NoError(t, err)
			for _, v := range vars {
				assert.Contains(t, env, v, "the frontend does not set ${%s}", v)
				assert.True(t, filter.MatchString(v), "NGINX_ENVSUBST_FILTER leaves ${%s} unsubstituted", v)
			}
		})
	}
}
