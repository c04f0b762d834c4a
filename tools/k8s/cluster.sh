#!/usr/bin/env bash
# A single-node Kubernetes on this machine, for `make k8s-up`, `make k8s-down` and
# `make k8s-test` (docs/KUBERNETES.md, "A cluster on this machine").
#
#   tools/k8s/cluster.sh up      start etcd, the control plane, containerd, kubelet,
#                                kube-proxy and kube-router's policy controller
#   tools/k8s/cluster.sh down    stop all of it and put the host back as it was
#   tools/k8s/cluster.sh env     print the KUBECONFIG line for a shell
#
# Everything the cluster writes lives under .run/k8s (git-ignored). The node's address
# is the bridge's own, 198.18.0.1: pods live in 198.18.0.0/24, Services in 198.19.0.0/16,
# both inside 198.18.0.0/15 (reserved for test networks). Pods get a route to that range
# and no default route, and the bridge does no masquerading, so nothing a pod sends can
# leave the machine; CoreDNS answers cluster names only (no forwarding to the host's
# resolver).
#
# `down` undoes, by what `up` recorded: every process it started (by PID, and every
# container shim of its containerd), every mount under its folder and every network
# namespace its pods had, the bridge, kube-proxy's nft tables, kubelet's and kube-router's
# iptables chains and ipsets, the kubepods cgroups, and the kernel settings kubelet writes.
set -euo pipefail

root=${KR_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tools="$root/.tools/bin"
dir="$root/.run/k8s"
pki="$dir/pki"
logs="$dir/logs"
pids="$dir/pids"

BRIDGE=krbr0
NODE_IP=198.18.0.1
POD_CIDR=198.18.0.0/24
SERVICE_CIDR=198.19.0.0/16
CLUSTER_RANGE=198.18.0.0/15
API_SERVICE_IP=198.19.0.1
DNS_IP=198.19.0.10
NODE=kr-node
API_PORT=6443
ETCD_CLIENT=127.0.0.1:23790
ETCD_PEER=127.0.0.1:23800
# The kernel settings kubelet rewrites at start, and the ones the cluster needs.
SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables"

log() { echo "k8s: $*" >&2; }
die() { log "$*"; exit 1; }

export KUBECONFIG="$dir/admin.kubeconfig"
kubectl() { "$tools/kubectl" "$@"; }

# ---- certificates ---------------------------------------------------------------------

# cert NAME CN [O] [SANS]: a client/server certificate signed by the cluster CA.
cert() {
  local name=$1 cn=$2 o=${3:-} sans=${4:-} subj
  [[ -f "$pki/$name.crt" ]] && return 0
  subj="/CN=$cn"
  [[ -n "$o" ]] && subj="/O=$o$subj"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -n "$sans" ]] && echo "subjectAltName=$sans"
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}

# kubeconfig NAME CERT: a kubeconfig for the client certificate CERT.
kubeconfig() {
  cat >"$dir/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kafka-restaurants
  cluster:
    certificate-authority: $pki/ca.crt
    server: https://$NODE_IP:$API_PORT
users:
- name: $1
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: kafka-restaurants
  context: {cluster: kafka-restaurants, user: $1}
current-context: kafka-restaurants
EOF
}

