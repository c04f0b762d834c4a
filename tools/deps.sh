#!/usr/bin/env bash
# Installs the Debian packages the local stack and the tests need, only when missing:
# nginx (the frontend), kcat (looking into Kafka), chromium (browser tests).
set -euo pipefail
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v kcat >/dev/null || need+=(kcat)
command -v chromium >/dev/null || need+=(chromium)
command -v envsubst >/dev/null || need+=(gettext-base)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "missing packages: ${need[*]}; install them with apt-get (needs root)" >&2; exit 1
  fi
fi
echo "installing ${need[*]}..." >&2
${SUDO:-} apt-get update -qq
DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
