#!/usr/bin/env bash
# make k8s-test: bring the single-node cluster up, install everything as a Helm user would
# (tools/k8s/deploy.sh), run tests/cluster against it; then on a fresh cluster let Argo CD
# install everything from the app-of-apps and run tests/cluster's Argo CD tests; take it
# all down again, pass or fail (and on Ctrl-C).
# Prints the time of each phase. Set K8S_KEEP=1 to leave the cluster up for a look
# (then make k8s-down).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
k8s="$root/tools/k8s"
t0=$SECONDS
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "${K8S_KEEP:-}" == 1 && $rc -eq 0 ]]; then
    echo "k8s: left up (K8S_KEEP=1); make k8s-down when done" >&2
  else
    local t=$SECONDS
    "$k8s/cluster.sh" down || rc=1
    "$k8s/cluster.sh" clean || rc=1
    echo "k8s: teardown in $((SECONDS - t)) s" >&2
  fi
  echo "k8s: make k8s-test took $((SECONDS - t0)) s (exit $rc)" >&2
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM
t=$SECONDS; "$k8s/cluster.sh" up; echo "k8s: cluster up in $((SECONDS - t)) s" >&2
"$k8s/deploy.sh"
t=$SECONDS
export KUBECONFIG="$root/.run/k8s/admin.kubeconfig"
(cd "$root/tests" && go test -tags cluster -count=1 -timeout 20m -v ./cluster/ 2>&1 | tee "$root/.run/k8s-test.log")
echo "k8s: tests/cluster in $((SECONDS - t)) s" >&2

# The Argo CD path, on a fresh cluster: Argo CD alone installs everything from the
# app-of-apps (tools/k8s/deploy.sh argocd), then tests/cluster's Argo CD tests run.
t=$SECONDS; "$k8s/cluster.sh" down; "$k8s/cluster.sh" clean; echo "k8s: first cluster down in $((SECONDS - t)) s" >&2
t=$SECONDS; "$k8s/cluster.sh" up; echo "k8s: cluster up again in $((SECONDS - t)) s" >&2
"$k8s/deploy.sh" images dns argocd
t=$SECONDS
(cd "$root/tests" && go test -tags argocd -count=1 -timeout 20m -v ./cluster/ 2>&1 | tee "$root/.run/k8s-argocd-test.log")
echo "k8s: tests/cluster (Argo CD) in $((SECONDS - t)) s" >&2
