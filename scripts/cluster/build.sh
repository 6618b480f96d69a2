#!/usr/bin/env bash
# Builds and caches what `npm run cluster` runs: Kubernetes and etcd from the Go module proxy, the
# pause program from the Kubernetes sources, and containerd plus the CNI plugins unpacked from
# Debian's packages. Everything lands in the tools directory under names that carry the pinned
# version, so a warm run takes seconds and bumping one pin rebuilds only that piece.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/toolchain.env
source "$here/../toolchain.env"

tools=${RINGFORGE_TOOLS_DIR:-$HOME/.cache/ringforge-deploy/tools}
bin=$tools/bin
src=$tools/src
mkdir -p "$bin" "$src"

say() { printf '[cluster-build] %s\n' "$*"; }
fail() {
  printf '[cluster-build] FAILED: %s\n' "$*" >&2
  exit 1
}

module_dir() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# writable_module MODULE VERSION LOCAL_VERSION: prints a writable copy of MODULE@VERSION in which every
# replace pointing into the module's own tree (Kubernetes' ./staging, etcd's ../api ...) is dropped,
# and those modules are required at LOCAL_VERSION as the module proxy publishes them.
writable_module() {
  local module=$1 version=$2 local_version=$3 dir copy path edits=()
  copy=$src/$(basename "$module")-$version
  if [[ -f $copy/.ready ]]; then
    printf '%s\n' "$copy"
    return
  fi
  command -v go >/dev/null || fail 'the go command is missing'
  say "$module $version: downloading" >&2
  dir=$(module_dir "$module" "$version") || fail "go mod download $module@$version"
  [[ -n $dir ]] || fail "the module proxy did not serve $module@$version"
  rm -rf "$copy"
  cp -r "$dir" "$copy"
  chmod -R u+w "$copy"
  while read -r path; do
    edits+=("-dropreplace=$path")
    if (cd "$copy" && go mod edit -json | jq -e --arg p "$path" '.Require[]? | select(.Path == $p)' >/dev/null); then
      edits+=("-require=$path@$local_version")
    fi
  done < <(cd "$copy" && go mod edit -json | jq -r '.Replace[]? | select(.New.Path | startswith("./") or startswith("../")) | .Old.Path')
  ((${#edits[@]})) && (cd "$copy" && go mod edit "${edits[@]}")
  touch "$copy/.ready"
  printf '%s\n' "$copy"
}

# build_command NAME DIR PKG OUT LDFLAGS: go build of one command, skipped when OUT exists.
build_command() {
  local name=$1 dir=$2 pkg=$3 out=$4 ldflags=$5 started
  if [[ -x $out ]]; then
    say "$name: cached"
    return
  fi
  say "$name: building $pkg (minutes on a cold cache)"
  started=$SECONDS
  (cd "$dir" && GOWORK=off CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w $ldflags" -o "$out.partial" "$pkg") ||
    fail "$name: go build $pkg"
  mv "$out.partial" "$out"
  ln -sf "$(basename "$out")" "$bin/$name"
  say "$name: built in $((SECONDS - started))s"
}

# Kubernetes: the staging modules are published as k8s.io/* v0.<minor>.<patch>.
k8s_dir=$(writable_module k8s.io/kubernetes "v$KUBERNETES_VERSION" "v0.${KUBERNETES_VERSION#*.}")
major=${KUBERNETES_VERSION%%.*}
minor=${KUBERNETES_VERSION#*.}
minor=${minor%%.*}
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
for cmd in kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy; do
  build_command "$cmd" "$k8s_dir" "./cmd/$cmd" "$bin/$cmd-$KUBERNETES_VERSION" "$k8s_ldflags"
done

etcd_dir=$(writable_module go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" "v$ETCD_VERSION")
build_command etcd "$etcd_dir" . "$bin/etcd-$ETCD_VERSION" \
  "-X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION"

# crictl talks CRI to containerd: `down` removes pod sandboxes through it, so the CNI plugins tear
# down their interfaces and addresses as they would on a real node.
crictl_dir=$(writable_module sigs.k8s.io/cri-tools "v$CRICTL_VERSION" "v$CRICTL_VERSION")
build_command crictl "$crictl_dir" ./cmd/crictl "$bin/crictl-$CRICTL_VERSION" \
  "-X sigs.k8s.io/cri-tools/pkg/version.Version=v$CRICTL_VERSION"

# Cluster DNS, run on the host like kube-proxy: Service names resolve for pods, nothing else does.
coredns_dir=$(writable_module github.com/coredns/coredns "v$COREDNS_VERSION" "v$COREDNS_VERSION")
build_command coredns "$coredns_dir" . "$bin/coredns-$COREDNS_VERSION" \
  "-X github.com/coredns/coredns/coremain.GitCommit=v$COREDNS_VERSION"

# The sandbox ("pause") container's program, linked statically so its image needs nothing else.
pause=$bin/pause-$KUBERNETES_VERSION
if [[ -x $pause ]]; then
  say 'pause: cached'
else
  command -v gcc >/dev/null || fail 'gcc is missing (the pause program is compiled from C)'
  gcc -Os -static -Wall -Werror -DVERSION="v$KUBERNETES_VERSION" -o "$pause.partial" "$k8s_dir/build/pause/linux/pause.c" ||
    fail 'gcc pause.c'
  strip "$pause.partial"
  mv "$pause.partial" "$pause"
  say 'pause: built'
fi

# containerd and the CNI plugins, unpacked from Debian's packages rather than installed, so nothing
# of the host's is touched and no service is started by a package script. Host tools the kubelet and
# kube-proxy call (iptables, conntrack, runc) are installed as packages.
missing=()
for pkg in $CLUSTER_HOST_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
updated=false
apt_update() {
  $updated || apt-get update -qq || fail 'apt-get update'
  updated=true
}
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || fail "installing ${missing[*]} needs root"
  apt_update
  say "apt: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]}"
fi
node=$tools/node
mkdir -p "$node"
for pkg in $CLUSTER_UNPACKED_PACKAGES; do
  version=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
  if [[ -z $version || $version == '(none)' ]]; then
    apt_update
    version=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
  fi
  [[ -n $version && $version != '(none)' ]] || fail "apt has no candidate for $pkg"
  root=$node/$pkg-${version//[:~+]/_}
  if [[ -d $root ]]; then
    say "$pkg $version: cached"
  else
    say "$pkg $version: unpacking"
    tmp=$(mktemp -d)
    chmod 755 "$tmp" # apt downloads as the _apt user
    (cd "$tmp" && apt-get download -qq "$pkg=$version") || {
      apt_update
      (cd "$tmp" && apt-get download -qq "$pkg=$version")
    } || fail "apt-get download $pkg=$version"
    dpkg-deb -x "$tmp"/*.deb "$root.partial" || fail "dpkg-deb -x $pkg"
    rm -rf "$tmp"
    mv "$root.partial" "$root"
  fi
  ln -sfn "$(basename "$root")" "$node/$pkg"
done

say "ready: Kubernetes v$KUBERNETES_VERSION, etcd v$ETCD_VERSION in $bin"
