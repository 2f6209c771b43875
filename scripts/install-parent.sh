#!/usr/bin/env bash
# Installs the parent daemon's files from a Dockerfile.parent image into <prefix>/releases/<image
# id> and points <prefix>/current at them (one atomic rename), for deploy/cosigner-parent.service.
# An installed release is never overwritten; the previous one stays for a roll-back.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/install-parent.sh --image <name:tag> [--prefix <dir>]

  --image   a Dockerfile.parent image, e.g. cosigner-parent:<commit>
  --prefix  where releases live (default /opt/cosigner)
USAGE
}

die() {
  echo "install-parent: $*" >&2
  exit 2
}

need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
}

image=""
prefix=/opt/cosigner
while [ "$#" -gt 0 ]; do
  case "$1" in
    --image) need_value "$@"; image=$2; shift 2 ;;
    --prefix) need_value "$@"; prefix=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -n "$image" ] || die "--image is required"
command -v docker >/dev/null || die "docker is not installed"

id=$(docker image inspect --format '{{.Id}}' "$image") || die "no image $image"
[[ "$id" =~ ^sha256:([0-9a-f]{64})$ ]] || die "unexpected image id $id"
release="$prefix/releases/${BASH_REMATCH[1]:0:16}"
[ ! -e "$release" ] || die "$release is already installed; refusing to overwrite it"

mkdir -p "$prefix/releases"
container=$(docker create "$image")
partial="$release.partial"
cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$partial"
}
trap cleanup EXIT
docker cp "$container:/app" "$partial"
[ -f "$partial/dist/parent/main.js" ] || die "$image has no /app/dist/parent/main.js (not a Dockerfile.parent image?)"
chmod -R go-w "$partial"
mv "$partial" "$release"
ln -sfn "releases/${BASH_REMATCH[1]:0:16}" "$prefix/current.new"
mv -T "$prefix/current.new" "$prefix/current"
echo "install-parent: $prefix/current -> $release; now: systemctl restart cosigner-parent" >&2
