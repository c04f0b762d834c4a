package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The workspace (go.work) ties the modules together for development, but every module
// also stands on its own: with GOWORK=off only its go.mod counts, so it must require
// what it imports, at the versions the workspace builds with. These tests keep that true
// (docs/ARCHITECTURE.md, "Modules").

// goMod is what `go mod edit -json` says of a go.mod.
type goMod struct {
	Module  struct{ Path string }
	Require []struct{ Path, Version string }
	Replace []struct {
		Old struct{ Path, Version string }
		New struct{ Path, Version string }
	}
}

// module is one module of the workspace: its folder and its go.mod.
type module struct {
	Dir string // absolute
	Rel string // as go.work names it
	Mod goMod
}

// workspace reads go.work under root and the go.mod of every module it uses.
func workspace(root string) ([]module, error) {
	out, err := goRun(root, nil, "work", "edit", "-json", "go.work")
	if err != nil {
		return nil, fmt.Errorf("go work edit: %w: %s", err, out)
	}
	var w struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &w); err != nil {
		return nil, err
	}
	if len(w.Use) == 0 {
		return nil, errors.New("go.work uses no module")
	}
	var mods []module
	for _, u := range w.Use {
		m := module{Dir: filepath.Join(root, u.DiskPath), Rel: filepath.ToSlash(filepath.Clean(u.DiskPath))}
		out, err := goRun(m.Dir, nil, "mod", "edit", "-json")
		if err != nil {
			return nil, fmt.Errorf("%s: go mod edit: %w: %s", m.Rel, err, out)
		}
		if err := json.Unmarshal(out, &m.Mod); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Rel, err)
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// goRun runs the go command in dir with extra environment; on failure the output holds
// standard error too.
func goRun(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

// depVersions lists the module (path → version) of every package that a module's packages
// and their tests import, as the go command resolves them with env.
func depVersions(dir string, env []string) (map[string]string, error) {
	out, err := goRun(dir, env, "list", "-deps", "-test", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}", "./...")
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	vs := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if path, v, _ := strings.Cut(strings.TrimSpace(line), " "); path != "" {
			vs[path] = v
		}
	}
	return vs, nil
}

// standAloneProblems checks that every module of the workspace under root builds with
// GOWORK=off from its own go.mod (read-only: a missing requirement or go.sum line fails
// instead of being added), with exactly the dependency versions the workspace builds it
// with: an app built alone, as an image or a fork builds it, is the app that was tested.
func standAloneProblems(root string) ([]string, error) {
	mods, err := workspace(root)
	if err != nil {
		return nil, err
	}
	inRepo := map[string]bool{}
	for _, m := range mods {
		inRepo[m.Mod.Module.Path] = true
	}
	problems := make([][]string, len(mods))
	var wg sync.WaitGroup
	for i, m := range mods {
		wg.Go(func() {
			alone, err := depVersions(m.Dir, []string{"GOWORK=off", "GOFLAGS=-mod=readonly"})
			if err != nil {
				problems[i] = append(problems[i], fmt.Sprintf("%s does not build on its own (GOWORK=off; its go.mod must require what it imports): %v", m.Rel, err))
				return
			}
			inWork, err := depVersions(m.Dir, []string{"GOWORK=" + filepath.Join(root, "go.work"), "GOFLAGS=-mod=readonly"})
			if err != nil {
				problems[i] = append(problems[i], fmt.Sprintf("%s does not build in the workspace: %v", m.Rel, err))
				return
			}
			for path, v := range inWork {
				if !inRepo[path] && alone[path] != v {
					problems[i] = append(problems[i], fmt.Sprintf("%s alone builds with %s %s, the workspace with %s", m.Rel, path, alone[path], v))
				}
			}
			for path, v := range alone {
				if _, ok := inWork[path]; !ok && !inRepo[path] {
					problems[i] = append(problems[i], fmt.Sprintf("%s alone builds with %s %s, the workspace without it", m.Rel, path, v))
				}
			}
		})
	}
	wg.Wait()
	var all []string
	for _, p := range problems {
		all = append(all, p...)
	}
	sort.Strings(all)
	return all, nil
}

