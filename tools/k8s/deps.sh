#!/usr/bin/env bash
# The Debian packages the local cluster needs (tools/k8s), installed only when missing:
# containerd and runc (the node's runtime), the CNI plugins (bridge, host-local, portmap),
# etcd, nftables (kube-proxy), iptables and ipset (kube-router's policy controller),
# mmdebstrap (the Debian-based images), jq, openssl, git.
set -euo pipefail
need=()
for p in containerd runc containernetworking-plugins etcd-server nftables iptables ipset mmdebstrap jq openssl git; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
[[ ${#need[@]} -eq 0 ]] && exit 0
[[ $(id -u) -eq 0 ]] || { echo "the local cluster needs root (network, mounts, cgroups); missing: ${need[*]}" >&2; exit 1; }
echo "installing ${need[*]}..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
