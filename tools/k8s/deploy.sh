#!/usr/bin/env bash
# Installs everything on the local cluster (tools/k8s/cluster.sh up) as a user would on
# minikube (docs/KUBERNETES.md), with the few differences an offline machine needs:
#   1. the images, built without Docker (make images), imported into the node's containerd;
#   2. CoreDNS (cluster names only);
#   3. Dapr's control plane from its own Helm chart (inside the github.com/dapr/dapr module),
#      with images built from the same source as the local daprd;
#   4. Strimzi's CRDs, every Strimzi resource of helm/kafka-cluster applied server-side (the
#      API server validates them), and the project's Kafka-protocol broker standing in for
#      the brokers Strimzi would run (its images cannot be had here);
#   5. helm/postgresql and helm/kafka-restaurants with their minikube values, plus
#      tools/k8s/values-cluster.yaml.
# Each phase prints how long it took. Usage: tools/k8s/deploy.sh [phase...]
# (phases: images dns dapr kafka postgresql app; default all).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/.tools/bin"
dir="$root/.run/k8s"
export KUBECONFIG="$dir/admin.kubeconfig"
TAG=${TAG:-dev}
DAPR_VERSION=$(sed -n 's/^DAPRD_VERSION=v//p' "$root/tools/build-tools.sh")
DAPR_NS=dapr-system
NS=kafka-restaurants

kubectl() { "$tools/kubectl" "$@"; }
helm() { "$tools/helm" "$@"; }
log() { echo "k8s: $*" >&2; }

phase() { # phase NAME FUNC: runs FUNC and reports its duration
  local t0=$SECONDS
  log "== $1"
  "$2"
  log "== $1 done in $((SECONDS - t0)) s"
}

images() {
  make -s -C "$root" images TAG="$TAG" >&2
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

dapr() {
  local chart
  chart=$(GOWORK=off go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/charts/dapr
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
  kubectl wait --for condition=established --timeout=60s crd/configurations.dapr.io >/dev/null
  kubectl create namespace "$DAPR_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  helm template dapr "$chart" -n "$DAPR_NS" "${sets[@]}" --show-only charts/dapr_config/templates/dapr_default_config.yaml |
    kubectl apply -n "$DAPR_NS" -f - >/dev/null
  kubectl -n "$DAPR_NS" label configurations.dapr.io daprsystem app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
  kubectl -n "$DAPR_NS" annotate configurations.dapr.io daprsystem meta.helm.sh/release-name=dapr meta.helm.sh/release-namespace="$DAPR_NS" --overwrite >/dev/null
  helm upgrade --install dapr "$chart" -n "$DAPR_NS" --wait --timeout 5m "${sets[@]}" >&2
}

kafka() {
  kubectl create namespace kafka --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # Strimzi's CRDs (the structural schemas tests/k8s validates against), then every Strimzi
  # resource of the chart, applied server-side with strict field validation.
  kubectl apply --server-side -f "$root/tests/k8s/testdata/strimzi-crds.yaml" >/dev/null
  kubectl wait --for condition=established --timeout=60s crd/kafkas.kafka.strimzi.io crd/kafkanodepools.kafka.strimzi.io crd/kafkatopics.kafka.strimzi.io >/dev/null
  helm template kafka-cluster "$root/helm/kafka-cluster" -n kafka -f "$root/helm/kafka-cluster/values-minikube.yaml" --api-versions kafka.strimzi.io/v1beta2 |
    kubectl apply --server-side --validate=strict -n kafka -f - >&2
  kubectl apply -f "$root/tools/k8s/manifests/kafka-standin.yaml" >/dev/null
  kubectl -n kafka rollout status deploy/kafka-restaurants-broker --timeout=120s >&2
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

phases=("$@")
[[ ${#phases[@]} -gt 0 ]] || phases=(images dns dapr kafka postgresql app)
for p in "${phases[@]}"; do
  case "$p" in
    images | dns | dapr | kafka | postgresql | app) phase "$p" "$p" ;;
    *) echo "unknown phase $p (images dns dapr kafka postgresql app)" >&2; exit 2 ;;
  esac
done
