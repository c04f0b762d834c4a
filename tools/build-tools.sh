#!/usr/bin/env bash
# Builds the third-party tools the local platform runs, from the Go module proxy, into
# .tools/bin. Each tool is pinned; a stamp file records the version it was built at, so a
# tool is rebuilt only when its pin changes. Usage: tools/build-tools.sh [daprd|mailpit|jaeger|helm|staticcheck]...
set -euo pipefail

DAPRD_VERSION=v1.18.0
MAILPIT_VERSION=v1.33.1
HELM_VERSION=v3.22.0
STATICCHECK_VERSION=v0.8.2
# Jaeger v2 (cmd/jaeger) is released from the Go module's v1.x tags: v1.76.0 is Jaeger 2.13.
JAEGER_VERSION=v1.76.0

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
build="$root/.tools/build"
mkdir -p "$bin" "$build"

fresh() { # fresh NAME VERSION: true when bin/NAME exists and was built at VERSION
  [[ -x "$bin/$1" && -f "$bin/$1.version" && "$(cat "$bin/$1.version")" == "$2" ]]
}

stamp() { echo "$2" >"$bin/$1.version"; }

build_daprd() {
  fresh daprd "$DAPRD_VERSION" && return 0
  echo "building daprd $DAPRD_VERSION (about 5 minutes on 2 cores the first time)..." >&2
  # daprd's go.mod carries replace directives, so `go install daprd@version` is refused.
  # A wrapper module with daprd's own go.mod and go.sum (renamed) builds it unchanged.
  local dir src
  dir="$build/daprd-$DAPRD_VERSION"
  src=$(go mod download -json "github.com/dapr/dapr@$DAPRD_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n "$src" ]] || { echo "cannot download github.com/dapr/dapr@$DAPRD_VERSION" >&2; return 1; }
  mkdir -p "$dir"
  install -m 0644 "$src/go.mod" "$dir/go.mod"
  install -m 0644 "$src/go.sum" "$dir/go.sum"
  sed -i 's#^module github.com/dapr/dapr$#module daprdbuild#' "$dir/go.mod"
  printf '\nrequire github.com/dapr/dapr %s\n' "$DAPRD_VERSION" >>"$dir/go.mod"
  # The allcomponents tag is required: without a tag daprd panics at start.
  (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go build -tags allcomponents -trimpath -ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPRD_VERSION#v}" \
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
  local dir src
  dir="$build/jaeger-$JAEGER_VERSION"
  src=$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n "$src" ]] || { echo "cannot download github.com/jaegertracing/jaeger@$JAEGER_VERSION" >&2; return 1; }
  mkdir -p "$dir"
  install -m 0644 "$src/go.mod" "$dir/go.mod"
  install -m 0644 "$src/go.sum" "$dir/go.sum"
  sed -i 's#^module github.com/jaegertracing/jaeger$#module jaegerbuild#' "$dir/go.mod"
  printf '\nrequire github.com/jaegertracing/jaeger %s\n' "$JAEGER_VERSION" >>"$dir/go.mod"
  (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$bin/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv "$bin/jaeger.tmp" "$bin/jaeger"
  stamp jaeger "$JAEGER_VERSION"
}

build_go_install() { # build_go_install NAME PACKAGE VERSION
  fresh "$1" "$3" && return 0
  echo "building $1 $3..." >&2
  (cd "$build" && GOWORK=off GOBIN="$bin" go install -trimpath -ldflags='-s -w' "$2@$3")
  stamp "$1" "$3"
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(daprd mailpit jaeger)
for t in "${tools[@]}"; do
  case "$t" in
    daprd) build_daprd ;;
    mailpit) build_go_install mailpit github.com/axllent/mailpit "$MAILPIT_VERSION" ;;
    jaeger) build_jaeger ;;
    helm) build_go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" ;;
    staticcheck) build_go_install staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION" ;;
    *) echo "unknown tool $t (daprd, mailpit, jaeger, helm, staticcheck)" >&2; exit 2 ;;
  esac
done
