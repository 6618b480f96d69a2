#!/usr/bin/env bash
# The official valkey image's entrypoint contract: arguments starting with '-' (or a .conf file) are
# options to valkey-server; as root it owns /data for uid 999 and runs the server as that user.
set -euo pipefail

if [[ ${1:-} == -* || ${1:-} == *.conf ]]; then set -- valkey-server "$@"; fi

if [[ ${1:-} == valkey-server && $(id -u) == 0 ]]; then
  find . \! -user valkey -exec chown valkey:valkey '{}' +
  exec setpriv --reuid=valkey --regid=valkey --init-groups "$0" "$@"
fi

exec "$@"