make_pki() {
  mkdir -p "$pki"
  if [[ ! -f "$pki/ca.crt" ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=kafka-restaurants-ca" -days 30 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$pki/ca.crt" 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
    openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  fi
  cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$NODE_IP,IP:$API_SERVICE_IP,IP:127.0.0.1"
  cert apiserver-kubelet kube-apiserver-kubelet-client system:masters
  cert admin kubernetes-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert kubelet "system:node:$NODE" system:nodes "DNS:$NODE,IP:$NODE_IP"
  cert proxy system:kube-proxy
  cert kube-router kube-router
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kubelet kubelet
  kubeconfig proxy proxy
  kubeconfig kube-router kube-router
}

# ---- processes --------------------------------------------------------------------------

# start NAME CMD...: runs CMD in the background, logs to logs/NAME.log, PID in pids/NAME.
start() {
  local name=$1; shift
  "$@" >>"$logs/$name.log" 2>&1 &
  echo $! >"$pids/$name"
}

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "$what not ready after ${secs}s (logs in $logs)"
}

alive() { [[ -f "$pids/$1" ]] && kill -0 "$(cat "$pids/$1")" 2>/dev/null; }

# ---- the host's state, recorded before and restored after --------------------------------

record_host() {
  [[ -f "$dir/host/recorded" ]] && return 0
  mkdir -p "$dir/host"
  modprobe br_netfilter 2>/dev/null || true
  local s
  for s in $SYSCTLS; do
    sysctl -n "$s" 2>/dev/null >"$dir/host/sysctl.$s" || rm -f "$dir/host/sysctl.$s"
  done
  nft list tables 2>/dev/null >"$dir/host/nft-tables" || true
  iptables-save 2>/dev/null >"$dir/host/iptables" || true
  ip6tables-save 2>/dev/null >"$dir/host/ip6tables" || true
  ipset list -n 2>/dev/null | sort >"$dir/host/ipsets" || true
  ls /run/netns 2>/dev/null | sort >"$dir/host/netns" || true
  touch "$dir/host/recorded"
}

restore_sysctls() {
  local f s
  for f in "$dir"/host/sysctl.*; do
    [[ -f "$f" ]] || continue
    s=${f##*/sysctl.}
    [[ "$(sysctl -n "$s" 2>/dev/null)" == "$(cat "$f")" ]] || sysctl -qw "$s=$(cat "$f")" 2>/dev/null || true
  done
}

# ---- up -----------------------------------------------------------------------------------

write_configs() {
  mkdir -p "$dir/containerd" "$dir/run" "$dir/cni/net.d" "$dir/cni/ipam" "$dir/kubelet" "$dir/pod-logs" "$dir/volumes"
  # containerd: every path under our folder; runc through the wrapper that drops negative
  # oomScoreAdj values (root here lacks CAP_SYS_RESOURCE: a negative value fails every
  # sandbox); CNI from Debian's plugins with our configuration.
  cat >"$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$dir/run/containerd"
[grpc]
  address = "$dir/run/containerd.sock"
[ttrpc]
  address = "$dir/run/containerd.ttrpc.sock"
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  enable_unprivileged_ports = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$root/tools/k8s/runc-wrapper"
        Root = "$dir/run/runc"
        SystemdCgroup = false
EOF
  # The pod network: one bridge, no masquerading, a route to the cluster's range only.
  cat >"$dir/cni/net.d/10-kafka-restaurants.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "kafka-restaurants",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$dir/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "198.18.0.10", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$CLUSTER_RANGE"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": false}
  ]
}
EOF
  cat >"$dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 20250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 20248
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podLogsDir: $dir/pod-logs
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: ""
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"}
maxPods: 60
containerRuntimeEndpoint: unix://$dir/run/containerd.sock
EOF
  cat >"$dir/proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:20256
metricsBindAddress: 127.0.0.1:20249
clientConnection: {kubeconfig: $dir/proxy.kubeconfig}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
nodePortAddresses: [$NODE_IP/32]
EOF
}

bridge_up() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr show dev "$BRIDGE" | grep -q "inet $NODE_IP/" || ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

