#!/usr/bin/env bash
# Builds the enclave image from Dockerfile.enclave, reproducibly, and turns it into an EIF with
# nitro-cli, optionally signed (which adds PCR8). Writes the measurements nitro-cli prints (PCR0,
# PCR1, PCR2, and PCR8 when signed) as JSON next to the EIF: `cosigner kms-policy --measurements`
# reads that file. Same commit, same arguments → same image → same PCR0 (docs/deploy.md).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/build-eif.sh --kms-region <region> --kms-key-arn <key arn> [--output <file.eif>]
                            [--signing-certificate <cert.pem> --private-key <key.pem>]
                            [--image-tag <name:tag>] [--allow-dirty]

  --kms-region, --kms-key-arn  the sealing key, built into the image (and so into PCR0)
  --output                     where the EIF goes (default build/cosigner.eif); the measurements
                               go beside it as <name>.measurements.json. Neither may exist yet.
  --signing-certificate, --private-key
                               sign the EIF (nitro-cli build-enclave); PCR8 is then the
                               certificate's measurement, which a key policy can pin across releases
  --image-tag                  the Docker image name (default cosigner-enclave:<commit>)
  --allow-dirty                build from uncommitted changes (the PCR0 then matches no commit)
USAGE
}

die() {
  echo "build-eif: $*" >&2
  exit 2
}

need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
}

region=""
key_arn=""
output="build/cosigner.eif"
cert=""
key=""
tag=""
allow_dirty=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --kms-region) need_value "$@"; region=$2; shift 2 ;;
    --kms-key-arn) need_value "$@"; key_arn=$2; shift 2 ;;
    --output) need_value "$@"; output=$2; shift 2 ;;
    --signing-certificate) need_value "$@"; cert=$2; shift 2 ;;
    --private-key) need_value "$@"; key=$2; shift 2 ;;
    --image-tag) need_value "$@"; tag=$2; shift 2 ;;
    --allow-dirty) allow_dirty=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[ -n "$region" ] || die "--kms-region is required"
[ -n "$key_arn" ] || die "--kms-key-arn is required"
# The same rules the enclave applies to its configuration (enclave/config.ts), checked before a
# long build rather than at the enclave's first boot.
[[ "$region" =~ ^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$ ]] || die "--kms-region is not an AWS Region: $region"
[[ "$key_arn" =~ ^arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:key/[A-Za-z0-9-]{1,64}$ ]] || die "--kms-key-arn is not a KMS key ARN: $key_arn"
[ "${BASH_REMATCH[1]}" = "$region" ] || die "--kms-key-arn is in ${BASH_REMATCH[1]}, not in --kms-region $region"
if [ -n "$cert$key" ]; then
  if [ -z "$cert" ] || [ -z "$key" ]; then die "--signing-certificate and --private-key go together"; fi
  [ -r "$cert" ] || die "cannot read $cert"
  [ -r "$key" ] || die "cannot read $key"
fi
case "$output" in
  *.eif) measurements="${output%.eif}.measurements.json" ;;
  *) die "--output must end in .eif" ;;
esac
# Never overwrite a release's EIF or its measurements.
[ ! -e "$output" ] || die "$output exists; refusing to overwrite it"
[ ! -e "$measurements" ] || die "$measurements exists; refusing to overwrite it"

root=$(cd "$(dirname "$0")/.." && pwd)
command -v docker >/dev/null || die "docker is not installed"
command -v nitro-cli >/dev/null || die "nitro-cli is not installed (aws-nitro-enclaves-cli)"
git -C "$root" rev-parse --git-dir >/dev/null 2>&1 || die "$root is not a git checkout (the build is tied to a commit)"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=normal)" ] && [ "$allow_dirty" -ne 1 ]; then
  die "the checkout has uncommitted changes, so its PCR0 would match no commit; commit them or pass --allow-dirty"
fi
commit=$(git -C "$root" rev-parse HEAD)
# Every file in the image gets the commit's time, so the layers, and PCR0, do not depend on when
# or where the build ran.
SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct HEAD)
export SOURCE_DATE_EPOCH
[ -n "$tag" ] || tag="cosigner-enclave:${commit:0:12}"

mkdir -p "$(dirname "$output")"
echo "build-eif: building $tag from commit $commit (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)" >&2
docker buildx build \
  --file "$root/Dockerfile.enclave" \
  --platform linux/amd64 \
  --build-arg "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" \
  --build-arg "KMS_REGION=$region" \
  --build-arg "KMS_KEY_ARN=$key_arn" \
  --provenance=false \
  --sbom=false \
  --output "type=docker,name=$tag,rewrite-timestamp=true" \
  "$root"

sign=()
if [ -n "$cert" ]; then sign=(--signing-certificate "$cert" --private-key "$key"); fi
partial="$measurements.partial"
raw="$measurements.output"
trap 'rm -f "$partial" "$raw"' EXIT
nitro-cli build-enclave --docker-uri "$tag" --output-file "$output" "${sign[@]}" >"$raw"
# Keep the JSON document nitro-cli prints (from its first line that opens an object), without any
# progress lines before it.
sed -n '/^{/,$p' "$raw" >"$partial"
grep -q '"PCR0"' "$partial" || die "nitro-cli did not print the measurements: $(head -c 500 "$raw")"
mv "$partial" "$measurements"
rm -f "$raw"
trap - EXIT

echo "build-eif: wrote $output and $measurements" >&2
cat "$measurements"
echo "build-eif: next, the key policy: cosigner kms-policy --account <id> --parent-role <arn> --measurements $measurements${cert:+ --pin pcr8}" >&2
