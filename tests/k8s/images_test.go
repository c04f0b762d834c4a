package k8s

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tools/images"
)

// recipesByRef is every image `make images` builds (tools/images), by the reference it
// gets with this registry and tag.
func recipesByRef(t *testing.T, registry, tag string) map[string]images.Recipe {
	t.Helper()
	pins, err := images.ReadPins(repoRoot(t))
	require.NoError(t, err)
	n := images.Naming{Registry: registry, Tag: tag, Pins: pins}
	out := map[string]images.Recipe{}
	for _, r := range images.Recipes() {
		ref, err := n.Ref(r)
		require.NoError(t, err)
		out[ref] = r
	}
	return out
}

func recipeNamed(t *testing.T, name string) images.Recipe {
	t.Helper()
	rs, err := images.Select([]string{name})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	return rs[0]
}

// containers lists the containers (and init containers) of a pod template.
func containers(tpl map[string]any) []map[string]any {
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		for _, c := range sliceAt(tpl, "spec", key) {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// runAs is the "uid:gid" a container runs as by its pod's and its own securityContext
// ("" for either that neither sets).
func runAs(tpl, c map[string]any) string {
	id := func(key string) string {
		for _, v := range []any{dig(c, "securityContext", key), dig(tpl, "spec", "securityContext", key)} {
			switch n := v.(type) {
			case float64:
				return strconv.Itoa(int(n))
			case int64:
				return strconv.FormatInt(n, 10)
			case int:
				return strconv.Itoa(n)
			}
		}
		return ""
	}
	return id("runAsUser") + ":" + id("runAsGroup")
}

// mounts are a container's volume mount paths.
func mounts(c map[string]any) []string {
	var out []string
	for _, m := range sliceAt(c, "volumeMounts") {
		out = append(out, str(m, "mountPath"))
	}
	return out
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

func envOf(c map[string]any) map[string]string {
	env := map[string]string{}
	for _, v := range sliceAt(c, "env") {
		env[str(v, "name")] = str(v, "value")
	}
	return env
}

// Every image the app chart runs is one `make images` builds, under the registry and tag
// of the values, and runs as the user the chart gives it. mailpit defaults to the
// upstream image; ours is a drop-in under the same tag (values-cluster sets it).
func TestChartImagesHaveARecipe(t *testing.T) {
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			vals := effectiveValues(t, p)
			registry, tag := str(vals, "image", "registry"), str(vals, "image", "tag")
			refs := recipesByRef(t, registry, tag)
			mailpit := recipeNamed(t, "mailpit")
			objs := mustRender(t, p)
			override := p
			override.set = map[string]any{"mailpit.image.repository": registry + "/mailpit"}
			for ref, r := range refs {
				if r.Name == "mailpit" {
					override.set["mailpit.image.tag"] = ref[strings.LastIndex(ref, ":")+1:]
				}
			}
			objs = append(objs, mustRender(t, override)...)
			seen := 0
			for id, tpl := range podTemplates(objs) {
				for _, c := range containers(tpl) {
					image := str(c, "image")
					if rest, ok := strings.CutPrefix(image, "axllent/mailpit:"); ok {
						want, err := images.Naming{Pins: mustPins(t)}.Ref(mailpit)
						require.NoError(t, err)
						assert.True(t, strings.HasSuffix(want, ":"+rest), "%s runs mailpit %s; make images builds %s", id, rest, want)
						continue
					}
					r, ok := refs[image]
					if !assert.True(t, ok, "%s runs %s, which make images does not build (REGISTRY=%s TAG=%s)", id, image, registry, tag) {
						continue
					}
					seen++
					if u := runAs(tpl, c); u != ":" {
						assert.Equal(t, r.Config.User, u, "%s runs %s as %s, the image's user is %s", id, image, u, r.Config.User)
					}
					if cmd := sliceAt(c, "command"); len(cmd) > 0 {
						assert.Equal(t, "/"+r.Name, cmd[0], "%s: %s has no %v", id, image, cmd[0])
					}
				}
			}
			assert.GreaterOrEqual(t, seen, 7, "the app images, bank and mailpit")
		})
	}
}

func mustPins(t *testing.T) map[string]string {
	t.Helper()
	pins, err := images.ReadPins(repoRoot(t))
	require.NoError(t, err)
	return pins
}

