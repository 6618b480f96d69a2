#!/usr/bin/env bash
# Installs, at pinned versions, every tool the tests and validations need that npm does not
# provide. Idempotent: each tool is built once into the cache and reused; a warm run takes seconds.
# Go programs are built from the Go module proxy (no release downloads are needed or possible).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/toolchain.env
source "$here/toolchain.env"

tools=${RINGFORGE_TOOLS_DIR:-$HOME/.cache/ringforge-deploy/tools}
bin=$tools/bin
mirror=$tools/providers
mkdir -p "$bin" "$mirror"
# One run at a time: `npm test` starts this script when the pins changed, maybe in several shells.
# Long-lived children (the podman service) must not inherit the lock: they get `9>&-`.
exec 9>"$tools/toolchain.lock"
flock 9

say() { printf '[toolchain] %s\n' "$*"; }
fail() { printf '[toolchain] FAILED: %s\n' "$*" >&2; exit 1; }

# Downloads module@version into the module cache and builds one of its packages as the main
# module, so replace directives in its go.mod are honoured (go install module@version refuses them).
go_build() {
  local name=$1 module=$2 version=$3 pkg=$4 out=$5
  if [[ -x $out ]]; then
    say "$name $version: cached"
    return
  fi
  command -v go >/dev/null || fail "$name: the go command is missing"
  say "$name $version: downloading $module"
  local dir
  dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
    fail "$name: go mod download $module@$version"
  [[ -n $dir ]] || fail "$name: the module proxy did not serve $module@$version"
  say "$name $version: building $pkg (first build takes minutes)"
  # GOWORK=off: a module's go.work (Prometheus ships one) names folders its module zip leaves out.
  (cd "$dir" && GOWORK=off go build -trimpath -ldflags "-s -w" -o "$out.partial" "$pkg") || fail "$name: go build $pkg"
  mv "$out.partial" "$out"
  say "$name $version: built $out"
}

# Alertmanager for the inhibition tests. Its module ships the web UI's sources, not the built
# assets its binary embeds, so it is built from a copy with a placeholder page; the API is complete.
alertmanager_build() {
  local version=$1 out=$2 src
  if [[ -x $out ]]; then
    say "alertmanager $version: cached"
    return
  fi
  src=$(go mod download -json "github.com/prometheus/alertmanager@v$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
    fail "alertmanager: go mod download"
  [[ -n $src ]] || fail "alertmanager: the module proxy did not serve v$version"
  local copy
  copy=$(mktemp -d)
  cp -r "$src/." "$copy" && chmod -R u+w "$copy"
  for ui in elm mantine; do
    mkdir -p "$copy/ui/app/dist/$ui"
    echo '<!doctype html><title>Alertmanager</title><p>No web UI in this build: use amtool.' >"$copy/ui/app/dist/$ui/index.html"
  done
  say "alertmanager $version: building ./cmd/alertmanager"
  (cd "$copy" && GOWORK=off go build -trimpath -ldflags "-s -w" -o "$out.partial" ./cmd/alertmanager) ||
    fail "alertmanager: go build"
  rm -rf "$copy"
  mv "$out.partial" "$out"
  say "alertmanager $version: built $out"
}

# tofu init reads providers from an unpacked filesystem mirror. Configurations name providers by
# either registry host, so the same binary is linked under both.
mirror_provider() {
  local namespace=$1 type=$2 version=$3 built=$4 host dir
  for host in registry.terraform.io registry.opentofu.org; do
    dir=$mirror/$host/$namespace/$type/$version/linux_amd64
    mkdir -p "$dir"
    ln -f "$built" "$dir/terraform-provider-${type}_v$version"
  done
}

cat >"$tools/tofurc" <<RC
# Written by scripts/toolchain.sh: providers come only from the local mirror, so init works offline.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*", "registry.opentofu.org/*/*"]
  }
}
RC

say "node $NODE_VERSION: $(bash "$here/install-node.sh")/node"

go_build tofu github.com/opentofu/opentofu "v$TOFU_VERSION" ./cmd/tofu "$bin/tofu-$TOFU_VERSION"
ln -sf "tofu-$TOFU_VERSION" "$bin/tofu"

