#!/usr/bin/env bash
# Builds the third-party tools the local platform runs, from the Go module proxy, into
# .tools/bin. Each tool is pinned; a stamp file records the version it was built at, so a
# tool is rebuilt only when its pin changes. Usage: tools/build-tools.sh [daprd|mailpit|jaeger|helm|staticcheck|kube|coredns|crane|dapr-cp|kube-router|argocd]...
set -euo pipefail

DAPRD_VERSION=v1.18.0
MAILPIT_VERSION=v1.33.1
HELM_VERSION=v3.22.0
STATICCHECK_VERSION=v0.8.2
# Jaeger v2 (cmd/jaeger) is released from the Go module's v1.x tags: v1.76.0 is Jaeger 2.13.
JAEGER_VERSION=v1.76.0
# The single-node cluster of `make k8s-test` (docs/KUBERNETES.md, "A cluster on this machine").
KUBE_VERSION=v1.34.4
COREDNS_VERSION=v1.13.2
CRANE_VERSION=v0.22.1
KUBE_ROUTER_VERSION=v2.1.0
ARGOCD_VERSION=v3.6.1
# Argo CD 3.6 needs Go 1.27; the module proxy serves the toolchain.
ARGOCD_GOTOOLCHAIN=go1.27.4
ETCD_CRON_VERSION=v0.12.6

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
build="$root/.tools/build"
mkdir -p "$bin" "$build"

fresh() { # fresh NAME VERSION: true when bin/NAME exists and was built at VERSION
  [[ -x "$bin/$1" && -f "$bin/$1.version" && "$(cat "$bin/$1.version")" == "$2" ]]
}

stamp() { echo "$2" >"$bin/$1.version"; }

