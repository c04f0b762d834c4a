package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// git runs the real git client in dir and returns its trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitErr(dir, args...)
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return out
}

func gitErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// served makes a bare repository with one commit and a charts folder, and serves them.
func served(t *testing.T) (url, bare, work string) {
	t.Helper()
	root := t.TempDir()
	bare = filepath.Join(root, "git", "shop.git")
	work = filepath.Join(root, "work")
	charts := filepath.Join(root, "charts")
	require.NoError(t, os.MkdirAll(charts, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(charts, "index.yaml"), []byte("apiVersion: v1\nentries: {}\n"), 0o644))
	git(t, root, "init", "-q", "--bare", "-b", "main", bare)
	git(t, root, "init", "-q", "-b", "main", work)
	require.NoError(t, os.WriteFile(filepath.Join(work, "catalog.json"), []byte(`{"v":1}`), 0o644))
	git(t, work, "add", ".")
	git(t, work, "commit", "-q", "-m", "first")
	git(t, work, "push", "-q", bare, "main")

	h, err := handler(filepath.Join(root, "git"), charts)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, bare, work
}

// A clone over HTTP gets the served commit, and a fetch after a commit to the served
// repository gets the new one: what Argo CD's repo server does.
func TestCloneAndFetchOverSmartHTTP(t *testing.T) {
	url, bare, work := served(t)
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, filepath.Dir(clone), "clone", "-q", url+"/git/shop.git", clone)
	got, err := os.ReadFile(filepath.Join(clone, "catalog.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1}`, string(got))

	require.NoError(t, os.WriteFile(filepath.Join(work, "catalog.json"), []byte(`{"v":2}`), 0o644))
	git(t, work, "commit", "-q", "-am", "second")
	git(t, work, "push", "-q", bare, "main")
	want := git(t, work, "rev-parse", "HEAD")

	refs := git(t, clone, "ls-remote", url+"/git/shop.git", "refs/heads/main")
	assert.True(t, strings.HasPrefix(refs, want), "ls-remote: %s, want %s", refs, want)
	git(t, clone, "pull", "-q", "--ff-only")
	assert.Equal(t, want, git(t, clone, "rev-parse", "HEAD"))
}

// A push over HTTP is refused and changes nothing; so are the dumb protocol's file reads
// and a repository outside the served folder.
func TestServesNothingButFetches(t *testing.T) {
	url, bare, work := served(t)
	before := git(t, work, "--git-dir", bare, "rev-parse", "main")

	require.NoError(t, os.WriteFile(filepath.Join(work, "catalog.json"), []byte(`{"v":"evil"}`), 0o644))
	git(t, work, "commit", "-q", "-am", "evil")
	out, err := gitErr(work, "push", url+"/git/shop.git", "main")
	require.Error(t, err, "push over HTTP succeeded: %s", out)
	assert.Equal(t, before, git(t, work, "--git-dir", bare, "rev-parse", "main"), "the served branch moved")

	for _, path := range []string{
		"/git/shop.git/info/refs?service=git-receive-pack",
		"/git/shop.git/HEAD",
		"/git/shop.git/config",
		"/git/shop.git/objects/info/packs",
		"/git/../../etc/passwd",
	} {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, resp.StatusCode, "%s answered %d: %s", path, resp.StatusCode, body)
	}
}

// The charts folder is served as static files (a Helm chart repository), and /healthz
// answers.
func TestServesChartsAndHealth(t *testing.T) {
	url, _, _ := served(t)
	for path, want := range map[string]string{"/charts/index.yaml": "entries", "/healthz": "ok"} {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, string(body), want, path)
	}
}
