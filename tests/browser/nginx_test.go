package browser

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// fakeSidecar stands in for the frontend's daprd: it records the paths nginx forwards and
// answers like the API would.
type fakeSidecar struct {
	mu     sync.Mutex
	paths  []string
	tokens []string
}

func (f *fakeSidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
	f.tokens = append(f.tokens, r.Header.Get("dapr-api-token"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"orderId":"ord_x","status":"accepted"}`)
		return
	}
	_, _ = io.WriteString(w, `[`+strings.Repeat(`{"name":"a restaurant with a long enough name"},`, 40)+`{}]`)
}

func (f *fakeSidecar) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// startNginx runs frontend/nginx/run-local.sh, the same template the Helm chart's image
// renders, on a free port with its files in a temporary folder, and stops it at the end.
func startNginx(t *testing.T, sidecarPort int, env ...string) string {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx is not installed (Debian's nginx-light; make deps installs it)")
	}
	port := freePort(t)
	root := stack.Root(t)
	cmd := exec.Command(filepath.Join(root, "frontend", "nginx", "run-local.sh"))
	cmd.Env = append(os.Environ(),
		"DATA_DIR="+t.TempDir(),
		"NGINX_PORT="+strconv.Itoa(port),
		"DAPR_HTTP_PORT="+strconv.Itoa(sidecarPort),
		"NGINX_WORKERS=1",
		"NGINX_ACCESS_LOG=off",
	)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGQUIT) // graceful nginx stop, whole group
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	stack.Eventually(t, 10*time.Second, "nginx to answer /healthz", func() bool {
		select {
		case <-done:
			t.Fatalf("nginx exited: %s", out.String())
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

type answer struct {
	status int
	header http.Header
	body   string
}

// get sends a request without Go's transparent gzip, so the test sees what nginx sent.
func send(t *testing.T, method, u string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, u, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func assertSecurityHeaders(t *testing.T, a answer) {
	t.Helper()
	csp := a.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		assert.Contains(t, csp, d)
	}
	assert.NotContains(t, csp, "unsafe-inline")
	assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", a.header.Get("Referrer-Policy"))
	assert.Contains(t, a.header.Get("Strict-Transport-Security"), "max-age=31536000")
	assert.Equal(t, "nginx", a.header.Get("Server"), "server_tokens off")
}

// TestNginx checks the shared nginx template on its own, with a fake sidecar: routing to
// the sidecar, caching, gzip, security headers on every status, JSON errors for what
// nginx refuses itself, and the order rate limit.
func TestNginx(t *testing.T) {
	side := &fakeSidecar{}
	sidecar := httptest.NewServer(side)
	t.Cleanup(sidecar.Close)
	sidePort := sidecar.Listener.Addr().(*net.TCPAddr).Port
	web := startNginx(t, sidePort, "NGINX_ORDER_RATE=1r/m", "NGINX_ORDER_BURST=2", "DAPR_API_TOKEN=sidecar-secret")

	t.Run("API calls go to the sidecar's service invocation for the api app", func(t *testing.T) {
		a := send(t, http.MethodGet, web+"/api/search?q=china&vegetarian=true", nil, nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
		assert.Contains(t, side.seen(), "GET /v1.0/invoke/api/method/search?q=china&vegetarian=true")
		side.mu.Lock()
		assert.Equal(t, "sidecar-secret", side.tokens[len(side.tokens)-1], "nginx presents the sidecar's API token")
		side.mu.Unlock()
		assertSecurityHeaders(t, a)
		assert.Empty(t, a.header.Get("Cache-Control"), "API answers keep the API's own caching")
	})

	t.Run("internal routes are refused with JSON and never reach the sidecar", func(t *testing.T) {
		a := send(t, http.MethodPost, web+"/api/internal/orders/ord_x/transitions", []byte(`{}`), map[string]string{"Content-Type": "application/json"})
		assert.Equal(t, http.StatusNotFound, a.status)
		assert.JSONEq(t, `{"code":"not_found","message":"no such API route"}`, a.body)
		assertSecurityHeaders(t, a)
		for _, p := range side.seen() {
			assert.NotContains(t, p, "internal")
		}
	})

	t.Run("caching: pages revalidate, versioned assets are immutable", func(t *testing.T) {
		cases := []struct {
			name, path, cache string
		}{
			{"page", "/", "no-cache"},
			{"status page", "/status.html?id=ord_x", "no-cache"},
			{"versioned stylesheet", "/css/site.css?v=0123456789", "public, max-age=31536000, immutable"},
			{"versioned module", "/js/dom.js?v=abcdef0123", "public, max-age=31536000, immutable"},
			{"asset without version", "/css/site.css", "no-cache"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := send(t, http.MethodGet, web+c.path, nil, nil)
				require.Equal(t, http.StatusOK, a.status)
				assert.Equal(t, c.cache, a.header.Get("Cache-Control"))
				etag := a.header.Get("ETag")
				require.NotEmpty(t, etag)
				again := send(t, http.MethodGet, web+c.path, nil, map[string]string{"If-None-Match": etag})
				assert.Equal(t, http.StatusNotModified, again.status, "revalidation is a cheap 304")
			})
		}
		js := send(t, http.MethodGet, web+"/js/search.js?v=abcdef0123", nil, nil)
		assert.Contains(t, js.header.Get("Content-Type"), "javascript", "modules need a JavaScript type under nosniff")
	})

	t.Run("text is gzipped for clients that accept it", func(t *testing.T) {
		for _, path := range []string{"/css/site.css", "/js/restaurant.js", "/", "/api/search"} {
			a := send(t, http.MethodGet, web+path, nil, map[string]string{"Accept-Encoding": "gzip"})
			require.Equal(t, http.StatusOK, a.status, path)
			assert.Equal(t, "gzip", a.header.Get("Content-Encoding"), path)
			zr, err := gzip.NewReader(strings.NewReader(a.body))
			require.NoError(t, err, path)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err, path)
			assert.Greater(t, len(plain), len(a.body), "%s: compressed is smaller", path)
		}
	})

	t.Run("a missing page is a 404 page with the headers", func(t *testing.T) {
		a := send(t, http.MethodGet, web+"/no/such/page", nil, nil)
		assert.Equal(t, http.StatusNotFound, a.status)
		assert.Contains(t, a.body, "Page not found")
		assertSecurityHeaders(t, a)
	})

	t.Run("a body over 64 KiB is a JSON 413", func(t *testing.T) {
		big := []byte(`{"email":"` + strings.Repeat("a", 70<<10) + `"}`)
		a := send(t, http.MethodPost, web+"/api/orders", big, map[string]string{"Content-Type": "application/json"})
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
		assert.Contains(t, a.header.Get("Content-Type"), "application/json")
		assert.Contains(t, a.body, `"code":"body_too_large"`)
		assertSecurityHeaders(t, a)
	})

	t.Run("orders faster than a human are a JSON 429", func(t *testing.T) {
		// The 413 above did not count: nginx checks the body size after the rate. Rate is
		// 1 per minute with a burst of 2, so of five quick orders some must be refused.
		var statuses []int
		var refused answer
		for range 5 {
			a := send(t, http.MethodPost, web+"/api/orders", []byte(`{}`), map[string]string{"Content-Type": "application/json"})
			statuses = append(statuses, a.status)
			if a.status == http.StatusTooManyRequests {
				refused = a
			}
		}
		assert.Contains(t, statuses, http.StatusAccepted)
		require.Contains(t, statuses, http.StatusTooManyRequests, "statuses %v", statuses)
		assert.Contains(t, refused.header.Get("Content-Type"), "application/json")
		assert.Contains(t, refused.body, `"code":"rate_limited"`)
		assert.Equal(t, "1", refused.header.Get("Retry-After"))
		assertSecurityHeaders(t, refused)
		// Reading orders is not limited: the status page polls every second.
		for range 5 {
			assert.Equal(t, http.StatusOK, send(t, http.MethodGet, web+"/api/orders/ord_x", nil, nil).status)
		}
	})

	t.Run("a sidecar that is down is a JSON 502", func(t *testing.T) {
		down := startNginx(t, freePort(t))
		a := send(t, http.MethodGet, down+"/api/styles", nil, nil)
		assert.Equal(t, http.StatusBadGateway, a.status)
		assert.Contains(t, a.header.Get("Content-Type"), "application/json")
		assert.Contains(t, a.body, `"code":"unavailable"`)
		assertSecurityHeaders(t, a)
	})
}

// TestTemplateWithoutToken renders the template as the Helm chart does when the sidecar has
// no API token (DAPR_API_TOKEN left out of the substitution) and checks that nginx accepts it.
func TestTemplateWithoutToken(t *testing.T) {
	for _, tool := range []string{"nginx", "envsubst"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := t.TempDir()
	root := stack.Root(t)
	tmpl, err := os.ReadFile(filepath.Join(root, "frontend", "nginx", "default.conf.template"))
	require.NoError(t, err)
	render := exec.Command("envsubst", "${NGINX_PORT} ${DAPR_HTTP_PORT} ${API_APP_ID} ${NGINX_ROOT} ${NGINX_ORDER_RATE} ${NGINX_ORDER_BURST} ${NGINX_CACHE_DIR} ${NGINX_REAL_IP}")
	render.Env = []string{"NGINX_PORT=" + strconv.Itoa(freePort(t)), "DAPR_HTTP_PORT=3500", "API_APP_ID=api",
		"NGINX_ROOT=" + filepath.Join(root, "frontend", "public"), "NGINX_ORDER_RATE=2r/s", "NGINX_ORDER_BURST=5",
		"NGINX_CACHE_DIR=" + filepath.Join(dir, "cache"), "NGINX_REAL_IP="}
	render.Stdin = bytes.NewReader(tmpl)
	conf, err := render.Output()
	require.NoError(t, err)
	require.Contains(t, string(conf), `"${DAPR_API_TOKEN}"`, "left for nginx, as the chart's filter does")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "default.conf"), conf, 0o644))
	main := fmt.Sprintf("pid %[1]s/nginx.pid; error_log stderr warn; events {} http { include /etc/nginx/mime.types; access_log off; "+
		"client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s; include %[1]s/default.conf; }", dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644))
	out, err := exec.Command("nginx", "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput()
	assert.NoError(t, err, "nginx -t: %s", out)
}
