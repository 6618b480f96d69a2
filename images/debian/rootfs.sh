#!/usr/bin/env bash
# Assembles a minimal Debian root filesystem tarball: debootstrap's minbase variant from the
# configured Debian mirror, with apt's lists, documentation and manual pages dropped (an image needs
# none of them; apt-get update restores the lists when a Containerfile installs packages).
# Usage: rootfs.sh SUITE MIRROR OUT.tar
set -euo pipefail
suite=$1 mirror=$2 out=$3

fail() { printf '[images] FAILED: %s\n' "$*" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/rf-rootfs-$suite.XXXXXX")
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
  fail "debootstrap $suite from $mirror: $(tail -5 "$root.log")"
rm -f "$root.log"
cat >"$root/etc/apt/sources.list" <<LIST
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
LIST
# Image builds install packages without an init system to start their services.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
  >"$root/etc/dpkg/dpkg.cfg.d/01-ringforge-nodoc"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
tar --numeric-owner -C "$root" -cf "$out.partial" .
mv "$out.partial" "$out"