up() {
  local t
  for t in kube-apiserver kubelet kubectl kube-proxy kube-router coredns; do
    [[ -x "$tools/$t" ]] || die "$tools/$t missing: run make k8s-tools"
  done
  for t in containerd etcd runc ipset nft iptables openssl; do
    command -v "$t" >/dev/null || die "$t missing: run make k8s-tools (Debian packages)"
  done
  if alive kube-apiserver; then log "already up (make k8s-down first)"; return 0; fi
  mkdir -p "$dir" "$logs" "$pids"
  record_host
  make_pki
  write_configs
  bridge_up
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1

  log "starting etcd, the API server, containerd"
  start etcd etcd --name kr --data-dir "$dir/etcd" --listen-client-urls "http://$ETCD_CLIENT" \
    --advertise-client-urls "http://$ETCD_CLIENT" --listen-peer-urls "http://$ETCD_PEER" \
    --initial-advertise-peer-urls "http://$ETCD_PEER" --initial-cluster "kr=http://$ETCD_PEER" \
    --listen-metrics-urls "" --log-level warn
  start containerd containerd --config "$dir/containerd/config.toml"
  start kube-apiserver "$tools/kube-apiserver" --etcd-servers "http://$ETCD_CLIENT" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" --service-node-port-range 30000-30100 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --kubelet-client-certificate "$pki/apiserver-kubelet.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet.key" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --profiling=false --v=1
  wait_for "the API server" 90 kubectl get --raw /readyz

  log "starting the controller manager, the scheduler, kubelet, kube-proxy"
  start kube-controller-manager "$tools/kube-controller-manager" --kubeconfig "$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$dir/controller-manager.kubeconfig" --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 20257 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false --controllers '*,-nodeipam' --v=1
  start kube-scheduler "$tools/kube-scheduler" --kubeconfig "$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig "$dir/scheduler.kubeconfig" --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 20259 --leader-elect=false --v=1
  wait_for containerd 30 test -S "$dir/run/containerd.sock"
  start kubelet "$tools/kubelet" --config "$dir/kubelet/config.yaml" --kubeconfig "$dir/kubelet.kubeconfig" \
    --root-dir "$dir/kubelet/root" --hostname-override "$NODE" --node-ip "$NODE_IP" --v=1
  # kubelet writes a few kernel settings at start only: put them back once it has.
  wait_for "the node" 90 kubectl get node "$NODE"
  restore_sysctls
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
  start kube-proxy "$tools/kube-proxy" --config "$dir/proxy.yaml" --hostname-override "$NODE" --v=1
  # kube-router enforces NetworkPolicies (its policy controller only: routing and service
  # proxying stay with the bridge and kube-proxy).
  kubectl apply -f "$root/tools/k8s/manifests/kube-router-rbac.yaml" >/dev/null
  start kube-router "$tools/kube-router" --run-firewall=true --run-router=false --run-service-proxy=false \
    --kubeconfig "$dir/kube-router.kubeconfig" --hostname-override "$NODE" \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port=0 --metrics-port=0 -v 1
  wait_for "node Ready" 90 bash -c "'$tools/kubectl' get node $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  log "node $NODE Ready at $NODE_IP; export KUBECONFIG=$KUBECONFIG"
}

# ---- down ---------------------------------------------------------------------------------