// Dapr's own chart (in the github.com/dapr/dapr module), installed with
// --set global.registry=<registry>/dapr --set global.tag=<Dapr version>, runs only images
// make images builds: the control plane with command ["/<name>"], and sidecars whose args
// start with "/daprd" (so the daprd image has no entrypoint, as Dapr's own has none).
func TestDaprChartImagesHaveARecipe(t *testing.T) {
	chartDir := filepath.Join(moduleDir(t, daprModule), "charts", "dapr")
	pins := mustPins(t)
	daprd := recipeNamed(t, "daprd")
	want, err := images.Naming{Registry: "kafka-restaurants", Pins: pins}.Ref(daprd)
	require.NoError(t, err)
	// kafka-restaurants/dapr/daprd:1.18.0 → registry kafka-restaurants/dapr, tag 1.18.0
	registry := path.Dir(want[:strings.LastIndex(want, ":")])
	tag := want[strings.LastIndex(want, ":")+1:]
	refs := recipesByRef(t, "kafka-restaurants", "dev")

	p := profile{ns: "dapr-system", name: "dapr", set: map[string]any{"global.registry": registry, "global.tag": tag}}
	objs, err := renderChart(t, loadChart(t, chartDir), p, nil, nil)
	require.NoError(t, err)
	var ran []string
	for id, tpl := range podTemplates(objs) {
		for _, c := range containers(tpl) {
			image := str(c, "image")
			r, ok := refs[image]
			if !assert.True(t, ok, "%s runs %s, which make images does not build", id, image) {
				continue
			}
			ran = append(ran, r.Name)
			cmd := sliceAt(c, "command")
			require.NotEmpty(t, cmd, "%s", id)
			assert.Equal(t, "/"+r.Name, cmd[0], "%s runs %v; the image has /%s", id, cmd[0], r.Name)
			uid := strings.Split(r.Config.User, ":")[0]
			n, err := strconv.Atoi(uid)
			assert.NoError(t, err, "%s: runAsNonRoot needs a numeric user, the image has %q", id, r.Config.User)
			assert.NotZero(t, n)
			if env := envOf(c); env["SIDECAR_IMAGE"] != "" {
				sidecar, ok := refs[env["SIDECAR_IMAGE"]]
				if assert.True(t, ok, "the injector injects %s, which make images does not build", env["SIDECAR_IMAGE"]) {
					assert.Equal(t, "daprd", sidecar.Name)
					assert.Empty(t, sidecar.Config.Entrypoint, "the injector gives daprd args [\"/daprd\", ...] and no command")
					assert.Equal(t, "65532:65532", sidecar.Config.User, "Dapr checks the sidecar's uid and gid")
				}
				ran = append(ran, "daprd")
			}
		}
	}
	assert.ElementsMatch(t, []string{"operator", "placement", "sentry", "injector", "daprd", "scheduler"}, ran)
}

// helm/postgresql with image.repository=<registry>/postgresql runs the image as the uid
// and gid it was made for, and its probe finds pg_isready on the image's PATH.
func TestPostgresChartRunsTheRecipe(t *testing.T) {
	refs := recipesByRef(t, "kafka-restaurants", "dev")
	for _, p := range allProfiles {
		if p.chart != "postgresql" {
			continue
		}
		t.Run(p.String(), func(t *testing.T) {
			p.set = map[string]any{"image.repository": "kafka-restaurants/postgresql", "image.tag": "dev"}
			var found bool
			for id, tpl := range podTemplates(mustRender(t, p)) {
				for _, c := range containers(tpl) {
					r, ok := refs[str(c, "image")]
					require.True(t, ok, "%s runs %s", id, str(c, "image"))
					require.Equal(t, "postgresql", r.Name)
					found = true
					assert.Equal(t, r.Config.User, runAs(tpl, c), "%s", id)
					imgEnv := map[string]string{}
					for _, e := range r.Config.Env {
						k, v, _ := strings.Cut(e, "=")
						imgEnv[k] = v
					}
					for _, probe := range []string{"livenessProbe", "readinessProbe"} {
						cmd := sliceAt(c, probe, "exec", "command")
						require.NotEmpty(t, cmd, "%s %s", id, probe)
						onPath := false
						for _, dir := range filepath.SplitList(imgEnv["PATH"]) {
							for _, req := range r.Debian.Require {
								onPath = onPath || "/"+req == path.Join(dir, cmd[0].(string))
							}
						}
						assert.True(t, onPath, "%s: %s runs %v, not on the image's PATH %s", id, probe, cmd[0], imgEnv["PATH"])
					}
					env := envOf(c)
					assert.True(t, under(env["PGDATA"], mounts(c)), "PGDATA %s is not on a volume", env["PGDATA"])
					assert.Contains(t, mounts(c), "/var/run/postgresql", "the socket folder")
				}
			}
			assert.True(t, found)
		})
	}
}

// The frontend image's nginx writes only where the chart mounts emptyDirs (the root file
// system is read-only), serves the folder the chart names, and renders the template the
// chart's variables fill.
func TestFrontendImageFitsTheChart(t *testing.T) {
	r := recipeNamed(t, "frontend")
	var nginxConf string
	dsts := map[string]images.Overlay{}
	for _, f := range r.Debian.Files {
		dsts[f.Dst] = f
		if f.Dst == "etc/nginx/nginx.conf" {
			nginxConf = string(f.Data)
		}
	}
	require.NotEmpty(t, nginxConf)
	assert.Equal(t, "frontend/public", dsts["usr/share/nginx/html"].Src)
	assert.Equal(t, "frontend/nginx/default.conf.template", dsts["etc/nginx/templates/default.conf.template"].Src)
	var written []string
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:pid|[a-z_]+_temp_path)\s+(\S+);`).FindAllStringSubmatch(nginxConf, -1) {
		written = append(written, m[1])
	}
	require.Len(t, written, 6, "pid and five temp paths")
	for _, p := range appProfiles {
		t.Run(p.String(), func(t *testing.T) {
			var found bool
			for id, tpl := range podTemplates(mustRender(t, p)) {
				if !strings.HasSuffix(id, "/frontend") {
					continue
				}
				for _, c := range containers(tpl) {
					if !strings.Contains(str(c, "image"), "/frontend:") {
						continue
					}
					found = true
					assert.Equal(t, r.Config.User, runAs(tpl, c))
					assert.Nil(t, c["command"], "the image's entrypoint renders the template")
					ms := mounts(c)
					assert.Contains(t, ms, "/etc/nginx/conf.d", "the entrypoint renders the template there")
					for _, w := range written {
						assert.True(t, under(w, ms), "nginx writes %s, not on an emptyDir (%v)", w, ms)
					}
					env := envOf(c)
					assert.True(t, under(env["NGINX_CACHE_DIR"], ms), "NGINX_CACHE_DIR %s", env["NGINX_CACHE_DIR"])
					assert.Equal(t, "/usr/share/nginx/html", env["NGINX_ROOT"])
				}
			}
			assert.True(t, found)
		})
	}
}

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
