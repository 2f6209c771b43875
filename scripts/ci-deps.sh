#!/usr/bin/env bash
# System tools the tests drive: openssl (CMS and CSR interoperability), systemd-analyze (Debian
# package "systemd") verifies the units, shellcheck lints the scripts (test/deploy/). Idempotent: installs only what is
# missing, from Debian's packages. .ci/run calls it before the tests; the tests never install
# anything themselves and fail, naming this script, when a tool is absent.
set -euo pipefail

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "ci-deps: openssl, systemd-analyze and shellcheck present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ci-deps: need root to install ${missing[*]} (apt-get)" >&2
  exit 1
fi

echo "ci-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
