#!/usr/bin/env bash
# Installs everything on the local cluster (tools/k8s/cluster.sh up) as a user would on
# minikube (docs/KUBERNETES.md), with the few differences an offline machine needs:
#   1. the images, built without Docker (make images), imported into the node's containerd;
#   2. CoreDNS (cluster names only);
#   3. Dapr's control plane from its own Helm chart (inside the github.com/dapr/dapr module),
#      with images built from the same source as the local daprd;
#   4. in place of Strimzi's operator chart, its stand-in (tools/k8s/charts/
#      strimzi-kafka-operator: Strimzi's CRDs, the project's Kafka-protocol broker, and a
#      controller reporting the Kafka cluster Ready; Strimzi's images cannot be had here),
#      then every Strimzi resource of helm/kafka-cluster applied server-side (the API server
#      validates them);
#   5. helm/postgresql and helm/kafka-restaurants with their minikube values, plus
#      tools/k8s/values-cluster.yaml.
# Or, instead of 3-5, the argocd phase: Argo CD from its own manifests, a git server
# inside the cluster serving this working tree (as one commit) and a chart repository
# (Dapr's chart, the Strimzi stand-in), and the app-of-apps (helm/argocd) pointed at them;
# Argo CD then installs everything else.
# Each phase prints how long it took. Usage: tools/k8s/deploy.sh [phase...]
# (phases: images dns dapr kafka postgresql app argocd; default: all but argocd).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/.tools/bin"
dir="$root/.run/k8s"
export KUBECONFIG="$dir/admin.kubeconfig"
TAG=${TAG:-dev}
DAPR_VERSION=$(sed -n 's/^DAPRD_VERSION=v//p' "$root/tools/build-tools.sh")
ARGOCD_VERSION=$(sed -n 's/^ARGOCD_VERSION=//p' "$root/tools/build-tools.sh")
ARGOCD_GOTOOLCHAIN=$(sed -n 's/^ARGOCD_GOTOOLCHAIN=//p' "$root/tools/build-tools.sh")
DAPR_NS=dapr-system
NS=kafka-restaurants

kubectl() { "$tools/kubectl" "$@"; }
helm() { "$tools/helm" "$@"; }
log() { echo "k8s: $*" >&2; }

# wait_established CRD...: waits until each CustomResourceDefinition is Established.
# (`kubectl wait --for condition=established` fails outright on a CRD so new that the API
# server has not written its status yet.)
wait_established() {
  local crd deadline=$((SECONDS + 60))
  for crd in "$@"; do
    until [[ "$(kubectl get "$crd" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" == True ]]; do
      if ((SECONDS > deadline)); then
        log "$crd is not Established after 60 s"
        return 1
      fi
      sleep 0.5
    done
  done
}

