#!/usr/bin/env bash
# Runs the frontend's nginx locally, as the container image does: renders the shared server
# template with the same variables, wraps it in a main config that keeps pid and temp files
# in the data folder, and runs nginx in the foreground (so `dapr run -f` and `make run` can
# stop it). Started from frontend/ by both.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA_DIR:-$here/../.data}
run="$data/nginx"
mkdir -p "$run/tmp"

export NGINX_PORT=${NGINX_PORT:-8080}
export DAPR_HTTP_PORT=${DAPR_HTTP_PORT:-3500}
export API_APP_ID=${API_APP_ID:-api}
export NGINX_ROOT=${NGINX_ROOT:-$here/public}
export NGINX_ORDER_RATE=${NGINX_ORDER_RATE:-2r/s}
export NGINX_ORDER_BURST=${NGINX_ORDER_BURST:-5}
# The frontend sidecar's API token (devstack sets it); empty means the sidecar needs none.
export DAPR_API_TOKEN=${DAPR_API_TOKEN:-}
export NGINX_CACHE_DIR=${NGINX_CACHE_DIR:-$run/cache}
# Proxies whose word on the client's address nginx takes (an ingress, a load balancer in
# front): NGINX_TRUSTED_PROXIES, addresses or CIDRs separated by spaces or commas; empty,
# the default, trusts no one. NGINX_REAL_IP_HEADER: the header they set (X-Forwarded-For).
NGINX_REAL_IP=""
trusted=${NGINX_TRUSTED_PROXIES:-}
for proxy in ${trusted//,/ }; do
  if [[ ! $proxy =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]]; then
    echo "NGINX_TRUSTED_PROXIES: $proxy is not an address or a CIDR" >&2
    exit 2
  fi
  NGINX_REAL_IP+="set_real_ip_from $proxy; "
done
if [[ -n $NGINX_REAL_IP ]]; then
  header=${NGINX_REAL_IP_HEADER:-X-Forwarded-For}
  if [[ ! $header =~ ^[A-Za-z0-9-]+$ ]]; then
    echo "NGINX_REAL_IP_HEADER: $header is not a header name" >&2
    exit 2
  fi
  NGINX_REAL_IP+="real_ip_header $header; real_ip_recursive on;"
fi
export NGINX_REAL_IP
# Only these are substituted: nginx's own $variables stay as they are.
envsubst '${NGINX_PORT} ${DAPR_HTTP_PORT} ${API_APP_ID} ${NGINX_ROOT} ${NGINX_ORDER_RATE} ${NGINX_ORDER_BURST} ${DAPR_API_TOKEN} ${NGINX_CACHE_DIR} ${NGINX_REAL_IP}' \
  <"$here/nginx/default.conf.template" >"$run/default.conf"

# Access log lines are buffered (32 KiB, flushed every second): one write per request
# to the launcher's pipe cost nginx more than proxying the request.
access_log="${NGINX_ACCESS_LOG:-/dev/stdout} combined buffer=32k flush=1s"
[[ ${NGINX_ACCESS_LOG:-} == off ]] && access_log=off

user=""
[[ $(id -u) -eq 0 ]] && user="user root;"
cat >"$run/nginx.conf" <<CONF
$user
# One process, no workers: if the launcher is killed outright, the kernel kills this
# process with it (Pdeathsig), and no orphaned worker keeps port ${NGINX_PORT}. The
# container image runs nginx normally (master and workers).
master_process off;
pid $run/nginx.pid;
error_log stderr warn;
daemon off;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $access_log;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path $run/tmp/body;
    proxy_temp_path $run/tmp/proxy;
    fastcgi_temp_path $run/tmp/fastcgi;
    uwsgi_temp_path $run/tmp/uwsgi;
    scgi_temp_path $run/tmp/scgi;
    include $run/default.conf;
}
CONF
exec nginx -e stderr -p "$run" -c "$run/nginx.conf"