stop_pid() { # stop_pid PID: TERM, then KILL after 10 s
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  [[ -d "$dir" ]] || return 0
  local name pid c
  log "stopping the cluster"
  # Node agents first, so nothing restarts what is being stopped.
  for name in kube-router kube-proxy kubelet kube-scheduler kube-controller-manager; do
    if [[ -f "$pids/$name" ]]; then stop_pid "$(cat "$pids/$name")"; fi
  done
  # Every container of our containerd, through runc's own state folder.
  if [[ -d "$dir/run/runc" ]]; then
    for ns in "$dir"/run/runc/*/; do
      [[ -d "$ns" ]] || continue
      for c in $(runc --root "$ns" list -q 2>/dev/null); do
        runc --root "$ns" kill -a "$c" KILL 2>/dev/null || true
      done
      for c in $(runc --root "$ns" list -q 2>/dev/null); do
        runc --root "$ns" delete -f "$c" 2>/dev/null || true
      done
    done
  fi
  for name in containerd kube-apiserver etcd; do
    if [[ -f "$pids/$name" ]]; then stop_pid "$(cat "$pids/$name")"; fi
  done
  # Container shims of our containerd (they outlive it by design).
  for pid in $(pgrep -f "containerd-shim.*$dir/run/containerd.sock" 2>/dev/null); do stop_pid "$pid"; done
  rm -f "$pids"/*
  # Network namespaces our pods had (the ones that were not there before).
  local before="$dir/host/netns"
  for n in $(ls /run/netns 2>/dev/null); do
    grep -qx "$n" "$before" 2>/dev/null || ip netns delete "$n" 2>/dev/null || true
  done
  # Mounts under our folder (pod volumes, overlay snapshots, the netns bind mounts).
  { grep -F " $dir/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
  # Leftover veth ends of pods (normally gone with their namespace).
  for v in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^veth' || true); do
    if ip link show "$v" 2>/dev/null | grep -q "master $BRIDGE"; then ip link delete "$v" 2>/dev/null || true; fi
  done
  # nft tables that were not there before (kube-proxy's; iptables-nft's own when it made
  # them), then the iptables rules as they were.
  if command -v nft >/dev/null; then
    { nft list tables 2>/dev/null || true; } | while read -r _ fam name; do
      grep -qx "table $fam $name" "$dir/host/nft-tables" 2>/dev/null || nft delete table "$fam" "$name" 2>/dev/null || true
    done
  fi
  if [[ -s "$dir/host/iptables" ]]; then iptables-restore <"$dir/host/iptables" 2>/dev/null || true; fi
  if [[ -s "$dir/host/ip6tables" ]]; then ip6tables-restore <"$dir/host/ip6tables" 2>/dev/null || true; fi
  # kube-router's ipsets.
  for s in $(ipset list -n 2>/dev/null); do
    grep -qx "$s" "$dir/host/ipsets" 2>/dev/null || ipset destroy "$s" 2>/dev/null || true
  done
  # kubelet's cgroups (cgroup v1: one tree per controller), deepest first.
  for cg in /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/*/kubepods.slice; do
    if [[ -d "$cg" ]]; then find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done
  restore_sysctls
  # The data itself (certificates, etcd, images) goes too: the next `up` starts afresh.
  rm -rf "$dir"
  log "down; the host is as it was"
}

# clean: fails, naming what is left, unless the host holds nothing of a cluster: no process
# of ours, no mount under our folder, no bridge, no kube-proxy or kube-router rules, no
# kubepods cgroup, no node port of ours bound. `make k8s-test` runs it after `down`.
clean() {
  local left=()
  pgrep -f "$root/.tools/bin/kube|$root/.run/k8s|containerd-shim" >/dev/null && left+=("processes: $(pgrep -af "$root/.tools/bin/kube|$root/.run/k8s|containerd-shim" | cut -c1-80 | tr '\n' ';')")
  grep -qF "$root/.run/k8s" /proc/mounts && left+=("mounts under $root/.run/k8s")
  ip link show "$BRIDGE" >/dev/null 2>&1 && left+=("bridge $BRIDGE")
  nft list tables 2>/dev/null | grep -q kube-proxy && left+=("nft table kube-proxy")
  iptables-save 2>/dev/null | grep -qE "KUBE-ROUTER|KUBE-FIREWALL|KUBE-KUBELET-CANARY" && left+=("iptables chains of kubelet or kube-router")
  ipset list -n 2>/dev/null | grep -q "^KUBE-" && left+=("kube-router ipsets")
  ls -d /sys/fs/cgroup/*/kubepods >/dev/null 2>&1 && left+=("kubepods cgroups")
  ss -ltnH 2>/dev/null | grep -qE "$NODE_IP:|127.0.0.1:(23790|23800|20248|20249|20256|20257|20259) " && left+=("bound ports")
  if [[ ${#left[@]} -gt 0 ]]; then
    printf 'k8s: the host is not clean: %s\n' "${left[@]}" >&2
    return 1
  fi
  log "the host is clean"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  clean) clean ;;
  env) echo "export KUBECONFIG=$KUBECONFIG" ;;
  *) echo "usage: $0 up|down|clean|env" >&2; exit 2 ;;
esac