// versionProblems checks that each dependency is required at one version in every go.mod
// of the workspace under root that requires it, and that a replace only ever points a
// module of this repository at its own folder.
func versionProblems(root string) ([]string, error) {
	mods, err := workspace(root)
	if err != nil {
		return nil, err
	}
	dirOf := map[string]string{}
	for _, m := range mods {
		dirOf[m.Mod.Module.Path] = m.Dir
	}
	var problems []string
	versions := map[string]map[string][]string{} // path → version → modules requiring it
	for _, m := range mods {
		for _, r := range m.Mod.Require {
			if versions[r.Path] == nil {
				versions[r.Path] = map[string][]string{}
			}
			versions[r.Path][r.Version] = append(versions[r.Path][r.Version], m.Rel)
		}
		for _, r := range m.Mod.Replace {
			dir, ok := dirOf[r.Old.Path]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s replaces %s, which is not a module of this repository", m.Rel, r.Old.Path))
			case r.New.Version != "" || filepath.Join(m.Dir, r.New.Path) != dir:
				problems = append(problems, fmt.Sprintf("%s replaces %s with %s %s, not its folder", m.Rel, r.Old.Path, r.New.Path, r.New.Version))
			}
		}
	}
	for p, vs := range versions {
		if len(vs) > 1 {
			var by []string
			for v, ms := range vs {
				by = append(by, v+" in "+strings.Join(ms, ", "))
			}
			slices.Sort(by)
			problems = append(problems, fmt.Sprintf("%s is required at %d versions: %s", p, len(by), strings.Join(by, "; ")))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// The repository's modules stand alone and agree on every version.
func TestModulesStandAlone(t *testing.T) {
	mods, err := workspace(root(t))
	require.NoError(t, err)
	require.Greater(t, len(mods), 1, "go.work lists the modules")
	alone, err := standAloneProblems(root(t))
	require.NoError(t, err)
	versions, err := versionProblems(root(t))
	require.NoError(t, err)
	for _, p := range append(alone, versions...) {
		t.Error(p)
	}
	if t.Failed() {
		t.Log("fix: GOWORK=off GOFLAGS=-mod=mod go mod tidy in the module, then require the versions `go list -m all` shows at the root (docs/ARCHITECTURE.md, Modules)")
	}
}

// Each module rule fails on a small workspace broken for it: a rule that cannot fail
// proves nothing. The modules depend only on each other, so no download is needed.
func TestModuleRulesCatchABrokenWorkspace(t *testing.T) {
	const (
		work  = "go 1.26\n\nuse (\n\t./a\n\t./b\n\t./c\n)\n"
		modA  = "module example.com/a\n\ngo 1.26\n"
		modC  = "module example.com/c\n\ngo 1.26\n"
		modB  = "module example.com/b\n\ngo 1.26\n\nrequire example.com/a v0.0.0-00010101000000-000000000000\n\nreplace example.com/a => ../a\n"
		zero  = "v0.0.0-00010101000000-000000000000"
		other = "v0.1.0"
	)
	cases := []struct {
		name       string
		modB, modC string
		want       string // a problem containing this; "" for none
	}{
		{"sound", modB, modC, ""},
		{"import not required", "module example.com/b\n\ngo 1.26\n", modC, "b does not build on its own"},
		{"replace outside the repository", modB + "\nreplace example.com/x => ../x\n", modC, "b replaces example.com/x, which is not a module of this repository"},
		{"replace to another folder", strings.Replace(modB, "=> ../a", "=> ../c", 1), modC, "b replaces example.com/a with ../c"},
		{"two versions", modB, modC + "\nrequire example.com/a " + other + "\n\nreplace example.com/a => ../a\n",
			"example.com/a is required at 2 versions: " + zero + " in b; " + other + " in c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"go.work": work, "a/go.mod": modA, "a/a.go": "package a\n\n// A is imported by b.\nconst A = 1\n",
				"b/go.mod": c.modB, "b/b.go": "package b\n\nimport \"example.com/a\"\n\n// B uses a.\nconst B = a.A\n",
				"c/go.mod": c.modC, "c/c.go": "package c\n",
			}
			for name, body := range files {
				require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
			}
			alone, err := standAloneProblems(dir)
			require.NoError(t, err)
			versions, err := versionProblems(dir)
			require.NoError(t, err)
			problems := append(alone, versions...)
			if c.want == "" {
				assert.Empty(t, problems)
				return
			}
			assert.True(t, anyContains(problems, c.want), "want a problem with %q, got %q", c.want, problems)
		})
	}
}
