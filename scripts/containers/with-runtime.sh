#!/usr/bin/env bash
# Runs a command with the hub's test services on the containers path: testcontainers through
# podman's Docker-compatible API, on the local images `npm run toolchain` builds.
# Usage: with-runtime.sh COMMAND [ARG...]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/toolchain.env
source "$here/../toolchain.env"
tools=${RINGFORGE_TOOLS_DIR:-$HOME/.cache/ringforge-deploy/tools}
socket=${RINGFORGE_PODMAN_SOCKET:-/run/ringforge/podman.sock}

bash "$here/podman-setup.sh" service
export CONTAINERS_CONF=$tools/containers/containers.conf
export DOCKER_HOST=unix://$socket
# Ryuk, testcontainers' reaper, is an image that cannot be pulled here; the harness stops what it starts.
export TESTCONTAINERS_RYUK_DISABLED=true
export RINGFORGE_SERVICES=containers
export RINGFORGE_POSTGRES_IMAGE=${RINGFORGE_POSTGRES_IMAGE:-$LOCAL_POSTGRES_IMAGE}
export RINGFORGE_REDIS_IMAGE=${RINGFORGE_REDIS_IMAGE:-$LOCAL_VALKEY_IMAGE}
printf '[containers] services through testcontainers at %s: %s, %s\n' "$DOCKER_HOST" "$RINGFORGE_POSTGRES_IMAGE" "$RINGFORGE_REDIS_IMAGE"
exec "$@"