# wrapper_module DIR MODULE VERSION NAME: a module named NAME at DIR with MODULE@VERSION's own
# go.mod and go.sum (so its replace blocks and tested versions hold) requiring MODULE itself.
wrapper_module() {
  local dir=$1 mod=$2 version=$3 name=$4 src
  src=$(GOWORK=off go mod download -json "$mod@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n "$src" ]] || { echo "cannot download $mod@$version" >&2; return 1; }
  mkdir -p "$dir"
  install -m 0644 "$src/go.mod" "$dir/go.mod"
  install -m 0644 "$src/go.sum" "$dir/go.sum"
  sed -i "s#^module $mod\$#module $name#" "$dir/go.mod"
  printf '\nrequire %s %s\n' "$mod" "$version" >>"$dir/go.mod"
}

build_daprd() {
  fresh daprd "$DAPRD_VERSION" && return 0
  echo "building daprd $DAPRD_VERSION (about 5 minutes on 2 cores the first time)..." >&2
  # daprd's go.mod carries replace directives, so `go install daprd@version` is refused.
  # A wrapper module with daprd's own go.mod and go.sum (renamed) builds it unchanged.
  local dir="$build/daprd-$DAPRD_VERSION"
  wrapper_module "$dir" github.com/dapr/dapr "$DAPRD_VERSION" daprdbuild
  # Static (CGO_ENABLED=0): the same binary runs here and in the cluster's image from nothing.
  (cd "$dir" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod go build -tags allcomponents -trimpath -ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPRD_VERSION#v}" \
    -o "$bin/daprd.tmp" github.com/dapr/dapr/cmd/daprd)
  mv "$bin/daprd.tmp" "$bin/daprd"
  stamp daprd "$DAPRD_VERSION"
}

build_jaeger() {
  fresh jaeger "$JAEGER_VERSION" && return 0
  echo "building jaeger $JAEGER_VERSION (several minutes on 2 cores the first time)..." >&2
  # Like daprd: jaeger's go.mod has a replace directive, so `go install` is refused; a
  # wrapper module with its go.mod and go.sum builds it with the versions it was tested at.
  # The module carries no UI assets: the binary serves a placeholder page and the full
  # query API (/api/traces/<id>), which is what docs/OBSERVABILITY.md and the tests use.
  local dir="$build/jaeger-$JAEGER_VERSION"
  wrapper_module "$dir" github.com/jaegertracing/jaeger "$JAEGER_VERSION" jaegerbuild
  (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$bin/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv "$bin/jaeger.tmp" "$bin/jaeger"
  stamp jaeger "$JAEGER_VERSION"
}

# The Dapr control plane (operator, sentry, placement, sidecar injector, scheduler) at
# daprd's version, from the same module, for the cluster's images.
build_dapr_cp() {
  fresh dapr-cp/operator "$DAPRD_VERSION" && return 0
  echo "building the Dapr $DAPRD_VERSION control plane..." >&2
  local dir="$build/daprcp-$DAPRD_VERSION"
  wrapper_module "$dir" github.com/dapr/dapr "$DAPRD_VERSION" daprcpbuild
  # The scheduler needs github.com/diagridio/go-etcd-cron v0.12.5, which the module proxy
  # refuses; v0.12.6 (the next patch release) is served and builds.
  (cd "$dir" && go mod edit -replace "github.com/diagridio/go-etcd-cron=github.com/diagridio/go-etcd-cron@$ETCD_CRON_VERSION")
  mkdir -p "$bin/dapr-cp"
  (cd "$dir" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod go build -tags allcomponents -trimpath \
    -ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPRD_VERSION#v}" -o "$bin/dapr-cp/" \
    github.com/dapr/dapr/cmd/operator github.com/dapr/dapr/cmd/sentry github.com/dapr/dapr/cmd/placement \
    github.com/dapr/dapr/cmd/injector github.com/dapr/dapr/cmd/scheduler)
  stamp dapr-cp/operator "$DAPRD_VERSION"
}

# Kubernetes' own binaries. k8s.io/kubernetes replaces its 31 k8s.io/* staging modules with
# ./staging/... folders that its module zip lacks: the wrapper points each at its published
# v0.x release instead.
build_kube() {
  fresh kube-apiserver "$KUBE_VERSION" && return 0
  echo "building Kubernetes $KUBE_VERSION (about 10 minutes on 2 cores the first time)..." >&2
  local dir="$build/kube-$KUBE_VERSION" gomod staging="v0${KUBE_VERSION#v1}" minor
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  mkdir -p "$dir"
  gomod=$(GOWORK=off go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  {
    echo "module kubebuild"; echo; echo "go 1.24.0"; echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"; echo
    grep -E '=> \./staging/' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  local v=k8s.io/component-base/version
  (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go mod tidy && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod go build -trimpath \
    -ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z" \
    -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet)
  stamp kube-apiserver "$KUBE_VERSION"
}

build_kube_router() {
  fresh kube-router "$KUBE_ROUTER_VERSION" && return 0
  echo "building kube-router $KUBE_ROUTER_VERSION (its NetworkPolicy controller)..." >&2
  local dir="$build/kube-router-$KUBE_ROUTER_VERSION"
  mkdir -p "$dir"
  printf 'module kuberouterbuild\n\ngo 1.24.0\n\nrequire github.com/cloudnativelabs/kube-router/v2 %s\n' "$KUBE_ROUTER_VERSION" >"$dir/go.mod"
  printf '//go:build tools\n\npackage kuberouterbuild\n\nimport _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"\n' >"$dir/tools.go"
  (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go mod tidy && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod go build -trimpath \
    -ldflags='-s -w' -o "$bin/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
  stamp kube-router "$KUBE_ROUTER_VERSION"
}

# Argo CD: one multi-call binary (argocd-application-controller, argocd-repo-server, ... by
# the name it runs under). The module zip lacks ./gitops-engine, which its go.mod replaces;
# the published gitops-engine/v3 at the same version builds.
build_argocd() {
  fresh argocd "$ARGOCD_VERSION" && return 0
  echo "building Argo CD $ARGOCD_VERSION (several minutes the first time)..." >&2
  local dir="$build/argocd-$ARGOCD_VERSION"
  export GOTOOLCHAIN=$ARGOCD_GOTOOLCHAIN
  wrapper_module "$dir" github.com/argoproj/argo-cd/v3 "$ARGOCD_VERSION" argocdbuild
  sed -i '/=> \.\/gitops-engine/d' "$dir/go.mod"
  (cd "$dir" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod go build -trimpath \
    -ldflags="-s -w -X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v}" \
    -o "$bin/argocd" github.com/argoproj/argo-cd/v3/cmd)
  unset GOTOOLCHAIN
  stamp argocd "$ARGOCD_VERSION"
}

build_go_install() { # build_go_install NAME PACKAGE VERSION
  fresh "$1" "$3" && return 0
  echo "building $1 $3..." >&2
  # Static: mailpit and coredns also run in the cluster's images from nothing.
  (cd "$build" && CGO_ENABLED=0 GOWORK=off GOBIN="$bin" go install -trimpath -ldflags='-s -w' "$2@$3")
  stamp "$1" "$3"
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(daprd mailpit jaeger helm)
for t in "${tools[@]}"; do
  case "$t" in
    daprd) build_daprd ;;
    mailpit) build_go_install mailpit github.com/axllent/mailpit "$MAILPIT_VERSION" ;;
    jaeger) build_jaeger ;;
    helm) build_go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" ;;
    staticcheck) build_go_install staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION" ;;
    kube) build_kube ;;
    coredns) build_go_install coredns github.com/coredns/coredns "$COREDNS_VERSION" ;;
    crane) build_go_install crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION" ;;
    dapr-cp) build_dapr_cp ;;
    kube-router) build_kube_router ;;
    argocd) build_argocd ;;
    *) echo "unknown tool $t (daprd, mailpit, jaeger, helm, staticcheck, kube, coredns, crane, dapr-cp, kube-router, argocd)" >&2; exit 2 ;;
  esac
done