go_build terraform-provider-hcloud github.com/hetznercloud/terraform-provider-hcloud \
  "v$HCLOUD_PROVIDER_VERSION" . "$bin/terraform-provider-hcloud-$HCLOUD_PROVIDER_VERSION"
mirror_provider hetznercloud hcloud "$HCLOUD_PROVIDER_VERSION" "$bin/terraform-provider-hcloud-$HCLOUD_PROVIDER_VERSION"

go_build terraform-provider-cloudflare github.com/cloudflare/terraform-provider-cloudflare \
  "$CLOUDFLARE_PROVIDER_PSEUDO_VERSION" . "$bin/terraform-provider-cloudflare-$CLOUDFLARE_PROVIDER_VERSION"
mirror_provider cloudflare cloudflare "$CLOUDFLARE_PROVIDER_VERSION" "$bin/terraform-provider-cloudflare-$CLOUDFLARE_PROVIDER_VERSION"

go_build versitygw github.com/versity/versitygw "v$VERSITYGW_VERSION" ./cmd/versitygw "$bin/versitygw-$VERSITYGW_VERSION"
ln -sf "versitygw-$VERSITYGW_VERSION" "$bin/versitygw"

go_build promtool github.com/prometheus/prometheus "v$PROMETHEUS_MODULE_VERSION" ./cmd/promtool \
  "$bin/promtool-$PROMETHEUS_MODULE_VERSION"
ln -sf "promtool-$PROMETHEUS_MODULE_VERSION" "$bin/promtool"

go_build amtool github.com/prometheus/alertmanager "v$ALERTMANAGER_VERSION" ./cmd/amtool "$bin/amtool-$ALERTMANAGER_VERSION"
ln -sf "amtool-$ALERTMANAGER_VERSION" "$bin/amtool"
alertmanager_build "$ALERTMANAGER_VERSION" "$bin/alertmanager-$ALERTMANAGER_VERSION"
ln -sf "alertmanager-$ALERTMANAGER_VERSION" "$bin/alertmanager"

go_build cosign github.com/sigstore/cosign/v3 "v$COSIGN_VERSION" ./cmd/cosign "$bin/cosign-$COSIGN_VERSION"
ln -sf "cosign-$COSIGN_VERSION" "$bin/cosign"

go_build syft github.com/anchore/syft "v$SYFT_VERSION" ./cmd/syft "$bin/syft-$SYFT_VERSION"
ln -sf "syft-$SYFT_VERSION" "$bin/syft"

go_build actionlint github.com/rhysd/actionlint "v$ACTIONLINT_VERSION" ./cmd/actionlint "$bin/actionlint-$ACTIONLINT_VERSION"
ln -sf "actionlint-$ACTIONLINT_VERSION" "$bin/actionlint"

go_build centrifugo github.com/centrifugal/centrifugo/v6 "v$CENTRIFUGO_VERSION" . "$bin/centrifugo-$CENTRIFUGO_VERSION"
ln -sf "centrifugo-$CENTRIFUGO_VERSION" "$bin/centrifugo"


# Debian packages for the hub's servers and the backup drills.
missing=()
for pkg in $DEBIAN_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "apt: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]}"
else
  say "apt: $DEBIAN_PACKAGES: installed"
fi

# Rootful podman: its configuration, the API service for testcontainers, and the local images.
if [[ $(id -u) -eq 0 ]]; then
  bash "$here/containers/podman-setup.sh" 9>&- || fail "podman setup"
  bash "$here/../images/build.sh" || fail "local container images"
  # The local Kubernetes of `npm run cluster`, cached here so later runs of the cluster start in seconds.
  bash "$here/cluster/build.sh" || fail "local cluster build"
else
  say "containers: skipped (rootful podman needs root); tests use the Debian servers"
fi

# scripts/test.ts compares this with the pins to know whether the toolchain must run first.
printf '%s %s\n' "$(cat "$here/toolchain.env" "$here/toolchain.sh" | sha256sum | cut -d' ' -f1)" \
  "$([[ $(id -u) -eq 0 ]] && echo root || echo user)" >"$tools/built-for"

say "ready in $tools ($(TF_CLI_CONFIG_FILE="$tools/tofurc" "$bin/tofu" version | head -1))"
