package images

// The images of Argo CD as the local cluster runs it (make k8s-test): Argo CD's own
// install manifests (core-install.yaml of the github.com/argoproj/argo-cd/v3 module) with
// these images in place of quay.io's and Docker Hub's, which this machine cannot reach,
// and the git server that serves this repository to it. They are not part of the
// application: a user's cluster runs Argo CD's published images.

// argoCDUID is the user Argo CD's images and manifests run as.
const argoCDUID = 999

// argoCDTools are the names Argo CD's manifests run its multi-call binary by (its
// Dockerfile links them the same way).
var argoCDTools = []string{
	"argocd-server", "argocd-repo-server", "argocd-cmp-server", "argocd-application-controller",
	"argocd-dex", "argocd-notifications", "argocd-applicationset-controller", "argocd-k8s-auth",
	"argocd-commit-server",
}

// gitVerifyWrapper stands in for the upstream image's script of that name, which Argo CD's
// repo server runs on every revision it renders (a compatibility path that runs even with
// GnuPG off). This image has no gpg and verifies nothing, so it answers as the upstream
// script does for an unsigned commit: no output, success.
const gitVerifyWrapper = `#!/bin/sh
# git-verify-wrapper.sh REVISION: no signature verification in this image (no gpg).
[ -n "$1" ] || { echo "usage: git-verify-wrapper.sh REVISION" >&2; exit 1; }
exit 0
`

// argoCD is <registry>/argocd:3.6.1: the binary tools/build-tools.sh builds from the
// module, with what its repo server runs (git, helm; not gpg: GPG verification is off) and what its manifests expect of the
// upstream image (user 999 with a home, tini as the entrypoint, /app/config).
func argoCD() Recipe {
	files := []Overlay{
		{Dst: "usr/local/bin/argocd", Src: ".tools/bin/argocd", Mode: 0o755},
		{Dst: "usr/local/bin/helm", Src: ".tools/bin/helm", Mode: 0o755},
	}
	for _, name := range argoCDTools {
		files = append(files, Overlay{Dst: "usr/local/bin/" + name, Link: "argocd"})
	}
	for _, dir := range []string{"app/config/ssh", "app/config/tls", "app/config/gpg/source"} {
		files = append(files, Overlay{Dst: dir, Dir: true, Mode: 0o755})
	}
	files = append(files,
		Overlay{Dst: "usr/local/bin/git-verify-wrapper.sh", Data: []byte(gitVerifyWrapper), Mode: 0o755},
		Overlay{Dst: "app/config/gpg/keys", Dir: true, Mode: 0o700, UID: argoCDUID, GID: argoCDUID},
		Overlay{Dst: "home/argocd", Dir: true, Mode: 0o755, UID: argoCDUID, GID: argoCDUID},
	)
	return Recipe{
		Name: "argocd", Source: Debian, Extra: true,
		Pin: "ARGOCD_VERSION", Stamp: ".tools/bin/argocd.version", TrimV: true,
		BuildHint: "tools/build-tools.sh argocd helm",
		Debian: &DebianSpec{
			Suite:    "bookworm",
			Packages: []string{"git", "tini", "ca-certificates"},
			Hook: `r="$1"
if grep -q '^[^:]*:[^:]*:999:' "$r/etc/passwd" || grep -q '^[^:]*:[^:]*:999:' "$r/etc/group"; then
	echo "uid or gid 999 is taken in the root file system" >&2; exit 1
fi
echo 'argocd:x:999:999::/home/argocd:/bin/sh' >>"$r/etc/passwd"
echo 'argocd:x:999:' >>"$r/etc/group"`,
			Files:   files,
			Require: []string{"usr/bin/git", "usr/bin/tini", "usr/local/bin/git-verify-wrapper.sh", "usr/bin/sh", "usr/bin/cp", "usr/bin/ln"},
		},
		Config: Config{
			User:       "999:999",
			Entrypoint: []string{"/usr/bin/tini", "--"},
			// No gpg in this image, so no GnuPG commit verification (this project signs nothing).
			Env:        []string{debianPath, "USER=argocd", "HOME=/home/argocd", "GRPC_ENABLE_TXT_SERVICE_CONFIG=false", "ARGOCD_GPG_ENABLED=false"},
			WorkingDir: "/home/argocd",
		},
	}
}

// argoCDRedis is <registry>/argocd-redis:<tag>: Debian's Redis, for the argocd-redis
// Deployment, whose manifest gives only redis-server's arguments (the entrypoint here).
func argoCDRedis() Recipe {
	return Recipe{
		Name: "argocd-redis", Source: Debian, Extra: true,
		Debian: &DebianSpec{
			Suite:    "bookworm",
			Packages: []string{"redis-server"},
			Require:  []string{"usr/bin/redis-server"},
		},
		Config: Config{
			User:       "999:999",
			Entrypoint: []string{"/usr/bin/redis-server"},
			Env:        []string{debianPath},
			Ports:      []string{"6379/tcp"},
		},
	}
}

// gitServer is <registry>/gitserver:<tag>: tools/cmd/gitserver with git, serving this
// repository and a Helm chart repository to Argo CD inside the local cluster.
func gitServer() Recipe {
	return Recipe{
		Name: "gitserver", Source: Debian, Extra: true,
		Debian: &DebianSpec{
			Suite:    "bookworm",
			Packages: []string{"git"},
			Files:    []Overlay{{Dst: "usr/local/bin/gitserver", Package: "./tools/cmd/gitserver", Mode: 0o755}},
			Require:  []string{"usr/bin/git", "usr/lib/git-core/git-http-backend", "usr/local/bin/gitserver"},
		},
		Config: Config{
			User:       nonRoot,
			Entrypoint: []string{"/usr/local/bin/gitserver"},
			Env:        []string{debianPath},
			Ports:      []string{"8080/tcp"},
		},
	}
}
