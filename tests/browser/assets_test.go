package browser

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the ?v=<hash> asset versions in frontend/public")

// assetRef finds a versioned reference to a static file: "/css/site.css?v=0123abcd" or
// './dom.js?v=...' (module imports), in HTML and JavaScript.
var assetRef = regexp.MustCompile(`(["'])((?:\.{1,2}/|/)[\w./-]+\.(?:css|js|svg|png|webp|woff2))\?v=([0-9a-zA-Z]*)(["'])`)

// versionOf is the version a file is linked with: the start of its content's SHA-256.
func versionOf(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])[:10]
}

func publicDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	return filepath.Join(wd, "..", "..", "frontend", "public")
}

// TestAssetVersions keeps the caching scheme honest: nginx serves any asset URL that carries
// ?v=<hash> as immutable for a year, so every such link must carry the hash of the file's
// current content, or browsers would keep a stale file forever. Run with -update after
// editing an asset: `go test ./browser -run TestAssetVersions -update`. Files are rewritten
// leaves first until nothing changes (a module's hash covers the versions it imports).
func TestAssetVersions(t *testing.T) {
	root := publicDir(t)
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext == ".html" || ext == ".js" {
			b, err := os.ReadFile(path)
			files[path] = string(b)
			return err
		}
		return nil
	}))
	require.NotEmpty(t, files)

	resolve := func(from, ref string) string {
		if strings.HasPrefix(ref, "/") {
			return filepath.Join(root, filepath.FromSlash(ref))
		}
		return filepath.Join(filepath.Dir(from), filepath.FromSlash(ref))
	}
	// One pass: the files whose references are out of date, and what they should say.
	pass := func() map[string]string {
		stale := map[string]string{}
		for path, text := range files {
			fixed := assetRef.ReplaceAllStringFunc(text, func(m string) string {
				sub := assetRef.FindStringSubmatch(m)
				content, err := os.ReadFile(resolve(path, sub[2]))
				if err != nil {
					t.Errorf("%s links %s, which does not exist", rel(root, path), sub[2])
					return m
				}
				return sub[1] + sub[2] + "?v=" + versionOf(content) + sub[4]
			})
			if fixed != text {
				stale[path] = fixed
			}
		}
		return stale
	}

	if *update {
		for i := 0; i < 10; i++ {
			stale := pass()
			if len(stale) == 0 {
				break
			}
			for path, text := range stale {
				require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
				files[path] = text
			}
		}
	}
	for path := range pass() {
		t.Errorf("%s links an asset with an outdated ?v= version: run go test ./browser -run TestAssetVersions -update", rel(root, path))
	}

	t.Run("every local script, style and icon is versioned", func(t *testing.T) {
		unversioned := regexp.MustCompile(`(?:src|href)="(/[\w./-]+\.(?:css|js|svg))"|from\s+'(\.[\w./-]+\.js)'`)
		for path, text := range files {
			for _, m := range unversioned.FindAllStringSubmatch(text, -1) {
				assert.Failf(t, "unversioned asset", "%s links %s%s without ?v=", rel(root, path), m[1], m[2])
			}
		}
	})
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return r
}
