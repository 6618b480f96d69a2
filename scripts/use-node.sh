# shellcheck shell=bash
# Sourced from the repository root (`. scripts/use-node.sh`): puts the pinned Node.js first on this
# shell's PATH, installing it into the tools cache the first time (scripts/install-node.sh, seconds).
# A node of the pinned major already on PATH (CI's setup-node, a version manager) is kept as it is.
ringforge_use_node() {
  local want bin
  want=$(sed -n 's/^NODE_VERSION=//p' scripts/toolchain.env) || return 1
  case $(node --version 2>/dev/null) in
    "v${want%%.*}."*) return 0 ;;
  esac
  bin=$(bash scripts/install-node.sh) || return 1
  PATH=$bin:$PATH
  export PATH
  hash -r
}
ringforge_use_node
