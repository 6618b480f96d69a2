#!/usr/bin/env bash
# Configures rootful podman for the project and keeps its Docker-compatible API answering on a
# socket, for testcontainers. Nothing of the machine's own configuration is edited: podman reads the
# project's containers.conf through CONTAINERS_CONF, which every project command sets.
# Usage: podman-setup.sh [config|service]   (default: both)
set -euo pipefail

tools=${RINGFORGE_TOOLS_DIR:-$HOME/.cache/ringforge-deploy/tools}
conf=$tools/containers/containers.conf
socket=${RINGFORGE_PODMAN_SOCKET:-/run/ringforge/podman.sock}
export CONTAINERS_CONF=$conf

say() { printf '[podman] %s\n' "$*"; }
fail() { printf '[podman] FAILED: %s\n' "$*" >&2; exit 1; }

write_config() {
  mkdir -p "$(dirname "$conf")"
  # crun fails on this kernel's cgroups and on setrlimit, so runc runs the containers; cgroupfs
  # because no systemd manages these machines' cgroups; no default ulimits for the same setrlimit
  # reason. netavark + aardvark-dns give compose services DNS names on their network.
  cat >"$conf.partial" <<'CONF'
# Written by scripts/containers/podman-setup.sh; podman reads it through CONTAINERS_CONF.
[containers]
default_ulimits = []

[network]
network_backend = "netavark"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  mv "$conf.partial" "$conf"
  podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null 2>&1 || fail "podman info: podman does not start with $conf"
  say "config $conf (runtime $(podman info --format '{{.Host.OCIRuntime.Name}}'), network $(podman info --format '{{.Host.NetworkBackend}}'))"
}

ping_socket() {
  [[ -S $socket ]] && curl -fsS --max-time 2 --unix-socket "$socket" http://d/_ping 2>/dev/null | grep -qx OK
}

start_service() {
  if ping_socket; then
    say "API service: answering on $socket"
    return
  fi
  mkdir -p "$(dirname "$socket")"
  rm -f "$socket"
  # --time=0: the service stays up for the test runs that follow this script. It runs from /: conmon
  # inherits its working directory, and a deleted checkout would fail every container start after.
  (cd / && exec setsid nohup podman system service --time=0 "unix://$socket" >"$(dirname "$socket")/podman-service.log" 2>&1 </dev/null) &
  echo $! >"$(dirname "$socket")/podman-service.pid"
  for _ in $(seq 1 100); do
    ping_socket && {
      say "API service: started on $socket (pid $(cat "$(dirname "$socket")/podman-service.pid"))"
      return
    }
    sleep 0.1
  done
  fail "podman system service did not answer /_ping on $socket within 10s: $(tail -5 "$(dirname "$socket")/podman-service.log")"
}

command -v podman >/dev/null || fail 'the podman command is missing: run `npm run toolchain` (as root)'
[[ $(id -u) -eq 0 ]] || fail 'rootful podman needs root'
case ${1:-all} in
config) write_config ;;
service) start_service ;;
all)
  write_config
  start_service
  ;;
*) fail "unknown action ${1} (config, service)" ;;
esac