# wait_ready NAMESPACE KIND: waits until every resource of KIND in NAMESPACE has the
# condition Ready=True (what Strimzi's operator, here its stand-in, reports).
wait_ready() {
  local deadline=$((SECONDS + 60)) states
  while :; do
    states=$(kubectl -n "$1" get "$2" -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
    if [[ -n "$states" ]] && ! grep -qv '=True$' <<<"$states"; then
      log "$(wc -l <<<"$states") $2 Ready"
      return 0
    fi
    if ((SECONDS > deadline)); then
      log "$2 not Ready after 60 s: $(tr '\n' ' ' <<<"$states")"
      return 1
    fi
    sleep 0.5
  done
}

phase() { # phase NAME FUNC: runs FUNC and reports its duration
  local t0=$SECONDS
  log "== $1"
  "$2"
  log "== $1 done in $((SECONDS - t0)) s"
}

images() {
  make -s -C "$root" images TAG="$TAG" >&2
  make -s -C "$root" images TAG="$TAG" IMAGES=gitops >&2
  local f
  for f in "$root"/.run/images/*.tar; do
    ctr --address "$dir/run/containerd.sock" -n k8s.io images import --no-unpack=false "$f" >/dev/null
  done
  ctr --address "$dir/run/containerd.sock" -n k8s.io images ls -q | grep -c . | xargs -I{} echo "k8s: {} images in the node" >&2
}

dns() {
  kubectl apply -f "$root/tools/k8s/manifests/coredns.yaml" >/dev/null
  kubectl -n kube-system rollout status deploy/coredns --timeout=180s >&2
}

# hostpath_pv NAME SIZE UID: a PersistentVolume on the node's disk, under the cluster's
# folder, owned by the user its pod runs as (no storage provisioner runs here, and fsGroup
# does not apply to hostPath volumes; claims without a class bind to these).
hostpath_pv() {
  mkdir -p "$dir/volumes/$1"
  chown "$3:$3" "$dir/volumes/$1"
  chmod 0700 "$dir/volumes/$1"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: $1, labels: {kafka-restaurants/volume: local}}
spec:
  capacity: {storage: $2}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ""
  hostPath: {path: $dir/volumes/$1, type: Directory}
EOF
}

# module_dir MODULE@VERSION [TOOLCHAIN]: the module's folder in the Go module cache
# (downloaded once), with the Go toolchain the module asks for when it is not this one.
module_dir() {
  GOWORK=off GOTOOLCHAIN=${2:-local} go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}

dapr_chart() { echo "$(module_dir "github.com/dapr/dapr@v$DAPR_VERSION")/charts/dapr"; }

dapr() {
  local chart
  chart=$(dapr_chart)
  # The scheduler is a 3-member etcd that refuses in-memory storage in HA mode.
  local i
  for i in 0 1 2; do hostpath_pv "dapr-scheduler-$i" 16Gi 65532; done
  local sets=(--set global.registry=kafka-restaurants/dapr --set global.tag="$DAPR_VERSION"
    --set global.imagePullPolicy=Never --set dapr_sidecar_injector.sidecarImagePullPolicy=Never
    --set global.logAsJson=true)
  # Dapr's chart creates its `daprsystem` Configuration after its Deployments (Helm installs
  # custom resources last), and sentry and the operator exit when it is missing: with
  # images already on the node they start first and restart once. So the CRDs and that one
  # Configuration go in first, labelled as the release's own so Helm adopts it.
  kubectl apply --server-side -f "$chart/crds" >/dev/null
  wait_established crd/configurations.dapr.io
  kubectl create namespace "$DAPR_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  helm template dapr "$chart" -n "$DAPR_NS" "${sets[@]}" --show-only charts/dapr_config/templates/dapr_default_config.yaml |
    kubectl apply -n "$DAPR_NS" -f - >/dev/null
  kubectl -n "$DAPR_NS" label configurations.dapr.io daprsystem app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
  kubectl -n "$DAPR_NS" annotate configurations.dapr.io daprsystem meta.helm.sh/release-name=dapr meta.helm.sh/release-namespace="$DAPR_NS" --overwrite >/dev/null
  helm upgrade --install dapr "$chart" -n "$DAPR_NS" --wait --timeout 5m "${sets[@]}" >&2
}

kafka() {
  kubectl create namespace kafka --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # Where a user installs Strimzi's operator chart, its stand-in: Strimzi's CRDs (the
  # structural schemas tests/k8s validates against) and the broker. Then every Strimzi
  # resource of helm/kafka-cluster, applied server-side with strict field validation; the
  # stand-in reports them Ready as the operator would.
  helm upgrade --install strimzi-kafka-operator "$root/tools/k8s/charts/strimzi-kafka-operator" -n kafka \
    --wait --timeout 3m --set image.tag="$TAG" >&2
  helm template kafka-cluster "$root/helm/kafka-cluster" -n kafka -f "$root/helm/kafka-cluster/values-minikube.yaml" --api-versions kafka.strimzi.io/v1beta2 |
    kubectl apply --server-side --validate=strict -n kafka -f - >&2
  wait_ready kafka kafka
  wait_ready kafka kafkatopic
}

postgresql() {
  hostpath_pv postgresql-data 2Gi 70 # the chart runs PostgreSQL as uid 70
  helm upgrade --install postgresql "$root/helm/postgresql" -n "$NS" --create-namespace --wait --timeout 5m \
    -f "$root/helm/postgresql/values-minikube.yaml" \
    --set image.repository=kafka-restaurants/postgresql --set image.tag="$TAG" --set image.pullPolicy=Never >&2
}

app() {
  helm upgrade --install kafka-restaurants "$root/helm/kafka-restaurants" -n "$NS" --create-namespace --wait --timeout 6m \
    -f "$root/helm/kafka-restaurants/values-minikube.yaml" -f "$root/tools/k8s/values-cluster.yaml" \
    --set image.tag="$TAG" >&2
  kubectl -n "$NS" get pods -o wide >&2
}

GIT_URL=http://gitserver.argocd.svc.cluster.local
gitops="$dir/gitops"

# serve_tree: the working tree as it is on disk (tracked and untracked files that git does
# not ignore), as the one commit of branch main of the served repository.
serve_tree() {
  local bare="$gitops/git/kafka-restaurants.git" tmp
  tmp=$(mktemp -d "$dir/tree.XXXXXX")
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$tmp"
  rm -rf "$bare"
  git init -q --bare -b main "$bare"
  git -C "$tmp" init -q -b main
  git -C "$tmp" add -A
  git -C "$tmp" -c user.name="make k8s-test" -c user.email=k8s-test@kafka-restaurants.invalid \
    commit -q -m "the working tree of $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  git -C "$tmp" push -q "$bare" main
  rm -rf "$tmp"
}

# serve_charts: the chart repository (index.yaml and packages) with the charts the
# app-of-apps takes from outside registries: Dapr's (from its module) and the Strimzi
# operator's stand-in.
serve_charts() {
  rm -rf "$gitops/charts" && mkdir -p "$gitops/charts"
  # Dapr's chart says 0.0.0 in its source; its release stamps the version, as here.
  helm package -d "$gitops/charts" --version "$DAPR_VERSION" --app-version "$DAPR_VERSION" "$(dapr_chart)" >/dev/null
  helm package -d "$gitops/charts" "$root/tools/k8s/charts/strimzi-kafka-operator" 2>/dev/null >/dev/null
  helm repo index "$gitops/charts" --url "$GIT_URL/charts"
}

# argocd_values: helm/argocd's values in this cluster: the served repository and chart
# copies, the images on the node, and tools/k8s/values-cluster.yaml for the app.
argocd_values() {
  cat <<EOF
repoURL: $GIT_URL/git/kafka-restaurants.git
targetRevision: main
profile: minikube
strimzi: {repoURL: "$GIT_URL/charts", chart: strimzi-kafka-operator, version: 0.49.0}
dapr: {repoURL: "$GIT_URL/charts", chart: dapr, version: "$DAPR_VERSION"}
values:
  strimziOperator:
    image: {tag: "$TAG"}
  dapr:
    global: {registry: kafka-restaurants/dapr, tag: "$DAPR_VERSION", imagePullPolicy: Never}
    dapr_sidecar_injector: {sidecarImagePullPolicy: Never}
  postgresql:
    image: {repository: kafka-restaurants/postgresql, tag: "$TAG", pullPolicy: Never}
  kafkaRestaurants:
$(sed 's/^/    /' "$root/tools/k8s/values-cluster.yaml")
EOF
}

argocd() {
  local manifests
  manifests="$(module_dir "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" "$ARGOCD_GOTOOLCHAIN")/manifests"
  [[ -f "$manifests/core-install.yaml" ]] || { log "no Argo CD manifests in the module cache"; return 1; }
  mkdir -p "$gitops/git"
  serve_tree
  serve_charts
  chmod -R a+rX "$gitops"
  for i in 0 1 2; do hostpath_pv "dapr-scheduler-$i" 16Gi 65532; done
  hostpath_pv postgresql-data 2Gi 70

  kubectl create namespace argocd --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # This cluster's settings first, under their own field manager, so that the install's
  # empty argocd-cm keeps them (tools/k8s/manifests/argocd-cm.yaml says which and why).
  kubectl apply --server-side --field-manager=k8s-test -f "$root/tools/k8s/manifests/argocd-cm.yaml" >/dev/null
  # Argo CD's own core install (controller, repo server, Redis, ApplicationSet controller),
  # with the images built here in place of quay.io's and Docker Hub's.
  sed -e "s#quay.io/argoproj/argocd:$ARGOCD_VERSION#kafka-restaurants/argocd:${ARGOCD_VERSION#v}#" \
    -e "s#public.ecr.aws/docker/library/redis:[^ ]*#kafka-restaurants/argocd-redis:$TAG#" \
    -e 's#imagePullPolicy: Always#imagePullPolicy: Never#' -e 's#imagePullPolicy: IfNotPresent#imagePullPolicy: Never#' \
    "$manifests/core-install.yaml" | kubectl apply -n argocd --server-side -f - >/dev/null
  wait_established crd/appprojects.argoproj.io crd/applications.argoproj.io
  kubectl apply -f "$root/tools/k8s/manifests/argocd-project.yaml" >/dev/null
  sed "s#@GITOPS@#$gitops#g; s#@TAG@#$TAG#g" "$root/tools/k8s/manifests/gitserver.yaml" | kubectl apply -f - >/dev/null
  kubectl -n argocd rollout status deploy/gitserver deploy/argocd-redis deploy/argocd-repo-server statefulset/argocd-application-controller --timeout=5m >&2
  argocd_values >"$dir/argocd-values.yaml"
  helm template root "$root/helm/argocd" --set bootstrap=true -f "$dir/argocd-values.yaml" | kubectl apply -f - >&2
}

phases=("$@")
[[ ${#phases[@]} -gt 0 ]] || phases=(images dns dapr kafka postgresql app)
for p in "${phases[@]}"; do
  case "$p" in
    images | dns | dapr | kafka | postgresql | app | argocd) phase "$p" "$p" ;;
    *) echo "unknown phase $p (images dns dapr kafka postgresql app argocd)" >&2; exit 2 ;;
  esac
done

