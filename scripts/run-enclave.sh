#!/usr/bin/env bash
# Starts the co-signer enclave with nitro-cli, and with --watch stays in the foreground until the
# enclave stops (so systemd restarts it; deploy/cosigner-enclave.service). Refuses --debug-mode
# unless --allow-debug is given too.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/run-enclave.sh [--eif <file>] [--name <name>] [--memory <MiB>] [--cpu-count <n>]
                              [--cid <cid>] [--watch] [--debug-mode --allow-debug]

  --eif        the EIF from scripts/build-eif.sh (default /opt/cosigner/cosigner.eif)
  --name       enclave name (default cosigner)
  --memory     MiB for the enclave (default 4096; within the allocator's memory_mib)
  --cpu-count  vCPUs for the enclave (default 2; within the allocator's cpu_count)
  --cid        the enclave's vsock CID (default 16; the parent connects to it)
  --watch      stay in the foreground until the enclave stops (exit 1), terminate it on SIGTERM
  --debug-mode development only, and only with --allow-debug: a debug-mode enclave attests with
               PCR0/1/2 (and PCR8) all zero, so KMS refuses the sealing key and it cannot unseal
USAGE
}

die() {
  echo "run-enclave: $*" >&2
  exit 2
}

need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
}

integer_in() {
  local name=$1 value=$2 min=$3 max=$4
  if ! [[ "$value" =~ ^[0-9]{1,10}$ ]] || [ "$value" -lt "$min" ] || [ "$value" -gt "$max" ]; then
    die "$name must be an integer from $min to $max, got $value"
  fi
}

eif=/opt/cosigner/cosigner.eif
name=cosigner
memory=4096
cpus=2
cid=16
watch=0
debug=0
allow_debug=0
interval=${COSIGNER_WATCH_INTERVAL:-10}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --eif) need_value "$@"; eif=$2; shift 2 ;;
    --name) need_value "$@"; name=$2; shift 2 ;;
    --memory) need_value "$@"; memory=$2; shift 2 ;;
    --cpu-count) need_value "$@"; cpus=$2; shift 2 ;;
    --cid) need_value "$@"; cid=$2; shift 2 ;;
    --watch) watch=1; shift ;;
    --debug-mode) debug=1; shift ;;
    --allow-debug) allow_debug=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if [ "$debug" -eq 1 ] && [ "$allow_debug" -ne 1 ]; then
  die "--debug-mode refused: a debug-mode enclave attests with PCR0, PCR1, PCR2 (and PCR8) all zero, so KMS refuses the sealing key's policy and the enclave cannot unseal; its console is open to the parent. Add --allow-debug to run it anyway (development only)."
fi
[[ "$name" =~ ^[A-Za-z0-9_-]{1,64}$ ]] || die "--name may hold letters, digits, - and _ only"
integer_in --memory "$memory" 64 1048576
integer_in --cpu-count "$cpus" 1 256
integer_in --cid "$cid" 4 4294967294
[ -f "$eif" ] || die "no EIF at $eif (build it with scripts/build-eif.sh)"
integer_in COSIGNER_WATCH_INTERVAL "$interval" 1 3600
command -v nitro-cli >/dev/null || die "nitro-cli is not installed (aws-nitro-enclaves-cli)"

args=(run-enclave --enclave-name "$name" --eif-path "$eif" --memory "$memory" --cpu-count "$cpus" --enclave-cid "$cid")
if [ "$debug" -eq 1 ]; then
  echo "run-enclave: WARNING: debug mode: PCRs are zero, KMS will refuse the sealing key, the console is readable" >&2
  args+=(--debug-mode)
fi
nitro-cli "${args[@]}"
[ "$watch" -eq 1 ] || exit 0

# Watch: fail when the enclave is gone (systemd restarts the unit); stop it when we are stopped.
stop() {
  nitro-cli terminate-enclave --enclave-name "$name" >/dev/null || true
  exit 0
}
trap stop TERM INT
while :; do
  sleep "$interval" &
  wait $! || true
  # Read it whole first: with pipefail, grep -q closing the pipe early would read as a failure.
  described=$(nitro-cli describe-enclaves) || described=""
  if ! grep -Eq "\"EnclaveName\": *\"$name\"" <<<"$described"; then
    echo "run-enclave: enclave $name is no longer running" >&2
    exit 1
  fi
done
